"""Real dataset loaders on ../shared/data: shapes, orientation, descriptors, images and checksums."""

import hashlib
import io
import zipfile

import numpy as np
import pytest
import scipy.io
from PIL import Image
from scipy.stats import spearmanr

from brainalign.data.registry import get_dataset


def _published_sums(folder):
    lines = (folder / "SHA256SUMS").read_text().splitlines()
    return {path: digest for digest, path in (line.split(maxsplit=1) for line in lines if line.strip())}


@pytest.mark.parametrize("name", ["Kriegeskorte2008", "Net2Brain78", "Cowley2023"])
def test_files_match_the_published_checksums(shared_data, name):
    dataset = get_dataset(name)
    published = _published_sums(shared_data / dataset.folder)
    assert {f.path for f in dataset.files} == set(published)
    for remote, path in zip(dataset.files, dataset.download(), strict=True):
        assert hashlib.sha256(path.read_bytes()).hexdigest() == published[remote.path] == remote.sha256


def test_kriegeskorte_stimuli_are_the_92_images_of_the_mat_file(shared_data):
    stimuli = get_dataset("Kriegeskorte2008").stimulus_set()
    assert len(stimuli) == 92 and stimuli.stimulus_ids[0] == "kriegeskorte2008/img01"
    mat = scipy.io.loadmat(shared_data / "kriegeskorte2008" / "Kriegeskorte_Neuron2008_supplementalData.mat",
                           squeeze_me=True, struct_as_record=False)
    for i in (0, 91):
        np.testing.assert_array_equal(np.asarray(stimuli.load_image(i)), mat["stimuli_92objs"][i].image)
    assert stimuli.load_image(0).size == (175, 175)
    assert stimuli.metadata["is_animate"].sum() == 48 and stimuli.metadata["is_inanim"].sum() == 44
    assert stimuli.metadata["is_animate"].iloc[:48].all()  # animate images come first
    assert stimuli.metadata["category"].iloc[0] == "human bodypart"


def test_kriegeskorte_human_it_rdms_are_4_subjects_by_2_sessions(shared_data):
    hit = get_dataset("Kriegeskorte2008").rdms("hIT")
    assert hit.condensed.shape == (8, 92 * 91 // 2)
    assert list(hit.descriptors["subject"]) == ["BE", "BE", "KO", "KO", "SN", "SN", "TI", "TI"]
    assert list(hit.descriptors["session"]) == [1, 2] * 4
    squares = hit.square()
    np.testing.assert_array_equal(squares, squares.transpose(0, 2, 1))
    # the Figure-1 human IT RDM of the supplement is the average of these 8 RDMs: same order and orientation
    mat = scipy.io.loadmat(shared_data / "kriegeskorte2008" / "Kriegeskorte_Neuron2008_supplementalData.mat",
                           squeeze_me=True, struct_as_record=False)
    figure1_hit = mat["RDMs_mIT_hIT_fig1"][1].RDM
    assert spearmanr(figure1_hit, hit.condensed.mean(0)).statistic > 0.9999


def test_kriegeskorte_monkey_it_and_behavior(shared_data):
    dataset = get_dataset("Kriegeskorte2008")
    mit, behavior = dataset.rdms("mIT"), dataset.rdms("behavior")
    assert mit.n_rdms == 1 and mit.n_stimuli == 92
    assert behavior.n_rdms == 16 and behavior.descriptors["subject"].nunique() == 16
    # monkey IT separates animate from inanimate images: within-animate dissimilarities are smaller
    square = mit.square()[0]
    animate = dataset.stimulus_set().metadata["is_animate"].to_numpy()
    within = square[np.ix_(animate, animate)][np.triu_indices(48, 1)].mean()
    between = square[np.ix_(animate, ~animate)].mean()
    assert within < between


def test_net2brain_rdms_and_images(shared_data):
    dataset = get_dataset("Net2Brain78")
    stimuli = dataset.stimulus_set()
    assert len(stimuli) == 78 and stimuli.stimulus_ids[-1] == "net2brain78/image_78"
    assert stimuli.load_image(0).size == Image.open(shared_data / "net2brain78" / "stimuli" / "image_01.jpg").size
    for region in ("EVC", "IT"):
        rdm = dataset.rdms(region)
        raw = np.load(shared_data / "net2brain78" / f"fmri_{region}_RDMs.npz")["arr_0"]
        assert rdm.condensed.shape == (15, 78 * 77 // 2) and list(rdm.descriptors["subject"]) == list(range(1, 16))
        np.testing.assert_allclose(rdm.square(), raw, atol=1e-12)
        assert rdm.stimulus_ids == stimuli.stimulus_ids


def test_cowley_raw_repeats_are_stimulus_by_neuroid_by_repetition(shared_data):
    dataset = get_dataset("Cowley2023")
    raw = dataset.responses("V4")
    assert raw.dims == ("stimulus", "neuroid", "repetition") and raw.shape == (640, 50, 10)
    assert set(raw["session"].values) == {"210325"} and raw["neuroid_id"].values[0] == "210325/neuron000"
    # the authors' repeat-averaged file equals the NaN-mean over repeats of the raw file
    averaged = np.load(shared_data / "cowley2023_v4" / "responses_repeat_averaged" / "responses_210325.npy")
    np.testing.assert_allclose(np.nanmean(raw.values, axis=2), averaged.T)
    assert np.isnan(raw.values[..., -1]).any() and not np.isnan(raw.values[..., 0]).any()


def test_cowley_stimuli_follow_response_order(shared_data):
    dataset = get_dataset("Cowley2023")
    stimuli = dataset.stimulus_set(session="210305")
    responses = dataset.responses("V4", session="210305")
    assert responses.dims == ("stimulus", "neuroid") and responses.shape == (400, 70)
    assert stimuli.stimulus_ids == list(responses["stimulus_id"].values)
    assert stimuli.stimulus_ids[0] == "210305/image0001" and stimuli.load_image(0).size == (112, 112)
    with zipfile.ZipFile(shared_data / "cowley2023_v4" / "images" / "images_210305.zip") as zf:
        member = next(n for n in zf.namelist() if n.endswith("image0400.jpg"))
        assert stimuli.paths[-1].read_bytes() == zf.read(member)
        assert Image.open(io.BytesIO(zf.read(member))).size == (112, 112)
