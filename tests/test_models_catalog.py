"""The catalog: every entry is a real, runnable architecture whose card (parameters, layers) is true; search works."""

from __future__ import annotations

import pytest
import torch

from brainalign.core.errors import InvalidInputError, UnknownNameError
from brainalign.models.card import ModelCard
from brainalign.models.catalog import get_card, list_models, search_models
from brainalign.models.extractor import Extractor, list_layers
from brainalign.models.loading import load_model

SLOW_PARAMETERS = 30_000_000  # random init of bigger networks takes seconds each on a 2-core CI machine
FIXED_SIZE_FAMILIES = ("ViT", "hybrid", "MLP", "recurrent")  # patch grids / windows need the native input size


def _entry(identifier: str):
    card = get_card(identifier)
    if card.parameters > SLOW_PARAMETERS:
        return pytest.param(identifier, marks=pytest.mark.slow, id=identifier)
    return pytest.param(identifier, id=identifier)


HAND_MADE = [i for i in list_models() if get_card(i).weights != "hub"]  # hub entries: test_zoo_forward.py


@pytest.mark.parametrize("identifier", [_entry(i) for i in HAND_MADE])
def test_entry_instantiates_matches_its_card_and_runs(identifier):
    torch.set_num_threads(1)
    model = load_model(identifier)
    card = model.card
    assert sum(p.numel() for p in model.module.parameters()) == card.parameters
    assert set(card.default_layers) <= set(list_layers(model))
    if card.modality != "image":  # text / video entries run real inputs in test_models_text.py / _video.py
        return
    size = card.input_size if card.family in FIXED_SIZE_FAMILIES else 96
    extractor = Extractor(model, cache=False, progress=False)
    outputs = extractor.extract_batch(torch.rand(1, 3, size, size))
    assert list(outputs) == card.default_layers
    for values in outputs.values():
        assert values.shape[0] == 1 and values.dtype == "float32" and values.size > 0


def test_catalog_is_large_and_covers_the_taxonomy():
    table = search_models()
    assert len(table) >= 100
    assert {"CNN", "ViT", "hybrid", "MLP", "recurrent"} <= set(table.family)
    assert {"torchvision", "timm"} <= set(table.source)


def test_search_filters_on_taxonomy_and_parameters():
    table = search_models(family="cnn", training_method="random", parameters_max=2_000_000)
    assert {"squeezenet1_0", "squeezenet1_1", "lcnet_050"} <= set(table.identifier)
    assert (table.family == "CNN").all() and (table.parameters <= 2_000_000).all()
    assert set(search_models(weights="offline").identifier) == {
        "efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2", "efficientnet_lite0_frames",
        "all_minilm_l6_v2"}
    assert set(search_models(family="MLP").identifier) >= {"mixer_s16_224", "resmlp_12_224"}


def test_search_by_name_is_fuzzy_and_ranked():
    assert search_models("efficientnet_lite0").identifier.iloc[0] == "efficientnet_lite0"
    assert search_models("resnet5").identifier.iloc[0] == "resnet50"  # substring hit
    assert "swin_t" in set(search_models("swin_t").identifier)
    assert search_models("alexnett").identifier.iloc[0] == "alexnet"  # typo
    assert search_models("zzzz").empty


def test_search_rejects_unknown_filters():
    with pytest.raises(UnknownNameError, match="unknown search filter 'familly'; did you mean 'family'"):
        search_models(familly="CNN")


def test_unknown_model_and_invalid_cards_name_the_valid_choices():
    with pytest.raises(UnknownNameError, match="did you mean 'resnet50'"):
        get_card("resnet_50")
    fields = get_card("efficientnet_lite0").as_dict()
    with pytest.raises(InvalidInputError, match="training_method 'trained' is not valid; valid: supervised"):
        ModelCard(**{**fields, "training_method": "trained"})
    with pytest.raises(InvalidInputError, match="weights 'random' .* goes with training_method 'random'"):
        ModelCard(**{**fields, "weights": "random"})
    with pytest.raises(InvalidInputError, match="weights 'none' is not valid; valid: offline, random, hub, local"):
        ModelCard(**{**fields, "weights": "none"})


def test_every_entry_states_its_training_status():
    table = search_models()
    assert (table[table.weights == "hub"].training_status != "random").all()
    table = table[table.weights != "hub"]  # the hand-made entries
    untrained = table[table.weights == "random"]
    assert len(table) == 150 and len(untrained) == 145  # 146 entries before + lite1, lite2 and their twins
    assert (untrained.training_status == "random").all() and (untrained.training_method == "random").all()
    assert set(table.training_status) == {"random", "ImageNet-1k", get_card("all_minilm_l6_v2").training_data}
    for identifier in untrained.identifier:
        notes = get_card(identifier).notes
        assert "UNTRAINED" in notes or "untrained control" in notes, identifier
        if "UNTRAINED" in notes:
            assert "hub" in notes, identifier
    assert get_card("alexnet").training_status == "random"
    assert set(search_models(training_status="imagenet-1k", weights="offline").identifier) == {
        "efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2", "efficientnet_lite0_frames"}
    assert set(search_models(training_method="random").identifier) == set(untrained.identifier)


@pytest.mark.parametrize("identifier", ["efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2"])
def test_derived_random_twin_equals_the_explicit_catalog_twin(identifier):
    from brainalign.models.card import random_twin

    explicit = get_card(identifier + "_random")
    assert random_twin(get_card(identifier)) == explicit
    assert explicit.parameters == get_card(identifier).parameters


def test_any_entry_has_a_random_twin_that_loads_seeded():
    card = get_card("squeezenet1_1_random")  # not in the catalog: derived from squeezenet1_1
    assert "squeezenet1_1_random" not in list_models()
    assert (card.architecture, card.weights, card.training_method, card.training_data) == (
        "squeezenet1_1", "random", "random", "none")
    video = get_card("efficientnet_lite0_frames_random")
    assert video.modality == "video" and video.extra == get_card("efficientnet_lite0_frames").extra
    assert video.weights_file is None and video.training_status == "random"
    first, again = (load_model("squeezenet1_1_random", seed=3) for _ in range(2))
    assert first.weights_checksum == "random-seed3"
    assert torch.equal(first.module.features[0].weight, again.module.features[0].weight)
    with pytest.raises(UnknownNameError, match="unknown model 'squeezenet1_1_randm'; did you mean 'squeezenet1_1'"):
        get_card("squeezenet1_1_randm")
    with pytest.raises(UnknownNameError):
        get_card("nonexistent_net_random")
