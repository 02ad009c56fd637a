"""``fsvae-bench sample`` timed end to end, as a user runs it, for the benchmark."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def make_sample_checkpoint(folder: Path, n_steps: int) -> Path:
    """Save a freshly built FSVAE (MNIST) as a checkpoint ``fsvae-bench sample`` can load."""
    import torch

    from pipelines.checkpoint import FORMAT_VERSION
    from pipelines.data.atomic import save_torch_atomic
    from pipelines.registry import build_model

    torch.manual_seed(0)
    model = build_model("fsvae", "mnist", n_steps=n_steps)
    path = folder / "fsvae_mnist.pt"
    ckpt = {
        "format": FORMAT_VERSION,
        "model_name": "fsvae",
        "model_label": "fsvae",
        "dataset": "mnist",
        "step": 0,
        "config": model.config.to_dict(),
        "model_state": model.state_dict(),
    }
    save_torch_atomic(ckpt, path)
    return path


def ensure_prepared(prepared: Path, scratch: Path) -> Path:
    """Return a prepared-data folder with MNIST (prepared into ``scratch`` if missing)."""
    if (prepared / "mnist" / "test.npz").is_file():
        return prepared
    out = scratch / "prepared"
    cmd = [sys.executable, "-m", "pipelines.cli", "prepare", "--dataset", "mnist"]
    subprocess.run([*cmd, "--out", str(out)], cwd=ROOT, check=True, capture_output=True)
    return out


def cli_sample(checkpoint: Path, prepared: Path, num: int, out_dir: Path) -> float:
    """Images/s of ``fsvae-bench sample`` end to end (process start to files written)."""
    cmd = [sys.executable, "-m", "pipelines.cli", "sample", "--checkpoint", str(checkpoint)]
    cmd += ["--num-samples", str(num), "--prepared", str(prepared)]
    cmd += ["--out-dir", str(out_dir), "--no-progress"]
    start = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)
    return num / (time.perf_counter() - start)
