"""Language behaviour: Futrell2018-pearsonr, a causal language model's word surprisal versus human reading times.

As Brain-Score language's ``Futrell2018-pearsonr``: the model reads each Natural Stories story word by word, its
reading-time prediction for a word is the word's surprisal in bits given the story so far (`word_surprisals`), and
the score is the Pearson r with the mean reading time over readers, over all words except the first word of each
sentence; no fitting. Brain-Score's ceiling (0.858) is a Spearman–Brown-corrected split half over readers, which
needs the per-reader times; the corpus files used here hold only per-word means, standard deviations and reader
counts, so the ceiling is the classical-test-theory reliability of the word means instead,
``1 − mean(sd² / n) / var(mean)`` (ICC(1,k), Shrout & Fleiss 1979; 0.832 on these words).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.stats

from brainalign.benchmarks.benchmark import Benchmark
from brainalign.benchmarks.registry import register_benchmark
from brainalign.core.errors import InvalidInputError
from brainalign.core.score import Score
from brainalign.data.datasets.futrell2018 import Futrell2018
from brainalign.models.sources.text import word_surprisals

#: Brain-Score language's split-half ceiling on the per-reader data (its ``test_ceiling``), for comparison only.
BRAINSCORE_CEILING = 0.858


@dataclass(frozen=True, eq=False)
class ReadingTimesBenchmark(Benchmark):
    """Word surprisal of a causal language model versus mean reading times; called with a model, not features."""

    target: str = "behaviour"
    layer: str = "surprisal"
    max_context: int | None = None

    def __hash__(self) -> int:
        return hash((self.identifier, self.version))

    def __call__(self, model: Any) -> Score:  # type: ignore[override]
        """Score ``model`` (a loaded causal language model, or anything `load_model` takes that loads as one)."""
        if hasattr(model, "dims"):
            raise InvalidInputError(f"{self.identifier} is behavioural: pass the model, not one layer's features")
        if not hasattr(model, "causal_lm"):
            from brainalign.models.loading import load_model

            model = load_model(model)
        words = self.target_data()
        surprisal = np.concatenate([word_surprisals(model, story["word"].tolist(), self.max_context)
                                    for _, story in words.groupby("story", sort=True)])
        score = score_reading_times(words, surprisal)
        score.provenance.update(benchmark=self.identifier, benchmark_version=self.version, metric=self.metric,
                                layer=self.layer, model=getattr(model, "identifier", None))
        return score

    def target_data(self) -> pd.DataFrame:
        """One row per word in reading order (story, zone), with ``mean_rt`` and ``word_within_sentence``."""
        return self._dataset().reading_times(self.region)

    def units(self, normalised: bool) -> str:
        return "r/ceiling" if normalised else "r"


def reading_time_reliability(words: pd.DataFrame) -> float:
    """Reliability of the per-word mean reading times from their spread: ``1 − mean(sd² / n) / var(mean)``.

    >>> round(reading_time_reliability(pd.DataFrame({"mean_rt": [300.0, 400.0], "sd_rt": [50.0, 50.0],
    ...                                              "n_readers": [25, 25]})), 4)
    0.98
    """
    error = np.mean(words["sd_rt"].to_numpy() ** 2 / words["n_readers"].to_numpy())
    return float(1 - error / np.var(words["mean_rt"].to_numpy(), ddof=1))


def score_reading_times(words: pd.DataFrame, predictions: Any) -> Score:
    """Pearson r of ``predictions`` (one per row of ``words``) with ``mean_rt`` over the words that do not begin a
    sentence (Brain-Score language's exclusion), divided by `reading_time_reliability` of those words.

    >>> words = pd.DataFrame({"mean_rt": [9.0, 300, 350, 400], "sd_rt": 10.0, "n_readers": 50,
    ...                       "word_within_sentence": [1, 2, 3, 4]})
    >>> s = score_reading_times(words, [0.0, 1, 2, 3]); round(s.raw, 6), s.extra["n_words"]
    (1.0, 3)
    """
    predictions = np.asarray(predictions, dtype=float)
    if predictions.shape != (len(words),):
        raise InvalidInputError(f"need one reading-time prediction per word ({len(words)}); got shape "
                                f"{predictions.shape}")
    keep = words["word_within_sentence"].to_numpy() != 1
    kept, predicted = words[keep], predictions[keep]
    if not np.isfinite(predicted).all():
        bad = kept.index[~np.isfinite(predicted)][:3].tolist()
        raise InvalidInputError(f"{int((~np.isfinite(predicted)).sum())} predictions are not finite, e.g. rows {bad}")
    raw = float(scipy.stats.pearsonr(predicted, kept["mean_rt"].to_numpy()).statistic)
    ceiling = reading_time_reliability(kept)
    return Score(raw / ceiling if ceiling > 0 else math.nan, raw=raw, ceiling=ceiling,
                 extra={"n_words": int(keep.sum()), "brainscore_ceiling": BRAINSCORE_CEILING})


register_benchmark(ReadingTimesBenchmark(
    "Futrell2018-pearsonr", Futrell2018.identifier, "reading_times", "pearsonr",
    description="Natural Stories self-paced reading (10 stories, mean over 62-97 readers per word): Pearson r of a "
                "causal LM's word surprisal (bits) with mean reading times, sentence-initial words excluded; ceiling "
                "= reliability of the word means from their sd and reader counts"))
