"""Peak memory of scoring one NSD ROI of an NSD-scale subject through the Algonauts-layout loader.

A subject is generated on disk in the Algonauts 2023 layout: ``{lh,rh}_training_fmri.npy`` of 10,000 images ×
20,000 vertices each (float32, 1.6 GB together: the size of a real subject, ~9,800 × 39,500), ROI maps with 1,000
V1 vertices per hemisphere, 10,000 image files (empty: scoring never opens them), NSD's ncsnr files and
experiment design. A fresh child process then loads the V1 responses with `NSD.responses` (memory-mapped, ROI
columns only) and scores them by 5-fold ridge against 100 synthetic features (the V1 betas are a noisy linear
readout of them); its peak RSS is read with ``os.wait4`` (``ru_maxrss``). Target: well under 8 GB.
Usage: ``python benchmarks/bench_nsd_memory.py [--quick]`` (``--quick``: 2,000 images × 5,000 vertices).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from harness import row, write_rows

N_FEATURES = 100
N_ROI = 1000  # V1 vertices per hemisphere
N_FSAVERAGE = 163_842


def make_subject(root: Path, n_images: int, n_vertices: int) -> None:
    """subj01 in the Algonauts layout under ``root/nsd_algonauts2023`` (written in blocks of rows)."""
    import nibabel
    import scipy.io

    folder = root / "nsd_algonauts2023" / "subj01"
    for sub in ("training_split/training_fmri", "training_split/training_images", "roi_masks", "ncsnr"):
        (folder / sub).mkdir(parents=True)
    rng = np.random.default_rng(0)
    features = rng.normal(size=(n_images, N_FEATURES)).astype(np.float32)
    np.save(root / "features.npy", features)
    for h in ("lh", "rh"):
        visual = np.zeros(n_vertices, dtype=np.int64)
        visual[rng.choice(n_vertices, N_ROI, replace=False)] = rng.integers(1, 3, size=N_ROI)  # V1v / V1d
        np.save(folder / f"roi_masks/{h}.prf-visualrois_challenge_space.npy", visual)
        np.save(folder / f"roi_masks/{h}.streams_challenge_space.npy", np.zeros(n_vertices, dtype=np.int64))
        in_challenge = np.zeros(N_FSAVERAGE)
        in_challenge[:n_vertices] = 1
        np.save(folder / f"roi_masks/{h}.all-vertices_fsaverage_space.npy", in_challenge)
        ncsnr = rng.uniform(0.2, 1.0, size=N_FSAVERAGE).astype(np.float32)
        nibabel.save(nibabel.MGHImage(ncsnr.reshape(-1, 1, 1), np.eye(4)), folder / f"ncsnr/{h}.ncsnr.mgh")
        weights = rng.normal(size=(N_FEATURES, n_vertices)).astype(np.float32) / np.sqrt(N_FEATURES)
        fmri = np.lib.format.open_memmap(folder / f"training_split/training_fmri/{h}_training_fmri.npy", mode="w+",
                                         dtype=np.float32, shape=(n_images, n_vertices))
        for start in range(0, n_images, 500):
            block = features[start:start + 500]
            fmri[start:start + 500] = block @ weights + rng.normal(size=(len(block), n_vertices)).astype(np.float32)
        fmri.flush()
        del fmri
    for i in range(n_images):
        (folder / f"training_split/training_images/train-{i + 1:05d}_nsd-{i:05d}.png").touch()
    scipy.io.savemat(root / "nsd_algonauts2023" / "nsd_expdesign.mat", {"sharedix": np.arange(1, 1001)[None]})


def worker(root: str, out: str) -> None:
    from brainalign.core.labels import make_features
    from brainalign.data.datasets.nsd import NSD
    from brainalign.metrics.registry import get_metric

    start = time.perf_counter()
    dataset = NSD()
    responses = dataset.responses("V1")
    load_s = time.perf_counter() - start
    features = make_features(np.load(Path(root) / "features.npy"), responses["stimulus_id"].values)
    score = get_metric("ridge")(features, responses, ceiling=dataset.ceiling("V1"))
    Path(out).write_text(json.dumps({"load_s": load_s, "shape": list(responses.shape), "raw": score.raw,
                                     "value": score.value, "seconds": time.perf_counter() - start}))


def main(quick: bool) -> None:
    n_images, n_vertices = (2_000, 5_000) if quick else (10_000, 20_000)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        start = time.perf_counter()
        make_subject(root, n_images, n_vertices)
        make_s = time.perf_counter() - start
        out = root / "result.json"
        env = {**os.environ, "BRAINALIGN_MIRROR": str(root), "BRAINALIGN_CACHE": str(root / "cache")}
        child = subprocess.Popen([sys.executable, __file__, "--worker", str(root), str(out)], env=env)
        _, status, usage = os.wait4(child.pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit("worker failed")
        result = json.loads(out.read_text())
    peak_gb = usage.ru_maxrss / 1024 ** 2  # Linux: KiB
    on_disk_gb = 2 * n_images * n_vertices * 4 / 1024 ** 3
    check = (f"peak RSS {peak_gb:.2f} GB (target well under 8 GB) for a {on_disk_gb:.1f} GB subject on disk; V1 "
             f"{result['shape'][0]} x {result['shape'][1]} loaded in {result['load_s']:.1f} s; ridge raw r "
             f"{result['raw']:.2f}, normalised {result['value']:.2f}; generating the files took {make_s:.0f} s")
    write_rows(__file__, [row(f"NSD V1 of a {n_images} x {2 * n_vertices} subject: memory-mapped load + ridge",
                              result["seconds"], None, None, check, peak_rss_gb=round(peak_gb, 3),
                              subject_on_disk_gb=round(on_disk_gb, 2), quick=quick)])


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        worker(sys.argv[2], sys.argv[3])
    else:
        main("--quick" in sys.argv)
