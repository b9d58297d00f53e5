"""Import the package a model role needs; a failed import makes the role unavailable, with the reason.

Backends import their heavy packages (torch, onnxruntime, ctranslate2) only when a role is
located or loaded, so that importing Longshot stays fast and one broken package takes down
its role, not the process.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from perception.errors import ModelUnavailableError


def require(module: str, role: str, hint: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except (ImportError, OSError) as err:  # a broken native library raises OSError
        raise ModelUnavailableError(role, f"{module} cannot be imported ({err})", hint) from err
