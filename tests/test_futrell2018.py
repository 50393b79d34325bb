"""Futrell2018 (Natural Stories reading times): loader against the raw files, Brain-Score language's sentence
exclusion, Pearson r and reliability against scipy / a direct computation, and the benchmark run end to end with a
tiny random GPT-2 on the real text (through the runner; about 30 s on 2 busy cores, so marked slow)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.stats
import torch

from brainalign.benchmarks.language import reading_time_reliability, score_reading_times
from brainalign.benchmarks.registry import get_benchmark
from brainalign.core.errors import InvalidInputError
from brainalign.data.datasets.futrell2018 import Futrell2018


@pytest.fixture(scope="module")
def words(shared_data):
    return Futrell2018().reading_times()


def test_words_and_mean_reading_times_equal_the_raw_files(words, shared_data):
    raw = pd.read_csv(shared_data / "futrell2018" / "processed_wordinfo.tsv", sep="\t", quoting=3)
    assert len(words) == 10256 and words["story"].nunique() == 10
    merged = words.merge(raw, left_on=["story", "zone"], right_on=["item", "zone"])
    np.testing.assert_array_equal(merged["mean_rt"], merged["meanItemRT"])
    assert (merged["word_x"] == merged["word_y"]).mean() > 0.99  # README: a few typos differ between the two files
    # Brain-Score language finds 481 sentences; each story starts one
    assert (words["word_within_sentence"] == 1).sum() == 481
    assert (words.groupby("story")["word_within_sentence"].first() == 1).all()
    stimuli = Futrell2018().stimulus_set()
    assert stimuli.modality == "text" and stimuli.texts[:3] == ["If", "you", "were"]


def test_score_is_pearson_r_over_non_initial_words_divided_by_reliability(words):
    predictions = np.random.default_rng(0).normal(size=len(words)) + words["mean_rt"].to_numpy() / 50
    score = score_reading_times(words, predictions)
    keep = words["word_within_sentence"].to_numpy() != 1
    expected = scipy.stats.pearsonr(predictions[keep], words["mean_rt"].to_numpy()[keep]).statistic
    kept = words[keep]
    reliability = 1 - np.mean(kept["sd_rt"] ** 2 / kept["n_readers"]) / kept["mean_rt"].var()
    assert score.raw == pytest.approx(expected, abs=1e-12) and score.ceiling == pytest.approx(reliability)
    assert score.value == pytest.approx(expected / reliability) and score.extra["n_words"] == 9775
    assert 0.8 < reliability < 0.86  # Brain-Score's split-half ceiling on the per-reader data: 0.858
    assert reading_time_reliability(kept) == pytest.approx(reliability)
    assert score_reading_times(words, words["mean_rt"]).raw == pytest.approx(1.0)


def test_bad_predictions_are_named(words):
    with pytest.raises(InvalidInputError, match="one reading-time prediction per word"):
        score_reading_times(words, np.zeros(3))
    with pytest.raises(InvalidInputError, match="not finite"):
        score_reading_times(words, np.full(len(words), np.nan))


@pytest.mark.slow
def test_benchmark_scores_a_tiny_random_gpt2_on_the_real_text(words, tmp_path):
    from brainalign.models.loading import load_model
    from brainalign.models.sources.text import word_surprisals
    from brainalign.runner.score import score
    from tiny_lm import tiny_gpt2

    torch.set_num_threads(2)
    texts = [" ".join(story["word"]) for _, story in words.groupby("story")]
    model = load_model(tiny_gpt2(tmp_path / "lm", texts, n_positions=1024, vocab_size=500))
    first = words[words["story"] == 1]
    story_one = word_surprisals(model, first["word"].tolist(), progress=False)
    assert np.isfinite(story_one).all() and story_one.min() > 0
    result = score(model, get_benchmark("Futrell2018-pearsonr")).scores["surprisal"]
    # an untrained LM's surprisal grows with a word's number of tokens, i.e. its length, which predicts reading
    # times: measured r = 0.335 (0.40 of the ceiling 0.832)
    assert 0.2 < result.raw < 0.5 and result.ceiling == pytest.approx(reading_time_reliability(
        words[words["word_within_sentence"] != 1]))
    assert result.provenance["benchmark"] == "Futrell2018-pearsonr" and result.extra["n_words"] == 9775
