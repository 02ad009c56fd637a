"""Write files so that readers see either the old complete file or the new one."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_target(path: Path) -> Iterator[Path]:
    """Yield a temporary sibling of ``path`` to write; move it onto ``path`` on success.

    On any exception the temporary file is removed and ``path`` is left untouched. The
    name is unique per call (not ``mkstemp``, whose 0600 mode would ignore the umask).

    Args:
        path: Final file path; its folder must exist.

    Yields:
        The temporary path to write.

    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        yield tmp
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
