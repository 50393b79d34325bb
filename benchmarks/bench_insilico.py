"""In-silico generation throughput: an encoder over all 50 V4 neurons of Cowley2023 session 210325.

The encoder (efficientnet_lite0 ``blocks.3`` → 50 neurons, per-neuron ridge) is fitted on 200 images, then
`EncodingModel.generate` runs on the session's images in batches on the CPU (stimuli/s). The reference is the
extraction alone (`Extractor.extract`, same layer, batch size and images), so ``ratio`` shows what the linear map
and labelling add (ratio < 1: generate is slower by that factor). Usage:
``python benchmarks/bench_insilico.py [--quick]`` (needs ../shared/data or BRAINALIGN_MIRROR).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
import torch
from harness import best_time, row, write_rows

os.environ.setdefault("BRAINALIGN_MIRROR", str(Path(__file__).resolve().parents[1].parent / "shared" / "data"))

from brainalign.data.registry import get_dataset  # noqa: E402
from brainalign.insilico import EncodingModel  # noqa: E402
from brainalign.models.extractor import Extractor  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="128 images instead of 512")
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    dataset = get_dataset("Cowley2023")
    stimuli, responses = dataset.stimulus_set("210325"), dataset.responses("V4", "210325")
    train = stimuli.subset(stimuli.stimulus_ids[:200])
    encoder = EncodingModel.fit("efficientnet_lite0", ["blocks.3"], train,
                                responses.isel(stimulus=slice(0, 200)), batch_size=args.batch_size)
    n = 128 if args.quick else 512
    new = stimuli.subset(stimuli.stimulus_ids[-n:])
    ours_s, generated = best_time(lambda: encoder.generate(new, batch_size=args.batch_size), repeat=2)
    extractor = Extractor("efficientnet_lite0", ["blocks.3"], batch_size=args.batch_size, cache=False,
                          progress=False)
    reference_s, features = best_time(lambda: extractor.extract(new)["blocks.3"], repeat=2)
    expected = np.asarray(features.values) @ encoder.coef + encoder.intercept
    difference = float(np.abs(generated.values - expected).max())
    write_rows(__file__, [row(
        f"insilico generate {n} images x 50 V4 neurons (efficientnet_lite0 blocks.3, CPU, {torch.get_num_threads()} "
        "threads)", ours_s, "Extractor.extract only", reference_s,
        f"generate == features @ coef + intercept, max |diff| {difference:.1e}",
        stimuli_per_s=round(n / ours_s, 1))])


if __name__ == "__main__":
    main()
