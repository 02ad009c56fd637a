"""Measure a checkpoint's computational cost under every convention: one JSON per model.

The same first ``num_images`` images of the test split, in eval mode, for every model;
counts come from the one instrumentation path (:class:`fsvae.spike_recorder.SpikeRecorder`,
plain computation) and the conventions of :mod:`pipelines.metrics.cost_conventions`.
Two tasks:

* ``recon``: the test pass the reference's counters logged: the model's ``forward``
  where it defines one (FSVAE: encoder, posterior, teacher-forced prior, decoder; ESVAE:
  prior noise map, encoder, sampler, decoder), else ``reconstruct`` (the ANN VAE's
  forward is its reconstruction);
* ``sample``: ``sample(n)`` (FSVAE: the autoregressive prior and the decoder).

Totals are summed over chunks of ``batch_size`` images and divided by the image count;
per batch of 250 is that times 250 (docs/metrics.md, "Computational cost").
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from fsvae.contract import GenerativeModel
from pipelines.metrics.cost_conventions import (
    CountConvention,
    activation_sparsity,
    neuron_updates,
    reference_counts,
    synaptic_counts,
)
from pipelines.metrics.spikes import ENERGY_PRESETS, record_run

TASKS = ("recon", "sample")


def _task_call(
    model: GenerativeModel, task: str, x: torch.Tensor, gen: torch.Generator
) -> Callable[[], Any]:
    if task == "sample":
        return lambda: model.sample(x.shape[0], generator=gen)
    forward = type(model).forward
    if forward is not nn.Module.forward and "generator" in inspect.signature(forward).parameters:
        return lambda: model(x, generator=gen)
    return lambda: model.reconstruct(x, generator=gen)


def count_run(model: GenerativeModel, run: Callable[[], Any], conv: CountConvention) -> dict:
    """Every total of one run: reference, corrected, NeuroBench counts and spike totals."""
    rec = record_run(model, run)
    ref = reference_counts(rec, first_conv_real=not getattr(model, "is_large", False))
    ops = synaptic_counts(rec, conv)
    sparsity = activation_sparsity(rec)
    slots = sum(n.slots for n in rec.neurons)
    return {
        "reference_additions": ref.additions,
        "reference_multiplications": ref.multiplications,
        "dense_macs": ops.dense,
        "effective_macs": ops.macs,
        "effective_acs": ops.acs,
        "neuron_updates": float(neuron_updates(rec)),
        "spikes": 0.0 if sparsity is None else (1 - sparsity) * slots,
        "spike_slots": float(slots),
    }


def measure_model(
    model: GenerativeModel,
    images: torch.Tensor,
    seed: int = 0,
    batch_size: int = 50,
    convention: CountConvention | None = None,
) -> dict[str, dict[str, float | None]]:
    """Per-image counts of both tasks.

    Args:
        model: The model (put in eval mode here).
        images: ``(N, C, H, W)`` in [-1, 1].
        seed: Seed of the generator the model's random draws use.
        batch_size: Images per measured call (bounds memory; counts are additive).
        convention: First / output layer convention of the corrected counts.

    Returns:
        ``{task: {quantity: per-image value}}`` plus ``activation_sparsity``.

    """
    conv = convention or CountConvention()
    model.eval()
    out: dict[str, dict[str, float | None]] = {}
    n = images.shape[0]
    for task in TASKS:
        gen = torch.Generator(device=images.device).manual_seed(seed)
        totals: dict[str, float] = {}
        for start in range(0, n, batch_size):
            chunk = images[start : start + batch_size]
            counts = count_run(model, _task_call(model, task, chunk, gen), conv)
            for key, value in counts.items():
                totals[key] = totals.get(key, 0.0) + value
        spikes, slots = totals.pop("spikes"), totals.pop("spike_slots")
        per_image: dict[str, float | None] = {k: v / n for k, v in totals.items()}
        # None for a network without spike sources (NeuroBench's is over spiking layers).
        per_image["activation_sparsity"] = 1 - spikes / slots if slots else None
        out[task] = per_image
    return out


def measure_checkpoint(
    checkpoint: str | Path,
    prepared_root: str | Path,
    num_images: int,
    seed: int = 0,
    batch_size: int = 50,
    device: str = "cpu",
) -> dict[str, Any]:
    """Load a checkpoint, measure it on the test split's first images, return the record."""
    from pipelines.checkpoint import load_model, model_label
    from pipelines.data import load_split, to_model_range

    if num_images < 1:
        raise ValueError(f"num_images must be at least 1, not {num_images}")
    model, meta = load_model(checkpoint, map_location=device)
    test = load_split(prepared_root, meta["dataset"], "test")[:num_images]
    x = to_model_range(torch.from_numpy(test)).permute(0, 3, 1, 2).contiguous().to(device)
    conv = CountConvention()
    return {
        "checkpoint": str(checkpoint),
        "model": model_label(meta),
        "model_class": meta.get("model_name"),
        "dataset": meta["dataset"],
        "epoch": meta.get("epoch"),
        "step": meta.get("step"),
        "num_images": int(x.shape[0]),
        "images": f"test split, first {int(x.shape[0])} images, eval mode, seed {seed}",
        "n_steps": getattr(model.config, "n_steps", 1),
        "convention": conv.describe(),
        "energy_presets_pj_ac_mac": {k: list(v) for k, v in ENERGY_PRESETS.items()},
        "per_image": measure_model(model, x, seed, batch_size, conv),
    }
