"""List the registered models (``--all`` also shows their import paths)."""

from __future__ import annotations

import argparse

from pipelines.registry import REGISTERED_MODELS

HELP = "list the registered model names"


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the command's options."""
    parser.add_argument("--all", action="store_true", help="also print each model's import path")


def run(args: argparse.Namespace) -> int:
    """Print one model per line."""
    for name in sorted(REGISTERED_MODELS):
        print(f"{name}\t{REGISTERED_MODELS[name]}" if args.all else name)
    return 0
