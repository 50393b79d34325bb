"""Composite scores: a direct mean of best-layer scores by region, versions recorded, names expanded."""

import json

import numpy as np
import pandas as pd
import pytest

from brainalign.benchmarks.composite import (
    COMPOSITES,
    Composite,
    best_rows,
    composite_scores,
    expand_benchmarks,
    get_composite,
)
from brainalign.benchmarks.registry import list_benchmarks
from brainalign.core.errors import InvalidInputError, UnknownNameError

DEMO = Composite("demo", {"A": ("a1", "a2"), "B": ("b1",)})


def _table(rng: np.random.Generator) -> pd.DataFrame:
    rows = [{"model": model, "weights": "trained", "layer": f"l{i}", "benchmark": bench, "benchmark_version": 1,
             "score": float(rng.uniform())}
            for model in ("m1", "m2") for bench in ("a1", "a2", "b1", "other") for i in range(3)]
    return pd.DataFrame(rows)


def test_composite_equals_direct_mean_of_best_layers():
    table = _table(np.random.default_rng(0))
    table.loc[(table.model == "m2") & (table.layer == "l0") & (table.benchmark == "a1"), "score"] = np.nan
    result = composite_scores(table, DEMO).set_index(["model", "region"])
    for model in ("m1", "m2"):
        best = {b: table[(table.model == model) & (table.benchmark == b)]["score"].max() for b in ("a1", "a2", "b1")}
        region_a, region_b = (best["a1"] + best["a2"]) / 2, best["b1"]
        assert result.loc[(model, "A"), "score"] == pytest.approx(region_a)
        assert result.loc[(model, "B"), "score"] == pytest.approx(region_b)
        assert result.loc[(model, "overall"), "score"] == pytest.approx((region_a + region_b) / 2)
    assert set(result["composite"]) == {"demo"}
    composition = json.loads(result.loc[("m1", "overall"), "composition"])
    assert set(composition) == {"A", "B"} and set(composition["A"]) == {"a1", "a2"}
    best_layer = table.loc[table[(table.model == "m1") & (table.benchmark == "b1")]["score"].idxmax(), "layer"]
    assert composition["B"]["b1"] == {"version": 1, "layer": best_layer}


def test_missing_benchmarks_are_counted_and_a_region_without_scores_is_nan():
    table = _table(np.random.default_rng(1))
    table = table[~((table.model == "m1") & table.benchmark.isin(["a2", "b1"]))]
    result = composite_scores(table, DEMO).set_index(["model", "region"])
    assert result.loc[("m1", "A"), ["n_scored", "n_benchmarks"]].tolist() == [1, 2]
    assert np.isnan(result.loc[("m1", "B"), "score"])
    assert result.loc[("m1", "overall"), "score"] == pytest.approx(result.loc[("m1", "A"), "score"])
    assert result.loc[("m1", "overall"), "n_scored"] == 1


def test_a_version_change_uses_the_new_rows_and_is_recorded():
    table = _table(np.random.default_rng(2))
    newer = table[table.benchmark == "b1"].assign(benchmark_version=2, score=lambda t: t["score"] / 10)
    result = composite_scores(pd.concat([table, newer]), DEMO).set_index(["model", "region"])
    for model in ("m1", "m2"):
        assert result.loc[(model, "B"), "score"] == pytest.approx(newer[newer.model == model]["score"].max())
        assert json.loads(result.loc[(model, "overall"), "composition"])["B"]["b1"]["version"] == 2
        assert json.loads(result.loc[(model, "overall"), "composition"])["A"]["a1"]["version"] == 1


def test_rescored_rows_keep_the_last_one():
    table = pd.DataFrame({"model": "m", "layer": ["l", "l"], "benchmark": "a1", "score": [0.9, 0.1]})
    assert best_rows(table)["score"].tolist() == [0.1]


@pytest.mark.slow  # the first benchmark lookup imports every built-in benchmark module (~9 s on 2 busy cores)
def test_registered_composites_name_registered_benchmarks():
    known = set(list_benchmarks())
    for name in COMPOSITES.names():
        assert set(get_composite(name).benchmarks) <= known, name
    vision = get_composite("vision")
    assert set(vision.regions) == {"EVC", "V4", "IT", "behaviour"}
    assert set(get_composite("vision-neural").benchmarks) | set(get_composite("vision-behaviour").benchmarks) == set(
        vision.benchmarks)


def test_expand_benchmarks():
    assert expand_benchmarks(["Net2Brain78.IT-rsa", "vision"]) == ["Net2Brain78.IT-rsa"] + [
        b for b in get_composite("vision").benchmarks if b != "Net2Brain78.IT-rsa"]
    assert expand_benchmarks(["x.y"]) == ["x.y"]


def test_bad_input():
    with pytest.raises(InvalidInputError, match="missing \\['score'\\]"):
        composite_scores(pd.DataFrame({"model": ["m"], "layer": ["l"], "benchmark": ["a1"]}), DEMO)
    with pytest.raises(InvalidInputError, match="at least one benchmark"):
        Composite("empty", {"A": ()})
    with pytest.raises(UnknownNameError, match="vision"):
        get_composite("visoin")


def test_score_command_runs_the_members_of_a_composite(monkeypatch):
    from typer.testing import CliRunner

    import brainalign.cli as cli

    seen = {}

    def prepare(models, benchmarks, *args):
        seen["benchmarks"] = benchmarks
        raise InvalidInputError("stop here")

    monkeypatch.setattr(cli, "_prepare_grid", prepare)
    result = CliRunner().invoke(cli.app, ["score", "-m", "alexnet", "-b", "vision", "-b", "Net2Brain78.IT-rsa"])
    assert result.exit_code == 2 and "stop here" in result.output
    assert seen["benchmarks"] == get_composite("vision").benchmarks


def test_report_composites_prints_only_the_composites_asked_for(capsys):
    from brainalign.cli_board import report_composites

    table = _table(np.random.default_rng(3)).assign(
        benchmark=lambda t: t.benchmark.map({"a1": "Net2Brain78.EVC-rsa", "a2": "Net2Brain78.IT-rsa",
                                             "b1": "Cowley2023.V4-ridge", "other": "x"}))
    shown = report_composites(table, ["vision-neural", "Net2Brain78.IT-rsa"])
    pd.testing.assert_frame_equal(shown, composite_scores(table, "vision-neural"))
    assert "composites" in capsys.readouterr().out
    assert report_composites(table, ["Net2Brain78.IT-rsa"]).empty


def test_composition_records_whether_scores_were_normalised():
    table = _table(np.random.default_rng(4)).assign(normalised=lambda t: t.benchmark != "b1")
    composition = json.loads(composite_scores(table, DEMO).iloc[-1]["composition"])
    assert composition["B"]["b1"]["normalised"] is False and composition["A"]["a1"]["normalised"] is True
