"""Geirhos2021 loader, model task readout and behavioural benchmarks on the real trials and images."""

import numpy as np
import pandas as pd
import pytest
from scipy.special import softmax

from brainalign.benchmarks.behaviour import score_decisions
from brainalign.core.errors import InvalidInputError, UnknownNameError
from brainalign.data.datasets.geirhos2021 import CATEGORIES, EXPERIMENTS, Geirhos2021, check_categories
from brainalign.metrics.behaviour import error_consistency
from brainalign.models import task


@pytest.fixture(scope="module")
def geirhos(shared_data):
    if not (shared_data / "geirhos2021").is_dir():
        pytest.skip("geirhos2021 not in the shared data")
    return Geirhos2021()


def test_trials_of_all_17_experiments_match_the_published_counts(geirhos):
    counts = {e: len(geirhos.trials(e)) for e in EXPERIMENTS}
    assert len(counts) == 17 and sum(counts.values()) == 85120  # model-vs-human raw-data
    edge = geirhos.trials("edge")
    assert edge["subject"].nunique() == 10 and edge["stimulus_id"].nunique() == 160
    first = edge.iloc[0]  # first row of edge_subject-01_session_1.csv
    assert (first["subject"], first["object_response"], first["category"]) == ("subject-01", "knife", "oven")
    assert first["path"].as_posix().endswith("stimuli/edges/oven/oven10.png")


def test_cue_conflict_image_rule_and_texture(geirhos):
    trials = geirhos.trials("cue-conflict")
    row = trials[trials["imagename"] == "0001_s5n_s01_0_bird_00_bird3-bird2.png"].iloc[0]
    assert row["path"].as_posix().endswith("style-transfer-preprocessed-512/bird/bird3-bird2.png")
    assert row["texture"] == "bird"
    stimuli = geirhos.stimulus_set("cue-conflict")
    assert len(stimuli.stimulus_ids) == 1280 and all(p.is_file() for p in stimuli.paths)
    assert set(stimuli.metadata["texture"]) == set(CATEGORIES)


def test_missing_image_and_unknown_category_are_named(geirhos):
    with pytest.raises(InvalidInputError, match="stimuli/edges/cat/nope.png"):
        geirhos._image("stimuli/edges/cat/nope.png")
    with pytest.raises(UnknownNameError, match="zebra.*airplane, bear"):
        check_categories(["cat", "zebra"])
    with pytest.raises(UnknownNameError, match="experiment"):
        geirhos.stimulus_set("colour")  # trials only: its images are not redistributable


def test_category_probabilities_are_means_over_each_categorys_imagenet_classes():
    logits = np.random.default_rng(0).normal(size=(5, 1000))
    p = softmax(logits, axis=1)
    expected = np.array([[p[i, list(task.IMAGENET_INDICES[c])].mean() for c in CATEGORIES] for i in range(5)])
    np.testing.assert_allclose(task.category_probabilities(p), expected)
    assert task.decisions(p) == [CATEGORIES[j] for j in expected.argmax(axis=1)]


def test_imagenet_mapping_is_model_vs_humans():
    assert task.CATEGORIES == CATEGORIES
    indices = [i for idx in task.IMAGENET_INDICES.values() for i in idx]
    assert len(indices) == len(set(indices)) == 207  # disjoint; model-vs-human lists 1+4+2+49+5+7+3+6+4+3+109+2+2+1+1+8
    assert task.IMAGENET_INDICES["knife"] == (499,) and task.IMAGENET_INDICES["oven"] == (766,)
    assert 242 not in task.IMAGENET_INDICES["dog"] and 268 in task.IMAGENET_INDICES["dog"]


def test_error_consistency_benchmark_of_a_model_copying_one_human(geirhos):
    trials = geirhos.trials("edge")
    copied = trials[trials["subject"] == "subject-03"]
    decisions = pd.Series(copied["object_response"].to_numpy(), index=copied["stimulus_id"].to_numpy())
    score = score_decisions(trials, decisions, "error_consistency")
    per_subject = dict(zip(sorted(trials["subject"].unique()), score.per_split, strict=True))
    assert per_subject["subject-03"] == 1.0
    other = trials[trials["subject"] == "subject-05"].set_index("stimulus_id").loc[copied["stimulus_id"]]
    direct = error_consistency(copied["object_response"].to_numpy() == copied["category"].to_numpy(),
                               other["object_response"].to_numpy() == other["category"].to_numpy())
    assert per_subject["subject-05"] == pytest.approx(direct)
    assert score.raw == pytest.approx(np.mean(score.per_split))
    assert score.value == pytest.approx(score.raw / score.ceiling)


@pytest.mark.slow
def test_trained_efficientnet_beats_random_weights_on_edge_images(geirhos):
    from brainalign.benchmarks.registry import get_benchmark

    benchmark = get_benchmark("Geirhos2021.edge-top1")
    trained, random = benchmark("efficientnet_lite0"), benchmark("efficientnet_lite0_random")
    assert trained.value > random.value + 0.1  # chance is 1/16; humans ~0.8 on edges
