"""Train our own feature autoencoder for the ``afd_own`` metric (a pipeline stage).

Deterministic for a seed, device and thread count (``runtime.device``,
``runtime.cpu_threads`` in params.yaml): MSE only, AdamW(1e-3), the paper's architecture for
the dataset; stores the weights with the test split's code statistics in OUT. The paper
profile's 36,000 steps at batch 250 belong on the GPU (``--device``).

``afd_own`` values are compared only when computed with the same network (its sha256 is in
their protocol fields). The committed results used the quick profile's networks (100
steps, batch 128, seed 0, 2 threads); with those settings the summary says whether this run
reproduced the published hash (``matches_published``) and a mismatch is reported on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pipelines.options import add_dataset_argument, add_runtime_arguments, runtime_settings
from pipelines.process.device import prepare

HELP = "train the autoencoder behind the 'own' autoencoder Frechet distance"


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the command's options."""
    add_dataset_argument(parser)
    parser.add_argument("--prepared", default="prepared", help="prepared data folder")
    parser.add_argument(
        "--out",
        help="output .pt (default cache/<dataset>/autoencoders/<dataset>.pt, the pipeline's)",
    )
    parser.add_argument("--steps", type=int, default=1000, help="optimizer steps")
    parser.add_argument("--batch-size", type=int, default=250, help="images per step")
    parser.add_argument("--seed", type=int, default=0, help="seed of weights and batch order")
    add_runtime_arguments(parser)


def run(args: argparse.Namespace) -> int:
    """Train and print a summary."""
    if args.steps < 1 or args.batch_size < 1:
        raise ValueError("--steps and --batch-size must be >= 1")
    device = prepare(runtime_settings(args))  # a bad device fails before any file
    out = Path(args.out or Path("cache") / args.dataset / "autoencoders" / f"{args.dataset}.pt")
    import torch

    from pipelines.metrics.autoencoder import train_autoencoder
    from pipelines.metrics.autoencoder_identity import published_check

    record = train_autoencoder(
        args.dataset, args.prepared, out, args.steps, args.batch_size, args.seed, device=device
    )
    threads = torch.get_num_threads()
    check = published_check(args.dataset, out, args.steps, args.batch_size, args.seed, threads)
    summary = {k: v for k, v in record.items() if k not in ("test_mu", "test_sigma")}
    print(json.dumps({"out": str(out), **summary, "cpu_threads": threads, **check}, indent=2))
    if check["matches_published"] is False:
        print(
            f"fsvae-bench autoencoder: {out} has sha256:{check['sha256'][:12]}, not the "
            f"published sha256:{check['published_sha256'][:12]} of {args.dataset}: its afd_own "
            "values are not ranked with the committed rows (another torch version, CPU kind "
            "or prepared data)",
            file=sys.stderr,
        )
    return 0
