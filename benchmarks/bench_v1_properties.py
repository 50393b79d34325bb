"""One full Marques2020 V1 property suite (15 benchmarks + the composite) on efficientnet_lite0 at one layer.

Times the recording (receptive-field mapping with 3,528 gratings, then the 864 orientation, 2,112 spatial-frequency
and 1,728 size gratings, each with a blank, through the network up to the layer; into an empty cache) and then the
15 property scores (estimation, 1,000 bootstrap samples and the neurons' ceiling each).

Usage: ``python benchmarks/bench_v1_properties.py [--quick] [--layer blocks.1]``; ``--quick``: the quick protocol
(1,184 gratings) and at most 100 units.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time

from harness import row, write_rows


def main(quick: bool, layer: str) -> None:
    os.environ["BRAINALIGN_CACHE"] = tempfile.mkdtemp(prefix="bench-v1-")  # nothing cached: time everything
    from brainalign.benchmarks.v1_properties import COMPOSITE, V1Recording

    start = time.perf_counter()
    recording = V1Recording("efficientnet_lite0", layer, max_units=100 if quick else None, quick=quick)
    data = recording.data
    recorded_s = time.perf_counter() - start
    start = time.perf_counter()
    score = COMPOSITE(recording)
    scored_s = time.perf_counter() - start
    units = len(data["units"])
    write_rows(__file__, [
        row(f"V1 recording efficientnet_lite0 {layer} ({units} units)", recorded_s, None, None,
            f"{len(data['orientation'][0]) + len(data['spatial_frequency'][0]) + len(data['size'][0])} property "
            f"gratings + {484 if quick else 3528} receptive-field gratings", quick=quick),
        row(f"V1 15 property scores + composite ({units} units)", scored_s, None, None,
            f"composite={score.value:.4f}", quick=quick, total_s=round(recorded_s + scored_s, 1)),
    ])


if __name__ == "__main__":
    arguments = sys.argv[1:]
    main("--quick" in arguments, arguments[arguments.index("--layer") + 1] if "--layer" in arguments else "blocks.1")
