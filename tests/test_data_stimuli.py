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


def _noise_png(path, seed, size=(16, 16)):
    pixels = np.random.default_rng(seed).integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)


def test_fingerprint_hashes_content_not_size_or_mtime(tmp_path):
    import os

    _noise_png(tmp_path / "a.png", 0)
    stimuli = StimulusSet.from_folder(tmp_path, identifier="toy")
    before, stat = stimuli.fingerprint(), os.stat(tmp_path / "a.png")
    data = bytearray((tmp_path / "a.png").read_bytes())
    data[-20] ^= 0xFF  # edit in place: same size, then restore the modification time
    (tmp_path / "a.png").write_bytes(bytes(data))
    os.utime(tmp_path / "a.png", ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert os.stat(tmp_path / "a.png").st_size == stat.st_size
    assert os.stat(tmp_path / "a.png").st_mtime_ns == stat.st_mtime_ns
    assert stimuli.fingerprint() != before


def test_same_names_and_sizes_in_another_folder_get_another_fingerprint(tmp_path):
    for sub, seed in (("x", 1), ("y", 2)):
        (tmp_path / sub / "set").mkdir(parents=True)
        _noise_png(tmp_path / sub / "set" / "a.png", seed)
    first = StimulusSet.from_folder(tmp_path / "x" / "set")
    second = StimulusSet.from_folder(tmp_path / "y" / "set")
    assert first.stimulus_ids == second.stimulus_ids
    assert first.paths[0].stat().st_size == second.paths[0].stat().st_size
    assert first.fingerprint() != second.fingerprint()
    (tmp_path / "y" / "set" / "a.png").write_bytes((tmp_path / "x" / "set" / "a.png").read_bytes())
    assert first.fingerprint() == second.fingerprint()  # same bytes, same key: no needless recomputation


def test_folder_is_in_natural_order(tmp_path):
    for name in ("10.png", "2.png", "1.png", "img_11.png", "img_9.png"):
        _noise_png(tmp_path / name, 0, size=(2, 2))
    stimuli = StimulusSet.from_folder(tmp_path, identifier="n")
    assert [p.name for p in stimuli.paths] == ["1.png", "2.png", "10.png", "img_9.png", "img_11.png"]


def test_explicit_order_from_list_or_text_file(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    for name in ("a.png", "b.png", "c.png"):
        _noise_png(images / name, 0, size=(2, 2))
    stimuli = StimulusSet.from_folder(images, identifier="s", order=["c.png", "a", "b.png"])
    assert stimuli.stimulus_ids == ["s/c", "s/a", "s/b"]
    assert [p.name for p in stimuli.paths] == ["c.png", "a.png", "b.png"]
    assert list(stimuli.metadata["filename"]) == ["c.png", "a.png", "b.png"]
    (tmp_path / "order.txt").write_text("b.png\nc.png\n\na.png\n")
    assert StimulusSet.from_folder(images, identifier="s", order=tmp_path / "order.txt").stimulus_ids == \
        ["s/b", "s/c", "s/a"]


def test_order_or_response_ids_that_do_not_match_name_missing_and_extra(tmp_path):
    for name in ("a.png", "b.png", "c.png"):
        _noise_png(tmp_path / name, 0, size=(2, 2))
    with pytest.raises(InvalidInputError, match=r"1 missing from the set \['s/d'\], 1 extra in the set \['s/c'\]"):
        StimulusSet.from_folder(tmp_path, identifier="s", order=["a", "b", "d"])
    stimuli = StimulusSet.from_folder(tmp_path, identifier="s")
    with pytest.raises(InvalidInputError, match=r"0 missing.*1 extra in the set \['s/b'\]"):
        stimuli.ordered_as(["s/c", "s/a"])
    with pytest.raises(InvalidInputError, match=r"repeated \['s/a'\]"):
        stimuli.ordered_as(["s/a", "s/b", "s/c", "s/a"])
    assert stimuli.ordered_as(["s/c", "s/a", "s/b"]).stimulus_ids == ["s/c", "s/a", "s/b"]


def test_zip_archive_images_are_extracted_in_natural_order(tmp_path):
    import io
    import zipfile

    from brainalign.data.stimuli import extract_images

    archive = tmp_path / "images.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for name in ("img10.png", "img9.png", "sub/img100.png"):
            buffer = io.BytesIO()
            Image.new("RGB", (2, 2)).save(buffer, format="PNG")
            zf.writestr(name, buffer.getvalue())
    assert [p.name for p in extract_images(archive, tmp_path / "out")] == ["img9.png", "img10.png", "img100.png"]
