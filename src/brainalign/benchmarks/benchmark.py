"""`Benchmark`: a dataset slice + a metric + a ceiling, with an identifier and a version.

>>> from brainalign.benchmarks.registry import get_benchmark
>>> b = get_benchmark("Kriegeskorte2008.mIT-rsa")
>>> b.identifier, b.metric, b.version
('Kriegeskorte2008.mIT-rsa', 'rsa', 1)
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr

from brainalign.core.errors import InvalidInputError
from brainalign.core.score import Score


@dataclass(frozen=True)
class Benchmark:
    """One benchmark. ``target`` is ``"rdms"`` (the metric compares RDMs) or ``"responses"`` (encoding).

    ``ceiling`` names how the reliability bound of a ``responses`` target is estimated
    (``"split-half"``: Spearman–Brown split-half reliability across repetitions; RSA metrics compute their
    RDM noise ceiling from the subjects themselves). ``presentation_degrees`` declares Brain-Score's presentation:
    the runner shows the stimuli at that visual angle in the model's field of view, gray-padded and resized to
    the model's input without a centre crop (`brainalign.models.screen.present`); ``None`` shows them as they
    are. Bump ``version`` whenever scores would change.
    """

    identifier: str
    dataset: str
    region: str
    metric: str
    target: str
    version: int = 1
    selection: dict[str, Any] = field(default_factory=dict)
    metric_options: dict[str, Any] = field(default_factory=dict)
    ceiling: str | None = None
    description: str = ""
    presentation_degrees: float | None = None

    def __hash__(self) -> int:
        return hash((self.identifier, self.version))

    @property
    def citation(self) -> str:
        return self._dataset().citation

    def stimulus_set(self):
        """The stimuli a model must see for this benchmark."""
        return self._dataset().stimulus_set(**self.selection)

    def __call__(self, features: xr.DataArray, *, ci: float | None = None, n_samples: int = 1000) -> Score:
        """Score one layer's `Features` on this benchmark; with ``ci`` (e.g. 0.95) the Score's ``extra`` also holds a
        bootstrap confidence interval (``ci_low``, ``ci_high``) and a p-value (`stats.uncertainty`)."""
        options = dict(self.metric_options)
        if self.ceiling is not None:
            options["ceiling"] = self.reliability()
        if ci is None:
            from brainalign.metrics.registry import get_metric

            score = get_metric(self.metric)(features, self.target_data(), **options)
        else:
            from brainalign.stats.uncertainty import score_with_uncertainty

            score = score_with_uncertainty(self.metric, features, self.target_data(), ci=ci, n_samples=n_samples,
                                           **options)
        score.provenance.update(benchmark=self.identifier, benchmark_version=self.version, metric=self.metric,
                                layer=features.attrs.get("layer"), model=features.attrs.get("model"))
        return score

    def target_data(self):
        """The measured target: an `RDM` stack or labelled `Responses` (loaded once per process)."""
        return _load_target(self)

    def reliability(self) -> np.ndarray:
        """Per-neuroid reliability (variance units) of a ``responses`` target, computed once per process."""
        return _reliability(self)

    def ceiling_in_raw_units(self, score: Score) -> float:
        """The ceiling on the scale of ``score.raw`` (correlation units), for plots."""
        if math.isnan(score.ceiling):
            return math.nan
        return math.sqrt(score.ceiling) if self.target == "responses" else score.ceiling

    def units(self, normalised: bool) -> str:
        """What ``score`` is measured in: the metric's statistic, and how the ceiling enters when ``normalised``.

        >>> from brainalign.benchmarks.registry import get_benchmark
        >>> get_benchmark("Cowley2023.V4-ridge").units(True), get_benchmark("Kriegeskorte2008.mIT-rsa").units(False)
        ('r·|r|/ceiling', 'ρ')
        """
        if self.target == "behaviour":
            return {"top1": "accuracy", "shape_bias": "shape fraction"}.get(
                self.metric, "κ/ceiling" if normalised else "κ")
        if self.metric == "crossregressed-correlation":  # Brain-Score: (median r / ceiling)², clamped to [0, 1]
            return "(r/ceiling)² in [0, 1]" if normalised else "r"
        if self.target == "responses":
            return "r·|r|/ceiling" if normalised else "r"
        statistic = _SYMBOLS.get(self.metric_options.get("comparison", "spearman"),
                                 self.metric_options.get("comparison", "spearman"))
        return f"{statistic}/ceiling" if normalised else statistic

    def options(self) -> str:
        """Everything besides the version that decides the numbers, as canonical JSON (part of stored row keys).

        >>> from brainalign.benchmarks.registry import get_benchmark
        >>> get_benchmark("Kriegeskorte2008.mIT-rsa").options()
        '{"ceiling": null, "metric": "rsa", "metric_options": {}, "selection": {}}'
        """
        options = {"metric": self.metric, "metric_options": self.metric_options, "selection": self.selection,
                   "ceiling": self.ceiling}
        if self.presentation_degrees is not None:  # absent otherwise, so earlier rows keep their keys
            options["presentation_degrees"] = self.presentation_degrees
        return json.dumps(options, sort_keys=True, default=str)

    def data_sha256(self) -> str | None:
        """sha256 over the checksums of the dataset's files (``None`` when the dataset lists no files)."""
        files = getattr(self._dataset(), "files", ())
        if not files:
            return None
        return hashlib.sha256("".join(sorted(f.sha256 for f in files)).encode()).hexdigest()

    def _dataset(self):
        from brainalign.data.registry import get_dataset

        return get_dataset(self.dataset)


_SYMBOLS = {"spearman": "ρ", "pearson": "r", "tau-a": "τa", "tau-b": "τb", "rho-a": "ρa", "cosine": "cos"}


@functools.lru_cache(maxsize=16)
def _load_target(benchmark: Benchmark):
    dataset = benchmark._dataset()
    if benchmark.target == "rdms":
        return dataset.rdms(benchmark.region)
    return dataset.responses(benchmark.region, **benchmark.selection)


@functools.lru_cache(maxsize=16)
def _reliability(benchmark: Benchmark) -> np.ndarray:
    from brainalign.metrics.ceilings.reliability import split_half_reliability

    if benchmark.ceiling != "split-half":
        raise InvalidInputError(
            f"benchmark {benchmark.identifier} has no split-half ceiling (ceiling={benchmark.ceiling!r}); "
            "valid: 'split-half'")
    return split_half_reliability(_load_target(benchmark))
