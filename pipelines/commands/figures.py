"""Draw the figures beside the tables into results/figures/.

``<metric>.png`` (recon_mse, IS, FID, FAD): per dataset, our measured values beside
the paper's Table 1 values and the leaderboard rows comparable with ours; bars are
coloured by comparability group and hatched when measured here (solid: quoted).
``loss_<dataset>_<model>.png``: training and test loss from runs/<dataset>/<model>/.

Example: ``fsvae-bench figures --metrics-dir results/metrics --runs-dir runs``
"""

from __future__ import annotations

import argparse
from pathlib import Path

from pipelines.options import add_report_inputs
from pipelines.params import load_params
from pipelines.report.leaderboard_commands import build
from pipelines.report.measurements import load_measurements

HELP = "draw the metric figures and the training-loss figures"


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the command's options."""
    parser.add_argument("--metrics-dir", default="results/metrics", help="metrics JSON files")
    parser.add_argument("--runs-dir", default="runs", help="runs/<dataset>/<model>/ logs")
    parser.add_argument("--out-dir", default="results/figures", help="where the PNGs go")
    parser.add_argument("--quoted", default="quoted/published-results.csv", help="paper values")
    add_report_inputs(parser, "profile, datasets, models")


def run(args: argparse.Namespace) -> int:
    """Draw and write every figure."""
    from pipelines.report.figures import write_figures  # matplotlib only when drawing

    params = load_params(args.params)
    profile = str(params.get("profile", "unknown"))
    board = build(args.quoted, args.metrics_dir, args.data_records, profile)
    ms = load_measurements(args.metrics_dir)
    pipeline = params.get("pipeline") or {}
    pairs = [(d, m) for d in pipeline.get("datasets") or () for m in pipeline.get("models") or ()]
    pairs += sorted({(m.dataset, m.model) for m in ms} - set(pairs))
    for path in write_figures(board, ms, Path(args.runs_dir), args.out_dir, profile, pairs):
        print(path)
    return 0
