"""A toy metric: the mean pixel value of generated images (docs/adding-a-metric.md).

It measures nothing a paper reports; it shows the two pieces every metric has, the
computation and its one declaration, and the test of that page runs it end to end.
"""

from __future__ import annotations

from typing import Any

import torch

from pipelines.metrics.registry import MetricContext, MetricSpec, Variant


class MeanBrightness:
    """Mean pixel value in [0, 1] of the images, with the protocol fields it was made under."""

    name = "mean_brightness"

    def __call__(self, images: torch.Tensor) -> dict[str, Any]:
        value = float(((images.float() + 1) / 2).mean())
        return {self.name: value, f"{self.name}_num_gen": int(images.shape[0])}


def build(context: MetricContext) -> MeanBrightness:
    """Make the metric (it needs nothing from the context: no network, no files)."""
    return MeanBrightness()


SPEC = MetricSpec(
    "mean_brightness",
    needs="samples",
    build=build,
    help="mean pixel value of the samples (toy example, no files)",
    variant=Variant(
        "mean_brightness",
        metric="FID",  # the Table 1 column it fills, beside the paper protocol's value
        protocol="mean-brightness",
        network="none",
        label="mean brightness (toy)",
        reference="none",
    ),
)
