"""FID under pytorch-fid's protocol, with cached reference statistics.

Generated images are quantised to uint8 exactly as the real ones are stored, then
both go through the same path: uint8 / 255 -> grayscale repeated to RGB ->
pytorch-fid's ``InceptionV3`` (bilinear resize to 299, scaling to [-1, 1], 2048-d
pool features) -> float64 mean and covariance -> Fréchet distance.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from pipelines.data import load_split, to_uint8
from pipelines.data.atomic import save_npz_atomic
from pipelines.metrics.frechet import frechet_distance_to, gaussian_stats
from pipelines.metrics.inception import WeightsFile, build_fid_inception
from pipelines.metrics.protocol import prefixed, version_of

# Layout of the Inception forward pass: not pytorch-fid's NCHW, so labelled in results.
MEMORY_FORMAT = "channels_last (FID moves < 1e-6 relative vs NCHW)"


def nhwc_to_nchw(images: np.ndarray | torch.Tensor) -> torch.Tensor:
    """Return a (N, C, H, W) tensor view of (N, H, W, C) images without copying data."""
    tensor = torch.as_tensor(images)
    return tensor.permute(0, 3, 1, 2)


class InceptionFeatures:
    """Batched 2048-d pool features of pytorch-fid's InceptionV3 for uint8 images.

    Args:
        weights: FID Inception weights.
        batch_size: Images per forward pass.
        device: Torch device.
        progress: Show a tqdm bar.

    """

    def __init__(
        self, weights: WeightsFile, batch_size: int = 50, device: str = "cpu", progress: bool = True
    ) -> None:
        self.weights = weights
        self.batch_size = batch_size
        self.device = torch.device(device)
        self.progress = progress
        # Resize here, before grayscale is repeated: the same bilinear values as
        # pytorch-fid's resize inside the network, on a third of the pixels.
        self.net = build_fid_inception(weights, resize_input=False).to(self.device)
        # Channels-last: oneDNN's fastest convolution layout on the CPU (speed-up measured);
        # features move by <= 2e-5 and FID by ~1e-7 relative (docs/performance.md).
        self.net = self.net.to(memory_format=torch.channels_last)

    @torch.inference_mode()
    def __call__(self, images_uint8: torch.Tensor, desc: str = "FID features") -> np.ndarray:
        """Return features (N, 2048) float64 of uint8 images (N, C, H, W), C in {1, 3}.

        Args:
            images_uint8: Images as stored on disk.
            desc: Progress-bar label.

        Returns:
            The pool features.

        """
        if images_uint8.dtype != torch.uint8:
            raise TypeError(f"FID features take uint8 images, got {images_uint8.dtype}")
        n = images_uint8.shape[0]
        out = np.empty((n, 2048), dtype=np.float64)
        starts = range(0, n, self.batch_size)
        for start in tqdm(starts, desc=desc, disable=not self.progress, unit="batch"):
            batch = images_uint8[start : start + self.batch_size].to(self.device)
            # Same float values as pytorch-fid's ToTensor on PIL images.
            x = batch.float().div(255)
            x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
            if x.shape[1] == 1:
                x = x.expand(-1, 3, -1, -1).contiguous()
            feats = self.net(x.contiguous(memory_format=torch.channels_last))[0].flatten(1)
            out[start : start + batch.shape[0]] = feats.cpu().double().numpy()
        return out


def load_stats(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read ``mu`` and ``sigma`` from an ``.npz`` statistics file."""
    with np.load(path) as data:
        return data["mu"].astype(np.float64), data["sigma"].astype(np.float64)


class ReferenceStats:
    """Inception statistics of a dataset split, computed once and cached in a file.

    The cache file records the weights hash and image count it was made with and is
    recomputed when either differs, so a stale cache is never used.

    Args:
        dataset: Dataset name.
        prepared_root: Folder of prepared splits (``pipelines.data.load_split``).
        cache_dir: Folder holding ``fid_stats/<dataset>_<split>_<n>.npz``.
        split: Split of the reference images.
        num_ref: Use the first ``num_ref`` images of the split (None: all).

    """

    def __init__(
        self,
        dataset: str,
        prepared_root: str | Path,
        cache_dir: str | Path,
        split: str = "test",
        num_ref: int | None = None,
    ) -> None:
        self.dataset, self.prepared_root, self.split = dataset, Path(prepared_root), split
        self.num_ref = num_ref
        self.cache_dir = Path(cache_dir)

    def path(self) -> Path:
        """Return the cache file path (a pipeline output)."""
        tag = "all" if self.num_ref is None else str(self.num_ref)
        return self.cache_dir / "fid_stats" / f"{self.dataset}_{self.split}_{tag}.npz"

    def get(self, features: InceptionFeatures) -> tuple[np.ndarray, np.ndarray, int]:
        """Return ``(mu, sigma, n)``, computing and caching them if needed.

        Args:
            features: The feature extractor (its weights hash keys the cache).

        Returns:
            Mean, covariance and number of reference images.

        """
        path = self.path()
        if path.is_file():
            with np.load(path) as data:
                meta = json.loads(str(data["meta"]))
                if meta.get("weights_sha256") == features.weights.sha256:
                    return data["mu"], data["sigma"], int(meta["num_images"])
        images = load_split(self.prepared_root, self.dataset, self.split)
        if self.num_ref is not None:
            images = images[: self.num_ref]
        feats = features(nhwc_to_nchw(images), desc=f"FID reference {self.dataset}/{self.split}")
        mu, sigma = gaussian_stats(feats)
        meta = {
            "dataset": self.dataset,
            "split": self.split,
            "num_images": int(len(images)),
            "weights_sha256": features.weights.sha256,
            "pytorch_fid": version_of("pytorch-fid"),
            "memory_format": MEMORY_FORMAT,
        }
        save_npz_atomic(path, mu=mu, sigma=sigma, meta=json.dumps(meta))
        return mu, sigma, len(images)


class FID:
    """FID of generated images against a dataset split, pytorch-fid protocol.

    Args:
        features: Feature extractor with the FID weights.
        reference: Reference statistics of the real split.

    """

    name = "fid"

    def __init__(self, features: InceptionFeatures, reference: ReferenceStats) -> None:
        self.features = features
        self.reference = reference

    def __call__(self, images: torch.Tensor) -> dict[str, Any]:
        """Score images in [-1, 1] (N, C, H, W); they are quantised to uint8 first.

        Args:
            images: Generated images (floats in [-1, 1], or exact uint8 levels).

        Returns:
            Flat dict: ``fid`` and its protocol fields.

        """
        mu_r, sigma_r, n_ref = self.reference.get(self.features)
        feats = self.features(to_uint8(images), desc="FID generated")
        fields = {
            "": frechet_distance_to(feats, mu_r, sigma_r),
            "protocol": "pytorch-fid",
            "library": f"pytorch-fid {version_of('pytorch-fid')}",
            "network": "pytorch-fid InceptionV3, FID weights (TF 2015-12-05), pool3 2048-d",
            **self.features.weights.protocol(),
            "num_gen": int(images.shape[0]),
            "num_ref": n_ref,
            "ref_split": f"{self.reference.dataset}/{self.reference.split}",
            "ref_stats": str(self.reference.path()),
            "quantisation": "generated images rounded and clamped to uint8, like the real ones",
            "resize": "bilinear to 299x299 inside pytorch-fid (F.interpolate, align_corners=False)",
            "grayscale": "repeated to 3 channels",
            "memory_format": MEMORY_FORMAT,
            "distance": "Frechet, float64",
        }
        return prefixed(self.name, fields)
