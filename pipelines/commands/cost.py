"""Computational cost: additions and multiplications per image and per test batch of 250.

``measure`` counts one checkpoint on the first ``--num-images`` test images (eval mode,
the same images for every model) under every convention: the reference's counters
(``CountMulAddANN`` / ``CountMulAddSNN``, quirks reproduced), true MACs (dense and
spike-driven), NeuroBench's definitions and a 45 nm energy estimate; it writes one JSON.
``table`` writes results/tables/cost.{csv,md} from those JSON files with the paper's
quoted figures beside the reference-convention rows. Conventions: docs/metrics.md.

Examples:
  fsvae-bench cost measure --checkpoint runs/mnist/fsvae/last.pt --num-images 250
      --out results/cost/mnist_fsvae.json
  fsvae-bench cost table --cost-dir results/cost --out-dir results/tables
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipelines.data.atomic import write_json_atomic
from pipelines.metrics.cost_measure import measure_checkpoint
from pipelines.params import load_params
from pipelines.report.cost_table import cost_rows, load_quoted, load_records, write_cost_tables

HELP = "count operations (reference, corrected, NeuroBench) and write the cost table"


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the subcommands and their options."""
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    m = sub.add_parser("measure", help="count one checkpoint's operations into a JSON file")
    m.add_argument("--checkpoint", required=True, help="checkpoint written by train")
    m.add_argument("--prepared", default="prepared", help="prepared data (test split)")
    m.add_argument("--num-images", type=int, default=250, help="test images counted")
    m.add_argument("--batch-size", type=int, default=50, help="images per measured call")
    m.add_argument("--seed", type=int, default=0, help="seed of the models' random draws")
    m.add_argument("--device", default="cpu", help="torch device")
    m.add_argument("--out", required=True, help="JSON file to write")
    t = sub.add_parser("table", help="write cost.csv and cost.md from the measured JSON files")
    t.add_argument("--cost-dir", default="results/cost", help="the measure step's JSON files")
    t.add_argument("--out-dir", default="results/tables", help="where cost.csv / cost.md go")
    t.add_argument("--quoted", default="quoted/computational-cost.csv", help="paper figures")
    t.add_argument("--params", default="params.yaml", help="profile, dataset and model order")


def _measure(args: argparse.Namespace) -> int:
    if args.num_images < 1 or args.batch_size < 1:
        print("error: --num-images and --batch-size must be at least 1", file=sys.stderr)
        return 2
    try:
        record = measure_checkpoint(
            args.checkpoint, args.prepared, args.num_images, args.seed, args.batch_size, args.device
        )
    except (FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    write_json_atomic(args.out, record)
    print(Path(args.out))
    return 0


def _table(args: argparse.Namespace) -> int:
    params = load_params(args.params) if Path(args.params).is_file() else {}
    pipeline = params.get("pipeline") or {}
    records = load_records(args.cost_dir)
    if not records:
        print(f"error: no cost records (*.json) in {args.cost_dir}", file=sys.stderr)
        return 2
    rows = cost_rows(
        records,
        load_quoted(args.quoted),
        tuple(pipeline.get("datasets") or ()),
        tuple(pipeline.get("models") or ()),
    )
    for path in write_cost_tables(rows, str(params.get("profile", "unknown")), args.out_dir):
        print(path)
    return 0


def run(args: argparse.Namespace) -> int:
    """Dispatch to ``measure`` or ``table``."""
    return _measure(args) if args.action == "measure" else _table(args)
