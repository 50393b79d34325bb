"""RDMs: every distance against scipy's pdist / rsatoolbox's calc_rdm on identical float64 inputs."""

import numpy as np
import pytest
import rsatoolbox
import torch
from rsatoolbox.data.noise import prec_from_residuals
from scipy.spatial.distance import pdist

from brainalign.core.config import config_context
from brainalign.core.errors import InvalidInputError, UnknownNameError
from brainalign.core.labels import make_features, make_responses
from brainalign.metrics.similarity.rdms import compute_rdm, shrinkage_precision

RNG = np.random.default_rng(0)
IDS = [f"s{i:02d}" for i in range(23)]
SCIPY_NAME = {"manhattan": "cityblock"}
X = RNG.normal(size=(23, 17))


@pytest.fixture(autouse=True)
def _float64():
    """References are float64; compute in float64 (the context's default is float32)."""
    with config_context(dtype="float64"):
        yield


@pytest.mark.parametrize("distance", ["correlation", "cosine", "euclidean", "sqeuclidean", "manhattan"])
def test_distances_match_pdist(distance):
    rdm = compute_rdm(X, IDS, distance)
    np.testing.assert_allclose(rdm.condensed[0], pdist(X, SCIPY_NAME.get(distance, distance)), rtol=0, atol=1e-10)
    assert rdm.distance == distance and rdm.stimulus_ids == IDS


@pytest.mark.parametrize("distance", ["correlation", "euclidean", "manhattan"])
def test_blocks_sized_by_working_memory_match_pdist(distance):
    many = RNG.normal(size=(300, 17))  # 1 MiB holds ~100 of its rows (~7 for manhattan): several blocks
    with config_context(working_memory=1):
        rdm = compute_rdm(many, [str(i) for i in range(300)], distance)
    np.testing.assert_allclose(rdm.condensed[0], pdist(many, SCIPY_NAME.get(distance, distance)), rtol=0, atol=1e-10)


def test_callable_distance_goes_to_pdist():
    def chebyshev(u, v):
        return float(np.abs(u - v).max())

    rdm = compute_rdm(X, IDS, chebyshev)
    np.testing.assert_allclose(rdm.condensed[0], pdist(X, "chebyshev"), atol=1e-12)
    assert rdm.distance == "chebyshev"


def _rsa_dataset(values, runs=None):
    obs = {"stim": np.repeat(IDS, 1 if runs is None else runs)} if runs else {"stim": np.array(IDS)}
    if runs:
        obs["run"] = np.tile(np.arange(runs), len(IDS))
    return rsatoolbox.data.Dataset(values, obs_descriptors=obs)


def test_mahalanobis_matches_rsatoolbox_and_pdist():
    a = RNG.normal(size=(17, 17))
    precision = a @ a.T / 17 + np.eye(17)
    rdm = compute_rdm(X, IDS, "mahalanobis", precision=precision)
    reference = rsatoolbox.rdm.calc_rdm(_rsa_dataset(X), method="mahalanobis", descriptor="stim", noise=precision)
    np.testing.assert_allclose(rdm.condensed, reference.get_vectors(), atol=1e-10)
    np.testing.assert_allclose(np.sqrt(rdm.condensed[0] * 17), pdist(X, "mahalanobis", VI=precision), atol=1e-10)


@pytest.mark.parametrize("precision", ["identity", "given", "shrinkage"])
def test_crossnobis_matches_rsatoolbox(precision):
    runs = RNG.normal(size=(23, 17, 4)) + X[:, :, None]
    flat = runs.transpose(0, 2, 1).reshape(-1, 17)  # observations ordered stimulus-major, run-minor
    residuals = (runs - runs.mean(2, keepdims=True)).transpose(0, 2, 1).reshape(-1, 17)
    noise = {"identity": None, "given": np.diag(np.linspace(0.5, 2, 17)),
             "shrinkage": prec_from_residuals(residuals, dof=23 * 3, method="shrinkage_eye")}[precision]
    ours = compute_rdm(runs, IDS, "crossnobis",
                       precision=precision if precision != "given" else noise)
    reference = rsatoolbox.rdm.calc_rdm(_rsa_dataset(flat, runs=4), method="crossnobis", descriptor="stim",
                                        cv_descriptor="run", noise=noise)
    np.testing.assert_allclose(ours.condensed, reference.get_vectors(), atol=1e-10)


def test_shrinkage_precision_matches_rsatoolbox():
    residuals = RNG.normal(size=(60, 8)) @ RNG.normal(size=(8, 8))
    np.testing.assert_allclose(shrinkage_precision(residuals, dof=50),
                               prec_from_residuals(residuals, dof=50, method="shrinkage_eye"), rtol=1e-10)


def test_time_resolved_rdms_match_rsatoolbox_movie():
    data = RNG.normal(size=(23, 17, 5))
    responses = make_responses(data, IDS, dims=("stimulus", "neuroid", "time"))
    responses = responses.assign_coords(time=[0, 10, 20, 30, 40])
    rdm = compute_rdm(responses, distance="euclidean")
    assert rdm.descriptors["time"].tolist() == [0, 10, 20, 30, 40]
    for t in range(5):
        np.testing.assert_allclose(rdm.condensed[t], pdist(data[:, :, t]), atol=1e-10)
    dataset = rsatoolbox.data.TemporalDataset(data, obs_descriptors={"stim": np.array(IDS)},
                                              time_descriptors={"time": np.arange(5)})
    movie = rsatoolbox.rdm.calc_rdm_movie(dataset, method="correlation", descriptor="stim")
    ours = compute_rdm(data, IDS, "correlation")
    np.testing.assert_allclose(ours.condensed, movie.get_vectors(), atol=1e-10)


def test_labelled_features_torch_and_float32():
    features = make_features(X, IDS, layer="fc")
    with config_context(backend="torch", dtype="float32"):
        ours = compute_rdm(features)
    assert ours.condensed.dtype == np.float32
    np.testing.assert_allclose(ours.condensed[0], pdist(X, "correlation"), atol=1e-5)
    on_torch64 = compute_rdm(torch.as_tensor(X), IDS, "sqeuclidean")  # torch input: computed by torch
    np.testing.assert_allclose(on_torch64.condensed[0], pdist(X, "sqeuclidean"), atol=1e-10)


def test_repetitions_are_averaged_except_for_crossnobis():
    reps = RNG.normal(size=(23, 17, 3))
    responses = make_responses(reps, IDS, dims=("stimulus", "neuroid", "repetition"))
    np.testing.assert_allclose(compute_rdm(responses).condensed[0],
                               pdist(reps.mean(2), "correlation"), atol=1e-10)
    assert compute_rdm(responses, distance="crossnobis").n_rdms == 1


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(UnknownNameError, match="valid: correlation"):
        compute_rdm(X, IDS, "corelation")
    with pytest.raises(InvalidInputError, match="stimulus ids"):
        compute_rdm(X, IDS[:-1])
    bad = X.copy()
    bad[3, 2] = np.nan
    with pytest.raises(InvalidInputError, match="NaN"):
        compute_rdm(bad, IDS)
    with pytest.raises(InvalidInputError, match="crossnobis needs repeated"):
        compute_rdm(X, IDS, "crossnobis")
    with pytest.raises(InvalidInputError, match="precision must have shape"):
        compute_rdm(X, IDS, "mahalanobis", precision=np.eye(3))
