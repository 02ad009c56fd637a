"""Table 1 and figures from small synthetic metrics files (values here exist only in tests)."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from pipelines.cli import main
from pipelines.metrics.diversity import Diversity, diversity_path, write_diversity
from pipelines.report.measurements import load_measurements

REPO = Path(__file__).resolve().parents[2]
QUOTED = REPO / "quoted" / "published-results.csv"
IS_REASON = "no ImageNet Inception weights here"


def write_metrics(folder: Path, name: str, seed: int, values: dict[str, float | None]) -> Path:
    """Write a metrics record shaped like the evaluate stage's output."""
    metrics: dict[str, object] = {}
    for key, value in values.items():
        metrics[key] = value
        if value is None:
            metrics[f"{key}_unavailable"] = IS_REASON if key.startswith("is") else "missing stats"
        elif key == "recon_mse":
            metrics.update(recon_mse_num_images=100, recon_mse_split="test")
        else:
            metrics.update({f"{key}_num_gen": 200, f"{key}_num_ref": 100})
    dataset, model = name.split("_", 1)
    record = {
        "model": model,
        "dataset": dataset,
        "config": {"image_size": 32},
        "eval_settings": {"seed": seed},
        "metrics": metrics,
    }
    path = folder / f"{name}_seed{seed}.json"
    path.write_text(json.dumps(record))
    return path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A tmp project: params, a data record, metrics for fsvae (3 seeds) and ann_vae, logs."""
    (tmp_path / "params.yaml").write_text(
        "profile: quick\npipeline: {datasets: [mnist], models: [ann_vae, fsvae]}\n"
        "data: {prepared: prepared, train_limit: 300}\ntrain: {epochs: 1, batch_size: 8}\n"
    )
    meta = {
        "source": {"kind": "official", "origin": "test", "notes": []},
        "official_split": True,
        "splits": {"test": {"count": 100, "available": 10000}},
    }
    (tmp_path / "data").mkdir(parents=True)
    (tmp_path / "data" / "mnist.json").write_text(json.dumps(meta))
    metrics = tmp_path / "metrics"
    metrics.mkdir()
    for seed, recon in enumerate((0.30, 0.32, 0.34)):
        write_metrics(
            metrics,
            "mnist_fsvae",
            seed,
            {"recon_mse": recon, "is_paper": None, "is": None, "fid": 250.0, "afd_paper": 90.0},
        )
    write_metrics(metrics, "mnist_ann_vae", 0, {"recon_mse": 0.25, "fid_paper": 300.0})
    run = tmp_path / "runs" / "mnist" / "fsvae"
    run.mkdir(parents=True)
    (run / "train_log.csv").write_text("epoch,step,loss,images_per_s\n0,5,0.5,10\n0,10,0.4,11\n")
    (run / "test_log.csv").write_text("epoch,step,loss,recon\n1,10,0.41,0.39\n")
    return tmp_path


def run_tables(project: Path) -> Path:
    out = project / "tables"
    args = ["tables", "--metrics-dir", str(project / "metrics"), "--out-dir", str(out)]
    args += ["--params", str(project / "params.yaml"), "--quoted", str(QUOTED)]
    args += ["--samples-dir", str(project / "samples")]
    assert main([*args, "--data-records", str(project / "data")]) == 0
    return out


def table_csv(out: Path) -> dict[tuple[str, str], dict[str, str]]:
    with open(out / "table1.csv", newline="") as handle:
        return {(r["model"], r["metric"]): r for r in csv.DictReader(handle)}


def quoted_value(model: str, dataset: str, metric: str) -> str:
    with open(QUOTED, newline="") as handle:
        for r in csv.DictReader(handle):
            if (r["model"], r["dataset"], r["metric"], r["protocol"]) == (
                model,
                dataset,
                metric,
                "fsvae-paper",
            ):
                return r["value"]
    raise AssertionError("row missing from the quoted file")


def test_paper_values_come_from_the_quoted_file(project: Path) -> None:
    rows = table_csv(run_tables(project))
    for model, quoted_model in (("fsvae", "FSVAE"), ("ann_vae", "ANN VAE (FSVAE baseline)")):
        for metric in ("recon_mse", "IS", "FID", "FAD"):
            assert rows[(model, metric)]["paper_quoted"] == quoted_value(
                quoted_model, "MNIST", metric
            )


def test_paper_values_follow_an_edited_quoted_file(project: Path, tmp_path: Path) -> None:
    text = QUOTED.read_text().replace("MNIST,FID,97.06,", "MNIST,FID,1234.5,")
    edited = tmp_path / "quoted.csv"
    edited.write_text(text)
    out = project / "tables"
    args = ["tables", "--metrics-dir", str(project / "metrics"), "--out-dir", str(out)]
    args += ["--params", str(project / "params.yaml"), "--quoted", str(edited)]
    assert main([*args, "--data-records", str(project / "data")]) == 0
    assert table_csv(out)[("fsvae", "FID")]["paper_quoted"] == "1234.5"


def test_seeds_are_mean_and_std(project: Path) -> None:
    out = run_tables(project)
    row = table_csv(out)[("fsvae", "recon_mse")]
    assert float(row["ours"]) == pytest.approx(0.32)
    assert float(row["ours_std"]) == pytest.approx(0.02)
    assert row["ours_seeds"] == "0,1,2"
    assert float(row["difference"]) == pytest.approx(0.32 - float(row["paper_quoted"]))
    assert "0.32 ± 0.02 (3 seeds)" in (out / "table1.md").read_text()


def test_unavailable_shown_with_reason(project: Path) -> None:
    out = run_tables(project)
    rows = table_csv(out)
    assert rows[("fsvae", "IS")]["ours"] == ""
    assert rows[("fsvae", "IS")]["ours_unavailable"] == IS_REASON
    assert rows[("fsvae", "IS")]["difference"] == ""
    assert "no metrics file" in rows[("fsvae", "FID")]["ours_unavailable"]
    md = (out / "table1.md").read_text()
    number = re.search(rf"^\[\^(\d+)\]: {IS_REASON}$", md, re.MULTILINE)
    assert number is not None and f"n/a[^{number.group(1)}]" in md
    assert IS_REASON in (out / "table1.tex").read_text()


def test_other_protocol_has_its_own_column_and_no_difference(project: Path) -> None:
    row = table_csv(run_tables(project))[("fsvae", "FID")]
    assert row["other_variant"] == "fid" and row["other_protocol"] == "pytorch-fid"
    assert float(row["other"]) == 250.0
    assert row["difference"] == ""
    ann = table_csv(project / "tables")[("ann_vae", "FID")]
    assert ann["ours_variant"] == "fid_paper" and float(ann["ours"]) == 300.0
    assert float(ann["difference"]) == pytest.approx(300.0 - float(ann["paper_quoted"]))


def test_every_table_states_the_profile(project: Path) -> None:
    out = run_tables(project)
    for suffix in ("md", "tex"):
        text = (out / f"table1.{suffix}").read_text()
        assert "quick" in text and "NOT comparable in value" in text
    assert {r["profile"] for r in table_csv(out).values()} == {"quick"}
    assert "official data" in table_csv(out)[("fsvae", "IS")]["data"]


def test_a_collapsed_model_is_marked_in_every_table(project: Path) -> None:
    assert "COLLAPSED" not in (run_tables(project) / "table1.md").read_text()
    # What the sample stage records for 64 identical samples (values of this test only).
    samples = project / "samples"
    write_diversity(diversity_path(samples, "mnist_fsvae"), Diversity(64, 1, 0.0, 0.3))
    write_diversity(diversity_path(samples, "mnist_ann_vae"), Diversity(64, 64, 0.1, 0.3))
    out = run_tables(project)
    md = (out / "table1.md").read_text()
    assert "**fsvae (COLLAPSED: samples all alike)**: 1 distinct of 64 samples" in md
    assert "| fsvae (COLLAPSED" in md and "| ann_vae (COLLAPSED" not in md
    rows = table_csv(out)
    assert "1 distinct of 64" in rows[("fsvae", "FID")]["sample_collapse"]
    assert rows[("ann_vae", "FID")]["sample_collapse"] == ""
    assert "COLLAPSED" in (out / "table1.tex").read_text()


def test_seeds_with_different_sample_counts_are_refused(project: Path) -> None:
    path = project / "metrics" / "mnist_fsvae_seed2.json"
    record = json.loads(path.read_text())
    record["metrics"]["fid_num_gen"] = 999
    path.write_text(json.dumps(record))
    with pytest.raises(ValueError, match="fid used 999 images"):
        load_measurements(project / "metrics")


def test_figures_render(project: Path) -> None:
    out = project / "figures"
    args = ["figures", "--metrics-dir", str(project / "metrics"), "--out-dir", str(out)]
    args += ["--params", str(project / "params.yaml"), "--quoted", str(QUOTED)]
    args += ["--runs-dir", str(project / "runs"), "--data-records", str(project / "data")]
    assert main(args) == 0
    names = {p.name for p in out.glob("*.png")}
    assert {"recon_mse.png", "IS.png", "FID.png", "FAD.png", "loss_mnist_fsvae.png"} <= names
    assert "loss_mnist_ann_vae.png" not in names  # no training log for it


def test_values_under_another_protocol_are_marked(project: Path) -> None:
    """Two copies of our autoencoder, or other sample counts: marked where the numbers stand."""
    metrics = project / "metrics"
    for path in metrics.glob("mnist_fsvae_seed*.json"):
        path.unlink()
    for name, sha, n in (("mnist_ann_vae", "aa", 200), ("mnist_fsvae", "bb", 200)):
        path = write_metrics(metrics, name, 0, {"recon_mse": 0.3, "afd_own": 40.0, "fid": 9.0})
        record = json.loads(path.read_text())
        record["metrics"]["afd_own_weights_sha256"] = sha * 32
        record["metrics"]["fid_num_gen"] = n if name.endswith("ann_vae") else 100
        record["config"]["n_steps"] = None if name.endswith("ann_vae") else 4
        path.write_text(json.dumps(record))
    out = run_tables(project)
    rows = table_csv(out)
    assert rows[("ann_vae", "FAD")]["other_not_comparable"] == ""
    why = rows[("fsvae", "FAD")]["other_not_comparable"]
    assert why == (
        "not comparable with ann_vae's: feature_network: our autoencoder sha256:bbbbbbbbbbbb "
        "vs our autoencoder sha256:aaaaaaaaaaaa"
    )
    assert "num_samples: 100 vs 200" in rows[("fsvae", "FID")]["other_not_comparable"]
    assert rows[("fsvae", "FAD")]["T"] == "4" and rows[("ann_vae", "FAD")]["T"] == ""
    md = (out / "table1.md").read_text()
    note = re.search(rf"^\[\^(c\d+)\]: {re.escape(why)}$", md, re.MULTILINE)
    assert note is not None and f"AFD, our autoencoder: 40 (not comparable[^{note[1]}])" in md
    assert "| Inception Score (higher is better) | fsvae (T=4) |" in md
    tex = (out / "table1.tex").read_text()
    assert r"40 (not comparable$^{\dagger2}$)" in tex and r"$^{\dagger2}$ not comparable" in tex
