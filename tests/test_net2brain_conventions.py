"""Net2Brain's conventions reproduced to Net2Brain's own outputs, and its files read as brainalign objects.

Ground truth: ``net2brain_tests/case{1,2}/rsa/results.csv`` are Net2Brain's RSA results (R2, %R2, R2_array,
Significance, SEM, LNC, UNC per ROI × layer) for the model RDMs in ``case*/rdm`` against the brain RDMs of
``net2brain78/fmri_{IT,EVC}_RDMs.npz``. Every column must match to 1e-6 (relative) under the default context.
"""

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import squareform

from brainalign.core.errors import InvalidInputError
from brainalign.data.interop.net2brain import read_feature_folder, read_rdm_file, read_rdm_folder
from brainalign.data.rdm import RDM
from brainalign.metrics.similarity.rdms import compute_rdm
from brainalign.metrics.similarity.rsa import rsa

CASES = {"case1": ["layer3.1.conv2", "layer4.1.bn2"], "case2": ["visual.layer4"]}


def _expected_rows(shared_data):
    rows = []
    for case, layers in CASES.items():
        table = pd.read_csv(shared_data / "net2brain_tests" / case / "rsa" / "results.csv")
        for _, row in table.iterrows():
            roi = "IT" if "IT" in row.ROI else "EVC"
            layer = row.Layer.split(") ", 1)[1][: -len(".npz")]
            assert layer in layers
            rows.append((case, roi, layer, row))
    return rows


@pytest.fixture(scope="module")
def brains(shared_data):
    return {roi: read_rdm_file(shared_data / "net2brain78" / f"fmri_{roi}_RDMs.npz") for roi in ("IT", "EVC")}


def test_rsa_reproduces_net2brain_results(shared_data, brains):
    rows = _expected_rows(shared_data)
    assert len(rows) == 6  # 2 ROIs × (2 + 1) layers
    for case, roi, layer, expected in rows:
        models = read_rdm_folder(shared_data / "net2brain_tests" / case / "rdm")
        model = models.select(models.descriptors["layer"] == layer)
        score = rsa(model, brains[roi], convention="net2brain")  # the default (float32) compute context
        r2_array = np.array(expected.R2_array.strip("[]").split(), dtype=float)
        got = {"R2": score.raw, "%R2": score.value, "Significance": score.extra["significance"], "SEM": score.error,
               "LNC": score.ceiling, "UNC": score.extra["ceiling_upper"]}
        for column, value in got.items():
            assert value == pytest.approx(expected[column], rel=1e-6, abs=1e-15), (case, roi, layer, column)
        np.testing.assert_allclose(score.per_split, r2_array, rtol=1e-6, atol=1e-15)
        assert score.extra["units"] == "% of LNC" and score.provenance["layer"] == layer


def test_rdm_folder_and_file_hold_the_files_values(shared_data):
    folder = shared_data / "net2brain_tests" / "case1" / "rdm"
    models = read_rdm_folder(folder, [f"img{i}" for i in range(78)])
    assert models.descriptors["layer"].tolist() == ["layer3.1.conv2", "layer4.1.bn2"]
    assert models.stimulus_ids[:2] == ["img0", "img1"]
    for row, layer in enumerate(models.descriptors["layer"]):
        square = np.load(folder / f"{layer}.npz")["arr_0"]
        np.testing.assert_array_equal(models.condensed[row], squareform(square, force="tovector", checks=False))
    brain = read_rdm_file(shared_data / "net2brain78" / "fmri_IT_RDMs.npz")
    square = np.load(shared_data / "net2brain78" / "fmri_IT_RDMs.npz")["arr_0"]
    assert brain.n_rdms == 15 and brain.descriptors["subject"].tolist() == list(range(15))
    np.testing.assert_array_equal(brain.condensed[4], squareform(square[4], force="tovector", checks=False))
    with pytest.raises(InvalidInputError, match="78 stimuli; 3 stimulus ids"):
        read_rdm_folder(folder, ["a", "b", "c"])
    with pytest.raises(InvalidInputError, match="holds 15 RDMs"):
        read_rdm_folder(shared_data / "net2brain78")


def test_feature_folder_miniature(tmp_path):
    rng = np.random.default_rng(0)
    conv, fc = rng.normal(size=(5, 1, 2, 3, 3)), rng.normal(size=(5, 1, 7))
    names = [f"image_{i:02d}" for i in (3, 1, 4, 2, 5)]  # written out of order
    for name, c, f in zip(names, conv, fc, strict=True):
        np.savez(tmp_path / f"{name}.npz", **{"layer1.conv": c, "fc": f})
    features = read_feature_folder(tmp_path, model="toy", progress=False)
    order = np.argsort(names)
    assert list(features) == ["layer1.conv", "fc"]
    assert features["fc"].stimulus_id.values.tolist() == sorted(names)
    np.testing.assert_array_equal(features["layer1.conv"].values, conv[order].reshape(5, -1))
    np.testing.assert_array_equal(features["fc"].values, fc[order].reshape(5, -1))
    assert features["fc"].attrs == {"layer": "fc", "model": "toy"}
    only = read_feature_folder(tmp_path, ["fc"], progress=False)
    assert list(only) == ["fc"]
    with pytest.raises(InvalidInputError, match="no layer"):
        read_feature_folder(tmp_path, ["fc", "layer9"], progress=False)
    with pytest.raises(InvalidInputError, match="is not a folder"):
        read_feature_folder(tmp_path / "elsewhere", progress=False)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidInputError, match="no .npz files"):
        read_feature_folder(tmp_path / "empty", progress=False)


def test_features_to_net2brain_rsa_matches_precomputed_rdm(tmp_path):
    """The same score whether the model comes as a feature folder or as the RDM computed from it."""
    rng = np.random.default_rng(1)
    latent = rng.normal(size=(12, 4))
    for i, row in enumerate(latent @ rng.normal(size=(4, 20))):
        np.savez(tmp_path / f"s{i:02d}.npz", fc=row)
    features = read_feature_folder(tmp_path, progress=False)["fc"]
    ids = features.stimulus_id.values.tolist()
    brains = RDM(np.stack([compute_rdm(latent @ rng.normal(size=(4, 30)) + rng.normal(size=(12, 30)), ids)
                           .condensed[0] for _ in range(5)]), ids)
    from_features = rsa(features, brains, convention="net2brain")
    from_rdm = rsa(compute_rdm(features), brains, convention="net2brain")
    assert from_features.value == pytest.approx(from_rdm.value, rel=1e-12)
