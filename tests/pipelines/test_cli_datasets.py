"""Every command that takes a dataset name refuses an unknown one the same way."""

from __future__ import annotations

import argparse

import pytest

from pipelines.cli import build_parser, main
from pipelines.data import DATASETS


def dataset_options() -> dict[str, argparse.Action]:
    """The ``--dataset`` action of every subcommand that has one."""
    sub = next(a for a in build_parser(all_options=True)._actions if a.dest == "command")
    out = {}
    for name, cmd in sub.choices.items():
        action = next((a for a in cmd._actions if "--dataset" in a.option_strings), None)
        if action is not None:
            out[name] = action
    return out


def test_every_dataset_option_is_restricted_to_the_known_datasets() -> None:
    options = dataset_options()
    assert {"prepare", "train", "evaluate", "score", "info", "autoencoder", "fid-stats"} <= set(
        options
    )
    assert {name: tuple(a.choices or ()) for name, a in options.items()} == dict.fromkeys(
        options, DATASETS
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["train", "--model", "fsvae", "--dataset", "nosuchset"],
        ["prepare", "--dataset", "nosuchset"],
        ["score", "--dataset", "nosuchset", "images.npz"],
    ],
)
def test_unknown_dataset_lists_the_valid_names(argv: list[str], capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "invalid choice: 'nosuchset'" in err
    assert all(f"'{name}'" in err for name in DATASETS) and "prepare" not in err.split("error:")[1]
