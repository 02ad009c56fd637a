"""Inception Score with torchvision's ImageNet Inception v3, in two labelled variants.

``standard``: uint8 images / 255, bilinear resize to 299, ImageNet mean/std
normalisation, ``transform_input=True`` (torchvision's own recipe for these weights).
``paper``: the reference's input quirk (docs/reference.md §9.2 item 1): [0, 255] floats, no
normalisation, ``transform_input=False``, ``nn.Upsample`` bilinear to 299; comparable
only with numbers made the same way. Both need torchvision's ImageNet weights, which
are not on PyPI: offline the metric is unavailable unless a file is given.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from tqdm import tqdm

from pipelines.data import to_uint8
from pipelines.metrics.inception import WeightsFile
from pipelines.metrics.protocol import prefixed, version_of

_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)
VARIANTS = ("standard", "paper")


def inception_score(probs: np.ndarray, splits: int = 10) -> tuple[float, float]:
    """Return mean and std over splits of ``exp(E_x KL(p(y|x) || p(y)))``.

    Args:
        probs: Class probabilities (N, K), rows summing to 1.
        splits: Number of equal consecutive chunks (the last takes the remainder).

    Returns:
        ``(mean, std)`` of the per-split scores.

    """
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim != 2 or probs.shape[0] < splits:
        raise ValueError(f"need (N >= splits, K) probabilities, got {probs.shape}")
    scores = []
    for part in np.array_split(probs, splits):
        p_y = part.mean(axis=0, keepdims=True)
        # 0 * log 0 = 0: a class the image never predicts contributes nothing.
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(part > 0, part * (np.log(part) - np.log(p_y)), 0.0)
        scores.append(np.exp(terms.sum(axis=1).mean()))
    return float(np.mean(scores)), float(np.std(scores))


def build_is_inception(weights: WeightsFile, transform_input: bool) -> torch.nn.Module:
    """Build torchvision's ``inception_v3`` and load ImageNet weights from a file (strict).

    Args:
        weights: The file ``inception_v3_google-0cc3c7bd.pth`` (or a copy).
        transform_input: torchvision's flag (True for its standard recipe).

    Returns:
        The network in eval mode.

    """
    net = torchvision.models.inception_v3(
        weights=None, aux_logits=True, init_weights=False, transform_input=transform_input
    )
    state = torch.load(weights.path, map_location="cpu", weights_only=True)
    net.load_state_dict(state, strict=True)
    return net.eval()


class InceptionScore:
    """Inception Score of generated images.

    Args:
        weights: torchvision ImageNet Inception v3 weights.
        variant: ``standard`` or ``paper``.
        splits: Number of splits (10).
        batch_size: Images per forward pass.
        device: Torch device.
        progress: Show a tqdm bar.
        net: Optional network to use instead (tests use a small fake classifier).

    """

    def __init__(
        self,
        weights: WeightsFile | None,
        variant: str = "standard",
        splits: int = 10,
        batch_size: int = 50,
        device: str = "cpu",
        progress: bool = True,
        net: torch.nn.Module | None = None,
    ) -> None:
        if variant not in VARIANTS:
            raise ValueError(f"unknown IS variant {variant!r}; expected one of {VARIANTS}")
        self.name = "is" if variant == "standard" else "is_paper"
        self.variant, self.splits, self.batch_size = variant, splits, batch_size
        self.weights, self.progress = weights, progress
        self.device = torch.device(device)
        if net is None:
            if weights is None:
                raise ValueError("InceptionScore needs weights or a network")
            net = build_is_inception(weights, transform_input=variant == "standard")
        self.net = net.to(self.device).eval()

    def _prepare(self, batch: torch.Tensor) -> torch.Tensor:
        if self.variant == "standard":
            x = to_uint8(batch).float().div(255)
            if x.shape[1] == 1:
                x = x.expand(-1, 3, -1, -1)
            x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
            mean = torch.tensor(_IMAGENET_MEAN, device=x.device).view(1, 3, 1, 1)
            std = torch.tensor(_IMAGENET_STD, device=x.device).view(1, 3, 1, 1)
            return (x - mean) / std
        x = (batch.float() + 1) * 127.5
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        return F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)

    @torch.inference_mode()
    def probabilities(self, images: torch.Tensor) -> np.ndarray:
        """Return softmax class probabilities (N, K) of images in [-1, 1] (N, C, H, W)."""
        chunks = []
        starts = range(0, images.shape[0], self.batch_size)
        for start in tqdm(starts, desc=f"IS ({self.variant})", disable=not self.progress):
            x = self._prepare(images[start : start + self.batch_size].to(self.device))
            chunks.append(F.softmax(self.net(x).double(), dim=1).cpu().numpy())
        return np.concatenate(chunks)

    def __call__(self, images: torch.Tensor) -> dict[str, Any]:
        """Score generated images in [-1, 1].

        Args:
            images: Images (N, C, H, W), N >= splits.

        Returns:
            Flat dict: the score, its std over splits and the protocol fields.

        """
        mean, std = inception_score(self.probabilities(images), self.splits)
        if self.variant == "standard":
            prep = "uint8 / 255, bilinear 299, ImageNet mean/std, transform_input=True"
        else:
            prep = "[0, 255] floats un-normalised, bilinear 299, transform_input=False (quirk)"
        fields: dict[str, Any] = {
            "": mean,
            "std": std,
            "protocol": self.variant,
            "library": f"torchvision {version_of('torchvision')} inception_v3",
            "num_gen": int(images.shape[0]),
            "splits": self.splits,
            "preprocessing": prep,
        }
        if self.weights is not None:
            fields.update(self.weights.protocol())
        return prefixed(self.name, fields)
