"""The one device of a stage: resolved once, its numerics applied, and recorded.

``runtime.device`` in params.yaml (``--device`` on every command) is resolved here:
``auto`` is CUDA when available, else the CPU; under ``torchrun`` (``WORLD_SIZE > 1``)
``auto`` and ``cuda`` mean ``cuda:LOCAL_RANK``. ``meta`` (PyTorch's data-free device) is
accepted for tests that prove a code path creates no stray CPU tensors.

:func:`apply_numerics` sets the GPU float switches from ``runtime.tf32`` and
``runtime.deterministic`` (docs/gpu.md); :func:`describe` records what is in effect, for
checkpoints, metrics JSON and benchmark JSON. The CPU thread count is
:mod:`pipelines.process.threads`' business; the record only reports it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import torch

from pipelines.process.settings import RuntimeSettings

# cuBLAS needs a fixed workspace for deterministic results (CUDA >= 10.2); the value
# PyTorch's reproducibility notes give. Set only when determinism is asked for.
CUBLAS_WORKSPACE = ":4096:8"


def resolve_device(requested: str = "auto", env: Mapping[str, str] | None = None) -> str:
    """Return the concrete device a stage runs on, or raise a one-line error.

    Args:
        requested: ``auto``, ``cpu``, ``cuda``, ``cuda:i`` or ``meta``.
        env: Environment to read ``WORLD_SIZE`` / ``LOCAL_RANK`` from (default: the process's).

    Returns:
        ``cpu``, ``meta`` or ``cuda:i`` (always with an index).

    Raises:
        ValueError: For an unknown device, CUDA asked for where there is none, or a CUDA
            index this machine does not have.

    """
    env = os.environ if env is None else env
    text = str(requested).strip().lower()
    if text == "auto":
        text = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        dev = torch.device(text)
    except RuntimeError:
        raise ValueError(
            f"unknown device {requested!r}: use auto, cpu, cuda or cuda:INDEX"
        ) from None
    if dev.type in ("cpu", "meta"):
        return dev.type
    if dev.type != "cuda":
        raise ValueError(f"device {requested!r} is not supported: use auto, cpu or cuda[:INDEX]")
    if not torch.cuda.is_available():
        build = f"CUDA {torch.version.cuda}" if torch.version.cuda else "no CUDA"
        raise ValueError(
            f"device {requested!r}: CUDA is not available here (torch {torch.__version__}, "
            f"{build}); use --device cpu or auto"
        )
    index = dev.index
    if index is None:
        distributed = int(env.get("WORLD_SIZE", "1")) > 1
        index = int(env.get("LOCAL_RANK", "0")) if distributed else torch.cuda.current_device()
    count = torch.cuda.device_count()
    if not 0 <= index < count:
        raise ValueError(
            f"device cuda:{index} does not exist: this machine has {count} CUDA device(s) "
            f"(cuda:0 to cuda:{count - 1})"
        )
    return f"cuda:{index}"


def apply_numerics(settings: RuntimeSettings) -> None:
    """Set TF32 and determinism from the runtime settings (process-wide switches).

    TF32 is off unless ``settings.tf32``: PyTorch enables it for cuDNN convolutions by
    default, and a 10-bit mantissa flips spikes near the threshold. ``deterministic``
    turns on ``torch.use_deterministic_algorithms`` (an op without a deterministic
    kernel then raises), deterministic cuDNN without autotuning, and sets
    ``CUBLAS_WORKSPACE_CONFIG`` if the environment has not.

    Args:
        settings: The stage's runtime settings.

    """
    tf32 = bool(settings.tf32)
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32
    torch.set_float32_matmul_precision("high" if tf32 else "highest")
    det = bool(settings.deterministic)
    if det:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", CUBLAS_WORKSPACE)
    torch.use_deterministic_algorithms(det)
    torch.backends.cudnn.deterministic = det
    torch.backends.cudnn.benchmark = False  # autotuning picks kernels by timing: not repeatable


def prepare(settings: RuntimeSettings, env: Mapping[str, str] | None = None) -> str:
    """Resolve the device and apply the numerics switches: a stage's device set-up.

    Args:
        settings: The stage's runtime settings (``--device`` already folded in).
        env: Environment for :func:`resolve_device`.

    Returns:
        The resolved device string.

    Raises:
        ValueError: For a device this machine cannot run on (nothing is changed then).

    """
    device = resolve_device(settings.device, env)
    apply_numerics(settings)
    return device


def describe(device: str) -> dict[str, Any]:
    """What a result was computed with: device, GPU, versions and the numerics in effect.

    Reads the live switches (not the settings), so the record is true even where a
    caller changed them.

    Args:
        device: The resolved device.

    Returns:
        A JSON-serialisable mapping.

    """
    dev = torch.device(device)
    gpu = None
    if dev.type == "cuda" and torch.cuda.is_available():
        index = dev.index if dev.index is not None else torch.cuda.current_device()
        props = torch.cuda.get_device_properties(index)
        gpu = {
            "name": props.name,
            "capability": f"{props.major}.{props.minor}",
            "memory_gib": round(props.total_memory / 2**30, 1),
        }
    cudnn = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
    return {
        "device": str(device),
        "device_type": dev.type,
        "gpu": gpu,
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "cudnn": cudnn,
        "tf32_matmul": bool(torch.backends.cuda.matmul.allow_tf32),
        "tf32_cudnn": bool(torch.backends.cudnn.allow_tf32),
        "float32_matmul_precision": torch.get_float32_matmul_precision(),
        "deterministic": torch.are_deterministic_algorithms_enabled(),
        "cudnn_deterministic": bool(torch.backends.cudnn.deterministic),
        "cudnn_benchmark": bool(torch.backends.cudnn.benchmark),
        "cublas_workspace_config": os.environ.get("CUBLAS_WORKSPACE_CONFIG"),
        # Chosen by pipelines.process.threads; recorded because float sums depend on it.
        "cpu_threads": torch.get_num_threads(),
    }


def device_type(device: str) -> str:
    """``cuda`` for ``cuda:1``: the part that decides which random stream a run uses."""
    return torch.device(device).type


@contextmanager
def seeded_fork(device: str, seed: int) -> Iterator[None]:
    """Run a block with the CPU and ``device``'s generators seeded, then restore both.

    Unlike ``fork_rng(devices=[]) + torch.manual_seed``, which reseeds every CUDA device
    for good, this forks the generator of the CUDA device in use and seeds only it: a
    test pass inside training leaves the training run's GPU random stream where it was,
    and other devices' (other ranks') generators are never touched.

    Args:
        device: The resolved device (``cpu``, ``meta`` or ``cuda:i``).
        seed: Seed of the block.

    """
    dev = torch.device(device)
    cuda = [dev.index if dev.index is not None else 0] if dev.type == "cuda" else []
    with torch.random.fork_rng(devices=cuda, device_type="cuda"):
        torch.random.default_generator.manual_seed(seed)
        for index in cuda:
            with torch.cuda.device(index):
                torch.cuda.manual_seed(seed)  # the current device only
        yield
