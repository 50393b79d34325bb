"""`brainalign dataset files` / `download`: each file's address, how it is checked and its local copy, without
downloading; then fetching and verifying them all."""

import hashlib

import pytest
from typer.testing import CliRunner

from brainalign.cli import app
from brainalign.data.fetch import RemoteFile
from brainalign.data.registry import DATASETS, Dataset, get_dataset, register_dataset

runner = CliRunner()


@pytest.fixture
def toy(tmp_path, monkeypatch, private_cache):
    (tmp_path / "mirror" / "toy4").mkdir(parents=True)
    (tmp_path / "mirror" / "toy4" / "pinned.txt").write_text("1 2 3")
    (tmp_path / "mirror" / "toy4" / "sha1.txt").write_text("4 5")
    monkeypatch.setenv("BRAINALIGN_MIRROR", str(tmp_path / "mirror"))

    @register_dataset
    class Toy4(Dataset):
        identifier, folder, regions = "Toy4", "toy4", ("A",)
        citation = license = species = modality = "-"
        files = (RemoteFile("pinned.txt", "http://127.0.0.1:9/pinned.txt", hashlib.sha256(b"1 2 3").hexdigest()),
                 RemoteFile("sha1.txt", "http://127.0.0.1:9/sha1.txt", sha1=hashlib.sha1(b"4 5").hexdigest()),
                 RemoteFile("form.h5", "https://example.org/form", manual=True))

    yield tmp_path / "mirror" / "toy4"
    DATASETS.unregister("Toy4")


def test_files_lists_sources_checks_and_local_copies_without_fetching(toy):
    status = get_dataset("Toy4").file_status()
    assert status["checksum"].tolist() == ["sha256 pinned", "sha1 published", "first copy trusted"]
    assert status["local"].tolist() == [str(toy / "pinned.txt"), str(toy / "sha1.txt"), ""]
    result = runner.invoke(app, ["dataset", "files", "Toy4"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "3 files, 2 here" in result.output and "missing" in result.output
    assert "get them from https://example.org/form and put them under a folder toy4/" in result.output
    get_dataset("Toy4")._fetch("sha1.txt")  # its first good use records its sha256
    assert get_dataset("Toy4").file_status()["checksum"].tolist()[1] == "sha256 recorded"


def test_download_verifies_every_file_and_names_what_is_missing(toy):
    result = runner.invoke(app, ["dataset", "download", "Toy4"], env={"COLUMNS": "200"})
    assert result.exit_code == 2 and "toy4/form.h5 is not here: download it from https://example.org/form" in \
        result.output.replace("\n", "")
    (toy / "form.h5").write_bytes(b"x")
    result = runner.invoke(app, ["dataset", "download", "Toy4"])
    assert result.exit_code == 0 and "Toy4: 3 files verified" in result.output
