"""Our feature autoencoders as shared assets: the committed files, the stage, their use."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from pipelines.cli import main
from pipelines.data import load_meta
from pipelines.metrics import autoencoder_identity as ident
from pipelines.metrics.autoencoder import load_own_autoencoder
from pipelines.metrics.protocol import MetricUnavailable

REPO = Path(__file__).resolve().parents[3]
STEPS, BATCH, SEED = 2, 16, 0


@pytest.mark.parametrize("dataset", sorted(ident.PUBLISHED))
def test_the_committed_network_is_the_published_one(dataset: str) -> None:
    ref = ident.PUBLISHED[dataset]
    path = ident.verified_path(ref)  # raises unless the weights hash to ref.sha256
    assert path == REPO / "assets" / "feature-autoencoders" / f"{dataset}.pt"
    _, record = load_own_autoencoder(path)
    assert (record["steps"], record["batch_size"], record["seed"]) == (
        ref.steps,
        ref.batch_size,
        ref.seed,
    )
    assert record["runtime"]["cpu_threads"] == ref.cpu_threads
    # Trained on the data whose provenance the committed results record.
    data = json.loads((REPO / "results" / "data" / f"{dataset}.json").read_text())["splits"]
    assert (data["train"]["sha256"], data["test"]["sha256"]) == (ref.train_sha256, ref.test_sha256)
    assert record["test_count"] == data["test"]["count"]
    # And the quick profile is the one that trains it.
    quick = (REPO / "profiles" / "quick.yaml").read_text()
    assert f"  steps: {ref.steps}\n  batch_size: {ref.batch_size}\n" in quick


def test_every_committed_afd_own_value_used_a_published_network() -> None:
    for record in (REPO / "results" / "metrics").glob("*.json"):
        m = json.loads(record.read_text())
        if m["metrics"].get("afd_own") is not None:
            sha = m["metrics"]["afd_own_weights_sha256"]
            assert sha == ident.PUBLISHED[m["dataset"]].sha256, record.name


def _train(prepared: Path, out: Path, *extra: str) -> tuple[int, dict]:
    record = out.with_suffix(".json")
    argv = ["autoencoder", "--dataset", "mnist", "--prepared", str(prepared), "--out", str(out)]
    argv += ["--steps", str(STEPS), "--batch-size", str(BATCH), "--seed", str(SEED)]
    argv += ["--device", "cpu", "--record", str(record), *extra]
    rc = main(argv)
    return rc, json.loads(record.read_text()) if record.is_file() else {}


def _publish(monkeypatch, prepared: Path, network: Path) -> ident.PublishedAutoencoder:
    """Declare ``network`` the published MNIST autoencoder for the tiny settings."""
    splits = load_meta(prepared, "mnist")["splits"]
    ref = ident.PublishedAutoencoder(
        "mnist", STEPS, BATCH, SEED, torch.get_num_threads(),
        ident.file_weights_sha256(network), splits["train"]["sha256"], splits["test"]["sha256"],
        str(network),
    )  # fmt: skip
    monkeypatch.setattr(ident, "PUBLISHED", {"mnist": ref})
    return ref


def test_the_stage_places_the_published_network_and_compares_the_retrained_one(
    prepared_mnist: Path, tmp_path: Path, monkeypatch, capsys
) -> None:
    rc, alone = _train(prepared_mnist, tmp_path / "alone.pt")
    assert rc == 0 and alone["network"] == "retrained" and alone["matches_published"] is None
    retrained = alone["retrained_sha256"]
    # Another network published (seed 1): OUT holds it, the retrained one is only compared.
    other = tmp_path / "other.pt"
    assert main(["autoencoder", "--dataset", "mnist", "--prepared", str(prepared_mnist),
                 "--out", str(other), "--steps", str(STEPS), "--batch-size", str(BATCH),
                 "--seed", "1", "--device", "cpu"]) == 0  # fmt: skip
    ref = _publish(monkeypatch, prepared_mnist, other)
    capsys.readouterr()
    rc, rec = _train(prepared_mnist, tmp_path / "out.pt")
    assert rc == 0 and rec["network"] == "published" and rec["matches_published"] is False
    assert ident.file_weights_sha256(tmp_path / "out.pt") == ref.sha256 == rec["out_sha256"]
    assert rec["retrained_sha256"] == retrained
    assert "holds the published network" in capsys.readouterr().err
    # --no-published: the retrained one, ranked apart.
    rc, rec = _train(prepared_mnist, tmp_path / "mine.pt", "--no-published")
    assert rec["network"] == "retrained" and rec["out_sha256"] == retrained
    assert ident.file_weights_sha256(tmp_path / "mine.pt") == retrained
    # The retrained network published: reproduced.
    ref = _publish(monkeypatch, prepared_mnist, tmp_path / "mine.pt")
    rc, rec = _train(prepared_mnist, tmp_path / "again.pt")
    assert rec["matches_published"] is True and rec["out_sha256"] == retrained


def test_other_settings_or_data_make_another_network(
    prepared_mnist: Path, tmp_path: Path, monkeypatch
) -> None:
    net = tmp_path / "net.pt"
    assert _train(prepared_mnist, net)[0] == 0
    ref = _publish(monkeypatch, prepared_mnist, net)
    assert ident.published_for("mnist", prepared_mnist, (STEPS + 1, BATCH, SEED))[0] is None
    monkeypatch.setattr(ident, "PUBLISHED", {"mnist": replace(ref, test_sha256="0" * 64)})
    found, why = ident.published_for("mnist", prepared_mnist, (STEPS, BATCH, SEED))
    assert found is None and "not the data the published network was trained on" in why
    rc, rec = _train(prepared_mnist, tmp_path / "out.pt")
    assert rec["network"] == "retrained" and rec["matches_published"] is None
    assert ident.published_for("mnist", tmp_path / "nothing")[0] is None


def test_a_damaged_published_file_fails_before_training(
    prepared_mnist: Path, tmp_path: Path, monkeypatch, capsys
) -> None:
    net = tmp_path / "net.pt"
    assert _train(prepared_mnist, net)[0] == 0
    _publish(monkeypatch, prepared_mnist, net)
    ae, record = load_own_autoencoder(net)
    with torch.no_grad():
        next(ae.parameters()).add_(1.0)
    torch.save({**record, "state_dict": ae.state_dict()}, net)
    out = tmp_path / "out.pt"
    assert _train(prepared_mnist, out)[0] == 2
    assert "not the published" in capsys.readouterr().err
    assert not out.exists() and not list(tmp_path.glob(".out.pt*"))


def test_evaluate_and_score_use_the_published_network_without_the_stage(
    prepared_mnist: Path, tmp_path: Path, monkeypatch
) -> None:
    from pipelines.metrics.evaluate import EvalSettings
    from pipelines.metrics.registry import MetricContext, metric_spec

    net = tmp_path / "net.pt"
    assert _train(prepared_mnist, net)[0] == 0
    settings = EvalSettings(metrics=["afd_own"], cache_dir=str(tmp_path / "cache"))
    context = MetricContext("mnist", prepared_mnist, settings)
    with pytest.raises(MetricUnavailable, match="run the autoencoder stage"):
        metric_spec("afd_own").build(context)
    ref = _publish(monkeypatch, prepared_mnist, net)
    assert metric_spec("afd_own").build(context).weights_path == ref.path
    # Recorded relative to the working folder (a record may be committed and shared).
    monkeypatch.chdir(tmp_path)
    assert metric_spec("afd_own").build(context).weights_path == Path("net.pt")
    # The stage's network, when there is one, comes first.
    stage = tmp_path / "cache" / "autoencoders" / "mnist.pt"
    stage.parent.mkdir(parents=True)
    stage.write_bytes(net.read_bytes())
    assert metric_spec("afd_own").build(context).weights_path == stage
    # A published network missing from the checkout: unavailable, with the reason.
    stage.unlink()
    net.unlink()
    with pytest.raises(MetricUnavailable, match="missing from"):
        metric_spec("afd_own").build(context)


def test_the_committed_stage_records_name_the_published_networks() -> None:
    records = sorted((REPO / "results" / "autoencoders").glob("*.json"))
    assert {r.stem for r in records} == set(ident.PUBLISHED)
    for path in records:
        record = json.loads(path.read_text())
        ref = ident.PUBLISHED[record["dataset"]]
        assert record["network"] == "published" and record["out_sha256"] == ref.sha256
        assert record["published_sha256"] == ref.sha256
        # Retraining on this project's machine reproduced it.
        assert record["matches_published"] is True and record["retrained_sha256"] == ref.sha256
