"""Build the leaderboard, compare a new model's results with it, or add a row.

``build``: published rows from the quoted file (kind ``quoted``, with their source) and
our rows from ``results/metrics/*.json`` (kind ``measured``), with the protocol fields
that decide comparability, into ``results/leaderboard.csv``.

``compare METRICS.json``: rank a model's results against rows measured under the same
protocol only (metric variant, feature network, sample count, reference split,
resolution, profile; an external model's own training is noted, not excluded), and list
the rows it was not compared with and why. Values are rounded, with their n and profile;
``--format markdown|latex`` prints the comparable rows as a table for a paper.

``add ROW.json|csv``: validate rows (columns, types, known dataset and metric, a
metric / metric_variant / protocol / feature_network / reference_split combination that
exists, no duplicate) and append them atomically; on any error the CSV is left unchanged.
``add --from-score SCORE.json`` makes those rows from a ``score --out`` record.

See docs/leaderboard.md. Examples::

    fsvae-bench leaderboard build
    fsvae-bench leaderboard compare results/metrics/cifar10_my_vae.json
    fsvae-bench leaderboard add my_row.json
    fsvae-bench leaderboard add --from-score my_vae_mnist.json
"""

from __future__ import annotations

import argparse
from pathlib import Path

from pipelines.options import add_report_inputs
from pipelines.params import load_params
from pipelines.report.leaderboard import read_csv, to_csv_text, write_atomic
from pipelines.report.leaderboard_commands import add_rows, add_score, build, compare_file
from pipelines.report.leaderboard_format import FORMATS, format_comparisons, format_tables
from pipelines.report.measurements import DATA_RECORDS

HELP = "build the leaderboard CSV, compare a model with it, or add a row"
DEFAULT_OUT = "results/leaderboard.csv"


def _common(parser: argparse.ArgumentParser) -> None:
    add_report_inputs(parser, "params file (profile, data)")


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the subcommands and their options."""
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    b = sub.add_parser("build", help="regenerate the CSV from quoted + measured results")
    b.add_argument("--metrics-dir", default="results/metrics", help="our metrics JSON files")
    b.add_argument("--quoted", default="quoted/published-results.csv", help="published rows")
    b.add_argument("--out", default=DEFAULT_OUT, help="leaderboard CSV to write")
    _common(b)
    c = sub.add_parser("compare", help="rank a metrics JSON against same-protocol rows")
    c.add_argument("metrics_json", metavar="METRICS.json", help="evaluate/score output")
    c.add_argument("--leaderboard", default=DEFAULT_OUT, help="leaderboard CSV")
    c.add_argument("--model", default=None, help="model name (default: from the file)")
    c.add_argument(
        "--profile",
        default=None,
        help="training profile (default: the record's, external for score output; else params)",
    )
    c.add_argument(
        "--format",
        choices=FORMATS,
        default="text",
        help="text: ranking and exclusions; markdown / latex: a table of the comparable rows",
    )
    _common(c)
    a = sub.add_parser("add", help="validate rows (or a score record) and append them atomically")
    what = a.add_mutually_exclusive_group(required=True)
    what.add_argument(
        "rows", metavar="ROW", nargs="?", help=".json (object or list) or .csv with header"
    )
    what.add_argument(
        "--from-score",
        metavar="SCORE.json",
        help="a `fsvae-bench score --out` record: one row per computed metric, profile external",
    )
    a.add_argument("--model", default=None, help="with --from-score: model name (default: its)")
    a.add_argument("--leaderboard", default=DEFAULT_OUT, help="leaderboard CSV")
    a.add_argument(
        "--data-records",
        default=DATA_RECORDS,
        help="the data's provenance records, committed (default: %(default)s)",
    )


def _profile(args: argparse.Namespace) -> str:
    params = load_params(args.params) if Path(args.params).is_file() else {}
    return str(params.get("profile", "unknown"))


def run(args: argparse.Namespace) -> int:
    """Run the chosen action."""
    if args.action == "add":
        if args.from_score:
            rows = add_score(args.leaderboard, args.from_score, args.data_records, args.model)
        else:
            rows = add_rows(args.leaderboard, args.rows)
        print(f"added {len(rows)} row(s) to {args.leaderboard}")
        return 0
    if args.action == "build":
        rows = build(args.quoted, args.metrics_dir, args.data_records, _profile(args))
        write_atomic(args.out, to_csv_text(rows))
        measured = sum(r["kind"] == "measured" for r in rows)
        print(f"{args.out}: {len(rows) - measured} quoted and {measured} measured rows")
        return 0
    board = read_csv(args.leaderboard)
    comparisons, missing = compare_file(
        args.metrics_json, board, args.data_records, args.profile, args.model, _profile(args)
    )
    if args.format == "text":
        print(format_comparisons(comparisons, missing), end="")
    else:
        print(format_tables(comparisons, args.format), end="")
    return 0
