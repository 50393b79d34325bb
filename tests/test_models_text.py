"""Text models: real all-MiniLM-L6-v2 embeddings (equal to sentence-transformers' own), word / sentence pooling
equal to a hand-computed reference on transformers' hidden states, cache, Net2Brain-style caption features."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from PIL import Image

from brainalign.core.errors import InvalidInputError, OfflineError, UnknownNameError
from brainalign.core.labels import align
from brainalign.data.stimuli import StimulusSet
from brainalign.models.catalog import get_card
from brainalign.models.extractor import Extractor
from brainalign.models.feature_cache import FeatureCache
from brainalign.models.loading import load_model
from brainalign.models.sources.text import model_directory

SENTENCES = ["a dog runs in the park", "a puppy is running on grass", "the stock market fell today",
             "Unbelievably, shareholders panicked!"]


@pytest.fixture(scope="module")
def minilm():
    torch.set_num_threads(2)
    return load_model("all_minilm_l6_v2")


@pytest.fixture(scope="module")
def sentences() -> StimulusSet:
    return StimulusSet("sentences", [f"s{i}" for i in range(len(SENTENCES))], texts=SENTENCES, modality="text")


@pytest.fixture(scope="module")
def reference():
    """The same model through the reference libraries: sentence-transformers and transformers' hidden states."""
    from sentence_transformers import SentenceTransformer
    from transformers import AutoModel, AutoTokenizer

    location = str(model_directory(get_card("all_minilm_l6_v2")))
    encoder = AutoModel.from_pretrained(location).eval()
    tokenizer = AutoTokenizer.from_pretrained(location)
    encoding = tokenizer(SENTENCES, padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = encoder(**encoding, output_hidden_states=True).hidden_states
    st_embeddings = SentenceTransformer(location, device="cpu").encode(SENTENCES)
    return {"hidden": [h.numpy() for h in hidden], "encoding": encoding, "sentence_embedding": st_embeddings}


def _cosine(a: np.ndarray) -> np.ndarray:
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    return a @ a.T


def test_semantic_neighbours_are_closer_than_unrelated_sentences(minilm, sentences):
    features = Extractor(minilm, layers=["sentence_embedding", "encoder.layer.5"], cache=False,
                         progress=False).extract(sentences)
    for layer in ("sentence_embedding", "encoder.layer.5"):
        similarity = _cosine(features[layer].values)
        assert similarity[0, 1] > similarity[0, 2] + 0.2 and similarity[0, 1] > similarity[1, 2] + 0.2


def test_embeddings_equal_sentence_transformers_encode(minilm, sentences, reference):
    token_mean = minilm.with_pooling(word_pooling=False, pooling="mean")
    features = Extractor(token_mean, layers=["sentence_embedding", "encoder.layer.5"], batch_size=3, cache=False,
                         progress=False).extract(sentences)
    np.testing.assert_allclose(features["sentence_embedding"].values, reference["sentence_embedding"], atol=1e-5)
    # sentence-transformers = mean over tokens of the last layer, L2-normalised
    last = features["encoder.layer.5"].values
    np.testing.assert_allclose(last / np.linalg.norm(last, axis=1, keepdims=True), reference["sentence_embedding"],
                               atol=1e-5)


@pytest.mark.parametrize(("pooling", "word_pooling"), [("mean", True), ("last", True), ("cls", True),
                                                       ("last", False)])
def test_pooling_equals_hand_computed_reference(minilm, sentences, reference, pooling, word_pooling):
    model = minilm.with_pooling(pooling=pooling, word_pooling=word_pooling)
    layers = ["embeddings", "encoder.layer.2"]
    features = Extractor(model, layers=layers, batch_size=2, cache=False, progress=False).extract(sentences)
    encoding = reference["encoding"]
    for layer, hidden in zip(layers, (reference["hidden"][0], reference["hidden"][3]), strict=True):
        expected = []
        for row in range(len(SENTENCES)):
            ids, mask = encoding.word_ids(row), encoding["attention_mask"][row].numpy().astype(bool)
            if pooling == "cls":
                expected.append(hidden[row, 0])
                continue
            if word_pooling:
                words = sorted({w for w in ids if w is not None})
                units = [hidden[row, [p for p, w in enumerate(ids) if w == word]].mean(0) for word in words]
            else:
                units = list(hidden[row, mask])
            expected.append(np.mean(units, 0) if pooling == "mean" else units[-1])
        np.testing.assert_allclose(features[layer].values, np.array(expected), atol=2e-5)


def test_multi_token_words_are_averaged(minilm, reference):
    encoding = reference["encoding"]
    ids = encoding.word_ids(3)
    assert any(ids.count(w) > 1 for w in set(ids) if w is not None)  # "Unbelievably" splits into sub-words


def test_cache_serves_text_features_and_keys_on_the_texts(minilm, sentences, tmp_path):
    cache = FeatureCache(tmp_path)
    first = Extractor(minilm, layers=["encoder.layer.1"], cache=cache, progress=False).extract(sentences)
    broken = dataclasses.replace(minilm)
    broken.batch_features = lambda *args: (_ for _ in ()).throw(AssertionError("model ran despite the cache"))
    again = Extractor(broken, layers=["encoder.layer.1"], cache=cache, progress=False).extract(sentences)
    np.testing.assert_array_equal(first["encoder.layer.1"].values, again["encoder.layer.1"].values)
    edited = StimulusSet("sentences", sentences.stimulus_ids, texts=[*SENTENCES[:-1], "a cat sleeps"],
                         modality="text")
    with pytest.raises(AssertionError, match="model ran"):
        Extractor(broken, layers=["encoder.layer.1"], cache=cache, progress=False).extract(edited)


@pytest.mark.slow
def test_captions_and_images_give_features_aligned_by_stimulus_id(minilm, tmp_path):
    """Net2Brain walkthrough: one stimulus set of images and one of their captions, same stimulus ids."""
    colours = {"red": "a red square", "green": "a green field", "blue": "a blue sky"}
    for colour in colours:
        Image.new("RGB", (64, 64), colour).save(tmp_path / f"{colour}.png")
    images = StimulusSet.from_folder(tmp_path, identifier="scenes")
    captions = StimulusSet("scenes-captions", list(reversed(images.stimulus_ids)),
                           texts=[colours[s.split("/")[1]] for s in reversed(images.stimulus_ids)], modality="text")
    image_features = Extractor("efficientnet_lite0_random", layers=["global_pool"], cache=False,
                               progress=False).extract(images)["global_pool"]
    caption_features = Extractor(minilm, layers=["sentence_embedding"], cache=False,
                                 progress=False).extract(captions)["sentence_embedding"]
    text_aligned, image_aligned = align(caption_features, image_features)
    assert list(text_aligned.stimulus_id.values) == list(image_aligned.stimulus_id.values) == images.stimulus_ids
    blue = images.stimulus_ids.index("scenes/blue")
    np.testing.assert_array_equal(text_aligned.values[blue],
                                  caption_features.values[captions.stimulus_ids.index("scenes/blue")])


def test_transformers_model_from_a_local_directory(reference, sentences):
    fields = {**get_card("all_minilm_l6_v2").as_dict(), "identifier": "minilm_dir", "source": "transformers",
              "weights": "local", "weights_file": str(model_directory(get_card("all_minilm_l6_v2"))),
              "weights_package": None, "default_layers": ["encoder.layer.3"], "extra": {"pooling": "cls"}}
    model = load_model(type(get_card("all_minilm_l6_v2"))(**fields))
    features = Extractor(model, cache=False, progress=False).extract(sentences)["encoder.layer.3"]
    np.testing.assert_allclose(features.values, reference["hidden"][4][:, 0], atol=2e-5)


def test_missing_hub_model_raises_offline_error():
    fields = {**get_card("all_minilm_l6_v2").as_dict(), "identifier": "absent", "source": "transformers",
              "architecture": "brainalign-test/no-such-model", "weights": "hub",
              "weights_file": "https://huggingface.co/brainalign-test/no-such-model", "weights_package": None}
    with pytest.raises(OfflineError, match="brainalign-test/no-such-model.*huggingface-cli download"):
        load_model(type(get_card("all_minilm_l6_v2"))(**fields))


def test_bad_inputs_name_the_modality_and_the_valid_layers(minilm, sentences, tmp_path):
    with pytest.raises(UnknownNameError, match="unknown layer 'encoder.layer.9'.*encoder.layer.5"):
        Extractor(minilm, layers=["encoder.layer.9"], cache=False)
    Image.new("RGB", (8, 8)).save(tmp_path / "a.png")
    with pytest.raises(InvalidInputError, match="holds image stimuli; model 'all_minilm_l6_v2' takes text"):
        Extractor(minilm, cache=False, progress=False).extract(StimulusSet.from_folder(tmp_path))
    with pytest.raises(InvalidInputError, match="holds text stimuli; model 'squeezenet1_1' takes image"):
        Extractor("squeezenet1_1", layers=["features.3"], cache=False, progress=False).extract(sentences)
    with pytest.raises(InvalidInputError, match="text pooling 'max' is not valid; valid: mean, last, cls"):
        minilm.with_pooling(pooling="max")


# ---- causal language models: word surprisal, random twins ----

LM_TEXT = ["The quick brown fox jumps over the lazy dog.", "Unbelievably, shareholders panicked when the market fell!"]


@pytest.fixture(scope="module")
def tiny_lm(tmp_path_factory):
    from tiny_lm import tiny_gpt2

    return load_model(tiny_gpt2(tmp_path_factory.mktemp("tiny_gpt2"), LM_TEXT, n_positions=64))


def _direct_surprisals(model, words):
    """Reference: each word tokenised on its own (with its leading space), one forward pass, −log2 softmax."""
    pieces = [model.tokenizer(w if i == 0 else " " + w, add_special_tokens=False)["input_ids"]
              for i, w in enumerate(words)]
    ids = [model.tokenizer.bos_token_id] + [t for piece in pieces for t in piece]
    with torch.no_grad():
        logits = model.module(input_ids=torch.tensor([ids])).logits[0].double().numpy()
    log_p = logits - np.log(np.exp(logits - logits.max(1, keepdims=True)).sum(1, keepdims=True)) - logits.max(
        1, keepdims=True)
    bits = np.array([-log_p[i - 1, ids[i]] / np.log(2) for i in range(1, len(ids))])
    bounds = np.cumsum([0] + [len(p) for p in pieces])
    return np.array([bits[a:b].sum() for a, b in zip(bounds[:-1], bounds[1:], strict=True)]), len(ids)


def test_word_surprisal_equals_direct_computation_from_logits(tiny_lm):
    from brainalign.models.sources.text import word_surprisals

    words = ["Unbelievably,", "the", "lazy", "fox", "jumps", "over", "shareholders!"]
    expected, n_tokens = _direct_surprisals(tiny_lm, words)
    assert n_tokens > len(words) + 3  # several words are split into more than one token
    np.testing.assert_allclose(word_surprisals(tiny_lm, words, progress=False), expected, rtol=1e-6)
    # a shorter window gives the first window's tokens the same values, and finite ones after it
    windowed = word_surprisals(tiny_lm, words, max_context=8, progress=False)
    assert np.isfinite(windowed).all() and windowed[0] == pytest.approx(expected[0], rel=1e-6)
    assert not np.allclose(windowed, expected)


def test_surprisal_needs_a_causal_lm(minilm):
    from brainalign.models.sources.text import word_surprisals

    with pytest.raises(InvalidInputError, match="not a causal language model"):
        word_surprisals(minilm, ["a", "dog"])


def test_random_twin_of_a_text_model_is_seeded_and_untrained(tiny_lm, sentences):
    card = dataclasses.replace(tiny_lm.card, identifier="tiny_gpt2_random", weights="random",
                               training_method="random")
    twin, same, other = (load_model(card, seed=s) for s in (0, 0, 1))
    assert twin.weights_checksum == "random-seed0" and twin.causal_lm
    weights = [m.module.transformer.h[0].attn.c_attn.weight.detach().numpy() for m in (tiny_lm, twin, same, other)]
    np.testing.assert_array_equal(weights[1], weights[2])
    assert not np.allclose(weights[0], weights[1]) and not np.allclose(weights[1], weights[3])
    catalog_twin = load_model("all_minilm_l6_v2_random")
    features = Extractor(catalog_twin, layers=["encoder.layer.5"], cache=False, progress=False).extract(sentences)
    assert catalog_twin.card.training_status == "random" and np.isfinite(features["encoder.layer.5"].values).all()


def test_hub_causal_lm_not_in_cache_raises_offline_error(monkeypatch, tmp_path):
    from brainalign.models.sources.text import causal_lm_card

    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setenv("BRAINALIGN_MIRROR", str(tmp_path))
    with pytest.raises(OfflineError, match="brainalign-test/no-such-lm.*huggingface-cli download"):
        load_model(causal_lm_card("brainalign-test/no-such-lm"))


def test_causal_lm_features_of_a_padded_batch_equal_each_text_alone(tiny_lm, sentences):
    model = tiny_lm.with_pooling(pooling="last")
    batch = Extractor(model, layers=["h.1"], batch_size=4, cache=False, progress=False).extract(sentences)["h.1"]
    alone = Extractor(model, layers=["h.1"], batch_size=1, cache=False, progress=False).extract(sentences)["h.1"]
    np.testing.assert_allclose(batch.values, alone.values, rtol=1e-4, atol=1e-5)
