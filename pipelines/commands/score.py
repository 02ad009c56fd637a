"""Score an image set from any model with every sample metric, against a dataset's reference.

IMAGES is an ``.npz`` with ``images`` ((N, H, W) or (N, H, W, C)) or a folder of PNG/JPEG
files. Prints JSON: each metric's value with its protocol, or why it is unavailable.

The images are checked before any metric runs and refused with a one-line error unless
they are uint8 pixels at the dataset's model resolution and channels (MNIST and
Fashion-MNIST 32x32 grayscale, CIFAR-10 32x32 RGB, CelebA 64x64 RGB). Conversions happen
only when asked, and are recorded in every metric's ``<metric>_input_preprocessing``:

  --resize            the paper's preprocessing from the original size: PIL bilinear
                      28x28 -> 32x32 (MNIST, Fashion-MNIST); CelebA originals 218x178:
                      centre-crop 148 then resize to 64x64
  --convert-channels  RGB -> grayscale (PIL 'L', ITU-R 601-2 luma) or grayscale -> RGB
  --value-range R     float (or non-uint8) arrays: declare R = [0,1], [-1,1] or [0,255]
                      (write --value-range=-1,1 or '[-1,1]'); values are mapped to
                      [-1, 1] and quantised to uint8 like our own samples
                      ((x+1)/2*255, round half to even, clamp); NaN/inf or values outside
                      R are an error

Each metric uses the first --num-samples images (--num-afd-samples for the autoencoder
FD; default: all given); fewer images than a metric's count is an error.

Example:
``fsvae-bench score --dataset mnist results/samples/mnist_fsvae.npz --metrics fid,afd_paper``

"""

from __future__ import annotations

import argparse
import json

from pipelines.commands.evaluate import add_settings_options, settings_from_args
from pipelines.metrics.evaluate import SAMPLE_METRICS, score_images
from pipelines.metrics.image_input import InputOptions, load_for_scoring, parse_value_range
from pipelines.options import add_dataset_argument

HELP = "score an image set (.npz or folder) with every sample metric (JSON)"


def _value_range(text: str) -> str:
    try:
        return parse_value_range(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the command's options."""
    parser.add_argument("images", metavar="IMAGES", help=".npz (key images) or image folder")
    add_dataset_argument(parser)
    parser.add_argument("--resize", action="store_true", help="paper preprocessing (see above)")
    parser.add_argument(
        "--convert-channels", action="store_true", help="RGB <-> grayscale to the dataset's"
    )
    parser.add_argument(
        "--value-range", type=_value_range, help="range of float images: [0,1], [-1,1], [0,255]"
    )
    add_settings_options(parser, num_samples_default=None)
    parser.set_defaults(metrics=",".join(SAMPLE_METRICS))


def run(args: argparse.Namespace) -> int:
    """Read the images, score them and print JSON."""
    options = InputOptions(args.resize, args.convert_channels, args.value_range)
    given = load_for_scoring(args.images, args.dataset, options)
    if args.num_samples is None:
        args.num_samples = len(given.images)
    settings = settings_from_args(args)
    record = score_images(given.images, args.dataset, args.prepared, settings, given.preprocessing)
    record["images"] = args.images
    print(json.dumps(record, indent=2))
    return 0
