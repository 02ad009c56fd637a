"""benchmarks/stream_vs_prefix.py end to end at a tiny size."""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from benchmarks.stream_vs_prefix import MODES, compare, main, paired  # noqa: E402


def test_stream_and_prefix_train_evaluate_and_report(prepared_mnist, tmp_path, monkeypatch):
    """Both modes train through the Trainer and get recon MSE and the authors' AFD (no FID)."""
    if not os.environ.get("FSVAE_ASSET_MIRROR"):
        pytest.skip("FSVAE_ASSET_MIRROR is not set: the authors' MNIST autoencoder comes from it")
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "svp.json"
    argv = [
        "--steps", "2", "--seeds", "0", "--T", "4", "--batch", "8", "--threads", "1",
        "--num-test", "32", "--num-samples", "16", "--metrics", "recon_mse,afd_paper",
        "--device", "cpu", "--prepared", str(prepared_mnist), "--cache-dir", str(tmp_path / "c"),
        "--out", str(out), "--no-progress",
    ]  # fmt: skip
    record = main(argv)
    assert json.loads(out.read_text()) == json.loads(json.dumps(record))
    assert record["command"].startswith("python benchmarks/stream_vs_prefix.py --steps 2 ")
    runs = {r["mode"]: r for r in record["runs"]}
    assert sorted(runs) == ["prefix", "stream"]
    for mode, run in runs.items():
        assert run["train_config"]["model_options"] == {"n_steps": 4, "posterior_sampling": mode}
        assert run["train_config"]["max_steps"] == 2 and run["train_config"]["batch_size"] == 8
        assert run["s_per_step"] > 0 and run["eval_seconds"] > 0
        assert set(run["metrics"]) == {"recon_mse", "afd_paper"}
        assert all(math.isfinite(v) and v > 0 for v in run["metrics"].values())
    # At T = 4 the modes train different models (at T = 2 they coincide), so the mode
    # must have reached the model for these to differ.
    assert runs["stream"]["metrics"] != runs["prefix"]["metrics"]
    summary = record["summary"]
    assert set(summary) == {"recon_mse", "afd_paper", "s_per_step"}
    recon = summary["recon_mse"]
    assert recon["per_mode"]["stream"]["mean"] == runs["stream"]["metrics"]["recon_mse"]
    assert recon["per_mode"]["stream"]["std"] is None  # one seed: no spread
    assert recon["stream_minus_prefix"]["within"] is None
    full = record["full_run_extrapolated"]["prefix"]
    assert full["steps"] == 7500 * 150
    assert full["hours"] == pytest.approx(full["steps"] * runs["prefix"]["s_per_step"] / 3600)


def test_paired_differences_remove_what_the_seeds_share():
    runs = [
        {"mode": m, "seed": s, "metrics": {"fid": base + (1.0 if m == "stream" else 0.0) + e}}
        for s, base in enumerate([100.0, 130.0, 160.0])
        for m, e in (("stream", 0.1 * s), ("prefix", 0.0))
    ]
    d = paired(runs, "fid")
    assert d["seeds"] == [0, 1, 2] and d["diffs"] == pytest.approx([1.0, 1.1, 1.2])
    assert d["mean"] == pytest.approx(1.1) and d["std"] == pytest.approx(0.1)
    assert d["t"] == pytest.approx(1.1 / (0.1 / math.sqrt(3))) and d["positive"] == 3
    assert paired([r for r in runs if r["mode"] == "stream"], "fid") is None


def test_difference_is_judged_against_the_seed_spread():
    a = {"mean": 1.0, "std": 0.3, "n": 3}
    b = {"mean": 1.2, "std": 0.4, "n": 3}
    c = compare(a, b)
    assert c["diff"] == pytest.approx(-0.2)
    assert c["pooled_std"] == pytest.approx(math.sqrt(0.125))
    assert c["within"] is True
    assert compare({**a, "mean": 2.0}, b)["within"] is False


def test_bad_options_fail_with_one_line():
    with pytest.raises(SystemExit):
        main(["--metrics", "fid,bogus"])
    with pytest.raises(SystemExit):
        main(["--steps", "0"])


def _part(tmp_path, mode, seeds, **settings):
    """A record as one process of a split run writes it (values made up: merge logic only)."""
    base = {"steps": 3, "T": 4, "batch": 8, "num_test": 32, "num_samples": 16, "num_ref": None}
    base.update(metrics=["recon_mse"], params="profiles/paper.yaml", **settings)
    runs = [
        {"mode": mode, "seed": s, "s_per_step": 1.0 + s, "metrics": {"recon_mse": 0.1 * (s + 1)}}
        for s in seeds
    ]
    record = {"command": f"python benchmarks/stream_vs_prefix.py --modes {mode}", "threads": 1}
    record.update(settings=base, device="cpu", device_name="cpu", torch="x", runs=runs)
    path = tmp_path / f"{mode}_{'_'.join(map(str, seeds))}.json"
    path.write_text(json.dumps(record))
    return str(path)


def test_merge_combines_split_runs_and_checks_their_settings(tmp_path, capsys):
    out = tmp_path / "merged.json"
    a, b = _part(tmp_path, "stream", [0, 1]), _part(tmp_path, "prefix", [0, 1])
    record = main(["--merge", b, a, "--out", str(out)])
    assert json.loads(out.read_text()) == record
    assert [(r["mode"], r["seed"]) for r in record["runs"]] == [
        ("prefix", 0),
        ("prefix", 1),
        ("stream", 0),
        ("stream", 1),
    ]
    recon = record["summary"]["recon_mse"]
    assert list(recon["per_mode"]) == ["stream", "prefix"]  # MODES order, whatever the files'
    assert recon["per_mode"]["stream"]["mean"] == pytest.approx(0.15)
    assert recon["stream_minus_prefix"]["diff"] == pytest.approx(0.0)
    assert recon["paired"]["diffs"] == [0.0, 0.0] and recon["paired"]["t"] is None
    assert len(record["commands"]) == 2
    table = capsys.readouterr().out
    assert "| recon_mse | 0.1, 0.2; **0.15 ± 0.07071** | 0.1, 0.2; **0.15 ± 0.07071** |" in table
    with pytest.raises(SystemExit, match="settings differ"):
        main(["--merge", a, _part(tmp_path, "prefix", [2], T=8), "--out", str(out)])
    with pytest.raises(SystemExit, match="repeat"):
        main(["--merge", a, _part(tmp_path, "stream", [1, 2]), "--out", str(out)])


def test_merge_reads_paths_from_the_repository_root(tmp_path, monkeypatch):
    """The committed evidence parts merge from any working folder (like --out, --prepared)."""
    monkeypatch.chdir(tmp_path)
    parts = [
        f"benchmarks/results/stream_vs_prefix_{m}{s}.json"
        for m in ("stream", "prefix")
        for s in ("", "_seeds34")
    ]
    record = main(["--merge", *parts, "--out", str(tmp_path / "all.json")])
    seeds = {m: sorted(r["seed"] for r in record["runs"] if r["mode"] == m) for m in MODES}
    assert seeds == {"stream": [0, 1, 2, 3, 4], "prefix": [0, 1, 2, 3, 4]}
    assert (tmp_path / "all.json").is_file()


def test_merge_of_a_bad_part_fails_with_one_line_and_writes_nothing(tmp_path):
    out = tmp_path / "merged.json"
    good = _part(tmp_path, "stream", [0])
    with pytest.raises(SystemExit, match="cannot read it"):
        main(["--merge", good, str(tmp_path / "missing.json"), "--out", str(out)])
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(SystemExit, match="cannot read it"):
        main(["--merge", good, str(broken), "--out", str(out)])
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"settings": {}, "runs": []}))
    with pytest.raises(SystemExit, match="not a part record"):
        main(["--merge", str(other), good, "--out", str(out)])
    assert not out.exists()
