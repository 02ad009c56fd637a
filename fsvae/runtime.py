"""Moved: process set-up lives in :mod:`pipelines.process` (it is not model code).

Kept so that ``from fsvae.runtime import tune_process`` (documented in earlier
releases) still works. The names resolve lazily, with a :class:`DeprecationWarning`, so
importing :mod:`fsvae` never imports :mod:`pipelines`; new code imports from
:mod:`pipelines.process`.
"""

from __future__ import annotations

import importlib
import warnings
from typing import Any

_MOVED = {
    "tune_allocator": "pipelines.process.allocator",
    "DistContext": "pipelines.process.distributed",
    "busy_cpus": "pipelines.process.threads",
    "choose_num_threads": "pipelines.process.threads",
    "default_num_threads": "pipelines.process.threads",
    "tune_process": "pipelines.process.threads",
}


def __getattr__(name: str) -> Any:
    if name not in _MOVED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    warnings.warn(
        f"fsvae.runtime.{name} moved to {_MOVED[name]}.{name}",
        DeprecationWarning,
        stacklevel=2,
    )
    return getattr(importlib.import_module(_MOVED[name]), name)
