"""A complete model for fsvae-bench in one small file (see docs/adding-a-model.md).

A two-layer MLP VAE: small enough to train in seconds on a CPU, complete enough to be
trained, sampled, scored and put on the leaderboard by ``dvc repro`` like FSVAE.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from benchcore.contract import GenerativeModel, ModelConfig


@dataclass(frozen=True)
class TinyVAEConfig(ModelConfig):
    """Settings of the tiny VAE (dataset, in_channels and image_size come from ModelConfig).

    Attributes:
        hidden: Width of the hidden layer.
        latent_dim: Size of the Gaussian latent.
    """

    hidden: int = 256
    latent_dim: int = 16


class TinyVAE(GenerativeModel):
    """An MLP VAE with a Gaussian latent.

    Args:
        config: The model's settings.
    """

    config_class = TinyVAEConfig

    def __init__(self, config: TinyVAEConfig) -> None:
        super().__init__(config)
        pixels = config.in_channels * config.image_size**2
        self.encoder = nn.Sequential(nn.Flatten(), nn.Linear(pixels, config.hidden), nn.ReLU())
        self.to_stats = nn.Linear(config.hidden, 2 * config.latent_dim)
        self.decoder = nn.Sequential(
            nn.Linear(config.latent_dim, config.hidden), nn.ReLU(), nn.Linear(config.hidden, pixels)
        )

    def _decode(self, z: torch.Tensor) -> torch.Tensor:
        # The contract wants images in [-1, 1]: tanh maps there.
        return torch.tanh(self.decoder(z)).view(-1, *self.input_shape)

    def _posterior(
        self, x: torch.Tensor, generator: torch.Generator | None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mu, logvar = self.to_stats(self.encoder(x)).chunk(2, dim=1)
        eps = torch.randn(mu.shape, generator=generator, device=mu.device)
        return mu + (0.5 * logvar).exp() * eps, mu, logvar

    def loss(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Return MSE + a small KL term."""
        z, mu, logvar = self._posterior(x, None)
        recon = F.mse_loss(self._decode(z), x)
        kld = torch.mean(-0.5 * torch.sum(1 + logvar - mu**2 - logvar.exp(), dim=1))
        return {"loss": recon + 1e-3 * kld, "recon": recon, "kld": kld}

    def reconstruct(
        self, x: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Encode, draw a latent, decode."""
        return self._decode(self._posterior(x, generator)[0])

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Decode latents from the N(0, I) prior."""
        device = self.to_stats.weight.device
        z = torch.randn(n, self.config.latent_dim, generator=generator, device=device)
        return self._decode(z)
