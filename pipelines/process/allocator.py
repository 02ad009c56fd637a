"""glibc heap settings for FSVAE's many large, short-lived tensors.

FSVAE allocates many large, short-lived tensors ((T*N, C, H, W) activations of tens to
hundreds of MiB). glibc serves blocks above ``M_MMAP_THRESHOLD`` with fresh ``mmap``
pages and gives freed heap memory back to the kernel above ``M_TRIM_THRESHOLD``, so
every training step page-faults (and the kernel zeroes) its activations again. Raising
both thresholds keeps freed memory in the heap for reuse (measured speed-up:
docs/performance.md). Peak memory is unchanged; the process simply does not return its
peak to the kernel between steps.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

# glibc mallopt parameter numbers (malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
# mallopt takes an int: the largest threshold it can express.
_INT_MAX = 2**31 - 1


def tune_allocator(mmap_threshold: int = 1 << 30, trim_threshold: int = _INT_MAX) -> bool:
    """Keep large freed blocks in glibc's heap instead of unmapping them.

    Equivalent to starting the process with ``MALLOC_MMAP_THRESHOLD_`` and
    ``MALLOC_TRIM_THRESHOLD_`` set, but can be called at run time. Results are not
    affected: only where memory comes from.

    Args:
        mmap_threshold: Blocks at least this large still get their own mapping (bytes).
        trim_threshold: Free memory at the top of the heap kept before trimming (bytes).

    Returns:
        Whether the settings were applied (False off Linux/glibc, e.g. macOS or musl).

    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    ok = mallopt(_M_MMAP_THRESHOLD, min(mmap_threshold, _INT_MAX))
    ok &= mallopt(_M_TRIM_THRESHOLD, min(trim_threshold, _INT_MAX))
    return bool(ok)
