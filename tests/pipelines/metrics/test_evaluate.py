"""The orchestration: a checkpoint or an image set in, flat metric dicts with protocols out."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch

from pipelines.cli import main
from pipelines.metrics.evaluate import EvalSettings, evaluate_checkpoint, score_images
from pipelines.metrics.fetch import MIRROR_ENV
from pipelines.registry import build_model

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    model = build_model("ann_vae", "mnist")
    path = tmp_path_factory.mktemp("ckpt") / "last.pt"
    torch.save(
        {
            "format": 1,
            "model_name": "ann_vae",
            "dataset": "mnist",
            "config": model.config.to_dict(),
            "model_state": model.state_dict(),
            "epoch": 0,
            "step": 0,
        },
        path,
    )
    return path


def test_evaluate_checkpoint_records_values_and_reasons(
    checkpoint, prepared, fid_weights, fid_cache, n_ref, tmp_path, monkeypatch
):
    monkeypatch.delenv("FSVAE_IS_WEIGHTS", raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    # The authors' MNIST files come from $FSVAE_ASSET_MIRROR when CI hands it over.
    have_mirror = bool(os.environ.get(MIRROR_ENV))
    settings = EvalSettings(
        asset_dir=str(tmp_path / "assets"),
        offline=True,
        num_samples=16,
        num_recon=64,
        num_ref=n_ref,
        num_cost_samples=4,
        seed=3,
        fid_weights=str(fid_weights.path),
        cache_dir=str(fid_cache),
        progress=False,
    )
    out = tmp_path / "metrics.json"
    record = evaluate_checkpoint(checkpoint, prepared, out, settings)
    m = record["metrics"]
    assert json.loads(out.read_text())["metrics"] == m
    assert m["recon_mse"] > 0 and m["recon_mse_num_images"] == 64
    assert m["fid"] > 0 and m["fid_num_gen"] == 16 and m["fid_num_ref"] == n_ref
    assert m["fid_weights_sha256"] == fid_weights.sha256
    if have_mirror:
        assert m["afd_paper"] > 0 and m["afd_paper_num_gen"] == 16
    else:
        assert m["afd_paper"] is None and "mnist_64.pth" in m["afd_paper_unavailable"]
    for name in ("fid_paper", "is", "is_paper", "afd_own"):
        assert m[name] is None and m[f"{name}_unavailable"]
    # Offline, a missing asset's reason says where to get it and where to put it.
    assert (
        "https://download.pytorch.org/models/inception_v3_google-0cc3c7bd.pth"
        in m["is_unavailable"]
    )
    assert "$FSVAE_ASSET_MIRROR/github.com/kamata1729/" in m["fid_paper_unavailable"]
    assert m["cost_recon_synops_mac_per_sample"] > 1e6  # ANN: all MACs
    assert m["cost_recon_synops_ac_per_sample"] == 0
    assert record["model"] == "ann_vae" and record["eval_settings"]["seed"] == 3
    # Seeded: the same settings give the same numbers.
    again = evaluate_checkpoint(checkpoint, prepared, None, settings)["metrics"]
    assert again["recon_mse"] == m["recon_mse"] and again["fid"] == m["fid"]


def test_score_command_on_an_npz(
    prepared, fid_weights, fid_cache, n_ref, mnist_test, tmp_path, capsys, asset_mirror
):
    npz = tmp_path / "set.npz"
    np.savez(npz, images=mnist_test[:n_ref])
    argv = [
        "score",
        "--dataset",
        "mnist",
        str(npz),
        "--metrics",
        "fid,afd_paper",
        "--prepared",
        str(prepared),
        "--cache-dir",
        str(fid_cache),
        "--fid-weights",
        str(fid_weights.path),
        "--num-ref",
        str(n_ref),
        "--asset-dir",
        str(tmp_path / "assets"),
        "--offline",
        "--no-progress",
    ]
    assert main(argv) == 0
    record = json.loads(capsys.readouterr().out)
    m = record["metrics"]
    assert abs(m["fid"]) < 1e-3  # the very images behind the reference statistics
    assert m["afd_paper"] is not None and "is" not in m
    assert record["num_images"] == n_ref


def test_score_images_reports_failures_without_losing_others(
    prepared, tmp_path, mnist_test, asset_mirror
):
    settings = EvalSettings(
        num_samples=300,
        metrics=["afd_paper", "afd_own"],
        cache_dir=str(tmp_path),
        asset_dir=str(tmp_path / "assets"),
        offline=True,
        progress=False,
    )
    m = score_images(mnist_test[:300], "mnist", prepared, settings)["metrics"]
    assert m["afd_paper"] is not None
    assert m["afd_own"] is None and "autoencoder stage" in m["afd_own_unavailable"]


def test_unknown_metric_is_rejected():
    with pytest.raises(ValueError, match="unknown metric"):
        EvalSettings(metrics=["fid", "bogus"])
