"""Publication-ready plots of results tables (the CSV that `brainalign score` writes).

>>> import pandas as pd, tempfile, pathlib
>>> table = pd.DataFrame({"model": ["m", "m"], "layer": ["l1", "l2"], "benchmark": ["B.x-rsa"] * 2,
...                       "raw": [0.1, 0.3], "error": [0.01, 0.02], "ceiling_raw_units": [0.5, 0.5]})
>>> out = plot_layer_scores(table, pathlib.Path(tempfile.mkdtemp()) / "fig.png")
>>> out.exists()
True
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd


def plot_layer_scores(table: pd.DataFrame, path: str | Path, *, dpi: int = 150, format: str | None = None) -> Path:
    """One panel per benchmark: raw score per layer for each model (± error), noise ceiling dashed.

    Layers keep the order in which they first appear in ``table``; ``format`` (e.g. ``"png"``) overrides the
    file suffix.
    """
    benchmarks = list(dict.fromkeys(table["benchmark"]))
    n_cols = min(3, len(benchmarks))
    n_rows = math.ceil(len(benchmarks) / n_cols)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(4.6 * n_cols, 3.6 * n_rows), squeeze=False)
    for ax, benchmark in zip(axes.flat, benchmarks, strict=False):  # the grid may have spare axes
        part = table[table["benchmark"] == benchmark]
        layers = list(dict.fromkeys(part["layer"]))
        for model, rows in part.groupby("model", sort=False):
            rows = rows.set_index("layer").reindex(layers)
            status = rows["weights"].dropna().iloc[0] if "weights" in rows and rows["weights"].notna().any() else ""
            label = f"{model} ({status})" if status else model
            ax.errorbar(range(len(layers)), rows["raw"], yerr=rows["error"], marker="o", capsize=2, label=label)
        ceiling = part["ceiling_raw_units"].dropna()
        if not ceiling.empty:
            reliable = bool(part["normalised"].any()) if "normalised" in part else True
            ax.axhline(float(ceiling.iloc[0]), color="grey", linestyle="--" if reliable else ":",
                       label="noise ceiling" if reliable else "noise ceiling (subjects disagree)")
            ax.legend(fontsize=7, loc="lower right")
        ax.axhline(0, color="black", linewidth=0.5)
        ax.set_title(benchmark, fontsize=10)
        ax.set_xticks(range(len(layers)), layers, rotation=45, ha="right", fontsize=8)
        ax.set_ylabel(f"raw score ({_raw_units(part)})")
    for ax in list(axes.flat)[len(benchmarks):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=8)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, format=format)
    plt.close(fig)
    return path


def _raw_units(part: pd.DataFrame) -> str:
    """The statistic of ``raw`` (the ``units`` column without its ceiling normalisation; ``r`` when absent)."""
    if "units" not in part or part["units"].dropna().empty:
        return "r"
    return str(part["units"].dropna().iloc[0]).split("/")[0].replace("r·|r|", "r")
