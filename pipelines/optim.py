"""Optimizer parameter groups from the training config, the same for every model.

A model's recipe may train some of its parameters at a multiple of the learning rate
(ESVAE: its prior's ``sample_layer`` at 10x). The training config names them by module
prefix (``lr_multipliers: {sample_layer: 10}``), so the loop needs no per-model code.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import nn


def _matches(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def param_groups(
    model: nn.Module, lr: float, lr_multipliers: Mapping[str, float] | None = None
) -> list[dict[str, Any]]:
    """Split a model's trainable parameters into groups by learning-rate multiplier.

    Args:
        model: The model.
        lr: Base learning rate.
        lr_multipliers: Module prefix (``sample_layer``, ``decoder.0``) -> multiplier of
            ``lr`` for the parameters under it; the rest train at ``lr``.

    Returns:
        ``torch.optim`` parameter groups: one per prefix (in the given order), then the
        rest; empty groups are left out.

    Raises:
        ValueError: If a prefix matches no parameter, a parameter matches two prefixes,
            or a multiplier is not positive.

    """
    multipliers = dict(lr_multipliers or {})
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    groups: list[dict[str, Any]] = []
    taken: set[str] = set()
    for prefix, mult in multipliers.items():
        if not float(mult) > 0:
            raise ValueError(f"train.lr_multipliers[{prefix!r}] must be > 0, got {mult}")
        names = [n for n, _ in named if _matches(n, prefix)]
        if not names:
            modules = sorted({n.split(".")[0] for n, _ in named})
            raise ValueError(
                f"train.lr_multipliers: {prefix!r} names no parameter of "
                f"{type(model).__name__} (top-level modules: {modules})"
            )
        overlap = taken.intersection(names)
        if overlap:
            raise ValueError(f"train.lr_multipliers: {sorted(overlap)[0]} matches two prefixes")
        taken.update(names)
        groups.append({"params": [p for n, p in named if n in names], "lr": lr * float(mult)})
    rest = [p for n, p in named if n not in taken]
    if rest:
        groups.append({"params": rest, "lr": lr})
    return groups
