"""Small helpers for command-line options shared by several commands."""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from benchcore.datasets import DATASETS
from pipelines.params import load_params
from pipelines.process.settings import RuntimeSettings


def parse_overrides(items: Iterable[str]) -> dict[str, Any]:
    """Parse ``KEY=VALUE`` strings, each VALUE read as YAML (numbers, lists, null).

    Args:
        items: Strings such as ``n_steps=4`` or ``hidden_dims=[32,64]``.

    Returns:
        The overrides as a dict.

    Raises:
        ValueError: If an item has no ``=``.

    """
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"expected KEY=VALUE, got {item!r}")
        out[key.strip()] = yaml.safe_load(value)
    return out


def add_dataset_argument(
    parser: argparse.ArgumentParser, required: bool = True, what: str = "dataset"
) -> None:
    """Add ``--dataset`` restricted to the known datasets.

    Every command takes a dataset the same way, so an unknown name is refused by argparse
    with the same message listing the valid names, before anything is read or written.
    """
    parser.add_argument(
        "--dataset", required=required, choices=DATASETS, help=f"{what}: %(choices)s"
    )


def add_runtime_arguments(parser: argparse.ArgumentParser, params: bool = True) -> None:
    """Add ``--device`` (and ``--params``, where the command has none yet).

    Every stage reads its device, TF32 and determinism from ``runtime`` in the params
    file; ``--device`` overrides the device (docs/gpu.md).
    """
    if params:
        parser.add_argument(
            "--params",
            default="params.yaml",
            help="params file whose runtime section is used (default: %(default)s; "
            "defaults when missing)",
        )
    parser.add_argument(
        "--device",
        help="auto, cpu, cuda or cuda:INDEX (default: runtime.device in the params file, "
        "else auto: CUDA when available)",
    )


def runtime_settings(args: argparse.Namespace) -> RuntimeSettings:
    """The runtime settings of a command: the params file's ``runtime``, ``--device`` wins.

    Raises:
        ValueError: On an unreadable params file or an unknown runtime key.

    """
    path = Path(args.params)
    params = load_params(path) if path.exists() else {}
    return RuntimeSettings.from_params(params, device=args.device)


def add_report_inputs(parser: argparse.ArgumentParser, params_help: str) -> None:
    """Options of the commands that read committed results (tables, figures, leaderboard).

    Args:
        parser: The command's parser.
        params_help: What the command reads from the params file.

    """
    from pipelines.report.measurements import DATA_RECORDS

    parser.add_argument("--params", default="params.yaml", help=params_help)
    parser.add_argument(
        "--data-records",
        default=DATA_RECORDS,
        help="the data's provenance records, committed (default: %(default)s)",
    )
