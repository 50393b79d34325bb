"""A tiny randomly initialised GPT-2 with a byte-level BPE tokenizer trained on given texts, saved as a model
directory (for the surprisal and reading-time tests; nothing is downloaded)."""

from __future__ import annotations

from pathlib import Path

import torch

from brainalign.models.card import ModelCard
from brainalign.models.sources.text import _import_transformers

BOS = "<|endoftext|>"


def tiny_gpt2(directory: Path, texts: list[str], n_positions: int = 64, vocab_size: int = 300) -> ModelCard:
    """Write tokenizer and a 2-layer, 32-unit GPT-2 (seed 1234) to ``directory``; return its local card."""
    from tokenizers import ByteLevelBPETokenizer

    transformers = _import_transformers()
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(texts, vocab_size=vocab_size, min_frequency=1, special_tokens=[BOS], show_progress=False)
    tokenizer = transformers.PreTrainedTokenizerFast(tokenizer_object=bpe._tokenizer, bos_token=BOS, eos_token=BOS)
    torch.manual_seed(1234)  # not 0: unlike the seed-0 random twin
    config = transformers.GPT2Config(vocab_size=len(tokenizer), n_positions=n_positions, n_layer=2, n_embd=32,
                                     n_head=2, bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                                     architectures=["GPT2LMHeadModel"])
    transformers.GPT2LMHeadModel(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return ModelCard("tiny_gpt2", "transformers", "gpt2", "LLM", "next-word prediction", "random init", "supervised",
                     "text", sum(p.numel() for p in transformers.GPT2LMHeadModel(config).parameters()), ["h.1"],
                     n_positions, weights="local", weights_file=str(directory))
