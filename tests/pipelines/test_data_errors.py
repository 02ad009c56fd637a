"""Missing, corrupted and truncated inputs give one clear error and leave nothing behind."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from torchvision import datasets as tvd

from pipelines.data import (
    ChecksumError,
    DataNotFoundError,
    NotPreparedError,
    load_split,
    prepare_dataset,
)
from pipelines.data import prepare as prepare_module

MNIST_FILES = [
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
]


@pytest.fixture(autouse=True)
def _no_env_mirror(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FSVAE_DATA_MIRROR", raising=False)


def _tmp_mirror(mirror: Path, tmp: Path, rels: list[str]) -> Path:
    for rel in rels:
        (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(mirror / rel, tmp / rel)
    return tmp


def _leftovers(*roots: Path) -> list[Path]:
    return [p for root in roots if root.exists() for p in root.rglob("*") if ".tmp" in p.name]


def _assert_nothing_written(tmp_path: Path, bad: str) -> None:
    assert not (tmp_path / "prep").exists()
    assert not (tmp_path / "data" / bad).exists()  # a bad file never lands in the data root
    assert _leftovers(tmp_path) == []


def test_corrupted_mirror_file(mirror: Path, tmp_path: Path) -> None:
    rel = "MNIST/raw/t10k-images-idx3-ubyte.gz"
    fake = _tmp_mirror(mirror, tmp_path / "mirror", [f"MNIST/raw/{n}" for n in MNIST_FILES])
    with open(fake / rel, "r+b") as handle:
        handle.seek(5000)
        byte = handle.read(1)
        handle.seek(5000)
        handle.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(ChecksumError) as info:
        prepare_dataset("mnist", tmp_path / "data", tmp_path / "prep", mirror=fake, download=False)
    message = str(info.value)
    assert str(fake / rel) in message and "corrupted" in message and "MANIFEST.md" in message
    assert "\n" not in message
    _assert_nothing_written(tmp_path, rel)


def test_truncated_mirror_npz(mirror: Path, tmp_path: Path) -> None:
    rel = "celeba/celeba64_crop148_first2000.npz"
    fake = _tmp_mirror(mirror, tmp_path / "mirror", [rel])
    with open(fake / rel, "r+b") as handle:
        handle.truncate(1_000_000)
    with pytest.raises(ChecksumError, match=r"truncated \(1000000 of 22406504 bytes\)"):
        prepare_dataset("celeba", tmp_path / "data", tmp_path / "prep", mirror=fake, train_limit=3)
    _assert_nothing_written(tmp_path, rel)


def test_truncated_file_in_data_root(mirror: Path, tmp_path: Path) -> None:
    data = _tmp_mirror(mirror, tmp_path / "data", [f"MNIST/raw/{n}" for n in MNIST_FILES])
    bad = data / "MNIST/raw/train-labels-idx1-ubyte.gz"
    bad.write_bytes(bad.read_bytes()[:1000])
    with pytest.raises(ChecksumError, match=r"truncated \(1000 of 28881 bytes\)\. Delete ") as info:
        prepare_dataset("mnist", data, tmp_path / "prep", mirror=mirror, download=False)
    assert str(bad) in str(info.value)
    assert not (tmp_path / "prep").exists()


def test_missing_mnist_offline(tmp_path: Path) -> None:
    with pytest.raises(DataNotFoundError, match="FSVAE_DATA_MIRROR") as info:
        prepare_dataset("mnist", tmp_path / "data", tmp_path / "prep", download=False)
    assert "train-images-idx3-ubyte.gz" in str(info.value)
    assert not (tmp_path / "prep").exists()


def test_missing_celeba_names_the_files(tmp_path: Path) -> None:
    with pytest.raises(DataNotFoundError) as info:
        prepare_dataset("celeba", tmp_path / "data", tmp_path / "prep", download=False)
    message = str(info.value)
    for name in (
        "img_align_celeba.zip",
        "list_eval_partition.txt",
        "list_attr_celeba.txt",
        "identity_CelebA.txt",
        "list_bbox_celeba.txt",
        "list_landmarks_align_celeba.txt",
    ):
        assert name in message
    assert str(tmp_path / "data" / "celeba") in message and "drive.google.com" in message
    assert isinstance(info.value, FileNotFoundError)
    assert not (tmp_path / "prep").exists()


def test_incomplete_official_celeba(tmp_path: Path) -> None:
    (tmp_path / "data/celeba/img_align_celeba").mkdir(parents=True)
    with pytest.raises(DataNotFoundError, match="list_eval_partition.txt"):
        prepare_dataset("celeba", tmp_path / "data", tmp_path / "prep", download=False)


def test_missing_mirror_file(tmp_path: Path) -> None:
    (tmp_path / "mirror").mkdir()
    with pytest.raises(DataNotFoundError, match="cifar10_train_batch1_first4000.npz"):
        prepare_dataset("cifar10", tmp_path / "data", tmp_path / "prep", mirror=tmp_path / "mirror")


def test_failure_while_writing_leaves_no_partial_output(
    mirror: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = ("cifar10", tmp_path / "data", tmp_path / "prep")
    prepare_dataset(*args, mirror=mirror, train_limit=8, test_limit=8)
    before = (tmp_path / "prep/cifar10/train.npz").read_bytes()
    real_savez = np.savez

    def savez_then_fail(handle, **arrays):  # type: ignore[no-untyped-def]
        real_savez(handle, **arrays)
        if arrays["images"].shape[0] == 5:  # the test split: after train was replaced
            handle.truncate(100)
            raise OSError("disk full")

    monkeypatch.setattr(prepare_module.np, "savez", savez_then_fail)
    with pytest.raises(OSError, match="disk full"):
        prepare_dataset(*args, mirror=mirror, train_limit=9, test_limit=5)
    out = tmp_path / "prep/cifar10"
    assert _leftovers(tmp_path) == []
    assert (out / "test.npz").stat().st_size > 100  # the old test file, untouched
    assert (out / "train.npz").read_bytes() != before  # train was already replaced ...
    with pytest.raises(NotPreparedError):  # ... but without meta nothing is trusted
        load_split(tmp_path / "prep", "cifar10", "train")
    monkeypatch.undo()
    prepare_dataset(*args, mirror=mirror, train_limit=9, test_limit=5)
    assert load_split(tmp_path / "prep", "cifar10", "test").shape[0] == 5


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown dataset"):
        prepare_dataset("svhn", tmp_path, tmp_path)
    with pytest.raises(ValueError, match="train_limit"):
        prepare_dataset("mnist", tmp_path, tmp_path, train_limit=0)
    with pytest.raises(ValueError, match="unknown split"):
        load_split(tmp_path, "mnist", "valid")


def _offline(*args, **kwargs):  # type: ignore[no-untyped-def]
    raise RuntimeError("Error downloading: <urlopen error [Errno -3] name resolution>")


def test_failed_mnist_download_says_use_a_mirror(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tvd.MNIST, "download", _offline)
    with pytest.raises(DataNotFoundError, match="downloading mnist .* failed .*FSVAE_DATA_MIRROR"):
        prepare_dataset("mnist", tmp_path / "data", tmp_path / "prep", download=True)
    assert not (tmp_path / "prep").exists()


def test_failed_celeba_download_gives_manual_steps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tvd.CelebA, "download", _offline)
    with pytest.raises(DataNotFoundError, match="fetched by hand.*list_eval_partition.txt"):
        prepare_dataset("celeba", tmp_path / "data", tmp_path / "prep", download=True)


def test_failed_cifar_download(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tvd.CIFAR10, "download", _offline)
    with pytest.raises(DataNotFoundError, match="cifar10: downloading .* failed"):
        prepare_dataset("cifar10", tmp_path / "data", tmp_path / "prep", download=True)
