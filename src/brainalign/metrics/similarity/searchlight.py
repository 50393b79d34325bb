"""Searchlight RSA: where in a brain volume does the local representational geometry match a model?

Around every voxel of a mask a sphere of ``radius`` voxels (clipped to the mask) selects a local pattern;
its RDM over stimuli is compared with a model RDM, and the similarity is written at the centre, giving a
3-D map (NaN outside the mask and where a sphere holds fewer than 2 voxels).

Centres are processed in batches: centres whose spheres hold the same number of voxels are stacked along
the batch axis of :func:`~brainalign.metrics.similarity.rdms.compute_rdm` (one matrix product per batch) and compared
with the model by :func:`~brainalign.metrics.similarity.rdm_comparison.compare_rdms`, which ranks the model RDM once.
Volumes follow the NIfTI layout ``(x, y, z, stimulus)``; :func:`searchlight_rsa_nifti` reads and writes
NIfTI files with nibabel.

>>> sphere_offsets(1).shape
(7, 3)
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Sequence
from typing import Any, cast

import numpy as np

from brainalign.core.config import rows_per_block
from brainalign.core.errors import InvalidInputError
from brainalign.core.storage import atomic_path
from brainalign.data.rdm import RDM
from brainalign.metrics.similarity.rdm_comparison import compare_rdms
from brainalign.metrics.similarity.rdms import compute_rdm


def sphere_offsets(radius: float) -> np.ndarray:
    """Integer voxel offsets ``(k, 3)`` within Euclidean ``radius`` of the centre (the centre first).

    >>> sphere_offsets(0).tolist()
    [[0, 0, 0]]
    """
    if radius < 0:
        raise InvalidInputError(f"radius must be non-negative (in voxels); got {radius}")
    r = int(np.floor(radius))
    grid = np.stack(np.meshgrid(*[np.arange(-r, r + 1)] * 3, indexing="ij"), axis=-1).reshape(-1, 3)
    inside = grid[(grid**2).sum(axis=1) <= radius**2]
    return inside[np.argsort((inside**2).sum(axis=1), kind="stable")]


def sphere_members(mask: np.ndarray, radius: float) -> np.ndarray:
    """For each in-mask voxel (in ``np.nonzero(mask)`` order), the mask-voxel numbers inside its sphere.

    Returns ``(n_centres, n_offsets)`` integers, ``-1`` where the sphere leaves the mask or the volume.

    >>> members = sphere_members(np.ones((1, 1, 3), bool), radius=1)
    >>> members.shape, [m[m >= 0].tolist() for m in members]  # each centre first
    ((3, 7), [[0, 1], [1, 0, 2], [2, 1]])
    """
    mask = np.asarray(mask, dtype=bool)
    if mask.ndim != 3 or not mask.any():
        raise InvalidInputError(f"mask must be a non-empty 3-D volume; got shape {mask.shape} with {mask.sum()} voxels")
    offsets = sphere_offsets(radius)
    pad = int(np.abs(offsets).max(initial=0))
    number = np.full(np.add(mask.shape, 2 * pad), -1, dtype=np.int64)
    number[pad:pad + mask.shape[0], pad:pad + mask.shape[1], pad:pad + mask.shape[2]][mask] = np.arange(mask.sum())
    centres = np.argwhere(mask) + pad
    neighbours = centres[:, None, :] + offsets[None, :, :]
    return number[neighbours[..., 0], neighbours[..., 1], neighbours[..., 2]]


def searchlight_rsa(
    volumes: Any,
    stimulus_ids: Sequence[str],
    model_rdm: RDM,
    *,
    mask: np.ndarray | None = None,
    radius: float = 3.0,
    distance: str = "correlation",
    method: str = "spearman",
) -> np.ndarray:
    """A 3-D map of the similarity between each searchlight's RDM and ``model_rdm``.

    ``volumes`` is ``(x, y, z, stimulus)`` in the order of ``stimulus_ids``; ``mask`` defaults to the
    voxels whose response varies across stimuli. Centres are batched to fit the compute context's
    ``working_memory``; backend, device and dtype come from it too.

    >>> rng = np.random.default_rng(0)
    >>> volumes, ids = rng.normal(size=(3, 3, 3, 6)), list("abcdef")
    >>> model = compute_rdm(volumes.reshape(-1, 6).T, ids)
    >>> rsa_map = searchlight_rsa(volumes, ids, model, radius=5, method="pearson")
    >>> float(rsa_map[1, 1, 1].round(6))  # a sphere of radius 5 covers the whole 3×3×3 volume
    1.0
    """
    volumes = np.asarray(volumes)
    if volumes.ndim != 4 or volumes.shape[3] != len(stimulus_ids):
        raise InvalidInputError(
            f"volumes must be (x, y, z, stimulus) with {len(stimulus_ids)} stimuli; got shape {volumes.shape}"
        )
    if mask is None:
        mask = volumes.std(axis=3) > 0
    mask = np.asarray(mask, dtype=bool)
    if mask.shape != volumes.shape[:3]:
        raise InvalidInputError(f"mask shape {mask.shape} differs from the volume shape {volumes.shape[:3]}")
    model = model_rdm.reorder(stimulus_ids)  # once, so compare_rdms neither reorders nor re-ranks per batch
    if model.n_rdms != 1:
        raise InvalidInputError(f"searchlight RSA needs one model RDM; got {model.n_rdms}")
    patterns = volumes[mask].T  # (stimulus, mask voxel)
    members = sphere_members(mask, radius)
    sizes = (members >= 0).sum(axis=1)
    values = np.full(len(members), np.nan)
    n_pairs = model.condensed.shape[1]
    for size in np.unique(sizes[sizes >= 2]):
        centres = np.flatnonzero(sizes == size)
        # in-mask members first (stable sort keeps the sphere order), then drop the -1 padding
        inside = np.take_along_axis(members[centres], np.argsort(members[centres] < 0, axis=1, kind="stable"), 1)
        inside = inside[:, :size]
        per_batch = rows_per_block(8 * 8 * (n_pairs + len(stimulus_ids) * int(size)), len(centres))
        for start in range(0, len(centres), per_batch):
            batch = inside[start:start + per_batch]
            local = patterns[:, batch].transpose(0, 2, 1)  # (stimulus, voxel, centre): centres as the batch axis
            rdms = compute_rdm(local, stimulus_ids, distance, time=range(len(batch)))
            values[centres[start:start + per_batch]] = compare_rdms(rdms, model, method)[:, 0]
    result = np.full(mask.shape, np.nan)
    result[mask] = values
    return result


def searchlight_rsa_nifti(
    image: Any,
    stimulus_ids: Sequence[str],
    model_rdm: RDM,
    *,
    mask: Any = None,
    output: str | os.PathLike | None = None,
    **options: Any,
) -> Any:
    """Searchlight RSA of a 4-D NIfTI image (path or nibabel image; one volume per stimulus).

    ``mask`` is a 3-D NIfTI (path or image), an array, or None; the map is returned as a float32
    ``Nifti1Image`` with the input's affine and written atomically to ``output`` (``.nii`` or ``.nii.gz``)
    when given. ``options`` go to :func:`searchlight_rsa` (``radius``, ``distance``, ``method``, ...).

    >>> import nibabel as nib
    >>> rng = np.random.default_rng(0)
    >>> image, ids = nib.Nifti1Image(rng.normal(size=(3, 3, 3, 5)), np.eye(4)), list("abcde")
    >>> model = RDM(rng.uniform(size=10), ids)
    >>> searchlight_rsa_nifti(image, ids, model, radius=1).shape
    (3, 3, 3)
    """
    import nibabel as nib

    if output is not None and not os.fspath(output).endswith((".nii", ".nii.gz")):
        raise InvalidInputError(f"output must end with .nii or .nii.gz; got {os.fspath(output)!r}")
    image = nib.load(os.fspath(image)) if isinstance(image, (str, os.PathLike)) else image
    if mask is not None and not isinstance(mask, np.ndarray):
        if isinstance(mask, (str, os.PathLike)):
            # a NIfTI path loads as a spatial image (get_fdata); nib.load is typed as the generic base class
            mask = cast("nib.spatialimages.SpatialImage", nib.load(os.fspath(mask)))
        mask = mask.get_fdata() > 0
    rsa_map = searchlight_rsa(image.get_fdata(dtype=np.float32), stimulus_ids, model_rdm, mask=mask, **options)
    result = nib.Nifti1Image(rsa_map.astype(np.float32), image.affine)
    if output is not None:
        _save_nifti(result, output)
    return result


def _save_nifti(image: Any, path: str | os.PathLike) -> None:
    """Write atomically (nibabel infers the format from the name, so bytes are written to a temporary file)."""
    payload = image.to_bytes()
    with atomic_path(path) as tmp:
        tmp.write_bytes(gzip.compress(payload) if os.fspath(path).endswith(".gz") else payload)
