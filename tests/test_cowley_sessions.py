"""Cowley2023 sessions: the authors' session table, per-session and per-split benchmarks (pooling checked
against a direct computation on simulated sessions)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from brainalign.benchmarks.neural import SessionPoolBenchmark, concatenate_stimulus_sets
from brainalign.benchmarks.registry import get_benchmark
from brainalign.core.errors import InvalidInputError, UnknownNameError
from brainalign.core.labels import make_features, make_responses
from brainalign.data.dataset import Dataset
from brainalign.data.datasets.cowley2023 import Cowley2023, sessions_in_split
from brainalign.data.registry import DATASETS, register_dataset
from brainalign.data.stimuli import StimulusSet
from brainalign.metrics.registry import get_metric


def _readme_table(shared_data) -> dict[str, tuple[str, str, int]]:
    """session → (animal, split, number of neurons), parsed from the authors' readme."""
    readme = (shared_data / "cowley2023_v4" / "readme_original.txt").read_text()
    rows = re.findall(r"^(\d{6})\s+([A-Z]{2})\s+(\w+)\s+(\d+)", readme, flags=re.MULTILINE)
    return {session: (animal, split, int(n)) for session, animal, split, n in rows}


def test_sessions_follow_the_authors_table(shared_data):
    table = _readme_table(shared_data)
    dataset = Cowley2023()
    for session in dataset.sessions:
        animal, split, n_neurons = table[session]
        assert session in sessions_in_split(split)
        responses = dataset.responses("V4", session=session)
        assert responses.sizes["neuroid"] == n_neurons, session
        assert set(responses["animal"].values) == {animal}
    assert sorted(s for split in ("train", "validation", "test") for s in sessions_in_split(split)) == \
        sorted(dataset.sessions)
    with pytest.raises(UnknownNameError, match="'heldout'.*valid: test, train, validation"):
        sessions_in_split("heldout")


def test_every_loader_module_is_imported_by_the_package():
    """A loader registers itself only when ``brainalign.data.datasets`` imports it (read from its source, as
    tests importing a loader directly would hide a missing import)."""
    import ast
    import pkgutil

    import brainalign.data.datasets as package

    tree = ast.parse(Path(package.__file__).read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) for alias in node.names}
    assert {m.name for m in pkgutil.iter_modules(package.__path__)} <= imported


def test_every_session_and_split_is_a_benchmark():
    for session in Cowley2023.sessions:
        name = "Cowley2023.V4-ridge" + ("" if session == "210325" else f"-{session}")
        assert get_benchmark(name).selection == {"session": session}
    test = get_benchmark("Cowley2023.V4-ridge-test")
    assert isinstance(test, SessionPoolBenchmark) and test.sessions == ("190923", "201025", "210225", "210325")
    assert get_benchmark("Cowley2023.V4-ridge-train").sessions == (
        "190925", "190927", "190928", "190929", "210305", "210322", "210621")


N_FEATURES = 6
# session → (stimuli, neuroids, noise sd): a well-predicted session and a poorly predicted one
SIMULATED = {"a": (80, 5, 0.3), "b": (60, 9, 3.0)}


@register_dataset
class _Sessions(Dataset):
    identifier, folder, regions, sessions = "SimulatedSessions", "simulated-sessions", ("V4",), tuple(SIMULATED)

    def stimulus_set(self, session: str = "a", **selection) -> StimulusSet:
        ids = [f"{session}/{i}" for i in range(SIMULATED[session][0])]
        return StimulusSet(session, ids, texts=ids, modality="text",
                           metadata=pd.DataFrame({"session": [session] * len(ids)}))

    def responses(self, region: str, session: str = "a", **selection):
        n, k, noise = SIMULATED[session]
        rng = np.random.default_rng(len(session) + n)
        signal = _features(session).values @ rng.normal(size=(N_FEATURES, k))
        return make_responses(signal + noise * rng.normal(size=(n, k)), [f"{session}/{i}" for i in range(n)],
                              neuroid_coords={"session": [session] * k})


def _features(session: str):
    n = SIMULATED[session][0]
    rng = np.random.default_rng(n)
    return make_features(rng.normal(size=(n, N_FEATURES)), [f"{session}/{i}" for i in range(n)])


def test_pooled_sessions_equal_the_median_over_all_neurons():
    benchmark = SessionPoolBenchmark("Simulated.V4-ridge-all", "SimulatedSessions", "V4", "ridge", "responses",
                                     selection={"sessions": ("a", "b")})
    stimuli = benchmark.stimulus_set()
    assert stimuli.stimulus_ids[:2] == ["a/0", "a/1"] and len(stimuli) == 140
    assert stimuli.metadata["session"].tolist() == ["a"] * 80 + ["b"] * 60
    both = [_features("b"), _features("a")]  # any order: selected per session by stimulus id
    features = make_features(np.concatenate([f.values for f in both]),
                             [s for f in both for s in f["stimulus_id"].values])
    score = benchmark(features)
    direct = {s: get_metric("ridge")(_features(s), _Sessions().responses("V4", session=s)) for s in SIMULATED}
    pooled = np.concatenate([direct[s].per_neuroid.values for s in SIMULATED])
    assert score.value == pytest.approx(np.median(pooled), abs=1e-12)
    assert score.per_neuroid["session"].values.tolist() == ["a"] * 5 + ["b"] * 9
    assert score.extra["per_session"] == pytest.approx({s: direct[s].value for s in SIMULATED})
    assert score.error == pytest.approx(np.std([direct["a"].value, direct["b"].value], ddof=1) / np.sqrt(2))
    assert direct["a"].value > 0.95 > 0.6 > direct["b"].value  # simulated ground truth: SNR high vs low
    with pytest.raises(InvalidInputError, match="features lack 60 stimuli of session b"):
        benchmark(_features("a"))
    with pytest.raises(InvalidInputError, match="no bootstrap interval"):
        benchmark(features, ci=0.95)


def test_concatenating_stimulus_sets_refuses_mixed_modalities():
    text = StimulusSet("t", ["t/1"], texts=["x"], modality="text")
    image = StimulusSet("i", ["i/1"], paths=["x.png"])
    with pytest.raises(InvalidInputError, match=r"modalities \['image', 'text'\]"):
        concatenate_stimulus_sets("ti", [text, image])


@pytest.mark.slow
def test_one_real_session_scores_like_the_ridge_metric(shared_data):
    """Session 210305 (400 images, 70 neurons): pixel features of its own images through the benchmark."""
    benchmark = get_benchmark("Cowley2023.V4-ridge-210305")
    stimuli = benchmark.stimulus_set()
    assert len(stimuli) == 400 and stimuli.stimulus_ids[0] == "210305/image0001"
    pixels = np.stack([np.asarray(stimuli.load_image(i).resize((14, 14)), dtype=float) for i in range(len(stimuli))])
    features = make_features(pixels, stimuli.stimulus_ids)
    responses = Cowley2023().responses("V4", session="210305")
    score = benchmark(features)
    direct = get_metric("ridge")(features, responses)
    assert (score.value, score.raw) == (direct.value, direct.raw)
    np.testing.assert_array_equal(score.per_neuroid.values, direct.per_neuroid.values)
    assert score.extra["n_neuroids"] == 70 and np.isnan(score.ceiling)
    assert -0.2 < score.value < 0.9


def teardown_module():
    DATASETS.unregister("SimulatedSessions")

