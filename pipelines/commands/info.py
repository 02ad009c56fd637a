"""Print a model's parameter count, input shape and config as JSON.

Example: ``fsvae-bench info --model fsvae --dataset celeba --set n_steps=4``
"""

from __future__ import annotations

import argparse
import json

from pipelines.options import add_dataset_argument, parse_overrides
from pipelines.registry import build_model

HELP = "describe a model for a dataset as JSON (params, input shape, config)"


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the command's options."""
    parser.add_argument("--model", required=True, help="registered name or package.module:Class")
    add_dataset_argument(parser)
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config field (repeatable; VALUE parsed as YAML)",
    )


def run(args: argparse.Namespace) -> int:
    """Build the model and print its description."""
    model = build_model(args.model, args.dataset, **parse_overrides(args.set))
    info = {
        "model": args.model,
        "class": f"{type(model).__module__}.{type(model).__qualname__}",
        "dataset": args.dataset,
        "params": model.num_parameters(),
        "input_shape": list(model.input_shape),
        "config": model.config.to_dict(),
    }
    print(json.dumps(info, indent=2))
    return 0
