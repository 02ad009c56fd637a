"""Our feature autoencoders as versioned assets: their identity and the published ones.

``afd_own`` values compare only when computed with the same network. A network is
identified by :func:`weights_sha256`, its weights alone (the ``.pt`` file also records the
machine and torch version that wrote it); ``PUBLISHED`` names the networks behind the
committed results, and the ``autoencoder`` stage reports whether it reproduced them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import torch

from pipelines.metrics.autoencoder import load_own_autoencoder


@dataclass(frozen=True)
class PublishedAutoencoder:
    """Our feature autoencoder of one dataset as the committed results used it.

    ``afd_own`` values compare only when computed with the same network, identified in
    their protocol fields by :func:`weights_sha256` (its weights, not the file: the file also
    records the machine it was trained on). The networks are too large to
    commit (4-25 MB) and are not hosted: the ``autoencoder`` stage re-creates them, and
    with these settings, the quick profile's (steps, batch, seed; ``runtime.cpu_threads``
    threads, since float sums depend on it) on the quick profile's prepared data, it must
    produce this hash. The stage says whether it does (:func:`published_check`).

    Attributes:
        dataset: Dataset name.
        steps: Optimiser steps.
        batch_size: Images per step.
        seed: Seed of weights and batch order.
        cpu_threads: Intra-op threads it was trained with.
        sha256: Its :func:`weights_sha256`, as in the committed metrics
            (``afd_own_weights_sha256``).

    """

    dataset: str
    steps: int
    batch_size: int
    seed: int
    cpu_threads: int
    sha256: str


# The quick profile's networks, behind every committed afd_own value (results/metrics).
PUBLISHED = MappingProxyType(
    {
        p.dataset: p
        for p in (
            PublishedAutoencoder(
                "mnist",
                100,
                128,
                0,
                2,
                "222d4f20ee196cb751439b9bcbf30785d80e97a70b26d8b89eea36e916747a0c",
            ),
            PublishedAutoencoder(
                "fashion-mnist",
                100,
                128,
                0,
                2,
                "7fdf893a3746ef8395d5c403d64a5b0770a3f09dad0d595341cc4145a39dedb6",
            ),
            PublishedAutoencoder(
                "cifar10",
                100,
                128,
                0,
                2,
                "221709fa1055cc9a06a87692f1c70df8326f3bc73144ff83732c5d295acbc21b",
            ),
            PublishedAutoencoder(
                "celeba",
                100,
                128,
                0,
                2,
                "1c28aedf33c133b4fca832faa23bdf19b4aa03c824b888e7e7e5080ea9874411",
            ),
        )
    }
)


def weights_sha256(state_dict: Mapping[str, torch.Tensor]) -> str:
    """The identity of a network: sha256 over its tensors' names, dtypes, shapes and bytes.

    Independent of how the file was written (pickle layout, the metadata beside the
    weights), so the same weights trained on two machines give the same identity.

    Args:
        state_dict: The network's parameters and buffers.

    Returns:
        The hex digest.

    """
    digest = hashlib.sha256()
    for name in sorted(state_dict):
        t = state_dict[name].detach().cpu().contiguous()
        digest.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        digest.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def published_check(
    dataset: str, path: str | Path, steps: int, batch_size: int, seed: int, cpu_threads: int
) -> dict[str, Any]:
    """Compare a trained autoencoder with the published one of its dataset.

    Returns:
        ``{"published_sha256", "sha256", "matches_published"}``; ``matches_published`` is
        None when the settings differ from the published ones (another network by design).

    """
    sha = weights_sha256(load_own_autoencoder(path)[0].state_dict())
    ref = PUBLISHED.get(dataset)
    if ref is None:
        return {"published_sha256": None, "sha256": sha, "matches_published": None}
    same = (steps, batch_size, seed, cpu_threads) == (
        ref.steps,
        ref.batch_size,
        ref.seed,
        ref.cpu_threads,
    )
    return {
        "published_sha256": ref.sha256,
        "sha256": sha,
        "matches_published": (sha == ref.sha256) if same else None,
    }
