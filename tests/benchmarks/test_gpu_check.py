"""benchmarks/gpu_check.sh: its --cpu-dry-run end to end, and its refusals (no GPU needed)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.mirror import data_mirror

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "gpu_check.sh"
MAX_FILES = 8  # what a GPU call brings back from $OUT


def _run(*args, env=None, timeout=300):
    env = {**os.environ, "PYTHON": sys.executable, **(env or {})}
    return subprocess.run(
        ["bash", str(SCRIPT), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.slow
def test_cpu_dry_run_writes_every_file_with_measured_values(tmp_path):
    mirror = data_mirror()
    assets = os.environ.get("FSVAE_ASSET_MIRROR")
    out = tmp_path / "out"
    done = _run("--cpu-dry-run", str(out), env={"FSVAE_DATA_MIRROR": str(mirror)})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(
        [
            "environment.json",
            "a_pytest_gpu.txt",
            "a_pytest_gpu.xml",
            "b_throughput.json",
            "c_train_paper.json",
            "d_metrics.json",
            "gpu_check.log",
        ]
    )
    assert len(names) <= MAX_FILES
    env = json.loads((out / "environment.json").read_text())
    assert env["dry_run"] and env["device"] == "cpu"
    assert {v["status"] for v in env["parts"].values()} == {"ok"}
    assert env["torch_api"]["checked"] > 50 and env["torch_api"]["missing"] == []
    suite = ET.parse(out / "a_pytest_gpu.xml").getroot()
    suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
    assert int(suite.get("tests")) >= 5 and int(suite.get("skipped")) == 0
    assert int(suite.get("failures")) == int(suite.get("errors")) == 0
    log = (out / "a_pytest_gpu.txt").read_text()
    assert "PASSED tests/gpu/test_training_on_device.py::test_one_process_ddp_step" in log
    rows = json.loads((out / "b_throughput.json").read_text())["rows"]
    # 4 variants x their phases (prefix: train, reconstruct) x fp32 / bf16.
    assert len(rows) == 2 * (3 + 2 + 3 + 3)
    assert {(r["model"], r["precision"]) for r in rows} >= {("fsvae (prefix)", "bf16")}
    assert all(r["images_per_s"] > 0 and r["timed_steps"] >= 1 for r in rows)
    train = json.loads((out / "c_train_paper.json").read_text())
    assert train["train_config"]["model_options"]["posterior_sampling"] == "prefix"
    assert train["train_config"]["epochs"] == 150 and train["timed_steps"] >= 1
    expected = 150 * (
        train["steps_per_epoch"] * train["step_s"]
        + train["test_images"] * train["test_loss_s_per_image"]
    )
    assert train["run_s_estimate"] == pytest.approx(expected)
    metrics = json.loads((out / "d_metrics.json").read_text())["metrics"]
    assert metrics["fid"] is None and "64 MiB" in metrics["fid_unavailable"]
    if assets:
        assert metrics["afd_paper"] > 0
    log = (out / "gpu_check.log").read_text()
    assert "gpu_check: done" in log and "failed parts: none" in log


def test_without_cuda_the_gpu_run_says_so_and_writes_nothing(tmp_path, mirror):
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "gpu_check.py"), str(out)],
        cwd=ROOT,
        env={**os.environ, "CUDA_VISIBLE_DEVICES": "", "FSVAE_DATA_MIRROR": str(mirror)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert "no CUDA device" in done.stderr and "--cpu-dry-run" in done.stderr
    assert not out.exists()


def test_refuses_a_folder_with_files_and_an_unknown_mode(tmp_path):
    full = tmp_path / "full"
    full.mkdir()
    (full / "old.json").write_text("{}")
    done = _run("--cpu-dry-run", str(full), timeout=60)
    assert done.returncode == 2 and "must be an empty folder" in done.stderr
    assert [p.name for p in full.iterdir()] == ["old.json"]
    done = _run("nonsense", timeout=60)
    assert done.returncode == 2 and "gpu_check.sh pack" in done.stderr
