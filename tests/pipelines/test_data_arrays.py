"""Model-range conversion, train-time-only flips, and a user's own image sets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision import transforms

from pipelines.data import (
    DataFormatError,
    ImageArrayDataset,
    load_image_set,
    load_meta,
    load_split,
    make_dataset,
    prepare_dataset,
    to_model_range,
    to_uint8,
    uses_hflip,
)


def _images(n: int = 6, size: int = 8, channels: int = 3, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, size, size, channels), dtype=np.uint8)


def test_conversion_matches_to_tensor_and_round_trips() -> None:
    every = torch.arange(256, dtype=torch.uint8).reshape(16, 16)
    reference = transforms.ToTensor()(Image.fromarray(every.numpy())) * 2 - 1.0
    assert torch.equal(to_model_range(every)[None], reference)
    assert torch.equal(to_uint8(to_model_range(every)), every)
    assert to_uint8(torch.tensor([-3.0, 3.0, 0.0])).tolist() == [0, 255, 128]


def test_dataset_items_are_chw_float() -> None:
    item = ImageArrayDataset(_images())[0]
    assert item.shape == (3, 8, 8) and item.dtype == torch.float32
    grey = ImageArrayDataset(_images(channels=1)[..., 0])[0]
    assert grey.shape == (1, 8, 8)


def test_hflip_is_random_seeded_and_exact() -> None:
    images = _images(n=1)
    plain = ImageArrayDataset(images)[0]
    flipping = ImageArrayDataset(images, hflip=True)
    torch.manual_seed(0)
    draws = [flipping[0] for _ in range(64)]
    flipped = [torch.equal(d, plain.flip(-1)) for d in draws]
    assert all(f or torch.equal(d, plain) for f, d in zip(flipped, draws, strict=True))
    assert 10 < sum(flipped) < 54
    torch.manual_seed(0)
    assert all(torch.equal(a, flipping[0]) for a in draws[:8])


def test_flips_only_at_train_time_for_cifar_and_celeba() -> None:
    assert [uses_hflip(d) for d in ("mnist", "fashion-mnist", "cifar10", "celeba")] == [
        False,
        False,
        True,
        True,
    ]
    images = _images(n=1)
    assert make_dataset(images, "cifar10", train=True).hflip
    assert make_dataset(images, "celeba", train=True).hflip
    assert not make_dataset(images, "celeba", train=False).hflip
    assert not make_dataset(images, "mnist", train=True).hflip
    test_set = make_dataset(images, "celeba", train=False)
    assert all(torch.equal(test_set[0], ImageArrayDataset(images)[0]) for _ in range(20))


def test_load_custom_npz(tmp_path: Path) -> None:
    np.savez(tmp_path / "rgb.npz", images=_images())
    np.savez(tmp_path / "grey.npz", images=_images(channels=1)[..., 0])
    assert load_image_set(tmp_path / "rgb.npz").shape == (6, 8, 8, 3)
    assert load_image_set(tmp_path / "grey.npz").shape == (6, 8, 8, 1)
    np.savez(tmp_path / "float.npz", images=_images().astype(np.float32))
    with pytest.raises(DataFormatError, match="uint8"):
        load_image_set(tmp_path / "float.npz")
    np.savez(tmp_path / "nokey.npz", x=_images())
    with pytest.raises(DataFormatError, match="'images'"):
        load_image_set(tmp_path / "nokey.npz")
    with pytest.raises(FileNotFoundError):
        load_image_set(tmp_path / "absent.npz")


def test_load_custom_folder(tmp_path: Path) -> None:
    images = _images(n=4)
    for i, image in enumerate(images):
        Image.fromarray(image).save(tmp_path / f"{i:03d}.png")
    (tmp_path / "notes.txt").write_text("ignored")
    assert np.array_equal(load_image_set(tmp_path), images)  # lossless, name order
    Image.fromarray(images[0, :4]).save(tmp_path / "zzz.png")
    with pytest.raises(DataFormatError, match="differ in size"):
        load_image_set(tmp_path)


def test_prepare_custom_resizes_like_the_reference(tmp_path: Path) -> None:
    digits = _images(n=20, size=28, channels=1)[..., 0]
    np.savez(tmp_path / "digits.npz", images=digits)
    prepare_dataset("mnist", prepared_root=tmp_path / "prep", custom=tmp_path / "digits.npz")
    train = load_split(tmp_path / "prep", "mnist", "train")
    test = load_split(tmp_path / "prep", "mnist", "test")
    assert train.shape == (18, 32, 32, 1) and test.shape == (2, 32, 32, 1)
    resize = transforms.Resize((32, 32))
    assert np.array_equal(train[0, ..., 0], np.asarray(resize(Image.fromarray(digits[0]))))
    meta = load_meta(tmp_path / "prep", "mnist")
    assert meta["source"]["kind"] == "custom" and meta["official_split"] is False
