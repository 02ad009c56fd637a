"""Process and distributed set-up: not model code, so it lives outside :mod:`fsvae`.

- :mod:`pipelines.process.allocator`: glibc heap thresholds.
- :mod:`pipelines.process.threads`: the CPU thread count and :func:`tune_process`.
- :mod:`pipelines.process.distributed`: :class:`DistContext` for torchrun jobs.
- :mod:`pipelines.process.settings`: ``runtime`` in params.yaml (:class:`RuntimeSettings`).
- :mod:`pipelines.process.device`: the device resolved once, TF32 and determinism applied,
  and :func:`describe` (what a result was computed with); docs/gpu.md.
"""

from pipelines.process.threads import tune_process

__all__ = ["tune_process"]
