"""Rewrite the README's results section from ``results/`` (after ``dvc repro``).

Only the block between ``<!-- results:start -->`` and ``<!-- results:end -->`` changes:
Table 1 as the tables stage wrote it, the sample and reconstruction grids and the metric
figures. ``--check`` changes nothing and exits 1 when the README is out of date.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipelines.params import load_params
from pipelines.report.readme_results import current_block, render_results, replace_block

HELP = "refresh the README's results section from results/ (--check: only compare)"


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the command's options."""
    parser.add_argument("--readme", default="README.md", help="README to update")
    parser.add_argument("--params", default="params.yaml", help="datasets and models, in order")
    parser.add_argument("--check", action="store_true", help="exit 1 if the README is stale")


def run(args: argparse.Namespace) -> int:
    """Render the block and write it (or compare it)."""
    readme = Path(args.readme)
    if not readme.is_file():
        raise FileNotFoundError(f"{readme} not found")
    pipeline = load_params(args.params).get("pipeline") or {}
    block = render_results(
        readme.parent, pipeline.get("datasets") or (), pipeline.get("models") or ()
    )
    text = readme.read_text()
    if args.check:
        if current_block(text) != block:
            print(f"{readme}: results section is stale; run `fsvae-bench readme`", file=sys.stderr)
            return 1
        print(f"{readme}: results section matches results/")
        return 0
    readme.write_text(replace_block(text, block))
    print(f"updated {readme}")
    return 0
