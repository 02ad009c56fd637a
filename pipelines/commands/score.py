"""Score an image set from any model with every sample metric, against a dataset's reference.

IMAGES is an ``.npz`` with ``images`` (uint8, (N, H, W[, C])) or a folder of PNG/JPEG
files. Prints JSON: each metric's value with its protocol, or why it is unavailable.
Images should be at the dataset's model resolution (32x32, CelebA 64x64) for the
autoencoder distance; FID and IS resize internally.

Example:
``fsvae-bench score --dataset mnist results/samples/mnist_fsvae.npz --metrics fid,afd_paper``

"""

from __future__ import annotations

import argparse
import json

from pipelines.commands.evaluate import add_settings_options, settings_from_args
from pipelines.data import load_image_set
from pipelines.metrics.evaluate import SAMPLE_METRICS, score_images

HELP = "score an image set (.npz or folder) with every sample metric (JSON)"


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the command's options."""
    parser.add_argument("images", metavar="IMAGES", help=".npz (key images) or image folder")
    parser.add_argument("--dataset", required=True, help="mnist, fashion-mnist, cifar10, celeba")
    add_settings_options(parser, num_samples_default=None)
    parser.set_defaults(metrics=",".join(SAMPLE_METRICS))


def run(args: argparse.Namespace) -> int:
    """Read the images, score them and print JSON."""
    images = load_image_set(args.images)
    if args.num_samples is None:
        args.num_samples = len(images)
    record = score_images(images, args.dataset, args.prepared, settings_from_args(args))
    record["images"] = args.images
    print(json.dumps(record, indent=2))
    return 0
