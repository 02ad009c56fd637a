"""Configurations of the spiking VAEs with the papers' defaults per dataset.

:class:`SpikingBackboneConfig` holds what FSVAE and ESVAE share (the spiking encoder,
decoder, neuron, tdBN and membrane output); :class:`FSVAEConfig` and
:class:`ESVAEConfig` add the knobs of their latents, the only part that differs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from benchcore.contract import ModelConfig

SMALL_HIDDEN_DIMS = (32, 64, 128, 256)
LARGE_HIDDEN_DIMS = (32, 64, 128, 256, 512)
POSTERIOR_SAMPLING_MODES = ("stream", "prefix")
LOSS_FUNCS = ("mmd", "kld")


@dataclass(frozen=True)
class SpikingBackboneConfig(ModelConfig):
    """The spiking network FSVAE and ESVAE share (docs/reference.md §1-§2).

    Attributes:
        n_steps: Time steps T.
        latent_dim: Latent units C.
        hidden_dims: Encoder channels, coarsest last; 4 levels for 32 px, 5 for 64 px.
        threshold: LIF firing threshold Vth.
        decay: LIF leak factor tau.
        surrogate_half_width: Half-width of the rectangular surrogate window.
        surrogate_center: Potential the surrogate window is centred on (reference: 0).
        bn_alpha: tdBN alpha in encoder and decoder.
        output_decay: Leak of the membrane output layer.

    """

    n_steps: int = 16
    latent_dim: int = 128
    hidden_dims: tuple[int, ...] = SMALL_HIDDEN_DIMS
    threshold: float = 0.2
    decay: float = 0.25
    surrogate_half_width: float = 0.5
    surrogate_center: float = 0.0
    bn_alpha: float = 1.0
    output_decay: float = 0.8

    def __post_init__(self) -> None:
        if self.n_steps < 1 or self.latent_dim < 1:
            raise ValueError("n_steps and latent_dim must be positive")

    @classmethod
    def dataset_defaults(cls, dataset: str) -> dict[str, Any]:
        """CelebA (64x64) uses the five-level network (the reference's *Large models)."""
        return {"hidden_dims": LARGE_HIDDEN_DIMS} if dataset == "celeba" else {}


@dataclass(frozen=True)
class FSVAEConfig(SpikingBackboneConfig):
    """FSVAE's autoregressive latent and loss (docs/reference.md §3-§4).

    Attributes:
        k: Candidate spikes per latent unit per step in prior and posterior.
        latent_bn_alpha: tdBN alpha in prior and posterior.
        psp_tau: Time constant of the PSP filter in the MMD.
        loss_func: ``mmd`` (reference default) or ``kld``.
        mmd_weight: Weight of the MMD term.
        kld_weight: Weight of the KLD term (reference: 1e-4).
        scheduled_sampling: Feed the prior its own predictions sometimes while training.
        scheduled_p_start: Scheduled-sampling probability at epoch 0.
        scheduled_p_end: Probability the schedule approaches at the last epoch.
        scheduled_min_step: First step index at which the prior's input may be replaced.
        posterior_sampling: ``stream`` (O(T), carried neuron state) or ``prefix``
            (the reference's O(T^2) re-run on every prefix); see
            docs/differences-from-reference.md.

    """

    k: int = 20
    latent_bn_alpha: float = 2.0
    psp_tau: float = 2.0
    loss_func: str = "mmd"
    mmd_weight: float = 1.0
    kld_weight: float = 1e-4
    scheduled_sampling: bool = True
    scheduled_p_start: float = 0.1
    scheduled_p_end: float = 0.3
    scheduled_min_step: int = 5
    posterior_sampling: str = "stream"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.loss_func not in LOSS_FUNCS:
            raise ValueError(f"loss_func must be one of {LOSS_FUNCS}, got {self.loss_func!r}")
        if self.posterior_sampling not in POSTERIOR_SAMPLING_MODES:
            raise ValueError(
                f"posterior_sampling must be one of {POSTERIOR_SAMPLING_MODES}, "
                f"got {self.posterior_sampling!r}"
            )
        if self.k < 1:
            raise ValueError("k must be positive")


@dataclass(frozen=True)
class ESVAEConfig(SpikingBackboneConfig):
    """ESVAE's rate-coded latent and loss (docs/reference.md §E2-§E3).

    Attributes:
        sampler_half_width: Half-width ``a`` of the sampler's surrogate window: the
            gradient of ``z = 1[r > u]`` with respect to ``r`` is ``1[|r - u| < a] / (2a)``.
        mmd_weight: Weight of the MMD^2 between posterior and prior rates.
        mmd_kernels: Number of Gaussian kernels in the MMD's mixture.
        mmd_kernel_mul: Ratio between consecutive kernel bandwidths.

    """

    latent_dim: int = 32
    sampler_half_width: float = 0.5
    mmd_weight: float = 0.001
    mmd_kernels: int = 5
    mmd_kernel_mul: float = 2.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.sampler_half_width <= 0 or self.mmd_kernels < 1 or self.mmd_kernel_mul <= 0:
            raise ValueError("sampler_half_width, mmd_kernels and mmd_kernel_mul must be positive")

    @classmethod
    def dataset_defaults(cls, dataset: str) -> dict[str, Any]:
        """Latent 32 for the 28 px datasets, 128 (and five levels for CelebA) otherwise."""
        latent = 32 if dataset in ("mnist", "fashion-mnist") else 128
        return {**super().dataset_defaults(dataset), "latent_dim": latent}
