"""`StimulusSet`: ordered stimulus ids, their content (image, video or audio files, or texts) and a metadata table.

>>> import tempfile, pathlib
>>> from PIL import Image
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> for name in ("10.png", "2.png"):
...     Image.new("RGB", (4, 3)).save(folder / name)
>>> stimuli = StimulusSet.from_folder(folder, identifier="demo")
>>> len(stimuli), stimuli.stimulus_ids, stimuli.load_image(0).size
(2, ['demo/2', 'demo/10'], (4, 3))
>>> stimuli.subset(["demo/10"]).stimulus_ids
['demo/10']
"""

from __future__ import annotations

import os
import re
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from PIL import Image, UnidentifiedImageError

from brainalign.core.errors import InvalidInputError
from brainalign.core.storage import atomic_path, content_hash, file_fingerprint

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp")
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg")
MODALITIES = ("image", "text", "video", "audio")


def natural_key(name: str) -> tuple:
    """Sort key that orders digit runs by value, so ``2.png`` comes before ``10.png`` (ties: plain name order).

    >>> sorted(["img10.png", "img2.png", "img1.png"], key=natural_key)
    ['img1.png', 'img2.png', 'img10.png']
    """
    parts = re.split(r"(\d+)", name)
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part.lower()) for part in parts), name


@dataclass
class StimulusSet:
    """Stimuli in a fixed order: ``paths`` for images / videos / sounds, ``texts`` for language, one row of
    ``metadata`` each."""

    identifier: str
    stimulus_ids: list[str]
    paths: list[Path] | None = None
    texts: list[str] | None = None
    modality: str = "image"
    metadata: pd.DataFrame | None = None

    def __post_init__(self) -> None:
        self.stimulus_ids = [str(s) for s in self.stimulus_ids]
        n = len(self.stimulus_ids)
        if len(set(self.stimulus_ids)) != n:
            raise InvalidInputError(f"stimulus set {self.identifier!r}: stimulus ids must be unique")
        if self.modality not in MODALITIES:
            raise InvalidInputError(f"modality {self.modality!r} is not supported; valid: {', '.join(MODALITIES)}")
        if self.paths is not None:
            self.paths = [Path(p) for p in self.paths]
        for name, content in (("paths", self.paths), ("texts", self.texts)):
            if content is not None and len(content) != n:
                raise InvalidInputError(f"stimulus set {self.identifier!r}: {len(content)} {name} for {n} stimulus ids")
        if self.metadata is None or self.metadata.empty:
            self.metadata = pd.DataFrame(index=range(n))
        if len(self.metadata) != n:
            raise InvalidInputError(f"stimulus set {self.identifier!r}: {len(self.metadata)} metadata rows for {n} ids")
        self.metadata = self.metadata.reset_index(drop=True)

    def __len__(self) -> int:
        return len(self.stimulus_ids)

    def load_image(self, i: int) -> Image.Image:
        """The ``i``-th stimulus as an RGB PIL image; a file that does not decode raises naming the file."""
        if self.paths is None:
            raise InvalidInputError(f"stimulus set {self.identifier!r} ({self.modality}) has no image files")
        path = self.paths[i]
        try:
            with Image.open(path) as image:
                return image.convert("RGB")
        except (OSError, UnidentifiedImageError) as error:
            message = f"cannot decode image {path} (stimulus {self.stimulus_ids[i]!r}): {error}"
            raise InvalidInputError(message) from error

    def fingerprint(self) -> str:
        """A content hash of identifier, ids, texts and the bytes of every file (a cache key for their features).

        Files are hashed on every call (blake2b, about 1 GB/s), never judged by size or modification time, so an
        image edited in place, or another folder with the same names and sizes, gets another fingerprint.

        >>> StimulusSet("t", ["a"], texts=["hi"], modality="text").fingerprint() == \\
        ...     StimulusSet("t", ["a"], texts=["ho"], modality="text").fingerprint()
        False
        """
        digests = [file_fingerprint(p) for p in self.paths] if self.paths is not None else None
        return content_hash(self.identifier, self.modality, self.stimulus_ids, digests, self.texts)

    def ordered_as(self, stimulus_ids: Sequence[str]) -> StimulusSet:
        """The same stimuli in the order of ``stimulus_ids`` (e.g. the ids that come with measured responses).

        Both must hold exactly the same ids: a missing or extra id is an error naming them, never a silent
        drop or reorder.

        >>> StimulusSet("t", ["a", "b"], texts=["x", "y"], modality="text").ordered_as(["b", "a"]).texts
        ['y', 'x']
        """
        wanted = [str(s) for s in stimulus_ids]
        have, counts = set(self.stimulus_ids), Counter(wanted)
        missing = [s for s in wanted if s not in have]
        extra = [s for s in self.stimulus_ids if s not in counts]
        repeated = sorted(s for s, count in counts.items() if count > 1)
        if missing or extra or repeated:
            raise InvalidInputError(
                f"stimulus ids do not match stimulus set {self.identifier!r}: "
                f"{len(missing)} missing from the set {missing[:5]}, {len(extra)} extra in the set {extra[:5]}"
                + (f", repeated {repeated[:5]}" if repeated else "")
                + "; give exactly one id per stimulus"
            )
        return self.subset(wanted)

    def subset(self, stimulus_ids: Sequence[str]) -> StimulusSet:
        """The stimuli with these ids, in the given order."""
        position = {s: i for i, s in enumerate(self.stimulus_ids)}
        missing = [s for s in map(str, stimulus_ids) if s not in position]
        if missing:
            raise InvalidInputError(
                f"{len(missing)} stimulus ids are not in stimulus set {self.identifier!r} (e.g. {missing[:3]})"
            )
        index = [position[str(s)] for s in stimulus_ids]
        return StimulusSet(
            identifier=self.identifier,
            stimulus_ids=[self.stimulus_ids[i] for i in index],
            paths=None if self.paths is None else [self.paths[i] for i in index],
            texts=None if self.texts is None else [self.texts[i] for i in index],
            modality=self.modality,
            metadata=self.metadata.iloc[index].reset_index(drop=True),
        )

    @classmethod
    def from_folder(cls, path: str | os.PathLike, identifier: str | None = None, pattern: str = "*",
                    order: Sequence[str] | str | os.PathLike | None = None) -> StimulusSet:
        """The image files in ``path`` matching ``pattern``; ids are ``<identifier>/<file stem>``.

        Files are in natural order (``2.png`` before ``10.png``) unless ``order`` gives it: file names or stems,
        as a list or as a text file with one per line; it must name every file exactly once.
        """
        folder = Path(path)
        if not folder.is_dir():
            raise InvalidInputError(f"stimulus folder {folder} does not exist or is not a directory")
        files = sorted((p for p in folder.glob(pattern) if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES),
                       key=lambda p: natural_key(p.name))
        if not files:
            raise InvalidInputError(
                f"no image files matching {pattern!r} in {folder} (looked for {', '.join(IMAGE_SUFFIXES)})"
            )
        identifier = identifier or folder.name
        stems = [p.stem for p in files]
        if len(set(stems)) != len(stems):
            stems = [p.name for p in files]
        stimuli = cls(
            identifier=identifier,
            stimulus_ids=[f"{identifier}/{stem}" for stem in stems],
            paths=files,
            metadata=pd.DataFrame({"filename": [p.name for p in files]}),
        )
        if order is None:
            return stimuli
        if isinstance(order, (str, os.PathLike)):
            order = [line.strip() for line in Path(order).read_text().splitlines() if line.strip()]
        names = {p.name: stem for p, stem in zip(files, stems, strict=True)}
        return stimuli.ordered_as([f"{identifier}/{names.get(entry, entry)}" for entry in order])

    @classmethod
    def from_audio_folder(cls, path: str | os.PathLike, identifier: str | None = None) -> StimulusSet:
        """The sound files (``AUDIO_SUFFIXES``) in ``path`` in natural order, ids ``<identifier>/<file stem>``.

        >>> import tempfile, pathlib, numpy as np, scipy.io.wavfile
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> scipy.io.wavfile.write(folder / "tone.wav", 8000, np.zeros(80, "int16"))
        >>> sounds = StimulusSet.from_audio_folder(folder, identifier="sounds")
        >>> sounds.modality, sounds.stimulus_ids
        ('audio', ['sounds/tone'])
        """
        folder = Path(path)
        if not folder.is_dir():
            raise InvalidInputError(f"stimulus folder {folder} does not exist or is not a directory")
        files = sorted((p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES),
                       key=lambda p: natural_key(p.name))
        if not files:
            raise InvalidInputError(f"no sound files in {folder} (looked for {', '.join(AUDIO_SUFFIXES)})")
        identifier = identifier or folder.name
        return cls(identifier, [f"{identifier}/{p.stem}" for p in files], paths=files, modality="audio",
                   metadata=pd.DataFrame({"filename": [p.name for p in files]}))


def write_images(folder: Path, images: Iterable[tuple[str, Callable[[], Image.Image | bytes]]]) -> list[Path]:
    """Write each ``(filename, make)`` into ``folder`` unless present, atomically; ``make()`` gives an image or bytes.

    Loaders use it to turn images stored inside data files into real files once, so paths always exist.

    >>> import tempfile, pathlib
    >>> paths = write_images(pathlib.Path(tempfile.mkdtemp()), [("a.png", lambda: Image.new("RGB", (2, 2)))])
    >>> Image.open(paths[0]).size
    (2, 2)
    """
    paths = []
    for name, make in images:
        path = folder / name
        if not path.is_file():
            content = make()
            with atomic_path(path) as tmp:
                if isinstance(content, bytes):
                    tmp.write_bytes(content)
                else:
                    content.save(tmp, format=Image.registered_extensions()[path.suffix.lower()])
        paths.append(path)
    return paths


def extract_images(archive: str | os.PathLike, folder: Path) -> list[Path]:
    """Extract the image files of a zip ``archive`` flat into ``folder`` (once, atomically), in natural name order."""
    with zipfile.ZipFile(archive) as zf:
        members = sorted(
            (m for m in zf.infolist() if not m.is_dir() and Path(m.filename).suffix.lower() in IMAGE_SUFFIXES
             and not Path(m.filename).name.startswith(".")),
            key=lambda m: natural_key(Path(m.filename).name),
        )
        return write_images(folder, [(Path(m.filename).name, lambda m=m: zf.read(m)) for m in members])
