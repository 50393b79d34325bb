"""Behavioural benchmarks: Geirhos et al. (2021) decisions, and similarity judgements of Kriegeskorte et al. (2008).

Geirhos2021: a model's own 16-category decisions versus humans'.

Unlike the neural `Benchmark`, which scores one layer's `Features`, these score a whole model: its ImageNet head is
read out through `brainalign.models.task` and compared with the human trials of one experiment. Identifiers follow
``Geirhos2021.<experiment>-<metric>``; ``error_consistency`` is Brain-Score's (kappa per subject and condition, mean
over conditions then subjects, divided by the mean human–human kappa).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from brainalign.benchmarks.benchmark import Benchmark
from brainalign.benchmarks.registry import register_benchmark
from brainalign.core.errors import InvalidInputError
from brainalign.core.score import Score
from brainalign.data.datasets.geirhos2021 import Geirhos2021
from brainalign.metrics.behaviour import accuracy, error_consistency, shape_bias
from brainalign.models.task import label_stimuli

GEIRHOS = Geirhos2021.identifier
_METRICS = ("top1", "shape_bias", "error_consistency")


@dataclass(frozen=True, eq=False)
class BehaviouralBenchmark(Benchmark):
    """A Geirhos2021 experiment (``region``) scored with ``metric``; called with a model, not with features."""

    target: str = "behaviour"
    layer: str = "classifier"

    def __post_init__(self) -> None:
        if self.metric not in _METRICS:
            raise InvalidInputError(f"unknown behavioural metric {self.metric!r}; valid: {', '.join(_METRICS)}")

    def __hash__(self) -> int:
        return hash((self.identifier, self.version))

    def __call__(self, model: Any) -> Score:  # type: ignore[override]
        """Score ``model`` (anything `load_model` takes, with an ImageNet-1k head at ``layer``)."""
        if hasattr(model, "dims"):
            raise InvalidInputError(f"{self.identifier} is behavioural: pass the model, not one layer's features")
        labels = label_stimuli(model, self.stimulus_set(), layer=self.layer)
        score = score_decisions(self.target_data(), labels, self.metric)
        score.provenance.update(benchmark=self.identifier, benchmark_version=self.version, metric=self.metric,
                                layer=self.layer)
        return score

    def target_data(self) -> pd.DataFrame:
        """The human trials of the experiment."""
        return self._dataset().trials(self.region)


def score_decisions(trials: pd.DataFrame, decisions: pd.Series, metric: str) -> Score:
    """Score a model's ``decisions`` (category per ``stimulus_id``) against human ``trials`` with ``metric``.

    >>> trials = pd.DataFrame({"subject": ["s1"] * 4 + ["s2"] * 4, "condition": "0",
    ...     "stimulus_id": list("abcd") * 2, "category": ["cat", "dog", "cat", "dog"] * 2,
    ...     "object_response": ["cat", "dog", "dog", "cat", "cat", "dog", "dog", "cat"]})
    >>> s = score_decisions(trials, pd.Series(["cat", "dog", "dog", "cat"], index=list("abcd")), "error_consistency")
    >>> s.raw, s.ceiling, s.value
    (1.0, 1.0, 1.0)
    """
    missing = sorted(set(trials["stimulus_id"]) - set(decisions.index))
    if missing:
        raise InvalidInputError(f"no model decision for {len(missing)} stimuli of the trials, e.g. {missing[:3]}")
    trials = trials.assign(model=decisions.reindex(trials["stimulus_id"]).to_numpy())
    images = trials.drop_duplicates("stimulus_id")
    if metric == "top1":
        human = [accuracy(t["object_response"], t["category"]) for _, t in trials.groupby("subject")]
        return Score(accuracy(images["model"], images["category"]), extra={"human_accuracy": float(np.mean(human))})
    if metric == "shape_bias":
        human = shape_bias(trials["object_response"], trials["category"], trials["texture"])
        return Score(shape_bias(images["model"], images["category"], images["texture"]),
                     extra={"human_shape_bias": human})
    if metric == "error_consistency":
        by_subject = {s: t for s, t in trials.groupby("subject")}
        per_subject = np.array([_consistency(t, "model", t, "object_response") for t in by_subject.values()])
        ceiling = float(np.mean([_consistency(a, "object_response", b, "object_response")
                                 for a, b in itertools.combinations(by_subject.values(), 2)]))
        raw = float(np.mean(per_subject))
        return Score(raw / ceiling, raw=raw, ceiling=ceiling,
                     error=float(np.std(per_subject, ddof=1) / np.sqrt(len(per_subject))), per_split=per_subject,
                     extra={"error_kind": "SEM over subjects"})
    raise InvalidInputError(f"unknown behavioural metric {metric!r}; valid: {', '.join(_METRICS)}")


def _consistency(a: pd.DataFrame, a_column: str, b: pd.DataFrame, b_column: str) -> float:
    """Error consistency of two observers on their shared trials: kappa per condition, mean over conditions."""
    both = a[["stimulus_id", "condition", "category", a_column]].merge(
        b[["stimulus_id", "condition", b_column]], on=["stimulus_id", "condition"], suffixes=("_a", "_b"))
    columns = (a_column + "_a", b_column + "_b") if a_column == b_column else (a_column, b_column)
    kappas = [error_consistency(t[columns[0]] == t["category"], t[columns[1]] == t["category"])
              for _, t in both.groupby("condition")]
    return float(np.nanmean(kappas))


def _register() -> None:
    for experiment in ("cue-conflict", "edge", "silhouette"):
        # cue-conflict images have two true classes: no top-1 there (as model-vs-human), shape bias instead
        metrics = ("shape_bias", "error_consistency") if experiment == "cue-conflict" else ("top1", "error_consistency")
        for metric in metrics:
            register_benchmark(BehaviouralBenchmark(
                f"{GEIRHOS}.{experiment}-{metric}", GEIRHOS, experiment, metric,
                selection={"experiment": experiment},
                description=f"human 16-way decisions on {experiment} images (model-vs-human); {metric} of the "
                            "model's ImageNet head mapped to 16 categories"))


_register()


def _register_similarity_judgements() -> None:
    """Kriegeskorte et al. (2008) / Mur et al. (2013): 16 subjects' dissimilarity judgements of the 92 images (the
    rsatoolbox ``92_behavRDMs.mat``), compared with a layer's RDM like the neural RDM benchmarks."""
    register_benchmark(Benchmark(
        "Kriegeskorte2008.behaviour-rsa", "Kriegeskorte2008", "behavior", "rsa", "rdms",
        description="human similarity judgements of the 92 images (Mur et al. 2013), 16 subjects' RDMs; Spearman "
                    "RSA of a layer's RDM; LOSO noise ceiling across the 16 subjects"))


_register_similarity_judgements()
