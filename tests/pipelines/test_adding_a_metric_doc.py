"""docs/adding-a-metric.md works: a toy metric, declared once outside the package, reaches the
evaluate output, Table 1, the leaderboard and ``--help``; the page shows the example's code."""

from __future__ import annotations

import csv
import json
import re

import numpy as np
import pytest

from pipelines.cli import main
from pipelines.metrics.registry import EXTRA_METRICS_ENV, metric_names
from tests.pipelines.test_golden_outputs import REPO, _checkpoint, _inputs

DOC = REPO / "docs" / "adding-a-metric.md"
EXAMPLE = REPO / "examples" / "mean_brightness.py"


def test_the_page_shows_the_example_code():
    example = EXAMPLE.read_text()
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert len(blocks) == 2
    for block in blocks:
        assert block in example


def test_a_toy_metric_reaches_evaluate_table1_and_the_leaderboard(
    prepared_mnist, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv(EXTRA_METRICS_ENV, "examples.mean_brightness:SPEC")
    monkeypatch.chdir(REPO)
    assert "mean_brightness" in metric_names()
    with pytest.raises(SystemExit):
        main(["evaluate", "--help"])
    assert "mean_brightness: mean pixel value" in " ".join(capsys.readouterr().out.split())

    ckpt = _checkpoint(tmp_path)
    params, quoted = _inputs(tmp_path)
    out = tmp_path / "metrics" / "mnist_fsvae.json"
    argv = ["evaluate", "--checkpoint", str(ckpt), "--prepared", str(prepared_mnist)]
    argv += ["--out", str(out), "--metrics", "mean_brightness", "--num-samples", "8"]
    assert main([*argv, "--no-progress", "--device", "cpu", "--params", str(params)]) == 0
    metrics = json.loads(out.read_text())["metrics"]
    assert 0 < metrics["mean_brightness"] < 1 and metrics["mean_brightness_num_gen"] == 8

    common = ["--metrics-dir", str(out.parent), "--params", str(params), "--quoted", str(quoted)]
    assert main(["tables", *common, "--out-dir", str(tmp_path / "tables")]) == 0
    with open(tmp_path / "tables" / "table1.csv", newline="") as handle:
        fid = next(r for r in csv.DictReader(handle) if r["metric"] == "FID")
    assert fid["other_variant"] == "mean_brightness"
    assert float(fid["other"]) == pytest.approx(metrics["mean_brightness"])
    assert fid["other_protocol"] == "mean-brightness" and fid["other_num_samples"] == "8"

    board = tmp_path / "board.csv"
    assert main(["leaderboard", "build", *common, "--out", str(board)]) == 0
    with open(board, newline="") as handle:
        (row,) = [r for r in csv.DictReader(handle) if r["metric_variant"] == "mean_brightness"]
    assert row["protocol"] == "mean-brightness" and row["num_samples"] == "8"
    assert row["metric"] == "FID" and row["feature_network"] == "none"


def test_an_unknown_metric_fails_clearly_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "m.json"
    argv = ["evaluate", "--checkpoint", str(_checkpoint(tmp_path)), "--out", str(out)]
    assert main([*argv, "--metrics", "recon_mse,nosuch", "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert "unknown metric(s) ['nosuch']" in err and "afd_own" in err
    assert not out.exists()


def test_an_extra_metric_may_not_reuse_a_name(monkeypatch):
    monkeypatch.setenv(
        EXTRA_METRICS_ENV, "examples.mean_brightness:SPEC,examples.mean_brightness:SPEC"
    )
    with pytest.raises(ValueError, match="declared twice"):
        metric_names()


def test_all_means_every_registered_metric(monkeypatch):
    from pipelines.metrics.evaluate import EvalSettings

    assert EvalSettings().metrics == list(metric_names())
    monkeypatch.setenv(EXTRA_METRICS_ENV, "examples.mean_brightness:SPEC")
    assert EvalSettings(metrics="all").metrics[-1] == "mean_brightness"
    assert EvalSettings(metrics="all").wanted("model") == ["recon_mse", "cost"]


def test_score_refuses_a_metric_that_needs_the_model(tmp_path, capsys):
    images = tmp_path / "images.npz"
    np.savez(images, images=np.zeros((4, 32, 32, 1), np.uint8))
    out = tmp_path / "score.json"
    argv = ["score", str(images), "--dataset", "mnist", "--metrics", "recon_mse,afd_paper"]
    assert main([*argv, "--out", str(out), "--device", "cpu"]) == 2
    assert "recon_mse: need the model" in capsys.readouterr().err and not out.exists()
