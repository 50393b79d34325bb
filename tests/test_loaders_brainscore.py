"""Brain-Score / BrainIO files: netCDF assemblies ↔ Responses (round trips, a miniature written the way BrainIO
writes its files), the real Brain-Score files in ../shared/data, stimulus set CSV + ZIP, SHA-1 fetching, and the
MajajHong2015 / FreemanZiemba2013 loaders and benchmarks on generated miniatures."""

from __future__ import annotations

import hashlib
import io
import zipfile

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from PIL import Image

from brainalign.benchmarks.benchmark import _load_target
from brainalign.benchmarks.registry import get_benchmark
from brainalign.core.errors import InvalidInputError, OfflineError
from brainalign.core.labels import make_features, make_responses
from brainalign.data.datasets.brainio import FreemanZiemba2013, MajajHong2015, MajajHong2015Temporal
from brainalign.data.fetch import ChecksumError, RemoteFile
from brainalign.data.interop.brainscore import (
    assembly_to_responses,
    read_assembly,
    read_responses,
    read_stimulus_set,
    write_responses,
    write_stimulus_set,
)
from brainalign.data.stimuli import StimulusSet
from brainalign.metrics.encoding.variants import cross_regressed_correlation
from brainalign.metrics.registry import get_metric

DIMS3 = ("stimulus", "neuroid", "repetition")


def _responses(time: bool = False, seed: int = 0) -> xr.DataArray:
    rng = np.random.default_rng(seed)
    values = rng.normal(size=(5, 3, 4, 2) if time else (5, 3, 4)).astype(np.float32)
    values[1, :, 3] = np.nan  # stimulus 1 lacks its last repetition
    values[2, :, 1] = np.nan  # stimulus 2 lacks a middle one
    responses = make_responses(values, [f"im{i}" for i in range(5)], dims=DIMS3 + (("time",) if time else ()),
                               neuroid_coords={"neuroid_id": ["n0", "n1", "n2"], "region": ["V4", "V4", "IT"]},
                               attrs={"dataset": "demo"})
    responses = responses.assign_coords(object_name=("stimulus", ["car", "car", "dog", "dog", "cow"]))
    if time:
        responses = responses.assign_coords(time_bin_start=("time", [70, 170]), time_bin_end=("time", [170, 270]))
    return responses


@pytest.mark.parametrize("kind", ["averaged", "repetitions", "time"])
def test_responses_round_trip_through_brainscore_netcdf(tmp_path, kind):
    responses = _responses(time=kind == "time")
    if kind == "averaged":
        responses = responses.mean("repetition", keep_attrs=True)
    path = write_responses(responses, tmp_path / "assy.nc", "demo.Assy", "demo.stimuli")
    back = read_responses(path)
    assert back.identical(responses.assign_attrs(identifier="demo.Assy", stimulus_set_identifier="demo.stimuli"))
    # Brain-Score's view of the same file: one presentation per non-empty trial, indexed by (stimulus_id, repetition)
    assembly = xr.open_dataarray(path, engine="h5netcdf").load()
    expected_trials = {"averaged": 5, "repetitions": 18, "time": 18}[kind]
    assert assembly.sizes["presentation"] == expected_trials
    if kind != "averaged":
        indexed = assembly.set_index(presentation=["stimulus_id", "repetition"])
        trial = indexed.sel(presentation=("im2", 2)).transpose("neuroid", ...).values
        np.testing.assert_array_equal(trial, responses.sel(repetition=2).isel(stimulus=2).values)


def _brainio_miniature(path, n_time_bins: int = 1, n_stimuli: int = 8, seed: int = 0):
    """A neural assembly built and written the way BrainIO does: multi-indexed dims, reset to plain coordinates,
    netCDF-4 with the identifier attributes; trials in a shuffled order, one trial missing. Returns the expected
    stimulus × neuroid × repetition (× time) values, computed by direct loops."""
    rng = np.random.default_rng(seed)
    stimuli, n_reps, n_neuroids = [f"{h:040x}" for h in rng.integers(0, 2**62, size=n_stimuli)], 3, 5
    trials = [(s, r) for s in stimuli for r in range(n_reps)][:-1]  # the last stimulus misses one repetition
    trials = [trials[i] for i in rng.permutation(len(trials))]
    values = rng.normal(size=(n_neuroids, len(trials), n_time_bins))
    presentation = pd.MultiIndex.from_arrays(
        [[s for s, _ in trials], [r for _, r in trials], ["obj" + str(stimuli.index(s) % 2) for s, _ in trials]],
        names=["stimulus_id", "repetition", "object_name"])
    neuroid = pd.MultiIndex.from_arrays([[f"site{j}" for j in range(n_neuroids)], ["V4", "V4", "IT", "IT", "IT"],
                                         ["Chabo"] * n_neuroids], names=["neuroid_id", "region", "animal"])
    time_bin = pd.MultiIndex.from_arrays([70 + 10 * np.arange(n_time_bins), 80 + 10 * np.arange(n_time_bins)],
                                         names=["time_bin_start", "time_bin_end"])
    if n_time_bins == 1:
        time_bin = pd.MultiIndex.from_arrays([[70], [170]], names=["time_bin_start", "time_bin_end"])
    coords = xr.Coordinates.from_pandas_multiindex(presentation, "presentation").merge(
        xr.Coordinates.from_pandas_multiindex(neuroid, "neuroid")).merge(
        xr.Coordinates.from_pandas_multiindex(time_bin, "time_bin")).coords
    assembly = xr.DataArray(values, dims=("neuroid", "presentation", "time_bin"), coords=coords,
                            name="dicarlo.Mini")
    assembly = assembly.reset_index(["presentation", "neuroid", "time_bin"])
    assembly.attrs.update(identifier="dicarlo.Mini", stimulus_set_identifier="dicarlo.mini")
    assembly.to_netcdf(path, engine="h5netcdf")
    expected = np.full((len(stimuli), n_neuroids, n_reps, n_time_bins), np.nan)
    for column, (s, r) in enumerate(trials):
        expected[stimuli.index(s), :, r] = values[:, column]
    order = list(dict.fromkeys(s for s, _ in trials))
    return expected[[stimuli.index(s) for s in order]], order


def test_a_brainio_assembly_becomes_stimulus_by_neuroid_by_repetition(tmp_path):
    expected, order = _brainio_miniature(tmp_path / "mini.nc", n_time_bins=3)
    responses = read_responses(tmp_path / "mini.nc")
    assert responses.dims == ("stimulus", "neuroid", "repetition", "time")
    assert responses["stimulus_id"].values.tolist() == order
    np.testing.assert_array_equal(responses.values, expected)
    assert responses["region"].values.tolist() == ["V4", "V4", "IT", "IT", "IT"]
    assert responses["time_bin_start"].values.tolist() == [70, 80, 90]
    assert set(responses["object_name"].values) == {"obj0", "obj1"}  # constant per stimulus: kept as its label
    assert responses.attrs["stimulus_set_identifier"] == "dicarlo.mini"


def test_real_brainscore_netcdf_files_are_read(shared_data):
    assembly = read_assembly(shared_data / "marques2020" / "assy_movshon_FreemanZiemba2013_V1_properties.nc")
    assert assembly.name == "movshon.FreemanZiemba2013_V1_properties"
    assert assembly.sizes == {"neuroid": 102, "neuronal_property": 9}
    assert set(assembly["region"].values) == {"V1"}
    with pytest.raises(InvalidInputError, match=r"dims \('presentation', 'neuroid'.*got \('neuroid', 'neuronal_pro"):
        assembly_to_responses(assembly)


@pytest.mark.slow
def test_a_real_cowley_session_round_trips_through_brainio_files(shared_data, tmp_path):
    """Session 210305 (400 images, 70 neurons): stimuli and responses → BrainIO CSV + ZIP + netCDF → back."""
    from brainalign.data.datasets.cowley2023 import Cowley2023

    dataset = Cowley2023()
    stimuli, responses = dataset.stimulus_set(session="210305"), dataset.responses("V4", session="210305")
    csv, archive = write_stimulus_set(stimuli, tmp_path / "stimuli.csv", tmp_path / "stimuli.zip")
    assembly = write_responses(responses, tmp_path / "assy.nc", "cowley.Cowley2023_210305", "cowley.210305")
    back = read_stimulus_set(csv, archive, stimuli.identifier, tmp_path / "images")
    assert back.stimulus_ids == stimuli.stimulus_ids
    columns = list(stimuli.metadata.columns)  # CSV values come back typed by pandas: compare them as text
    pd.testing.assert_frame_equal(back.metadata[columns].astype(str), stimuli.metadata.astype(str))
    assert all(a.read_bytes() == b.read_bytes() for a, b in zip(back.paths, stimuli.paths, strict=True))
    again = read_responses(assembly)
    assert again.drop_attrs().identical(responses.drop_attrs())
    with pytest.raises(InvalidInputError, match=r"rename \['Bad Name'\]"):
        bad = StimulusSet("x", ["a"], paths=stimuli.paths[:1], metadata=pd.DataFrame({"Bad Name": [1]}))
        write_stimulus_set(bad, tmp_path / "x.csv", tmp_path / "x.zip")


def _write_stimuli(folder, ids, filename_of):
    images = {}
    with zipfile.ZipFile(folder / "stimuli.zip", "w") as zf:
        for i, s in enumerate(ids):
            buffer = io.BytesIO()
            Image.new("RGB", (8, 8), (i * 4, 0, 0)).save(buffer, format="PNG")
            zf.writestr(filename_of(s), buffer.getvalue())
            images[s] = i * 4
    pd.DataFrame({"stimulus_id": ids[::-1], "filename": [filename_of(s) for s in ids[::-1]],
                  "object_name": [f"o{i}" for i in range(len(ids))]}).to_csv(folder / "stimuli.csv", index=False)
    return images


def _sha1(path) -> str:
    return hashlib.sha1(path.read_bytes()).hexdigest()


@pytest.fixture
def majaj_miniature(tmp_path, monkeypatch, private_cache):
    """A mirror holding a MajajHong2015 miniature under the real file names; the loader's checksums point at it."""
    folder = tmp_path / "mirror" / "majajhong2015"
    folder.mkdir(parents=True)
    expected, order = _brainio_miniature(folder / MajajHong2015.assembly, n_stimuli=60)
    images = _write_stimuli(folder, order, lambda s: f"{s}.png")
    (folder / "stimuli.csv").rename(folder / MajajHong2015.stimuli_csv)
    (folder / "stimuli.zip").rename(folder / MajajHong2015.stimuli_zip)
    files = tuple(RemoteFile(f.path, "http://127.0.0.1:9/" + f.path, sha1=_sha1(folder / f.path))
                  for f in MajajHong2015.files)
    monkeypatch.setattr(MajajHong2015, "files", files)
    monkeypatch.setenv("BRAINALIGN_MIRROR", str(tmp_path / "mirror"))
    _load_target.cache_clear()
    yield folder, expected, order, images
    _load_target.cache_clear()


def test_majajhong_loader_reads_the_brainio_layout(majaj_miniature):
    _, expected, order, images = majaj_miniature
    dataset = MajajHong2015()
    v4 = dataset.responses("V4")
    assert v4.dims == DIMS3 and v4["stimulus_id"].values.tolist() == order
    np.testing.assert_allclose(v4.values, expected[:, :2, :, 0])
    assert dataset.responses("IT").sizes["neuroid"] == 3
    stimuli = dataset.stimulus_set()
    assert stimuli.stimulus_ids == order
    assert [stimuli.load_image(i).getpixel((0, 0))[0] for i in range(len(order))] == [images[s] for s in order]
    assert dataset.info()["visual_degrees"] == 8.0


def test_majajhong_names_a_corrupt_assembly_and_where_a_missing_one_goes(majaj_miniature, monkeypatch):
    folder, *_ = majaj_miniature
    (folder / MajajHong2015.assembly).write_bytes(b"truncated")
    with pytest.warns(UserWarning, match="checksum mismatch"), \
            pytest.raises(ChecksumError, match=rf"{MajajHong2015.assembly}.*expected sha1"):
        MajajHong2015().responses("V4")
    (folder / MajajHong2015.assembly).unlink()
    with pytest.raises(OfflineError, match=rf"http://127.0.0.1:9/{MajajHong2015.assembly}.*put it at "
                                           rf".*majajhong2015/{MajajHong2015.assembly}"):
        MajajHong2015().responses("V4")


@pytest.mark.slow
def test_majajhong_benchmark_is_brainscores_protocol(majaj_miniature):
    _, expected, order, _ = majaj_miniature
    benchmark = get_benchmark("MajajHong2015.IT-pls")
    rng = np.random.default_rng(1)
    # features: a full-rank linear map of the trial-averaged responses, so held-out prediction is exact (r = 1)
    features = make_features(np.nanmean(expected[:, :, :, 0], axis=2) @ rng.normal(size=(5, 30)), order)
    score = benchmark(features)
    direct = cross_regressed_correlation(features, MajajHong2015().responses("IT"), regression="pls",
                                         ceiling="internal-consistency", stratify_coord="object_name")
    assert score.raw > 0.99 and score.value == 1.0  # clip((r / ceiling)², 0, 1) with r = 1 > ceiling
    assert (score.raw, score.ceiling) == (direct.raw, direct.ceiling)
    assert score.provenance["benchmark"] == "MajajHong2015.IT-pls"


def test_majajhong_temporal_benchmark_scores_each_time_bin(tmp_path, monkeypatch, private_cache):
    folder = tmp_path / "mirror" / "majajhong2015"
    folder.mkdir(parents=True)
    expected, order = _brainio_miniature(folder / MajajHong2015Temporal.assembly, n_time_bins=3, n_stimuli=40)
    _write_stimuli(folder, order, lambda s: f"{s}.png")
    files = tuple(RemoteFile(f.path, f.url, sha1=_sha1(folder / f.path)) for f in MajajHong2015Temporal.files
                  if f.path == MajajHong2015Temporal.assembly)
    monkeypatch.setattr(MajajHong2015Temporal, "files", files)
    monkeypatch.setenv("BRAINALIGN_MIRROR", str(tmp_path / "mirror"))
    _load_target.cache_clear()
    rng = np.random.default_rng(2)
    # features carry the IT rates of the middle time bin only
    features = make_features(np.nanmean(expected[:, 2:, :, 1], axis=2) @ rng.normal(size=(3, 8)), order)
    score = get_benchmark("MajajHong2015.IT-ridge-time")(features)
    responses = MajajHong2015Temporal().responses("IT").mean("repetition")
    assert responses.dims == ("stimulus", "neuroid", "time")
    direct = [get_metric("ridge")(features, responses.isel(time=t)).value for t in range(3)]
    np.testing.assert_allclose(score.extra["time_course"], direct)
    assert score.extra["peak_time"] == 80 and score.value > 0.9 > 0.3 > max(direct[0], direct[2])
    _load_target.cache_clear()


def test_brainio_datasets_describe_their_sources():
    for dataset, regions in ((MajajHong2015, ("V4", "IT")), (FreemanZiemba2013, ("V1", "V2"))):
        assert dataset.regions == regions
        assert all(f.url.startswith("https://brainio.") and len(f.sha1) == 40 for f in dataset.files)
        for region in regions:
            assert get_benchmark(f"{dataset.identifier}.{region}-pls").dataset == dataset.identifier
