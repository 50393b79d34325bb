"""CLIP-style models: both towers of tiny random CLIP and SigLIP models — image features equal a direct forward
of the vision tower, text features equal a direct forward of the text tower — layers of the wrong tower named,
the Extractor on image and text stimulus sets, and the seeded random twin."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from brainalign.core.errors import InvalidInputError
from brainalign.data.stimuli import StimulusSet
from brainalign.models.card import ModelCard, random_twin
from brainalign.models.compat import import_torchvision
from brainalign.models.extractor import Extractor
from brainalign.models.loading import load_model

import_torchvision()
transformers = pytest.importorskip("transformers")
tokenizers = pytest.importorskip("tokenizers")

CLIP_MEAN, CLIP_STD = (0.4815, 0.4578, 0.4082), (0.2686, 0.2613, 0.2758)
WORDS = ["a", "red", "cat", "dog", "on", "the", "mat", "sits", "blue", "car"]
TEXTS = ["a red cat", "the dog sits on the mat", "blue car", "a cat on a mat"]


def _tokenizer():
    vocab = {"[PAD]": 0, "[UNK]": 1, "[EOS]": 2, **{w: i + 3 for i, w in enumerate(WORDS)}}
    model = tokenizers.Tokenizer(tokenizers.models.WordLevel(vocab, unk_token="[UNK]"))
    model.pre_tokenizer = tokenizers.pre_tokenizers.Whitespace()
    return transformers.PreTrainedTokenizerFast(tokenizer_object=model, pad_token="[PAD]", unk_token="[UNK]",
                                                eos_token="[EOS]")


def _towers(vocab: int) -> dict:
    small = dict(hidden_size=16, intermediate_size=32, num_hidden_layers=2, num_attention_heads=2)
    return dict(text_config=dict(small, vocab_size=vocab, max_position_embeddings=16, pad_token_id=0,
                                 eos_token_id=2, bos_token_id=1),
                vision_config=dict(small, image_size=32, patch_size=8))


@pytest.fixture(scope="module")
def mirror(tmp_path_factory):
    root = tmp_path_factory.mktemp("mirror")
    torch.manual_seed(0)
    for name, model in (("clip", transformers.CLIPModel(transformers.CLIPConfig(**_towers(13), projection_dim=8))),
                        ("siglip", transformers.SiglipModel(transformers.SiglipConfig(**_towers(13))))):
        model.save_pretrained(root / f"test--{name}")
        _tokenizer().save_pretrained(root / f"test--{name}")
    return root


def _card(name: str, mirror, **fields) -> ModelCard:
    base = dict(identifier=f"tiny_{name}", source="clip", architecture=f"test/{name}", family="multimodal",
                task="image-text contrastive", training_data="none", training_method="contrastive",
                modality="multimodal", parameters=0, default_layers=["vision_model.encoder.layers.1"],
                input_size=32, resize_size=36, mean=CLIP_MEAN, std=CLIP_STD, interpolation="bicubic",
                weights="local", weights_file=str(mirror / f"test--{name}"))
    return ModelCard(**{**base, **fields})


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> StimulusSet:
    folder = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    for i in range(5):
        Image.fromarray(rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)).save(folder / f"im{i}.png")
    return StimulusSet.from_folder(folder, identifier="noise")


@pytest.fixture(scope="module")
def texts() -> StimulusSet:
    return StimulusSet("captions", [f"t{i}" for i in range(len(TEXTS))], texts=TEXTS, modality="text")


def _pixels(images: StimulusSet) -> torch.Tensor:
    transforms = import_torchvision().transforms
    pipeline = transforms.Compose([
        transforms.Resize(36, interpolation=transforms.InterpolationMode.BICUBIC), transforms.CenterCrop(32),
        transforms.ToTensor(), transforms.Normalize(CLIP_MEAN, CLIP_STD)])
    return torch.stack([pipeline(Image.open(p).convert("RGB")) for p in images.paths])


@pytest.mark.parametrize(("name", "embedding"), [("clip", "visual_projection"), ("siglip", "vision_model.head")])
def test_image_tower_features_equal_a_direct_forward_pass(mirror, images, name, embedding):
    model = load_model(_card(name, mirror), device="cpu")
    layers = ["vision_model.encoder.layers.1", embedding]
    features = model.batch_features(images, range(len(images)), layers)
    with torch.no_grad():
        out = model.module.vision_model(pixel_values=_pixels(images), output_hidden_states=True)
        expected = out.pooler_output if name == "siglip" else model.module.visual_projection(out.pooler_output)
    np.testing.assert_allclose(features[layers[0]], out.hidden_states[2].mean(1).numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(features[embedding], expected.numpy(), rtol=1e-4, atol=1e-5)
    flat = model.with_pooling(token_pooling="none").batch_features(images, [0], layers[:1])[layers[0]]
    np.testing.assert_allclose(flat[0], out.hidden_states[2][0].flatten().numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(("name", "embedding"), [("clip", "text_projection"), ("siglip", "text_model.head")])
def test_text_tower_features_equal_a_direct_forward_pass(mirror, texts, name, embedding):
    model = load_model(_card(name, mirror), device="cpu")
    layers = ["text_model.encoder.layers.0", embedding]
    features = model.batch_features(texts, range(len(texts)), layers)
    encoding = model.tokenizer(TEXTS, padding=True, return_tensors="pt")
    with torch.no_grad():
        out = model.module.text_model(input_ids=encoding["input_ids"], attention_mask=encoding["attention_mask"],
                                      output_hidden_states=True)
        expected = out.pooler_output if name == "siglip" else model.module.text_projection(out.pooler_output)
    last = encoding["attention_mask"].sum(1) - 1  # right padding: the last real token of each text
    np.testing.assert_allclose(features[layers[0]], out.hidden_states[1][torch.arange(len(TEXTS)), last].numpy(),
                               rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(features[embedding], expected.numpy(), rtol=1e-4, atol=1e-5)


def test_layers_of_the_other_tower_are_named(mirror, images, texts):
    model = load_model(_card("clip", mirror), device="cpu")
    assert set(model.layer_names()) == set(model.tower_layers("image")) | set(model.tower_layers("text"))
    with pytest.raises(InvalidInputError, match="cannot read image stimuli"):
        model.batch_features(images, [0], ["text_projection"])
    with pytest.raises(InvalidInputError, match="cannot read text stimuli"):
        model.batch_features(texts, [0], ["vision_model.encoder.layers.0"])


def test_extractor_reads_images_and_texts(mirror, images, texts):
    model = load_model(_card("clip", mirror), device="cpu")
    on_images = Extractor(model, layers=["visual_projection"], cache=False, progress=False, batch_size=2)
    on_texts = Extractor(model, layers=["text_projection"], cache=False, progress=False, batch_size=3)
    image_features, text_features = on_images.extract(images), on_texts.extract(texts)
    assert image_features["visual_projection"].shape == (5, 8) and text_features["text_projection"].shape == (4, 8)
    np.testing.assert_allclose(text_features["text_projection"].values,
                               model.batch_features(texts, range(4), ["text_projection"])["text_projection"],
                               rtol=1e-5, atol=1e-6)
    sounds = StimulusSet("s", ["x"], paths=[images.paths[0]], modality="audio")
    with pytest.raises(InvalidInputError, match="takes image or text stimuli"):
        on_images.extract(sounds)


def test_random_twin_is_seeded_and_differs_from_the_trained_weights(mirror, images, monkeypatch):
    monkeypatch.setenv("BRAINALIGN_MIRROR", str(mirror))
    twin = random_twin(_card("clip", mirror))
    first, again = load_model(twin, device="cpu", seed=2), load_model(twin, device="cpu", seed=2)
    trained = load_model(_card("clip", mirror), device="cpu")
    assert first.weights_checksum == "random-seed2"
    layer = ["visual_projection"]
    a, b = (m.batch_features(images, [0, 1], layer)[layer[0]] for m in (first, again))
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, trained.batch_features(images, [0, 1], layer)[layer[0]])
