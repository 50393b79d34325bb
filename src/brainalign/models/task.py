"""Task readouts of a model (Brain-Score's ``start_task``): what a model *does*, read out of its layers.

* ``label``: ImageNet class probabilities from the model's own head → 16-category decisions (`label_stimuli`);
* ``probabilities``: a logistic readout fitted on named training images, for models without a head for the task
  (`fit_readout`, then `LogisticReadout.probabilities`; Brain-Score's ``ProbabilitiesMapping``: standardised
  features, multinomial logistic regression with C = 1e-3);
* ``odd_one_out``: in image triplets, the one outside the most similar pair by embedding dot product (THINGS;
  `odd_one_out`); per-word surprisal of causal language models is `brainalign.models.sources.text.word_surprisals`.

The ImageNet-1k → 16-category mapping is model-vs-human's (Geirhos et al. 2021,
``bethgelab/model-vs-human``, ``modelvshuman/helper/human_categories.py``, the ``<category>_indices`` lists):
each category's probability is the mean of the softmax probabilities of its ImageNet classes, and the decision is
the most probable category.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from brainalign.core.errors import InvalidInputError
from brainalign.metrics.behaviour.odd_one_out import odd_one_out_choices
from brainalign.models.extractor import Extractor

#: ImageNet-1k class indices of each of the 16 categories (model-vs-human ``HumanCategories.<category>_indices``).
IMAGENET_INDICES: dict[str, tuple[int, ...]] = {
    "airplane": (404,),
    "bear": (294, 295, 296, 297),
    "bicycle": (444, 671),
    "bird": (8, 10, 11, 12, 13, 14, 15, 16, 18, 19, 20, 22, 23, 24, 80, 81, 82, 83, 87, 88, 89, 90, 91, 92, 93, 94,
             95, 96, 98, 99, 100, 127, 128, 129, 130, 131, 132, 133, 135, 136, 137, 138, 139, 140, 141, 142, 143, 144,
             145),
    "boat": (472, 554, 625, 814, 914),
    "bottle": (440, 720, 737, 898, 899, 901, 907),
    "car": (436, 511, 817),
    "cat": (281, 282, 283, 284, 285, 286),
    "chair": (423, 559, 765, 857),
    "clock": (409, 530, 892),
    "dog": (152, 153, 154, 155, 156, 157, 158, 159, 160, 161, 162, 163, 164, 165, 166, 167, 168, 169, 170, 171, 172,
            173, 174, 175, 176, 177, 178, 179, 180, 181, 182, 183, 184, 185, 186, 187, 188, 189, 190, 191, 193, 194,
            195, 196, 197, 198, 199, 200, 201, 202, 203, 205, 206, 207, 208, 209, 210, 211, 212, 213, 214, 215, 216,
            217, 218, 219, 220, 221, 222, 223, 224, 225, 226, 228, 229, 230, 231, 232, 233, 234, 235, 236, 237, 238,
            239, 240, 241, 243, 244, 245, 246, 247, 248, 249, 250, 252, 253, 254, 255, 256, 257, 259, 261, 262, 263,
            265, 266, 267, 268),
    "elephant": (385, 386),
    "keyboard": (508, 878),
    "knife": (499,),
    "oven": (766,),
    "truck": (555, 569, 656, 675, 717, 734, 864, 867),
}
CATEGORIES: tuple[str, ...] = tuple(IMAGENET_INDICES)
N_IMAGENET_CLASSES = 1000


def category_probabilities(imagenet_probabilities: Any) -> np.ndarray:
    """Stimuli × 16 category probabilities (columns in `CATEGORIES` order): mean over each category's classes.

    >>> p = np.full((1, 1000), 0.0); p[0, 404] = 0.6; p[0, [281, 282]] = 0.2
    >>> q = category_probabilities(p); float(q[0, CATEGORIES.index("airplane")]), round(float(q[0, 7]), 4)
    (0.6, 0.0667)
    """
    p = np.asarray(imagenet_probabilities, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != N_IMAGENET_CLASSES:
        raise InvalidInputError(f"ImageNet probabilities must be stimuli x {N_IMAGENET_CLASSES}; got shape {p.shape}")
    return np.stack([p[:, list(idx)].mean(axis=1) for idx in IMAGENET_INDICES.values()], axis=1)


def decisions(imagenet_probabilities: Any) -> list[str]:
    """The most probable of the 16 categories for each stimulus.

    >>> p = np.zeros((2, 1000)); p[0, 404] = 1; p[1, 385] = 1
    >>> decisions(p)
    ['airplane', 'elephant']
    """
    return [CATEGORIES[i] for i in category_probabilities(imagenet_probabilities).argmax(axis=1)]


def imagenet_probabilities(model: Any, stimuli: Any, layer: str = "classifier", batch_size: int = 32,
                           device: str | None = None) -> pd.DataFrame:
    """Softmax of the model's ImageNet logits (``layer``, timm's ``classifier`` head) per stimulus, indexed by id.

    >>> import tempfile, pathlib, torch, PIL.Image
    >>> from brainalign.data.stimuli import StimulusSet
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "grey.png"; PIL.Image.new("RGB", (8, 8), "grey").save(path)
    >>> head = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 224 * 224, 1000))
    >>> p = imagenet_probabilities(head, StimulusSet("grey", ["grey"], paths=[path]), layer="1")
    >>> p.shape, round(float(p.values.sum()), 6)
    ((1, 1000), 1.0)
    """
    logits = Extractor(model, layers=[layer], batch_size=batch_size, device=device, cache=False,
                       progress=False).extract(stimuli)[layer]
    values = np.asarray(logits.values, dtype=np.float64)
    if values.shape[1] != N_IMAGENET_CLASSES:
        raise InvalidInputError(f"layer {layer!r} has {values.shape[1]} units, not the {N_IMAGENET_CLASSES} ImageNet "
                                "logits; pass the classification head's layer name")
    values = np.exp(values - values.max(axis=1, keepdims=True))
    return pd.DataFrame(values / values.sum(axis=1, keepdims=True), index=list(logits["stimulus_id"].values))


def label_stimuli(model: Any, stimuli: Any, layer: str = "classifier", batch_size: int = 32,
                  device: str | None = None) -> pd.Series:
    """The model's 16-category decision for each stimulus (Brain-Score's ``start_task(LABEL)``), indexed by id."""
    probabilities = imagenet_probabilities(model, stimuli, layer, batch_size, device)
    return pd.Series(decisions(probabilities.values), index=probabilities.index, name="decision")


def layer_features(model: Any, stimuli: Any, layer: str, batch_size: int = 32, device: str | None = None,
                   ) -> pd.DataFrame:
    """One layer's features (stimulus × unit, float64) indexed by stimulus id."""
    features = Extractor(model, layers=[layer], batch_size=batch_size, device=device, cache=False,
                         progress=False).extract(stimuli)[layer]
    return pd.DataFrame(np.asarray(features.values, dtype=np.float64), index=list(features["stimulus_id"].values))


@dataclass
class LogisticReadout:
    """A multinomial logistic regression on one layer's standardised features, with where it was fitted
    (``training``: the training stimulus set's identifier, ``n_training`` images, ``seed``, ``c``)."""

    layer: str
    classes: list[str]
    scaler: StandardScaler
    classifier: LogisticRegression
    provenance: dict[str, Any] = field(default_factory=dict)

    def probabilities(self, model: Any, stimuli: Any, batch_size: int = 32, device: str | None = None
                      ) -> pd.DataFrame:
        """Stimuli × classes probabilities of the readout on ``model``'s ``layer`` for ``stimuli``."""
        x = layer_features(model, stimuli, self.layer, batch_size, device)
        p = self.classifier.predict_proba(self.scaler.transform(x.to_numpy()))
        return pd.DataFrame(p, index=x.index, columns=self.classes)


def fit_readout(model: Any, training: Any, labels: Any, layer: str, *, seed: int = 0, c: float = 1e-3,
                batch_size: int = 32, device: str | None = None) -> LogisticReadout:
    """Fit a logistic readout of ``labels`` (one class per training stimulus, in order) on ``layer`` of ``model``
    for the named training `StimulusSet` ``training``; ``seed`` fixes the solver's randomness.

    >>> import tempfile, pathlib, torch, PIL.Image
    >>> from brainalign.data.stimuli import StimulusSet
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> colours = ["red", "darkred", "blue", "navy"]
    >>> for colour in colours: PIL.Image.new("RGB", (8, 8), colour).save(folder / f"{colour}.png")
    >>> train = StimulusSet("colours-train", colours, paths=[folder / f"{c}.png" for c in colours])
    >>> net = torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten())
    >>> readout = fit_readout(net, train, ["red", "red", "blue", "blue"], layer="1", c=1.0)
    >>> p = readout.probabilities(net, train); p.columns.tolist(), bool((p["red"][:2] > 0.5).all())
    (['blue', 'red'], True)
    """
    labels = [str(label) for label in labels]
    if len(labels) != len(training):
        raise InvalidInputError(f"{len(labels)} labels for the {len(training)} training stimuli of "
                                f"{getattr(training, 'identifier', 'the training set')!r}")
    if len(set(labels)) < 2:
        raise InvalidInputError(f"a readout needs at least 2 classes; got {sorted(set(labels))}")
    x = layer_features(model, training, layer, batch_size, device)
    scaler = StandardScaler().fit(x.to_numpy())
    classifier = LogisticRegression(C=c, max_iter=1000, random_state=seed).fit(scaler.transform(x.to_numpy()),
                                                                                labels)
    return LogisticReadout(layer, [str(k) for k in classifier.classes_], scaler, classifier,
                           {"training": getattr(training, "identifier", None), "n_training": len(labels),
                            "seed": seed, "c": c})


def odd_one_out(model: Any, stimuli: Any, triplets: Any, layer: str, batch_size: int = 32,
                device: str | None = None) -> np.ndarray:
    """The model's odd one out (position 0, 1 or 2) in each triplet of stimulus ids (rows of three), by the dot
    product of ``layer``'s features; an id not among ``stimuli`` is named in the error."""
    x = layer_features(model, stimuli, layer, batch_size, device)
    position = {stimulus: i for i, stimulus in enumerate(x.index)}
    rows = np.asarray(triplets, dtype=object)
    unknown = sorted({str(s) for s in rows.ravel() if s not in position})
    if unknown:
        raise InvalidInputError(f"{len(unknown)} triplet stimulus ids are not in stimulus set "
                                f"{getattr(stimuli, 'identifier', '')!r}, e.g. {unknown[:3]}")
    return odd_one_out_choices(x.to_numpy(), np.vectorize(position.get, otypes=[int])(rows))
