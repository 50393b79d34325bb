"""Sinusoidal grating stimuli as Marques et al. (2021) / Brain-Score's V1 property benchmarks draw them.

A grating of ``spatial_frequency`` (cycles/degree), ``orientation`` and ``phase`` (degrees) and ``contrast`` fills a
disc of ``radius`` degrees centred ``position_y``, ``position_x`` degrees from the image centre (rows grow
downwards); outside it the image is mid-gray. An image of ``size_px`` pixels spans ``degrees`` of visual angle::

    x = (column - size_px / 2) / (size_px / degrees) - position_x      (y likewise from the row)
    value = sin(2π · spatial_frequency · (x cos θ + y sin θ) + φ) · contrast
    pixel = uint8((value + 1) / 2 · 255) inside x² + y² <= radius², else 128

Rendering straight at a model's field of view (e.g. 8 degrees at 224 pixels) is the same picture as placing the
12-degree stimulus on the model's screen, without resampling.

>>> image = grating_image(size_px=64, degrees=4, orientation=0, phase=90, spatial_frequency=1, radius=1)
>>> image.shape, int(image[0, 0]), int(image[32, 32])
((64, 64), 128, 255)
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image
from tqdm.auto import tqdm

from brainalign.core.config import cache_dir
from brainalign.core.errors import InvalidInputError
from brainalign.core.storage import content_hash
from brainalign.data.stimuli import StimulusSet, write_images

#: The columns that define a grating (degrees, cycles/degree; contrast in [0, 1]).
GRATING_COLUMNS = ("position_y", "position_x", "contrast", "radius", "spatial_frequency", "orientation", "phase")
GRAY = 128  # Brain-Score's background: uint8(255 / 2 + 1)


def grating_image(size_px: int, degrees: float, orientation: float, phase: float, spatial_frequency: float,
                  radius: float, contrast: float = 1.0, position_y: float = 0.0, position_x: float = 0.0
                  ) -> np.ndarray:
    """One grating as a ``size_px`` × ``size_px`` uint8 gray-level image (see the module docstring)."""
    if size_px < 1 or not degrees > 0:
        raise InvalidInputError(f"size_px must be >= 1 and degrees > 0; got size_px={size_px}, degrees={degrees}")
    if not 0 <= contrast <= 1:
        raise InvalidInputError(f"contrast must lie in [0, 1]; got {contrast}")
    pixels_per_degree = size_px / degrees
    axis = (np.arange(size_px) - size_px / 2) / pixels_per_degree
    x, y = np.meshgrid(axis - position_x, axis - position_y)
    theta, phi = np.deg2rad(orientation), np.deg2rad(phase)
    texture = np.sin((x * np.cos(theta) + y * np.sin(theta)) * spatial_frequency * 2 * np.pi + phi) * contrast
    image = np.full((size_px, size_px), GRAY, dtype=np.uint8)
    inside = x ** 2 + y ** 2 <= radius ** 2
    image[inside] = ((texture[inside] + 1) / 2 * 255).astype(np.uint8)
    return image


def grating_stimulus_set(parameters: pd.DataFrame, identifier: str, size_px: int = 672, degrees: float = 12.0,
                         folder: str | os.PathLike | None = None, blank: bool = False) -> StimulusSet:
    """One grating per row of ``parameters`` (the `GRATING_COLUMNS`), written once as PNG files.

    Ids are ``<identifier>/<row>``; the metadata is ``parameters`` itself. Files go to ``folder`` (default: a cache
    folder keyed by the parameters, size and angle), so a second call reuses them. With ``blank`` a last, uniform
    gray stimulus ``<identifier>/blank`` is added (Brain-Score's baseline stimulus; its metadata row is NaN).

    >>> table = pd.DataFrame({"position_y": [0.5], "position_x": [0.5], "contrast": [1.0], "radius": [1.0],
    ...                       "spatial_frequency": [2.0], "orientation": [45.0], "phase": [0.0]})
    >>> stimuli = grating_stimulus_set(table, "demo", size_px=32, degrees=4, blank=True)
    >>> stimuli.stimulus_ids, stimuli.load_image(1).getpixel((3, 3))
    (['demo/0', 'demo/blank'], (128, 128, 128))
    """
    missing = [c for c in GRATING_COLUMNS if c not in parameters.columns]
    if missing:
        raise InvalidInputError(f"grating parameters lack columns {missing}; needed: {', '.join(GRATING_COLUMNS)}")
    table = parameters.reset_index(drop=True)
    values = table[list(GRATING_COLUMNS)].to_numpy(dtype=float)
    if folder is None:
        folder = cache_dir("gratings", content_hash(identifier, values.tolist(), size_px, degrees))
    rows = [(f"{i}.png", lambda row=row: Image.fromarray(grating_image(size_px, degrees, **dict(zip(
        GRATING_COLUMNS, map(float, row), strict=True))))) for i, row in enumerate(values)]
    ids = [f"{identifier}/{i}" for i in range(len(values))]
    if blank:
        rows.append(("blank.png", lambda: Image.fromarray(np.full((size_px, size_px), GRAY, dtype=np.uint8))))
        ids.append(f"{identifier}/blank")
        table = pd.concat([table, pd.DataFrame(index=[len(table)])])
    paths = write_images(Path(folder), tqdm(rows, desc=f"gratings {identifier}", disable=None, leave=False))
    return StimulusSet(identifier, ids, paths=paths, metadata=table)
