"""The training run's settings, one frozen dataclass saved inside every checkpoint."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Self


@dataclass(frozen=True)
class TrainConfig:
    """Settings of one training run (model x dataset).

    Attributes:
        model: Registered model name or ``package.module:Class``.
        label: The model's name in params.yaml and in every result (None: ``model``);
            a user model registered as ``models.tiny_vae.class`` is reported as ``tiny_vae``.
        dataset: Dataset name.
        model_options: Model config overrides (e.g. ``{"n_steps": 4}``).
        epochs: Number of epochs (reference: 150).
        batch_size: Images per step (reference: 250).
        lr: AdamW learning rate.
        lr_multipliers: Module prefix -> multiple of ``lr`` for the parameters under it
            (ESVAE: ``{sample_layer: 10}``); see :mod:`pipelines.optim`.
        betas: AdamW betas.
        weight_decay: AdamW weight decay (FSVAE 1e-3, ANN VAE 1e-2 as in the reference).
        seed: Seed of every random generator the run uses.
        max_steps: Stop after this many optimizer steps in total (None: run all epochs).
        train_limit: Use only the first N training images (None: all).
        test_limit: Use only the first N test images for the per-epoch test loss.
        checkpoint_every: Also checkpoint every N steps inside an epoch (None: per epoch).
        num_workers: DataLoader worker processes.
        amp: Mixed precision: bf16 autocast around the forward pass of each training
            step (FSVAE keeps membrane potentials and thresholds in float32).
        compile: ``torch.compile`` the loss computation (first steps compile).
        tune_allocator: Keep freed memory in glibc's heap (pipelines.process.allocator);
            same results, faster FSVAE on CPU (docs/performance.md).

    """

    model: str = "fsvae"
    label: str | None = None
    dataset: str = "mnist"
    model_options: dict[str, Any] = dataclasses.field(default_factory=dict)
    epochs: int = 150
    batch_size: int = 250
    lr: float = 1e-3
    lr_multipliers: dict[str, float] = dataclasses.field(default_factory=dict)
    betas: tuple[float, float] = (0.9, 0.999)
    weight_decay: float = 1e-3
    seed: int = 0
    max_steps: int | None = None
    train_limit: int | None = None
    test_limit: int | None = None
    checkpoint_every: int | None = None
    num_workers: int = 0
    amp: bool = False
    compile: bool = False
    tune_allocator: bool = True

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"train.{name} must be >= 1, got {getattr(self, name)}")
        for name in ("max_steps", "train_limit", "test_limit", "checkpoint_every"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"train.{name} must be >= 1 or null, got {value}")
        if self.lr <= 0:
            raise ValueError(f"train.lr must be > 0, got {self.lr}")

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Self:
        """Build from a plain dict, rejecting unknown keys with a clear message."""
        if "device" in values:
            # One device setting for every stage since runtime.device (a run's device is
            # process set-up, recorded in the checkpoint's "runtime", not a training option).
            raise ValueError(
                "train.device is no longer read: set runtime.device in params.yaml (or "
                "--device) instead; it applies to every stage"
            )
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ValueError(f"unknown training option(s) {unknown}; valid: {sorted(names)}")
        fixed = dict(values)
        if "betas" in fixed:
            fixed["betas"] = tuple(fixed["betas"])
        return cls(**fixed)

    def to_dict(self) -> dict[str, Any]:
        """Return the settings as JSON-serialisable values."""
        return dataclasses.asdict(self)
