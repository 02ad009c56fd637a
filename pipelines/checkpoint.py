"""Full-state checkpoints: written atomically, self-describing, resumable.

A checkpoint holds everything needed to rebuild the model without the code's
defaults (model name and config dataclass), to resume training exactly (optimizer,
position in the run, every RNG state) and to trace a result (package versions).
"""

from __future__ import annotations

import platform
import random
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import torch

from benchcore.contract import GenerativeModel
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


def rng_states(device: str = "cpu") -> dict[str, Any]:
    """Capture the Python, NumPy and torch CPU random states, and ``device``'s if CUDA.

    Only the generator of the CUDA device this process uses is saved (each DDP rank its
    own GPU's), never every GPU's: another rank's stream is not this process's to restore.

    Args:
        device: The resolved device of the run (``cpu``, ``meta`` or ``cuda:i``).

    """
    states: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    dev = torch.device(device)
    if dev.type == "cuda":
        index = dev.index if dev.index is not None else torch.cuda.current_device()
        states["cuda"] = {"index": index, "state": torch.cuda.get_rng_state(index)}
    return states


def _byte_state(state: torch.Tensor, what: str) -> torch.Tensor:
    """An RNG state as the CPU ByteTensor ``set_rng_state`` requires.

    A checkpoint loaded with ``map_location="cuda"`` moves the saved states to the GPU;
    they are copied back here (a ``meta`` state holds no data and is refused).
    """
    if state.device.type == "meta":
        raise ValueError(f"the saved {what} RNG state was loaded onto 'meta' and holds no data")
    return state.cpu()


def restore_rng_states(states: Mapping[str, Any], device: str = "cpu") -> None:
    """Restore the random states captured by :func:`rng_states` (on ``device``).

    A CUDA state is restored onto the CUDA device of this run (a checkpoint from
    ``cuda:0`` resumes on ``cuda:1``); on a CPU run it is not used. Checkpoints written
    before per-device states (a list of every GPU's) restore the entry of this device.

    Raises:
        ValueError: If a state was loaded onto ``meta``.

    """
    random.setstate(states["python"])
    np.random.set_state(states["numpy"])
    torch.set_rng_state(_byte_state(states["torch"], "CPU"))
    dev = torch.device(device)
    saved = states.get("cuda")
    if dev.type != "cuda" or saved is None:
        return
    index = dev.index if dev.index is not None else torch.cuda.current_device()
    if isinstance(saved, dict):
        torch.cuda.set_rng_state(_byte_state(saved["state"], "CUDA"), index)
    elif index < len(saved):  # format of older checkpoints: every GPU's state
        torch.cuda.set_rng_state(_byte_state(saved[index], "CUDA"), index)


def remove_stale_temporaries(folder: str | Path) -> list[Path]:
    """Delete the temporary files a killed writer left in ``folder`` (``.<name>.*.tmp``).

    :func:`pipelines.data.atomic.save_torch_atomic` removes its temporary file on any
    exception, but a SIGKILL or a power cut mid-save leaves it behind (tens of MB,
    hidden). Call this before writing
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

    To resume on a GPU, load on the CPU (the default) and let ``load_state_dict`` copy
    weights and optimizer state to the parameters' device: the RNG states must stay
    CPU ByteTensors (:func:`restore_rng_states` copies back any that were moved).

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
        map_location: Device for the model. The file is read on the CPU, so a
            checkpoint written on a GPU loads anywhere and the RNG states stay put.

    Returns:
        The model in eval mode and the checkpoint's metadata (everything but the
        weights and optimizer/RNG state).

    """
    ckpt = load_checkpoint(path, "cpu")
    model = model_from_config(ckpt["model_name"], ckpt["config"])
    model.load_state_dict(ckpt["model_state"])
    model.to(map_location).eval()
    heavy = {"model_state", "optimizer_state", "rng", "rng_ranks"}
    return model, {k: v for k, v in ckpt.items() if k not in heavy}


def model_label(meta: dict[str, Any]) -> str:
    """The name a checkpoint's model is reported under (its params.yaml name).

    Args:
        meta: Checkpoint metadata from :func:`load_model`.

    Returns:
        ``model_label`` when the run recorded one, else the model's import name.

    """
    return str(meta.get("model_label") or meta["model_name"])
