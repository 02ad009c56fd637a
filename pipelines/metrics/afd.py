"""Autoencoder Fréchet distance (the reference's "FAD"), in two labelled variants.

``paper``: the authors' published autoencoder and test statistics, BatchNorm in
training mode over batches of 256 as their never-``eval()``-ed code ran it, generated
images fed as floats in [-1, 1] (paper: 5,120 samples). ``own``: our autoencoder
trained as a pipeline stage (:func:`pipelines.metrics.autoencoder.train_autoencoder`),
eval mode, generated images quantised to uint8 like the real test images.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from pipelines.data import to_model_range, to_uint8
from pipelines.metrics.autoencoder import encode_batches, load_own_autoencoder, paper_autoencoder
from pipelines.metrics.fid import load_stats
from pipelines.metrics.frechet import frechet_distance_to
from pipelines.metrics.protocol import (
    MetricUnavailable,
    git_blob_id,
    prefixed,
    sha256_file,
    version_of,
)

PAPER_DIR_ENV = "FSVAE_PAPER_METRICS"
REPO_URL = (
    "https://github.com/kamata1729/FullySpikingVAE/raw/"
    "ffadb3d4bf4fe02927acb241ac11e6ad693c22dc/metrics/"
)
# (weights file, its git blob id, statistics file, its git blob id): reference MANIFEST.
PAPER_FILES: dict[str, tuple[str, str, str, str]] = {
    "mnist": (
        "stat_checkpoints/mnist_64.pth",
        "1ad0d7d291a49b828034925276cb3c6aa47033c1",
        "stats/mnist_test_64.npz",
        "25720d205d2f8f224ca2860b646a185ca8690cd2",
    ),
    "fashion-mnist": (
        "stat_checkpoints/fashion_64.pth",
        "4b69707d7cedcc0f62a267503e55fe04f02a03ce",
        "stats/fashion_test_64.npz",
        "f01247b955d7cd5a6338fd2bdc5691e0379b69ac",
    ),
    "cifar10": (
        "stat_checkpoints/cifar10_128.pth",
        "00f515b370ebac702e11c8f289fab3a7babd4263",
        "stats/cifar10_test_128.npz",
        "6ff4b1bf9fa65e843bc9aebcad5be66ddc1488e6",
    ),
    "celeba": (
        "stat_checkpoints/celeba_128.pth",
        "299d348a8662798852d8eb463e9a879e24816115",
        "stats/celeba_test_128.npz",
        "845e52d45f61298d7aa1b853fa0f356648a71608",
    ),
}
PAPER_BATCH = 256


def default_paper_dir() -> Path | None:
    """Return ``$FSVAE_PAPER_METRICS`` or the shared reference copy next to the repository."""
    if os.environ.get(PAPER_DIR_ENV):
        return Path(os.environ[PAPER_DIR_ENV])
    shared = Path(__file__).resolve().parents[3] / "shared" / "reference" / "fsvae-paper"
    return shared if shared.is_dir() else None


def _verified(folder: Path | None, rel: str, blob: str, given: str | Path | None) -> Path:
    path = Path(given) if given else (folder / rel if folder else None)
    if path is None or not path.is_file():
        raise MetricUnavailable(
            f"the authors' {rel} is not here ({path}); download {REPO_URL}{rel} "
            f"(git blob {blob}) and pass it or put it under ${PAPER_DIR_ENV}/{rel}"
        )
    found = git_blob_id(path)
    if found != blob:
        raise MetricUnavailable(f"{path} has git blob id {found}, the published file has {blob}")
    return path


class AutoencoderFD:
    """Fréchet distance of autoencoder codes between generated and real test images.

    Args:
        dataset: Dataset name.
        variant: ``paper`` or ``own``.
        paper_dir: Folder with the authors' ``stat_checkpoints/`` and ``stats/`` (paper).
        paper_weights: Explicit authors' weights file (e.g. a downloaded ``cifar10_128.pth``).
        own_path: Our trained autoencoder file (own).
        batch_size: Images per batch (paper: 256; it sets the BN statistics there).

    """

    def __init__(
        self,
        dataset: str,
        variant: str = "paper",
        paper_dir: str | Path | None = None,
        paper_weights: str | Path | None = None,
        own_path: str | Path | None = None,
        batch_size: int = PAPER_BATCH,
    ) -> None:
        self.variant, self.batch_size = variant, batch_size
        if variant == "paper":
            self.name = "afd_paper"
            folder = Path(paper_dir) if paper_dir else default_paper_dir()
            w_rel, w_blob, s_rel, s_blob = PAPER_FILES[dataset]
            self.weights_path = _verified(folder, w_rel, w_blob, paper_weights)
            self.stats_path = _verified(folder, s_rel, s_blob, None)
            self.ae = paper_autoencoder(dataset)
            state = torch.load(self.weights_path, map_location="cpu", weights_only=True)
            self.ae.load_state_dict(state, strict=True)
            self.mu_r, self.sigma_r = load_stats(self.stats_path)
            self.ref = f"authors' {s_rel} (blob {s_blob})"
            self.num_ref: int | str = "10000 per the reference code (not stored in the file)"
        elif variant == "own":
            self.name = "afd_own"
            if own_path is None or not Path(own_path).is_file():
                raise MetricUnavailable(
                    f"own autoencoder {own_path} not found: run the autoencoder stage first"
                )
            self.weights_path = Path(own_path)
            self.ae, record = load_own_autoencoder(own_path)
            self.mu_r, self.sigma_r = record["test_mu"], record["test_sigma"]
            self.ref = f"{dataset}/test codes stored in {own_path}"
            self.num_ref = int(record["test_count"])
        else:
            raise ValueError(f"unknown AFD variant {variant!r}; expected paper or own")

    def features(self, images: torch.Tensor) -> Any:
        """Return codes (N, latent) float64 of images in [-1, 1] under this variant's protocol."""
        if self.variant == "paper":
            return encode_batches(self.ae, images, self.batch_size, train_mode_bn=True)
        quantised = to_model_range(to_uint8(images))
        return encode_batches(self.ae, quantised, self.batch_size, train_mode_bn=False)

    def __call__(self, images: torch.Tensor) -> dict[str, Any]:
        """Score generated images in [-1, 1] (N, C, H, W) at model resolution.

        Args:
            images: Generated images.

        Returns:
            Flat dict: the distance and its protocol fields.

        """
        paper = self.variant == "paper"
        fields = {
            "": frechet_distance_to(self.features(images), self.mu_r, self.sigma_r),
            "protocol": self.variant,
            "library": f"torch {version_of('torch')}, scipy {version_of('scipy')}",
            "network": f"autoencoder {self.ae.config}",
            "weights_sha256": sha256_file(self.weights_path),
            "num_gen": int(images.shape[0]),
            "num_ref": self.num_ref,
            "ref_stats": self.ref,
            "batchnorm": (
                f"train mode, per-batch statistics, batches of {self.batch_size} (reference quirk)"
                if paper
                else "eval mode (running statistics)"
            ),
            "quantisation": "none (floats)" if paper else "uint8 like the real images",
            "resize": "none (model resolution)",
            "distance": "Frechet, float64",
        }
        return prefixed(self.name, fields)
