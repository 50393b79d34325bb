"""Trained weights from the hub, through each library's own download machinery, a brainalign mirror first.

Two kinds of ``weights_file`` (``card.weights == "hub"``):

- a URL (torchvision): ``<mirror>/weights/<file name>``, else torch.hub's checkpoint folder
  (``$TORCH_HOME/hub/checkpoints``), else ``torch.hub.download_url_to_file`` with the hash prefix of the file name
  checked (``weights_sha256``: the full digest or the prefix; ``load_state_dict_from_url(check_hash=True)``
  semantics, with a progress bar);
- ``hf://<org>/<name>/<file>`` (timm) or ``hf://<org>/<name>`` (a whole model directory, transformers) at
  ``weights_revision``: ``<mirror>/<org>--<name>/<file>``, else ``huggingface_hub.hf_hub_download`` /
  ``snapshot_download`` (``HF_HOME`` / ``HF_HUB_CACHE``, ``HF_HUB_OFFLINE``, ``HF_ENDPOINT`` are read at call time).

Where the catalog publishes no checksum, the sha256 of the first good copy is recorded in
``cache_dir("weights", "sha256")`` and every later copy is checked against it (a corrupt or changed file raises
`ChecksumError`). Offline, or with the download blocked, one `OfflineError` names the URL, where to put the file
and the environment variables.

>>> from brainalign.models.card import ModelCard
>>> card = ModelCard(identifier="r", source="timm", architecture="resnet18.a1_in1k", family="CNN", task="demo",
...                  training_data="ImageNet-1k", training_method="supervised", modality="image", parameters=1,
...                  default_layers=["layer1"], input_size=224, weights="hub",
...                  weights_file="hf://timm/resnet18.a1_in1k/model.safetensors", weights_revision="main")
>>> weights_url(card)
'https://huggingface.co/timm/resnet18.a1_in1k/resolve/main/model.safetensors'
"""

from __future__ import annotations

import os
import re
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path

from brainalign.core.config import cache_dir, mirror_dirs
from brainalign.core.errors import InvalidInputError, OfflineError
from brainalign.data.fetch import ChecksumError
from brainalign.models.card import ModelCard
from brainalign.models.sources.weights import file_checksum, path_checksum

HF_SCHEME = "hf://"
DEFAULT_ENDPOINT = "https://huggingface.co"
_HASH_PREFIX = re.compile(r"-([a-f0-9]{6,64})\.")  # torch.hub's HASH_REGEX: "<name>-<sha256 prefix>.<ext>"


@dataclass(frozen=True)
class HubFile:
    """A Hugging Face hub location: ``repo_id`` (``org/name``), ``filename`` (None: the whole repository) and
    ``revision``."""

    repo_id: str
    filename: str | None
    revision: str

    @classmethod
    def parse(cls, card: ModelCard) -> HubFile:
        parts = card.weights_file.removeprefix(HF_SCHEME).split("/", 2)
        if len(parts) < 2 or not all(parts[:2]):
            raise InvalidInputError(f"model card {card.identifier!r}: weights_file {card.weights_file!r} is not "
                                    f"valid; valid: {HF_SCHEME}<org>/<name>[/<file>]")
        return cls(f"{parts[0]}/{parts[1]}", parts[2] if len(parts) == 3 else None, card.weights_revision or "main")

    @property
    def folder(self) -> str:
        """The mirror folder name (the Hugging Face cache convention without ``models--``)."""
        return self.repo_id.replace("/", "--")


def is_hf(card: ModelCard) -> bool:
    """Whether ``card``'s weights live on the Hugging Face hub (``hf://``)."""
    return bool(card.weights_file) and card.weights_file.startswith(HF_SCHEME)


def weights_url(card: ModelCard) -> str:
    """The URL the weights of ``card`` are downloaded from (no network): the URL itself, or the hub's
    ``resolve`` URL of the file (the repository page for a whole directory) under ``HF_ENDPOINT``."""
    if card.weights != "hub":
        raise InvalidInputError(f"model {card.identifier!r} has weights {card.weights!r}, not 'hub': no URL")
    if not is_hf(card):
        return card.weights_file
    hub = HubFile.parse(card)
    endpoint = os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT
    if hub.filename is None:
        return f"{endpoint.rstrip('/')}/{hub.repo_id}/tree/{hub.revision}"
    return f"{endpoint.rstrip('/')}/{hub.repo_id}/resolve/{hub.revision}/{hub.filename}"


def weights_path(card: ModelCard, progress: bool = True) -> Path:
    """A verified local copy of ``card``'s weights (a file, or a model directory for ``hf://<org>/<name>``);
    ``progress``: torch.hub's progress bar (huggingface_hub shows its own unless ``HF_HUB_DISABLE_PROGRESS_BARS``)."""
    path = _hf_path(card) if is_hf(card) else _url_path(card, progress)
    _check_recorded(card, path)
    return path


# ---- URLs (torch.hub) ----------------------------------------------------------------------------------------------

def _url_path(card: ModelCard, progress: bool) -> Path:
    import torch

    url = card.weights_file
    name = url.rsplit("/", 1)[-1]
    expected = card.weights_sha256 or _prefix_in_name(name)
    for mirror in mirror_dirs():
        candidate = mirror / "weights" / name
        if candidate.is_file():
            if expected is None or file_checksum(candidate).startswith(expected):
                return candidate
            warnings.warn(f"checksum mismatch for {candidate} (a copy of {url}): expected sha256 {expected}..., got "
                          f"{file_checksum(candidate)}; replace it with a fresh copy. Trying the next source.",
                          stacklevel=3)
    target = Path(torch.hub.get_dir()) / "checkpoints" / name
    if target.is_file():
        if expected is None or file_checksum(target).startswith(expected):
            return target
        warnings.warn(f"checksum mismatch for {target}: the cached copy of {url} is deleted and downloaded again",
                      stacklevel=3)
        target.unlink()
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        torch.hub.download_url_to_file(url, str(target), hash_prefix=expected, progress=progress)
    except RuntimeError as error:  # torch.hub: 'invalid hash value (expected "...", got "...")'
        raise ChecksumError(f"checksum mismatch for {url}: {error}; the partial file was removed, run again to "
                            "retry") from error
    except OSError as error:  # URLError, refused or reset connections, timeouts
        raise _offline(card, url, f"<mirror>/weights/{name}", target, "TORCH_HOME", error) from error
    return target


def _prefix_in_name(name: str) -> str | None:
    match = _HASH_PREFIX.search(name)
    return match.group(1) if match else None


# ---- Hugging Face hub ----------------------------------------------------------------------------------------------

def _hf_path(card: ModelCard) -> Path:
    hub = HubFile.parse(card)
    for mirror in mirror_dirs():
        candidate = mirror / hub.folder / (hub.filename or "")
        if candidate.is_file() if hub.filename else candidate.is_dir():
            return candidate
    import huggingface_hub
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    cache = os.environ.get("HF_HUB_CACHE") or Path(os.environ.get("HF_HOME") or Path.home() / ".cache" /
                                                   "huggingface") / "hub"
    options = {"revision": hub.revision, "cache_dir": str(cache), "endpoint": os.environ.get("HF_ENDPOINT"),
               "local_files_only": os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes", "on")}
    try:
        if hub.filename is None:
            return Path(huggingface_hub.snapshot_download(hub.repo_id, **options))
        return Path(huggingface_hub.hf_hub_download(hub.repo_id, hub.filename, **options))
    except (LocalEntryNotFoundError, HfHubHTTPError, OSError, ValueError) as error:
        folder = f"<mirror>/{hub.folder}" + (f"/{hub.filename}" if hub.filename else "/ (the whole repository)")
        raise _offline(card, weights_url(card), folder, cache, "HF_HOME / HF_HUB_CACHE, HF_ENDPOINT, HF_HUB_OFFLINE",
                       error) from error


# ---- recorded checksums --------------------------------------------------------------------------------------------

def recorded_sha256_file(card: ModelCard) -> Path:
    """Where the sha256 of the first good copy of ``card``'s weights is recorded (weights without a catalog digest)."""
    key = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{card.weights_file}@{card.weights_revision or ''}")
    return cache_dir("weights", "sha256") / f"{key}.sha256"


def _check_recorded(card: ModelCard, path: Path) -> None:
    """Record the sha256 of ``path`` on first use; afterwards raise `ChecksumError` when it changed."""
    if card.weights_sha256 or _prefix_in_name(card.weights_file):
        return  # a published checksum was already checked
    record = recorded_sha256_file(card)
    actual = path_checksum(path)
    if not record.is_file():
        record.write_text(actual + "\n")
        return
    expected = record.read_text().strip()
    if actual != expected:
        raise ChecksumError(
            f"checksum mismatch for {path} (weights of {card.identifier!r} from {weights_url(card)}): sha256 "
            f"{actual}, but the first download had {expected} (recorded in {record}); delete the damaged file and "
            f"run again, or delete {record} if the weights were deliberately updated upstream")


def _offline(card: ModelCard, url: str, mirror_target: str, cache: Path, variables: str,
             error: BaseException) -> OfflineError:
    searched = ", ".join(str(m) for m in mirror_dirs()) or "none set"
    root = error
    while (root.__cause__ or root.__context__) is not None:  # the network error under the library's own
        root = root.__cause__ or root.__context__
    reason = getattr(root, "reason", None) or f"{type(root).__name__}: {(str(root).splitlines() or [''])[0][:150]}"
    return OfflineError(
        f"weights of {card.identifier!r} are not available: could not download {url} to {cache} ({reason}). "
        f"Put the file at {mirror_target} with BRAINALIGN_MIRROR=<mirror> (searched: {searched}), or into that "
        f"cache ({variables}), or connect to the internet and run again")


def copy_to_mirror(card: ModelCard, mirror: str | os.PathLike) -> Path:
    """Copy the (downloaded) weights of ``card`` into ``mirror`` where `weights_path` looks first; returns the copy.

    For preparing an offline machine: ``copy_to_mirror(get_card(name), "/data/mirror")`` on a connected one.
    """
    source = weights_path(card)
    if is_hf(card):
        hub = HubFile.parse(card)
        target = Path(mirror) / hub.folder / (hub.filename or "")
    else:
        target = Path(mirror) / "weights" / card.weights_file.rsplit("/", 1)[-1]
    target.parent.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        shutil.copytree(source, target, dirs_exist_ok=True)
    else:
        shutil.copy2(source, target)
    return target
