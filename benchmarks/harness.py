"""Tiny timing harness shared by the benchmark scripts.

Each ``bench_*.py`` script times ours and a reference library in the same run and calls
:func:`write_rows`; ``run_all.py`` merges every script's rows into ``results.json`` and ``RESULTS.md``.
A row is ``{name, ours_s, reference, reference_s, ratio, check}`` where ``ratio = reference_s / ours_s``
(> 1 means we are faster) and ``check`` says how the outputs were compared.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).parent / "results"


def best_time(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    """Minimum wall time over ``repeat`` calls, and the last call's output."""
    times, out = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def row(name: str, ours_s: float, reference: str | None, reference_s: float | None, check: str, **extra: Any) -> dict:
    """One result row; ``ratio`` is reference time over ours."""
    ratio = (reference_s / ours_s) if (reference_s and ours_s) else None
    return {"name": name, "ours_s": round(ours_s, 4), "reference": reference,
            "reference_s": None if reference_s is None else round(reference_s, 4),
            "ratio": None if ratio is None else round(ratio, 2), "check": check, **extra}


def write_rows(script: str, rows: list[dict]) -> Path:
    """Write one script's rows to ``benchmarks/results/<script>.json`` and print them."""
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"{Path(script).stem}.json"
    path.write_text(json.dumps(rows, indent=2))
    for r in rows:
        print(json.dumps(r))
    return path
