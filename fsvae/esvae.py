"""ESVAE (Zhan et al. 2023, arXiv 2310.14839): FSVAE's spiking network with a rate-coded latent.

What ESVAE shares with FSVAE is :class:`fsvae.backbone.SpikingVAE` (encoder, decoder,
LIF neuron, tdBN, membrane output, the five-level network for CelebA). What
differs is the latent (:mod:`fsvae.rate_latent`):

* posterior: the rate ``r_q`` (mean over T) of the encoder's last spiking layer;
* latent spikes: a Bernoulli train of rate ``r`` from fresh uniforms, with a
  rectangular surrogate gradient ("reparameterisable Poisson spiking sampling");
* prior: ``r_p = sigmoid(W n + b)`` with ``n ~ N(0, I)`` (``sample_layer``);
* loss: ``MSE + 0.001 * MMD^2(r_q, r_p)`` with a mixture of Gaussian kernels.

Unlike the reference we build only these modules, not FSVAE's unused autoregressive
prior and posterior; see docs/differences-from-reference.md (ESVAE section).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from fsvae.backbone import SpikingVAE
from fsvae.config import ESVAEConfig
from fsvae.rate_latent import RateSpikeSampler, normal_like, rbf_mmd2


class ESVAE(SpikingVAE):
    """Efficient spiking VAE: spiking conv encoder, rate-coded Bernoulli latent, spiking decoder.

    Args:
        config: The model config (latent 32 for MNIST / Fashion-MNIST, 128 otherwise).

    """

    config_class = ESVAEConfig

    def _build_latent(self, config: ESVAEConfig) -> None:
        c = config.latent_dim
        # Named as the reference's module so its 10x learning-rate group (train option
        # lr_multipliers: {sample_layer: 10}) selects the same parameters.
        self.sample_layer = nn.Sequential(nn.Linear(c, c), nn.Sigmoid())
        self.latent_sampler = RateSpikeSampler(config.sampler_half_width)

    def prior_rates(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Draw prior rates ``r_p = sigmoid(W n + b)``, ``n ~ N(0, I)``, shape ``(n, C)``."""
        weight = self.sample_layer[0].weight
        return self.sample_layer(normal_like((n, self.config.latent_dim), generator, weight))

    def forward(
        self, x: torch.Tensor, generator: torch.Generator | None = None
    ) -> dict[str, torch.Tensor]:
        """Run the full model on a batch.

        Args:
            x: Images ``(N, C, H, W)`` in [-1, 1].
            generator: Random generator for the prior noise and the spike draws
                (None: global RNG).

        Returns:
            ``x_hat`` (N, C, H, W), rates ``r_q`` and ``r_p`` (N, C), spikes ``z`` (T, N, C).

        """
        self._recorder.clear()
        # The reference draws the prior noise before the posterior's uniforms.
        r_p = self.prior_rates(x.shape[0], generator)
        r_q = self.encode(x).mean(0)
        z = self.latent_sampler(r_q, self.config.n_steps, generator)
        return {"x_hat": self.decode(z), "r_q": r_q, "r_p": r_p, "z": z}

    def loss(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Return ``loss = MSE + mmd_weight * MMD^2`` and its terms (docs/reference.md §E3)."""
        out = self(x)
        cfg = self.config
        recon = F.mse_loss(out["x_hat"], x)
        mmd = rbf_mmd2(out["r_q"], out["r_p"], cfg.mmd_kernels, cfg.mmd_kernel_mul)
        return {"loss": recon + cfg.mmd_weight * mmd, "recon": recon, "mmd": mmd}

    def reconstruct(
        self, x: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Encode, draw spikes from the posterior rates (stochastic) and decode."""
        self._recorder.clear()
        r_q = self.encode(x).mean(0)
        return self.decode(self.latent_sampler(r_q, self.config.n_steps, generator))

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Generate: prior rates from Gaussian noise, Bernoulli spikes, spiking decoder."""
        self._recorder.clear()
        r_p = self.prior_rates(n, generator)
        return self.decode(self.latent_sampler(r_p, self.config.n_steps, generator))
