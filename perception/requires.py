"""The packages a model role needs: found without importing them, or imported when the role loads.

Locating a role (is it installed, are its weights on disk?) must stay cheap, because `doctor`
and every command ask it: `installed` finds a package's folder without running it, so torch,
ultralytics or ctranslate2 are never imported only to learn whether they are there.
`require` imports a package when its role loads; a failed import makes the role unavailable
with the reason, so one broken package takes down its role, not the process.
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from types import ModuleType

from perception.errors import ModelUnavailableError


def installed(module: str, role: str, hint: str) -> Path:
    """The folder of the installed package `module`, without importing it."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError) as err:
        raise ModelUnavailableError(role, f"{module} cannot be found ({err})", hint) from err
    if spec is None:
        raise ModelUnavailableError(role, f"{module} is not installed", hint)
    if spec.origin in (None, "namespace"):  # a namespace package: a broken install left only empty folders
        raise ModelUnavailableError(role, f"{module} is installed without its files", hint)
    return Path(spec.origin).resolve().parent


def require(module: str, role: str, hint: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except (ImportError, OSError) as err:  # a broken native library raises OSError
        raise ModelUnavailableError(role, f"{module} cannot be imported ({err})", hint) from err
