"""The process settings every stage reads: ``runtime`` in params.yaml.

One place for the device, the CPU thread count and the GPU numerics switches, so that
train, autoencoder, fid-stats, sample, evaluate and score run alike and every output
records what it ran with.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any


@dataclass(frozen=True)
class RuntimeSettings:
    """Process-wide settings of one stage (``runtime`` in params.yaml).

    Attributes:
        device: ``auto`` (CUDA when available, else the CPU; ``cuda:LOCAL_RANK`` under
            torchrun), ``cpu``, ``cuda`` or ``cuda:i``.
        cpu_threads: Intra-op threads on the CPU. Declared, never chosen from the
            machine's load: float sums, and so weights and metrics, depend on it.
        tf32: Allow TF32 matmuls and convolutions on GPUs that have them (off: float32
            as on the CPU; spikes near the threshold would otherwise flip).
        deterministic: ``torch.use_deterministic_algorithms`` and deterministic cuDNN.

    """

    device: str = "auto"
    cpu_threads: int = 2
    tf32: bool = False
    deterministic: bool = False

    @classmethod
    def from_params(cls, params: dict[str, Any], **overrides: Any) -> RuntimeSettings:
        """Read ``params["runtime"]``; ``overrides`` (CLI flags; None ignored) win.

        Raises:
            ValueError: On an unknown key.

        """
        section = dict(params.get("runtime") or {})
        section.update({k: v for k, v in overrides.items() if v is not None})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(section) - known)
        if unknown:
            raise ValueError(f"unknown runtime setting(s) {unknown}; known: {sorted(known)}")
        return cls(**section)

    def to_dict(self) -> dict[str, Any]:
        """The settings as a plain mapping (for JSON records)."""
        return asdict(self)
