"""Our stored-uint8 path equals the reference transform chain bit for bit on real images.

The authors' published statistics hold only for pixel-identical inputs, so the exact
``Resize`` on the PIL image, ``ToTensor`` and ``2x - 1`` must be reproduced exactly.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision import datasets as tvd
from torchvision import transforms

from pipelines.data import ImageArrayDataset, load_split, prepare_dataset, reference_transform
from pipelines.data.checksums import CELEBA_ORIG32_DIR, CELEBA_ORIG32_SHA256, FILE_SUMS
from pipelines.data.prepare import preprocess_split
from pipelines.data.sources import RawSplit

SET_RANGE = transforms.Lambda(lambda x: 2 * x - 1.0)  # the reference's SetRange


@pytest.fixture(scope="module")
def celeba_originals(mirror: Path) -> list[Path]:
    files = sorted((mirror / CELEBA_ORIG32_DIR).glob("*.jpg"))
    digest = hashlib.sha256(b"".join(f.read_bytes() for f in files)).hexdigest()
    assert len(files) == 32 and digest == CELEBA_ORIG32_SHA256, "CelebA originals changed"
    return files


def _stack(dataset: ImageArrayDataset) -> torch.Tensor:
    return torch.stack([dataset[i] for i in range(len(dataset))])


@pytest.mark.parametrize("cls,name", [(tvd.MNIST, "mnist"), (tvd.FashionMNIST, "fashion-mnist")])
def test_idx_datasets_match_reference_chain(
    cls: type[tvd.MNIST], name: str, mirror: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    tmp = tmp_path_factory.mktemp(name)
    n = 3000
    prepare_dataset(name, tmp / "data", tmp / "prep", mirror=mirror, train_limit=n, test_limit=n)
    reference = transforms.Compose([transforms.Resize((32, 32)), transforms.ToTensor(), SET_RANGE])
    for split, train in (("train", True), ("test", False)):
        # torchvision reads the raw files our prepare step copied and verified (no network:
        # it finds the .gz files with the right md5 and only extracts them).
        ref = cls(str(tmp / "data"), train=train, download=True, transform=reference)
        expected = torch.stack([ref[i][0] for i in range(n)])
        ours = _stack(ImageArrayDataset(load_split(tmp / "prep", name, split)))
        assert ours.dtype == expected.dtype and torch.equal(ours, expected)
        labels = load_split(tmp / "prep", name, split, labels=True)
        assert np.array_equal(labels, ref.targets[:n].numpy())


def test_celeba_originals_match_reference_chain(celeba_originals: list[Path]) -> None:
    reference = transforms.Compose(
        [
            transforms.CenterCrop(148),
            transforms.Resize((64, 64)),
            transforms.ToTensor(),
            SET_RANGE,
        ]
    )
    # torchvision's CelebA yields PIL.Image.open(path) unconverted; these JPEGs are RGB.
    expected = torch.stack([reference(Image.open(f)) for f in celeba_originals])
    split = RawSplit(files=tuple(celeba_originals))  # the official-CelebA code path
    stored = preprocess_split(split, "celeba", reference_transform("celeba"), None, "orig32")
    assert stored.shape == (32, 64, 64, 3) and stored.dtype == np.uint8
    assert torch.equal(_stack(ImageArrayDataset(stored)), expected)


def test_celeba_originals_as_custom_folder(celeba_originals: list[Path], tmp_path: Path) -> None:
    prepare_dataset("celeba", prepared_root=tmp_path, custom=celeba_originals[0].parent)
    both = np.concatenate([load_split(tmp_path, "celeba", s) for s in ("train", "test")])
    split = RawSplit(files=tuple(celeba_originals))
    assert np.array_equal(
        both, preprocess_split(split, "celeba", reference_transform("celeba"), None, "x")
    )


def test_flip_after_preprocessing_equals_reference_flip_first(
    celeba_originals: list[Path],
) -> None:
    # The reference flips the PIL image before crop and resize; we flip stored tensors.
    chain = reference_transform("celeba")
    for f in celeba_originals:
        image = Image.open(f)
        flipped_first = np.asarray(chain(image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)))
        assert np.array_equal(np.asarray(chain(image))[:, ::-1], flipped_first)


def test_checksum_table_matches_torchvision_and_manifest(mirror: Path) -> None:
    for folder, cls in (("MNIST", tvd.MNIST), ("FashionMNIST", tvd.FashionMNIST)):
        for name, md5 in cls.resources:
            assert FILE_SUMS[f"{folder}/raw/{name}"].md5 == md5
    manifest = (mirror / "MANIFEST.md").read_text()
    for rel, sums in FILE_SUMS.items():
        row = next(line for line in manifest.splitlines() if line.startswith(f"| {rel} |"))
        assert sums.sha256 in re.findall(r"[0-9a-f]{64}", row), rel
        assert f"| {sums.size} |" in row, rel
