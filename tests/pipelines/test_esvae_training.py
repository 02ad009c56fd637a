"""ESVAE in the pipeline: parameter groups, per-dataset recipes, exact resume, Table 1 rows."""

from pathlib import Path

import pytest
import torch

from fsvae.esvae import ESVAE
from pipelines.checkpoint import load_checkpoint
from pipelines.optim import param_groups
from pipelines.params import train_config
from pipelines.report.leaderboard import quoted_rows
from pipelines.report.measurements import (
    DATASET_LABELS,
    PAPER_PROTOCOL,
    TABLE1_METRICS,
    TABLE1_MODELS,
)
from tests.pipelines.test_train import Crash, _assert_same_weights, _train

ESVAE_RUN = dict(
    model="esvae",
    model_options={"n_steps": 2},
    weight_decay=0.001,
    lr=0.003072,
    lr_multipliers={"sample_layer": 10.0},
    batch_size=16,
    train_limit=32,
    test_limit=8,
)


def test_param_groups_split_by_prefix():
    model = ESVAE.build("mnist", n_steps=2)
    groups = param_groups(model, 0.01, {"sample_layer": 10.0})
    assert [g["lr"] for g in groups] == [pytest.approx(0.1), 0.01]
    first = {id(p) for p in groups[0]["params"]}
    assert first == {id(p) for p in model.sample_layer.parameters()}
    total = sum(len(g["params"]) for g in groups)
    assert total == len(list(model.parameters()))
    assert len(param_groups(model, 0.01)) == 1
    with pytest.raises(ValueError, match="names no parameter"):
        param_groups(model, 0.01, {"sample": 10.0})  # a prefix of a name is not a module
    with pytest.raises(ValueError, match="must be > 0"):
        param_groups(model, 0.01, {"sample_layer": 0})


def test_model_recipe_per_dataset_from_params():
    params = {
        "train": {"epochs": 2, "batch_size": 64},
        "datasets": {"celeba": {"train": {"train_limit": 800}}},
        "models": {
            "esvae": {
                "optim": {"lr": 0.003072, "lr_multipliers": {"sample_layer": 10}},
                "train": {"epochs": 300, "batch_size": 256},
                "per_dataset": {"celeba": {"lr": 0.000256, "batch_size": 64}},
            }
        },
    }
    mnist = train_config(params, "esvae", "mnist")
    celeba = train_config(params, "esvae", "celeba")
    assert (mnist.epochs, mnist.batch_size, mnist.lr) == (300, 256, 0.003072)
    assert (celeba.batch_size, celeba.lr, celeba.train_limit) == (64, 0.000256, 800)
    assert celeba.lr_multipliers == {"sample_layer": 10}
    assert train_config(params, "fsvae", "celeba").batch_size == 64


def test_esvae_resume_after_crash_equals_uninterrupted_run(prepared_mnist, tmp_path):
    full = _train(prepared_mnist, tmp_path / "full", **ESVAE_RUN)
    with pytest.raises(Crash):
        _train(prepared_mnist, tmp_path / "crashed", crash_at=3, **ESVAE_RUN)  # epoch 2
    saved = load_checkpoint(tmp_path / "crashed" / "last.pt")
    assert saved["step"] == 2 and not saved["finished"]
    assert [g["lr"] for g in saved["optimizer_state"]["param_groups"]] == pytest.approx(
        [0.03072, 0.003072]
    )
    resumed = _train(prepared_mnist, tmp_path / "crashed", **ESVAE_RUN)
    _assert_same_weights(full.model, resumed.model)
    assert full.state.test_log == resumed.state.test_log
    assert resumed.state.finished and resumed.state.step == 4
    assert not torch.equal(
        full.model.sample_layer[0].weight, ESVAE.build("mnist", n_steps=2).sample_layer[0].weight
    )


def test_every_table1_model_has_its_quoted_rows():
    quoted = Path(__file__).resolve().parents[2] / "quoted" / "published-results.csv"
    have = {
        (r["model"], r["dataset"], r["metric"])
        for r in quoted_rows(quoted)
        if r["protocol"] == PAPER_PROTOCOL
    }
    assert TABLE1_MODELS["esvae"] == "ESVAE"
    for label in TABLE1_MODELS.values():
        for ds in DATASET_LABELS.values():
            for metric in TABLE1_METRICS:
                assert (label, ds, metric) in have, (label, ds, metric)
