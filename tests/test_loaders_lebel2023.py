"""LeBel 2023 on a generated miniature of ds003020's derivative layout (respdict.json, .hf5 responses, Praat
TextGrids): TR texts, responses, and the story benchmark (FIR delays, story-grouped folds) on a simulated voxel
response with a known delay."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

import brainalign.data.datasets.lebel2023 as lebel
from brainalign.benchmarks.registry import get_benchmark
from brainalign.core.errors import OfflineError
from brainalign.core.labels import make_features
from brainalign.data.datasets.lebel2023 import LeBel2023, make_delayed, story_splits
from brainalign.data.fetch import ChecksumError
from brainalign.metrics.registry import get_metric

STORIES = get_benchmark("LeBel2023.UTS01-ridge").selection["stories"]
N_TRS, N_VOXELS, N_LATENT, DELAY = 30, 12, 5, 2


def _textgrid(words: list[tuple[float, float, str]]) -> str:
    lines = ['File type = "ooTextFile"', 'Object class = "TextGrid"', "", "xmin = 0", "tiers? <exists>", "size = 2",
             "item []:", "    item [1]:", '        class = "IntervalTier"', '        name = "phone"',
             "        intervals [1]:", "            xmin = 0", "            xmax = 1", '            text = "AH0"',
             "    item [2]:", '        class = "IntervalTier"', '        name = "word"',
             f"        intervals: size = {len(words)}"]
    for i, (start, end, word) in enumerate(words, start=1):
        lines += [f"        intervals [{i}]:", f"            xmin = {start}", f"            xmax = {end}",
                  f'            text = "{word}"']
    return "\n".join(lines) + "\n"


@pytest.fixture
def miniature(tmp_path, monkeypatch, private_cache):
    rng = np.random.default_rng(0)
    root = tmp_path / "mirror" / "lebel2023" / "derivative"
    (root / "preprocessed_data" / "UTS01").mkdir(parents=True)
    (root / "TextGrids").mkdir()
    (root / "respdict.json").write_text(json.dumps({s: N_TRS + 20 for s in STORIES}))  # run TRs: rows + 20
    weights = rng.normal(size=(N_LATENT, N_VOXELS))
    latents, data = {}, {}
    for story in STORIES:
        latents[story] = rng.normal(size=(N_TRS, N_LATENT))
        delayed = make_delayed(latents[story], (DELAY,))  # the voxels answer DELAY TRs after the features
        data[story] = (delayed @ weights + 0.3 * rng.normal(size=(N_TRS, N_VOXELS))).astype(np.float32)
        with h5py.File(root / "preprocessed_data" / "UTS01" / f"{story}.hf5", "w") as f:
            f["data"] = data[story]
        words = ([(0.0, 0.4, "sp"), (0.4, 0.45, "{NS}"), (0.45, 0.5, "sentence_start")]
                 + [(0.5 + 0.7 * i, 1.0 + 0.7 * i, f"{story}{i}") for i in range(120)])
        (root / "TextGrids" / f"{story}.TextGrid").write_text(_textgrid(words))
    monkeypatch.setenv("BRAINALIGN_MIRROR", str(tmp_path / "mirror"))
    monkeypatch.setattr(lebel, "S3", "http://127.0.0.1:9/")  # never download in tests
    return root, latents, data


def test_tr_texts_and_responses_follow_the_files(miniature):
    _, _, data = miniature
    dataset = LeBel2023()
    responses = dataset.responses("cortex", stories=STORIES[:2])
    np.testing.assert_array_equal(responses.values, np.concatenate([data[s] for s in STORIES[:2]]))
    assert responses["story"].values.tolist() == [STORIES[0]] * N_TRS + [STORIES[1]] * N_TRS
    stimuli = dataset.stimulus_set(stories=STORIES[:2])
    assert stimuli.stimulus_ids == responses["stimulus_id"].values.tolist()
    # the authors' grid: response row j is heard 2j + 10 to 2j + 12 s into the audio; a word counts from its onset
    for row in (0, 7):
        heard = [f"{STORIES[0]}{i}" for i in range(120) if 0.5 + 0.7 * i < 2 * row + 12]
        assert stimuli.texts[row] == " ".join(heard[-lebel.CONTEXT_WORDS:])
    assert stimuli.texts[0].split()[0] == f"{STORIES[0]}0"  # silences and noise marks are not words
    assert dataset.stories() == sorted(STORIES)
    status = dataset.file_status()  # respdict and every story's TextGrid, all here; responses come per subject
    assert status["path"].tolist() == ["derivative/respdict.json",
                                       *(f"derivative/TextGrids/{s}.TextGrid" for s in sorted(STORIES))]
    assert (status["local"] != "").all() and set(status["checksum"]) <= {"sha256 recorded", "first copy trusted"}


def test_story_benchmark_finds_the_delayed_response(miniature):
    _, latents, _ = miniature
    ids = [f"{s}/tr{t:04d}" for s in STORIES for t in range(N_TRS)]
    features = make_features(np.concatenate([latents[s] for s in STORIES]), ids)
    score = get_benchmark("LeBel2023.UTS01-ridge")(features)
    responses = LeBel2023().responses("cortex", stories=STORIES)
    stories = responses["story"].values
    standardised = {s: (latents[s] - latents[s].mean(0)) / latents[s].std(0) for s in STORIES}  # per story
    delayed = np.concatenate([make_delayed(standardised[s], (1, 2, 3, 4)) for s in STORIES])
    direct = get_metric("ridge")(make_features(delayed, ids), responses, splits=story_splits(stories))
    assert (score.value, score.raw) == (direct.value, direct.raw)
    assert all(set(stories[test]).isdisjoint(stories[train]) for train, test in story_splits(stories))
    undelayed = get_metric("ridge")(features, responses, splits=story_splits(stories))
    assert score.value > 0.8 > 0.3 > undelayed.value  # ground truth: the voxels lag the features by 2 TRs


def test_missing_and_corrupt_files_are_named(miniature, tmp_path, monkeypatch):
    root, _, _ = miniature
    LeBel2023().responses("cortex", stories=STORIES[:1])
    with h5py.File(root / "preprocessed_data" / "UTS01" / f"{STORIES[0]}.hf5", "w") as f:
        f["data"] = np.zeros((N_TRS, N_VOXELS), np.float32)
    with pytest.warns(UserWarning, match=f"{STORIES[0]}.hf5"), pytest.raises(ChecksumError):
        LeBel2023().responses("cortex", stories=STORIES[:1])
    monkeypatch.setenv("BRAINALIGN_MIRROR", str(tmp_path / "nowhere"))
    with pytest.raises(OfflineError, match=r"could not download http://127.0.0.1:9/derivative/respdict.json.*"
                                           r"nowhere/lebel2023/derivative/respdict.json"):
        LeBel2023().stories()
