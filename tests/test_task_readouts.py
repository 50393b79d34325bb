"""Task readouts on generated images: the logistic readout equals scikit-learn's scaler + logistic regression on the
same features and generalises on separable classes; odd-one-out choices from image embeddings with a known answer;
bad inputs (label counts, unknown ids, missing image files) are named."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from brainalign.core.errors import BrainAlignError, InvalidInputError
from brainalign.data.stimuli import StimulusSet
from brainalign.models.task import fit_readout, layer_features, odd_one_out

COLOURS = {"red": (200, 30, 30), "green": (30, 200, 30), "blue": (30, 30, 200)}


def _images(folder, name: str, n_per_class: int, seed: int) -> tuple[StimulusSet, list[str]]:
    rng = np.random.default_rng(seed)
    ids, paths, labels = [], [], []
    for label, rgb in COLOURS.items():
        for i in range(n_per_class):
            pixels = np.clip(np.array(rgb) + rng.normal(0, 40, size=(16, 16, 3)), 0, 255).astype(np.uint8)
            path = folder / f"{name}-{label}{i}.png"
            Image.fromarray(pixels).save(path)
            ids.append(f"{label}{i}")
            paths.append(path)
            labels.append(label)
    return StimulusSet(name, ids, paths=paths), labels


@pytest.fixture(scope="module")
def net():
    """Mean normalised colour per image: same-colour images have the largest dot products."""
    return torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten())


@pytest.fixture(scope="module")
def sets(tmp_path_factory):
    folder = tmp_path_factory.mktemp("colours")
    return _images(folder, "train", 6, 0), _images(folder, "test", 2, 1)


def test_readout_equals_sklearn_on_the_same_features_and_generalises(net, sets):
    (train, labels), (test, test_labels) = sets
    readout = fit_readout(net, train, labels, layer="1", seed=3, c=0.1)
    features = layer_features(net, train, "1").to_numpy()
    reference = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=1000, random_state=3))
    reference.fit(features, labels)
    p = readout.probabilities(net, test)
    np.testing.assert_allclose(p.to_numpy(), reference.predict_proba(layer_features(net, test, "1").to_numpy()),
                               rtol=1e-6, atol=1e-9)
    assert p.columns.tolist() == sorted(COLOURS) and p.index.tolist() == test.stimulus_ids
    assert (p.idxmax(axis=1).to_numpy() == np.array(test_labels)).mean() == 1.0
    assert readout.provenance == {"training": "train", "n_training": 18, "seed": 3, "c": 0.1}


def test_odd_one_out_from_image_embeddings(net, sets):
    (train, labels), _ = sets
    triplets = [["red0", "red1", "blue0"], ["green2", "blue3", "green4"], ["blue1", "red5", "red2"]]
    np.testing.assert_array_equal(odd_one_out(net, train, triplets, layer="1"), [2, 1, 0])
    with pytest.raises(InvalidInputError, match=r"not in stimulus set 'train', e.g. \['purple0'\]"):
        odd_one_out(net, train, [["red0", "red1", "purple0"]], layer="1")


def test_bad_inputs_are_named(net, sets, tmp_path):
    (train, labels), _ = sets
    with pytest.raises(InvalidInputError, match="17 labels for the 18 training stimuli of 'train'"):
        fit_readout(net, train, labels[:-1], layer="1")
    with pytest.raises(InvalidInputError, match="at least 2 classes"):
        fit_readout(net, train, ["red"] * len(train), layer="1")
    missing = StimulusSet("gone", ["a", "b"], paths=[train.paths[0], tmp_path / "no-such-image.png"])
    with pytest.raises(BrainAlignError, match="no-such-image.png"):
        fit_readout(net, missing, ["red", "blue"], layer="1")
