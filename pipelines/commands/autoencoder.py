"""Train our own feature autoencoder for the ``afd_own`` metric (a pipeline stage).

Deterministic for a seed, device and thread count (``runtime.device``,
``runtime.cpu_threads`` in params.yaml): MSE only, AdamW(1e-3), the paper's architecture for
the dataset; stores the weights with the test split's code statistics in OUT. The paper
profile's 36,000 steps at batch 250 belong on the GPU (``--device``).

``afd_own`` values compare only when computed with the same network (its weights' sha256
is in their protocol fields), so one network per dataset is published and shared
(``assets/feature-autoencoders/``, docs/metrics.md). When the settings (steps, batch size,
seed) and the prepared data are the published network's, OUT receives the published
network and the retrained one is only compared with it (``matches_published``; a mismatch
is reported on stderr, with the likely cause). Otherwise, or with ``--no-published``,
OUT is the retrained network. ``--record`` writes the comparison as JSON.
"""

from __future__ import annotations

import argparse
import json
import shutil
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
    parser.add_argument(
        "--published",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="OUT gets the published network when one applies to these settings and data "
        "(default); --no-published: OUT is always the retrained one",
    )
    parser.add_argument("--record", help="also write the summary JSON here (the stage's record)")
    add_runtime_arguments(parser)


def run(args: argparse.Namespace) -> int:
    """Retrain, compare with the published network, place the network afd_own uses."""
    if args.steps < 1 or args.batch_size < 1:
        raise ValueError("--steps and --batch-size must be >= 1")
    device = prepare(runtime_settings(args))  # a bad device fails before any file
    out = Path(args.out or Path("cache") / args.dataset / "autoencoders" / f"{args.dataset}.pt")
    import torch

    from pipelines.data.atomic import atomic_target, write_json_atomic
    from pipelines.metrics.autoencoder import train_autoencoder
    from pipelines.metrics.autoencoder_identity import (
        published_check,
        published_for,
        verified_path,
    )

    settings = (args.steps, args.batch_size, args.seed)
    ref, reason = published_for(args.dataset, args.prepared, settings)
    use = ref if args.published else None
    source = verified_path(use) if use else None  # a damaged asset fails before training
    threads = torch.get_num_threads()
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_target(out) as tmp:
        record = train_autoencoder(
            args.dataset, args.prepared, tmp, args.steps, args.batch_size, args.seed,
            device=device,
        )  # fmt: skip
        check = published_check(tmp, ref, reason, threads)
        if source is not None:
            shutil.copyfile(source, tmp)
    summary = {k: v for k, v in record.items() if k not in ("test_mu", "test_sigma")}
    summary = {
        "out": str(out),
        "network": "published" if source is not None else "retrained",
        "out_sha256": check["published_sha256"] if source is not None else check["sha256"],
        **summary,
        "cpu_threads": threads,
        "retrained_sha256": check.pop("sha256"),
        **check,
    }
    if args.record:
        write_json_atomic(args.record, summary, sort_keys=True)
    print(json.dumps(summary, indent=2))
    if check["matches_published"] is False:
        print(
            f"fsvae-bench autoencoder: the retrained {args.dataset} network has "
            f"sha256:{summary['retrained_sha256'][:12]}, not the published "
            f"sha256:{check['published_sha256'][:12]} (the weights depend on the order of "
            f"float sums: {threads} threads here, {ref.cpu_threads if ref else '?'} for the "
            "published one; else another torch version or CPU kind); "
            + (
                f"{out} holds the published network, so afd_own still compares"
                if source is not None
                else f"{out} holds the retrained one: its afd_own values are ranked apart"
            ),
            file=sys.stderr,
        )
    return 0
