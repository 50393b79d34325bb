"""Bonner & Epstein (2017) scenes on a generated miniature of Net2Brain's ``bonner_pnas2017.zip``: a top-level
``bonner_pnas2017/`` folder with ``stimuli_data/`` (images) and ``brain_data/`` (one ``.npz`` per ROI, ``arr_0``
of shape (subjects, n, n)), plus folders the loader must ignore (``etc/``, ``brain_data_live_study/``, ``__MACOSX``)."""

from __future__ import annotations

import io
import urllib.error
import urllib.request
import zipfile

import numpy as np
import pytest
from PIL import Image
from scipy.spatial.distance import pdist, squareform
from scipy.stats import spearmanr

from brainalign.benchmarks.scenes import BONNER2017_BENCHMARKS
from brainalign.core.errors import InvalidInputError, OfflineError, UnknownNameError
from brainalign.core.labels import make_features
from brainalign.data.datasets.bonner2017 import NET2BRAIN_URL, Bonner2017, region_file
from brainalign.data.fetch import ChecksumError
from brainalign.metrics.registry import get_metric

N_IMAGES, N_SUBJECTS = 12, 5
NAMES = [f"scene{i}.jpg" for i in range(1, N_IMAGES + 1)]  # natural order: scene2 before scene10


def _npz(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, array)  # Net2Brain's format: the array under numpy's default key arr_0
    return buffer.getvalue()


def _jpeg(shade: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (shade, 0, 0)).save(buffer, format="JPEG")
    return buffer.getvalue()


def _write_zip(path, rdms: dict[str, np.ndarray]) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        for i, name in enumerate(NAMES):
            zf.writestr(f"bonner_pnas2017/stimuli_data/{name}", _jpeg(10 * i))
        for region, values in rdms.items():
            zf.writestr(f"bonner_pnas2017/brain_data/{region}.npz", _npz(values))
        zf.writestr("bonner_pnas2017/brain_data_live_study/PPA.npz", _npz(np.zeros((2, 3, 3))))
        zf.writestr("bonner_pnas2017/etc/ADE_val_00001193.jpg", _jpeg(0))
        zf.writestr("__MACOSX/bonner_pnas2017/stimuli_data/._scene1.jpg", b"\0")


@pytest.fixture
def bonner(tmp_path, monkeypatch, private_cache):
    rng = np.random.default_rng(0)
    latents = rng.normal(size=(N_IMAGES, 6))  # the scenes' shared geometry
    rdms = {region: np.stack([squareform(pdist(latents + 0.7 * rng.normal(size=latents.shape), "correlation"))
                              for _ in range(N_SUBJECTS)]) for region in ("EVC", "OPA", "PPA")}
    (tmp_path / "mirror" / "bonner2017").mkdir(parents=True)
    archive = tmp_path / "mirror" / "bonner2017" / "bonner_pnas2017.zip"
    _write_zip(archive, rdms)
    monkeypatch.setenv("BRAINALIGN_MIRROR", str(tmp_path / "mirror"))

    def no_network(url, *args, **kwargs):
        raise urllib.error.URLError("no network in tests")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    return archive, rdms, latents


def test_rdms_and_images_from_the_zip(bonner):
    _, rdms, _ = bonner
    dataset = Bonner2017()
    opa = dataset.rdms("OPA")
    assert opa.n_rdms == N_SUBJECTS and opa.n_stimuli == N_IMAGES
    np.testing.assert_allclose(opa.square(), rdms["OPA"], atol=1e-12)
    assert opa.descriptors["subject"].tolist() == [1, 2, 3, 4, 5]
    stimuli = dataset.stimulus_set()
    assert stimuli.stimulus_ids == opa.stimulus_ids
    assert stimuli.stimulus_ids[:3] == ["bonner2017/scene1", "bonner2017/scene2", "bonner2017/scene3"]
    assert stimuli.stimulus_ids[-1] == "bonner2017/scene12" and len(stimuli.paths) == N_IMAGES
    assert Image.open(stimuli.paths[1]).getpixel((4, 4))[0] == pytest.approx(10, abs=3)  # scene2, not etc/ADE...
    assert dataset.rdm_files() == ["EVC.npz", "OPA.npz", "PPA.npz"]  # brain_data_live_study/ is not brain_data/
    with pytest.raises(UnknownNameError, match="unknown region 'RSC'"):
        dataset.rdms("RSC")


def test_rsa_benchmark_equals_direct_spearman_over_subjects(bonner):
    _, rdms, latents = bonner
    benchmark = next(b for b in BONNER2017_BENCHMARKS if b.identifier == "Bonner2017.PPA-rsa")
    ids = Bonner2017().stimulus_set().stimulus_ids
    features = make_features(latents, ids)
    score = benchmark(features)
    model = pdist(latents, "correlation")  # the protocol: correlation-distance model RDM, Spearman per subject
    per_subject = [spearmanr(model, squareform(subject, checks=False)).statistic for subject in rdms["PPA"]]
    np.testing.assert_allclose(score.per_split, per_subject, atol=1e-6)
    assert score.raw == pytest.approx(np.mean(per_subject), abs=1e-6)
    direct = get_metric("rsa")(features, Bonner2017().rdms("PPA"))
    assert (score.value, score.raw, score.ceiling) == (direct.value, direct.raw, direct.ceiling)
    assert score.extra["ceiling_reliable"] and score.value == pytest.approx(score.raw / score.ceiling)


def test_checksum_mismatch_and_offline_miss_are_named(bonner, tmp_path, monkeypatch):
    archive, rdms, _ = bonner
    Bonner2017().rdms("EVC")  # the first good copy: its sha256 is recorded
    _write_zip(archive, {region: values[:2] for region, values in rdms.items()})
    with pytest.warns(UserWarning, match="bonner_pnas2017.zip"), \
            pytest.raises(ChecksumError, match=r"checksum mismatch for .*mirror/bonner2017/bonner_pnas2017.zip"):
        Bonner2017().rdms("EVC")
    monkeypatch.setenv("BRAINALIGN_MIRROR", str(tmp_path / "empty"))
    monkeypatch.setenv("BRAINALIGN_CACHE", str(tmp_path / "fresh-cache"))
    with pytest.raises(OfflineError, match=rf"could not download {NET2BRAIN_URL} .*put it at .*"
                                           r"empty/bonner2017/bonner_pnas2017.zip"):
        Bonner2017().stimulus_set()


def test_region_files_must_match_exactly_one_name():
    assert region_file(["(fMRI) EVC.npz", "(fMRI) OPA.npz"], "EVC") == "(fMRI) EVC.npz"
    with pytest.raises(InvalidInputError, match=r"no RDM file\(s\) of region 'PPA' .*\['EVC.npz'\]"):
        region_file(["EVC.npz"], "PPA")
    with pytest.raises(InvalidInputError, match="2 RDM file"):
        region_file(["OPA.npz", "OPA_left.npz"], "OPA")
    with pytest.raises(InvalidInputError, match="no RDM file"):
        region_file(["PPAx.npz"], "PPA")  # a word, not a substring
