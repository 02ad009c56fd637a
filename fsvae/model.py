"""The Fully Spiking VAE (Kamata et al., AAAI 2022) on snntorch, behind the model contract.

``FSVAE`` serves MNIST, Fashion-MNIST and CIFAR-10 (32x32); ``FSVAELarge`` adds the
512-channel level the reference used for CelebA (64x64). Architecture, constants and
losses follow the reference code (spec §1-§4); where we differ, see
docs/differences-from-reference.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from fsvae.config import LARGE_HIDDEN_DIMS, FSVAEConfig
from fsvae.contract import GenerativeModel, ModelConfig
from fsvae.latent import LatentNet, draw_indices, prior_input, sample_posterior, sample_prior
from fsvae.layers import NeuronParams, SpikingBlock
from fsvae.losses import kld_loss, mmd_loss
from fsvae.readout import MembraneOutput
from fsvae.stats import SpikeRecorder


class FSVAE(GenerativeModel):
    """Fully spiking VAE: spiking conv encoder, Bernoulli spike latent, spiking decoder.

    Args:
        config: The model config; ``hidden_dims`` of length 4 for 32x32 inputs and 5
            for 64x64 inputs (the bottleneck is always 2x2).

    """

    config_class = FSVAEConfig

    def __init__(self, config: FSVAEConfig) -> None:
        super().__init__(config)
        dims = list(config.hidden_dims)
        if config.image_size // 2 ** len(dims) != 2:
            raise ValueError(
                f"hidden_dims {config.hidden_dims} downsample {config.image_size}px to "
                f"{config.image_size // 2 ** len(dims)}px; the architecture needs 2x2"
            )
        neuron = NeuronParams(
            config.threshold, config.decay, config.surrogate_half_width, config.surrogate_center
        )
        alpha, c = config.bn_alpha, config.latent_dim
        self.encoder = nn.Sequential(
            *[
                SpikingBlock(nn.Conv2d(c_in, c_out, 3, stride=2, padding=1), c_out, neuron, alpha)
                for c_in, c_out in zip([config.in_channels, *dims], dims, strict=False)
            ]
        )
        flat = dims[-1] * 4
        self.before_latent_layer = SpikingBlock(nn.Linear(flat, c), c, neuron, alpha)
        self.posterior = LatentNet(2 * c, c, config.k, neuron, config.latent_bn_alpha)
        self.prior = LatentNet(c, c, config.k, neuron, config.latent_bn_alpha)
        self.decoder_input = SpikingBlock(nn.Linear(c, flat), flat, neuron, alpha)
        rev = dims[::-1]
        self.decoder = nn.Sequential(
            *[
                SpikingBlock(_up(c_in, c_out, 2), c_out, neuron, alpha)
                for c_in, c_out in zip(rev, rev[1:], strict=False)
            ]
        )
        self.final_layer = nn.Sequential(
            SpikingBlock(_up(dims[0], dims[0], 2), dims[0], neuron, alpha),
            SpikingBlock(
                _up(dims[0], config.in_channels, 1),
                config.in_channels,
                neuron,
                bn_alpha=None,
                spiking=False,
            ),
        )
        self.membrane_output_layer = MembraneOutput(config.output_decay)
        self._scheduled_p = config.scheduled_p_start
        self._recorder = SpikeRecorder(self)
        # Fast paths (first layer once, output convT after integration). False runs the
        # plain layer-by-layer computation the tests compare against.
        self.fast = True

    @classmethod
    def from_config(cls, config: ModelConfig) -> GenerativeModel:
        """Pick :class:`FSVAELarge` for five-level configs, as the reference named it."""
        if not isinstance(config, FSVAEConfig):
            raise TypeError(f"expected FSVAEConfig, got {type(config).__name__}")
        if len(config.hidden_dims) == len(LARGE_HIDDEN_DIMS) and cls is FSVAE:
            return FSVAELarge(config)
        return cls(config)

    @property
    def _device(self) -> torch.device:
        return self.before_latent_layer.op.weight.device

    # -- network pieces ------------------------------------------------------------------

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Encode images into encoder spikes ``x^E``.

        Args:
            x: Images ``(N, C, H, W)`` in [-1, 1]; repeated over T (direct encoding).

        Returns:
            Binary spikes ``(T, N, latent_dim)``.

        """
        steps = self.config.n_steps
        if self.fast:
            # The first layer's input is the same at every step: compute it once.
            h = self.encoder[0].forward_repeated(x, steps)
            for block in self.encoder[1:]:
                h = block(h)
        else:
            h = self.encoder(x.unsqueeze(0).expand(steps, *x.shape))
        return self.before_latent_layer(h.flatten(2))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Decode latent spikes into images.

        Args:
            z: Latent spikes ``(T, N, latent_dim)``.

        Returns:
            Images ``(N, C, H, W)`` in (-1, 1): tanh of the output membrane potential.

        """
        h = self.decoder_input(z).unflatten(-1, (self.config.hidden_dims[-1], 2, 2))
        spikes = self.final_layer[0](self.decoder(h))
        if self.fast and not self._recorder.active:
            # (Recording needs the last convT's spike input, so it takes the plain path.)
            # The last convT is linear and so is the integration: swap them (T times less work).
            potential = self.membrane_output_layer.through(self.final_layer[1], spikes)
        else:
            potential = self.membrane_output_layer(self.final_layer[1](spikes))
        return torch.tanh(potential)

    def _indices(self, n: int, generator: torch.Generator | None) -> torch.Tensor:
        shape = (self.config.n_steps, n, self.config.latent_dim)
        return draw_indices(shape, self.config.k, generator, self._device)

    def _scheduled_decisions(self) -> list[bool]:
        """One draw per step for the whole batch, as the reference (spec §3.3)."""
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
        """Return ``loss = MSE + weight * (MMD | KLD)`` and its terms (spec §3.4)."""
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

    # -- spike statistics ----------------------------------------------------------------

    def record_spikes(self, enabled: bool = True) -> None:
        """Turn spike recording on or off (no hooks, hence no cost, while off).

        Args:
            enabled: Whether to record.

        """
        if enabled:
            self._recorder.start()
        else:
            self._recorder.stop()

    @contextmanager
    def recording_spikes(self) -> Iterator[FSVAE]:
        """Context manager that records spikes inside the block."""
        was_active = self._recorder.active
        self.record_spikes(True)
        try:
            yield self
        finally:
            self.record_spikes(was_active)

    def spike_stats(self) -> dict[str, float]:
        """Per-layer statistics of the last call (loss, reconstruct or sample) while recording.

        Returns:
            Flat dict: ``<layer>.firing_rate`` for every LIF layer and
            ``<layer>.input_nonzero`` (fraction of non-zero inputs, for synaptic-operation
            counts) for every conv/linear layer that ran.

        """
        return self._recorder.rates()


class FSVAELarge(FSVAE):
    """The five-level FSVAE the reference used for CelebA (64x64)."""

    @classmethod
    def build(cls, dataset: str = "celeba", **overrides: Any) -> GenerativeModel:
        """Construct with the five-level network, whatever the dataset's default."""
        overrides.setdefault("hidden_dims", LARGE_HIDDEN_DIMS)
        return cls.from_config(cls.config_class.for_dataset(dataset, **overrides))


def _up(c_in: int, c_out: int, stride: int) -> nn.ConvTranspose2d:
    return nn.ConvTranspose2d(c_in, c_out, 3, stride=stride, padding=1, output_padding=stride - 1)
