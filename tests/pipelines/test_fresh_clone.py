"""A fresh clone (no prepared/, no caches, no runs) rewrites the committed tables byte for byte.

``tables``, ``leaderboard build`` and ``readme`` read only committed files: the metrics
JSONs, the sample stage's diversity records, the data's provenance records
(``results/data``), the quoted file and params.yaml.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from pipelines.cli import main

REPO = Path(__file__).resolve().parents[2]
OUTPUTS = (
    "results/tables/table1.csv",
    "results/tables/table1.md",
    "results/tables/table1.tex",
    "results/leaderboard.csv",
    "README.md",
)


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    """A clone of the committed tree (the current HEAD) in a temporary folder."""
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("needs git and a git checkout")
    out = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO), str(out)], check=True)
    head = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()
    subprocess.run(["git", "-C", str(out), "checkout", "-q", head], check=True)
    return out


def test_fresh_clone_reproduces_the_committed_tables(clone: Path, monkeypatch) -> None:
    assert not (clone / "prepared" / "mnist").exists()
    committed = {name: (clone / name).read_bytes() for name in OUTPUTS}
    for name in OUTPUTS:
        (clone / name).unlink()
    (clone / "README.md").write_bytes(committed["README.md"])  # readme rewrites its block
    monkeypatch.chdir(clone)
    # As dvc.yaml's tables stage runs them (figures need runs/, which a clone lacks).
    tables = ["tables", "--metrics-dir", "results/metrics", "--samples-dir", "results/samples"]
    assert main([*tables, "--out-dir", "results/tables"]) == 0
    build = ["leaderboard", "build", "--metrics-dir", "results/metrics"]
    assert main([*build, "--out", "results/leaderboard.csv"]) == 0
    assert main(["readme"]) == 0
    for name in OUTPUTS:
        assert (clone / name).read_bytes() == committed[name], name
