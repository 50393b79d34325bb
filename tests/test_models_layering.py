"""The models package has one-way dependencies (no import cycle, no use of another module's private names), and
model sources are looked up in one registry that other packages can extend."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

import brainalign
from brainalign.core.errors import InvalidInputError, UnknownNameError
from brainalign.data.stimuli import StimulusSet
from brainalign.models.card import ModelCard
from brainalign.models.extractor import Extractor
from brainalign.models.loading import load_model
from brainalign.models.sources.base import SourceModel
from brainalign.models.sources.registry import MODEL_SOURCES

ROOT = Path(brainalign.__file__).parent


def _imports() -> tuple[dict[str, set[str]], list[str]]:
    """Module → brainalign modules it imports (anywhere in the file), and 'module -> private name' uses."""
    modules = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph, private = {name: set() for name in modules}, []
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("brainalign"):
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    graph[name].add(full if full in modules else node.module)
                    if full not in modules and alias.name.startswith("_") and node.module != name:
                        private.append(f"{name} -> {full}")
            elif isinstance(node, ast.Import):
                graph[name].update(a.name for a in node.names if a.name in modules)
    return {k: {v for v in vs if v in modules and v != k} for k, vs in graph.items()}, private


def _cycle_through(graph: dict[str, set[str]], start: str) -> list[str] | None:
    """A path start → ... → start, if one exists (depth-first search)."""
    stack, seen = [(start, [start])], set()
    while stack:
        node, path = stack.pop()
        for nxt in graph[node]:
            if nxt == start:
                return [*path, start]
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, [*path, nxt]))
    return None


def test_models_modules_import_one_way_and_use_no_private_names():
    graph, private = _imports()
    models = sorted(name for name in graph if name.startswith("brainalign.models"))
    assert len(models) >= 15
    cycles = [cycle for name in models if (cycle := _cycle_through(graph, name))]
    assert cycles == []
    assert [use for use in private if use.startswith(("brainalign.models", "brainalign.runner"))] == []


def test_model_sources_come_from_one_registry_that_packages_extend(tmp_path):
    assert set(MODEL_SOURCES.names()) == {"torchvision", "timm", "transformers", "sentence-transformers", "onnx",
                                          "user", "audio", "clip", "cornet"}

    class Constant(SourceModel):
        def layer_names(self):
            return ["value"]

        def batch_features(self, stimuli, indices, layers):
            return {"value": np.full((len(indices), 2), self.card.extra["value"], dtype=np.float32)}

    def load_constant(card, device="cpu", seed=0):
        return Constant(card, None, None, f"constant-{card.extra['value']}", device)

    fields = dict(identifier="const", source="constant", architecture="constant", family="MLP", task="demo",
                  training_data="none", training_method="supervised", modality="text", parameters=0,
                  default_layers=["value"], input_size=0, weights="local", extra={"value": 4.0})
    with pytest.raises(InvalidInputError, match="source 'constant' is not valid; valid: audio, clip, cornet, onnx, "):
        ModelCard(**fields)
    MODEL_SOURCES.register("constant", load_constant)
    try:
        card = ModelCard(**fields)
        stimuli = StimulusSet("texts", ["a", "b", "c"], texts=["x", "y", "z"], modality="text")
        features = Extractor(load_model(card), cache=False, progress=False).extract(stimuli)["value"]
        np.testing.assert_array_equal(features.values, np.full((3, 2), 4.0))
    finally:
        MODEL_SOURCES.unregister("constant")
    with pytest.raises(UnknownNameError, match="unknown model source 'open_clip'"):
        load_model(ModelCard(**{**fields, "source": "open_clip"}))
