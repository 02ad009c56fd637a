"""The LIF recurrence over all T steps as one autograd node, with a hand-written backward.

:class:`fsvae.neurons.LIF` runs its sequences through :class:`FusedLIF`: the forward
stores only the membrane potentials, and the backward recomputes spikes and surrogate
values from them and keeps the gradient through the reset ``(1 - o_{t-1})`` as the
reference does (docs/reference.md §2.1; docs/differences-from-reference.md row 2). On
the CPU the steps are processed in cache-sized chunks.
"""

from __future__ import annotations

import torch

# Elements per chunk of the CPU's fused time loop: all T steps of one chunk are
# processed while its per-step slices (512 KiB each in float32) stay in the CPU's L2
# cache. Whether this beats whole-tensor steps depends on the CPU (measured:
# docs/performance.md). Elsewhere (CUDA) each op is a kernel launch, so chunking would
# only multiply launches; under torch.compile the compiler writes its own fused loops
# from the whole-step ops.
_CHUNK = 1 << 17


def _cache_chunked(x: torch.Tensor) -> bool:
    """Whether the LIF loop runs in cache-sized chunks (eager CPU) or whole steps.

    Both give the same bits; whole steps (other devices, and any device under
    ``torch.compile``) need no stride inspection or ``as_strided`` views.
    """
    return x.device.type == "cpu" and not torch.compiler.is_compiling()


def _dense_time_major(x: torch.Tensor) -> bool:
    """Whether ``x`` occupies one dense block with time as the outermost axis."""
    expected = 1
    for size, stride in sorted(zip(x.shape, x.stride(), strict=True), key=lambda p: p[1]):
        if size != 1 and stride != expected:
            return False
        expected *= size
    return x.shape[0] == 1 or x.stride(0) * x.shape[0] == x.numel()


def _time_major(x: torch.Tensor) -> torch.Tensor:
    """View a ``(T, ...)`` tensor as ``(T, E)`` in memory order (any dense layout).

    Elementwise work does not care about the logical order of the non-time axes, so
    channels-last tensors are processed in place without a copy.
    """
    steps = x.shape[0]
    numel = x.numel() // max(steps, 1)
    if not _dense_time_major(x):
        x = x.contiguous()
    return x.as_strided((steps, numel), (numel, 1), x.storage_offset())


def _empty_time_major(x: torch.Tensor) -> torch.Tensor:
    """Uninitialised ``(T, ...)`` tensor, time outermost, each step laid out like ``x[0]``.

    Used for inputs repeated over time (stride 0 on the time axis), whose per-step
    layout (e.g. channels-last) should carry through without a copy of the input.
    """
    step = x[0]
    if not _dense_time_major(step.unsqueeze(0)):
        step = step.contiguous()
    return torch.empty_strided(
        x.shape, (step.numel(), *step.stride()), dtype=x.dtype, device=x.device
    )


def _chunks(numel: int) -> list[slice]:
    return [slice(s, min(s + _CHUNK, numel)) for s in range(0, numel, _CHUNK)]


class FusedLIF(torch.autograd.Function):
    """All T steps of the LIF recurrence in one autograd node (time is axis 0)."""

    @staticmethod
    def forward(
        ctx,
        current: torch.Tensor,
        decay: float,
        threshold: float,
        half_width: float,
        center: float,
    ) -> torch.Tensor:
        """Spikes of a ``(T, ...)`` current; saves the membrane potentials for backward."""
        ctx.consts = (decay, threshold, half_width, center)
        if not _cache_chunked(current):
            mem_full = _forward_steps(current, decay, threshold)
            ctx.save_for_backward(mem_full)
            return torch.gt(mem_full, threshold).to(mem_full.dtype)
        # A current repeated over time (the first layer's, under direct encoding) is
        # read from its single step instead of being materialised T times.
        repeated = current.shape[0] > 1 and current.stride(0) == 0
        if repeated:
            mem_full = _empty_time_major(current)
            cur = _time_major(current[:1])
        else:
            if not _dense_time_major(current):
                current = current.contiguous()
            mem_full = torch.empty_like(current)
            cur = _time_major(current)
        spk_full = torch.empty_like(mem_full)
        mem, spk = _time_major(mem_full), _time_major(spk_full)
        keep_buf = cur.new_empty(min(cur.shape[1], _CHUNK))
        for sl in _chunks(cur.shape[1]):
            keep = keep_buf[: sl.stop - sl.start]
            for t in range(mem.shape[0]):
                u_t, i_t = mem[t, sl], cur[0 if repeated else t, sl]
                if t == 0:
                    u_t.copy_(i_t)
                else:
                    # Hard reset: the previous potential survives only where it did not fire.
                    torch.addcmul(i_t, mem[t - 1, sl], keep, value=decay, out=u_t)
                torch.le(u_t, threshold, out=keep)
                torch.gt(u_t, threshold, out=spk[t, sl])
        ctx.save_for_backward(mem_full)
        return spk_full

    @staticmethod
    def backward(ctx, grad_spk: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        """Gradient with respect to the current, through the surrogate and the reset."""
        (mem_full,) = ctx.saved_tensors
        decay, threshold, half_width, center = ctx.consts
        if not _cache_chunked(mem_full):
            return _backward_steps(mem_full, grad_spk, *ctx.consts), None, None, None, None
        if grad_spk.stride() != mem_full.stride():
            grad_spk = torch.empty_like(mem_full).copy_(grad_spk)
        grad_full = torch.empty_like(mem_full)
        mem, g_out, g_in = _time_major(mem_full), _time_major(grad_spk), _time_major(grad_full)
        size = min(mem.shape[1], _CHUNK)
        tmp_buf, win_buf, keep_buf = (mem.new_empty(size) for _ in range(3))
        height = 1.0 / (2 * half_width)
        for sl in _chunks(mem.shape[1]):
            n = sl.stop - sl.start
            tmp, win, keep = tmp_buf[:n], win_buf[:n], keep_buf[:n]
            g_next: torch.Tensor | None = None
            for t in range(mem.shape[0] - 1, -1, -1):
                u_t, g_u = mem[t, sl], g_in[t, sl]
                torch.sub(u_t, center, out=tmp).abs_()
                torch.lt(tmp, half_width, out=win)
                if height != 1.0:
                    win.mul_(height)
                if g_next is None:
                    torch.mul(g_out[t, sl], win, out=g_u)
                else:
                    # dL/do_t: own gradient plus the reset path d u_{t+1} / d o_t = -decay*u_t.
                    torch.addcmul(g_out[t, sl], u_t, g_next, value=-decay, out=tmp)
                    tmp.mul_(win)
                    # Leak path d u_{t+1} / d u_t = decay * (1 - o_t).
                    torch.le(u_t, threshold, out=keep)
                    torch.addcmul(tmp, keep, g_next, value=decay, out=g_u)
                g_next = g_u
        return grad_full, None, None, None, None


def _forward_steps(current: torch.Tensor, decay: float, threshold: float) -> torch.Tensor:
    """Membrane potentials ``(T, ...)`` with whole-step ops: two per time step.

    The same operations as the chunked CPU loop (``addcmul`` with the 0/1 mask of the
    previous step), so the potentials are bit-identical. Elementwise ops keep the
    input's layout, and a current repeated over time (stride 0) is read, not copied.
    """
    mems: list[torch.Tensor] = []
    for i_t in current.unbind(0):
        if not mems:
            mems.append(i_t.clone())
        else:
            # Hard reset: the previous potential survives only where it did not fire.
            u_prev = mems[-1]
            mems.append(torch.addcmul(i_t, u_prev, torch.le(u_prev, threshold), value=decay))
    return torch.stack(mems)


def _backward_steps(
    mem_full: torch.Tensor,
    grad_spk: torch.Tensor,
    decay: float,
    threshold: float,
    half_width: float,
    center: float,
) -> torch.Tensor:
    """Gradient with respect to the currents with whole-step ops: three per time step.

    Surrogate window and reset mask are computed for all steps at once; the recurrence
    then does what the chunked CPU loop does per element, in the same order (the same
    floating-point result).
    """
    win_full = torch.sub(mem_full, center).abs_().lt_(half_width)
    height = 1.0 / (2 * half_width)
    if height != 1.0:
        win_full = win_full.mul_(height)
    keep_full = torch.le(mem_full, threshold).to(mem_full.dtype)
    mems, g_outs = mem_full.unbind(0), grad_spk.unbind(0)
    wins, keeps = win_full.unbind(0), keep_full.unbind(0)
    grads: list[torch.Tensor] = []
    for t in range(len(mems) - 1, -1, -1):
        if not grads:
            grads.append(g_outs[t] * wins[t])
            continue
        g_next = grads[-1]
        # dL/do_t: own gradient plus the reset path d u_{t+1} / d o_t = -decay*u_t.
        g_o = torch.addcmul(g_outs[t], mems[t], g_next, value=-decay).mul_(wins[t])
        # Leak path d u_{t+1} / d u_t = decay * (1 - o_t).
        grads.append(torch.addcmul(g_o, keeps[t], g_next, value=decay))
    return torch.stack(grads[::-1])


class NoGradContext:
    """Stand-in autograd context for running the fused forward without a graph."""

    def save_for_backward(self, *tensors: torch.Tensor) -> None:
        """Discard: nothing is needed without a backward pass."""
