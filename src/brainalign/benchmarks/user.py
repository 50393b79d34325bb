"""Benchmark files: a small TOML that names the stimuli (a folder of images or videos, or a .txt file of texts,
one per line) and a responses file (with their sha256), a metric, a region and options; ``brainalign score -b
path/to/bench.toml`` scores against it.

The identifier of the loaded benchmark holds a hash of the data, metric and options, so results of different
data never mix in a results store. Responses files: ``.npy`` (stimulus × neuroid [× repetition [× time]], rows
in the folder's natural file order), ``.npz`` (``responses`` and/or ``rdms`` (subject × n × n), optional
per-neuroid ``region`` and ``subject``) or ``.nc`` (labelled `Responses`, a NetCDF ``DataArray`` whose
``stimulus_id`` are ``<name>/<file stem>``; rows are matched by id).

>>> import tempfile, pathlib, numpy as np
>>> from PIL import Image
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> (folder / "img").mkdir()
>>> for i in range(6):
...     Image.new("RGB", (4, 4), (40 * i, 0, 0)).save(folder / "img" / f"{i}.png")
>>> np.save(folder / "resp.npy", np.arange(12.0).reshape(6, 2))
>>> path = write_benchmark_file(folder / "bench.toml", folder / "img", folder / "resp.npy", region="IT")
>>> bench = load_benchmark_file(path)
>>> bench.region, bench.metric, bench.stimulus_set().stimulus_ids[:2], bench.target_data().shape
('IT', 'ridge', ['bench/0', 'bench/1'], (6, 2))
"""

from __future__ import annotations

import hashlib
import json
import os
import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Any

from brainalign.core.errors import InvalidInputError
from brainalign.core.storage import atomic_path, file_sha256
from brainalign.data.stimuli import IMAGE_SUFFIXES
from brainalign.data.user import DEFAULT_REGION, RESPONSE_SUFFIXES, VIDEO_SUFFIXES, UserBenchmark, from_folder

FORMAT = "brainalign.benchmark/1"


def stimuli_sha256(stimuli: str | os.PathLike) -> str:
    """What a benchmark file pins of its stimuli: the sha256 of a ``.txt`` file of texts, or of a folder's image
    (else video) files, over their names and contents."""
    path = Path(stimuli)
    if path.is_file() and path.suffix == ".txt":
        return file_sha256(path)
    suffixes = next((kind for kind in (IMAGE_SUFFIXES, VIDEO_SUFFIXES)
                     if path.is_dir() and any(p.suffix.lower() in kind for p in path.iterdir())), None)
    if suffixes is None:
        raise InvalidInputError(f"stimuli {path} must be a folder of image or video files "
                                f"({', '.join(IMAGE_SUFFIXES + VIDEO_SUFFIXES)}) or a .txt file of texts")
    files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in suffixes)
    return hashlib.sha256("".join(f"{p.name}\0{file_sha256(p)}\n" for p in files).encode()).hexdigest()


def write_benchmark_file(path: str | os.PathLike, stimuli: str | os.PathLike, responses: str | os.PathLike, *,
                         metric: str = "ridge", region: str = DEFAULT_REGION, ceiling: str | None = None,
                         name: str | None = None, options: dict[str, Any] | None = None, version: int = 1) -> Path:
    """Write a benchmark file at ``path`` (data paths relative to it where possible); checks that it loads."""
    path = Path(path)
    if path.suffix != ".toml":
        raise InvalidInputError(f"benchmark files end in .toml; got {path}")
    stimuli, responses = Path(stimuli).resolve(), Path(responses).resolve()
    if responses.suffix not in RESPONSE_SUFFIXES or not responses.is_file():
        raise InvalidInputError(f"--responses {responses} must be an existing {', '.join(RESPONSE_SUFFIXES)} file")
    fields: dict[str, Any] = {"format": FORMAT, "name": name or path.stem, "version": version, "metric": metric,
                              "region": region}
    if ceiling is not None:
        fields["ceiling"] = ceiling
    tables = {
        "stimuli": {"path": _relative(stimuli, path.parent), "sha256": stimuli_sha256(stimuli)},
        "responses": {"path": _relative(responses, path.parent), "sha256": file_sha256(responses)},
        "options": dict(options or {}),
    }
    lines = [f"{key} = {_toml_value(value)}" for key, value in fields.items()]
    for table, values in tables.items():
        lines += ["", f"[{table}]", *(f"{key} = {_toml_value(value)}" for key, value in values.items())]
    text = "\n".join(lines) + "\n"
    _benchmark(tomllib.loads(text), path.parent.resolve(), str(path))  # refuse to write a file that cannot load
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return path


def load_benchmark_file(path: str | os.PathLike) -> UserBenchmark:
    """The benchmark a benchmark file describes; its data files must still have the recorded sha256."""
    path = Path(path)
    try:
        spec = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise InvalidInputError(f"cannot read benchmark file {path}: {error}") from error
    return _benchmark(spec, path.parent.resolve(), str(path))


def _benchmark(spec: dict[str, Any], root: Path, where: str) -> UserBenchmark:
    if spec.get("format") != FORMAT:
        raise InvalidInputError(f"{where}: format {spec.get('format')!r} is not {FORMAT!r}")
    missing = [k for k in ("name", "metric", "region", "stimuli", "responses") if k not in spec]
    if missing:
        raise InvalidInputError(f"{where}: missing keys {missing}")
    stimuli, responses = root / spec["stimuli"]["path"], root / spec["responses"]["path"]
    for kind, folder_or_file in (("stimuli", stimuli), ("responses", responses)):
        if not folder_or_file.exists():
            raise InvalidInputError(f"{where}: {kind} {folder_or_file} does not exist")
    for kind, actual in (("stimuli", stimuli_sha256(stimuli)), ("responses", file_sha256(responses))):
        if actual != spec[kind]["sha256"]:
            raise InvalidInputError(f"{where}: {kind} {spec[kind]['path']} changed (sha256 {actual[:12]}..., the file "
                                    f"records {spec[kind]['sha256'][:12]}...); recreate the benchmark file")
    name, region = str(spec["name"]), str(spec["region"])
    data = from_folder(stimuli, responses, region=region, identifier=name)
    options = dict(spec.get("options", {}))
    key = hashlib.sha256(json.dumps([data.sha256(), spec["metric"], spec.get("ceiling"), options, region],
                                    sort_keys=True).encode()).hexdigest()[:12]
    benchmark = data.benchmark(spec["metric"], region=region, ceiling=spec.get("ceiling"),
                               identifier=f"{name}-{key}.{region}-{spec['metric']}", **options)
    return replace(benchmark, version=int(spec.get("version", 1)), description=f"benchmark file {where}")


def _relative(target: Path, base: Path) -> str:
    try:
        return os.path.relpath(target, base.resolve())
    except ValueError:  # another drive
        return str(target)


def _toml_value(value: Any) -> str:
    """A TOML literal for a string, number, bool, list or flat table (JSON's string escapes are TOML's)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))} = {_toml_value(v)}" for k, v in value.items()) + "}"
    raise InvalidInputError(f"cannot write {value!r} ({type(value).__name__}) to a benchmark file")
