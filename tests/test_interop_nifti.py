"""NIfTI betas + mask → voxel Responses, on tiny images written here (values known by construction)."""

import nibabel as nib
import numpy as np
import pytest

from brainalign.core.errors import InvalidInputError
from brainalign.data.interop.nifti import read_nifti_betas

AFFINE = np.diag([2.0, 2.0, 2.0, 1.0])


@pytest.fixture
def betas(tmp_path):
    data = np.random.default_rng(0).normal(size=(3, 4, 2, 5)).astype("float32")
    nib.save(nib.Nifti1Image(data, AFFINE), tmp_path / "betas.nii.gz")
    mask = np.zeros((3, 4, 2), "int16")
    mask[0, 1, 0], mask[2, 3, 1], mask[1, 0, 1] = 1, 2, 1
    nib.save(nib.Nifti1Image(mask, AFFINE), tmp_path / "mask.nii.gz")
    return data, mask, tmp_path


def test_masked_voxels_in_c_order_with_regions(betas):
    data, mask, folder = betas
    ids = ["s0", "s1", "s2", "s3", "s4"]
    r = read_nifti_betas(folder / "betas.nii.gz", folder / "mask.nii.gz", ids, labels={1: "V1", 2: "FFA"})
    np.testing.assert_array_equal(r.values, data[mask != 0].T)  # boolean indexing: C order, like argwhere
    assert r.dims == ("stimulus", "neuroid") and r.region.values.tolist() == ["V1", "V1", "FFA"]
    assert list(zip(r.voxel_i.values, r.voxel_j.values, r.voxel_k.values, strict=True)) == [(0, 1, 0), (1, 0, 1),
                                                                                           (2, 3, 1)]


def test_repeated_volumes_become_nan_padded_repetitions_and_3d_lists(betas):
    data, mask, folder = betas
    for t in range(5):
        nib.save(nib.Nifti1Image(data[..., t], AFFINE), folder / f"vol{t}.nii")
    files = [folder / f"vol{t}.nii" for t in range(5)]
    r = read_nifti_betas(files, folder / "mask.nii.gz", ["a", "b"], volumes=["a", "b", "a", "b", "a"])
    assert r.dims == ("stimulus", "neuroid", "repetition") and r.shape == (2, 3, 3)
    picked = data[mask != 0]
    np.testing.assert_array_equal(r.values[0], picked[:, [0, 2, 4]])
    np.testing.assert_array_equal(r.values[1, :, :2], picked[:, [1, 3]])
    assert np.isnan(r.values[1, :, 2]).all()


def test_errors_name_the_mismatch(betas):
    data, mask, folder = betas
    nib.save(nib.Nifti1Image(mask, np.eye(4)), folder / "moved.nii.gz")
    with pytest.raises(InvalidInputError, match="different affines"):
        read_nifti_betas(folder / "betas.nii.gz", folder / "moved.nii.gz", list("abcde"))
    nib.save(nib.Nifti1Image(np.ones((3, 4, 3), "int16"), AFFINE), folder / "big.nii.gz")
    with pytest.raises(InvalidInputError, match=r"mask shape \(3, 4, 3\) does not match the betas' grid \(3, 4, 2\)"):
        read_nifti_betas(folder / "betas.nii.gz", folder / "big.nii.gz", list("abcde"))
    with pytest.raises(InvalidInputError, match="betas hold 5 volumes but 4 volume labels"):
        read_nifti_betas(folder / "betas.nii.gz", folder / "mask.nii.gz", list("abcd"))
    with pytest.raises(InvalidInputError, match=r"mask values \[2\] have no entry in labels"):
        read_nifti_betas(folder / "betas.nii.gz", folder / "mask.nii.gz", list("abcde"), labels={1: "V1"})


def test_voxel_values_written_back_onto_the_grid(betas):
    from brainalign.data.interop.nifti import write_nifti_map

    data, mask, folder = betas
    r = read_nifti_betas(folder / "betas.nii.gz", folder / "mask.nii.gz", list("abcde"))
    write_nifti_map(r.isel(stimulus=3), folder / "mask.nii.gz", folder / "map.nii.gz", fill=0.0)
    written = nib.load(folder / "map.nii.gz")
    np.testing.assert_allclose(written.get_fdata(), np.where(mask != 0, data[..., 3], 0.0))
    np.testing.assert_array_equal(written.affine, AFFINE)
    with pytest.raises(InvalidInputError, match="needs 1-D values"):
        write_nifti_map(r, folder / "mask.nii.gz", folder / "bad.nii")
