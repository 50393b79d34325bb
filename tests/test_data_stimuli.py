"""StimulusSet: folder loading, image decoding, subsets, fingerprints and error messages."""

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from brainalign.core.errors import InvalidInputError
from brainalign.data.stimuli import StimulusSet


@pytest.fixture
def folder(tmp_path):
    rng = np.random.default_rng(0)
    for name, size in (("img2.png", (8, 6)), ("img1.jpg", (5, 7)), ("gray.png", (3, 3))):
        mode = "L" if name.startswith("gray") else "RGB"
        pixels = rng.integers(0, 255, (size[1], size[0], 3) if mode == "RGB" else (size[1], size[0]), dtype=np.uint8)
        Image.fromarray(pixels, mode).save(tmp_path / name)
    (tmp_path / "notes.txt").write_text("not an image")
    return tmp_path


def test_from_folder_sorts_images_and_skips_other_files(folder):
    stimuli = StimulusSet.from_folder(folder, identifier="toy")
    assert stimuli.stimulus_ids == ["toy/gray", "toy/img1", "toy/img2"]
    assert list(stimuli.metadata["filename"]) == ["gray.png", "img1.jpg", "img2.png"]
    assert len(StimulusSet.from_folder(folder, pattern="img*")) == 2


def test_load_image_is_rgb_with_the_file_size(folder):
    stimuli = StimulusSet.from_folder(folder)
    gray = stimuli.load_image(0)
    assert gray.mode == "RGB" and gray.size == (3, 3)
    original = np.asarray(Image.open(folder / "img2.png"))
    np.testing.assert_array_equal(np.asarray(stimuli.load_image(2)), original)


def test_undecodable_file_names_the_file(tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"definitely not a png")
    stimuli = StimulusSet("broken", ["x"], paths=[broken])
    with pytest.raises(InvalidInputError, match="broken.png"):
        stimuli.load_image(0)


def test_subset_keeps_content_and_metadata_aligned(folder):
    stimuli = StimulusSet.from_folder(folder, identifier="toy")
    sub = stimuli.subset(["toy/img2", "toy/gray"])
    assert sub.stimulus_ids == ["toy/img2", "toy/gray"]
    assert [p.name for p in sub.paths] == ["img2.png", "gray.png"]
    assert list(sub.metadata["filename"]) == ["img2.png", "gray.png"]
    with pytest.raises(InvalidInputError, match="toy/nope"):
        stimuli.subset(["toy/nope"])


def test_fingerprint_changes_with_ids_and_file_content(folder):
    stimuli = StimulusSet.from_folder(folder, identifier="toy")
    before = stimuli.fingerprint()
    assert before == StimulusSet.from_folder(folder, identifier="toy").fingerprint()
    assert before != stimuli.subset(stimuli.stimulus_ids[:2]).fingerprint()
    Image.new("RGB", (50, 50)).save(folder / "img2.png")
    assert before != stimuli.fingerprint()


def test_inconsistent_lengths_are_rejected():
    with pytest.raises(InvalidInputError, match="2 texts for 1"):
        StimulusSet("t", ["a"], texts=["x", "y"], modality="text")
    with pytest.raises(InvalidInputError, match="unique"):
        StimulusSet("t", ["a", "a"])
    with pytest.raises(InvalidInputError, match="modality 'sound'"):
        StimulusSet("t", ["a"], modality="sound")
    with pytest.raises(InvalidInputError, match="metadata rows"):
        StimulusSet("t", ["a"], metadata=pd.DataFrame({"c": [1, 2]}))
