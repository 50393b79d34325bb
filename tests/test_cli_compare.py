"""`brainalign compare` on the real V4 benchmark with two small user networks: each row's scores are the runner's
scores, the difference lies in its CI, the corrected p-values are scipy's Benjamini–Hochberg; stored best layers
join the candidates; bad input fails with a clear message."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.stats
from typer.testing import CliRunner

from brainalign.cli import app

BENCHMARK = "Cowley2023.V4-ridge"
NETWORKS = '''
import torch


def _net(pool):
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv2d(3, 8, 9, stride=8), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(pool),
                               torch.nn.Flatten())


def coarse():
    return _net(1)


def medium():
    return _net(2)


def fine():
    return _net(4)
'''

runner = CliRunner()


@pytest.fixture
def networks(tmp_path):
    path = tmp_path / "nets.py"
    path.write_text(NETWORKS)
    return f"{path}:coarse", f"{path}:medium", f"{path}:fine"


@pytest.mark.slow
def test_compare_table_holds_the_runners_scores_and_corrected_p_values(shared_data, networks, tmp_path):
    from brainalign.runner.score import score
    from brainalign.store.results import ResultsStore

    coarse, medium, fine = networks  # global means of 8 channels, 2 x 2 and 4 x 4 pooled maps
    store = tmp_path / "results.sqlite"
    stored = score(coarse, BENCHMARK, ["2"], store=ResultsStore(store))
    output = tmp_path / "compare.csv"
    result = runner.invoke(app, ["compare", "-b", BENCHMARK, "-m", medium, "-m", fine, "-l", "2", "--store",
                                 str(store), "--n-samples", "300", "-o", str(output)])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(output)
    expected = {f"nets:{name}:2": score(spec, BENCHMARK, ["2"]).scores["2"].value
                for name, spec in (("medium", medium), ("fine", fine))}
    expected["nets:coarse:2"] = stored.scores["2"].value
    assert set(table.model_a) | set(table.model_b) == set(expected) and len(table) == 3
    for row in table.itertuples():
        assert row.score_a == pytest.approx(expected[row.model_a], abs=1e-6)
        assert row.score_b == pytest.approx(expected[row.model_b], abs=1e-6)
        assert row.difference == pytest.approx(row.score_a - row.score_b, abs=1e-9)
        assert row.ci_low <= row.difference <= row.ci_high and 0 < row.p_value <= 1
    np.testing.assert_allclose(table.p_adjusted, scipy.stats.false_discovery_control(table.p_value), atol=1e-12)
    assert "p_adjusted" in result.output and "difference" in result.output


def test_compare_refuses_rsa_benchmarks_and_single_candidates(networks, shared_data):
    coarse = networks[0]
    result = runner.invoke(app, ["compare", "-b", "Kriegeskorte2008.mIT-rsa", "-m", coarse, "-l", "1", "-l", "3"])
    assert result.exit_code == 2 and "compare needs an encoding benchmark" in result.output
    result = runner.invoke(app, ["compare", "-b", BENCHMARK, "-m", coarse, "-l", "3"])
    assert result.exit_code == 2 and "at least 2" in result.output
    result = runner.invoke(app, ["compare", "-b", BENCHMARK, "--store", "missing.sqlite"])
    assert result.exit_code == 2 and "missing.sqlite is not a results file" in result.output
