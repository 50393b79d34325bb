"""Leaderboard site: the numbers on the pages are the store's best layers and composites; CLI and server."""

import json
import re
import threading
import urllib.request

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from brainalign.benchmarks.composite import composite_scores
from brainalign.cli import app
from brainalign.core.errors import InvalidInputError
from brainalign.report.leaderboard import build_site, leaderboard_data, load_results, serve
from brainalign.store.results import ResultsStore

MODELS = {"efficientnet_lite0": "ImageNet-1k", "efficientnet_lite0_random": "random", "my/net<1>": "local"}
BENCHMARKS = {"Net2Brain78.EVC-rsa": "ρ/ceiling", "Net2Brain78.IT-rsa": "ρ/ceiling",
              "Cowley2023.V4-ridge": "r·|r|/ceiling", "Geirhos2021.edge-error_consistency": "κ/ceiling"}
LAYERS = ("blocks.1", "blocks.3", "head")


def make_store(path, seed: int = 0) -> ResultsStore:
    """A store of results rows like `brainalign score` writes, with random scores, CIs and p-values."""
    rng = np.random.default_rng(seed)
    store = ResultsStore(path)
    for model, status in MODELS.items():
        for benchmark, units in BENCHMARKS.items():
            for layer in LAYERS:
                raw = float(rng.uniform(0, 0.5))
                store.put({"model": model, "weights_checksum": "c", "layer": layer, "benchmark": benchmark,
                           "benchmark_version": 1, "metric_options": "{}", "brainalign_version": "0.1.0",
                           "weights": status, "units": units, "score": raw / 0.6, "raw": raw, "ceiling": 0.6,
                           "ceiling_raw_units": 0.6, "error": 0.01, "ci_low": raw / 0.6 - 0.05,
                           "ci_high": raw / 0.6 + 0.05, "p_value": float(rng.uniform(0, 0.1)), "normalised": True})
    return store


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """Read-only in the tests (a test that writes makes its own)."""
    return make_store(tmp_path_factory.mktemp("store") / "results.sqlite")


def test_data_are_the_best_layers_and_composites_of_the_store(store):
    table = store.table()
    data = leaderboard_data(table, ["vision"])
    ids = [c["id"] for c in data["columns"]]
    assert ids[:5] == ["vision", "vision:EVC", "vision:V4", "vision:IT", "vision:behaviour"]
    assert ids[5:] == sorted(BENCHMARKS)
    composite = composite_scores(table, "vision").set_index(["model", "region"])
    for entry in data["models"]:
        rows = table[table.model == entry["model"]]
        for benchmark in BENCHMARKS:
            part = rows[rows.benchmark == benchmark]
            best = part.loc[part.score.idxmax()]
            assert entry["cells"][benchmark] == {"value": best.score, "layer": best.layer, "version": 1}
        assert entry["cells"]["vision"]["value"] == pytest.approx(composite.loc[(entry["model"], "overall"), "score"])
        it = entry["cells"]["vision:IT"]
        assert (it["n_scored"], it["n_benchmarks"]) == (1, 3)
        assert entry["training_status"] == MODELS[entry["model"]]
    assert {e["slug"] for e in data["models"]} == {"efficientnet_lite0", "efficientnet_lite0_random", "my_net_1_"}


def test_site_pages_hold_the_store_numbers(store, tmp_path):
    table = store.table()
    site = build_site(table, tmp_path / "site", composites=["vision"])
    index = (site / "index.html").read_text()
    embedded = json.loads(re.search(r'id="board-data">(.*?)</script>', index, re.S).group(1))
    assert embedded["models"] == leaderboard_data(table, ["vision"])["models"]
    assert "https://" not in index and "http://" not in index  # offline: no CDN
    page = (site / "models" / "efficientnet_lite0.html").read_text()
    assert 'id="training-status">ImageNet-1k<' in page and "<dt>architecture</dt>" in page
    rows = table[(table.model == "efficientnet_lite0") & (table.benchmark == "Cowley2023.V4-ridge")]
    layers = re.search(r'data-benchmark="Cowley2023.V4-ridge">(.*?)</table>', page, re.S).group(1)
    for row in rows.itertuples():
        cells = re.search(rf"<tr[^>]*><td>{row.layer}</td>(.*?)</tr>", layers).group(1)
        values = [float(v) for v in re.findall(r'data-value="([^"]+)"', cells)]
        assert values == [row.score, row.raw, row.ceiling, row.ceiling_raw_units, row.ci_low, row.ci_high,
                          row.p_value, row.error]
    best_layer = rows.loc[rows.score.idxmax(), "layer"]
    assert re.search(rf'<tr class="best"><td>{best_layer}</td>', layers)
    assert "my/net&lt;1&gt;" in (site / "models" / "my_net_1_.html").read_text()


def test_newer_benchmark_version_replaces_the_old_one(tmp_path):
    store = make_store(tmp_path / "results.sqlite")
    row = store.table().iloc[0].to_dict()
    store.put({**row, "benchmark_version": 2, "score": 0.001})
    data = leaderboard_data(store.table(), [])
    entry = next(e for e in data["models"] if e["model"] == row["model"])
    assert entry["cells"][row["benchmark"]] == {"value": 0.001, "layer": row["layer"], "version": 2}
    assert next(c for c in data["columns"] if c["id"] == row["benchmark"])["versions"] == [1, 2]


def test_cli_leaderboard_and_composite(store, tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["leaderboard", "--store", str(store.path), "--out", str(tmp_path / "s")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "s" / "models" / "my_net_1_.html").is_file()
    csv = tmp_path / "composites.csv"
    result = runner.invoke(app, ["composite", str(store.path), "-c", "vision", "-o", str(csv)])
    assert result.exit_code == 0, result.output
    written = pd.read_csv(csv).set_index(["model", "region"])
    expected = composite_scores(store.table(), "vision").set_index(["model", "region"])
    np.testing.assert_allclose(written["score"], expected["score"])
    bad = runner.invoke(app, ["composite", str(store.path), "-c", "visoin"])
    assert bad.exit_code == 2 and "vision" in bad.output
    missing = runner.invoke(app, ["leaderboard", "--store", str(tmp_path / "none.db"), "--out", str(tmp_path / "x")])
    assert missing.exit_code == 2 and "none.db" in missing.output


def test_load_results_csv_and_errors(store, tmp_path):
    csv = tmp_path / "r.csv"
    store.table().to_csv(csv, index=False)
    assert len(load_results(csv)) == len(store.table())
    with pytest.raises(InvalidInputError, match="does not exist"):
        load_results(tmp_path / "absent.csv")
    with pytest.raises(InvalidInputError, match="not a leaderboard site"):
        serve(tmp_path)


def test_served_site(store, tmp_path):
    site = build_site(store.table(), tmp_path / "site")
    server = serve(site, port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        with urllib.request.urlopen(f"{base}/board.js") as response:
            assert b"getElementById" in response.read()
        with urllib.request.urlopen(f"{base}/models/efficientnet_lite0.html") as response:
            assert b"Cowley2023.V4-ridge" in response.read()
        taken = CliRunner().invoke(app, ["serve", str(site), "--port", str(server.server_address[1])])
        assert taken.exit_code == 2 and "choose another --port" in taken.output
    finally:
        server.shutdown()
        server.server_close()
