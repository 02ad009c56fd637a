"""Paper-protocol FID: what the reference ran (clean-fid ``clean`` mode), always labelled.

The reference called ``cleanfid.fid.compute_fid(gen=..., mode="clean")`` against its
own statistics ``metrics/stats_fid/<name>_clean_custom_na.npz``. Here: generated
images in [-1, 1] are mapped to [0, 255] floats (not rounded), grayscale repeated to
RGB, each image resized per channel with clean-fid's own PIL bicubic float resizer to
299x299 (one image at a time, as clean-fid defines it), scaled ``(x - 128) / 128`` as
clean-fid's TorchScript wrapper does, and fed to the FID Inception network. The
statistics come from the asset cache (``fsvae-bench assets``); without them the
metric is unavailable.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from cleanfid.resize import make_resizer
from tqdm import tqdm

from pipelines.metrics.assets import get_asset
from pipelines.metrics.fetch import AssetStore
from pipelines.metrics.fid import load_stats
from pipelines.metrics.frechet import frechet_distance_to
from pipelines.metrics.inception import WeightsFile, build_fid_inception
from pipelines.metrics.protocol import git_blob_id, prefixed, version_of


def find_paper_fid_stats(
    dataset: str, stats: str | Path | None, store: AssetStore | None = None
) -> Path:
    """Return the verified paper statistics file for a dataset.

    Args:
        dataset: Dataset name.
        stats: The ``.npz`` file itself or a folder holding it under its original name
            (None: the asset cache, see :mod:`pipelines.metrics.fetch`).
        store: Asset store (default ``cache/assets`` with the environment's sources).

    Returns:
        The file, after checking its git blob id against the manifest.

    Raises:
        MetricUnavailable: If it cannot be had, or is not the published file.

    """
    asset = get_asset(f"fid_stats/{dataset}")
    if stats is None:
        return (store or AssetStore.configure()).path(asset)
    path = Path(stats)
    return asset.check_given(
        path / asset.filename if path.is_dir() else path, "paper FID statistics"
    )


class CleanFIDPaper:
    """FID as the reference computed it (clean-fid ``clean`` mode, authors' statistics).

    Args:
        dataset: Dataset name (selects the statistics file).
        stats: Statistics file or folder (see :func:`find_paper_fid_stats`); None: the
            asset cache.
        weights: FID Inception weights (same network as clean-fid's TorchScript).
        batch_size: Images per network pass.
        device: Torch device.
        progress: Show a tqdm bar.
        store: Asset store for the statistics (default ``cache/assets``).

    """

    name = "fid_paper"

    def __init__(
        self,
        dataset: str,
        stats: str | Path | None,
        weights: WeightsFile,
        batch_size: int = 50,
        device: str = "cpu",
        progress: bool = True,
        store: AssetStore | None = None,
    ) -> None:
        self.asset = get_asset(f"fid_stats/{dataset}")
        self.stats_path = find_paper_fid_stats(dataset, stats, store)
        self.weights = weights
        self.batch_size = batch_size
        self.device = torch.device(device)
        self.progress = progress
        self.net = build_fid_inception(weights, resize_input=False, normalize_input=False)
        self.net.to(self.device)
        self.resize = make_resizer("PIL", False, "bicubic", (299, 299))

    def _resized(self, batch: torch.Tensor) -> torch.Tensor:
        # [-1, 1] -> [0, 255] float as the reference's generator callback did; no rounding.
        x = (batch.detach().float().cpu() + 1) * 127.5
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        hwc = x.permute(0, 2, 3, 1).numpy()
        # clean-fid resizes one image (and one channel) at a time by definition.
        out = np.stack([self.resize(img) for img in hwc])
        return torch.from_numpy(out).permute(0, 3, 1, 2)

    @torch.inference_mode()
    def features(self, images: torch.Tensor) -> np.ndarray:
        """Return (N, 2048) float64 features of images in [-1, 1] (N, C, H, W)."""
        n = images.shape[0]
        out = np.empty((n, 2048), dtype=np.float64)
        starts = range(0, n, self.batch_size)
        for start in tqdm(starts, desc="FID (clean-fid) features", disable=not self.progress):
            x = self._resized(images[start : start + self.batch_size]).to(self.device)
            feats = self.net((x - 128) / 128)[0].flatten(1)
            out[start : start + x.shape[0]] = feats.cpu().double().numpy()
        return out

    def __call__(self, images: torch.Tensor) -> dict[str, Any]:
        """Score generated images in [-1, 1] against the authors' statistics.

        Args:
            images: Generated images (N, C, H, W); the paper used 5,000.

        Returns:
            Flat dict: ``fid_paper`` and its protocol fields.

        """
        mu_r, sigma_r = load_stats(self.stats_path)
        fields = {
            "": frechet_distance_to(self.features(images), mu_r, sigma_r),
            "protocol": "paper (clean-fid clean mode, authors' statistics)",
            "library": f"clean-fid {version_of('clean-fid')} resizer; network run here",
            "network": "FID Inception (TF 2015-12-05), pytorch-fid InceptionV3, input (x-128)/128",
            **self.weights.protocol(),
            "num_gen": int(images.shape[0]),
            "ref_stats": f"authors' {self.asset.rel}",
            "ref_stats_blob": git_blob_id(self.stats_path),
            "quantisation": "none: generated images mapped to [0, 255] floats, not rounded",
            "resize": "clean-fid make_resizer('PIL', False, 'bicubic', (299, 299)), per channel",
            "grayscale": "repeated to 3 channels",
            "distance": "Frechet, float64",
        }
        return prefixed(self.name, fields)
