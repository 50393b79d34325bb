"""`from_arrays` + `UserDataset.benchmark`: the same numbers as the registered benchmarks on the same data, and
errors that name the mismatch."""

import numpy as np
import pandas as pd
import pytest

from brainalign.benchmarks.registry import get_benchmark
from brainalign.core.errors import InvalidInputError
from brainalign.core.labels import make_features
from brainalign.data.user import from_arrays


def _predictive_features(responses, seed=0):
    """Features that linearly carry the repeat-averaged responses (plus noise): a score well above zero."""
    rng = np.random.default_rng(seed)
    mean = np.nanmean(responses.values, axis=-1)
    values = mean @ rng.normal(size=(mean.shape[1], 40)) + rng.normal(scale=mean.std(), size=(mean.shape[0], 40))
    return make_features(values, list(responses["stimulus_id"].values), layer="toy", model="toy")


@pytest.mark.slow
def test_cowley_ridge_from_arrays_equals_registered(shared_data):
    registered = get_benchmark("Cowley2023.V4-ridge")
    responses = registered.target_data()
    data = from_arrays(registered.stimulus_set(), responses.values, region="V4", identifier="cowley-copy")
    mine = data.benchmark("ridge", region="V4", ceiling="split-half")
    features = _predictive_features(responses)
    expected, got = registered(features), mine(features)
    assert expected.value > 0.2
    assert got.value == pytest.approx(expected.value, abs=1e-12)
    assert got.raw == pytest.approx(expected.raw, abs=1e-12)
    np.testing.assert_allclose(mine.reliability(), registered.reliability())
    assert mine.identifier.startswith("cowley-copy-") and mine.data_sha256() == data.sha256()


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:subjects' RDMs do not agree")
def test_net2brain_rsa_from_rdm_stack_equals_registered(shared_data):
    registered = get_benchmark("Net2Brain78.EVC-rsa")
    target = registered.target_data()
    data = from_arrays(registered.stimulus_set(), rdms=target.square(), region="EVC")
    rng = np.random.default_rng(1)
    features = make_features(rng.normal(size=(target.n_stimuli, 30)), target.stimulus_ids)
    expected, got = registered(features), data.benchmark("rsa")(features)
    assert got.value == pytest.approx(expected.value, abs=1e-12)
    assert got.ceiling == pytest.approx(expected.ceiling, abs=1e-12)


def test_rdms_of_responses_per_subject_match_scipy(tmp_path):
    from scipy.spatial.distance import pdist

    rng = np.random.default_rng(2)
    values = rng.normal(size=(6, 10))
    data = from_arrays(rng.integers(0, 255, (6, 5, 5, 3), dtype=np.uint8), values, subject=["s1"] * 4 + ["s2"] * 6)
    rdm = data.rdms("brain")
    expected = [pdist(values[:, :4], "correlation"), pdist(values[:, 4:], "correlation")]
    np.testing.assert_allclose(rdm.condensed, expected, atol=1e-5)
    assert list(rdm.descriptors["subject"]) == ["s1", "s2"]
    assert data.stimulus_set().load_image(0).size == (5, 5)


def test_nan_padded_repetitions_and_time():
    rng = np.random.default_rng(3)
    values = rng.normal(size=(5, 3, 4, 2))
    values[0, :, 3] = np.nan
    data = from_arrays(["a", "b", "c", "d", "e"], values, times=[0.0, 0.1], region="EEG")
    responses = data.responses("EEG")
    assert responses.dims == ("stimulus", "neuroid", "repetition", "time")
    assert responses["time"].values.tolist() == [0.0, 0.1]
    with pytest.raises(InvalidInputError, match="time-resolved benchmarks .* have no ceiling"):
        data.benchmark("ridge", ceiling="split-half")


def test_time_resolved_benchmark_peaks_where_the_features_explain_the_responses(tmp_path):
    rng = np.random.default_rng(6)
    latent = rng.normal(size=(40, 5))
    values = rng.normal(size=(40, 8, 3))  # stimulus, neuroid, time: only time point 1 carries the latent signal
    values[:, :, 1] = latent @ rng.normal(size=(5, 8)) + 0.1 * rng.normal(size=(40, 8))
    ids = [f"t{i}" for i in range(40)]
    data = from_arrays([f"text {i}" for i in range(40)], values, stimulus_ids=ids, dims=("stimulus", "neuroid", "time"),
                       times=[-0.1, 0.1, 0.3])
    benchmark = data.benchmark("ridge")
    score = benchmark(make_features(latent, ids))
    assert score.extra["peak_time"] == 0.1 and score.value > 0.8
    assert abs(score.extra["time_course"][0]) < 0.3 and abs(score.extra["time_course"][2]) < 0.3
    # the course survives a results CSV and comes back one row per time point, ready to plot
    from brainalign.report.plots import plot_time_course, time_course_rows
    from brainalign.runner.score import RESULT_COLUMNS, result_row

    csv = tmp_path / "scores.csv"
    pd.DataFrame([result_row("m", "", benchmark, "l", score)], columns=RESULT_COLUMNS).to_csv(csv, index=False)
    rows = time_course_rows(pd.read_csv(csv))
    assert rows["time_point"].tolist() == [-0.1, 0.1, 0.3]
    np.testing.assert_allclose(rows["raw"], score.extra["time_course"])
    assert rows["peak_time"].tolist() == [0.1] * 3 and rows["error"].isna().all()
    line = plot_time_course(pd.read_csv(csv)).lines[0]
    np.testing.assert_allclose(line.get_ydata(), score.extra["time_course"])


def test_errors_name_the_mismatch(tmp_path):
    rng = np.random.default_rng(4)
    with pytest.raises(InvalidInputError, match=r"responses have 4 stimuli \(shape \(4, 2\)\) but there are 3"):
        from_arrays(["a", "b", "c"], rng.normal(size=(4, 2)))
    with pytest.raises(InvalidInputError, match="3 region labels for 2 neuroids"):
        from_arrays(["a", "b", "c"], rng.normal(size=(3, 2)), region=["V1", "V1", "IT"])
    with pytest.raises(InvalidInputError, match=r"RDM stack has shape \(2, 4, 4\); 3 stimuli need \(subject, 3, 3\)"):
        from_arrays(["a", "b", "c"], rdms=np.zeros((2, 4, 4)))
    with pytest.raises(InvalidInputError, match="1 stimulus files do not exist"):
        from_arrays([str(tmp_path / "missing.png")], rng.normal(size=(1, 2)))
    with pytest.raises(InvalidInputError, match="NaN may only pad missing repetitions"):
        from_arrays(["a", "b"], np.array([[1.0, np.nan], [2.0, 3.0]]))
    from brainalign.core.labels import make_responses

    labelled = make_responses(rng.normal(size=(2, 2)), ["a", "x"])
    with pytest.raises(InvalidInputError, match=r"1 stimuli have no responses \(e.g. \['b'\]\)"):
        from_arrays(["t1", "t2"], labelled, stimulus_ids=["a", "b"])
    with pytest.raises(InvalidInputError, match="ceiling 'split-half' needs repetitions"):
        from_arrays(["a", "b"], rng.normal(size=(2, 2))).benchmark("ridge", ceiling="split-half")


def test_different_data_get_different_identifiers():
    rng = np.random.default_rng(5)
    a = from_arrays(["a", "b", "c"], rng.normal(size=(3, 2))).benchmark("ridge")
    b = from_arrays(["a", "b", "c"], rng.normal(size=(3, 2))).benchmark("ridge")
    assert a.identifier != b.identifier and a.identifier.endswith(".brain-ridge")


def test_stimuli_as_folder_paths_videos_and_texts(tmp_path):
    from PIL import Image

    for i in (2, 10, 1):
        Image.new("RGB", (3, 3), (i, 0, 0)).save(tmp_path / f"im{i}.png")
    values = np.arange(6.0).reshape(3, 2)
    folder = from_arrays(tmp_path, values, identifier="mine")
    assert folder.stimulus_set().stimulus_ids == ["mine/im1", "mine/im2", "mine/im10"]  # natural order
    paths = from_arrays([tmp_path / "im10.png", tmp_path / "im1.png", tmp_path / "im2.png"], values)
    assert paths.stimulus_set().stimulus_ids == ["im10", "im1", "im2"] and paths.stimulus_set().modality == "image"
    for name in ("a.mp4", "b.mp4"):
        (tmp_path / name).write_bytes(b"")
    videos = from_arrays([str(tmp_path / "a.mp4"), str(tmp_path / "b.mp4")], values[:2], stimulus_ids=["v1", "v2"])
    assert videos.stimulus_set().modality == "video" and videos.stimulus_set().stimulus_ids == ["v1", "v2"]
    texts = from_arrays(["one", "two", "three"], values, dims=("stimulus", "neuroid"))
    assert texts.stimulus_set().texts == ["one", "two", "three"]
    np.testing.assert_array_equal(texts.responses("brain").values, values)


def test_from_folder_reads_videos_texts_and_labelled_npz(tmp_path):
    from brainalign.data.dataset import Dataset

    videos = tmp_path / "clips"
    videos.mkdir()
    for name in ("c10.mp4", "c2.mp4", "c1.mp4"):
        (videos / name).write_bytes(b"")
    rng = np.random.default_rng(6)
    values = rng.normal(size=(3, 4, 2))
    np.savez(tmp_path / "data.npz", responses=values, region=["V1", "V1", "IT", "IT"], subject=["a", "b", "a", "b"])
    data = Dataset.from_folder(videos, tmp_path / "data.npz")
    assert data.stimulus_set().modality == "video"
    assert data.stimulus_set().stimulus_ids == ["clips/c1", "clips/c2", "clips/c10"]  # natural file order
    np.testing.assert_array_equal(data.responses("IT").values, values[:, 2:])
    assert list(data.responses("IT")["subject"].values) == ["a", "b"]
    (tmp_path / "texts.txt").write_text("one\n\ntwo\nthree\n")
    np.save(tmp_path / "plain.npy", values[..., 0])
    texts = Dataset.from_folder(tmp_path / "texts.txt", tmp_path / "plain.npy", region="LANG")
    assert texts.stimulus_set().texts == ["one", "two", "three"] and texts.regions == ("LANG",)
    same = Dataset.from_arrays(["one", "two", "three"], values[..., 0], region="LANG", identifier="texts")
    assert same.responses("LANG").values.tolist() == texts.responses("LANG").values.tolist()
    with pytest.raises(InvalidInputError, match="must be a folder of images or videos, or a .txt file"):
        Dataset.from_folder(videos / "c1.mp4", tmp_path / "plain.npy")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidInputError, match=r"no image or video files in .*empty"):
        Dataset.from_folder(tmp_path / "empty", tmp_path / "plain.npy")
