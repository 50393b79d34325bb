"""Grating generator: closed-form pixels, and the published Marques2020 orientation images reproduced exactly."""

import numpy as np
import pandas as pd
import pytest

from brainalign.core.errors import InvalidInputError
from brainalign.data.datasets.marques2020 import STIMULUS_DEGREES, STIMULUS_PIXELS, Marques2020
from brainalign.data.gratings import GRATING_COLUMNS, GRAY, grating_image, grating_stimulus_set


def test_grating_pixels_follow_the_formula():
    image = grating_image(size_px=40, degrees=4, orientation=90, phase=0, spatial_frequency=0.5, radius=1.5,
                          contrast=0.5, position_y=0.5, position_x=-0.5)
    pixels_per_degree = 10
    row, col = 27, 12  # 0.7 deg below the centre, 0.8 deg left: inside the disc centred at (0.5, -0.5)
    y = (row - 20) / pixels_per_degree - 0.5  # orientation 90: the grating varies along y only
    expected = np.uint8((np.sin(y * 0.5 * 2 * np.pi) * 0.5 + 1) / 2 * 255)
    assert image[row, col] == expected
    assert image[0, 0] == GRAY and image[39, 39] == GRAY  # outside the disc
    disc = np.argwhere(image != GRAY)
    assert np.all(np.hypot(disc[:, 0] / 10 - 2 - 0.5, disc[:, 1] / 10 - 2 + 0.5) <= 1.5 + 1e-9)


def test_bad_parameters_are_named():
    with pytest.raises(InvalidInputError, match="contrast"):
        grating_image(8, 1, 0, 0, 1, 1, contrast=2)
    with pytest.raises(InvalidInputError, match="radius"):
        grating_stimulus_set(pd.DataFrame({"orientation": [0]}), "x")


def test_stimulus_set_writes_once_and_keeps_parameters(tmp_path):
    table = pd.DataFrame([[0, 0, 1, 1, 2, o, 0] for o in (0, 90)], columns=GRATING_COLUMNS)
    stimuli = grating_stimulus_set(table, "two", size_px=16, degrees=2, folder=tmp_path)
    assert stimuli.stimulus_ids == ["two/0", "two/1"] and list(stimuli.metadata["orientation"]) == [0, 90]
    assert np.array_equal(np.asarray(stimuli.load_image(1).convert("L")), grating_image(16, 2, 90, 0, 2, 1))
    again = grating_stimulus_set(table, "two", size_px=16, degrees=2, folder=tmp_path)
    assert again.fingerprint() == stimuli.fingerprint()


@pytest.fixture(scope="module")
def marques(shared_data):
    if not (shared_data / "marques2020").is_dir():
        pytest.skip("marques2020 not in the shared data")
    return Marques2020()


def _max_abs_diff(marques, rows):
    published = marques.stimulus_set("orientation")
    diffs = []
    for i in rows:
        row = published.metadata.iloc[i]
        ours = grating_image(STIMULUS_PIXELS, STIMULUS_DEGREES, **{c: float(row[c]) for c in GRATING_COLUMNS})
        theirs = np.asarray(published.load_image(i).convert("L"))
        diffs.append(int(np.abs(ours.astype(int) - theirs.astype(int)).max()))
    return max(diffs)


def test_generator_reproduces_published_orientation_images(marques):
    assert _max_abs_diff(marques, range(0, 864, 37)) == 0  # 24 images spread over every parameter


@pytest.mark.slow
def test_generator_reproduces_all_864_orientation_images(marques):
    assert _max_abs_diff(marques, range(864)) == 0
