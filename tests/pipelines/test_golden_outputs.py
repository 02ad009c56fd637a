"""The metrics JSON, Table 1 CSV and leaderboard CSV the pipeline writes stay byte-identical.

A fixed, small input (an untrained tiny-profile FSVAE on 64 real MNIST test images, seed 0)
goes through ``evaluate`` (the metrics that run offline: ``recon_mse``, ``cost``,
``afd_paper`` from the asset mirror, ``afd_own`` unavailable), then ``tables`` and
``leaderboard build`` (the tiny profile's params restricted to MNIST x FSVAE and the quoted
MNIST rows, so the files stay small). The outputs were written once by the code before
the metric registry (``tests/pipelines/golden/``); any change to what a metric records,
how it reaches Table 1 or the leaderboard, fails here.

Excluded from the comparison, because they describe the machine rather than the result:
the metrics JSON's ``runtime`` and ``versions`` sections, and the temporary folder's path
(in all three files), written as ``<tmp>``. Regenerate deliberately with ``FSVAE_WRITE_GOLDEN=1``.
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import pytest
import torch
import yaml

from pipelines.cli import main
from pipelines.metrics.fetch import MIRROR_ENV
from pipelines.registry import build_model

REPO = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).parent / "golden"
WRITE = os.environ.get("FSVAE_WRITE_GOLDEN") == "1"


def _checkpoint(folder: Path) -> Path:
    torch.manual_seed(0)
    model = build_model("fsvae", "mnist", n_steps=4)
    path = folder / "runs" / "mnist" / "fsvae" / "last.pt"
    path.parent.mkdir(parents=True)
    state = {"format": 1, "model_name": "fsvae", "dataset": "mnist", "epoch": 0, "step": 0}
    state |= {"config": model.config.to_dict(), "model_state": model.state_dict()}
    torch.save(state, path)
    return path


def _inputs(folder: Path) -> tuple[Path, Path]:
    """The tiny profile for MNIST x FSVAE only, and the quoted MNIST rows."""
    params = yaml.safe_load((REPO / "profiles" / "tiny.yaml").read_text())
    params["pipeline"] = {"datasets": ["mnist"], "models": ["fsvae"]}
    params_path = folder / "params.yaml"
    params_path.write_text(yaml.safe_dump(params, sort_keys=False))
    text = (REPO / "quoted" / "published-results.csv").read_text()
    rows = list(csv.reader(io.StringIO(text)))
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(
        [rows[0], *(r for r in rows[1:] if r[3] == "MNIST")]
    )
    quoted = folder / "quoted.csv"
    quoted.write_text(out.getvalue())
    return params_path, quoted


def _normalised_metrics(path: Path, tmp: Path) -> str:
    record = json.loads(path.read_text())
    for machine in ("runtime", "versions"):
        record.pop(machine)
    return json.dumps(record, indent=2) + "\n"


@pytest.mark.skipif(not os.environ.get(MIRROR_ENV), reason=f"needs ${MIRROR_ENV} (afd_paper)")
def test_pipeline_outputs_match_the_golden_files(prepared_mnist, tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.chdir(REPO)
    ckpt = _checkpoint(tmp_path)
    params, quoted = _inputs(tmp_path)
    metrics_dir = tmp_path / "metrics"
    evaluate = ["evaluate", "--checkpoint", str(ckpt), "--prepared", str(prepared_mnist)]
    evaluate += ["--out", str(metrics_dir / "mnist_fsvae.json"), "--metrics"]
    evaluate += ["recon_mse,cost,afd_paper,afd_own", "--num-samples", "16", "--num-recon", "16"]
    evaluate += ["--num-cost-samples", "4", "--offline", "--no-progress", "--device", "cpu"]
    evaluate += ["--asset-dir", str(tmp_path / "assets"), "--cache-dir", str(tmp_path / "cache")]
    evaluate += ["--params", str(params)]
    assert main(evaluate) == 0
    tables = ["tables", "--metrics-dir", str(metrics_dir), "--params", str(params)]
    tables += ["--quoted", str(quoted), "--samples-dir", str(tmp_path / "samples")]
    assert main([*tables, "--out-dir", str(tmp_path / "tables")]) == 0
    board = ["leaderboard", "build", "--metrics-dir", str(metrics_dir), "--params", str(params)]
    assert main([*board, "--quoted", str(quoted), "--out", str(tmp_path / "board.csv")]) == 0

    produced = {
        "metrics.json": _normalised_metrics(metrics_dir / "mnist_fsvae.json", tmp_path),
        "table1.csv": (tmp_path / "tables" / "table1.csv").read_text(),
        "leaderboard.csv": (tmp_path / "board.csv").read_text(),
    }
    for name, text in produced.items():
        text = text.replace(str(tmp_path), "<tmp>")
        if WRITE:
            GOLDEN.mkdir(exist_ok=True)
            (GOLDEN / name).write_text(text)
        assert text.encode() == (GOLDEN / name).read_bytes(), name
