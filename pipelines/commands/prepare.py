"""Preprocess a dataset once into uint8 arrays at model resolution.

Writes ``<out>/<dataset>/train.npz``, ``test.npz`` and ``meta.json``. Raw files come
from ``--data-root`` (torchvision layout), else the offline mirror (``--mirror`` or
``$FSVAE_DATA_MIRROR``, copied into the data root and checksum-verified), else a
torchvision download unless ``--no-download``.

``--record DIR`` also writes the data's provenance to ``DIR/<dataset>.json``; the pipeline
writes ``results/data/`` (committed), which ``tables`` and ``leaderboard`` read. Rerunning
writes the same bytes (the origin names the configured source).

Example: ``fsvae-bench prepare --dataset mnist --mirror /path/to/mirror --train-limit 1000``
"""

from __future__ import annotations

import argparse
import json

from pipelines.data import DATASETS, load_meta, prepare_dataset
from pipelines.data.prepare import write_provenance
from pipelines.params import load_params

HELP = "download or copy a dataset and write its preprocessed uint8 arrays"


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the command's options."""
    parser.add_argument("--dataset", required=True, choices=DATASETS)
    parser.add_argument(
        "--params",
        help="read data.root, data.prepared, data.mirror and data.download from this params "
        "file (flags still win)",
    )
    parser.add_argument("--data-root", help="raw files folder (default: data)")
    parser.add_argument("--out", help="output folder (default: prepared)")
    parser.add_argument(
        "--mirror", default=None, help="offline mirror folder (default: $FSVAE_DATA_MIRROR)"
    )
    parser.add_argument(
        "--no-download",
        action="store_true",
        default=None,
        help="never download; fail with instructions",
    )
    parser.add_argument(
        "--train-limit", type=int, default=None, metavar="N", help="keep the first N train images"
    )
    parser.add_argument(
        "--test-limit", type=int, default=None, metavar="N", help="keep the first N test images"
    )
    parser.add_argument(
        "--custom", default=None, metavar="PATH", help="use your own .npz or image folder instead"
    )
    parser.add_argument("--force", action="store_true", help="rewrite even if up to date")
    parser.add_argument(
        "--record",
        metavar="DIR",
        help="also write the provenance record DIR/<dataset>.json (the pipeline: results/data)",
    )


def run(args: argparse.Namespace) -> int:
    """Prepare the dataset and print a one-line summary."""
    data = load_params(args.params).get("data", {}) if args.params else {}
    args.data_root = args.data_root or data.get("root") or "data"
    args.out = args.out or data.get("prepared") or "prepared"
    download = not args.no_download if args.no_download else data.get("download", True)
    out_dir = prepare_dataset(
        args.dataset,
        data_root=args.data_root,
        prepared_root=args.out,
        mirror=args.mirror or data.get("mirror"),
        download=bool(download),
        train_limit=args.train_limit,
        test_limit=args.test_limit,
        custom=args.custom,
        force=args.force,
    )
    meta = load_meta(args.out, args.dataset)
    if args.record:
        write_provenance(args.out, args.dataset, args.record)
    summary = {
        "dataset": args.dataset,
        "out": str(out_dir),
        "source": meta["source"]["kind"],
        "official_split": meta["official_split"],
        "train": meta["splits"]["train"]["count"],
        "test": meta["splits"]["test"]["count"],
    }
    print(json.dumps(summary))
    return 0
