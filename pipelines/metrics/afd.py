"""Autoencoder Fréchet distance (the reference's "FAD"), in two labelled variants.

``paper``: the authors' published autoencoder and test statistics, BatchNorm in
training mode over batches of 256 as their never-``eval()``-ed code ran it, generated
images fed as floats in [-1, 1] (paper: 5,120 samples). ``own``: our autoencoder
trained as a pipeline stage (:func:`pipelines.metrics.autoencoder.train_autoencoder`),
eval mode, generated images quantised to uint8 like the real test images.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from pipelines.data import to_model_range, to_uint8
from pipelines.metrics.assets import get_asset
from pipelines.metrics.autoencoder import encode_batches, load_own_autoencoder, paper_autoencoder
from pipelines.metrics.autoencoder_identity import weights_sha256
from pipelines.metrics.fetch import AssetStore
from pipelines.metrics.fid import load_stats
from pipelines.metrics.frechet import frechet_distance_to
from pipelines.metrics.protocol import (
    MetricUnavailable,
    prefixed,
    sha256_file,
    version_of,
)

PAPER_BATCH = 256


class AutoencoderFD:
    """Fréchet distance of autoencoder codes between generated and real test images.

    Args:
        dataset: Dataset name.
        variant: ``paper`` or ``own``.
        store: Asset store holding the authors' autoencoder and statistics (paper; default
            ``cache/assets`` with ``$FSVAE_ASSET_MIRROR`` / ``$FSVAE_ASSET_URL``).
        paper_weights: Explicit authors' weights file (checked against the manifest).
        own_path: Our trained autoencoder file (own).
        batch_size: Images per batch (paper: 256; it sets the BN statistics there).

    """

    def __init__(
        self,
        dataset: str,
        variant: str = "paper",
        store: AssetStore | None = None,
        paper_weights: str | Path | None = None,
        own_path: str | Path | None = None,
        batch_size: int = PAPER_BATCH,
    ) -> None:
        self.variant, self.batch_size = variant, batch_size
        if variant == "paper":
            self.name = "afd_paper"
            store = store or AssetStore.configure()
            w_asset, s_asset = get_asset(f"ae_weights/{dataset}"), get_asset(f"ae_stats/{dataset}")
            self.weights_path = (
                w_asset.check_given(paper_weights, f"{w_asset.name} file")
                if paper_weights
                else store.path(w_asset)
            )
            self.stats_path = store.path(s_asset)
            self.ae = paper_autoencoder(dataset)
            state = torch.load(self.weights_path, map_location="cpu", weights_only=True)
            self.ae.load_state_dict(state, strict=True)
            self.mu_r, self.sigma_r = load_stats(self.stats_path)
            self.ref = f"authors' {s_asset.rel} (git blob {s_asset.digest})"
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
            # The authors' file is a published asset (its file hash); ours is identified by
            # its weights, whatever machine wrote the file.
            "weights_sha256": (
                sha256_file(self.weights_path) if paper else weights_sha256(self.ae.state_dict())
            ),
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
