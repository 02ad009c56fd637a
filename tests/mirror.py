"""The offline data mirror, handed to the tests only by ``$FSVAE_DATA_MIRROR``.

Tests that read real data call :func:`data_mirror`; without the variable (or with a folder
that is not a mirror) they are skipped with the reason, never pointed at a fixed path.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

MIRROR_ENV = "FSVAE_DATA_MIRROR"


def data_mirror() -> Path:
    """Return the mirror folder from ``$FSVAE_DATA_MIRROR``, or skip the calling test."""
    value = os.environ.get(MIRROR_ENV)
    if not value:
        pytest.skip(f"{MIRROR_ENV} is not set: real-data tests need the offline data mirror")
    path = Path(value).expanduser()
    if not (path / "MANIFEST.md").is_file():
        pytest.skip(f"{MIRROR_ENV}={path} is not a data mirror (no MANIFEST.md there)")
    return path
