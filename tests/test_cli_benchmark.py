"""Benchmark files: `brainalign benchmark create` writes one, `brainalign score -b FILE.toml` scores against it, and
the file pins its data by sha256."""

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from typer.testing import CliRunner

from brainalign.benchmarks.registry import get_benchmark
from brainalign.benchmarks.user import load_benchmark_file, write_benchmark_file
from brainalign.cli import app
from brainalign.core.errors import InvalidInputError, UnknownNameError
from brainalign.core.labels import make_responses

runner = CliRunner()
NET = """import torch

def make():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv2d(3, 4, 5, stride=4), torch.nn.ReLU(), torch.nn.Flatten())
"""


@pytest.fixture
def images(tmp_path):
    folder = tmp_path / "stimuli"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(12):
        Image.fromarray(rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)).save(folder / f"img{i}.png")
    return folder


@pytest.mark.slow
def test_create_then_score_with_the_file(images, tmp_path):
    responses = np.random.default_rng(1).normal(size=(12, 5, 3))
    np.save(tmp_path / "resp.npy", responses)
    bench = tmp_path / "mybench.toml"
    created = runner.invoke(app, ["benchmark", "create", "--stimuli", str(images), "--responses",
                                  str(tmp_path / "resp.npy"), "--metric", "ridge", "--region", "IT", "--ceiling",
                                  "split-half", "--option", "n_splits=3", "-o", str(bench)])
    assert created.exit_code == 0, created.output
    loaded = get_benchmark(str(bench))
    assert (loaded.region, loaded.metric, loaded.ceiling, loaded.metric_options) == ("IT", "ridge", "split-half",
                                                                                       {"n_splits": 3})
    np.testing.assert_array_equal(loaded.target_data().values, responses)
    assert loaded.stimulus_set().stimulus_ids[:3] == ["mybench/img0", "mybench/img1", "mybench/img2"]
    (tmp_path / "net.py").write_text(NET)
    out = tmp_path / "scores.csv"
    scored = runner.invoke(app, ["score", "-m", f"{tmp_path / 'net.py'}:make", "-b", str(bench), "-l", "2",
                                 "-o", str(out)])
    assert scored.exit_code == 0, scored.output
    table = pd.read_csv(out)
    assert table["benchmark"].tolist() == [loaded.identifier] and np.isfinite(table["raw"]).all()


def test_the_file_pins_its_data(images, tmp_path):
    np.save(tmp_path / "resp.npy", np.ones((12, 2)))
    first = load_benchmark_file(write_benchmark_file(tmp_path / "a.toml", images, tmp_path / "resp.npy"))
    again = load_benchmark_file(tmp_path / "a.toml")
    assert first.identifier == again.identifier and first.identifier.startswith("a-")
    other = load_benchmark_file(write_benchmark_file(tmp_path / "a.toml", images, tmp_path / "resp.npy",
                                                     options={"alphas": [1.0]}))
    assert other.identifier != first.identifier
    np.save(tmp_path / "resp.npy", np.zeros((12, 2)))
    with pytest.raises(InvalidInputError, match=r"responses resp.npy changed"):
        get_benchmark(str(tmp_path / "a.toml"))
    (images / "img0.png").unlink()
    with pytest.raises(InvalidInputError, match="stimuli .* changed"):
        get_benchmark(str(tmp_path / "a.toml"))


def test_rdm_stacks_and_labelled_netcdf(images, tmp_path):
    rng = np.random.default_rng(2)
    square = np.stack([np.abs(x - x.T) for x in rng.normal(size=(3, 12, 12))])
    np.savez(tmp_path / "rdms.npz", rdms=square)
    rsa = load_benchmark_file(write_benchmark_file(tmp_path / "r.toml", images, tmp_path / "rdms.npz", metric="rsa"))
    np.testing.assert_allclose(rsa.target_data().square(), square)
    ids = [f"n/img{i}" for i in reversed(range(12))]  # another order than the folder's: reordered by id
    values = rng.normal(size=(12, 4))
    make_responses(values, ids, neuroid_coords={"region": ["V1", "V1", "V4", "V4"]}).to_netcdf(tmp_path / "r.nc")
    nc = load_benchmark_file(write_benchmark_file(tmp_path / "n.toml", images, tmp_path / "r.nc", region="V4"))
    np.testing.assert_array_equal(nc.target_data().values, values[::-1, 2:])
    with pytest.raises(UnknownNameError, match="unknown region .IT.; valid: V1, V4"):
        write_benchmark_file(tmp_path / "bad.toml", images, tmp_path / "r.nc", region="IT", name="n")
    assert not (tmp_path / "bad.toml").exists()


def test_texts_and_videos_as_benchmark_stimuli(tmp_path):
    rng = np.random.default_rng(3)
    (tmp_path / "sentences.txt").write_text("\n".join(f"sentence {i}" for i in range(6)) + "\n")
    np.save(tmp_path / "resp.npy", rng.normal(size=(6, 3)))
    texts = load_benchmark_file(write_benchmark_file(tmp_path / "t.toml", tmp_path / "sentences.txt",
                                                     tmp_path / "resp.npy", region="LANG"))
    assert texts.stimulus_set().modality == "text" and texts.stimulus_set().texts[5] == "sentence 5"
    (tmp_path / "sentences.txt").write_text("other\n" * 6)
    with pytest.raises(InvalidInputError, match=r"stimuli sentences.txt changed"):
        load_benchmark_file(tmp_path / "t.toml")
    clips = tmp_path / "clips"
    clips.mkdir()
    for i in range(6):
        (clips / f"c{i}.mp4").write_bytes(bytes([i]))
    videos = load_benchmark_file(write_benchmark_file(tmp_path / "v.toml", clips, tmp_path / "resp.npy"))
    assert videos.stimulus_set().modality == "video" and len(videos.stimulus_set()) == 6
    with pytest.raises(InvalidInputError, match="must be a folder of image or video files"):
        write_benchmark_file(tmp_path / "x.toml", tmp_path / "resp.npy", tmp_path / "resp.npy")
