"""thingsvision feature folders (written here in its layouts) read as `Features`."""

import h5py
import numpy as np
import pytest
import scipy.io

from brainalign.core.errors import InvalidInputError
from brainalign.data.interop.thingsvision import read_thingsvision_features

NAMES = ["img1.jpg", "img2.jpg", "img10.jpg", "img3.jpg"]
VALUES = np.random.default_rng(0).normal(size=(4, 6))


def _write(folder, fmt):
    folder.mkdir()
    (folder / "file_names.txt").write_text("\n".join(NAMES) + "\n")
    if fmt == "npy":
        np.save(folder / "features.npy", VALUES)
    elif fmt == "txt":
        np.savetxt(folder / "features.txt", VALUES)
    elif fmt == "hdf5":
        with h5py.File(folder / "features.hdf5", "w") as h5:
            h5.create_dataset("features", data=VALUES)
    elif fmt == "mat-per-image":
        per_image = {name.removesuffix(".jpg"): row for name, row in zip(NAMES, VALUES, strict=True)}
        scipy.io.savemat(folder / "features.mat", per_image)
    elif fmt == "npy-splits":
        np.save(folder / "features_01.npy", VALUES[:3])
        np.save(folder / "features_02.npy", VALUES[3:])
    elif fmt == "hdf5-splits":
        with h5py.File(folder / "features.hdf5", "w") as h5:
            h5.create_dataset("features_01", data=VALUES[:2])
            h5.create_dataset("features_02", data=VALUES[2:])
    return folder


@pytest.mark.parametrize("fmt", ["npy", "txt", "hdf5", "mat-per-image", "npy-splits", "hdf5-splits"])
def test_every_layout_reads_the_same_features(tmp_path, fmt):
    features = read_thingsvision_features(_write(tmp_path / fmt, fmt), identifier="things", layer="fc", model="m")
    np.testing.assert_allclose(features.values, VALUES)  # savetxt keeps 18 significant digits
    assert list(features["stimulus_id"].values) == ["things/img1", "things/img2", "things/img10", "things/img3"]
    assert features.dims == ("stimulus", "unit") and features.attrs == {"layer": "fc", "model": "m"}


def test_conv_features_are_flattened_and_ids_can_be_given(tmp_path):
    tmp_path.joinpath("conv").mkdir()
    np.save(tmp_path / "conv" / "features.npy", np.arange(48.0).reshape(4, 3, 2, 2))
    features = read_thingsvision_features(tmp_path / "conv", ["a", "b", "c", "d"])
    assert features.shape == (4, 12) and features.values[1, 0] == 12.0


def test_errors_name_the_problem(tmp_path):
    folder = _write(tmp_path / "npy", "npy")
    with pytest.raises(InvalidInputError, match="4 feature rows .* but 3 stimulus ids"):
        read_thingsvision_features(folder, ["a", "b", "c"])
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "features.pt").write_bytes(b"")
    with pytest.raises(InvalidInputError, match=r"no thingsvision features .*found \['features.pt'\]"):
        read_thingsvision_features(tmp_path / "empty")


@pytest.mark.parametrize("fmt", ["npy", "txt", "hdf5"])
def test_written_features_read_back(tmp_path, fmt):
    from brainalign.core.labels import make_features
    from brainalign.data.interop.thingsvision import write_thingsvision_features

    features = make_features(VALUES, ["set/a", "set/b", "set/c", "set/d"], layer="fc")
    path = write_thingsvision_features(features, tmp_path / fmt, fmt)
    assert path.name == f"features.{fmt}" and (tmp_path / fmt / "file_names.txt").read_text().split() == [
        "set/a", "set/b", "set/c", "set/d"]
    back = read_thingsvision_features(tmp_path / fmt, layer="fc")
    np.testing.assert_allclose(back.values, VALUES)
    assert back["stimulus_id"].values.tolist() == features["stimulus_id"].values.tolist()
