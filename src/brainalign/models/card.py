"""`ModelCard`: one catalog entry — what a model is (taxonomy), where its weights come from, which layers to read.

>>> card = ModelCard(identifier="tiny", source="torchvision", architecture="resnet18", family="CNN",
...                  task="image classification", training_data="none", training_method="random",
...                  modality="image", parameters=11689512, default_layers=["layer4"], input_size=224)
>>> card.weights, card.training_status, card.resize_size
('random', 'random', 256)
>>> twin = random_twin(ModelCard(**{**card.as_dict(), "identifier": "net", "training_data": "ImageNet-1k",
...                                 "training_method": "supervised", "weights": "offline",
...                                 "weights_package": "pkg", "weights_file": "net.pth"}))
>>> twin.identifier, twin.weights, twin.training_method, twin.weights_file
('net_random', 'random', 'random', None)
>>> ModelCard(**{**card.as_dict(), "family": "cnn"})  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
brainalign.core.errors.InvalidInputError: model card 'tiny': family 'cnn' is not valid; valid: CNN, ViT, hybrid, ...
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from brainalign.core.errors import InvalidInputError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

SOURCES = ("torchvision", "timm", "transformers", "open_clip", "sentence-transformers", "onnx", "user",
           "audio", "clip", "cornet")  # built in (audio, clip, cornet: models/sources/{audio,clip}.py, architectures/)
FAMILIES = ("CNN", "ViT", "hybrid", "recurrent", "LLM", "multimodal", "MLP")
TRAINING_METHODS = ("supervised", "self-supervised", "contrastive", "random")
MODALITIES = ("image", "text", "video", "audio", "multimodal")
# offline: a file in an installed package; random: seeded random init (untrained); hub: download; local: a path on
# this machine (weights_file, e.g. a user's checkpoint or model directory) or parameters handed over at run time
WEIGHTS = ("offline", "random", "hub", "local")
RANDOM_SUFFIX = "_random"  # identifier of the random-initialised twin of any entry
INTERPOLATIONS = ("nearest", "bilinear", "bicubic")

_CHOICES = {
    "family": FAMILIES,
    "training_method": TRAINING_METHODS,
    "modality": MODALITIES,
    "weights": WEIGHTS,
    "interpolation": INTERPOLATIONS,
}


@dataclass(frozen=True)
class ModelCard:
    """A catalog entry. Taxonomy fields are validated against the tuples above.

    ``weights`` says where trained parameters come from: ``"offline"`` — ``weights_file`` inside the
    installed ``weights_package``; ``"hub"`` — ``weights_file`` is a URL (checked against ``weights_sha256``, the full
    digest or the prefix torch.hub puts in file names) or ``hf://<org>/<name>[/<file>]`` on the Hugging Face hub at
    ``weights_revision`` (see ``sources.hub``);
    ``"local"`` — ``weights_file`` is a path on this machine, or the parameters come with a user model;
    ``"random"`` — the architecture with a seeded random initialisation, untrained (then ``training_method`` is
    ``"random"``). ``training_status`` says in one word what the weights learned from (show it next to scores).
    ``resize_size`` / ``mean`` / ``std`` / ``interpolation`` define the image preprocessing (resize the short
    side, centre-crop ``input_size``, normalise).
    """

    identifier: str
    source: str
    architecture: str
    family: str
    task: str
    training_data: str
    training_method: str
    modality: str
    parameters: int
    default_layers: list[str]
    input_size: int
    weights: str = "random"
    weights_package: str | None = None
    weights_file: str | None = None
    weights_sha256: str | None = None
    weights_revision: str | None = None
    resize_size: int | None = None
    mean: tuple[float, ...] = IMAGENET_MEAN
    std: tuple[float, ...] = IMAGENET_STD
    interpolation: str = "bilinear"
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.source not in SOURCES:  # a source another package adds through the model-source registry
            from brainalign.models.sources.registry import MODEL_SOURCES

            if self.source not in MODEL_SOURCES:
                raise InvalidInputError(f"model card {self.identifier!r}: source {self.source!r} is not valid; "
                                        f"valid: {', '.join(MODEL_SOURCES.names())}")
        for name, choices in _CHOICES.items():
            value = getattr(self, name)
            if value not in choices:
                raise InvalidInputError(
                    f"model card {self.identifier!r}: {name} {value!r} is not valid; valid: {', '.join(choices)}"
                )
        if self.weights == "offline" and not (self.weights_package and self.weights_file):
            raise InvalidInputError(
                f"model card {self.identifier!r}: offline weights need weights_package and weights_file"
            )
        if self.weights == "hub" and not self.weights_file:
            raise InvalidInputError(f"model card {self.identifier!r}: hub weights need weights_file (URL or hub id)")
        if (self.weights == "random") != (self.training_method == "random"):
            raise InvalidInputError(
                f"model card {self.identifier!r}: weights 'random' (random init) goes with training_method 'random'; "
                f"got weights {self.weights!r} and training_method {self.training_method!r}"
            )
        if not self.default_layers:
            raise InvalidInputError(f"model card {self.identifier!r}: default_layers must name at least one layer")
        if len(self.mean) != 3 or len(self.std) != 3:
            raise InvalidInputError(f"model card {self.identifier!r}: mean and std need 3 values (RGB)")
        object.__setattr__(self, "mean", tuple(float(x) for x in self.mean))
        object.__setattr__(self, "std", tuple(float(x) for x in self.std))
        object.__setattr__(self, "default_layers", list(self.default_layers))
        if self.resize_size is None:
            object.__setattr__(self, "resize_size", round(self.input_size / 0.875))

    @property
    def training_status(self) -> str:
        """``"random"`` for an untrained (randomly initialised) network, else its ``training_data``
        (e.g. ``"ImageNet-1k"``): the label for tables, CSV files and plot legends."""
        return "random" if self.weights == "random" else self.training_data

    def as_dict(self) -> dict[str, Any]:
        """All fields as a plain dict (a row of the catalog table)."""
        return asdict(self)


def random_twin(card: ModelCard) -> ModelCard:
    """The same architecture and preprocessing with a seeded random initialisation, named ``<id>_random``
    (the untrained control of ``card``; the loader's ``seed`` picks the initialisation)."""
    return replace(
        card, identifier=card.identifier + RANDOM_SUFFIX, training_data="none", training_method="random",
        weights="random", weights_package=None, weights_file=None, weights_sha256=None,
        weights_revision=None,
        notes=f"{card.identifier} architecture with a seeded random initialisation (untrained control)",
    )
