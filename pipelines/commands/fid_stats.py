"""Compute the FID reference statistics of a dataset's test split once (a pipeline stage).

Writes CACHE_DIR/fid_stats/<dataset>_test_<n|all>.npz (mean, covariance, the weights
hash and image count), which ``evaluate`` and ``score`` then reuse.
"""

from __future__ import annotations

import argparse
import json

from pipelines.metrics.fid import InceptionFeatures, ReferenceStats
from pipelines.metrics.inception import resolve_fid_weights
from pipelines.metrics.protocol import MetricUnavailable
from pipelines.options import add_dataset_argument, add_runtime_arguments, runtime_settings
from pipelines.process.device import prepare

HELP = "cache the FID reference statistics of a dataset's test split"


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the command's options."""
    add_dataset_argument(parser)
    parser.add_argument("--prepared", default="prepared", help="prepared data folder")
    parser.add_argument("--cache-dir", default="cache", help="statistics cache folder")
    parser.add_argument("--num-ref", type=int, help="use the first N test images (default all)")
    parser.add_argument("--fid-weights", help="FID Inception weights file")
    parser.add_argument("--batch-size", type=int, default=50, help="images per Inception pass")
    add_runtime_arguments(parser)
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def run(args: argparse.Namespace) -> int:
    """Compute (or reuse) the statistics and print where they are."""
    device = prepare(runtime_settings(args))  # a bad device fails before any file
    stats = ReferenceStats(args.dataset, args.prepared, args.cache_dir, "test", args.num_ref)
    stats.path().parent.mkdir(parents=True, exist_ok=True)
    try:
        weights = resolve_fid_weights(args.fid_weights)
    except MetricUnavailable as err:
        # No network, no FID: leave a marker so the stage's output exists and the
        # evaluate stage records the FID as unavailable with this reason.
        stats.path().with_suffix(".unavailable.txt").write_text(str(err) + "\n")
        print(json.dumps({"fid_stats": None, "unavailable": str(err)}))
        return 0
    features = InceptionFeatures(weights, args.batch_size, device, not args.no_progress)
    _, _, n = stats.get(features)
    print(json.dumps({"fid_stats": str(stats.path()), "num_images": n}))
    return 0
