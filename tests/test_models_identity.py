"""Content identities of user models: state-dict checksums of modules with integer / 0-d buffers (BatchNorm), and
callables identified by their code and the values they capture, never by their source text."""

from __future__ import annotations

import copy
import hashlib

import numpy as np
import pytest
import torch

from brainalign.core.errors import InvalidInputError
from brainalign.models.compat import import_torchvision
from brainalign.models.sources.identity import callable_identity, module_checksum, module_identity

GLOBAL_WEIGHTS = np.arange(4.0)


def _reference_checksum(module: torch.nn.Module) -> str:
    """sha256 over (name, shape, dtype, value bytes) of every state-dict entry, serialised through numpy."""
    digest = hashlib.sha256()
    for name, tensor in module.state_dict().items():
        digest.update(f"{name}{tuple(tensor.shape)}{tensor.dtype}".encode())
        digest.update(np.ascontiguousarray(tensor.detach().cpu().numpy()).tobytes())
    return digest.hexdigest()


def _conv_bn() -> torch.nn.Module:
    return torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.ReLU())


@pytest.mark.parametrize("build", [_conv_bn, lambda: import_torchvision().models.resnet18(weights=None)],
                         ids=["conv_bn", "resnet18"])
def test_module_checksum_covers_batchnorm_integer_buffers(build):
    torch.manual_seed(0)
    net = build().eval()
    assert any(t.dtype == torch.int64 and t.ndim == 0 for t in net.state_dict().values())  # num_batches_tracked
    assert module_checksum(net) == _reference_checksum(net)
    assert module_checksum(copy.deepcopy(net)) == module_checksum(net)
    counted = copy.deepcopy(net)
    next(m for m in counted.modules() if isinstance(m, torch.nn.BatchNorm2d)).num_batches_tracked += 1
    assert module_checksum(counted) != module_checksum(net)  # only the integer buffer differs
    trained = copy.deepcopy(net).train()
    with torch.no_grad():
        trained(torch.randn(2, 3, 32, 32))  # updates running statistics
    assert module_checksum(trained) == _reference_checksum(trained) != module_checksum(net)


def test_module_identity_sees_hyperparameters_and_plain_attributes_beyond_the_state_dict():
    class Scaled(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.linear, self.scale = torch.nn.Linear(2, 2), 1.0

        def forward(self, x):
            return self.linear(x) * self.scale

    torch.manual_seed(0)
    net = Scaled()
    before = module_identity(net)
    assert module_identity(copy.deepcopy(net)) == before
    net.scale = 2.0
    assert module_checksum(net) == module_checksum(copy.deepcopy(net)) and module_identity(net) != before
    assert module_identity(torch.nn.MaxPool2d(2)) != module_identity(torch.nn.MaxPool2d(3))


def _projector(weights):
    def project(images):
        return np.stack(images) @ weights

    return project


def test_callables_with_the_same_source_but_other_captured_values_differ():
    first, same, other = _projector(np.eye(3)), _projector(np.eye(3)), _projector(2 * np.eye(3))
    assert callable_identity(first) == callable_identity(same)  # recreated with equal values: a cache hit
    assert callable_identity(first) != callable_identity(other)  # same source text, other closure value

    weights = np.eye(3)
    mutable = _projector(weights)
    before = callable_identity(mutable)
    weights[0, 0] = 5.0  # changed in place after creation
    assert callable_identity(mutable) != before

    def with_default(images, scale=1.0):
        return np.stack(images) * scale

    before = callable_identity(with_default)
    with_default.__defaults__ = (2.0,)
    assert callable_identity(with_default) != before


def test_globals_a_callable_reads_are_part_of_its_identity():
    global GLOBAL_WEIGHTS

    def weigh(images):
        return np.stack(images) @ GLOBAL_WEIGHTS

    saved = GLOBAL_WEIGHTS
    before = callable_identity(weigh)
    try:
        GLOBAL_WEIGHTS = np.arange(4.0) + 1
        assert callable_identity(weigh) != before
    finally:
        GLOBAL_WEIGHTS = saved
    assert callable_identity(weigh) == before


def test_code_changes_change_the_identity_but_line_numbers_do_not():
    double = eval("lambda x: x * 2")
    triple = eval("lambda x: x * 3")
    moved = eval("\n\n\nlambda x: x * 2")  # same code three lines further down
    assert callable_identity(double) != callable_identity(triple)
    assert callable_identity(double) == callable_identity(moved)


def test_captured_values_without_content_hash_need_a_version():
    handle = object()

    def features(images):
        return np.zeros((len(images), 1)) if handle else None

    with pytest.raises(InvalidInputError, match=r"closure variable 'handle' of .*features holds a builtins.object, "
                                                r"which has no content hash; pass version="):
        callable_identity(features)
    assert callable_identity(features, version="1") != callable_identity(features, version="2")
    assert callable_identity(features, version="1") == callable_identity(features, version="1")


def test_captured_modules_tensors_and_partials_are_hashed_by_value():
    import functools

    torch.manual_seed(0)
    layer = torch.nn.Linear(3, 2)
    run = functools.partial(lambda net, offset, x: net(x) + offset, layer, torch.ones(2))
    before = callable_identity(run)
    with torch.no_grad():
        layer.weight[0, 0] += 1
    assert callable_identity(run) != before


def test_weights_checksum_sees_a_rewrite_that_keeps_size_and_mtime(tmp_path):
    """A weights file edited in place with its size and mtime restored must not keep its old checksum."""
    import hashlib
    import os

    from brainalign.models.sources.weights import file_checksum

    path = tmp_path / "weights.pt"
    path.write_bytes(b"a" * 64)
    stat = path.stat()
    first = file_checksum(path)
    path.write_bytes(b"b" * 64)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert first == hashlib.sha256(b"a" * 64).hexdigest()
    assert file_checksum(path) == hashlib.sha256(b"b" * 64).hexdigest()
