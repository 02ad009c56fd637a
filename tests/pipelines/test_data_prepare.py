"""Preparing the four datasets from the real offline mirror, and the `prepare` command."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from pipelines.cli import main
from pipelines.data import (
    DATASETS,
    ImageArrayDataset,
    NotPreparedError,
    load_meta,
    load_split,
    prepare_dataset,
)
from pipelines.data.checksums import FILE_SUMS

MIRROR_DIRS = {"mnist": "MNIST/", "celeba": "celeba/"}
EXPECTED = {
    "mnist": ((32, 32, 1), True, 60000, 10000),
    "fashion-mnist": ((32, 32, 1), True, 60000, 10000),
    "cifar10": ((32, 32, 3), False, 4000, 5000),
    "celeba": ((64, 64, 3), False, 1800, 200),
}


@pytest.mark.parametrize("dataset", DATASETS)
def test_prepare_shapes_ranges_and_meta(dataset: str, mirror: Path, tmp_path: Path) -> None:
    shape, official, n_train, n_test = EXPECTED[dataset]
    out = prepare_dataset(
        dataset, tmp_path / "data", tmp_path / "prep", mirror=mirror, train_limit=64, test_limit=32
    )
    assert out == tmp_path / "prep" / dataset
    train = load_split(tmp_path / "prep", dataset, "train")
    test = load_split(tmp_path / "prep", dataset, "test")
    assert train.dtype == np.uint8 and train.shape == (64, *shape)
    assert test.shape == (32, *shape)
    assert train.std() > 10  # real images, not blank
    x = torch.stack([ImageArrayDataset(train)[i] for i in range(len(train))])
    assert x.dtype == torch.float32 and x.shape == (64, shape[2], shape[0], shape[1])
    assert x.min() >= -1 and x.max() <= 1 and x.min() == -1

    meta = load_meta(tmp_path / "prep", dataset)
    assert meta["official_split"] is official
    assert meta["subset"] is True  # limited, and/or an offline subset
    assert meta["splits"]["train"]["available"] == n_train
    assert meta["splits"]["test"]["available"] == n_test
    assert meta["splits"]["train"]["count"] == 64
    # Limits shorten the output, never the checksum: whole files were verified.
    assert meta["source"]["files"] and all(f["verified"] for f in meta["source"]["files"])
    assert "2x-1" in meta["preprocessing"]
    if dataset in ("mnist", "fashion-mnist", "cifar10"):
        labels = load_split(tmp_path / "prep", dataset, "train", labels=True)
        assert labels.shape == (64,) and labels.max() <= 9
    if dataset == "cifar10":
        assert meta["source"]["lossy_jpeg"] == {"train": False, "test": True}
    if dataset == "celeba":
        assert any("NOT the official test split" in n for n in meta["source"]["notes"])


def test_celeba_subset_split_is_deterministic(mirror: Path, tmp_path: Path) -> None:
    prepare_dataset("celeba", tmp_path / "data", tmp_path / "prep", mirror=mirror)
    train = load_split(tmp_path / "prep", "celeba", "train")
    test = load_split(tmp_path / "prep", "celeba", "test")
    with np.load(mirror / "celeba/celeba64_crop148_first2000.npz") as data:
        source = data["images"]
    assert np.array_equal(train, source[:1800]) and np.array_equal(test, source[1800:])


def test_prepare_is_idempotent(mirror: Path, tmp_path: Path) -> None:
    args = ("cifar10", tmp_path / "data", tmp_path / "prep")
    out = prepare_dataset(*args, mirror=mirror, train_limit=10, test_limit=10)
    stamp = (out / "train.npz").stat().st_mtime_ns
    prepare_dataset(*args, mirror=mirror, train_limit=10, test_limit=10)
    assert (out / "train.npz").stat().st_mtime_ns == stamp
    # The data-root copies made by the first run are verified and reused without a mirror.
    prepare_dataset(*args, mirror=None, download=False, train_limit=12, test_limit=10)
    assert load_split(tmp_path / "prep", "cifar10", "train").shape[0] == 12


def test_env_mirror_is_used(mirror: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FSVAE_DATA_MIRROR", str(mirror))
    prepare_dataset("celeba", tmp_path / "d", tmp_path / "p", download=False, train_limit=5)
    origin = load_meta(tmp_path / "p", "celeba")["source"]["origin"]
    assert origin == "mirror ($FSVAE_DATA_MIRROR), copied into the data root"


@pytest.mark.parametrize("dataset", ["mnist", "celeba"])
def test_meta_does_not_depend_on_where_the_mirror_is(
    dataset: str, mirror: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two copies of the mirror in different places give byte-identical meta.json files."""
    metas = []
    for place in ("a", "b/deeper"):
        copy = tmp_path / place / "mirror"
        for rel in (r for r in FILE_SUMS if r.startswith(MIRROR_DIRS[dataset])):
            (copy / rel).parent.mkdir(parents=True, exist_ok=True)
            (copy / rel).symlink_to(mirror / rel)
        monkeypatch.setenv("FSVAE_DATA_MIRROR", str(copy))
        monkeypatch.chdir(tmp_path / place)
        prepare_dataset(dataset, "data", "prepared", download=False, train_limit=5, test_limit=5)
        metas.append((tmp_path / place / "prepared" / dataset / "meta.json").read_bytes())
        # Absolute data roots are not recorded either.
        out = prepare_dataset(
            dataset,
            tmp_path / place / "d2",
            tmp_path / place / "p2",
            mirror=copy,
            download=False,
            train_limit=5,
            test_limit=5,
        )
        metas.append((out / "meta.json").read_bytes())
    assert metas[0] == metas[2] and metas[1] == metas[3]
    assert str(tmp_path).encode() not in b"".join(metas)


def test_load_split_not_prepared(tmp_path: Path) -> None:
    with pytest.raises(NotPreparedError, match="fsvae-bench prepare --dataset mnist"):
        load_split(tmp_path, "mnist", "train")


def test_cli_prepare(mirror: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["prepare", "--dataset", "fashion-mnist", "--mirror", str(mirror)]
    argv += ["--data-root", str(tmp_path / "data"), "--out", str(tmp_path / "out")]
    assert main([*argv, "--train-limit", "20", "--test-limit", "10", "--no-download"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["train"] == 20 and summary["test"] == 10 and summary["official_split"]
    assert sorted(p.name for p in (tmp_path / "out/fashion-mnist").iterdir()) == [
        "meta.json",
        "test.npz",
        "train.npz",
    ]


def test_cli_missing_celeba_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FSVAE_DATA_MIRROR", raising=False)
    argv = ["prepare", "--dataset", "celeba", "--no-download"]
    assert main([*argv, "--data-root", str(tmp_path / "d"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "img_align_celeba.zip" in err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("dataset", ["mnist", "cifar10"])
def test_prepare_writes_the_same_meta_however_often_it_runs(
    dataset: str, mirror: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As `dvc repro` runs it: the stage's output is removed, the data root stays filled."""
    import shutil

    monkeypatch.setenv("FSVAE_DATA_MIRROR", str(mirror))
    monkeypatch.chdir(tmp_path)
    cmd = ["prepare", "--dataset", dataset, "--train-limit", "5", "--test-limit", "5"]
    cmd += ["--record", "results/data"]
    metas, records = [], []
    for _ in range(3):
        assert main(cmd) == 0
        metas.append(Path("prepared", dataset, "meta.json").read_bytes())
        records.append(Path("results", "data", f"{dataset}.json").read_bytes())
        shutil.rmtree("prepared")
    assert main([*cmd, "--force"]) == 0
    metas.append(Path("prepared", dataset, "meta.json").read_bytes())
    records.append(Path("results", "data", f"{dataset}.json").read_bytes())
    assert metas[0] == metas[1] == metas[2] == metas[3]
    assert records[0] == records[1] == records[2] == records[3]
    assert b"copied into the data root (data)" in metas[0]
    record = json.loads(records[0])
    assert record["source"] == json.loads(metas[0])["source"] and "versions" not in record
