"""Write files so that readers see either the old complete file or the new one.

Every file the pipeline writes goes through :func:`atomic_target`: a temporary sibling
named ``.<name>.<pid>.<random>.tmp`` is written, flushed to disk and renamed over the
target; on any exception it is removed and the target is left untouched. A process
killed mid-write leaves only such a hidden ``.tmp`` file, which
``pipelines.checkpoint.remove_stale_temporaries`` and the asset cache clean up and
``.dvcignore`` hides. The ``write_*`` / ``save_*`` functions are the usual formats.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch


@contextmanager
def atomic_target(path: str | Path) -> Iterator[Path]:
    """Yield a temporary sibling of ``path`` to write; move it onto ``path`` on success.

    On any exception the temporary file is removed and ``path`` is left untouched. The
    name is unique per call (not ``mkstemp``, whose 0600 mode would ignore the umask).
    The folder is created when missing.

    Args:
        path: Final file path.

    Yields:
        The temporary path to write.

    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        yield tmp
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_bytes_atomic(path: str | Path, data: bytes) -> None:
    """Write bytes to ``path`` atomically."""
    with atomic_target(path) as tmp, open(tmp, "xb") as handle:
        handle.write(data)


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write text (UTF-8, line ends as given) to ``path`` atomically."""
    write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: str | Path, data: Any, **dump_options: Any) -> None:
    """Write ``data`` as JSON indented by 2 with a final newline, atomically.

    Args:
        path: Destination file.
        data: JSON-serialisable value.
        **dump_options: Passed to :func:`json.dumps` (e.g. ``default=str``).

    """
    write_text_atomic(path, json.dumps(data, indent=2, **dump_options) + "\n")


def save_torch_atomic(obj: Any, path: str | Path) -> None:
    """``torch.save`` to ``path`` atomically (a kill leaves the old file or the new one)."""
    with atomic_target(path) as tmp, open(tmp, "xb") as handle:
        torch.save(obj, handle)


def save_npz_atomic(path: str | Path, compressed: bool = False, **arrays: Any) -> None:
    """Write arrays to an ``.npz`` atomically (``np.savez``, or ``savez_compressed``)."""
    save = np.savez_compressed if compressed else np.savez
    with atomic_target(path) as tmp, open(tmp, "xb") as handle:
        save(handle, **arrays)
