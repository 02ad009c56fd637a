"""docs/adding-a-model.md's commands run as written, in a temporary project folder.

The doc's model is ``examples/tiny_vae.py`` saved as ``user_models/my_vae.py`` (with the
class name the doc uses). Run verbatim: ``info``, ``train`` (section 1), ``score``,
``leaderboard compare`` of the score record and ``leaderboard add --from-score``
(section 4); ``score`` gets one extra flag, ``--metrics afd_own``, because the Inception
metrics need their weights and minutes of CPU. Not run here: ``dvc repro`` (section 3),
which ``tests/pipelines/test_pipeline_e2e.py`` runs with a user model added the same way, and
``leaderboard compare results/metrics/cifar10_my_vae.json``, which needs that run's output.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pipelines.report.leaderboard import read_csv

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "adding-a-model.md"
NOT_RUN = ("dvc repro", "fsvae-bench leaderboard compare results/metrics/")
pytestmark = pytest.mark.slow


def doc_commands() -> list[str]:
    """Every command line of the doc's ```bash blocks, comments removed."""
    blocks = re.findall(r"^```bash\n(.*?)^```$", DOC.read_text(), re.MULTILINE | re.DOTALL)
    lines = [line.split("  #")[0].strip() for block in blocks for line in block.splitlines()]
    return [line for line in lines if line]


@pytest.fixture
def project(prepared_mnist: Path, tmp_path: Path) -> Path:
    """A project folder: the doc's model file, profiles, the leaderboard, prepared MNIST."""
    (tmp_path / "user_models").mkdir()
    (tmp_path / "user_models" / "__init__.py").write_text("")
    source = (REPO / "examples" / "tiny_vae.py").read_text()
    (tmp_path / "user_models" / "my_vae.py").write_text(source + "\n\nMyVAE = TinyVAE\n")
    shutil.copytree(REPO / "profiles", tmp_path / "profiles")
    shutil.copytree(REPO / "quoted", tmp_path / "quoted")
    (tmp_path / "results").mkdir()
    shutil.copy(REPO / "results" / "leaderboard.csv", tmp_path / "results" / "leaderboard.csv")
    shutil.copytree(prepared_mnist, tmp_path / "prepared")
    # The pipeline's own autoencoder (dvc.yaml's stage), at a few steps.
    ae = ["autoencoder", "--dataset", "mnist", "--out", "cache/mnist/autoencoders/mnist.pt"]
    run(tmp_path, [*ae, "--steps", "2", "--batch-size", "32"])
    # 250 samples from "another framework", 28x28 like MNIST's originals (hence --resize).
    images = np.random.default_rng(0).integers(0, 256, (250, 28, 28), dtype=np.uint8)
    np.savez(tmp_path / "samples.npz", images=images)
    return tmp_path


def run(cwd: Path, args: list[str]) -> str:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "pipelines.cli", *args]
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, f"{args}\n{done.stderr[-2000:]}"
    return done.stdout


def test_the_doc_commands_run_as_written(project: Path) -> None:
    commands = [c for c in doc_commands() if not c.startswith(NOT_RUN)]
    assert [shlex.split(c)[1] for c in commands] == [
        "info",
        "train",
        "score",
        "leaderboard",
        "leaderboard",
    ]
    outputs = []
    for line in commands:
        argv = shlex.split(line)[1:]
        if argv[0] == "score":
            argv += ["--metrics", "afd_own", "--no-progress"]
        outputs.append(run(project, argv))
    assert (project / "runs" / "mnist" / "user_models.my_vae.MyVAE" / "last.pt").is_file()
    assert "1. my_snn (measured)" in outputs[3] or "my_snn (measured)" in outputs[3]
    added = [r for r in read_csv(project / "results" / "leaderboard.csv") if r["model"] == "my_snn"]
    assert [(r["metric_variant"], r["profile"], r["T"]) for r in added] == [
        ("afd_own", "external", "4")
    ]
