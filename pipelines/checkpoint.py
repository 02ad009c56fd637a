"""Full-state checkpoints: written atomically, self-describing, resumable.

A checkpoint holds everything needed to rebuild the model without the code's
defaults (model name and config dataclass), to resume training exactly (optimizer,
position in the run, every RNG state) and to trace a result (package versions).
"""

from __future__ import annotations

import os
import platform
import random
import tempfile
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import torch

from fsvae.contract import GenerativeModel
from pipelines.registry import model_from_config

FORMAT_VERSION = 1
_VERSIONED_PACKAGES = ("fsvae-bench", "torch", "torchvision", "snntorch", "numpy")


def package_versions() -> dict[str, str]:
    """Return the versions of Python and the packages a result depends on."""
    versions = {"python": platform.python_version()}
    for name in _VERSIONED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def rng_states() -> dict[str, Any]:
    """Capture the Python, NumPy and torch (CPU and CUDA) random states."""
    states: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def restore_rng_states(states: Mapping[str, Any]) -> None:
    """Restore the random states captured by :func:`rng_states`."""
    random.setstate(states["python"])
    np.random.set_state(states["numpy"])
    torch.set_rng_state(states["torch"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


def save_atomic(obj: Any, path: str | Path) -> None:
    """``torch.save`` to a temporary file in the same folder, then rename over ``path``.

    A kill at any instant leaves either the old file or the new one, never a torn one.

    Args:
        obj: What to save.
        path: Destination file.

    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            torch.save(obj, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def remove_stale_temporaries(folder: str | Path) -> list[Path]:
    """Delete the temporary files a killed writer left in ``folder`` (``.<name>.*.tmp``).

    :func:`save_atomic` removes its temporary file on any exception, but a SIGKILL or a
    power cut mid-save leaves it behind (tens of MB, hidden). Call this before writing
    into a run folder again; DVC ignores these names too (``.dvcignore``).

    Returns:
        The files removed.

    """
    stale = [p for p in Path(folder).glob(".*.tmp") if p.is_file()]
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a checkpoint file written by the training loop.

    Args:
        path: Checkpoint path.
        map_location: Device to load tensors onto.

    Returns:
        The checkpoint dict.

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: If the file is not a readable fsvae-bench checkpoint.

    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path} (train first: fsvae-bench train)")
    try:
        # Our checkpoints hold RNG states (numpy arrays, tuples), hence weights_only=False;
        # only load checkpoints you trust, as with any pickle.
        ckpt = torch.load(path, map_location=map_location, weights_only=False)
    except Exception as err:  # noqa: BLE001 - any unpickling failure means a bad file
        raise ValueError(f"cannot read checkpoint {path}: {err}") from err
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT_VERSION:
        raise ValueError(f"{path} is not an fsvae-bench checkpoint (format {FORMAT_VERSION})")
    return ckpt


def load_model(
    path: str | Path, map_location: str | torch.device = "cpu"
) -> tuple[GenerativeModel, dict[str, Any]]:
    """Rebuild a trained model from its checkpoint.

    Args:
        path: Checkpoint path.
        map_location: Device for the model.

    Returns:
        The model in eval mode and the checkpoint's metadata (everything but the
        weights and optimizer/RNG state).

    """
    ckpt = load_checkpoint(path, map_location)
    model = model_from_config(ckpt["model_name"], ckpt["config"])
    model.load_state_dict(ckpt["model_state"])
    model.to(map_location).eval()
    heavy = {"model_state", "optimizer_state", "rng"}
    return model, {k: v for k, v in ckpt.items() if k not in heavy}


def model_label(meta: dict[str, Any]) -> str:
    """The name a checkpoint's model is reported under (its params.yaml name).

    Args:
        meta: Checkpoint metadata from :func:`load_model`.

    Returns:
        ``model_label`` when the run recorded one, else the model's import name.

    """
    return str(meta.get("model_label") or meta["model_name"])
