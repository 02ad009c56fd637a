"""Leaderboard build / compare / add on synthetic metrics files in tmp dirs."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest

from pipelines.cli import main
from pipelines.report.leaderboard import comparability_key, quoted_rows, read_csv
from pipelines.report.leaderboard_commands import add_rows, compare, validate_row

REPO = Path(__file__).resolve().parents[2]
QUOTED = REPO / "quoted" / "published-results.csv"


def metrics_record(model: str, fid_paper: float, num_gen: int) -> dict[str, object]:
    """A small evaluate-style record with a paper-protocol FID and an unavailable IS."""
    return {
        "model": model,
        "dataset": "mnist",
        "config": {"image_size": 32, "n_steps": 16},
        "eval_settings": {"seed": 0},
        "metrics": {
            "fid_paper": fid_paper,
            "fid_paper_num_gen": num_gen,
            "is_paper": None,
            "is_paper_unavailable": "no weights",
        },
    }


@pytest.fixture
def board(tmp_path: Path) -> Path:
    """Build a leaderboard from the quoted file and two measured models."""
    (tmp_path / "params.yaml").write_text("profile: paper\ndata: {prepared: prepared}\n")
    metrics = tmp_path / "metrics"
    metrics.mkdir()
    for model, value in (("alpha", 80.0), ("beta", 120.0)):
        record = metrics_record(model, value, 5000)
        (metrics / f"mnist_{model}.json").write_text(json.dumps(record))
    out = tmp_path / "leaderboard.csv"
    args = ["leaderboard", "build", "--metrics-dir", str(metrics), "--out", str(out)]
    args += ["--quoted", str(QUOTED), "--params", str(tmp_path / "params.yaml")]
    assert main(args) == 0
    return out


def test_build_holds_quoted_and_measured_rows(board: Path) -> None:
    rows = read_csv(board)
    quoted = [r for r in rows if r["kind"] == "quoted"]
    with open(QUOTED, newline="") as handle:
        source = list(csv.DictReader(handle))
    assert [(r["model"], r["value"], r["source"]) for r in quoted] == [
        (r["model"], r["value"], r["source"]) for r in source
    ]
    measured = [r for r in rows if r["kind"] == "measured"]
    assert {(r["model"], r["metric_variant"]) for r in measured} == {
        ("alpha", "fid_paper"),
        ("beta", "fid_paper"),
    }
    assert all(r["profile"] == "paper" and r["T"] == "16" for r in measured)


def test_paper_protocol_row_is_comparable_with_the_quoted_table1_row(board: Path) -> None:
    rows = read_csv(board)
    ours = next(r for r in rows if r["model"] == "alpha")
    fsvae = next(
        r
        for r in rows
        if r["model"] == "FSVAE" and r["dataset"] == "MNIST" and r["metric"] == "FID"
    )
    assert comparability_key(ours) == comparability_key(fsvae)


def run_compare(board: Path, record: dict[str, object], capsys: pytest.CaptureFixture) -> str:
    path = board.parent / "new.json"
    path.write_text(json.dumps(record))
    args = ["leaderboard", "compare", str(path), "--leaderboard", str(board)]
    assert main([*args, "--params", str(board.parent / "params.yaml")]) == 0
    return capsys.readouterr().out


def test_compare_ranks_same_protocol_rows_only(board: Path, capsys) -> None:
    out = run_compare(board, metrics_record("gamma", 100.0, 5000), capsys)
    ranking = [line.strip() for line in out.splitlines() if line.strip()[:2].rstrip(".").isdigit()]
    names = [line.split(". ", 1)[1].split(" (")[0] for line in ranking]
    # Same protocol: alpha 80 < FSVAE, gamma 100 < ANN VAE, beta 120; ESVAE also fsvae-paper.
    assert names.index("alpha") < names.index("gamma") < names.index("beta")
    assert "FSVAE" in names and "ESVAE" in names
    assert not {"SGAD", "FSDDIM (T=8)"} & set(names)
    assert "not compared with SGAD (quoted" in out and "protocol: fsvae-paper vs own" in out
    assert "not computed: is_paper: no weights" in out


def test_compare_excludes_other_sample_counts_with_reason(board: Path, capsys) -> None:
    out = run_compare(board, metrics_record("delta", 100.0, 500), capsys)
    assert "no other row was measured under this protocol" in out
    assert "not compared with alpha (measured) = 80: num_samples: 500 vs 5000" in out


def test_compare_function_skips_own_rows(board: Path) -> None:
    rows = read_csv(board)
    alpha = next(r for r in rows if r["model"] == "alpha")
    (result,) = compare([alpha], rows)
    assert sum(r is alpha for r in result.ranking) == 1
    assert all(r["model"] != "alpha" for r, _ in result.excluded)


def good_row() -> dict[str, object]:
    return {
        "kind": "measured",
        "model": "my_vae",
        "dataset": "CIFAR10",
        "metric": "FID",
        "value": 150.5,
        "protocol": "fsvae-paper",
        "metric_variant": "fid_paper",
        "num_samples": 5000,
        "profile": "paper",
        "seeds": "0,1",
        "source": "my metrics file",
    }


def test_add_appends_atomically(board: Path, tmp_path: Path, monkeypatch) -> None:
    before = board.read_bytes()
    row_file = tmp_path / "row.json"
    row_file.write_text(json.dumps(good_row()))
    replaced = []
    real_replace = os.replace
    monkeypatch.setattr(os, "replace", lambda a, b: (replaced.append((a, b)), real_replace(a, b)))
    assert main(["leaderboard", "add", str(row_file), "--leaderboard", str(board)]) == 0
    assert (
        replaced and Path(replaced[0][1]) == board and Path(replaced[0][0]).parent == board.parent
    )
    after = board.read_bytes()
    assert after.startswith(before)
    last = read_csv(board)[-1]
    assert (last["model"], last["value"], last["num_samples"]) == ("my_vae", "150.5", "5000")
    assert not list(board.parent.glob(".leaderboard.csv.*"))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"dataset": "ImageNet"}, "dataset 'ImageNet'"),
        ({"metric": "LPIPS"}, "metric 'LPIPS'"),
        ({"value": "twelve"}, "'twelve' is not a number"),
        ({"value": float("nan")}, "out of range"),
        ({"kind": "guessed"}, "kind 'guessed'"),
        ({"colour": "red"}, "unknown column"),
        ({"num_samples": -3}, "out of range"),
        ({"seeds": "0;1"}, "comma-separated integers"),
        ({"value": [1, 2]}, "expected text or a number"),
        ({"source": ""}, "'source' is missing"),
    ],
)
def test_add_rejects_malformed_rows_and_keeps_the_csv(
    board: Path, tmp_path: Path, capsys, change: dict[str, object], message: str
) -> None:
    before = board.read_bytes()
    row = {**good_row(), **change}
    row_file = tmp_path / "row.json"
    row_file.write_text(json.dumps(row))
    assert main(["leaderboard", "add", str(row_file), "--leaderboard", str(board)]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert board.read_bytes() == before


def test_add_rejects_duplicates_and_bad_csv(board: Path, tmp_path: Path) -> None:
    before = board.read_bytes()
    duplicate = tmp_path / "dup.json"
    duplicate.write_text(json.dumps([good_row(), good_row()]))
    with pytest.raises(ValueError, match="duplicate row"):
        add_rows(board, duplicate)
    existing = dict(quoted_rows(QUOTED)[0])
    quoted_dup = tmp_path / "quoted_dup.csv"
    quoted_dup.write_text(",".join(existing) + "\n" + ",".join(f'"{v}"' for v in existing.values()))
    with pytest.raises(ValueError, match="duplicate row"):
        add_rows(board, quoted_dup)
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("kind,model\nmeasured,x,extra\n")
    with pytest.raises(ValueError, match="more cells than the header"):
        add_rows(board, ragged)
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        add_rows(board, broken)
    assert board.read_bytes() == before


def test_validate_row_fills_optional_columns() -> None:
    row = validate_row(good_row())
    assert row["std"] == "" and row["value"] == "150.5" and row["num_samples"] == "5000"
