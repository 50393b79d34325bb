"""`EncodingModel`: a fitted features → responses map that is saved safely and generates in-silico responses.

Fitting runs a model's layers over the stimuli (`Extractor`), concatenates the layers' features, and fits one
ridge per neuroid (`RidgeCV`, alpha per neuroid chosen by inner cross-validation). Held-out accuracy comes from an
outer cross-validation (`cross_validated_predictions`): Pearson r per neuroid and, where the responses have
repetitions, the noise-normalised explained variance ``r² / split-half reliability``.

Files hold only arrays and JSON (safetensors, never pickle), plus a sha256 of the arrays, so an edited file fails
on load with `TamperedFileError`.

>>> import numpy as np
>>> from brainalign.data.synthetic import simulated_brain
>>> brain = simulated_brain(n_stimuli=80, n_features=5, n_neuroids=3, snr=4.0)
>>> encoder = EncodingModel.fit_features(brain.features, brain.responses)
>>> encoder.predict(brain.features).dims, bool((encoder.accuracy["r"] > 0.8).all())
(('stimulus', 'neuroid'), True)
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from safetensors import SafetensorError, safe_open
from safetensors.numpy import load_file, save_file

import brainalign
from brainalign.core.backend import to_numpy
from brainalign.core.errors import BrainAlignError, InvalidInputError, UnknownNameError
from brainalign.core.labels import NEUROID, REPETITION, STIMULUS, TIME, make_features, make_responses
from brainalign.core.storage import atomic_path
from brainalign.mapping.ridge import DEFAULT_ALPHAS, RidgeCV
from brainalign.metrics.ceilings.reliability import split_half_reliability
from brainalign.metrics.encoding.engine import cross_validated_predictions, encoding_matrices, resolve_splits

FORMAT = "brainalign.encoding_model/1"
ARRAYS = ("coef", "intercept", "alphas", "r", "reliability", "explained_variance")


class TamperedFileError(BrainAlignError, ValueError):
    """A saved encoding model whose arrays no longer match the sha256 written with them."""


def _arrays_sha256(arrays: Mapping[str, np.ndarray]) -> str:
    digest = hashlib.sha256()
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}:{array.dtype.str}:{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def _concatenate(features: xr.DataArray | Mapping[str, xr.DataArray]) -> xr.DataArray:
    """One `Features` array: a mapping of layers is concatenated along units in the mapping's order."""
    if isinstance(features, xr.DataArray):
        return features
    arrays = list(features.values())
    ids = arrays[0]["stimulus_id"].values.tolist()
    for layer, array in features.items():
        if array["stimulus_id"].values.tolist() != ids:
            raise InvalidInputError(f"layer {layer!r} has stimuli in another order than {next(iter(features))!r}")
    return make_features(np.concatenate([np.asarray(a.values) for a in arrays], axis=1), ids)


def _time_as_columns(responses: xr.DataArray) -> tuple[xr.DataArray, list[Any]]:
    """Time-resolved `Responses` as one column per (neuroid, time bin), neuroid-major, plus the time bins.

    Each (neuroid, time bin) gets its own ridge map, as one neuroid each; responses without a time dim pass
    through with no time bins.
    """
    if TIME not in responses.dims:
        return responses, []
    times = [v.item() if hasattr(v, "item") else v for v in responses[TIME].values] if TIME in responses.coords \
        else list(range(responses.sizes[TIME]))
    rest = [dim for dim in responses.dims if dim not in (STIMULUS, NEUROID, TIME)]
    ordered = responses.transpose(STIMULUS, NEUROID, TIME, *rest)
    values = np.asarray(ordered.values)
    flat = values.reshape(values.shape[0], values.shape[1] * values.shape[2], *values.shape[3:])
    return make_responses(flat, ordered["stimulus_id"].values.tolist(), dims=(STIMULUS, NEUROID, *rest)), times


class EncodingModel:
    """A fitted linear map from a model's layer features to neuroid responses, with its held-out accuracy.

    Build one with :meth:`fit` (model + layers + stimuli + responses) or :meth:`fit_features`, then call
    :meth:`generate` (stimuli) or :meth:`predict` (features), :meth:`save` and :meth:`load`.
    """

    def __init__(self, coef: np.ndarray, intercept: np.ndarray, alphas: np.ndarray, accuracy: dict[str, np.ndarray],
                 neuroids: dict[str, list], metadata: dict[str, Any], model: Any = None):
        self.coef, self.intercept, self.alphas = coef, intercept, alphas
        self.accuracy, self.neuroids, self.metadata = accuracy, neuroids, metadata
        self._model = model

    # ------------------------------------------------------------------ fitting
    @classmethod
    def fit_features(cls, features: xr.DataArray | Mapping[str, xr.DataArray], responses: xr.DataArray, *,
                     alphas: Sequence[float] = DEFAULT_ALPHAS, n_splits: int = 5, seed: int = 0,
                     metadata: Mapping[str, Any] | None = None) -> EncodingModel:
        """Fit per-neuroid ridge maps from `Features` (one array or ``{layer: Features}``) to `Responses`.

        Accuracy: held-out r per neuroid over ``n_splits`` seeded folds, and ``r² / reliability`` when the
        responses have repetitions (split-half, Spearman–Brown; NaN with one warning where reliability ≤ 0).
        Time-resolved responses (a ``time`` dim) get one map per (neuroid, time bin); accuracy is then
        (neuroid × time) and :meth:`predict` returns ``(stimulus, neuroid, time)``.

        >>> from brainalign.data.synthetic import simulated_brain
        >>> brain = simulated_brain(n_stimuli=60, n_features=4, n_neuroids=2)
        >>> EncodingModel.fit_features(brain.features, brain.responses).coef.shape
        (4, 2)
        """
        source = _concatenate(features)
        neuroids = {name: [v.item() if hasattr(v, "item") else v for v in coord.values]
                    for name, coord in responses.coords.items() if coord.dims == (NEUROID,)}
        responses, times = _time_as_columns(responses)
        X, Y = encoding_matrices(source, responses)
        if X.shape[0] < 2 * n_splits:
            raise InvalidInputError(f"fitting needs at least {2 * n_splits} stimuli for {n_splits} folds; "
                                    f"got {X.shape[0]}")
        ridge = RidgeCV(alphas=alphas, cv=5, seed=seed)
        held_out = cross_validated_predictions(ridge, X, Y, resolve_splits(X.shape[0], n_splits=n_splits, seed=seed))
        r = held_out.correlations().mean(axis=0)
        accuracy = {"r": r}
        if REPETITION in responses.dims:
            reliability = split_half_reliability(responses, seed=seed)
            explained = np.full_like(r, np.nan)
            valid = reliability > 0
            explained[valid] = r[valid] ** 2 / reliability[valid]
            if (~valid).any():
                warnings.warn(f"{int((~valid).sum())} neuroids have reliability <= 0: their noise-normalised "
                              "explained variance is NaN", RuntimeWarning, stacklevel=2)
            accuracy.update(reliability=reliability, explained_variance=explained)
        final = RidgeCV(alphas=alphas, cv=5, seed=seed).fit(X, Y)
        coef = to_numpy(final.coef_).astype(np.float32)
        coef = coef.T if coef.shape != (X.shape[1], Y.shape[1]) else coef
        intercept = to_numpy(final.intercept_).reshape(-1).astype(np.float32)
        if times:
            accuracy = {name: value.reshape(-1, len(times)) for name, value in accuracy.items()}
        meta = {"n_stimuli": int(X.shape[0]), "n_units": int(X.shape[1]), "n_splits": n_splits, "seed": seed,
                "time_resolved": bool(times), "time_bins": times, **dict(metadata or {})}
        return cls(coef, intercept, to_numpy(final.best_alphas_).astype(np.float64), accuracy, neuroids, meta)

    @classmethod
    def fit(cls, model: Any, layers: Sequence[str], stimuli: Any, responses: xr.DataArray, *,
            batch_size: int = 32, dataset: Mapping[str, Any] | None = None, **options: Any) -> EncodingModel:
        """Extract ``layers`` of ``model`` (catalog id or loaded model) on ``stimuli`` and fit to ``responses``.

        ``dataset`` (e.g. ``{"name": "Cowley2023", "session": "210325", "region": "V4"}``) is stored with the
        model; ``options`` go to :meth:`fit_features`.

        >>> from brainalign.data.registry import get_dataset
        >>> dataset = get_dataset("Cowley2023")  # doctest: +SKIP
        >>> encoder = EncodingModel.fit("efficientnet_lite0", ["blocks.3"], dataset.stimulus_set("210325"),
        ...                             dataset.responses("V4", "210325"))  # doctest: +SKIP
        """
        from brainalign.models.extractor import Extractor

        extractor = Extractor(model, layers, batch_size=batch_size, cache=False, progress=False)
        features = extractor.extract(stimuli)
        loaded = extractor.model
        metadata = {"model": loaded.identifier, "weights_checksum": loaded.weights_checksum,
                    "layers": list(layers), "batch_size": batch_size,
                    "preprocessing": _plain(loaded.preprocessing), "dataset": dict(dataset or {}),
                    "stimulus_set": getattr(stimuli, "identifier", None)}
        encoder = cls.fit_features({layer: features[layer] for layer in layers}, responses,
                                   metadata=metadata, **options)
        encoder._model = loaded
        return encoder

    # ------------------------------------------------------------------ prediction
    def predict(self, features: xr.DataArray | Mapping[str, xr.DataArray],
                neuroids: Sequence[str] | None = None, region: str | None = None) -> xr.DataArray:
        """`Responses` (stimulus × neuroid [× time]) predicted from features of the fitted layers, optionally a
        subset of neuroids.

        >>> from brainalign.data.synthetic import simulated_brain
        >>> brain = simulated_brain(n_stimuli=60, n_features=4, n_neuroids=3)
        >>> encoder = EncodingModel.fit_features(brain.features, brain.responses)
        >>> encoder.predict(brain.features, neuroids=["neuroid0002"]).shape
        (60, 1)
        """
        source = _concatenate(features)
        if source.sizes["unit"] != self.coef.shape[0]:
            raise InvalidInputError(f"features have {source.sizes['unit']} units; this encoder was fitted on "
                                    f"{self.coef.shape[0]} (layers {self.metadata.get('layers')})")
        keep = self._selection(neuroids, region)
        times = self.metadata.get("time_bins") or []
        n_times = max(len(times), 1)
        columns = [i * n_times + t for i in keep for t in range(n_times)]
        X = np.asarray(source.values, dtype=np.float32)
        values = X @ self.coef[:, columns] + self.intercept[columns]
        coords = {name: [labels[i] for i in keep] for name, labels in self.neuroids.items()}
        attrs = {"source": "in-silico", "model": str(self.metadata.get("model"))}
        ids = source["stimulus_id"].values.tolist()
        if not times:
            return make_responses(values, ids, neuroid_coords=coords, attrs=attrs)
        generated = make_responses(values.reshape(len(ids), len(keep), n_times), ids,
                                   dims=(STIMULUS, NEUROID, TIME), neuroid_coords=coords, attrs=attrs)
        return generated.assign_coords({TIME: times})

    def generate(self, stimuli: Any, neuroids: Sequence[str] | None = None, region: str | None = None,
                 batch_size: int | None = None, device: str | None = None) -> xr.DataArray:
        """In-silico `Responses` to ``stimuli``: the model runs in batches (on ``device``, default the compute
        context's), its layers' features go through the linear map; ``neuroids`` / ``region`` select a subset.
        """
        from brainalign.models.extractor import Extractor

        if "model" not in self.metadata:
            raise InvalidInputError("this encoder was fitted on given features, not on a model; use predict(features)")
        model = self._model if self._model is not None else self.metadata["model"]
        extractor = Extractor(model, self.metadata["layers"], batch_size=batch_size or self.metadata["batch_size"],
                              device=device, cache=False, progress=False)
        if self._model is None:
            found = extractor.model.weights_checksum
            if found != self.metadata["weights_checksum"]:
                raise InvalidInputError(f"model {self.metadata['model']!r} has weights checksum {found}, but the "
                                        f"encoder was fitted on {self.metadata['weights_checksum']}")
            self._model = extractor.model
        features = extractor.extract(stimuli)
        return self.predict({layer: features[layer] for layer in self.metadata["layers"]}, neuroids, region)

    def _selection(self, neuroids: Sequence[str] | None, region: str | None) -> list[int]:
        n_neuroids = self.coef.shape[1] // max(len(self.metadata.get("time_bins") or []), 1)
        ids = [str(v) for v in self.neuroids.get("neuroid_id", range(n_neuroids))]
        keep = list(range(len(ids)))
        if neuroids is not None:
            for name in neuroids:
                if name not in ids:
                    raise UnknownNameError("neuroid", name, ids)
            keep = [ids.index(name) for name in neuroids]
        if region is not None:
            regions = [str(v) for v in self.neuroids.get("region", [])]
            if region not in regions:
                raise UnknownNameError("region", region, sorted(set(regions)))
            keep = [i for i in keep if regions[i] == region]
        return keep

    # ------------------------------------------------------------------ files
    def _arrays(self) -> dict[str, np.ndarray]:
        arrays = {"coef": self.coef, "intercept": self.intercept, "alphas": self.alphas}
        arrays.update({name: np.asarray(value, dtype=np.float64) for name, value in self.accuracy.items()})
        return {name: np.ascontiguousarray(value) for name, value in arrays.items()}

    def save(self, path: str | Path) -> Path:
        """Write the encoder to a safetensors file (arrays + JSON metadata + arrays' sha256), atomically.

        >>> import tempfile, pathlib
        >>> from brainalign.data.synthetic import simulated_brain
        >>> brain = simulated_brain(n_stimuli=60, n_features=4, n_neuroids=2)
        >>> encoder = EncodingModel.fit_features(brain.features, brain.responses)
        >>> path = encoder.save(pathlib.Path(tempfile.mkdtemp()) / "v4.safetensors")
        >>> bool((EncodingModel.load(path).coef == encoder.coef).all())
        True
        """
        arrays = self._arrays()
        header = {"format": FORMAT, "brainalign_version": brainalign.__version__, "metadata": self.metadata,
                  "neuroids": self.neuroids, "arrays_sha256": _arrays_sha256(arrays)}
        path = Path(path)
        with atomic_path(path) as tmp:
            save_file(arrays, str(tmp), metadata={"brainalign": json.dumps(header, default=str)})
        return path

    @classmethod
    def load(cls, path: str | Path) -> EncodingModel:
        """Read an encoder written by :meth:`save`; a file whose arrays were changed raises `TamperedFileError`."""
        path = Path(path)
        try:
            arrays = load_file(str(path))
            with safe_open(str(path), framework="numpy") as handle:
                header = json.loads((handle.metadata() or {})["brainalign"])
        except (OSError, KeyError, ValueError, SafetensorError) as error:
            raise TamperedFileError(f"{path} is not a readable brainalign encoding model ({error})") from error
        if header.get("format") != FORMAT:
            raise TamperedFileError(f"{path} has format {header.get('format')!r}; expected {FORMAT!r}")
        if _arrays_sha256(arrays) != header["arrays_sha256"]:
            raise TamperedFileError(f"{path}: arrays do not match the sha256 stored with them (the file was changed "
                                    "after saving); refit or fetch the encoder again")
        accuracy = {name: arrays[name] for name in ("r", "reliability", "explained_variance") if name in arrays}
        metadata = {**header["metadata"], "brainalign_version": header["brainalign_version"]}
        return cls(arrays["coef"], arrays["intercept"], arrays["alphas"], accuracy, header["neuroids"], metadata)

    def model_card(self) -> dict[str, Any]:
        """A JSON-ready summary: model, layers, dataset, regions, subjects/sessions and median accuracy."""
        card = {key: self.metadata.get(key) for key in ("model", "layers", "dataset", "n_stimuli")}
        for coord in ("region", "session", "subject", "animal"):
            if coord in self.neuroids:
                card[f"{coord}s"] = sorted({str(v) for v in self.neuroids[coord]})
        card["n_neuroids"] = int(self.coef.shape[1]) // max(len(self.metadata.get("time_bins") or []), 1)
        card["time_bins"] = self.metadata.get("time_bins") or None
        card.update({f"median_{name}": float(np.nanmedian(v)) for name, v in self.accuracy.items()})
        return card


def _plain(value: Any) -> Any:
    """A JSON-ready form of a preprocessing description (dataclass fields, else its repr)."""
    if is_dataclass(value) and not isinstance(value, type):
        return json.loads(json.dumps(asdict(value), default=str))
    return repr(value)
