"""Small helpers for command-line options shared by several commands."""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from typing import Any

import yaml

from pipelines.data.arrays import DATASETS


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
