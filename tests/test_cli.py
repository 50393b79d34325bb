"""The command line: listings, clear errors with exit code 2, and a scored CSV with the promised columns."""

import os
import sqlite3
import stat
import subprocess
import sys

import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

import brainalign.runner.score as runner_module
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
    result = runner.invoke(app, ["score", "--model", "efficientnet_lte0", "--benchmark", "Kriegeskorte2008.mIT-rsa"])
    assert result.exit_code == 2
    assert "efficientnet_lte0" in result.output and "efficientnet_lite0" in result.output


def test_unknown_layer_fails_with_the_valid_layers(shared_data):
    result = runner.invoke(app, ["score", "-m", "efficientnet_lite0", "-b", "Kriegeskorte2008.mIT-rsa",
                                 "-l", "blocks.99"])
    assert result.exit_code == 2
    assert "blocks.99" in result.output and "blocks.6" in result.output


def test_layers_lists_module_names():
    result = runner.invoke(app, ["layers", "efficientnet_lite0"])
    assert result.exit_code == 0
    assert "blocks.6" in result.output.split()


@pytest.mark.slow
def test_score_writes_csv_and_store_resumes(shared_data, tmp_path, monkeypatch):
    csv, store = tmp_path / "r.csv", tmp_path / "r.sqlite"
    args = ["score", "-m", "efficientnet_lite0", "-b", "Kriegeskorte2008.mIT-rsa", "-l", "blocks.6",
            "-o", str(csv), "--store", str(store)]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    table = pd.read_csv(csv)
    assert {"model", "layer", "benchmark", "metric", "score", "raw", "ceiling", "error"} <= set(table.columns)
    assert table.loc[0, "metric"] == "rsa" and table.loc[0, "layer"] == "blocks.6"
    def must_not_run(*args, **kwargs):
        raise AssertionError("a stored result was computed again")

    monkeypatch.setattr(runner_module, "score", must_not_run)
    second = runner.invoke(app, args)
    assert second.exit_code == 0, second.output
    assert pd.read_csv(csv)["raw"].tolist() == pytest.approx(table["raw"].tolist())


# --- validation before computing, outputs, stores, user models ------------------------------------------------

MIT = "Kriegeskorte2008.mIT-rsa"
TINY_NET = """import torch

def make():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv2d(3, 4, 5, stride=4), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(2),
                               torch.nn.Flatten(), torch.nn.Linear(16, 8))
"""


@pytest.fixture
def nothing_computed(monkeypatch):
    def must_not_run(*args, **kwargs):
        raise AssertionError("computing started before the arguments were checked")

    monkeypatch.setattr(runner_module, "score_grid", must_not_run)
    monkeypatch.setattr(runner_module, "score", must_not_run)


@pytest.mark.parametrize("device, message", [("foo", "device 'foo' is not valid"),
                                             ("cuda", "no CUDA GPU on this machine")])
def test_bad_device_is_refused_before_computing(nothing_computed, device, message):
    if device == "cuda" and torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    result = runner.invoke(app, ["score", "-m", "efficientnet_lite0_random", "-b", MIT, "--device", device])
    assert result.exit_code == 2 and message in result.output


def test_brainalign_device_variable_is_checked_like_the_option(nothing_computed, monkeypatch):
    monkeypatch.setenv("BRAINALIGN_DEVICE", "gpu7")
    result = runner.invoke(app, ["score", "-m", "efficientnet_lite0_random", "-b", MIT])
    assert result.exit_code == 2 and "device 'gpu7' is not valid" in result.output


def test_device_sets_the_compute_context_for_metrics(monkeypatch):
    from brainalign.core.config import get_config

    seen = {}

    def fake_grid(models, benchmarks, layers, **kwargs):
        seen["device"] = get_config()["device"]
        raise runner_module.InvalidInputError("stop here")

    monkeypatch.setattr(runner_module, "score_grid", fake_grid)
    runner.invoke(app, ["score", "-m", "efficientnet_lite0_random", "-b", MIT, "--device", "cpu"])
    assert seen == {"device": "cpu"}


def test_unknown_benchmark_is_refused_before_any_model_loads(nothing_computed, monkeypatch):
    from brainalign.models import loading

    monkeypatch.setattr(loading, "load_model", lambda *a, **k: pytest.fail("a model was loaded"))
    result = runner.invoke(app, ["score", "-m", "efficientnet_lite0_random", "-b", MIT, "-b", "Nope.x-rsa"])
    assert result.exit_code == 2 and "Nope.x-rsa" in result.output


def test_output_that_is_the_store_is_refused(nothing_computed, tmp_path):
    store = tmp_path / "results.sqlite"
    link = tmp_path / "link.csv"
    link.symlink_to(store)
    for output in (store, link):
        result = runner.invoke(app, ["score", "-m", "efficientnet_lite0_random", "-b", MIT, "--store", str(store),
                                     "-o", str(output)])
        assert result.exit_code == 2 and "is the --store file" in result.output
    assert not store.exists()


def test_fifo_output_is_refused_without_blocking(nothing_computed, tmp_path):
    fifo = tmp_path / "out.csv"
    os.mkfifo(fifo)
    result = runner.invoke(app, ["score", "-m", "efficientnet_lite0_random", "-b", MIT, "-o", str(fifo)])
    assert result.exit_code == 2 and "not a regular file" in result.output
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_corrupt_or_foreign_store_is_refused_with_its_name(nothing_computed, tmp_path):
    corrupt, foreign = tmp_path / "corrupt.sqlite", tmp_path / "foreign.sqlite"
    corrupt.write_bytes(b"SQLite format 3\x00" + b"\xff" * 200)
    with sqlite3.connect(foreign) as db:
        db.execute("CREATE TABLE invoices (id INTEGER)")
    for path in (corrupt, foreign):
        result = runner.invoke(app, ["score", "-m", "efficientnet_lite0_random", "-b", MIT, "--store", str(path)])
        assert result.exit_code == 2 and str(path) in result.output.replace("\n", ""), result.output


def test_models_search_filters_by_parameter_count():
    result = runner.invoke(app, ["models", "search", "-w", "parameters_max=3000000"])
    assert result.exit_code == 0, result.output
    assert "mobilenet_v3_small" in result.output and "efficientnet_lite0" not in result.output
    bad = runner.invoke(app, ["models", "search", "-w", "parameters_max=lots"])
    assert bad.exit_code == 2 and "parameters_max needs a number" in bad.output


def test_plot_refuses_malformed_csv_with_its_name(tmp_path):
    broken, foreign = tmp_path / "broken.csv", tmp_path / "foreign.csv"
    broken.write_text('model,layer\n"m,"a\n1,2,3,4\n')
    foreign.write_text("a,b\n1,2\n")
    for path in (broken, foreign):
        result = runner.invoke(app, ["plot", str(path), "-o", str(tmp_path / "fig.png")])
        assert result.exit_code == 2 and path.name in result.output, result.output
    assert not (tmp_path / "fig.png").exists()


def test_layers_of_a_factory_file(tmp_path):
    (tmp_path / "net.py").write_text(TINY_NET)
    result = runner.invoke(app, ["layers", f"{tmp_path / 'net.py'}:make"])
    assert result.exit_code == 0, result.output
    assert result.output.split() == ["0", "1", "2", "3", "4"]
    missing = runner.invoke(app, ["layers", f"{tmp_path / 'net.py'}:build"])
    assert missing.exit_code == 2 and "'build'" in missing.output and "valid: make" in missing.output


def test_list_benchmarks_names_the_units():
    result = runner.invoke(app, ["list", "benchmarks"])
    assert "r·|r|/ceiling" in result.output and "ρ/ceiling" in result.output


def test_factory_model_scored_in_a_real_process_through_a_symlinked_output(shared_data, tmp_path):
    (tmp_path / "net.py").write_text(TINY_NET)
    real, link = tmp_path / "real.csv", tmp_path / "link.csv"
    real.write_text("old")
    os.chmod(real, 0o600)
    link.symlink_to(real)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(
        [sys.executable, "-c", "import os; os.umask(0o022); from brainalign.cli import app; app()", "score",
         "-m", "net.py:make", "-b", MIT, "-l", "4", "-o", str(link)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert link.is_symlink() and link.resolve() == real.resolve()
    assert stat.S_IMODE(real.stat().st_mode) == 0o644
    table = pd.read_csv(real)
    assert table[["model", "layer", "benchmark", "units"]].values.tolist() == [["net:make", 4, MIT, "ρ"]]
    assert -1 <= table.loc[0, "raw"] <= 1 and table.loc[0, "score"] == table.loc[0, "raw"]


def test_score_with_ci_adds_an_interval_that_brackets_the_score(shared_data, tmp_path):
    """`--ci 0.95` adds ci_low, ci_high and p_value columns; the interval contains the score it belongs to."""
    import pandas as pd

    out = tmp_path / "scores.csv"
    result = CliRunner().invoke(app, ["score", "-m", "efficientnet_lite0", "-b", "Cowley2023.V4-ridge", "-l",
                                      "blocks.5", "--ci", "0.95", "-o", str(out)])
    assert result.exit_code == 0, result.output
    row = pd.read_csv(out).iloc[0]
    assert row["ci_low"] < row["score"] < row["ci_high"]
    assert row["p_value"] < 0.01 and row["error_kind"] == "SEM over splits"
