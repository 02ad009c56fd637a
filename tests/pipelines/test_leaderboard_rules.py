"""Leaderboard rows must agree with themselves: one test per contradiction kind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines.cli import main
from pipelines.metrics.registry import variants
from pipelines.report.leaderboard import measured_rows, quoted_rows, to_csv_text
from pipelines.report.leaderboard_commands import validate_row
from pipelines.report.leaderboard_rules import check_combination
from pipelines.report.measurements import (
    TEST_SPLITS,
    DataInfo,
    Measurement,
    reference_split,
)

REPO = Path(__file__).resolve().parents[2]
QUOTED = REPO / "quoted" / "published-results.csv"


def row(**change: object) -> dict[str, object]:
    """A consistent paper-protocol FID row, with changes."""
    base: dict[str, object] = {
        "kind": "measured",
        "model": "esvae",  # model names are open: any name is accepted
        "dataset": "MNIST",
        "metric": "FID",
        "value": 101.5,
        "metric_variant": "fid_paper",
        "protocol": "fsvae-paper",
        "feature_network": "FID Inception TF 2015-12-05, clean-fid clean mode",
        "num_samples": 5000,
        "reference_split": "authors' statistics",
        "source": "my metrics file",
    }
    return {**base, **change}


@pytest.fixture
def board(tmp_path: Path) -> Path:
    path = tmp_path / "leaderboard.csv"
    path.write_text(to_csv_text(quoted_rows(QUOTED)[:8]))
    return path


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"protocol": "pytorch-fid"},
            "metric_variant 'fid_paper' belongs to protocol 'fsvae-paper', but protocol is "
            "'pytorch-fid'",
        ),
        ({"metric": "IS"}, "metric_variant 'fid_paper' measures FID, but metric is 'IS'"),
        (
            {"metric_variant": "", "protocol": "pytorch-fid", "metric": "IS"},
            "protocol 'pytorch-fid' measures ['FID'], but metric is 'IS'",
        ),
        (
            {"feature_network": "our autoencoder"},
            "feature_network 'our autoencoder' contradicts metric_variant 'fid_paper'",
        ),
        (
            {
                "metric_variant": "",
                "protocol": "standard-IS",
                "metric": "IS",
                "reference_split": "",
            },
            "feature_network 'FID Inception TF 2015-12-05, clean-fid clean mode' contradicts "
            "protocol 'standard-IS'",
        ),
        (
            {"reference_split": "official test split, 5000 images"},
            "reference_split 'official test split, 5000 images' contradicts metric_variant "
            "'fid_paper'",
        ),
        (
            {
                "metric_variant": "fid",
                "protocol": "pytorch-fid",
                "feature_network": "FID Inception TF 2015-12-05, pytorch-fid",
            },
            "reference_split \"authors' statistics\" contradicts metric_variant 'fid'",
        ),
        ({"metric_variant": "fid_v2"}, "metric_variant 'fid_v2': one of"),
    ],
    ids=[
        "variant-protocol",
        "variant-metric",
        "protocol-metric",
        "variant-network",
        "protocol-network",
        "variant-fixed-reference",
        "variant-test-split-reference",
        "unknown-variant",
    ],
)
def test_add_refuses_a_contradiction_naming_both_fields(
    board: Path, tmp_path: Path, capsys, change: dict[str, object], message: str
) -> None:
    before = board.read_bytes()
    row_file = tmp_path / "row.json"
    row_file.write_text(json.dumps(row(**change)))
    assert main(["leaderboard", "add", str(row_file), "--leaderboard", str(board)]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert board.read_bytes() == before


def test_consistent_rows_are_added(board: Path, tmp_path: Path) -> None:
    rows = [
        row(),
        row(
            metric="FAD",
            metric_variant="afd_own",
            protocol="own-autoencoder",
            feature_network="our autoencoder sha256:0123456789ab",
            reference_split="test split of an offline subset, 500 images",
        ),
        row(metric_variant="", protocol="own (not comparable)", feature_network="x", T=4),
        row(metric="recon_mse", metric_variant="", feature_network="", reference_split=""),
    ]
    before = board.read_bytes()
    row_file = tmp_path / "rows.json"
    row_file.write_text(json.dumps(rows))
    assert main(["leaderboard", "add", str(row_file), "--leaderboard", str(board)]) == 0
    assert board.read_bytes().startswith(before)


def test_every_row_the_pipeline_writes_passes_the_same_table(tmp_path: Path) -> None:
    for r in quoted_rows(QUOTED):
        validate_row(r)
    fields = {"num_gen": 10, "num_images": 10, "num_ref": 500, "weights_sha256": "ab" * 32}
    ms = [Measurement("mnist", "m", v, [1.0], [0], [], dict(fields), ["f"]) for v in variants()]
    written = measured_rows(ms, tmp_path, "quick")
    assert {r["metric_variant"] for r in written} == {v.key for v in variants()}
    for r in written:
        validate_row(r)
        # Another variant's network is a contradiction: the table decides, per variant.
        for other in {v.network for v in variants()} - {r["feature_network"].split(" sha256:")[0]}:
            with pytest.raises(ValueError, match="feature_network"):
                check_combination({**r, "feature_network": other})
    for info in (DataInfo(True, 10, ""), DataInfo(False, 10, ""), DataInfo(None, None, "")):
        for m in ms:
            ref = reference_split(m, info)
            check_combination(
                {
                    **next(r for r in written if r["metric_variant"] == m.variant.key),
                    "reference_split": ref,
                }
            )
            assert ref.split(",")[0] in (*TEST_SPLITS, m.variant.reference)
