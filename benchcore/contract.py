"""The small interface every generative model in the suite implements.

The pipeline (training loop, sampling, metrics) talks to models only through
:class:`GenerativeModel`, so FSVAE, the ANN baselines and a user's own model are
interchangeable. A model is built from a config dataclass that is saved in every
checkpoint and metrics file, so any result can be traced back to the exact model.

Import it as ``benchcore.contract``; ``fsvae.contract`` (the documented path of earlier
releases) re-exports the same names.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar, Self

import torch
from torch import nn

from benchcore.datasets import dataset_shape


@dataclass(frozen=True)
class ModelConfig:
    """Fields every model config has; models subclass it with their own knobs.

    Attributes:
        dataset: Dataset name the model is configured for.
        in_channels: Image channels.
        image_size: Image height and width in pixels.

    """

    dataset: str = "mnist"
    in_channels: int = 1
    image_size: int = 32

    @classmethod
    def for_dataset(cls, dataset: str, **overrides: Any) -> Self:
        """Build the paper's default config for a dataset, then apply overrides.

        Args:
            dataset: Dataset name.
            **overrides: Field values that replace the defaults.

        Returns:
            The config.

        Raises:
            ValueError: If the dataset or an override name is unknown.

        """
        channels, size, _ = dataset_shape(dataset)
        base = cls(dataset=dataset, in_channels=channels, image_size=size)
        return base.replace(**cls.dataset_defaults(dataset)).replace(**overrides)

    @classmethod
    def dataset_defaults(cls, dataset: str) -> dict[str, Any]:
        """Per-dataset defaults beyond the input shape (e.g. a larger network for CelebA).

        Args:
            dataset: Dataset name.

        Returns:
            Field values to apply on top of the class defaults.

        """
        return {}

    def replace(self, **changes: Any) -> Self:
        """Return a copy with some fields changed, rejecting unknown names.

        Args:
            **changes: New field values.

        Returns:
            The updated config.

        Raises:
            ValueError: If a name is not a field of this config.

        """
        names = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - names)
        if unknown:
            raise ValueError(
                f"unknown option(s) {unknown} for {type(self).__name__}; "
                f"valid options: {sorted(names)}"
            )
        # JSON round trips turn tuples into lists; keep the declared tuple types.
        fixed = {k: tuple(v) if isinstance(v, list) else v for k, v in changes.items()}
        return dataclasses.replace(self, **fixed)

    def to_dict(self) -> dict[str, Any]:
        """Return the config as plain JSON-serialisable values."""
        return dataclasses.asdict(self)


class GenerativeModel(nn.Module):
    """Base class of the model contract (docs/adding-a-model.md).

    Subclasses set ``config_class`` and implement ``loss``, ``reconstruct`` and
    ``sample``. Images are tensors ``(N, C, H, W)`` with pixels in [-1, 1].
    """

    config_class: ClassVar[type[ModelConfig]] = ModelConfig

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config

    @classmethod
    def build(cls, dataset: str, **overrides: Any) -> GenerativeModel:
        """Construct the model with the paper's defaults for a dataset.

        Args:
            dataset: Dataset name.
            **overrides: Config fields to change.

        Returns:
            The model, in training mode.

        """
        return cls.from_config(cls.config_class.for_dataset(dataset, **overrides))

    @classmethod
    def from_config(cls, config: ModelConfig) -> GenerativeModel:
        """Construct the model from a full config (used when loading checkpoints).

        Args:
            config: The model config.

        Returns:
            The model.

        """
        return cls(config)

    def loss(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Compute the training loss of a batch.

        Args:
            x: Images in [-1, 1], shape (N, C, H, W).

        Returns:
            Scalar tensors: ``loss`` (what is minimised), ``recon`` and the model's own terms.

        """
        raise NotImplementedError

    def reconstruct(
        self, x: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Encode and decode a batch.

        Args:
            x: Images in [-1, 1], shape (N, C, H, W).
            generator: Random generator for the latent draw (None: global RNG).

        Returns:
            Reconstructions in [-1, 1], same shape as ``x``.

        """
        raise NotImplementedError

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Draw images from the model's prior.

        Args:
            n: Number of images.
            generator: Random generator (None: global RNG).

        Returns:
            Images in [-1, 1], shape (n, C, H, W).

        """
        raise NotImplementedError

    def begin_epoch(self, epoch: int, num_epochs: int, batches_per_epoch: int) -> None:
        """Update schedules at the start of every epoch (the training loop calls it).

        Models with schedules (FSVAE's scheduled sampling, the ANN's KLD weight of
        1/len(loader)) update them here; the default does nothing.

        Args:
            epoch: Zero-based epoch index.
            num_epochs: Total epochs of the run.
            batches_per_epoch: Number of training batches per epoch.

        """

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """The (C, H, W) shape of one input image."""
        return (self.config.in_channels, self.config.image_size, self.config.image_size)

    def num_parameters(self) -> int:
        """Return the number of trainable parameters (buffers excluded)."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)
