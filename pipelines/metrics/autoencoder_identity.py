"""Our feature autoencoders as versioned assets: their identity, the published ones, their use.

``afd_own`` values compare only when computed with the same network. A network is
identified by :func:`weights_sha256`, its weights alone (the ``.pt`` file also records the
machine and torch version that wrote it). ``PUBLISHED`` declares the committed networks
(``assets/feature-autoencoders/``, one per dataset): every user whose settings and prepared
data are the published ones computes ``afd_own`` with that same network
(:func:`published_for`), and the ``autoencoder`` stage, which still retrains it, reports
whether the retrained weights reproduced it (:func:`published_check`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import torch

from pipelines.data import NotPreparedError, load_meta
from pipelines.metrics.autoencoder import load_own_autoencoder

# The checkout these modules belong to: the committed networks live in it.
REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class PublishedAutoencoder:
    """Our feature autoencoder of one dataset, committed and shared by every user.

    It was trained by the ``autoencoder`` stage with these settings on the prepared splits
    with these hashes (``prepared/<dataset>/meta.json``; ``results/data/<dataset>.json``);
    with ``cpu_threads`` intra-op threads (float sums depend on it) and torch 2.14.1 on
    the CPU, retraining gives the same weights.

    Attributes:
        dataset: Dataset name.
        steps: Optimiser steps.
        batch_size: Images per step.
        seed: Seed of weights and batch order.
        cpu_threads: Intra-op threads it was trained with.
        sha256: Its :func:`weights_sha256`, as in the committed metrics
            (``afd_own_weights_sha256``).
        train_sha256: sha256 of the prepared training split file it was trained on.
        test_sha256: sha256 of the prepared test split file behind its stored statistics.
        file: The committed file, relative to the repository root.

    """

    dataset: str
    steps: int
    batch_size: int
    seed: int
    cpu_threads: int
    sha256: str
    train_sha256: str
    test_sha256: str
    file: str

    @property
    def path(self) -> Path:
        """The committed file (absolute)."""
        return Path(self.file) if Path(self.file).is_absolute() else REPO_ROOT / self.file


def _quick(dataset: str, sha256: str, train_sha256: str, test_sha256: str) -> PublishedAutoencoder:
    # The quick profile's settings (profiles/quick.yaml: autoencoder, seed, runtime).
    return PublishedAutoencoder(
        dataset, 100, 128, 0, 2, sha256, train_sha256, test_sha256,
        f"assets/feature-autoencoders/{dataset}.pt",
    )  # fmt: skip


# Behind every committed afd_own value (results/metrics); the data are the offline copies'
# (docs/data.md): MNIST and Fashion-MNIST the official splits, CIFAR-10 and CelebA subsets.
PUBLISHED = MappingProxyType(
    {
        p.dataset: p
        for p in (
            _quick(
                "mnist",
                "222d4f20ee196cb751439b9bcbf30785d80e97a70b26d8b89eea36e916747a0c",
                "8a26059133ec228e03026b180817a062d2045cb6ed94eaac2b20ff9742b9a156",
                "47769537f2a94dda1e72b806396a8c01af4aebaf0e024e01454eb57beea40199",
            ),
            _quick(
                "fashion-mnist",
                "7fdf893a3746ef8395d5c403d64a5b0770a3f09dad0d595341cc4145a39dedb6",
                "331027ca09ea0edbb0563cf7548d9532e18ebf6723f62bc7840db046837099a2",
                "946807b6f66e5f986d2c6439da88ad3917098846b0394245a1b29d4cb1cd1d3d",
            ),
            _quick(
                "cifar10",
                "221709fa1055cc9a06a87692f1c70df8326f3bc73144ff83732c5d295acbc21b",
                "bd991ce9fd2b744deefc6eae2ec9cb0906195a70621c9c80ef7dc5c9d933ed0a",
                "4ba051204ed11957ab09729e43a03bd19188c9e26dd538dec690300eb1ee35c0",
            ),
            _quick(
                "celeba",
                "1c28aedf33c133b4fca832faa23bdf19b4aa03c824b888e7e7e5080ea9874411",
                "182536ac31d0d3fa84461f2d793d9c7fe1875a912542cb2cc8564e74ec076480",
                "5d2c7f86fcf91e51330f9fab87ea2ca323616091083f29c3027149572207f013",
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


def file_weights_sha256(path: str | Path) -> str:
    """:func:`weights_sha256` of an autoencoder file written by the ``autoencoder`` stage."""
    return weights_sha256(load_own_autoencoder(path)[0].state_dict())


def published_for(
    dataset: str, prepared_root: str | Path, settings: tuple[int, int, int] | None = None
) -> tuple[PublishedAutoencoder | None, str]:
    """The published network that applies to this prepared data (and training settings).

    Args:
        dataset: Dataset name.
        prepared_root: Folder of prepared splits; their hashes must be the published
            network's training and test data.
        settings: ``(steps, batch_size, seed)`` of a retraining, which must be the
            published ones; None for a user of the network (``evaluate``, ``score``).

    Returns:
        The network (None when none applies) and why, in words.

    """
    ref = PUBLISHED.get(dataset)
    if ref is None:
        return None, f"no network of {dataset} is published"
    if settings is not None and tuple(settings) != (ref.steps, ref.batch_size, ref.seed):
        steps, batch_size, seed = settings
        return None, (
            f"the published {dataset} network has steps {ref.steps}, batch {ref.batch_size}, "
            f"seed {ref.seed}; these settings ({steps}, {batch_size}, {seed}) make another"
        )
    try:
        splits = load_meta(prepared_root, dataset)["splits"]
    except NotPreparedError:
        return None, f"{dataset} is not prepared under {prepared_root}"
    if (splits["train"]["sha256"], splits["test"]["sha256"]) != (ref.train_sha256, ref.test_sha256):
        return None, (
            f"the prepared {dataset} splits are not the data the published network was "
            f"trained on (train sha256:{ref.train_sha256[:12]}, test sha256:{ref.test_sha256[:12]})"
        )
    return ref, f"published network {ref.file} (weights sha256:{ref.sha256[:12]})"


def verified_path(ref: PublishedAutoencoder) -> Path:
    """The committed file of a published network, after checking its weights' hash.

    Raises:
        FileNotFoundError: If the file is missing from this checkout.
        ValueError: If its weights are not the published ones.

    """
    if not ref.path.is_file():
        raise FileNotFoundError(
            f"published {ref.dataset} autoencoder {ref.file} missing from {REPO_ROOT}: "
            "restore it with git checkout, or retrain with --no-published"
        )
    found = file_weights_sha256(ref.path)
    if found != ref.sha256:
        raise ValueError(
            f"{ref.path} has weights sha256:{found[:12]}, not the published "
            f"sha256:{ref.sha256[:12]}: restore it with git checkout"
        )
    return ref.path


def published_check(
    path: str | Path, ref: PublishedAutoencoder | None, reason: str, cpu_threads: int
) -> dict[str, Any]:
    """Compare a (re)trained autoencoder with the published one :func:`published_for` found.

    Args:
        path: The retrained network's file.
        ref: The published network that applies, or None.
        reason: :func:`published_for`'s words.
        cpu_threads: The threads it was trained with (float sums depend on them).

    Returns:
        ``{"published_sha256", "sha256", "matches_published", "published_reason"}``;
        ``matches_published`` is None when no published network applies (other settings
        or data: another network by design).

    """
    sha = file_weights_sha256(path)
    if ref is not None and cpu_threads != ref.cpu_threads:
        reason += f"; trained with {cpu_threads} threads, published with {ref.cpu_threads}"
    return {
        "published_sha256": ref.sha256 if ref else None,
        "sha256": sha,
        "matches_published": (sha == ref.sha256) if ref else None,
        "published_reason": reason,
    }
