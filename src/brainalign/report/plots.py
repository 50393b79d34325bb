"""Publication plots of results tables (the CSV that `brainalign score` writes, or a store's table).

Each ``plot_*`` function draws on ``ax`` (a new figure's axes when omitted) and returns it; ``save_plot`` writes
a figure of one panel per benchmark as PNG, PDF or SVG. ``value`` picks the plotted column: ``"score"`` (in the
row's ``units``, ceiling-normalised where the benchmark has a ceiling) or ``"raw"`` (the metric's statistic).

* the noise ceiling is a band from its lower to its upper bound (column ``ceiling_upper``, in raw units, as
  ``Score.extra["ceiling_upper"]`` of RSA); a ceiling without an upper bound is a dashed line, one the metric
  declined (subjects disagree, ``normalised`` False) a dotted line;
* error bars are the confidence interval (``ci_low``, ``ci_high``, in score units) when the table has one,
  else the ``error`` column (SEM over splits, raw units);
* stars mark ``p_value`` < .05 / .01 / .001; `plot_best` draws brackets between models from a table of pairwise
  comparisons (``model_a, model_b, p_value``, e.g. `brainalign.stats.compare.compare_scores`), as Net2Brain does;
* time courses need a ``time_point`` column (one row per model, layer, benchmark and time point); rows of
  time-resolved benchmarks as `brainalign score` writes them (``time_course`` and ``time_points`` JSON lists)
  are expanded into such rows by `time_course_rows`.

>>> import pandas as pd, tempfile, pathlib
>>> table = pd.DataFrame({"model": ["m", "m"], "layer": ["l1", "l2"], "benchmark": ["B.x-rsa"] * 2,
...                       "raw": [0.1, 0.3], "error": [0.01, 0.02], "ceiling_raw_units": [0.5, 0.5]})
>>> out = plot_layer_scores(table, pathlib.Path(tempfile.mkdtemp()) / "fig.png")
>>> out.exists()
True
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from brainalign.core.errors import InvalidInputError

Value = Literal["score", "raw"]
KINDS = ("layers", "best", "heatmap", "time")
TIME = "time_point"
_PEAK_ONLY = ("error", "ci_low", "ci_high", "p_value")  # statistics of a time course's peak, not of each point
_CEILING_STYLE: dict[str, Any] = {"color": "grey", "alpha": 0.25, "linewidth": 0}


def significance_stars(p_value: float) -> str:
    """``***`` for p < .001, ``**`` < .01, ``*`` < .05, ``""`` otherwise (and for NaN).

    >>> [significance_stars(p) for p in (0.0005, 0.004, 0.03, 0.2, float("nan"))]
    ['***', '**', '*', '', '']
    """
    if not p_value < 0.05:
        return ""
    return "***" if p_value < 0.001 else "**" if p_value < 0.01 else "*"


def units_label(table: pd.DataFrame, value: Value = "score") -> str:
    """The axis label of ``value``: the table's ``units`` (raw: without the ceiling normalisation).

    >>> units_label(pd.DataFrame({"units": ["ρ/ceiling"]})), units_label(pd.DataFrame({"units": ["ρ/ceiling"]}), "raw")
    ('score (ρ/ceiling)', 'raw score (ρ)')
    """
    units = [str(u) for u in dict.fromkeys(table["units"].dropna())] if "units" in table else []
    if value == "raw":
        raw = dict.fromkeys(u.split("/")[0].replace("r·|r|", "r").removeprefix("(") for u in units) or {"r": None}
        return f"raw score ({', '.join(raw)})"
    return f"score ({', '.join(units)})" if units else "score"


def ceiling_bounds(rows: pd.DataFrame, value: Value = "score") -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper noise-ceiling bound of each row in the units of ``value`` (NaN: no ceiling).

    Raw units: ``ceiling_raw_units`` to ``ceiling_upper`` (the lower bound again when absent). Score units, for
    normalised rows: 1 (100 for percent units) to that times ``ceiling_upper / ceiling``; unnormalised rows have
    ``score == raw``, so their raw bounds.
    """
    n = len(rows)
    low = _column(rows, "ceiling_raw_units")
    upper = _column(rows, "ceiling_upper")
    high = np.where(np.isnan(upper), low, upper)
    if value == "raw":
        return low, high
    normalised = (rows["normalised"].fillna(False).astype(bool).to_numpy() if "normalised" in rows
                  else ~np.isnan(_column(rows, "ceiling")))
    percent = rows["units"].astype(str).str.contains("%").to_numpy() if "units" in rows else np.zeros(n, bool)
    unit = np.where(percent, 100.0, 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(np.isnan(upper), 1.0, upper / _column(rows, "ceiling"))
    return np.where(normalised, unit, low), np.where(normalised, unit * ratio, high)


def error_bars(rows: pd.DataFrame, value: Value = "score") -> np.ndarray | None:
    """``(2, n)`` distances below and above each plotted value: the CI for scores, else ``error`` (when it is in
    the plotted units); ``None`` when the table has neither."""
    y = _column(rows, value)
    if value == "score" and "ci_low" in rows and rows["ci_low"].notna().any():
        return np.abs(np.vstack([y - _column(rows, "ci_low"), _column(rows, "ci_high") - y]))
    if "error" not in rows:
        return None
    error = _column(rows, "error")
    if value == "score":  # the SEM is in raw units: only meaningful where score == raw
        error = np.where(np.isclose(y, _column(rows, "raw"), equal_nan=True), error, np.nan)
    return np.vstack([error, error])


def plot_layers(table: pd.DataFrame, benchmark: str | None = None, *, ax: Axes | None = None, value: Value = "score",
                style: Literal["bars", "lines"] = "bars", stars: bool = True) -> Axes:
    """Score per layer of each model on one benchmark: bars (or lines) with error bars, the ceiling as a band,
    stars for significant layers. Layers keep the order in which they first appear."""
    part = _one_benchmark(table, benchmark)
    ax = ax if ax is not None else _new_axes()
    layers = list(dict.fromkeys(part["layer"]))
    models = list(dict.fromkeys(part["model"]))
    width = 0.8 / len(models)
    for i, model in enumerate(models):
        rows = part[part["model"] == model].drop_duplicates("layer", keep="last").set_index("layer").reindex(layers)
        x = np.arange(len(layers)) + ((i - (len(models) - 1) / 2) * width if style == "bars" else 0.0)
        y, err = _column(rows, value), error_bars(rows, value)
        if style == "bars":
            ax.bar(x, y, width=width, label=_label(model, rows))
            ax.errorbar(x, y, yerr=err, fmt="none", ecolor="black", capsize=2, linewidth=0.8)
        else:
            ax.errorbar(x, y, yerr=err, marker="o", capsize=2, label=_label(model, rows))
        if stars and "p_value" in rows:
            _stars(ax, x, y, err, _column(rows, "p_value"))
    _ceiling(ax, part, value, (-0.5, len(layers) - 0.5))
    ax.axhline(0, color="black", linewidth=0.5)
    ax.set_xticks(range(len(layers)), layers, rotation=45, ha="right", fontsize=8)
    ax.set_xlabel("layer")
    ax.set_ylabel(units_label(part, value))
    ax.set_title(str(part["benchmark"].iloc[0]), fontsize=10)
    ax.legend(fontsize=7)
    return ax


def plot_best(table: pd.DataFrame, *, ax: Axes | None = None, value: Value = "score", group: str = "benchmark",
              pairs: pd.DataFrame | None = None, stars: bool = True) -> Axes:
    """Each model's best layer per benchmark (``group="region"``: its best benchmark of each brain region):
    bars side by side with their ceiling band, the layer name in the bar, stars, and brackets for the pairwise
    comparisons ``pairs`` (columns ``model_a, model_b, p_value`` and, with several groups, ``benchmark`` or
    ``region``)."""
    from brainalign.benchmarks.composite import best_rows

    best = best_rows(_with_region(table) if group == "region" else table)
    if group not in best:
        raise InvalidInputError(f"cannot group by {group!r}: valid: 'benchmark', 'region'")
    if group == "region":  # the best benchmark-level row within each region
        best = best.loc[best.groupby(["model", "region"], sort=False)["score"].idxmax()]
    ax = ax if ax is not None else _new_axes()
    groups, models = list(dict.fromkeys(best[group])), list(dict.fromkeys(best["model"]))
    width = 0.8 / len(models)
    tops: dict[tuple[str, str], tuple[float, float]] = {}
    for i, model in enumerate(models):
        rows = best[best["model"] == model].set_index(group).reindex(groups)
        x = np.arange(len(groups)) + (i - (len(models) - 1) / 2) * width
        y, err = _column(rows, value), error_bars(rows, value)
        ax.bar(x, y, width=width, label=_label(model, rows))
        ax.errorbar(x, y, yerr=err, fmt="none", ecolor="black", capsize=2, linewidth=0.8)
        for xi, yi, layer in zip(x, y, rows["layer"], strict=True):
            if isinstance(layer, str) and not math.isnan(yi):
                ax.text(xi, 0, f" {layer}", rotation=90, ha="center", va="bottom", fontsize=6)
        if stars and "p_value" in rows:
            _stars(ax, x, y, err, _column(rows, "p_value"))
        upper = y + (np.nan_to_num(err[1]) if err is not None else 0)
        tops.update({(g, model): (xi, ui) for g, xi, ui in zip(groups, x, upper, strict=True)})
    for j, name in enumerate(groups):
        _ceiling(ax, best[best[group] == name], value, (j - 0.45, j + 0.45))
    if pairs is not None:
        _brackets(ax, pairs, groups, group, tops)
    ax.axhline(0, color="black", linewidth=0.5)
    ax.set_xticks(range(len(groups)), groups, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel(units_label(best, value))
    ax.set_title(f"best layer per model and {group}", fontsize=10)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))  # outside: ceilings reach the top
    return ax


def plot_heatmap(table: pd.DataFrame, benchmark: str | None = None, *, ax: Axes | None = None,
                 value: Value = "score") -> Axes:
    """Layer × model heatmap of one benchmark, with a colour bar in the row's units. Models with other layer names
    than the first one are aligned by layer position."""
    part = _one_benchmark(table, benchmark)
    ax = ax if ax is not None else _new_axes()
    per_model = {m: rows.drop_duplicates("layer", keep="last") for m, rows in part.groupby("model", sort=False)}
    names = [list(rows["layer"]) for rows in per_model.values()]
    same = all(n == names[0] for n in names)
    width = max(len(n) for n in names)
    matrix = np.full((len(per_model), width), np.nan)
    for i, rows in enumerate(per_model.values()):
        matrix[i, :len(rows)] = _column(rows, value)
    image = ax.imshow(matrix, aspect="auto", cmap="viridis")
    ax.figure.colorbar(image, ax=ax, label=units_label(part, value))
    ax.set_yticks(range(len(per_model)), list(per_model), fontsize=8)
    ax.set_xticks(range(width), names[0] if same else [str(k + 1) for k in range(width)], rotation=45, ha="right",
                  fontsize=8)
    ax.set_xlabel("layer" if same else "layer (position in the model)")
    ax.set_title(str(part["benchmark"].iloc[0]), fontsize=10)
    return ax


def time_course_rows(table: pd.DataFrame) -> pd.DataFrame:
    """One row per time point of every row holding a ``time_course`` (its ``raw`` and ``score`` at that point in
    ``time_point``); a table that already has ``time_point`` is returned as it is.

    >>> rows = pd.DataFrame({"model": ["m"], "time_course": ["[0.1, 0.4]"], "time_points": ["[0, 10]"]})
    >>> time_course_rows(rows)[["time_point", "raw"]].values.tolist()
    [[0.0, 0.1], [10.0, 0.4]]
    """
    if TIME in table or "time_course" not in table:
        return table
    rows = []
    for _, row in table.dropna(subset=["time_course"]).iterrows():
        course, times = (json.loads(row[key]) if isinstance(row[key], str) else list(row[key])
                         for key in ("time_course", "time_points"))
        for t, value in zip(times, course, strict=True):
            rows.append({**row.drop(["time_course", "time_points"]).to_dict(), TIME: float(t), "raw": value,
                         "score": value, **dict.fromkeys(_PEAK_ONLY, math.nan)})
    return pd.DataFrame(rows)


def plot_time_course(table: pd.DataFrame, benchmark: str | None = None, *, ax: Axes | None = None,
                     value: Value = "score", stars: bool = True) -> Axes:
    """Score over ``time_point`` for each (model, layer) of one benchmark, with error bars, the ceiling band over
    time and stars under significant time points."""
    part = time_course_rows(_one_benchmark(table, benchmark))
    if TIME not in part:
        raise InvalidInputError(f"a time course needs a {TIME!r} column (one row per time point); the table has "
                                f"{list(part.columns)}")
    ax = ax if ax is not None else _new_axes()
    part = part.sort_values(TIME, kind="stable")
    for (model, layer), rows in part.groupby(["model", "layer"], sort=False):
        t, y, err = _column(rows, TIME), _column(rows, value), error_bars(rows, value)
        line = ax.errorbar(t, y, yerr=err, capsize=2, label=f"{_label(model, rows)} · {layer}")
        if stars and "p_value" in rows:
            floor = np.nanmin(part[value]) - 0.05 * np.nanmax(np.abs(part[value]))
            for ti, p in zip(t, _column(rows, "p_value"), strict=True):
                if significance_stars(p):
                    ax.text(ti, floor, "*", ha="center", va="top", color=line[0].get_color())
    ceiling = part.drop_duplicates(TIME)
    low, high = ceiling_bounds(ceiling, value)
    if not np.isnan(low).all():
        ax.fill_between(_column(ceiling, TIME), low, high, label="noise ceiling", **_CEILING_STYLE)
    ax.axhline(0, color="black", linewidth=0.5)
    ax.set_xlabel(TIME.replace("_", " "))
    ax.set_ylabel(units_label(part, value))
    ax.set_title(str(part["benchmark"].iloc[0]), fontsize=10)
    ax.legend(fontsize=7)
    return ax


def save_plot(table: pd.DataFrame, path: str | Path, *, kind: str = "layers", value: Value = "score",
              dpi: int = 150, format: str | None = None) -> Path:
    """Write ``kind`` (one of :data:`KINDS`) as a figure file: one panel per benchmark (``best``: one panel).

    ``format`` (``"png"``, ``"pdf"``, ``"svg"``) overrides the file suffix.
    """
    if kind not in KINDS:
        raise InvalidInputError(f"unknown plot kind {kind!r}; valid: {', '.join(KINDS)}")
    if kind == "best":
        fig = Figure(figsize=(3.0 + max(3.0, 1.2 * table["benchmark"].nunique() * max(1, table["model"].nunique() / 2)),
                              4.2))
        plot_best(table, ax=fig.add_subplot(), value=value)
    else:
        draw = {"layers": plot_layers, "heatmap": plot_heatmap, "time": plot_time_course}[kind]
        benchmarks = list(dict.fromkeys(table["benchmark"]))
        n_cols = min(3, len(benchmarks))
        n_rows = math.ceil(len(benchmarks) / n_cols)
        fig = Figure(figsize=(4.8 * n_cols, 3.8 * n_rows))
        for k, benchmark in enumerate(benchmarks):
            draw(table, benchmark, ax=fig.add_subplot(n_rows, n_cols, k + 1), value=value)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, format=format)
    return path


def plot_layer_scores(table: pd.DataFrame, path: str | Path, *, dpi: int = 150, format: str | None = None) -> Path:
    """One panel per benchmark: raw score per layer for each model (± error), noise ceiling band (lines).

    The figure of ``brainalign plot`` and ``brainalign demo``; ``format`` (e.g. ``"png"``) overrides the suffix.
    """
    benchmarks = list(dict.fromkeys(table["benchmark"]))
    n_cols = min(3, len(benchmarks))
    n_rows = math.ceil(len(benchmarks) / n_cols)
    fig = Figure(figsize=(4.6 * n_cols, 3.6 * n_rows))
    for k, benchmark in enumerate(benchmarks):
        plot_layers(table, benchmark, ax=fig.add_subplot(n_rows, n_cols, k + 1), value="raw", style="lines")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, format=format)
    return path


def _new_axes() -> Axes:
    import matplotlib.pyplot as plt

    return plt.figure().add_subplot()


def _column(rows: pd.DataFrame, name: str) -> np.ndarray:
    if name not in rows:
        return np.full(len(rows), np.nan)
    return pd.to_numeric(rows[name], errors="coerce").to_numpy(dtype=float)


def _one_benchmark(table: pd.DataFrame, benchmark: str | None) -> pd.DataFrame:
    missing = [c for c in ("model", "layer", "benchmark") if c not in table]
    if missing:
        raise InvalidInputError(f"a results table needs the columns model, layer, benchmark; missing {missing}")
    names = list(dict.fromkeys(table["benchmark"]))
    if benchmark is None and len(names) == 1:
        benchmark = names[0]
    if benchmark not in names:
        raise InvalidInputError(f"benchmark {benchmark!r} is not in the table; valid: {', '.join(map(str, names))}")
    return table[table["benchmark"] == benchmark]


def _label(model: str, rows: pd.DataFrame) -> str:
    status = rows["weights"].dropna() if "weights" in rows else pd.Series(dtype=str)
    return f"{model} ({status.iloc[0]})" if not status.empty and str(status.iloc[0]) else str(model)


def _with_region(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with a ``region`` column (from the benchmark registry; the benchmark name when unregistered)."""
    if "region" in table:
        return table
    from brainalign.benchmarks.registry import BENCHMARKS

    known = dict(BENCHMARKS.items())
    return table.assign(region=[known[b].region if b in known else b for b in table["benchmark"]])


def _ceiling(ax: Axes, rows: pd.DataFrame, value: Value, span: tuple[float, float]) -> None:
    low, high = ceiling_bounds(rows, value)
    if np.isnan(low).all():
        return
    low_value, high_value = float(np.nanmean(low)), float(np.nanmean(high))
    # a ceiling the metric declined (subjects disagree: score left unnormalised) is dotted, as a warning
    declined = "normalised" in rows and not rows["normalised"].fillna(False).astype(bool).any()
    name = "noise ceiling (subjects disagree)" if declined else "noise ceiling"
    label = name if name not in ax.get_legend_handles_labels()[1] else "_nolegend_"
    if high_value > low_value and not declined:
        ax.fill_between(span, low_value, high_value, label=label, **_CEILING_STYLE)
    else:
        ax.hlines(low_value, *span, colors="grey", linestyles=":" if declined else "--", label=label)


def _stars(ax: Axes, x: np.ndarray, y: np.ndarray, err: np.ndarray | None, p: np.ndarray) -> None:
    top = y + (np.nan_to_num(err[1]) if err is not None else 0)
    for xi, ti, pi in zip(x, top, p, strict=True):
        if significance_stars(pi) and not math.isnan(ti):
            ax.text(xi, ti, significance_stars(pi), ha="center", va="bottom", fontsize=7)


def _brackets(ax: Axes, pairs: pd.DataFrame, groups: list, group: str,
              tops: dict[tuple[str, str], tuple[float, float]]) -> None:
    """Net2Brain-style brackets between two models' bars, stacked above the bars, labelled with stars (n.s.)."""
    missing = [c for c in ("model_a", "model_b", "p_value") if c not in pairs]
    if missing:
        raise InvalidInputError(f"pairs need the columns model_a, model_b, p_value; missing {missing}")
    if group not in pairs and len(groups) > 1:
        raise InvalidInputError(f"pairs of several {group}s need a {group!r} column")
    finite = [t for _, t in tops.values() if not math.isnan(t)]
    step = 0.06 * (max(finite) if finite else 1.0)
    level: dict[str, float] = {}
    for pair in pairs.itertuples(index=False):
        name = getattr(pair, group) if group in pairs else groups[0]
        a, b = tops.get((name, pair.model_a)), tops.get((name, pair.model_b))
        if a is None or b is None:
            raise InvalidInputError(f"pair {pair.model_a} vs {pair.model_b} on {name}: no such bars; models: "
                                    f"{sorted({m for _, m in tops})}")
        height = max(level.get(name, 0.0), a[1] + step, b[1] + step) + step  # clear of the bars' stars
        level[name] = height + step
        ax.plot([a[0], a[0], b[0], b[0]], [height - step / 3, height, height, height - step / 3], color="black",
                linewidth=0.8)
        ax.text((a[0] + b[0]) / 2, height, significance_stars(pair.p_value) or "n.s.", ha="center", va="bottom",
                fontsize=7)
