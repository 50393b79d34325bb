"""A static leaderboard site from a results table: models × benchmarks (+ composites), one page per model.

``build_site`` writes ``index.html`` (a sortable, filterable table built by ``board.js`` from the JSON embedded in
the page), ``models/<model>.html`` (the model card with its training status, composite composition, and every
layer's score, raw value, ceiling, confidence interval and p-value per benchmark), ``board.js`` and
``board.css``. Everything is local: the site works offline, from a file system or `serve`.

>>> import pandas as pd, tempfile, pathlib
>>> table = pd.DataFrame({"model": "m", "weights": "random", "layer": ["l1", "l2"], "benchmark": "B.x-rsa",
...                       "benchmark_version": 1, "units": "ρ", "score": [0.1, 0.3], "raw": [0.1, 0.3]})
>>> site = build_site(table, pathlib.Path(tempfile.mkdtemp()) / "site")
>>> sorted(p.name for p in site.iterdir())
['board.css', 'board.js', 'index.html', 'models']
>>> leaderboard_data(table)["models"][0]["cells"]["B.x-rsa"]
{'value': 0.3, 'layer': 'l2', 'version': 1}
"""

from __future__ import annotations

import datetime
import functools
import html
import http.server
import json
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from brainalign.benchmarks.composite import COMPOSITES, OVERALL, best_rows, composite_scores, get_composite
from brainalign.core.errors import InvalidInputError
from brainalign.core.storage import atomic_path

ASSETS = Path(__file__).with_name("assets")
LAYER_COLUMNS = ("layer", "score", "units", "raw", "ceiling", "ceiling_raw_units", "ci_low", "ci_high", "p_value",
                 "error", "normalised")
CARD_FIELDS = ("source", "architecture", "family", "task", "training_data", "training_method", "weights",
               "parameters", "modality")


def load_results(path: str | Path) -> pd.DataFrame:
    """The results table in ``path``: a CSV written by `brainalign score`, or a results store (SQLite)."""
    path = Path(path)
    if not path.is_file():
        raise InvalidInputError(f"results {path} does not exist or is not a regular file; pass a results store "
                                "(--store of `brainalign score`) or a results CSV")
    if path.suffix.lower() == ".csv":
        table = pd.read_csv(path)
    else:
        from brainalign.store.results import ResultsStore

        table = ResultsStore(path).table()
    if table.empty:
        raise InvalidInputError(f"results {path} holds no rows")
    return table


def leaderboard_data(table: pd.DataFrame, composites: Sequence[str] | None = None) -> dict[str, Any]:
    """The JSON-able content of the site: columns (composites, then benchmarks) and one entry per model.

    ``composites``: names of registered composites (default: every one with a member in ``table``); each gives
    an overall column and one column per region. A cell is ``{"value", "layer", "version"}`` (the best layer, the
    benchmark version) for a benchmark, ``{"value", "n_scored", "n_benchmarks"}`` for a composite.
    """
    best = best_rows(table)
    columns: list[dict[str, Any]] = []
    cells: dict[str, dict[str, Any]] = {m: {} for m in dict.fromkeys(best["model"])}
    for name, scores in composite_tables(table, composites).items():
        composite = get_composite(name)
        for region in (OVERALL, *composite.regions):
            key = name if region == OVERALL else f"{name}:{region}"
            members = list(composite.regions) if region == OVERALL else list(composite.regions[region])
            columns.append({"id": key, "label": name if region == OVERALL else f"{name} {region}", "kind": "composite",
                            "members": members, "version": composite.version})
            for row in scores[scores["region"] == region].itertuples(index=False):
                cells[row.model][key] = {"value": _number(row.score), "n_scored": int(row.n_scored),
                                         "n_benchmarks": int(row.n_benchmarks)}
    for benchmark, rows in best.groupby("benchmark", sort=True):
        versions = sorted({int(v) for v in rows["benchmark_version"]})  # several: models scored on different ones
        units = "; ".join(dict.fromkeys(_text(u) for u in rows.get("units", pd.Series(dtype=str)) if _text(u)))
        columns.append({"id": benchmark, "label": benchmark, "kind": "benchmark", "versions": versions,
                        "units": units})
        for row in rows.itertuples(index=False):
            cells[row.model][benchmark] = {"value": _number(row.score), "layer": str(row.layer),
                                           "version": int(row.benchmark_version)}
    slugs = _slugs(list(cells))
    models = []
    for model, model_cells in cells.items():
        status = _status(table, model)
        models.append({"model": model, "slug": slugs[model], "training_status": status, "cells": model_cells})
    return {"columns": columns, "models": models,
            "generated": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")}


def composite_tables(table: pd.DataFrame, composites: Sequence[str] | None = None) -> dict[str, pd.DataFrame]:
    """`composite_scores` of each of ``composites`` (default: every registered one with a member in ``table``)."""
    present = set(table["benchmark"])
    names = [n for n in COMPOSITES.names() if present & set(get_composite(n).benchmarks)] if composites is None \
        else list(composites)
    return {name: composite_scores(table, name) for name in names}


def build_site(table: pd.DataFrame, out: str | Path, *, composites: Sequence[str] | None = None,
               title: str = "brainalign leaderboard") -> Path:
    """Write the site for ``table`` into the folder ``out`` (created; files there are replaced atomically)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InvalidInputError(f"site folder {out} exists and is not a directory; choose a folder path")
    data = leaderboard_data(table, composites)
    (out / "models").mkdir(parents=True, exist_ok=True)
    for asset in ("board.js", "board.css"):
        _write(out / asset, (ASSETS / asset).read_text(encoding="utf-8"))
    _write(out / "index.html", _page(title, _index_body(title, data), data, depth=0))
    scores = composite_tables(table, composites)
    for entry in data["models"]:
        rows = table[table["model"] == entry["model"]]
        body = _model_body(entry, rows, scores)
        _write(out / "models" / f"{entry['slug']}.html",
               _page(f"{entry['model']} · {title}", body, {"model": entry["model"]}, depth=1))
    return out


def serve(folder: str | Path, port: int = 8000, host: str = "127.0.0.1") -> http.server.ThreadingHTTPServer:
    """An HTTP server of ``folder`` (call ``serve_forever()``; ``port=0`` picks a free port)."""
    folder = Path(folder)
    if not (folder / "index.html").is_file():
        raise InvalidInputError(f"{folder} is not a leaderboard site (no index.html); build one with "
                                "`brainalign leaderboard --out FOLDER`")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    return http.server.ThreadingHTTPServer((host, port), handler)


def _write(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def _text(value: Any) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def _slugs(models: list[str]) -> dict[str, str]:
    """File names for models: unsafe characters replaced, clashes numbered."""
    slugs: dict[str, str] = {}
    for model in models:
        base = re.sub(r"[^A-Za-z0-9_.-]", "_", model).strip(".") or "model"
        slug, k = base, 1
        while slug in slugs.values():
            k += 1
            slug = f"{base}-{k}"
        slugs[model] = slug
    return slugs


def _status(table: pd.DataFrame, model: str) -> str:
    """The training status of ``model``: the results' ``weights`` column, else the catalog card's."""
    if "weights" in table:
        values = table.loc[table["model"] == model, "weights"].dropna().astype(str)
        if not values.empty and values.iloc[-1]:
            return values.iloc[-1]
    card = _card(model)
    return card.training_status if card is not None else ""


def _card(model: str) -> Any:
    from brainalign.models.catalog import get_card, has_model

    return get_card(model) if has_model(model) else None


def _json(data: Any) -> str:
    """JSON safe inside a ``<script>`` element."""
    return json.dumps(data, ensure_ascii=False, allow_nan=False).replace("</", "<\\/")


def _page(title: str, body: str, data: dict[str, Any], *, depth: int) -> str:
    prefix = "../" * depth
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{html.escape(title)}</title>\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n<link rel="icon" href="data:,">\n'
            f'<link rel="stylesheet" href="{prefix}board.css">\n</head>\n<body>\n{body}\n'
            f'<script type="application/json" id="board-data">{_json(data)}</script>\n'
            f'<script src="{prefix}board.js"></script>\n</body>\n</html>\n')


def _index_body(title: str, data: dict[str, Any]) -> str:
    return (f"<h1>{html.escape(title)}</h1>\n<p class=\"note\">Scores are each model's best layer (ceiling-"
            "normalised where the benchmark has a ceiling; units in the column tooltips); composites are means of "
            "region means, as Brain-Score's. Click a header to sort, a model for its layers.</p>\n"
            '<label>Filter <input id="filter" type="search" placeholder="model or training status"></label>\n'
            f'<span id="count"></span>\n<table id="board"></table>\n<p class="note">generated {data["generated"]}</p>')


def _fmt(value: Any) -> str:
    number = _number(value)
    return "–" if number is None else f"{number:.3f}"


def _cell(value: Any) -> str:
    number = _number(value)
    attribute = "" if number is None else f' data-value="{number!r}"'
    return f"<td{attribute}>{_fmt(value)}</td>"


def _members(region: str, composition: str) -> str:
    """A composite row's composition for people: each member with its version and best layer."""
    used = json.loads(composition)
    if region == OVERALL:
        return "mean of " + ", ".join(html.escape(r) for r in used)
    return "<br>".join(f"{html.escape(b)} v{m['version']}, best layer {html.escape(m['layer'])}"
                       + ("" if m.get("normalised", True) else " (not ceiling-normalised)")
                       for b, m in used[region].items())


def _model_body(entry: dict[str, Any], rows: pd.DataFrame, scores: dict[str, pd.DataFrame]) -> str:
    model = html.escape(entry["model"])
    parts = [f'<p><a href="../index.html">← leaderboard</a></p>\n<h1>{model}</h1>',
             f'<p>training status: <strong id="training-status">{html.escape(entry["training_status"] or "?")}'
             "</strong></p>"]
    card = _card(entry["model"])
    if card is not None:
        items = "".join(f"<dt>{f}</dt><dd>{html.escape(str(getattr(card, f)))}</dd>" for f in CARD_FIELDS)
        parts.append(f'<h2>Model card</h2>\n<dl class="card">{items}</dl>')
    for name, frame in scores.items():
        own = frame[frame["model"] == entry["model"]]
        if own.empty:
            continue
        lines = "".join(f"<tr><td>{html.escape(r.region)}</td>{_cell(r.score)}<td>{r.n_scored}/{r.n_benchmarks}</td>"
                        f'<td class="members">{_members(r.region, r.composition)}</td></tr>' for r in own.itertuples())
        parts.append(f'<h2>Composite {html.escape(name)}</h2>\n<table class="composite"><thead><tr><th>region</th>'
                     f"<th>score</th><th>scored</th><th>benchmarks (version, best layer)</th></tr></thead>"
                     f"<tbody>{lines}</tbody></table>")
    best = set(zip(*(best_rows(rows)[c] for c in ("benchmark", "layer")), strict=True))
    latest = rows.assign(benchmark_version=pd.to_numeric(rows.get("benchmark_version", 1)))
    for benchmark, part in latest.groupby("benchmark", sort=True):
        part = part[part["benchmark_version"] == part["benchmark_version"].max()].drop_duplicates("layer", keep="last")
        header = "".join(f"<th>{c.replace('_', ' ')}</th>" for c in LAYER_COLUMNS)
        body = []
        for row in part.to_dict("records"):
            cells = [f"<td>{html.escape(str(row['layer']))}</td>"]
            for column in LAYER_COLUMNS[1:]:
                value = row.get(column)
                cells.append(_cell(value) if column not in ("units", "normalised")
                             else f"<td>{html.escape(_text(value))}</td>")
            marker = ' class="best"' if (benchmark, row["layer"]) in best else ""
            body.append(f"<tr{marker}>{''.join(cells)}</tr>")
        version = int(part["benchmark_version"].iloc[0])
        parts.append(f'<h2>{html.escape(benchmark)} <small>v{version}</small></h2>\n'
                     f'<table class="layers" data-benchmark="{html.escape(benchmark)}"><thead><tr>{header}</tr></thead>'
                     f"<tbody>{''.join(body)}</tbody></table>")
    return "\n".join(parts)
