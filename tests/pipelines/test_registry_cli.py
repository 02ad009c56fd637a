import json

import pytest

from pipelines.cli import build_parser, main
from pipelines.registry import build_model, resolve_model_class


def test_unknown_model_and_dataset_are_clear_errors():
    with pytest.raises(ValueError, match="unknown model"):
        resolve_model_class("nope")
    with pytest.raises(ValueError, match="unknown dataset"):
        build_model("ann_vae", "svhn")
    with pytest.raises(ValueError, match="GenerativeModel"):
        resolve_model_class("collections:OrderedDict")


def test_import_path_models_resolve():
    cls = resolve_model_class("baselines.ann_vae:VanillaVAE")
    assert cls.__name__ == "VanillaVAE"


def test_info_prints_params_shape_and_config(capsys):
    assert main(["info", "--model", "ann_vae", "--dataset", "cifar10"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["params"] == 1_181_795
    assert info["input_shape"] == [3, 32, 32]
    assert info["config"]["latent_dim"] == 128


def test_bad_input_is_one_line_error(capsys):
    # Unknown datasets are refused by argparse (tests/pipelines/test_cli_datasets.py).
    assert main(["info", "--model", "no_such_model", "--dataset", "mnist"]) == 2
    err = capsys.readouterr().err
    assert "unknown model" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_every_command_has_help():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert {"prepare", "train", "models", "info"} <= set(sub.choices)
    for name, cmd in sub.choices.items():
        assert cmd.format_help().strip(), name
