"""score / score_grid as users hit them: killed grids keep finished rows, NaN layers, user modules and callables.

The simulated benchmark (tests/grid_job.py) has responses that are a noisy linear readout of a latent; layers are
functions of that latent, so ridge scores are finite and differ between layers.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

import brainalign
from brainalign.metrics.registry import get_metric
from brainalign.models.sources.user import register_user_model
from brainalign.runner.score import score_grid
from brainalign.store.results import ResultsStore
from grid_job import TEXTS, SimulatedBenchmark, factory_source

JOB = Path(__file__).with_name("grid_job.py")
RIDGE = SimulatedBenchmark("Sim.V4-ridge", "Sim", "V4", "ridge", "responses")


def _job(tmp_path: Path, store: Path, gate: Path) -> list[str]:
    (tmp_path / "net.py").write_text(factory_source())
    return [sys.executable, str(JOB), str(store), str(gate), "net.py:make"]


def _rows(store: Path) -> int:
    return len(ResultsStore(store).table()) if store.exists() else 0


def test_killed_grid_keeps_finished_rows_and_resumes_to_the_uninterrupted_result(tmp_path):
    store, gate = tmp_path / "killed.sqlite", tmp_path / "gate"
    command = _job(tmp_path, store, gate)
    job = subprocess.Popen(command, cwd=tmp_path, env=os.environ, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while _rows(store) < 2 and time.monotonic() < deadline and job.poll() is None:
        time.sleep(0.1)
    job.send_signal(signal.SIGKILL)
    job.wait()
    assert _rows(store) == 2, job.stdout.read().decode()[-2000:]  # the metric blocks before layer 3

    gate.touch()
    resumed = subprocess.run(command, cwd=tmp_path, env=os.environ, capture_output=True, text=True, check=True)
    assert "computed=2 rows=4" in resumed.stdout  # only the two missing layers were computed
    fresh_store = tmp_path / "fresh.sqlite"
    subprocess.run(_job(tmp_path, fresh_store, gate), cwd=tmp_path, env=os.environ, capture_output=True, check=True)
    killed = ResultsStore(store).table().set_index("layer").sort_index()
    fresh = ResultsStore(fresh_store).table().set_index("layer").sort_index()
    assert list(killed.index) == ["l1", "l2", "l3", "l4"]
    np.testing.assert_array_equal(killed["score"].to_numpy(), fresh["score"].to_numpy())
    assert killed["score"].nunique() == 4


def _flat(texts):
    return {"flat": np.zeros((len(texts), 3)), "constant": np.ones((len(texts), 2))}


def test_all_nan_layers_are_kept_and_never_marked_best(tmp_path):
    register_user_model("flat_net", _flat, layers=["flat", "constant"], modality="text")
    store = ResultsStore(tmp_path / "s.sqlite")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = score_grid(["flat_net"], [RIDGE], store=store)
    assert table["layer"].tolist() == ["flat", "constant"]
    assert table["score"].isna().all() and not table["best"].any()
    assert store.table()["score"].isna().sum() == 2


class _Linear(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = torch.nn.Linear(1, 4)
        self.out = torch.nn.Linear(4, 4)

    def forward(self, x):
        return self.out(torch.tanh(self.hidden(x)))


def _index(text: str) -> torch.Tensor:
    return torch.tensor([float(text[1:]) / 60])


def test_reregistered_module_with_new_weights_is_scored_again(tmp_path):
    store = ResultsStore(tmp_path / "s.sqlite")
    torch.manual_seed(0)
    net = _Linear()
    register_user_model("tiny_net", net, preprocessing=_index, modality="text")
    first = score_grid(["tiny_net"], [RIDGE], store=store)
    with torch.no_grad():
        net.hidden.weight.mul_(5.0)
    register_user_model("tiny_net", net, preprocessing=_index, modality="text")
    second = score_grid(["tiny_net"], [RIDGE], store=store)
    assert first["layer"].tolist() == ["hidden", "out"] == second["layer"].tolist()
    assert len(store.table()) == 4  # two checksums x two layers
    assert set(first["weights_checksum"]) != set(second["weights_checksum"])
    assert not np.allclose(first["score"], second["score"])


def test_score_accepts_a_callable_and_matches_the_metric(tmp_path):
    from brainalign.core.labels import make_features

    latent_readout = np.random.default_rng(0).normal(size=(60, 3))
    results = brainalign.score(lambda texts: latent_readout[[int(t[1:]) for t in texts]], RIDGE, name="readout")
    features = make_features(latent_readout.astype(np.float32), TEXTS)
    expected = get_metric("ridge")(features, RIDGE.target_data())
    assert results.scores["output"].value == pytest.approx(expected.value, abs=1e-6)
    assert results.table()["units"].tolist() == ["r"]
