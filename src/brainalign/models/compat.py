"""Import torchvision on a CPU-only torch.

torchvision from PyPI is a CUDA build; its compiled operators do not load with the CPU build of
torch, and ``import torchvision`` then fails with "operator torchvision::nms does not exist"
(its fake-tensor registrations need the operator schemas). Models, transforms and feature
extraction do not need the compiled operators, so when (and only when) the normal import fails we
define the two missing schemas ourselves and import again.

timm imports torchvision at import time, so import it through :func:`import_timm`.

>>> import_torchvision().__name__, import_timm().__name__
('torchvision', 'timm')
"""

from __future__ import annotations

import sys
from types import ModuleType

import torch

# Schemas of the operators that torchvision's _meta_registrations decorate unconditionally.
_MISSING_SCHEMAS = (
    "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
)
_schema_library: torch.library.Library | None = None  # kept alive: dropping it would unregister the schemas


def import_torchvision() -> ModuleType:
    """``torchvision``, importing it after registering the missing operator schemas if needed."""
    global _schema_library
    try:
        import torchvision
    except RuntimeError as error:
        if "torchvision::" not in str(error) or _schema_library is not None:
            raise
        for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
            del sys.modules[name]  # drop the half-imported package before trying again
        _schema_library = torch.library.Library("torchvision", "DEF")
        for schema in _MISSING_SCHEMAS:
            _schema_library.define(schema)
        import torchvision
    return torchvision


def import_timm() -> ModuleType:
    """``timm``, which imports torchvision itself and therefore needs :func:`import_torchvision` first."""
    import_torchvision()
    import timm

    return timm
