"""`brainalign run` / `runner.run`: plans from TOML, metric variants, groups that share features, skipping finished
cells, failures that spare the rest, export. The grid is simulated (tests/run_plugin.py): one 4-layer model on
three benchmarks, two of which show the same stimuli; `score_grid` on the same cells is the reference."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from brainalign.benchmarks.registry import get_benchmark
from brainalign.cli import app
from brainalign.core.errors import InvalidInputError, UnknownNameError
from brainalign.runner.executors import LocalExecutor, make_executor
from brainalign.runner.run import RunPlan, plan_benchmarks, run, with_metric
from brainalign.runner.score import score_grid
from brainalign.store.export import export_table, to_xarray
from brainalign.store.results import ResultsStore
from run_plugin import GRID_BENCHMARKS, PLUGIN, write_model


def _plan(tmp_path, **options) -> RunPlan:
    return RunPlan(models=(write_model(tmp_path),), benchmarks=GRID_BENCHMARKS, store=str(tmp_path / "r.sqlite"),
                   imports=(str(PLUGIN),), executor={"workers": 1, "poll_s": 0.05}, **options)


def test_run_matches_score_grid_shares_features_and_skips_finished_cells(tmp_path, private_cache):
    plan = _plan(tmp_path, metrics=("ridge",))
    benches = plan_benchmarks(plan)
    report = run(plan, progress=False)
    assert (report.planned, report.skipped, report.computed, report.failures) == (12, 0, 12, {})
    # 3 benchmarks x 4 layers score features, but only 2 stimulus sets x 4 layers are extracted
    assert (report.extractions_needed, report.extractions_run) == (12, 8)
    assert report.reuse == pytest.approx(1 / 3)
    assert len(list((private_cache / "features").glob("*.h5"))) == 8
    reference = score_grid([plan.models[0]], benches, store=None)
    pd.testing.assert_frame_equal(report.table[["model", "layer", "benchmark", "score", "raw", "best"]],
                                  reference[["model", "layer", "benchmark", "score", "raw", "best"]])
    assert report.summary()[["benchmark", "cells", "best_layer"]].values.tolist() == [
        [b.identifier, 4, reference[reference["best"] & (reference["benchmark"] == b.identifier)]["layer"].item()]
        for b in benches]

    again = run(plan, progress=False)
    assert (again.planned, again.skipped, again.computed) == (12, 12, 0)
    pd.testing.assert_frame_equal(again.table.drop(columns="time"), report.table.drop(columns="time"))


def test_metrics_multiply_benchmarks_and_a_failing_benchmark_spares_the_rest(tmp_path, private_cache):
    # pls with its default 25 components cannot fit 4-unit layers: those 12 cells fail, the ridge ones are stored
    report = run(_plan(tmp_path, metrics=("ridge", "pls")), progress=False)
    assert report.planned == 24 and report.computed == 12
    assert sorted(report.table["benchmark"].unique()) == sorted(f"{b.rsplit('-', 2)[0]}-ridge"
                                                                for b in GRID_BENCHMARKS)
    assert len(report.failures) == 2 and all("pls" in error and "n_components" in error
                                             for error in report.failures.values())


def test_with_metric_uses_the_registered_variant_or_derives_one():
    hit = get_benchmark("Kriegeskorte2008.hIT-rsa")
    derived = with_metric(hit, "cka")
    assert (derived.identifier, derived.metric, derived.selection, derived.dataset) == (
        "Kriegeskorte2008.hIT-cka", "cka", hit.selection, hit.dataset)
    assert with_metric(get_benchmark("Sim.V4-sleepy-ridge"), "ridge").identifier == "Sim.V4-ridge"
    with pytest.raises(UnknownNameError, match="no-such-metric"):
        with_metric(hit, "no-such-metric")
    plan = RunPlan(models=("m",), benchmarks=("Kriegeskorte2008.hIT-rsa",), metrics=("rsa", "cka"))
    assert [b.identifier for b in plan_benchmarks(plan)] == ["Kriegeskorte2008.hIT-rsa", "Kriegeskorte2008.hIT-cka"]


def test_plan_from_toml_resolves_paths_and_names_bad_keys(tmp_path):
    (tmp_path / "plan.toml").write_text('models = ["net.py:make", "alexnet"]\nbenchmarks = ["B"]\n'
                                        'store = "out/r.sqlite"\nimports = ["plugin.py", "some.module"]\n'
                                        '[executor]\nkind = "slurm"\nmax_concurrent = 3\n')
    plan = RunPlan.from_toml(tmp_path / "plan.toml", batch_size=8, layers=None)
    assert plan.models == (f"{tmp_path}/net.py:make", "alexnet")
    assert plan.store == str(tmp_path / "out" / "r.sqlite") and plan.batch_size == 8
    assert plan.imports == (str(tmp_path / "plugin.py"), "some.module")
    assert plan.executor == {"kind": "slurm", "max_concurrent": 3}
    (tmp_path / "bad.toml").write_text('models = ["m"]\nbenchmarks = ["B"]\nmodel = "typo"\n')
    with pytest.raises(InvalidInputError, match=r"unknown key\(s\) \['model'\]; valid: \['models'"):
        RunPlan.from_toml(tmp_path / "bad.toml")
    with pytest.raises(InvalidInputError, match=r"unknown executor option\(s\) \['cpus'\]"):
        RunPlan(models=("m",), benchmarks=("B",), executor={"cpus": 2})
    with pytest.raises(InvalidInputError, match="at least one entry in 'benchmarks'"):
        RunPlan(models=("m",), benchmarks=())
    with pytest.raises(InvalidInputError, match="'kube' is not one of"):
        make_executor(kind="kube")
    with pytest.raises(InvalidInputError, match="workers must be >= 1; got 0"):
        LocalExecutor(workers=0)


def test_cli_run_prints_a_summary_and_exports(tmp_path, private_cache):
    spec = write_model(tmp_path)
    output = tmp_path / "run.csv"
    (tmp_path / "plan.toml").write_text(f'models = ["net.py:make"]\nbenchmarks = ["{GRID_BENCHMARKS[0]}"]\n'
                                        f'imports = ["{PLUGIN}"]\nstore = "r.sqlite"\n[executor]\nworkers = 2\n')
    result = CliRunner().invoke(app, ["run", str(tmp_path / "plan.toml"), "--workers", "1", "-o", str(output)])
    assert result.exit_code == 0, result.output
    assert "4 cells, 0 already stored, 4 computed" in result.output
    exported = pd.read_csv(output)
    stored = ResultsStore(tmp_path / "r.sqlite").table()
    np.testing.assert_array_equal(exported["score"], stored["score"])
    bad = CliRunner().invoke(app, ["run", "-m", spec, "-b", "No.such-benchmark", "--store", str(tmp_path / "x.db")])
    assert bad.exit_code == 2 and "No.such-benchmark" in bad.output


def test_export_round_trips_csv_parquet_and_xarray(tmp_path):
    table = pd.DataFrame({"model": ["m", "m", "n"], "benchmark": ["b", "b", "b"], "layer": ["l1", "l2", "l1"],
                          "score": [0.1, 0.4, math.nan], "raw": [0.2, 0.5, 0.3], "packages": ['{"a": 1}'] * 3})
    pd.testing.assert_frame_equal(pd.read_csv(export_table(table, tmp_path / "t.csv")), table)
    pd.testing.assert_frame_equal(pd.read_parquet(export_table(table, tmp_path / "t.parquet")), table)
    cube = to_xarray(table)
    assert cube["score"].dims == ("model", "benchmark", "layer")
    assert cube["raw"].sel(model="m", layer="l2").item() == 0.5
    assert math.isnan(cube["raw"].sel(model="n", layer="l2").item())  # n has no layer l2
    with pytest.raises(InvalidInputError, match=r"suffix '\.xlsx' is not one of"):
        export_table(table, tmp_path / "t.xlsx")


def test_store_locations_sqlite_url_and_bad_scheme(tmp_path):
    store = ResultsStore(f"sqlite:///{tmp_path}/u.sqlite")
    assert store.path == tmp_path / "u.sqlite" and store.path.exists()
    with pytest.raises(InvalidInputError, match=r"scheme 'mysql' is not supported; valid: \['sqlite', 'postgresql'\]"):
        ResultsStore("mysql://u@h/db")
    with pytest.raises(InvalidInputError, match="cannot open results store postgresql://u:\\*\\*\\*@127.0.0.1:1/db"):
        ResultsStore("postgresql://u:secret@127.0.0.1:1/db")


def test_a_composite_name_plans_its_member_benchmarks():
    from brainalign.benchmarks.composite import expand_benchmarks

    plan = RunPlan(models=("m",), benchmarks=("vision-neural",))
    assert [bench.identifier for bench in plan_benchmarks(plan)] == expand_benchmarks(["vision-neural"])
    assert len(plan_benchmarks(plan)) > 3
