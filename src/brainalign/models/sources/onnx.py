"""ONNX models run with onnxruntime; every node output of the graph is a readable layer.

The requested node outputs are added to the graph's outputs and the graph is run once per batch (one
session per set of requested layers, built on first use). Image inputs get the card's `ImagePreprocessing`.

>>> import tempfile, pathlib, torch
>>> path = pathlib.Path(tempfile.mkdtemp()) / "net.onnx"
>>> net = torch.nn.Sequential(torch.nn.Conv2d(3, 2, 3), torch.nn.ReLU()).eval()
>>> torch.onnx.export(net, torch.rand(1, 3, 8, 8), path, dynamo=False, input_names=["images"],
...                   output_names=["relu"], dynamic_axes={"images": {0: "batch"}})
>>> graph_layers(__import__("onnx").load(path))
['/0/Conv_output_0', 'relu']
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from brainalign.core.errors import InvalidInputError
from brainalign.models.card import ModelCard
from brainalign.models.sources.base import ImagePreprocessing, SourceModel
from brainalign.models.sources.registry import MODEL_SOURCES
from brainalign.models.sources.weights import path_checksum


def graph_layers(graph_model: Any) -> list[str]:
    """Every node output name of an ``onnx.ModelProto``, in graph order."""
    return [name for node in graph_model.graph.node for name in node.output if name]


@dataclass
class OnnxModel(SourceModel):
    """An ONNX graph (``graph``: the ``onnx.ModelProto``) with one image input; ``module`` is None."""

    graph: Any = None
    _sessions: dict[tuple[str, ...], Any] = field(default_factory=dict, repr=False)

    def layer_names(self) -> list[str]:
        return graph_layers(self.graph)

    def batch_features(self, stimuli: Any, indices: Sequence[int], layers: Sequence[str]) -> dict[str, np.ndarray]:
        transform = self.preprocessing.transform
        images = np.stack([transform(stimuli.load_image(i)).numpy() for i in indices])
        session = self._session(tuple(layers))
        values = session.run(list(layers), {session.get_inputs()[0].name: images})
        return {layer: value.reshape(len(indices), -1).astype(np.float32)
                for layer, value in zip(layers, values, strict=True)}

    def _session(self, layers: tuple[str, ...]) -> Any:
        """An onnxruntime session whose outputs include ``layers``."""
        if layers not in self._sessions:
            import onnx
            import onnxruntime

            graph = onnx.ModelProto()
            graph.CopyFrom(self.graph)
            present = {output.name for output in graph.graph.output}
            graph.graph.output.extend(onnx.ValueInfoProto(name=name) for name in layers if name not in present)
            self._sessions[layers] = onnxruntime.InferenceSession(graph.SerializeToString(),
                                                                  providers=["CPUExecutionProvider"])
        return self._sessions[layers]


@MODEL_SOURCES.register("onnx")
def load_onnx_model(card: ModelCard, device: str = "cpu", seed: int = 0) -> OnnxModel:
    """The ONNX file ``card.weights_file`` with the card's image preprocessing (the graph must take one image
    batch (n, 3, H, W); text and video ONNX graphs are not supported). onnxruntime runs it on the CPU; ``device``
    and ``seed`` are not used."""
    import onnx

    path = Path(card.weights_file or "")
    if not path.is_file():
        raise InvalidInputError(f"ONNX model {card.identifier!r}: file {path} does not exist")
    graph = onnx.load(path)
    initializers = {tensor.name for tensor in graph.graph.initializer}
    inputs = [value.name for value in graph.graph.input if value.name not in initializers]
    if len(inputs) != 1 or card.modality != "image":
        raise InvalidInputError(f"ONNX model {card.identifier!r}: only graphs with one image input are supported; "
                                f"this one has inputs {inputs} and modality {card.modality!r}")
    return OnnxModel(card, None, ImagePreprocessing.from_card(card), path_checksum(path), "cpu", graph=graph)
