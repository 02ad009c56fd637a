"""Score an image set from any model with every sample metric, against a dataset's reference.

IMAGES is an ``.npz`` with ``images`` ((N, H, W) or (N, H, W, C)) or a folder of PNG/JPEG
files. Prints JSON (``--out FILE`` also writes it): each metric's value with its protocol,
or why it is unavailable, and everything the leaderboard needs to rank it: ``model``
(``--model``), ``profile`` ``external``, ``protocol``, the resolution and ``T``.

To rank against the leaderboard's rows, score under the protocol they were measured with:

  --protocol NAME     the counts of profiles/NAME.yaml's evaluate section (quick: 250
                      generated images, 250 reference images; paper: 5,000 and the whole
                      test split). Without it: every image given and the whole test split
                      as reference (recorded as counts_profile "custom"). --num-samples
                      and --num-ref still override (the leaderboard then ranks you apart)

The pipeline's files are used by default: reference statistics and our feature
autoencoder under cache/<dataset>/ (the fid-stats and autoencoder stages), FID weights in
cache/weights, metric assets in cache/assets. A run expected to take over a minute says
so, with an estimate, before it starts.

Then: ``fsvae-bench leaderboard compare OUT.json`` ranks it, ``leaderboard add
--from-score OUT.json`` adds its rows.

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
FD); fewer images than a metric's count is an error.

Example:
``fsvae-bench score --dataset mnist my_samples.npz --model my_vae --T 4 --protocol quick
--resize --out results/external/mnist_my_vae.json``

"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from pipelines.commands.evaluate import add_settings_options, settings_from_args
from pipelines.options import add_dataset_argument

HELP = "score an image set (.npz or folder) under the leaderboard's protocol (JSON)"
# Inception (299x299) images per second per CPU thread: 6-14 images/s were measured on 2
# cores (README, quick profile); the estimate only decides whether to warn.
INCEPTION_IMAGES_PER_S_PER_THREAD = 5.0
WARN_AFTER_S = 60.0


def _value_range(text: str) -> str:
    from pipelines.metrics.image_input import parse_value_range

    try:
        return parse_value_range(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the command's options."""
    parser.add_argument("images", metavar="IMAGES", help=".npz (key images) or image folder")
    add_dataset_argument(parser)
    parser.add_argument("--model", help="model name in the record (default: IMAGES' file name)")
    parser.add_argument(
        "--T", dest="T", type=int, help="the model's time steps (spiking models; recorded)"
    )
    parser.add_argument(
        "--protocol", help="profile whose sample counts to use: tiny, quick, paper (see above)"
    )
    parser.add_argument("--out", help="also write the JSON record here")
    parser.add_argument("--resize", action="store_true", help="paper preprocessing (see above)")
    parser.add_argument(
        "--convert-channels", action="store_true", help="RGB <-> grayscale to the dataset's"
    )
    parser.add_argument(
        "--value-range", type=_value_range, help="range of float images: [0,1], [-1,1], [0,255]"
    )
    add_settings_options(parser, num_samples_default=None, needs=("samples",))


def protocol_settings(name: str | None) -> tuple[str, dict[str, Any]]:
    """Return the protocol's name and the sample counts of its ``evaluate`` section.

    Args:
        name: A profile (``profiles/<name>.yaml``); None: no profile (``custom``).

    Returns:
        ``(name, {"num_samples", "num_ref"})``; ``("custom", {})`` for None.

    Raises:
        ValueError: On a profile that does not exist.

    """
    if name is None:
        return "custom", {}
    from pipelines.params import load_params

    path = Path("profiles") / f"{name}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in Path("profiles").glob("*.yaml"))
        raise ValueError(f"--protocol {name}: no {path} (known: {known or 'none here'})")
    evaluate = load_params(path).get("evaluate") or {}
    return str(name), {k: evaluate.get(k) for k in ("num_samples", "num_ref")}


def estimate_seconds(settings: Any, dataset: str, prepared: str, threads: int) -> tuple[float, str]:
    """Estimate the Inception time of a CPU run (0 on a GPU) and say what it is spent on."""
    from pipelines.metrics.fid import ReferenceStats

    if str(settings.device).startswith("cuda"):
        return 0.0, ""
    from pipelines.metrics.registry import metric_spec

    metrics = [m for m in settings.metrics if metric_spec(m).uses_inception]
    images = len(metrics) * settings.num_samples
    parts = [f"{len(metrics)} Inception metric(s) x {settings.num_samples} images"]
    if "fid" in metrics:
        ref = ReferenceStats(dataset, prepared, settings.cache_dir, "test", settings.num_ref)
        if not ref.path().is_file():
            count = settings.num_ref
            try:
                from pipelines.data import load_meta

                available = load_meta(prepared, dataset)["splits"]["test"]["count"]
                count = min(count or available, available)
            except (OSError, ValueError, KeyError):
                count = count or 10000
            images += count
            parts.append(f"reference statistics of {count} test images ({ref.path()}, once)")
    rate = INCEPTION_IMAGES_PER_S_PER_THREAD * threads
    return images / rate, f"{' + '.join(parts)} at ~{rate:.0f} images/s on {threads} thread(s)"


def run(args: argparse.Namespace) -> int:
    """Read the images, score them and print (and write) the record."""
    import torch

    from pipelines.data.atomic import write_json_atomic
    from pipelines.metrics.evaluate import score_images
    from pipelines.metrics.image_input import InputOptions, load_for_scoring

    protocol, counts = protocol_settings(args.protocol)
    options = InputOptions(args.resize, args.convert_channels, args.value_range)
    given = load_for_scoring(args.images, args.dataset, options)
    for key in ("num_samples", "num_ref"):
        if getattr(args, key) is None:
            setattr(args, key, counts.get(key))
    if args.num_samples is None:
        args.num_samples = len(given.images)
    prepared = args.prepared
    args.cache_dir = args.cache_dir or str(Path("cache") / args.dataset)
    settings = settings_from_args(args, fid_weights_dir=str(Path("cache") / "weights"))
    on_model = settings.wanted("model")
    if on_model and args.metrics.strip() != "all":
        raise ValueError(f"--metrics {','.join(on_model)}: need the model (evaluate), not images")
    seconds, what = estimate_seconds(settings, args.dataset, prepared, torch.get_num_threads())
    if seconds > WARN_AFTER_S:
        print(
            f"fsvae-bench score: about {seconds / 60:.0f} min before the result: {what}",
            file=sys.stderr,
        )
    record = score_images(given.images, args.dataset, prepared, settings, given.preprocessing)
    height, width = given.images.shape[1:3]
    model = args.model or Path(args.images).stem
    header = {
        "model": model,
        "profile": "external",
        # The profile whose evaluate counts were used (the leaderboard's rows of that
        # profile were measured with them); "custom" when none was.
        "counts_profile": protocol,
        "images": args.images,
        "resolution": f"{height}x{width}",
        # measured_rows reads the resolution and T from the model config, as for evaluate.
        "config": {"image_size": int(height), "n_steps": args.T},
    }
    record = {**header, **record}
    if args.out:
        write_json_atomic(args.out, record)
    print(json.dumps(record, indent=2))
    return 0
