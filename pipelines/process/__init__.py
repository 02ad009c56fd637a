"""Process and distributed set-up: not model code, so it lives outside :mod:`fsvae`.

- :mod:`pipelines.process.allocator`: glibc heap thresholds.
- :mod:`pipelines.process.threads`: the CPU thread count and :func:`tune_process`.
- :mod:`pipelines.process.distributed`: :class:`DistContext` for torchrun jobs.
"""

from pipelines.process.threads import tune_process

__all__ = ["tune_process"]
