"""From an external model's images to ranked leaderboard rows: score -> add -> compare."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pipelines.cli import main
from pipelines.data import load_split
from pipelines.report.leaderboard import read_csv

REPO = Path(__file__).resolve().parents[2]
QUOTED = REPO / "quoted" / "published-results.csv"


@pytest.fixture
def scored(prepared_mnist: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder where our MNIST autoencoder exists and 40 images were scored."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "mini.yaml").write_text(
        "profile: mini\nevaluate: {num_samples: 40, num_ref: 40}\n"
    )
    (tmp_path / "params.yaml").write_text("profile: mini\n")
    common = ["--dataset", "mnist", "--prepared", str(prepared_mnist)]
    # The pipeline's path (dvc.yaml's autoencoder stage), which score finds by default.
    ae = ["autoencoder", *common, "--out", "cache/mnist/autoencoders/mnist.pt", "--steps", "2"]
    assert main([*ae, "--batch-size", "32"]) == 0
    images = load_split(prepared_mnist, "mnist", "test")[:50]
    np.savez(tmp_path / "mine.npz", images=images)
    args = ["score", "mine.npz", *common, "--model", "my_snn", "--T", "4"]
    args += ["--protocol", "mini", "--metrics", "afd_own", "--out", "score.json"]
    assert main([*args, "--no-progress"]) == 0
    return tmp_path


def test_score_writes_a_complete_record(scored: Path) -> None:
    record = json.loads((scored / "score.json").read_text())
    assert record["model"] == "my_snn" and record["profile"] == "external"
    assert record["counts_profile"] == "mini" and record["resolution"] == "32x32"
    assert record["config"] == {"image_size": 32, "n_steps": 4}
    assert record["eval_settings"]["num_samples"] == 40
    assert record["eval_settings"]["cache_dir"] == str(Path("cache") / "mnist")
    assert record["runtime"]["cpu_threads"] >= 1
    metrics = record["metrics"]
    assert metrics["afd_own"] is not None, metrics.get("afd_own_unavailable")
    assert metrics["afd_own_num_gen"] == 40 and len(metrics["afd_own_weights_sha256"]) == 64


def _board_with_our_model(project: Path, record: dict, value: float) -> Path:
    """A leaderboard holding a pipeline row measured like the score (same autoencoder)."""
    ours = {
        "model": "fsvae",
        "dataset": "mnist",
        "config": {"image_size": 32, "n_steps": 16},
        "eval_settings": {"seed": 0},
        "metrics": {**record["metrics"], "afd_own": value},
    }
    (project / "metrics").mkdir()
    (project / "metrics" / "mnist_fsvae.json").write_text(json.dumps(ours))
    board = project / "leaderboard.csv"
    args = ["leaderboard", "build", "--metrics-dir", "metrics", "--out", str(board)]
    assert main([*args, "--quoted", str(QUOTED)]) == 0
    return board


def test_score_is_ranked_and_added(scored: Path, capsys: pytest.CaptureFixture) -> None:
    record = json.loads((scored / "score.json").read_text())
    board = _board_with_our_model(scored, record, record["metrics"]["afd_own"] + 1.0)
    capsys.readouterr()
    assert main(["leaderboard", "compare", "score.json", "--leaderboard", str(board)]) == 0
    out = capsys.readouterr().out
    ranked = [line.strip() for line in out.splitlines() if line.strip()[:3] in ("1. ", "2. ")]
    assert ranked[0].startswith("1. my_snn (measured)") and "<- this model" in ranked[0]
    # Ranked together, with what differs but does not exclude written beside the value.
    assert ranked[1].startswith("2. fsvae (measured)")
    assert "T: 4 vs 16" in ranked[1] and "regime: external training vs mini profile" in ranked[1]
    assert "n=40" in ranked[1] and "not compared with fsvae" not in out
    # The paper table of the comparable rows.
    args = ["leaderboard", "compare", "score.json", "--leaderboard", str(board)]
    assert main([*args, "--format", "latex"]) == 0
    tex = capsys.readouterr().out
    assert r"\begin{tabular}" in tex and r"my\_snn (this model)" in tex
    assert main([*args, "--format", "markdown"]) == 0
    assert "| 2 | fsvae |" in capsys.readouterr().out
    # One step into the leaderboard; a second add is a duplicate and changes nothing.
    before = len(read_csv(board))
    assert (
        main(["leaderboard", "add", "--from-score", "score.json", "--leaderboard", str(board)]) == 0
    )
    rows = read_csv(board)
    added = rows[before:]
    assert [(r["model"], r["dataset"], r["profile"], r["T"]) for r in added] == [
        ("my_snn", "MNIST", "external", "4")
    ]
    assert added[0]["resolution"] == "32x32" and added[0]["num_samples"] == "40"
    text = board.read_bytes()
    assert (
        main(["leaderboard", "add", "--from-score", "score.json", "--leaderboard", str(board)]) == 2
    )
    assert board.read_bytes() == text


def test_other_autoencoder_is_not_ranked(scored: Path, capsys: pytest.CaptureFixture) -> None:
    record = json.loads((scored / "score.json").read_text())
    record["metrics"]["afd_own_weights_sha256"] = "ab" * 32
    board = _board_with_our_model(scored, record, 1.0)
    capsys.readouterr()
    assert main(["leaderboard", "compare", "score.json", "--leaderboard", str(board)]) == 0
    out = capsys.readouterr().out
    assert "not compared with fsvae (measured) = 1: feature_network: our autoencoder" in out


def test_a_long_score_says_so_before_it_starts(
    prepared_mnist: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    from pipelines.commands import score
    from pipelines.metrics import evaluate

    monkeypatch.chdir(tmp_path)
    np.savez("x.npz", images=load_split(prepared_mnist, "mnist", "test")[:50])
    monkeypatch.setattr(score, "INCEPTION_IMAGES_PER_S_PER_THREAD", 0.5)

    def started(*args, **kwargs):
        # Nothing ran yet: the estimate is already on stderr.
        assert "about" in capsys.readouterr().err
        raise ValueError("stopped before computing")

    monkeypatch.setattr(evaluate, "score_images", started)
    args = ["score", "x.npz", "--dataset", "mnist", "--prepared", str(prepared_mnist)]
    assert main([*args, "--metrics", "fid,is", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "stopped before computing" in err


def test_estimate_counts_the_reference_statistics_once(prepared_mnist: Path, tmp_path) -> None:
    from pipelines.commands.score import estimate_seconds
    from pipelines.metrics.evaluate import EvalSettings

    s = EvalSettings(num_samples=100, metrics=["fid", "is"], cache_dir=str(tmp_path))
    seconds, what = estimate_seconds(s, "mnist", str(prepared_mnist), threads=2)
    assert "reference statistics of 64 test images" in what
    assert seconds == pytest.approx((2 * 100 + 64) / 10.0)
    fid_stats = tmp_path / "fid_stats" / "mnist_test_all.npz"
    fid_stats.parent.mkdir()
    fid_stats.write_bytes(b"cached")
    assert estimate_seconds(s, "mnist", str(prepared_mnist), threads=2)[0] == pytest.approx(20.0)
