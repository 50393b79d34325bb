"""CORnet-Z, CORnet-RT and CORnet-S (Kubilius et al. 2019): four areas V1 → V2 → V4 → IT and a decoder.

Written from the papers' descriptions (Kubilius, Schrimpf et al. 2018, "CORnet: Modeling the Neural Mechanisms
of Core Object Recognition", bioRxiv; Kubilius, Schrimpf, Kar et al. 2019, NeurIPS, "Brain-Like Object Recognition
with High-Performing Shallow Recurrent ANNs"), with module names matching the released ImageNet checkpoints
(``CORNET_WEIGHTS``: the authors' URLs), so those load by name.

* **CORnet-Z** — each area is conv → ReLU → 3×3 max-pool (stride 2); V1 a 7×7 stride-2 conv to 64 channels, then
  128, 256, 512 channels.
* **CORnet-RT** — each area has an input conv (+ GroupNorm, ReLU) and a recurrent 3×3 conv (+ GroupNorm, ReLU)
  whose input is the sum of the area's input and its previous output; unrolled biologically over ``times`` (5)
  steps: at step t an area reads what the area below produced at step t − 1 (V2 and up see zeros at t = 0).
* **CORnet-S** — V1 two convs with a max-pool between; V2 / V4 / IT ResNet-like bottleneck blocks (×4 channels)
  repeated 2 / 4 / 2 times with shared weights and a BatchNorm per repetition; the first repetition downsamples
  (stride 2) and adds a 1×1 strided skip projection, later ones add the identity.

Every network ends in ``decoder`` (global average pool → flatten → linear to 1000 classes → ``output``).

>>> import torch
>>> net = build_cornet("cornet_z")
>>> [name for name, _ in net.named_children()], tuple(net(torch.zeros(1, 3, 64, 64)).shape)
(['V1', 'V2', 'V4', 'IT', 'decoder'], (1, 1000))
"""

from __future__ import annotations

import math
from collections import OrderedDict

import torch
from torch import nn

from brainalign.core.errors import UnknownNameError

AREAS = ("V1", "V2", "V4", "IT", "decoder")
CORNET_WEIGHTS = {  # the authors' ImageNet checkpoints ({"state_dict": ...}, names prefixed "module.")
    "cornet_z": "https://s3.amazonaws.com/cornet-models/cornet_z-5c427c9c.pth",
    "cornet_rt": "https://s3.amazonaws.com/cornet-models/cornet_rt-933c001c.pth",
    "cornet_s": "https://s3.amazonaws.com/cornet-models/cornet_s-1d3f7974.pth",
}


def _decoder(channels: int = 512, classes: int = 1000) -> nn.Sequential:
    return nn.Sequential(OrderedDict([
        ("avgpool", nn.AdaptiveAvgPool2d(1)), ("flatten", nn.Flatten()), ("linear", nn.Linear(channels, classes)),
        ("output", nn.Identity()),
    ]))


class ZBlock(nn.Module):
    """conv (``kernel_size``, ``stride``, same padding) → ReLU → 3×3 max-pool with stride 2 → ``output``."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding=kernel_size // 2)
        self.nonlin = nn.ReLU(inplace=True)
        self.pool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.output = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.output(self.pool(self.nonlin(self.conv(x))))


def cornet_z() -> nn.Sequential:
    """CORnet-Z: feedforward, four `ZBlock` areas (Xavier-uniform weights, zero biases)."""
    net = nn.Sequential(OrderedDict([
        ("V1", ZBlock(3, 64, kernel_size=7, stride=2)), ("V2", ZBlock(64, 128)), ("V4", ZBlock(128, 256)),
        ("IT", ZBlock(256, 512)), ("decoder", _decoder()),
    ]))
    for module in net.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(module.weight)
            nn.init.zeros_(module.bias)
    return net


class RTBlock(nn.Module):
    """One recurrent area: ``inputs`` → conv (+ GroupNorm 32, ReLU), added to the previous ``state``, → 3×3 conv
    (+ GroupNorm 32, ReLU); the result is both the area's output and its next state."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1):
        super().__init__()
        self.out_channels, self.stride = out_channels, stride
        self.conv_input = nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding=kernel_size // 2)
        self.norm_input = nn.GroupNorm(32, out_channels)
        self.nonlin_input = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(out_channels, out_channels, kernel_size=3, padding=1, bias=False)
        self.norm1 = nn.GroupNorm(32, out_channels)
        self.nonlin1 = nn.ReLU(inplace=True)
        self.output = nn.Identity()

    def forward(self, inputs: torch.Tensor | None, state: torch.Tensor | None,
                shape: tuple[int, ...]) -> tuple[torch.Tensor, torch.Tensor]:
        """``inputs`` None (nothing arrived yet) stands for zeros of ``shape``; ``state`` None for zeros."""
        if inputs is None:
            x = self.conv1.weight.new_zeros(shape)
        else:
            x = self.nonlin_input(self.norm_input(self.conv_input(inputs)))
        if state is not None:
            x = x + state
        out = self.output(self.nonlin1(self.norm1(self.conv1(x))))
        return out, out


class CORnetRT(nn.Module):
    """CORnet-RT unrolled over ``times`` steps; the decoder reads IT at the last step."""

    def __init__(self, times: int = 5):
        super().__init__()
        self.times = times
        self.V1 = RTBlock(3, 64, kernel_size=7, stride=4)
        self.V2 = RTBlock(64, 128, stride=2)
        self.V4 = RTBlock(128, 256, stride=2)
        self.IT = RTBlock(256, 512, stride=2)
        self.decoder = _decoder()

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        areas = (self.V1, self.V2, self.V4, self.IT)
        shapes, size = [], image.shape[-2:]
        for area in areas:  # the output size of each area (its convs keep "same" padding)
            size = tuple((s - 1) // area.stride + 1 for s in size)
            shapes.append((image.shape[0], area.out_channels, *size))
        outputs: list[torch.Tensor | None] = [None] * 4
        states: list[torch.Tensor | None] = [None] * 4
        for _ in range(self.times):
            below = [image, *outputs[:-1]]  # what each area receives: the step before's output of the area below
            for i, area in enumerate(areas):
                outputs[i], states[i] = area(below[i], states[i], shapes[i])
        return self.decoder(outputs[-1])


class SBlock(nn.Module):
    """A CORnet-S area: 1×1 input conv, then ``times`` repetitions of a bottleneck (1×1 → 3×3 → 1×1, ×4 channels
    inside) with a residual connection; repetition 0 has stride 2 and a 1×1 strided skip projection (+ BatchNorm)."""

    scale = 4

    def __init__(self, in_channels: int, out_channels: int, times: int):
        super().__init__()
        self.times = times
        wide = out_channels * self.scale
        self.conv_input = nn.Conv2d(in_channels, out_channels, kernel_size=1, bias=False)
        self.skip = nn.Conv2d(out_channels, out_channels, kernel_size=1, stride=2, bias=False)
        self.norm_skip = nn.BatchNorm2d(out_channels)
        self.conv1 = nn.Conv2d(out_channels, wide, kernel_size=1, bias=False)
        self.nonlin1 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(wide, wide, kernel_size=3, padding=1, bias=False)
        self.nonlin2 = nn.ReLU(inplace=True)
        self.conv3 = nn.Conv2d(wide, out_channels, kernel_size=1, bias=False)
        self.nonlin3 = nn.ReLU(inplace=True)
        self.output = nn.Identity()
        for t in range(times):  # one set of normalisation statistics per repetition
            self.add_module(f"norm1_{t}", nn.BatchNorm2d(wide))
            self.add_module(f"norm2_{t}", nn.BatchNorm2d(wide))
            self.add_module(f"norm3_{t}", nn.BatchNorm2d(out_channels))

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        x = self.conv_input(inputs)
        for t in range(self.times):
            skip = self.norm_skip(self.skip(x)) if t == 0 else x
            x = self.nonlin1(self.get_submodule(f"norm1_{t}")(self.conv1(x)))
            x = nn.functional.conv2d(x, self.conv2.weight, stride=2 if t == 0 else 1, padding=1)
            x = self.nonlin2(self.get_submodule(f"norm2_{t}")(x))
            x = self.get_submodule(f"norm3_{t}")(self.conv3(x))
            x = self.output(self.nonlin3(x + skip))
        return x


def cornet_s() -> nn.Sequential:
    """CORnet-S (convs initialised N(0, 2 / (k² · out_channels)), BatchNorm weight 1, bias 0)."""
    v1 = nn.Sequential(OrderedDict([
        ("conv1", nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)), ("norm1", nn.BatchNorm2d(64)),
        ("nonlin1", nn.ReLU(inplace=True)), ("pool", nn.MaxPool2d(kernel_size=3, stride=2, padding=1)),
        ("conv2", nn.Conv2d(64, 64, kernel_size=3, padding=1, bias=False)), ("norm2", nn.BatchNorm2d(64)),
        ("nonlin2", nn.ReLU(inplace=True)), ("output", nn.Identity()),
    ]))
    net = nn.Sequential(OrderedDict([
        ("V1", v1), ("V2", SBlock(64, 128, times=2)), ("V4", SBlock(128, 256, times=4)),
        ("IT", SBlock(256, 512, times=2)), ("decoder", _decoder()),
    ]))
    for module in net.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.normal_(module.weight, 0.0, math.sqrt(2.0 / (module.kernel_size[0] ** 2 * module.out_channels)))
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
    return net


_BUILDERS = {"cornet_z": cornet_z, "cornet_rt": CORnetRT, "cornet_s": cornet_s}


def build_cornet(name: str) -> nn.Module:
    """A randomly initialised CORnet (``cornet_z``, ``cornet_rt``, ``cornet_s``; the global torch seed applies).

    >>> sum(p.numel() for p in build_cornet("cornet_z").parameters())
    2071656
    """
    if name not in _BUILDERS:
        raise UnknownNameError("CORnet architecture", name, list(_BUILDERS))
    return _BUILDERS[name]()
