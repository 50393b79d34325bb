"""Peak memory of scoring every conv and block layer of a ResNet-50 with streaming extraction + projection.

Model: torchvision resnet50, seeded random init (catalog ``resnet50``); layers: every ``Conv2d`` and every
``Bottleneck`` block (69 layers, about 21 million units per image). Stimuli: synthetic 224 × 224 images
generated on the fly from a 12-number latent per image (a seeded low-frequency colour pattern; never
written to disk), each with its own id. Each layer is reduced on the fly by a sparse random projection to
1,000 dimensions (fitted on 2 separate synthetic images) and streamed into a chunked HDF5 store; each
layer is then scored by 5-fold ridge against 20 synthetic neuroids (a linear readout of the latents + noise).

Every size runs in a fresh child process whose peak RSS is read with ``os.wait4`` (``ru_maxrss``); the row
also gives what the raw features of all layers would take in memory (what an in-memory extractor allocates).
Default: 500 and 2,000 images (target peak ≤ 8 GB, and no growth with n; on 2 CPU cores 10,000 images take
hours, so ``--sizes 2000 10000`` is the run for a bigger machine); ``--quick``: 200 and 500 images.
Usage: ``python benchmarks/bench_extraction_memory.py [--quick] [--sizes N ...]`` (``--sizes`` last).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from harness import row, write_rows
from PIL import Image

N_COMPONENTS = 1000
N_LATENTS = 12
N_NEUROIDS = 20


@dataclass
class SyntheticImages:
    """A stimulus set whose images are made on demand from a seeded latent per stimulus (no files)."""

    identifier: str
    n: int
    modality: str = "image"

    @property
    def stimulus_ids(self) -> list[str]:
        return [f"{self.identifier}/{i:05d}" for i in range(self.n)]

    def __len__(self) -> int:
        return self.n

    def latent(self, i: int) -> np.ndarray:
        return np.random.default_rng([zlib.crc32(self.identifier.encode()), i]).normal(size=N_LATENTS)

    def load_image(self, i: int) -> Image.Image:
        pattern = (127.5 + 50 * self.latent(i)).clip(0, 255).astype(np.uint8).reshape(2, 2, 3)
        return Image.fromarray(pattern).resize((224, 224), Image.BILINEAR)

    def fingerprint(self) -> str:
        return f"synthetic-{self.identifier}-{self.n}"


def scored_layers(module) -> list[str]:
    """Names of every Conv2d and Bottleneck module, in definition order."""
    import torch
    from torchvision.models.resnet import Bottleneck

    return [name for name, m in module.named_modules() if isinstance(m, (torch.nn.Conv2d, Bottleneck))]


def worker(n: int, cache_dir: str, out: str) -> None:
    from brainalign.core.labels import make_responses
    from brainalign.mapping.reduction import SparseRandomProjection
    from brainalign.metrics.registry import get_metric
    from brainalign.models.extractor import Extractor
    from brainalign.models.feature_cache import FeatureCache
    from brainalign.models.loading import load_model
    from brainalign.models.projection import Projection

    model = load_model("resnet50")
    layers = scored_layers(model.module)
    stimuli = SyntheticImages("synthetic", n)
    projection = Projection(lambda: SparseRandomProjection(N_COMPONENTS, seed=0), SyntheticImages("fit", 2))
    start = time.perf_counter()
    extractor = Extractor(model, layers=layers, batch_size=32, cache=FeatureCache(cache_dir), progress=False,
                          projection=projection)
    stores = extractor.extract_stores(stimuli)
    extraction_s = time.perf_counter() - start
    latents = np.stack([stimuli.latent(i) for i in range(n)])
    rng = np.random.default_rng(0)
    targets = latents @ rng.normal(size=(N_LATENTS, N_NEUROIDS)) + 0.5 * rng.normal(size=(n, N_NEUROIDS))
    responses = make_responses(targets, stimuli.stimulus_ids)
    ridge = get_metric("ridge")
    scores = {}
    for layer, store in stores.items():
        with store:
            scores[layer] = ridge(store.to_features(), responses).raw
    units = sum(extractor.extract_batch(extractor.model.preprocessing.transform(stimuli.load_image(0))[None],
                                        layers)[layer].shape[1] for layer in layers)
    Path(out).write_text(json.dumps({"layers": len(layers), "units": units, "extraction_s": extraction_s,
                                     "best_layer": max(scores, key=scores.get), "best_r": max(scores.values())}))


def run_size(n: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        start = time.perf_counter()
        child = subprocess.Popen([sys.executable, __file__, "--worker", str(n), tmp, str(out)])
        _, status, usage = os.wait4(child.pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"worker for {n} images failed")
        result = json.loads(out.read_text())
        result.update(seconds=time.perf_counter() - start, peak_gb=usage.ru_maxrss / 1024 ** 2)  # Linux: KiB
    return result


def main(quick: bool, sizes: list[int] | None = None) -> None:
    rows = []
    for n in sizes or ((200, 500) if quick else (500, 2_000)):
        r = run_size(n)
        raw_gb = n * r["units"] * 4 / 1024 ** 3
        check = (f"peak RSS {r['peak_gb']:.2f} GB (target <= 8 GB) vs {raw_gb:.1f} GB of raw float32 features "
                 f"for {r['layers']} layers in memory; extraction {n / r['extraction_s']:.1f} img/s; "
                 f"best layer {r['best_layer']} (ridge r {r['best_r']:.2f})")
        rows.append(row(f"resnet50 {r['layers']} layers x {n} images, streamed + SRP-{N_COMPONENTS}", r["seconds"],
                        None, None, check, peak_rss_gb=round(r["peak_gb"], 3), raw_features_gb=round(raw_gb, 1),
                        n_images=n, quick=quick))
    write_rows(__file__, rows)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        worker(int(sys.argv[2]), sys.argv[3], sys.argv[4])
    else:
        sizes = [int(a) for a in sys.argv[sys.argv.index("--sizes") + 1:]] if "--sizes" in sys.argv else None
        main("--quick" in sys.argv, sizes)
