"""Dataset registry: lookup, listing, errors naming valid choices, and the base-class contract (no real data)."""

import hashlib

import pytest

from brainalign.core.errors import InvalidInputError, UnknownNameError
from brainalign.data.fetch import RemoteFile
from brainalign.data.registry import DATASETS, Dataset, get_dataset, list_datasets, register_dataset


@pytest.fixture
def toy_dataset(tmp_path, monkeypatch):
    (tmp_path / "toy").mkdir()
    (tmp_path / "toy" / "values.txt").write_text("1 2 3")
    monkeypatch.setenv("BRAINALIGN_MIRROR", str(tmp_path))

    @register_dataset
    class Toy(Dataset):
        identifier = "Toy"
        folder = "toy"
        citation = "nobody"
        license = "CC0"
        species = "none"
        modality = "text file"
        regions = ("A", "B")
        files = (RemoteFile("values.txt", "http://127.0.0.1:9/values.txt", hashlib.sha256(b"1 2 3").hexdigest()),)

    yield Toy
    DATASETS.unregister("Toy")


def test_builtin_datasets_are_listed():
    assert {"Kriegeskorte2008", "Net2Brain78", "Cowley2023"} <= set(list_datasets())


def test_unknown_dataset_suggests_the_close_name():
    with pytest.raises(UnknownNameError, match="did you mean 'Kriegeskorte2008'.*Net2Brain78"):
        get_dataset("kriegeskorte2008")


def test_unknown_region_names_valid_regions():
    with pytest.raises(UnknownNameError, match="unknown region 'V1'.*behavior, hIT, mIT"):
        get_dataset("Kriegeskorte2008").rdms("V1")
    with pytest.raises(UnknownNameError, match="unknown region 'IT'.*V4"):
        get_dataset("Cowley2023").responses("IT")


def test_unsupported_calls_say_what_to_use_instead():
    with pytest.raises(InvalidInputError, match=r"only RDMs.*rdms\('hIT'\)"):
        get_dataset("Kriegeskorte2008").responses("hIT")
    with pytest.raises(InvalidInputError, match=r"not RDMs.*responses\('V4'\)"):
        get_dataset("Cowley2023").rdms("V4")


def test_bad_selection_names_valid_choices():
    with pytest.raises(UnknownNameError, match="unknown Cowley2023 session '999999'.*210325"):
        get_dataset("Cowley2023").responses("V4", session="999999")
    with pytest.raises(UnknownNameError, match="selection key 'subject'.*session"):
        get_dataset("Cowley2023").stimulus_set(subject="x")
    with pytest.raises(UnknownNameError, match="selection key 'subject'"):
        get_dataset("Net2Brain78").stimulus_set(subject=1)


def test_info_describes_every_builtin_dataset():
    for name in list_datasets():
        info = get_dataset(name).info()
        assert info["identifier"] == name and info["regions"] and info["n_files"] == len(get_dataset(name).files)
        assert info["citation"] and info["license"] and info["species"]


def test_remote_addresses_point_at_pinned_commits():
    for name in ("Kriegeskorte2008", "Net2Brain78", "Cowley2023"):
        for remote in get_dataset(name).files:
            assert remote.url.startswith("https://raw.githubusercontent.com/")
            assert len(remote.sha256) == 64 and set(remote.sha256) <= set("0123456789abcdef")
            assert remote.url.split("/")[4] not in ("main", "master")


def test_a_registered_dataset_uses_the_base_class_contract(toy_dataset):
    toy = get_dataset("Toy")
    assert "Toy" in list_datasets()
    assert toy.download()[0].read_text() == "1 2 3"
    with pytest.raises(InvalidInputError, match="no stimulus set"):
        toy.stimulus_set()
    with pytest.raises(InvalidInputError, match="only RDMs"):
        toy.responses("A")
    with pytest.raises(UnknownNameError, match="unknown region 'C'"):
        toy.rdms("C")


def test_registering_another_loader_under_a_taken_name_is_an_error(toy_dataset):
    with pytest.raises(InvalidInputError, match="dataset 'Toy' is already registered"):
        @register_dataset
        class Impostor(Dataset):
            identifier = "Toy"
    assert get_dataset("Toy").folder == "toy"  # the first loader is kept, not silently replaced


def test_loader_modules_import_first_in_a_fresh_process_without_a_cycle():
    import os
    import subprocess
    import sys

    code = ("import brainalign.data.datasets.cowley2023 as m, brainalign.data.registry as r; "
            "print(r.get_dataset('Cowley2023').identifier, r.DATASETS.get('Cowley2023') is m.Cowley2023)")
    result = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, env=os.environ,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["Cowley2023", "True"]


def test_the_datasets_guide_lists_every_registered_dataset():
    from pathlib import Path

    guide = (Path(__file__).parents[1] / "docs" / "datasets.md").read_text()
    missing = [name for name in list_datasets() if f"`{name.split('-')[0].split('.')[0]}" not in guide]
    assert not missing, f"docs/datasets.md does not describe {missing}"
