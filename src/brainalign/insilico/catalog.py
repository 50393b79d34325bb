"""The catalog of fitted encoders: how to fit each one (model, layers, dataset, region, session), where its
published file lives (a hub-style address, looked for in the mirror first), and a model card.

An encoder is obtained with :func:`load_encoder`: the locally fitted copy (``<cache>/encoders/<name>.safetensors``,
written by :func:`fit_encoder`), else the published file through `brainalign.data.fetch` (mirror
``<BRAINALIGN_MIRROR>/encoders/<name>.safetensors``, then the hub), else a clear error saying how to fit it.

>>> "Cowley2023.V4.210325-efficientnet_lite0" in ENCODERS
True
>>> ENCODERS.get("Cowley2023.V4.210325-efficientnet_lite0").layers
('blocks.3',)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from brainalign.core.config import cache_dir
from brainalign.core.errors import InvalidInputError
from brainalign.core.registry import Registry
from brainalign.data.fetch import RemoteFile, fetch
from brainalign.insilico.encoding_model import EncodingModel

HUB_URL = "https://huggingface.co/brainalign/encoders/resolve/main/"
FOLDER = "encoders"


@dataclass(frozen=True)
class EncoderEntry:
    """How to fit one encoder, and the sha256 of its published file (None while none is published)."""

    name: str
    model: str
    layers: tuple[str, ...]
    dataset: str
    region: str
    session: str | None = None
    n_stimuli: int | None = None  # the first n stimuli only (None: all)
    published_sha256: str | None = None

    @property
    def filename(self) -> str:
        """The file name, in the cache, the mirror and on the hub."""
        return f"{self.name}.safetensors"


ENCODERS: Registry[EncoderEntry] = Registry("encoder", "brainalign.encoders")


def register_encoder(entry: EncoderEntry, replace: bool = False) -> EncoderEntry:
    """Add ``entry`` to the catalog under its name.

    >>> entry = register_encoder(EncoderEntry("demo", "efficientnet_lite0", ("blocks.3",), "Cowley2023", "V4"))
    >>> ENCODERS.unregister("demo")
    """
    return ENCODERS.register(entry.name, entry, replace=replace)


def local_path(name: str) -> Path:
    """Where :func:`fit_encoder` saves ``name`` in the cache.

    >>> local_path("Cowley2023.V4.210325-efficientnet_lite0").name
    'Cowley2023.V4.210325-efficientnet_lite0.safetensors'
    """
    return cache_dir(FOLDER) / ENCODERS.get(name).filename


def fit_encoder(name: str, save: bool = True, batch_size: int = 32, **options: Any) -> EncodingModel:
    """Fit the catalog entry ``name`` on its data (saved to :func:`local_path` unless ``save=False``).

    >>> fit_encoder("Cowley2023.V4.210325-efficientnet_lite0")  # doctest: +SKIP
    """
    from brainalign.data.registry import get_dataset

    entry = ENCODERS.get(name)
    dataset = get_dataset(entry.dataset)
    selection = {} if entry.session is None else {"session": entry.session}
    stimuli = dataset.stimulus_set(**selection)
    responses = dataset.responses(entry.region, **selection)
    if entry.n_stimuli is not None:
        stimuli = stimuli.subset(stimuli.stimulus_ids[:entry.n_stimuli])
        responses = responses.isel(stimulus=responses["stimulus_id"].isin(stimuli.stimulus_ids).values)
    encoder = EncodingModel.fit(entry.model, list(entry.layers), stimuli, responses, batch_size=batch_size,
                                dataset={"name": entry.dataset, "region": entry.region, **selection},
                                **options)
    encoder.metadata["encoder"] = name
    if save:
        encoder.save(local_path(name))
    return encoder


def load_encoder(name: str) -> EncodingModel:
    """The encoder ``name``: fitted locally, else the published file (mirror first, then the hub).

    >>> load_encoder("Cowley2023.V4.190923-efficientnet_lite0_random")  # doctest: +SKIP
    """
    entry = ENCODERS.get(name)
    path = local_path(name)
    if path.is_file():
        return EncodingModel.load(path)
    if entry.published_sha256 is None:
        raise InvalidInputError(f"encoder {name!r} is not fitted here ({path}) and has no published file; fit it "
                                f"with `brainalign insilico fit {name}` or fit_encoder({name!r})")
    return EncodingModel.load(fetch(FOLDER, RemoteFile(entry.filename, HUB_URL + entry.filename,
                                                       entry.published_sha256)))


def describe(name: str) -> dict[str, Any]:
    """The model card of ``name``: how it is fitted, and subjects, regions and accuracy once it is fitted here.

    >>> describe("Cowley2023.V4.210325-efficientnet_lite0")["model"]
    'efficientnet_lite0'
    """
    entry = ENCODERS.get(name)
    card: dict[str, Any] = {"name": name, "model": entry.model, "layers": list(entry.layers),
                            "dataset": entry.dataset, "region": entry.region, "session": entry.session,
                            "n_stimuli": entry.n_stimuli, "published": entry.published_sha256 is not None,
                            "fitted": local_path(name).is_file()}
    if card["fitted"]:
        card.update(EncodingModel.load(local_path(name)).model_card())
    return card


def _register_builtins() -> None:
    from brainalign.data.datasets.cowley2023 import Cowley2023

    for session in Cowley2023.sessions:
        for model in ("efficientnet_lite0", "efficientnet_lite0_random"):
            register_encoder(EncoderEntry(f"Cowley2023.V4.{session}-{model}", model, ("blocks.3",), "Cowley2023",
                                          "V4", session))


_register_builtins()
