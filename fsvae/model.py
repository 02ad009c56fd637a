"""The Fully Spiking VAE (Kamata et al., AAAI 2022) on snntorch, behind the model contract.

``FSVAE`` serves all four datasets; for CelebA (64x64) its config adds the 512-channel
level of the reference's ``FSVAELarge`` class (docs/differences-from-reference.md). The
encoder, decoder and membrane output are the shared :class:`fsvae.backbone.SpikingVAE`;
this module adds FSVAE's latent (autoregressive Bernoulli prior and posterior,
:mod:`fsvae.autoregressive_latent`) and its loss. Architecture, constants and losses
follow the reference code (docs/reference.md §1-§4); where we differ, see
docs/differences-from-reference.md.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from fsvae.autoregressive_latent import (
    LatentNet,
    draw_indices,
    prior_input,
    sample_posterior,
    sample_prior,
)
from fsvae.backbone import SpikingVAE
from fsvae.config import FSVAEConfig
from fsvae.losses import kld_loss, mmd_loss


class FSVAE(SpikingVAE):
    """Fully spiking VAE: spiking conv encoder, Bernoulli spike latent, spiking decoder.

    Args:
        config: The model config; ``hidden_dims`` of length 4 for 32x32 inputs and 5
            for 64x64 inputs (the bottleneck is always 2x2).

    """

    config_class = FSVAEConfig

    def __init__(self, config: FSVAEConfig) -> None:
        super().__init__(config)
        self._scheduled_p = config.scheduled_p_start

    def _build_latent(self, config: FSVAEConfig) -> None:
        neuron, c = self.neuron_params, config.latent_dim
        self.posterior = LatentNet(2 * c, c, config.k, neuron, config.latent_bn_alpha)
        self.prior = LatentNet(c, c, config.k, neuron, config.latent_bn_alpha)

    def _indices(self, n: int, generator: torch.Generator | None) -> torch.Tensor:
        shape = (self.config.n_steps, n, self.config.latent_dim)
        return draw_indices(shape, self.config.k, generator, self._device)

    @torch.compiler.disable
    def _scheduled_decisions(self) -> list[bool]:
        """One draw per step for the whole batch, as the reference (docs/reference.md §3.3).

        Host values by design: they decide which prior steps run (Python control flow),
        so they are drawn from the CPU generator on any device (no device sync) and
        kept out of torch.compile's graphs (one break, and no guard on the epoch's ``p``).
        """
        cfg = self.config
        if not (self.training and cfg.scheduled_sampling) or cfg.n_steps < 2:
            return [False] * max(cfg.n_steps - 1, 0)
        draws = torch.rand(cfg.n_steps - 1).tolist()
        p = self._scheduled_p
        return [t >= cfg.scheduled_min_step and r < p for t, r in enumerate(draws)]

    # -- the contract --------------------------------------------------------------------

    def forward(
        self, x: torch.Tensor, generator: torch.Generator | None = None
    ) -> dict[str, torch.Tensor]:
        """Run the full model on a batch.

        Args:
            x: Images ``(N, C, H, W)`` in [-1, 1].
            generator: Random generator for the candidate choice (None: global RNG).

        Returns:
            ``x_hat`` (N, C, H, W), ``q_z`` and ``p_z`` (T, N, C, k), ``z`` (T, N, C).

        """
        self._recorder.clear()
        mode = self.config.posterior_sampling
        x_e = self.encode(x)
        q_z, z = sample_posterior(self.posterior, x_e, self._indices(x.shape[0], generator), mode)
        p_z = self.prior(prior_input(self.prior, z, self._scheduled_decisions(), mode))
        return {"x_hat": self.decode(z), "q_z": q_z, "p_z": p_z, "z": z}

    def loss(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Return ``loss = MSE + weight * (MMD | KLD)`` and its terms (docs/reference.md §3.4)."""
        out = self(x)
        recon = F.mse_loss(out["x_hat"], x)
        if self.config.loss_func == "mmd":
            distance = mmd_loss(out["q_z"], out["p_z"], self.config.psp_tau)
            weight = self.config.mmd_weight
        else:
            distance = kld_loss(out["q_z"], out["p_z"])
            weight = self.config.kld_weight
        return {"loss": recon + weight * distance, "recon": recon, self.config.loss_func: distance}

    def reconstruct(
        self, x: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Encode, draw ``z ~ q(z|x)`` (stochastic, as the reference) and decode."""
        self._recorder.clear()
        x_e = self.encode(x)
        idx = self._indices(x.shape[0], generator)
        _, z = sample_posterior(self.posterior, x_e, idx, self.config.posterior_sampling)
        return self.decode(z)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Generate from the prior: fully spiking, randomness only in the candidate choice."""
        self._recorder.clear()
        z = sample_prior(self.prior, self._indices(n, generator), self.config.posterior_sampling)
        return self.decode(z)

    def begin_epoch(self, epoch: int, num_epochs: int, batches_per_epoch: int) -> None:
        """Update the scheduled-sampling probability: ``p0 + (p1 - p0) * epoch / epochs``."""
        cfg = self.config
        frac = epoch / max(num_epochs, 1)
        span = cfg.scheduled_p_end - cfg.scheduled_p_start
        self._scheduled_p = cfg.scheduled_p_start + span * frac

    @property
    def scheduled_p(self) -> float:
        """Current scheduled-sampling probability."""
        return self._scheduled_p
