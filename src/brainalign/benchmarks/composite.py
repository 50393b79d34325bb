"""Composite scores (as Brain-Score's averages): benchmarks grouped by region, one number per region and overall.

A `Composite` names its member benchmarks per region. From a results table (one row per model, layer and
benchmark, as `brainalign score` writes), each model's score on a benchmark is its best layer's ceiling-normalised
``score`` (the latest ``benchmark_version`` in the table wins); a region's score is the mean over its benchmarks,
the overall score the mean over regions. Every composite row records its composition: the member benchmarks with
the version and best layer used, so a version change of any member shows in the row.

``expand_benchmarks`` turns composite names into their member identifiers (``brainalign score -b vision``).

>>> import pandas as pd
>>> table = pd.DataFrame({"model": "m", "layer": ["l1", "l2", "l1"], "benchmark_version": 1,
...     "benchmark": ["Net2Brain78.EVC-rsa", "Net2Brain78.EVC-rsa", "Kriegeskorte2008.hIT-rsa"],
...     "score": [0.2, 0.6, 0.4]})
>>> demo = Composite("demo", {"EVC": ("Net2Brain78.EVC-rsa",), "IT": ("Kriegeskorte2008.hIT-rsa",)})
>>> composite_scores(table, demo).set_index("region")["score"].round(3).to_dict()
{'EVC': 0.6, 'IT': 0.4, 'overall': 0.5}
>>> expand_benchmarks(["vision-neural", "Net2Brain78.EVC-rsa"])[:2]
['Net2Brain78.EVC-rsa', 'Cowley2023.V4-ridge']
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from brainalign.core.errors import InvalidInputError
from brainalign.core.registry import Registry

OVERALL = "overall"
COMPOSITE_COLUMNS = ["model", "weights", "composite", "composite_version", "region", "score", "n_benchmarks",
                     "n_scored", "composition"]


@dataclass(frozen=True)
class Composite:
    """A named mean of benchmarks: ``regions`` maps a region to its member benchmark identifiers.

    Bump ``version`` when the membership changes; each composite row also records the member versions it used.
    """

    name: str
    regions: Mapping[str, tuple[str, ...]]
    version: int = 1
    description: str = ""

    def __post_init__(self) -> None:
        if not self.regions or any(not members for members in self.regions.values()):
            raise InvalidInputError(f"composite {self.name!r} needs at least one benchmark in every region; got "
                                    f"{dict(self.regions)}")
        if OVERALL in self.regions:
            raise InvalidInputError(f"composite {self.name!r}: {OVERALL!r} is the mean of the regions, not a region")

    def __hash__(self) -> int:
        return hash((self.name, self.version))

    @property
    def benchmarks(self) -> list[str]:
        """Member identifiers, region by region, each once."""
        return list(dict.fromkeys(b for members in self.regions.values() for b in members))


COMPOSITES: Registry[Composite] = Registry("composite")


def register_composite(composite: Composite) -> Composite:
    """Add ``composite`` to the registry (its name must not be a benchmark identifier)."""
    return COMPOSITES.register(composite.name, composite)


def get_composite(name: str) -> Composite:
    """The composite registered as ``name`` (an error lists the valid names)."""
    return COMPOSITES.get(name)


def expand_benchmarks(names: Sequence[str]) -> list[str]:
    """Benchmark identifiers with every composite name replaced by its members (order kept, duplicates dropped)."""
    expanded: list[str] = []
    for name in names:
        expanded.extend(get_composite(name).benchmarks if name in COMPOSITES.names() else [name])
    return list(dict.fromkeys(expanded))


def best_rows(table: pd.DataFrame) -> pd.DataFrame:
    """The best layer's row per (model, benchmark): latest ``benchmark_version`` only, NaN scores never win.

    Rows repeated under the same (model, benchmark, version, layer) keep the last one (a store lists the oldest
    first, so a rescored model wins).
    """
    missing = [c for c in ("model", "layer", "benchmark", "score") if c not in table.columns]
    if missing:
        raise InvalidInputError(f"a results table needs the columns model, layer, benchmark, score; missing {missing}")
    table = table.reset_index(drop=True)
    if "benchmark_version" not in table:
        table = table.assign(benchmark_version=1)
    table = table.assign(benchmark_version=pd.to_numeric(table["benchmark_version"]).astype(int))
    latest = table.groupby(["model", "benchmark"])["benchmark_version"].transform("max")
    table = table[table["benchmark_version"] == latest]
    table = table.drop_duplicates(["model", "benchmark", "layer"], keep="last").dropna(subset=["score"])
    return table.loc[table.groupby(["model", "benchmark"], sort=False)["score"].idxmax()].reset_index(drop=True)


def composite_scores(table: pd.DataFrame, composite: str | Composite) -> pd.DataFrame:
    """One row per model and region of ``composite`` plus an ``overall`` row (columns :data:`COMPOSITE_COLUMNS`).

    A region's score is the mean over its members that the model has a score on (``n_scored`` of
    ``n_benchmarks``; NaN when none); ``overall`` is the mean over the regions with a score.
    ``composition`` is JSON: ``{region: {benchmark: {"version": v, "layer": best layer}}}`` (plus
    ``"normalised"`` when the table says whether the score was divided by a ceiling).
    """
    composite = get_composite(composite) if isinstance(composite, str) else composite
    best = best_rows(table)
    rows = []
    for model, part in best.groupby("model", sort=False):
        by_benchmark = part.set_index("benchmark")
        weights = str(part["weights"].dropna().iloc[0]) if "weights" in part and part["weights"].notna().any() else ""
        region_scores = []
        for region, members in composite.regions.items():
            found = [b for b in members if b in by_benchmark.index]
            value = float(np.mean(by_benchmark.loc[found, "score"])) if found else float("nan")
            region_scores.append(value)
            used = {b: _member(by_benchmark.loc[b]) for b in found}
            rows.append({"model": model, "weights": weights, "region": region, "score": value,
                         "n_benchmarks": len(members), "n_scored": len(found), "composition": {region: used}})
        scored = [v for v in region_scores if not np.isnan(v)]
        regional = rows[-len(composite.regions):]
        rows.append({"model": model, "weights": weights, "region": OVERALL,
                     "score": float(np.mean(scored)) if scored else float("nan"),
                     "n_benchmarks": len(composite.regions), "n_scored": len(scored),
                     "composition": {k: v for r in regional for k, v in r["composition"].items()}})
    frame = pd.DataFrame(rows, columns=[c for c in COMPOSITE_COLUMNS if c not in ("composite", "composite_version")])
    frame["composition"] = [json.dumps(c, sort_keys=True) for c in frame["composition"]]
    frame.insert(2, "composite", composite.name)
    frame.insert(3, "composite_version", composite.version)
    return frame[COMPOSITE_COLUMNS]


def _member(row: pd.Series) -> dict[str, object]:
    """What a composite records of one member: its version, best layer and (when known) normalisation."""
    member: dict[str, object] = {"version": int(row["benchmark_version"]), "layer": str(row["layer"])}
    if "normalised" in row and pd.notna(row["normalised"]):
        member["normalised"] = bool(row["normalised"])
    return member


# One benchmark per dataset and region: the Cowley2023.V4-pls-<session> replicates have no ceiling (their score is
# the raw r), so they stay out of a mean of ceiling-normalised scores.
_IT = ("Kriegeskorte2008.hIT-rsa", "Kriegeskorte2008.mIT-rsa", "Net2Brain78.IT-rsa")
_NEURAL = {"EVC": ("Net2Brain78.EVC-rsa",), "V4": ("Cowley2023.V4-ridge", "Cowley2023.V4-pls"), "IT": _IT}
# Geirhos2021 error consistency: human-normalised like Brain-Score's behavioural benchmarks (top-1 and shape bias
# are model properties without a human ceiling, so they stay out of the mean).
_BEHAVIOUR = {"behaviour": tuple(f"Geirhos2021.{e}-error_consistency" for e in ("cue-conflict", "edge", "silhouette"))}

for _composite in (
    Composite("vision", {**_NEURAL, **_BEHAVIOUR},
              description="neural vision benchmarks by region (EVC, V4, IT) and human behaviour; mean of regions"),
    Composite("vision-neural", _NEURAL, description="neural vision benchmarks by region (EVC, V4, IT)"),
    Composite("vision-behaviour", _BEHAVIOUR, description="Geirhos2021 error consistency with humans"),
):
    register_composite(_composite)
