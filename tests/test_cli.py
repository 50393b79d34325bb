"""The command line: listings, clear errors with exit code 2, and a scored CSV with the promised columns."""

import pandas as pd
import pytest
from typer.testing import CliRunner

from brainalign.cli import app

runner = CliRunner()


def test_list_benchmarks_shows_every_builtin():
    result = runner.invoke(app, ["list", "benchmarks"])
    assert result.exit_code == 0
    for identifier in ("Kriegeskorte2008.hIT-rsa", "Net2Brain78.EVC-rsa", "Cowley2023.V4-ridge"):
        assert identifier in result.output


def test_list_metrics_includes_rsa_and_ridge():
    result = runner.invoke(app, ["list", "metrics"])
    assert result.exit_code == 0
    assert {"rsa", "ridge"} <= set(result.output.split())


def test_unknown_model_fails_with_the_valid_choices():
    result = runner.invoke(app, ["score", "--model", "efficientnet_lite9", "--benchmark", "Kriegeskorte2008.mIT-rsa"])
    assert result.exit_code == 2
    assert "efficientnet_lite9" in result.output and "efficientnet_lite0" in result.output


def test_unknown_layer_fails_with_the_valid_layers(shared_data):
    result = runner.invoke(app, ["score", "-m", "efficientnet_lite0", "-b", "Kriegeskorte2008.mIT-rsa",
                                 "-l", "blocks.99"])
    assert result.exit_code == 2
    assert "blocks.99" in result.output and "blocks.6" in result.output


def test_layers_lists_module_names():
    result = runner.invoke(app, ["layers", "efficientnet_lite0"])
    assert result.exit_code == 0
    assert "blocks.6" in result.output.split()


def test_score_writes_csv_and_store_resumes(shared_data, tmp_path, monkeypatch):
    csv, store = tmp_path / "r.csv", tmp_path / "r.sqlite"
    args = ["score", "-m", "efficientnet_lite0", "-b", "Kriegeskorte2008.mIT-rsa", "-l", "blocks.6",
            "-o", str(csv), "--store", str(store)]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    table = pd.read_csv(csv)
    assert {"model", "layer", "benchmark", "metric", "score", "raw", "ceiling", "error"} <= set(table.columns)
    assert table.loc[0, "metric"] == "rsa" and table.loc[0, "layer"] == "blocks.6"
    import brainalign.runner.score as runner_module

    def must_not_run(*args, **kwargs):
        raise AssertionError("a stored result was computed again")

    monkeypatch.setattr(runner_module, "score", must_not_run)
    second = runner.invoke(app, args)
    assert second.exit_code == 0, second.output
    assert pd.read_csv(csv)["raw"].tolist() == pytest.approx(table["raw"].tolist())
