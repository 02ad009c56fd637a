"""Train our own feature autoencoder for the ``afd_own`` metric (a pipeline stage).

Deterministic for a seed on one device: MSE only, AdamW(1e-3), the paper's architecture
for the dataset; stores the weights with the test split's code statistics in OUT. Runs on
``runtime.device`` (``--device``): the paper profile's 36,000 steps at batch 250 belong
on the GPU.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from pipelines.metrics.autoencoder import train_autoencoder
from pipelines.options import add_dataset_argument, add_runtime_arguments, runtime_settings
from pipelines.process.device import prepare

HELP = "train the autoencoder behind the 'own' autoencoder Frechet distance"


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the command's options."""
    add_dataset_argument(parser)
    parser.add_argument("--prepared", default="prepared", help="prepared data folder")
    parser.add_argument("--out", help="output .pt (default cache/autoencoders/<dataset>.pt)")
    parser.add_argument("--steps", type=int, default=1000, help="optimizer steps")
    parser.add_argument("--batch-size", type=int, default=250, help="images per step")
    parser.add_argument("--seed", type=int, default=0, help="seed of weights and batch order")
    add_runtime_arguments(parser)


def run(args: argparse.Namespace) -> int:
    """Train and print a summary."""
    if args.steps < 1 or args.batch_size < 1:
        raise ValueError("--steps and --batch-size must be >= 1")
    device = prepare(runtime_settings(args))  # a bad device fails before any file
    out = Path(args.out or Path("cache") / "autoencoders" / f"{args.dataset}.pt")
    record = train_autoencoder(
        args.dataset, args.prepared, out, args.steps, args.batch_size, args.seed, device=device
    )
    summary = {k: v for k, v in record.items() if k not in ("test_mu", "test_sigma")}
    print(json.dumps({"out": str(out), **summary}, indent=2, default=str))
    return 0
