"""Listing datasets never downloads: Geirhos2021's info without a mirror holding its manifest."""

import urllib.request

import pytest

from brainalign.core.errors import OfflineError
from brainalign.data.datasets.geirhos2021 import Geirhos2021


def _no_download(*args, **kwargs):
    raise AssertionError(f"listing tried to download {args[:1]}")


def test_geirhos_info_without_mirror_does_not_download(monkeypatch, private_cache):
    monkeypatch.setenv("BRAINALIGN_MIRROR", "")
    monkeypatch.setattr(urllib.request, "urlopen", _no_download)
    info = Geirhos2021().info()
    assert info["identifier"] == "Geirhos2021" and info["n_files"] is None and info["regions"] == ["behavior"]
    with pytest.raises(OfflineError, match="BRAINALIGN_MIRROR to a folder holding geirhos2021/SHA256SUMS"):
        Geirhos2021().download()


def test_geirhos_info_with_mirror_counts_files(shared_data, monkeypatch):
    monkeypatch.setattr(urllib.request, "urlopen", _no_download)
    sums = (shared_data / "geirhos2021" / "SHA256SUMS").read_text().splitlines()
    assert Geirhos2021().info()["n_files"] == 1 + sum(1 for line in sums if line.strip())


def test_cli_list_datasets_without_mirror_lists_every_dataset(monkeypatch, private_cache):
    from typer.testing import CliRunner

    from brainalign.cli import app
    from brainalign.data.registry import list_datasets

    monkeypatch.setenv("BRAINALIGN_MIRROR", "")
    monkeypatch.setattr(urllib.request, "urlopen", _no_download)
    result = CliRunner().invoke(app, ["list", "datasets"], env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    for name in list_datasets():
        assert name[:12] in result.output
