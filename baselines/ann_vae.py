"""The ANN VAE baseline of the paper: FSVAE's conv stacks with BatchNorm + LeakyReLU.

Same channel plan, kernels, strides and paddings as FSVAE (docs/reference.md §6), a
Gaussian latent of 128 dimensions and the loss ``MSE + KLD / len(train loader)``.
``VanillaVAE`` serves all four datasets; for CelebA (64x64) its config adds the
512-channel level of the reference's ``VanillaVAELarge`` class.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from benchcore.contract import GenerativeModel, ModelConfig

SMALL_HIDDEN_DIMS = (32, 64, 128, 256)
LARGE_HIDDEN_DIMS = (32, 64, 128, 256, 512)


@dataclass(frozen=True)
class VAEConfig(ModelConfig):
    """Configuration of the ANN VAE.

    Attributes:
        latent_dim: Size of the Gaussian latent.
        hidden_dims: Encoder channels, coarsest last (decoder mirrors them).
        negative_slope: LeakyReLU slope.
        kld_weight: Weight of the KL term; None means 1 / batches per epoch, as the
            reference set it (``1 / len(train_loader)``).

    """

    latent_dim: int = 128
    hidden_dims: tuple[int, ...] = SMALL_HIDDEN_DIMS
    negative_slope: float = 0.01
    kld_weight: float | None = None

    @classmethod
    def dataset_defaults(cls, dataset: str) -> dict[str, Any]:
        """CelebA (64x64) uses the five-level network."""
        return {"hidden_dims": LARGE_HIDDEN_DIMS} if dataset == "celeba" else {}


def _down(c_in: int, c_out: int, slope: float) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, stride=2, padding=1),
        nn.BatchNorm2d(c_out),
        nn.LeakyReLU(slope),
    )


def _up(c_in: int, c_out: int, slope: float) -> nn.Sequential:
    return nn.Sequential(
        nn.ConvTranspose2d(c_in, c_out, 3, stride=2, padding=1, output_padding=1),
        nn.BatchNorm2d(c_out),
        nn.LeakyReLU(slope),
    )


class VanillaVAE(GenerativeModel):
    """Convolutional Gaussian VAE with the reference's architecture.

    Args:
        config: The model config; ``hidden_dims`` of length 4 for 32x32 inputs and
            5 for 64x64 inputs (the bottleneck is always 2x2).

    """

    config_class = VAEConfig

    def __init__(self, config: VAEConfig) -> None:
        super().__init__(config)
        dims = list(config.hidden_dims)
        expected = config.image_size // 2 ** len(dims)
        if expected != 2:
            raise ValueError(
                f"hidden_dims {config.hidden_dims} downsample {config.image_size}px to "
                f"{expected}px; the architecture needs a 2x2 bottleneck"
            )
        slope = config.negative_slope
        self.encoder = nn.Sequential(
            *[
                _down(c_in, c_out, slope)
                for c_in, c_out in zip([config.in_channels, *dims], dims, strict=False)
            ]
        )
        flat = dims[-1] * 4
        self.fc_mu = nn.Linear(flat, config.latent_dim)
        self.fc_var = nn.Linear(flat, config.latent_dim)
        self.decoder_input = nn.Linear(config.latent_dim, flat)
        rev = dims[::-1]
        self.decoder = nn.Sequential(
            *[_up(c_in, c_out, slope) for c_in, c_out in zip(rev, rev[1:], strict=False)]
        )
        self.final_layer = nn.Sequential(
            _up(dims[0], dims[0], slope),
            nn.ConvTranspose2d(dims[0], config.in_channels, 3, stride=1, padding=1),
            nn.Tanh(),
        )
        self._kld_weight = config.kld_weight if config.kld_weight is not None else 1.0

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return the posterior mean and log-variance of a batch."""
        h = self.encoder(x).flatten(1)
        return self.fc_mu(h), self.fc_var(h)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Map latents to images in (-1, 1)."""
        c = self.config.hidden_dims[-1]
        h = self.decoder_input(z).view(-1, c, 2, 2)
        return self.final_layer(self.decoder(h))

    def _reparameterise(
        self, mu: torch.Tensor, logvar: torch.Tensor, generator: torch.Generator | None
    ) -> torch.Tensor:
        eps = _randn(mu.shape, generator, mu.device, mu.dtype)
        return mu + torch.exp(0.5 * logvar) * eps

    def begin_epoch(self, epoch: int, num_epochs: int, batches_per_epoch: int) -> None:
        """Set the KLD weight to 1 / batches per epoch unless the config fixes it."""
        if self.config.kld_weight is None:
            self._kld_weight = 1.0 / max(batches_per_epoch, 1)

    def loss(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Return ``loss = recon + kld_weight * kld`` and its terms."""
        mu, logvar = self.encode(x)
        x_hat = self.decode(self._reparameterise(mu, logvar, None))
        recon = F.mse_loss(x_hat, x)
        kld = torch.mean(-0.5 * torch.sum(1 + logvar - mu**2 - logvar.exp(), dim=1))
        return {"loss": recon + self._kld_weight * kld, "recon": recon, "kld": kld}

    def reconstruct(
        self, x: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Encode, draw one latent and decode (stochastic, as in the reference's test loop)."""
        mu, logvar = self.encode(x)
        return self.decode(self._reparameterise(mu, logvar, generator))

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Decode latents drawn from the N(0, I) prior."""
        z = _randn((n, self.config.latent_dim), generator, self.fc_mu.weight.device)
        return self.decode(z)


def _randn(
    shape: tuple[int, ...],
    generator: torch.Generator | None,
    device: torch.device,
    dtype: torch.dtype | None = None,
) -> torch.Tensor:
    """N(0, 1) drawn on the generator's device (the model's without one), then moved.

    A CPU generator thus gives a CUDA model the same draws as a CPU run, and a
    ``torch.Generator(device="cuda")`` keeps the draw on the GPU.
    """
    gen_device = generator.device if generator is not None else device
    return torch.randn(shape, generator=generator, device=gen_device, dtype=dtype).to(device)
