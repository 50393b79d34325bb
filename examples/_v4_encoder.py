"""What both in-silico examples share: their command line, and an encoder fitted on 80 % of a Cowley2023 V4 session.

Imported by the example scripts beside it (``python examples/insilico_*.py`` puts this folder on ``sys.path``).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from brainalign.data.registry import get_dataset
from brainalign.insilico import EncodingModel
from brainalign.insilico.experiments import held_out_split


def parse_args(description: str, **extra: Any) -> argparse.Namespace:
    """The shared options (``--output``, ``--model``, ``--layer``, ``--session``) plus ``extra`` integer options."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--output", type=Path, default=Path("insilico_output"))
    parser.add_argument("--model", default="efficientnet_lite0")
    parser.add_argument("--layer", default="blocks.3")
    parser.add_argument("--session", default="210325")
    for name, default in extra.items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=int, default=default)
    args = parser.parse_args()
    args.output.mkdir(parents=True, exist_ok=True)
    return args


def fit_on_held_out_split(args: argparse.Namespace) -> tuple[EncodingModel, Any, Any, Any, Any]:
    """An encoder fitted on 80 % of the session's images: (encoder, train stimuli, train responses, held-out
    stimuli, held-out responses)."""
    dataset = get_dataset("Cowley2023")
    train_stimuli, train_responses, test_stimuli, test_responses = held_out_split(
        dataset.stimulus_set(args.session), dataset.responses("V4", args.session), 0.8)
    encoder = EncodingModel.fit(args.model, [args.layer], train_stimuli, train_responses,
                                dataset={"name": "Cowley2023", "region": "V4", "session": args.session})
    return encoder, train_stimuli, train_responses, test_stimuli, test_responses
