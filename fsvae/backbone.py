"""The spiking network FSVAE and ESVAE share: everything but the latent.

:class:`SpikingVAE` builds the reference's spiking conv encoder (``encoder`` and
``before_latent_layer``), the mirrored decoder (``decoder_input``, ``decoder``,
``final_layer``) and the membrane-potential output, and implements ``encode``,
``decode`` and spike recording. A subclass adds its latent in :meth:`_build_latent`
(FSVAE: the autoregressive Bernoulli prior and posterior, :mod:`fsvae.model`; ESVAE:
the rate-coded Bernoulli sampler and sigmoid prior, :mod:`fsvae.esvae`) and the
contract's ``loss``, ``reconstruct`` and ``sample``.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import ClassVar, Self

import torch
from torch import nn

from benchcore.contract import GenerativeModel, ModelConfig
from fsvae.config import LARGE_HIDDEN_DIMS, SpikingBackboneConfig
from fsvae.layers import NeuronParams, SpikingBlock
from fsvae.membrane_output import MembraneOutput
from fsvae.spike_recorder import SpikeRecorder


class SpikingVAE(GenerativeModel):
    """Spiking encoder and decoder with a latent left to subclasses.

    Modules are built in the order encoder, latent, decoder, so a subclass's parameters
    (and their seeded initial values) sit where the reference has them.

    Args:
        config: The model config; ``hidden_dims`` of length 4 for 32x32 inputs and 5
            for 64x64 inputs (the bottleneck is always 2x2).

    """

    config_class: ClassVar[type[ModelConfig]] = SpikingBackboneConfig

    def __init__(self, config: SpikingBackboneConfig) -> None:
        super().__init__(config)
        dims = list(config.hidden_dims)
        if config.image_size // 2 ** len(dims) != 2:
            raise ValueError(
                f"hidden_dims {config.hidden_dims} downsample {config.image_size}px to "
                f"{config.image_size // 2 ** len(dims)}px; the architecture needs 2x2"
            )
        self.neuron_params = NeuronParams(
            config.threshold, config.decay, config.surrogate_half_width, config.surrogate_center
        )
        self._build_encoder(config)
        self._build_latent(config)
        self._build_decoder(config)
        self._recorder = SpikeRecorder(self)
        # Shortcuts (first layer once, output convT after integration; equal up to float
        # rounding, docs/differences-from-reference.md #12). False runs the plain
        # layer-by-layer computation the tests compare against.
        self.use_shortcuts = True

    def _build_encoder(self, config: SpikingBackboneConfig) -> None:
        neuron, alpha, dims = self.neuron_params, config.bn_alpha, list(config.hidden_dims)
        self.encoder = nn.Sequential(
            *[
                SpikingBlock(nn.Conv2d(c_in, c_out, 3, stride=2, padding=1), c_out, neuron, alpha)
                for c_in, c_out in zip([config.in_channels, *dims], dims, strict=False)
            ]
        )
        c = config.latent_dim
        self.before_latent_layer = SpikingBlock(nn.Linear(dims[-1] * 4, c), c, neuron, alpha)

    def _build_latent(self, config: SpikingBackboneConfig) -> None:
        """Add the latent's modules (subclasses); called between encoder and decoder."""
        raise NotImplementedError

    def _build_decoder(self, config: SpikingBackboneConfig) -> None:
        neuron, alpha, dims = self.neuron_params, config.bn_alpha, list(config.hidden_dims)
        flat = dims[-1] * 4
        self.decoder_input = SpikingBlock(nn.Linear(config.latent_dim, flat), flat, neuron, alpha)
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
        # The largest layer (convT 32->32 at full resolution) trains faster in NCHW on
        # the CPU (measured: docs/performance.md), where tdBN's native kernel
        # is also accurate in float32.
        self.final_layer[0].channels_last = False
        self.membrane_output_layer = MembraneOutput(config.output_decay)

    @classmethod
    def from_config(cls, config: ModelConfig) -> GenerativeModel:
        """Construct the model from a full config, refusing another model's config."""
        if not isinstance(config, cls.config_class):
            raise TypeError(f"expected {cls.config_class.__name__}, got {type(config).__name__}")
        return cls(config)

    @property
    def fast(self) -> bool:
        """Deprecated name of :attr:`use_shortcuts` (kept for earlier scripts)."""
        warnings.warn("model.fast is now model.use_shortcuts", DeprecationWarning, stacklevel=2)
        return self.use_shortcuts

    @fast.setter
    def fast(self, value: bool) -> None:
        warnings.warn("model.fast is now model.use_shortcuts", DeprecationWarning, stacklevel=2)
        self.use_shortcuts = value

    @property
    def is_large(self) -> bool:
        """Whether this is the five-level CelebA network (the references' ``*Large`` classes).

        The reference's ``FSVAELarge`` counts its first conv's input as spikes
        (docs/reference.md §1.4, §10.1); the cost metric reads this to follow it.
        """
        return len(self.config.hidden_dims) == len(LARGE_HIDDEN_DIMS)

    @property
    def _device(self) -> torch.device:
        return self.before_latent_layer.op.weight.device

    # -- the shared network --------------------------------------------------------------

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Encode images into encoder spikes ``x^E``.

        Args:
            x: Images ``(N, C, H, W)`` in [-1, 1]; repeated over T (direct encoding).

        Returns:
            Binary spikes ``(T, N, latent_dim)``.

        """
        steps = self.config.n_steps
        if self.use_shortcuts:
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
        if self.use_shortcuts and not self._recorder.active:
            # (Recording needs the last convT's spike input, so it takes the plain path.)
            # The last convT is linear and so is the integration: swap them (T times less work).
            potential = self.membrane_output_layer.through(self.final_layer[1], spikes)
        else:
            potential = self.membrane_output_layer(self.final_layer[1](spikes))
        return torch.tanh(potential)

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
    def recording_spikes(self) -> Iterator[Self]:
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
            Flat dict: ``<layer>.firing_rate`` for every spiking layer (LIF neurons and
            the latent's spike sources) and ``<layer>.input_nonzero`` (fraction of
            non-zero inputs, for synaptic-operation counts) for every conv/linear layer
            that ran.

        """
        return self._recorder.rates()


def _up(c_in: int, c_out: int, stride: int) -> nn.ConvTranspose2d:
    return nn.ConvTranspose2d(c_in, c_out, 3, stride=stride, padding=1, output_padding=stride - 1)
