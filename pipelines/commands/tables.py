"""Write the paper's Table 1 with our numbers beside it: results/tables/table1.{csv,md,tex}.

For each dataset and model: our reconstruction MSE, Inception Score, FID and
autoencoder Fréchet distance under the paper's protocol beside the paper's values
(quoted from quoted/published-results.csv) and their difference; our other protocol
variants (standard IS, pytorch-fid FID, our own autoencoder) in their own labelled
column; the profile and the data actually used; unavailable metrics as n/a with the
reason; models whose samples collapsed (``--samples-dir``) marked as such. Several seeds
(``<dataset>_<model>_seed<k>.json``) are shown as mean ± std.

Example: ``fsvae-bench tables --metrics-dir results/metrics --out-dir results/tables``
"""

from __future__ import annotations

import argparse

from pipelines.options import add_report_inputs
from pipelines.params import load_params
from pipelines.report.measurements import load_measurements
from pipelines.report.table1 import table1_rows
from pipelines.report.table1_writers import write_tables

HELP = "write Table 1 (ours beside the paper's) as CSV, Markdown and LaTeX"


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the command's options."""
    parser.add_argument("--metrics-dir", default="results/metrics", help="metrics JSON files")
    parser.add_argument("--out-dir", default="results/tables", help="where table1.* go")
    parser.add_argument("--quoted", default="quoted/published-results.csv", help="paper values")
    add_report_inputs(parser, "profile, datasets, models")
    parser.add_argument(
        "--samples-dir",
        default="results/samples",
        help="the sample stage's folder; its *_diversity.json mark collapsed models",
    )


def run(args: argparse.Namespace) -> int:
    """Build the table and write the three files."""
    params = load_params(args.params)
    pipeline = params.get("pipeline") or {}
    rows = table1_rows(
        load_measurements(args.metrics_dir),
        args.quoted,
        args.data_records,
        pipeline.get("datasets") or (),
        pipeline.get("models") or (),
        params,
        samples_dir=args.samples_dir,
    )
    for path in write_tables(rows, str(params.get("profile", "unknown")), args.out_dir):
        print(path)
    return 0
