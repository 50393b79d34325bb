"""Text models (Hugging Face transformers, sentence-transformers): hidden states per layer, pooled per sentence.

Each layer's (text, token, unit) output is pooled in two steps: tokens → words (sub-word tokens of a word
averaged, using the tokenizer's word ids; special and padding tokens dropped) when ``word_pooling``, then
over the sentence: ``mean`` of the words (or tokens), the ``last`` one, or ``cls`` (the first token, BERT's
[CLS]). Weights come offline from an installed package, from a local directory, or from a mirror / the
Hugging Face cache — never downloaded at run time; ``<id>_random`` twins take the trained model's configuration and
tokenizer with a seeded random initialisation. Causal language models (a config whose architecture ends in
``ForCausalLM`` / ``LMHeadModel``, e.g. GPT-2) are loaded with their head, so `word_surprisals` can read out the
surprisal of each word given the preceding text (Brain-Score language's reading-times task).

>>> import torch
>>> hidden = torch.tensor([[[1.0], [2.0], [4.0], [9.0]]])  # [CLS] play ##ing [SEP]
>>> pool_tokens(hidden, torch.ones(1, 4), [[None, 0, 0, None]], TextPreprocessing(pooling="mean")).tolist()
[[3.0]]
>>> pool_tokens(hidden, torch.ones(1, 4), [[None, 0, 0, None]], TextPreprocessing(word_pooling=False)).tolist()
[[4.0]]
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from brainalign.core.config import mirror_dirs
from brainalign.core.errors import InvalidInputError, OfflineError
from brainalign.models.card import RANDOM_SUFFIX, ModelCard
from brainalign.models.compat import import_torchvision
from brainalign.models.sources.base import SourceModel
from brainalign.models.sources.hooks import read_layers
from brainalign.models.sources.registry import MODEL_SOURCES
from brainalign.models.sources.weights import offline_weights_path, path_checksum

POOLINGS = ("mean", "last", "cls")
SENTENCE_EMBEDDING = "sentence_embedding"  # the extra layer of sentence-transformers: its own pooled output


@dataclass(frozen=True)
class TextPreprocessing:
    """Tokenisation length and pooling; every field changes the features (part of the cache key)."""

    max_length: int = 128
    word_pooling: bool = True
    pooling: str = "mean"

    def __post_init__(self) -> None:
        if self.pooling not in POOLINGS:
            raise InvalidInputError(f"text pooling {self.pooling!r} is not valid; valid: {', '.join(POOLINGS)}")
        if self.max_length < 1:
            raise InvalidInputError(f"max_length must be >= 1; got {self.max_length}")

    def as_dict(self) -> dict[str, Any]:
        """Every parameter that changes the features."""
        return dataclasses.asdict(self)


def pool_tokens(
    hidden: torch.Tensor, attention_mask: torch.Tensor, word_ids: Sequence[Sequence[int | None]],
    preprocessing: TextPreprocessing,
) -> torch.Tensor:
    """(text, unit) sentence vectors from (text, token, unit) hidden states (see the module docstring)."""
    if preprocessing.pooling == "cls":
        return hidden[:, 0]
    n, n_tokens = hidden.shape[:2]
    mask = attention_mask.to(hidden.device, torch.bool)
    if preprocessing.word_pooling:
        n_words = 1 + max((w for ids in word_ids for w in ids if w is not None), default=0)
        assign = torch.zeros(n, n_words, n_tokens, dtype=hidden.dtype, device=hidden.device)
        for row, ids in enumerate(word_ids):
            for position, word in enumerate(ids):
                if word is not None and mask[row, position]:
                    assign[row, word, position] = 1.0
    else:
        assign = torch.diag_embed(mask.to(hidden.dtype))
    counts = assign.sum(-1)  # (text, unit-of-sentence)
    units = (assign @ hidden) / counts.clamp(min=1)[..., None]
    present = counts > 0
    if preprocessing.pooling == "mean":
        return units.sum(1) / present.sum(1, keepdim=True).clamp(min=1)
    last = present.shape[1] - 1 - present.flip(1).to(torch.int8).argmax(1)
    return units[torch.arange(n, device=hidden.device), last]


@dataclass
class TextModel(SourceModel):
    """A text encoder: ``module`` is called on the tokenised batch; layers are the submodules of ``hook_root``
    (the transformer), plus ``sentence_embedding`` for sentence-transformers models."""

    tokenizer: Any = None
    hook_root: torch.nn.Module | None = None
    sentence_transformer: bool = False
    causal_lm: bool = False

    def layer_names(self) -> list[str]:
        names = [name for name, _ in self.hook_root.named_modules() if name]
        return [*names, SENTENCE_EMBEDDING] if self.sentence_transformer else names

    def with_pooling(self, **changes: Any) -> TextModel:
        """The same model with other ``TextPreprocessing`` fields (``pooling``, ``word_pooling``, ``max_length``)."""
        return dataclasses.replace(self, preprocessing=dataclasses.replace(self.preprocessing, **changes))

    def batch_features(self, stimuli: Any, indices: Sequence[int], layers: Sequence[str]) -> dict[str, np.ndarray]:
        if stimuli.texts is None:
            raise InvalidInputError(f"stimulus set {stimuli.identifier!r} has no texts for model {self.identifier!r}")
        prep = self.preprocessing
        encoding = self.tokenizer([stimuli.texts[i] for i in indices], padding=True, truncation=True,
                                  max_length=prep.max_length, return_tensors="pt")
        word_ids = [encoding.word_ids(row) for row in range(len(indices))]
        inputs = {key: value.to(self.device) for key, value in encoding.items()}
        n_tokens = inputs["input_ids"].shape[1]

        def readout(tensor: torch.Tensor) -> torch.Tensor:
            if tensor.ndim == 3 and tensor.shape[1] == n_tokens:  # (text, token, unit): pool to one vector
                return pool_tokens(tensor, inputs["attention_mask"], word_ids, prep)
            return tensor

        def run() -> Any:
            return self.module(inputs) if self.sentence_transformer else self.module(**inputs)

        hooked = [layer for layer in layers if layer != SENTENCE_EMBEDDING]
        features, output = read_layers(self.hook_root, run, hooked, readout)
        if SENTENCE_EMBEDDING in layers:
            features[SENTENCE_EMBEDDING] = output[SENTENCE_EMBEDDING].to("cpu", torch.float32).numpy()
        return {layer: features[layer] for layer in layers}


def word_surprisals(model: TextModel, words: Sequence[str], max_context: int | None = None,
                    progress: bool = True) -> np.ndarray:
    """Surprisal (bits) of each word given the words before it: the sum over the word's tokens of −log2 p(token).

    The words are joined with single spaces and tokenised once; tokens are assigned to words by their character
    offsets. A beginning-of-sequence token, when the tokenizer has one, gives the first word a context; without it
    the first word's surprisal is NaN. Texts longer than ``max_context`` tokens (default: the model's maximum) are
    read in overlapping windows, each token predicted from at least half a window of preceding tokens.

    >>> transformers = _import_transformers()
    >>> from tokenizers import Tokenizer, models, pre_tokenizers
    >>> vocab = {"<s>": 0, "the": 1, "cat": 2, "sat": 3}
    >>> tok = Tokenizer(models.WordLevel(vocab, unk_token="<s>")); tok.pre_tokenizer = pre_tokenizers.Whitespace()
    >>> tokenizer = transformers.PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>")
    >>> lm = transformers.GPT2LMHeadModel(transformers.GPT2Config(vocab_size=4, n_layer=1, n_embd=8, n_head=2))
    >>> card = ModelCard("toy-lm", "transformers", "gpt2", "LLM", "next-word prediction", "none", "random", "text",
    ...                  0, ["h.0"], 16)
    >>> model = TextModel(card, lm.eval(), TextPreprocessing(), "", tokenizer=tokenizer, causal_lm=True)
    >>> s = word_surprisals(model, ["the", "cat", "sat"], progress=False); s.shape, bool((s > 0).all())
    ((3,), True)
    """
    if not getattr(model, "causal_lm", False):
        raise InvalidInputError(f"model {model.identifier!r} is not a causal language model (no next-token head); "
                                "surprisal needs e.g. GPT-2 (a config architecture ending in LMHeadModel/ForCausalLM)")
    if not words:
        return np.zeros(0)
    text = " ".join(words)
    starts = np.cumsum([0] + [len(w) + 1 for w in words[:-1]])
    encoding = model.tokenizer(text, return_offsets_mapping=True, add_special_tokens=False)
    ids = list(encoding["input_ids"])
    # a token belongs to the word of its last character; a lone space token to the word that follows it
    owner = [int(np.searchsorted(starts, end if text[end - 1] == " " else end - 1, side="right") - 1)
             for _, end in encoding["offset_mapping"]]
    bos = model.tokenizer.bos_token_id
    if bos is not None:
        ids, owner = [bos, *ids], [-1, *owner]
    token_bits = _token_surprisals(model, ids, max_context, progress)
    surprisal = np.zeros(len(words))
    np.add.at(surprisal, np.asarray(owner[1:]), token_bits[1:])
    if bos is None:
        surprisal[owner[0]] = np.nan
    return surprisal


def _token_surprisals(model: TextModel, ids: list[int], max_context: int | None, progress: bool) -> np.ndarray:
    """−log2 p(token i | tokens before it) for i ≥ 1 (NaN at 0), in windows of at most ``max_context`` tokens."""
    config = model.module.config
    limit = getattr(config, "n_positions", None) or getattr(config, "max_position_embeddings", None) or len(ids)
    window = max(2, min(max_context or limit, limit))
    bits = np.full(len(ids), np.nan)
    done, end = 1, min(len(ids), window)
    with torch.no_grad(), tqdm(total=len(ids), desc="surprisal", unit="token", disable=not progress) as bar:
        while done < len(ids):
            begin = max(0, end - window)
            tokens = torch.tensor([ids[begin:end]], device=model.device)
            logits = model.module(input_ids=tokens).logits[0, :-1].double()
            log_p = torch.log_softmax(logits, dim=-1).gather(1, tokens[0, 1:, None])[:, 0]
            values = (-log_p / np.log(2)).cpu().numpy()  # surprisal of tokens begin+1 .. end-1
            bits[done:end] = values[done - begin - 1:]
            bar.update(end - done)
            done, end = end, min(len(ids), end + max(1, window // 2))
    return bits


@MODEL_SOURCES.register("transformers")
@MODEL_SOURCES.register("sentence-transformers")
def load_text_model(card: ModelCard, device: str = "cpu", seed: int = 0) -> TextModel:
    """Tokenizer and encoder of a text card, in eval mode, with pooling from ``card.extra``
    (``pooling``, ``word_pooling``, ``max_length``; defaults: mean over words, 128 tokens). ``weights = "random"``
    (the ``<id>_random`` twin): the trained model's configuration and tokenizer, parameters drawn with ``seed``.
    Causal language models come with their head (``causal_lm``), their transformer is the hooked root."""
    random = card.weights == "random"
    location = _random_twin_source(card) if random else model_directory(card)
    transformers = _import_transformers()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if card.source == "sentence-transformers":
            from sentence_transformers import SentenceTransformer

            module = SentenceTransformer(str(location), device="cpu", local_files_only=True)
            if random:
                module[0].auto_model = transformers.AutoModel.from_config(module[0].auto_model.config)
            tokenizer, hook_root, causal = module.tokenizer, module[0].auto_model, False
        else:
            tokenizer = transformers.AutoTokenizer.from_pretrained(location, local_files_only=True)
            config = transformers.AutoConfig.from_pretrained(location, local_files_only=True)
            causal = is_causal_lm(config)
            auto = transformers.AutoModelForCausalLM if causal else transformers.AutoModel
            module = (auto.from_config(config) if random
                      else auto.from_pretrained(location, local_files_only=True))
            hook_root = module.base_model if causal else module
            if tokenizer.pad_token is None:  # GPT-2 has none; padded positions are masked out of the pooling
                tokenizer.pad_token = tokenizer.eos_token
    preprocessing = TextPreprocessing(**{k: v for k, v in card.extra.items() if k in ("max_length", "word_pooling",
                                                                                       "pooling")})
    checksum = f"random-seed{seed}" if random else path_checksum(location)
    return TextModel(card, module.eval().to(device), preprocessing, checksum, device, tokenizer=tokenizer,
                     hook_root=hook_root, sentence_transformer=card.source != "transformers", causal_lm=causal)


def causal_lm_card(hub_id: str, n_layers: int = 12, max_length: int = 1024) -> ModelCard:
    """A card for a Hugging Face hub causal language model (e.g. ``"gpt2"``, ``"distilgpt2"``), found in a mirror
    directory or the Hugging Face cache when loaded (else `OfflineError` with the download command); default layers
    are its ``h.<i>`` blocks (GPT-2 naming).

    >>> card = causal_lm_card("distilgpt2", n_layers=6); card.identifier, card.weights, card.default_layers[-1]
    ('distilgpt2', 'hub', 'h.5')
    """
    return ModelCard(hub_id.replace("/", "--"), "transformers", hub_id, "LLM", "next-word prediction",
                     "web text (see the model's hub card)", "self-supervised", "text", 0,
                     [f"h.{i}" for i in range(n_layers)], max_length, weights="hub", weights_file=hub_id,
                     extra={"max_length": max_length, "pooling": "last"})


def is_causal_lm(config: Any) -> bool:
    """Whether a transformers config describes a next-token model (GPT-2's ``GPT2LMHeadModel``, ``*ForCausalLM``).

    >>> from types import SimpleNamespace
    >>> is_causal_lm(SimpleNamespace(architectures=["GPT2LMHeadModel"]))
    True
    >>> is_causal_lm(SimpleNamespace(architectures=["BertModel"])), is_causal_lm(SimpleNamespace(architectures=None))
    (False, False)
    """
    return any(name.endswith(("ForCausalLM", "LMHeadModel")) for name in getattr(config, "architectures", None) or ())


def _random_twin_source(card: ModelCard) -> Path:
    """Where a random twin's configuration and tokenizer are: its own ``weights_file`` directory, else the files of
    the trained card it is the twin of."""
    if card.weights_file:
        return Path(card.weights_file)
    from brainalign.models.catalog import get_card

    trained = card.identifier.removesuffix(RANDOM_SUFFIX)
    if trained == card.identifier:
        raise InvalidInputError(f"random text model {card.identifier!r} needs a weights_file directory with its "
                                f"config and tokenizer, or an identifier ending in {RANDOM_SUFFIX!r}")
    return model_directory(get_card(trained))


def model_directory(card: ModelCard) -> Path:
    """Where the files of a text model are: inside its package (``offline``), at ``weights_file`` (``local``), or
    for ``hub`` models (``architecture`` = hub id) in a mirror directory (``<org>--<name>``) or the Hugging Face
    cache; else `OfflineError` saying where to put them."""
    if card.weights == "offline":
        return offline_weights_path(card)
    if card.weights == "local":
        path = Path(card.weights_file or "")
        if not path.is_dir():
            raise InvalidInputError(f"model {card.identifier!r}: model directory {path} does not exist")
        return path
    if card.weights != "hub":
        raise InvalidInputError(f"text model {card.identifier!r}: weights {card.weights!r} cannot be loaded; "
                                "valid: offline, local, hub")
    mirrored = [folder / card.architecture.replace("/", "--") for folder in mirror_dirs()]
    for folder in mirrored:
        if folder.is_dir():
            return folder
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        return Path(snapshot_download(card.architecture, local_files_only=True))
    except (LocalEntryNotFoundError, OSError, ValueError) as error:
        raise OfflineError(
            f"text model {card.identifier!r} ({card.architecture}) is neither in the Hugging Face cache "
            f"({os.environ.get('HF_HOME', '~/.cache/huggingface')}) nor in a mirror directory "
            f"({', '.join(map(str, mirrored)) or 'set BRAINALIGN_MIRROR'}); on a machine with internet run "
            f"`huggingface-cli download {card.architecture}` or copy the model directory there"
        ) from error


def _import_transformers() -> ModuleType:
    import_torchvision()  # transformers imports torchvision, which needs the CPU-torch shim first
    import transformers

    transformers.logging.set_verbosity_error()  # no "weights not used" chatter in feature runs
    return transformers
