"""fMRI betas in NIfTI files + a mask → voxel `Responses`; per-voxel values (scores) → a NIfTI map.

Betas are one 4-D image (x × y × z × volume) or a list of 3-D images (one per volume); ``volumes`` names the
stimulus of each volume (default: the ids themselves, one volume each). Volumes of the same stimulus become
repetitions (NaN-padded to the most repeated stimulus). The mask is a 3-D image on the same grid: nonzero voxels
are kept; with ``labels`` (mask value → region name) each voxel is labelled with its region. Neuroid coordinates:
``voxel_i``, ``voxel_j``, ``voxel_k`` (array indices) and ``region``.

>>> import numpy as np, nibabel as nib, tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> nib.save(nib.Nifti1Image(np.arange(24.0).reshape(2, 2, 2, 3), np.eye(4)), folder / "betas.nii.gz")
>>> nib.save(nib.Nifti1Image(np.array([[[1, 0], [0, 0]], [[0, 0], [0, 2]]], "int16"), np.eye(4)), folder / "m.nii")
>>> r = read_nifti_betas(folder / "betas.nii.gz", folder / "m.nii", ["a", "b", "c"], labels={1: "V1", 2: "V2"})
>>> r.values.tolist(), r.region.values.tolist()
([[0.0, 21.0], [1.0, 22.0], [2.0, 23.0]], ['V1', 'V2'])
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from brainalign.core.errors import InvalidInputError
from brainalign.core.labels import NEUROID
from brainalign.core.storage import atomic_path
from brainalign.data.user import responses_from_trials

Image = str | os.PathLike | Any  # a path or a nibabel image


def read_nifti_betas(betas: Image | Sequence[Image], mask: Image, stimulus_ids: Sequence[str], *,
                     volumes: Sequence[str] | None = None, labels: Mapping[int, str] | None = None,
                     region: str = "brain") -> xr.DataArray:
    """Voxel `Responses` (stimulus × voxel [× repetition]) of the nonzero ``mask`` voxels of ``betas``."""
    if isinstance(betas, Sequence) and not isinstance(betas, (str, bytes)):
        images = [_image(b) for b in betas]
        shapes = {img.shape for img in images}
        if len(shapes) != 1 or len(next(iter(shapes))) != 3:
            raise InvalidInputError(f"a list of betas must hold 3-D images of one shape; got shapes {sorted(shapes)}")
        data, affine = np.stack([np.asarray(img.dataobj, dtype=float) for img in images], axis=-1), images[0].affine
    else:
        image = _image(betas)
        if len(image.shape) != 4:
            raise InvalidInputError(f"betas {betas} have shape {image.shape}; expected x × y × z × volume")
        data, affine = np.asarray(image.dataobj, dtype=float), image.affine
    mask_image = _image(mask)
    if mask_image.shape[:3] != data.shape[:3] or len(mask_image.shape) != 3:
        raise InvalidInputError(f"mask shape {mask_image.shape} does not match the betas' grid {data.shape[:3]}")
    if not np.allclose(mask_image.affine, affine, atol=1e-4):
        raise InvalidInputError(f"mask and betas have different affines (voxel → world):\n{mask_image.affine}\n"
                                f"vs\n{affine}; resample one onto the other (nilearn.image.resample_to_img)")
    mask_values = np.asarray(mask_image.dataobj)
    voxels = np.argwhere(mask_values != 0)
    if not len(voxels):
        raise InvalidInputError(f"mask {mask} selects no voxel (all zero)")
    region_of = [region] * len(voxels)
    if labels is not None:
        values = mask_values[tuple(voxels.T)]
        unknown = sorted({int(v) for v in values} - {int(k) for k in labels})
        if unknown:
            raise InvalidInputError(f"mask values {unknown[:5]} have no entry in labels (given: {dict(labels)})")
        region_of = [labels[int(v)] for v in values]
    timecourse = data[tuple(voxels.T)].T  # (volume, voxel)
    volumes = [str(v) for v in (volumes if volumes is not None else stimulus_ids)]
    if len(volumes) != len(timecourse):
        raise InvalidInputError(f"betas hold {len(timecourse)} volumes but {len(volumes)} volume labels were given")
    ids = [str(s) for s in stimulus_ids]
    coords = {"voxel_i": voxels[:, 0], "voxel_j": voxels[:, 1], "voxel_k": voxels[:, 2], "region": region_of}
    return responses_from_trials(timecourse, volumes, ids, neuroid_coords=coords)


def write_nifti_map(values: xr.DataArray, reference: Image, path: str | os.PathLike, fill: float = np.nan) -> Any:
    """Write one value per voxel (a ``neuroid`` array with ``voxel_i/j/k`` coordinates, e.g. a Score's
    ``per_neuroid`` or one stimulus's responses) into a 3-D NIfTI on ``reference``'s grid; other voxels ``fill``.

    >>> import numpy as np, nibabel as nib, tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> ref = nib.Nifti1Image(np.ones((2, 2, 1), "int16"), np.eye(4))
    >>> r = read_nifti_betas([ref], ref, ["a"])
    >>> img = write_nifti_map(r.isel(stimulus=0) * 5, ref, folder / "map.nii.gz")
    >>> nib.load(folder / "map.nii.gz").get_fdata()[..., 0].tolist()
    [[5.0, 5.0], [5.0, 5.0]]
    """
    import nibabel as nib

    missing = [c for c in ("voxel_i", "voxel_j", "voxel_k") if c not in values.coords]
    if values.ndim != 1 or missing:
        raise InvalidInputError(f"a voxel map needs 1-D values along '{NEUROID}' with voxel_i/j/k coordinates; "
                                f"got dims "
                                f"{values.dims}, missing {missing}")
    grid = _image(reference)
    volume = np.full(grid.shape[:3], fill, dtype=float)
    volume[values["voxel_i"].values, values["voxel_j"].values, values["voxel_k"].values] = values.values
    image = nib.Nifti1Image(volume, grid.affine)
    if not str(path).endswith((".nii", ".nii.gz")):
        raise InvalidInputError(f"NIfTI maps are written as .nii or .nii.gz; got {path}")
    content = image.to_bytes()
    with atomic_path(path) as tmp:
        tmp.write_bytes(gzip.compress(content) if str(path).endswith(".gz") else content)
    return image


def _image(image: Image) -> Any:
    import nibabel as nib

    if isinstance(image, (str, os.PathLike)):
        try:
            return nib.load(image)
        except (OSError, nib.filebasedimages.ImageFileError) as error:
            raise InvalidInputError(f"cannot read NIfTI image {image}: {error}") from error
    return image
