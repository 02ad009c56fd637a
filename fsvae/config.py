"""Configuration of the Fully Spiking VAE with the paper's defaults per dataset."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fsvae.contract import ModelConfig

SMALL_HIDDEN_DIMS = (32, 64, 128, 256)
LARGE_HIDDEN_DIMS = (32, 64, 128, 256, 512)
POSTERIOR_SAMPLING_MODES = ("stream", "prefix")
LOSS_FUNCS = ("mmd", "kld")


@dataclass(frozen=True)
class FSVAEConfig(ModelConfig):
    """Every knob of FSVAE (reference spec §1-§4; values from the reference's yaml/code).

    Attributes:
        n_steps: Time steps T.
        latent_dim: Latent units C.
        k: Candidate spikes per latent unit per step in prior and posterior.
        hidden_dims: Encoder channels, coarsest last; 4 levels for 32 px, 5 for 64 px.
        threshold: LIF firing threshold Vth.
        decay: LIF leak factor tau.
        surrogate_half_width: Half-width of the rectangular surrogate window.
        surrogate_center: Potential the surrogate window is centred on (reference: 0).
        bn_alpha: tdBN alpha in encoder and decoder.
        latent_bn_alpha: tdBN alpha in prior and posterior.
        output_decay: Leak of the membrane output layer.
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

    n_steps: int = 16
    latent_dim: int = 128
    k: int = 20
    hidden_dims: tuple[int, ...] = SMALL_HIDDEN_DIMS
    threshold: float = 0.2
    decay: float = 0.25
    surrogate_half_width: float = 0.5
    surrogate_center: float = 0.0
    bn_alpha: float = 1.0
    latent_bn_alpha: float = 2.0
    output_decay: float = 0.8
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
        if self.loss_func not in LOSS_FUNCS:
            raise ValueError(f"loss_func must be one of {LOSS_FUNCS}, got {self.loss_func!r}")
        if self.posterior_sampling not in POSTERIOR_SAMPLING_MODES:
            raise ValueError(
                f"posterior_sampling must be one of {POSTERIOR_SAMPLING_MODES}, "
                f"got {self.posterior_sampling!r}"
            )
        if self.n_steps < 1 or self.k < 1 or self.latent_dim < 1:
            raise ValueError("n_steps, k and latent_dim must be positive")

    @classmethod
    def dataset_defaults(cls, dataset: str) -> dict[str, Any]:
        """CelebA (64x64) uses the five-level network (the reference's FSVAELarge)."""
        return {"hidden_dims": LARGE_HIDDEN_DIMS} if dataset == "celeba" else {}
