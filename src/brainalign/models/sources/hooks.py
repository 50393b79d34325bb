"""Read named submodules of a torch module during one forward pass, each output reduced by a readout; the
tensor a layer's output stands for (``main_tensor``).

>>> import torch
>>> net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU())
>>> features, output = read_layers(net, lambda: net(torch.ones(2, 3)), ["0", "1"])
>>> features["1"].shape, bool((features["1"] == output.numpy()).all())
((2, 4), True)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch

from brainalign.core.errors import InvalidInputError


def main_tensor(output: Any, layer: str) -> torch.Tensor:
    """The tensor a layer's output stands for: itself, the first tensor of a tuple, or ``last_hidden_state``.

    >>> main_tensor((torch.ones(2), "extra"), "layer").shape
    torch.Size([2])
    """
    if isinstance(output, torch.Tensor):
        return output
    if isinstance(output, Mapping):
        if "last_hidden_state" in output:
            return output["last_hidden_state"]
        output = list(output.values())
    elif hasattr(output, "last_hidden_state"):
        return output.last_hidden_state
    if isinstance(output, (tuple, list)):
        for item in output:
            if isinstance(item, torch.Tensor):
                return item
    raise InvalidInputError(f"layer {layer!r} returned {type(output).__name__}, which holds no tensor to read")


def read_layers(
    root: torch.nn.Module,
    run: Callable[[], Any],
    layers: Sequence[str],
    readout: Callable[[torch.Tensor], torch.Tensor] = lambda tensor: tensor,
) -> tuple[dict[str, np.ndarray], Any]:
    """Call ``run()`` once (no gradients) with forward hooks on the ``layers`` submodules of ``root``.

    Each hooked output (its main tensor) goes through ``readout`` (e.g. token or temporal pooling) and comes
    back as a (batch, unit) float32 array; a module called twice keeps its last output. Returns the arrays
    and whatever ``run()`` returned.
    """
    captured: dict[str, torch.Tensor] = {}

    def hook(name: str):
        def record(_module, _inputs, output):
            captured[name] = readout(main_tensor(output, name)).detach()

        return record

    handles = [root.get_submodule(name).register_forward_hook(hook(name)) for name in layers]
    try:
        with torch.inference_mode():
            result = run()
    finally:
        for handle in handles:
            handle.remove()
    silent = [name for name in layers if name not in captured]
    if silent:
        raise InvalidInputError(f"layers {silent} produced no output: their modules are not called in the forward pass")
    arrays = {name: captured[name].reshape(captured[name].shape[0], -1).to("cpu", torch.float32).numpy()
              for name in layers}
    return arrays, result
