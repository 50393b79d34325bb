"""Searchlight RSA: a planted informative sphere is found; local values equal scipy pdist + spearmanr."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest
from scipy.spatial.distance import pdist
from scipy.stats import spearmanr

from brainalign.core.config import config_context
from brainalign.core.errors import InvalidInputError
from brainalign.data.rdm import RDM
from brainalign.metrics.similarity.searchlight import (
    searchlight_rsa,
    searchlight_rsa_nifti,
    sphere_members,
    sphere_offsets,
)

SHAPE, CENTRE, PLANTED_RADIUS = (10, 10, 10), np.array([3, 6, 5]), 2.0


@pytest.fixture(scope="module")
def planted():
    """Noise everywhere, except a sphere whose voxels mix the latent features the model RDM is built from."""
    rng = np.random.default_rng(0)
    n_stimuli = 24
    latent = rng.normal(size=(n_stimuli, 6))
    volumes = rng.normal(size=(*SHAPE, n_stimuli))
    grid = np.argwhere(np.ones(SHAPE, bool))
    informative = grid[((grid - CENTRE) ** 2).sum(1) <= PLANTED_RADIUS**2]
    for voxel in informative:
        volumes[tuple(voxel)] = latent @ rng.normal(size=6) + 0.3 * rng.normal(size=n_stimuli)
    ids = [f"s{i}" for i in range(n_stimuli)]
    model = RDM(pdist(latent, "correlation"), ids, "correlation")
    return volumes, ids, model


def reference_value(volumes, mask, centre, radius, model):
    """RDM of the in-mask sphere voxels with scipy's pdist, compared with Spearman's rho from scipy."""
    grid = np.argwhere(mask)
    members = grid[((grid - centre) ** 2).sum(1) <= radius**2]
    patterns = volumes[members[:, 0], members[:, 1], members[:, 2]].T
    return spearmanr(pdist(patterns, "correlation"), model.condensed[0])[0]


def test_sphere_offsets_count_voxels_within_radius():
    assert [len(sphere_offsets(r)) for r in (0, 1, 1.5, 2, 3)] == [1, 7, 19, 33, 123]


def test_sphere_members_are_clipped_to_the_mask():
    mask = np.zeros((5, 5, 5), bool)
    mask[1:4, 1:4, 2] = True  # a 3 × 3 slab
    members = sphere_members(mask, radius=1)
    assert members.shape == (9, 7)
    assert sorted((members >= 0).sum(1).tolist()) == [3, 3, 3, 3, 4, 4, 4, 4, 5]


def test_map_peaks_at_the_planted_sphere(planted):
    volumes, ids, model = planted
    with config_context(dtype="float64"):
        rsa_map = searchlight_rsa(volumes, ids, model, radius=2)
    peak = np.array(np.unravel_index(np.nanargmax(rsa_map), SHAPE))
    assert np.linalg.norm(peak - CENTRE) <= 1.0
    assert rsa_map[tuple(CENTRE)] > 0.6
    grid = np.argwhere(np.ones(SHAPE, bool))
    far = ((grid - CENTRE) ** 2).sum(1) > (2 * PLANTED_RADIUS + 1) ** 2
    assert np.abs(rsa_map.reshape(-1)[far]).mean() < 0.1


def test_values_equal_scipy_reference_with_a_clipping_mask(planted):
    volumes, ids, model = planted
    mask = np.zeros(SHAPE, bool)
    mask[1:8, 3:9, 2:8] = True
    with config_context(dtype="float64", working_memory=1):  # 1 MiB: ~15 centres per batch
        rsa_map = searchlight_rsa(volumes, ids, model, mask=mask, radius=2)
    assert np.isnan(rsa_map[~mask]).all() and not np.isnan(rsa_map[mask]).any()
    for centre in ([3, 6, 5], [1, 3, 2], [7, 8, 7], [4, 4, 4]):  # the planted centre, corners, interior
        expected = reference_value(volumes, mask, np.array(centre), 2, model)
        assert rsa_map[tuple(centre)] == pytest.approx(expected, abs=1e-10)


def test_torch_backend_and_stimulus_order(planted):
    volumes, ids, model = planted
    order = np.random.default_rng(1).permutation(len(ids))
    mask = np.zeros(SHAPE, bool)
    mask[2:6, 4:8, 3:7] = True
    with config_context(dtype="float64"):
        expected = searchlight_rsa(volumes, ids, model, mask=mask, radius=1.5)
        with config_context(backend="torch"):
            shuffled = searchlight_rsa(volumes[..., order], [ids[i] for i in order], model, mask=mask, radius=1.5)
    np.testing.assert_allclose(shuffled, expected, atol=1e-10)


def test_nifti_round_trip(planted, tmp_path):
    volumes, ids, model = planted
    affine = np.diag([2.0, 2.0, 2.0, 1.0])
    affine[:3, 3] = [-10, -12, 4]
    nib.save(nib.Nifti1Image(volumes.astype(np.float32), affine), tmp_path / "bold.nii.gz")
    mask = np.zeros(SHAPE, np.uint8)
    mask[1:7, 3:9, 2:8] = 1
    nib.save(nib.Nifti1Image(mask, affine), tmp_path / "mask.nii")
    returned = searchlight_rsa_nifti(tmp_path / "bold.nii.gz", ids, model, mask=tmp_path / "mask.nii",
                                     radius=2, output=tmp_path / "map.nii.gz")
    saved = nib.load(tmp_path / "map.nii.gz")
    np.testing.assert_array_equal(saved.affine, affine)
    expected = searchlight_rsa(volumes.astype(np.float32), ids, model, mask=mask.astype(bool), radius=2)
    np.testing.assert_allclose(saved.get_fdata(), expected, atol=1e-6)
    np.testing.assert_array_equal(returned.get_fdata(), saved.get_fdata())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bold.nii.gz", "map.nii.gz", "mask.nii"]


def test_errors_name_the_bad_value(planted, tmp_path):
    volumes, ids, model = planted
    with pytest.raises(InvalidInputError, match="24 stimuli"):
        searchlight_rsa(volumes[..., :5], ids, model)
    with pytest.raises(InvalidInputError, match="mask shape"):
        searchlight_rsa(volumes, ids, model, mask=np.ones((3, 3, 3), bool))
    with pytest.raises(InvalidInputError, match="radius"):
        sphere_offsets(-1)
    with pytest.raises(InvalidInputError, match=".nii"):
        searchlight_rsa_nifti(nib.Nifti1Image(volumes[:3, :3, :3], np.eye(4)), ids, model, output=tmp_path / "x.png")
