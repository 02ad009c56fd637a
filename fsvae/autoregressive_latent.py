"""Autoregressive Bernoulli latent of FSVAE: posterior and prior spiking MLPs and sampling.

Both networks emit ``k`` candidate spikes per latent unit per step; ``z_t`` takes one
of them chosen uniformly at random, i.e. a Bernoulli draw whose rate is the mean of
the ``k`` (docs/reference.md §3). The autoregression over time is streamed in O(T): the
neuron state is carried from step to step instead of re-running the network on every
prefix as the reference does (``mode="prefix"`` keeps the reference's way in training).
In eval mode tdBN normalises with its running statistics, so streaming gives exactly what
the prefix re-runs give and both modes stream there: the re-runs would be wasted work.
"""

from __future__ import annotations

import torch
from torch import nn

from fsvae.layers import BlockState, NeuronParams, SpikingBlock
from fsvae.neurons import LIFState

HIDDEN = (256, 512)


class LatentNet(nn.Module):
    """Three spiking linear layers ending in ``latent_dim * k`` candidate spikes.

    Args:
        in_dim: Input channels per step.
        latent_dim: Latent units C.
        k: Candidates per unit.
        neuron: Neuron constants.
        bn_alpha: tdBN alpha (reference: 2).

    """

    def __init__(
        self, in_dim: int, latent_dim: int, k: int, neuron: NeuronParams, bn_alpha: float
    ) -> None:
        super().__init__()
        dims = [in_dim, *HIDDEN, latent_dim * k]
        self.layers = nn.ModuleList(
            SpikingBlock(nn.Linear(a, b), b, neuron, bn_alpha)
            for a, b in zip(dims, dims[1:], strict=False)
        )
        self.latent_dim = latent_dim
        self.k = k

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Run on a whole sequence ``(T, N, in_dim)``; return spikes ``(T, N, C, k)``."""
        for layer in self.layers:
            x = layer(x)
        return x.unflatten(-1, (self.latent_dim, self.k))

    def new_state(self) -> list[BlockState]:
        """Return a fresh streaming state (one per layer), owned by the caller."""
        return [BlockState(lif=LIFState()) for _ in self.layers]

    def stream(
        self, x: torch.Tensor, state: list[BlockState], update_running: bool = False
    ) -> torch.Tensor:
        """Run on the next step(s) ``(T', N, in_dim)``, continuing from ``state``.

        ``update_running`` (training mode): each tdBN folds the statistics of the prefix
        seen so far into its running statistics, where the reference re-runs the
        network on that prefix (and so updates them once per re-run).
        """
        for layer, s in zip(self.layers, state, strict=True):
            x = layer.stream(x, s, update_running)
        return x.unflatten(-1, (self.latent_dim, self.k))


def pick(candidates: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """Select one of the k candidates per unit.

    Args:
        candidates: ``(..., C, k)`` spikes.
        index: ``(..., C)`` integer indices in ``[0, k)``.

    Returns:
        ``(..., C)`` selected spikes (gradient flows to the selected candidate only).

    """
    return candidates.gather(-1, index.unsqueeze(-1)).squeeze(-1)


def draw_indices(
    shape: tuple[int, ...], k: int, generator: torch.Generator | None, device: torch.device
) -> torch.Tensor:
    """Draw uniform candidate indices, on the generator's device, then move them.

    Args:
        shape: ``(T, N, C)``.
        k: Number of candidates.
        generator: Random generator (None: global RNG).
        device: Device the indices are needed on.

    Returns:
        int64 indices of the given shape.

    """
    gen_device = generator.device if generator is not None else device
    return torch.randint(0, k, shape, generator=generator, device=gen_device).to(device)


def streams(net: nn.Module, mode: str) -> bool:
    """Whether ``net``'s autoregression is streamed: always in eval mode, where it is exact.

    In training mode only ``stream`` streams; ``prefix`` re-runs every prefix, as the
    reference does, so each re-run normalises with that prefix's batch statistics.
    """
    return mode == "stream" or not net.training


def sample_posterior(
    net: LatentNet, x_e: torch.Tensor, index: torch.Tensor, mode: str = "stream"
) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw ``z ~ q(z | x)`` autoregressively and return the posterior's candidates.

    The input at step t is ``[x^E_t, z_{t-1}]`` with ``z_0 = 0``. When a graph is needed
    (training, or gradients enabled) the history is drawn without gradients, then the
    network runs once more on the full sequence with gradients and the same indices
    select ``z`` (as the reference does). Otherwise one streamed pass suffices.

    Args:
        net: The posterior network (input ``2 * C``).
        x_e: Encoder spikes ``(T, N, C)``.
        index: Candidate indices ``(T, N, C)``.
        mode: ``stream`` or ``prefix``.

    Returns:
        ``q_z`` candidates ``(T, N, C, k)`` and sampled ``z`` ``(T, N, C)``.

    """
    steps = x_e.shape[0]
    zero = torch.zeros_like(x_e[0])
    if not (net.training or torch.is_grad_enabled()):
        state = net.new_state()
        qs, zs = [], []
        for t in range(steps):
            z_prev = zs[-1] if zs else zero
            q_t = net.stream(torch.cat([x_e[t], z_prev], -1).unsqueeze(0), state)[0]
            qs.append(q_t)
            zs.append(pick(q_t, index[t]))
        return torch.stack(qs), torch.stack(zs)

    with torch.no_grad():
        x_d = x_e.detach()
        hist = [zero]
        state = net.new_state()
        for t in range(steps - 1):
            if streams(net, mode):
                step = torch.cat([x_d[t], hist[-1]], -1).unsqueeze(0)
                q_t = net.stream(step, state, update_running=True)[0]
            else:
                q_t = net(torch.cat([x_d[: t + 1], torch.stack(hist)], -1))[-1]
            hist.append(pick(q_t, index[t]))
    q_z = net(torch.cat([x_e, torch.stack(hist)], -1))
    return q_z, pick(q_z, index)


def prior_input(
    net: LatentNet,
    z: torch.Tensor,
    use_prior: list[bool],
    mode: str = "stream",
) -> torch.Tensor:
    """Build the prior's teacher-forced input with scheduled sampling.

    The input is ``(0, z_1, ..., z_{T-1})``, except that where ``use_prior[t]`` is set
    the input at step ``t + 1`` is the prior's own majority vote at step ``t`` (mean of
    the k candidates plus N(0, 1e-6) tie-breaking noise, thresholded at 0.5), as in
    the reference.

    Args:
        net: The prior network.
        z: Posterior sample ``(T, N, C)`` (detached here).
        use_prior: ``T - 1`` decisions, one per step, shared by the batch.
        mode: ``stream`` or ``prefix``.

    Returns:
        The input sequence ``(T, N, C)``, without gradient.

    """
    z = z.detach()
    zero = torch.zeros_like(z[0])
    if not any(use_prior):
        return torch.cat([zero.unsqueeze(0), z[:-1]])
    last = max(t for t, use in enumerate(use_prior) if use)
    inputs = [zero]
    state = net.new_state()
    with torch.no_grad():
        for t in range(z.shape[0] - 1):
            if streams(net, mode) and t <= last:
                # Running statistics move only where the reference re-runs the prior.
                p_t = net.stream(inputs[t].unsqueeze(0), state, use_prior[t])[0]
            elif use_prior[t]:
                p_t = net(torch.stack(inputs))[-1]
            if use_prior[t]:
                noisy = p_t.mean(-1) + 1e-3 * torch.randn_like(p_t[..., 0])
                inputs.append((noisy > 0.5).to(z.dtype))
            else:
                inputs.append(z[t])
    return torch.stack(inputs)


def sample_prior(net: LatentNet, index: torch.Tensor, mode: str = "stream") -> torch.Tensor:
    """Generate ``z ~ p(z)`` autoregressively from ``z_0 = 0`` (fully spiking).

    Args:
        net: The prior network.
        index: Candidate indices ``(T, N, C)``.
        mode: ``stream`` or ``prefix``.

    Returns:
        ``z_1..z_T`` as ``(T, N, C)``.

    """
    steps, n, c = index.shape
    param = net.layers[0].op.weight
    zero = torch.zeros(n, c, device=param.device, dtype=param.dtype)
    inputs = [zero]
    state = net.new_state()
    for t in range(steps):
        if streams(net, mode):
            p_t = net.stream(inputs[t].unsqueeze(0), state, update_running=True)[0]
        else:
            p_t = net(torch.stack(inputs))[-1]
        inputs.append(pick(p_t, index[t]))
    return torch.stack(inputs[1:])
