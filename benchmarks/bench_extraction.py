"""Feature extraction: hook overhead against a bare forward pass over the same batches, and images per second.

Rows: (1) `Extractor.extract` on the default layers vs a bare loop (preprocess + `module(batch)`) over the
same decoded images (target: overhead <= 10 %); (2) an early layer only, where the extractor stops the
forward pass early; (3) end-to-end `Extractor.extract` from image files (decode + preprocess + forward + copy)
in images/s. Timings are interleaved rounds (best of each), so drift in the machine's speed hits all alike.
Images are crops of real photographs (scikit-image). Usage:
``python benchmarks/bench_extraction.py [--quick] [--device cuda] [--model efficientnet_lite0]``.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import torch
from harness import best_time, row, write_rows
from PIL import Image

from brainalign.data.stimuli import StimulusSet
from brainalign.models.extractor import Extractor
from brainalign.models.loading import load_model


def photo_crops(folder: Path, n: int, seed: int = 0) -> StimulusSet:
    """``n`` random 256-pixel crops of scikit-image's photographs, saved as PNG files."""
    import skimage.data

    photos = [getattr(skimage.data, name)() for name in ("chelsea", "coffee", "astronaut", "rocket")]
    rng = np.random.default_rng(seed)
    for i in range(n):
        photo = photos[i % len(photos)]
        top, left = (int(rng.integers(0, max(1, d - 256))) for d in photo.shape[:2])
        Image.fromarray(photo[top:top + 256, left:left + 256]).convert("RGB").save(folder / f"img{i:04d}.png")
    return StimulusSet.from_folder(folder, identifier="photo-crops")


class InMemoryImages:
    """The same stimuli with every image decoded once, so timings compare model work, not file decoding."""

    def __init__(self, stimuli: StimulusSet):
        self.identifier, self.stimulus_ids, self.modality = stimuli.identifier, stimuli.stimulus_ids, stimuli.modality
        self.images = [stimuli.load_image(i) for i in range(len(stimuli))]

    def __len__(self) -> int:
        return len(self.images)

    def load_image(self, i: int) -> Image.Image:
        return self.images[i]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few images, one repeat")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--model", default="efficientnet_lite0")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--stimuli", choices=("photos", "cowley"), default="photos")
    parser.add_argument("--precision", choices=("bfloat16", "float16"), default=None,
                        help="also time autocast to this type and report the largest feature change")
    parser.add_argument("--repeat", type=int, default=5, help="timing rounds (best of)")
    args = parser.parse_args()
    n_images, repeat = (32, 1) if args.quick else (256, args.repeat)

    model = load_model(args.model, device=args.device)
    with tempfile.TemporaryDirectory() as folder:
        if args.stimuli == "cowley":
            from brainalign.data.registry import get_dataset

            stimuli = get_dataset("Cowley2023").stimulus_set()
            stimuli = stimuli.subset(stimuli.stimulus_ids[:n_images]) if args.quick else stimuli
            n_images = len(stimuli)
        else:
            stimuli = photo_crops(Path(folder), n_images)
        decoded = InMemoryImages(stimuli)
        transform = model.preprocessing.transform

        def bare() -> None:
            with torch.inference_mode():
                for start in range(0, n_images, args.batch_size):
                    indices = range(start, min(start + args.batch_size, n_images))
                    model.module(torch.stack([transform(decoded.load_image(i)) for i in indices]).to(args.device))
            if args.device.startswith("cuda"):
                torch.cuda.synchronize()

        def extractor(layers=None) -> Extractor:
            return Extractor(model, layers=layers, batch_size=args.batch_size, cache=False, progress=False)

        default, early = extractor(), extractor([model.card.default_layers[1]])
        timed = (bare, lambda: default.extract(decoded), lambda: early.extract(decoded))
        for fn in timed:  # warm-up; the early extractor learns where to stop
            fn()
        rounds = [[best_time(fn, 1)[0] for fn in timed] for _ in range(repeat)]
        bare_s, default_s, early_s = np.min(rounds, axis=0)
        end_to_end = end_to_end_rows(model, stimuli, decoded, args, repeat)
        if args.precision:
            end_to_end.append(precision_row(model, decoded, args, repeat))

    common = {"model": args.model, "device": args.device, "images": n_images, "batch_size": args.batch_size}
    layers = len(model.card.default_layers)
    rows = [
        row(f"extraction hooks, {layers} default layers", default_s, "bare preprocess + forward loop", bare_s,
            "same decoded images", overhead=round(default_s / bare_s - 1, 3), **common),
        row(f"extraction of {early.layers[0]} (early stop)", early_s, "bare preprocess + forward loop", bare_s,
            "same decoded images", **common),
        *(dict(r, **common) for r in end_to_end),
    ]
    write_rows(__file__, rows)


def end_to_end_rows(model, stimuli: StimulusSet, decoded: InMemoryImages, args, repeat: int) -> list[dict]:
    """`Extractor.extract` from the files (decoding in the calling thread, then in worker threads) against a bare
    forward loop over the same images already decoded and preprocessed: images/s and their ratio."""
    transform, n = model.preprocessing.transform, len(stimuli)
    batches = [torch.stack([transform(decoded.load_image(i)) for i in range(start, min(start + args.batch_size, n))])
               for start in range(0, n, args.batch_size)]

    def bare_forward() -> None:
        with torch.inference_mode():
            for batch in batches:
                model.module(batch.to(args.device))
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()

    serial = Extractor(model, batch_size=args.batch_size, cache=False, progress=False, workers=0)
    threaded = Extractor(model, batch_size=args.batch_size, cache=False, progress=False, workers=2)
    timed = (bare_forward, lambda: serial.extract(stimuli), lambda: threaded.extract(stimuli))
    rounds = [[best_time(fn, 1)[0] for fn in timed] for _ in range(repeat)]
    forward_s, serial_s, threaded_s = np.min(rounds, axis=0)
    return [
        row(f"extraction end to end, {label}", seconds, "bare forward loop on decoded, preprocessed tensors",
            forward_s, "images per second", images_per_s=round(n / seconds, 1),
            forward_images_per_s=round(n / forward_s, 1), fraction_of_bare=round(forward_s / seconds, 3))
        for label, seconds in (("decoding in the calling thread (workers=0, the CPU default)", serial_s),
                               (f"decoding in {threaded.workers} worker threads (the GPU default)", threaded_s))
    ]


def precision_row(model, decoded: InMemoryImages, args, repeat: int) -> dict:
    """Autocast extraction against float32 on the same decoded images: time and the largest feature change."""
    full = Extractor(model, batch_size=args.batch_size, cache=False, progress=False)
    reduced = Extractor(model, batch_size=args.batch_size, cache=False, progress=False, precision=args.precision)
    full_s, full_features = best_time(lambda: full.extract(decoded), repeat)
    reduced_s, reduced_features = best_time(lambda: reduced.extract(decoded), repeat)
    change = {layer: float(np.abs(reduced_features[layer].values - full_features[layer].values).max()
                           / np.abs(full_features[layer].values).max()) for layer in full_features}
    return row(f"extraction with {args.precision} autocast", reduced_s, "float32", full_s,
               "largest feature change relative to the layer's largest magnitude",
               relative_change={layer: round(value, 5) for layer, value in change.items()})


if __name__ == "__main__":
    main()
