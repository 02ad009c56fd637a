"""The README's two-minute path runs as written (its install line aside), in a temp folder."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def quickstart_lines() -> list[str]:
    """The commands of the README's ```sh block (the two-minute path)."""
    text = (REPO / "README.md").read_text()
    block = re.search(r"^```sh\n(.*?)^```$", text, re.MULTILINE | re.DOTALL)
    assert block is not None, "README has no ```sh block"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_the_full_run_stays_the_first_bash_block() -> None:
    """.ci/run reads the first ```bash block: it must still be the two CI lines."""
    text = (REPO / "README.md").read_text()
    first = re.search(r"^```bash\n(.*?)^```$", text, re.MULTILINE | re.DOTALL)
    lines = first.group(1).splitlines()
    assert len(lines) == 2 and lines[0].endswith("&& dvc repro") and lines[1] == "nox -s tests"
    assert text.index("\n```sh\n") < text.index("\n```bash\n")  # two minutes, then the full run


@pytest.mark.slow
def test_quickstart_runs_as_written(mirror: Path, tmp_path: Path) -> None:
    install, *commands = quickstart_lines()
    assert install.startswith("python3 -m venv .venv") and len(commands) == 4
    env = {**os.environ, "FSVAE_DATA_MIRROR": str(mirror), "PYTHONPATH": str(REPO)}
    for line in commands:
        argv = shlex.split(line)
        assert argv[0] == "fsvae-bench"
        cmd = [sys.executable, "-m", "pipelines.cli", *argv[1:]]
        done = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True)
        assert done.returncode == 0, f"{line}\n{done.stderr[-2000:]}"
    record = json.loads((tmp_path / "scratch" / "mnist_fsvae.json").read_text())
    assert record["metrics"]["recon_mse"] is not None and record["config"]["n_steps"] == 4
    assert (tmp_path / "scratch" / "samples" / "mnist_fsvae_samples.png").is_file()
