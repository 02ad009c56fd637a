"""Where each dataset's raw images come from: the data root, a mirror, or a download.

Each loader returns the native-resolution images of both splits and a record of the
source (what was read, which checksums were verified, whether the split is official).
Preprocessing to model resolution happens in :mod:`pipelines.data.prepare`.

Order of preference: official files already in the data root, then the mirror (when
one is named), then a torchvision download (when allowed), then mirror copies left in
the data root by an earlier offline run.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pipelines.data.checksums import FILE_SUMS, copy_verified, verify_file
from pipelines.data.errors import ChecksumError, DataFormatError, DataNotFoundError
from pipelines.data.mnist import load_idx
from pipelines.data.raw import (
    MIRROR_ENV,
    RawDataset,
    RawSplit,
    mirror_label,
    resolve_mirror,
    root_label,
)

CIFAR_TRAIN_NPZ = "cifar10/cifar10_train_batch1_first4000.npz"
CIFAR_TEST_NPZ = "cifar10/cifar10_test_jpeg_500perclass.npz"
CELEBA_NPZ = "celeba/celeba64_crop148_first2000.npz"
CELEBA_NPZ_TEST = 200  # the last 200 of the 2000 offline faces form the offline test split

CELEBA_DRIVE = "https://drive.google.com/drive/folders/0B7EVK8r0v71pWEZsZE9oNnFzTm8"


def _npz(path: Path, *keys: str) -> dict[str, np.ndarray]:
    try:
        with np.load(path) as data:
            return {key: data[key] for key in keys}
    except (OSError, ValueError, KeyError) as err:
        raise DataFormatError(f"cannot read {keys} from {path} ({err})") from err


def _mirror_files(rels: list[str], data_root: Path, mirror: Path | None) -> list[dict[str, object]]:
    """Verify copies already in the data root; copy the others from the mirror (verified)."""
    hint = "Delete it and rerun with --mirror to copy it again."
    return [
        verify_file(data_root / rel, rel, hint)
        if (data_root / rel).is_file() or mirror is None
        else copy_verified(mirror, data_root, rel)
        for rel in rels
    ]


def _subset_origin(data_root: Path, mirror: Path | None) -> str:
    if mirror is None:
        return f"mirror copies in {root_label(data_root)}"
    return f"{mirror_label(mirror)}, copied into {root_label(data_root)}"


def _use_official(started: bool, subset_here: bool, mirror: Path | None, download: bool) -> bool:
    """Decide between the official files and the mirror subset (see the module docstring)."""
    if started:
        return True
    if mirror is not None:
        return False
    return download or not subset_here


def _subset_source(
    data_root: Path,
    mirror: Path | None,
    files: list[dict[str, object]],
    lossy_jpeg: dict[str, bool],
    notes: list[str],
) -> dict[str, object]:
    """The provenance of an offline subset from the mirror (keys in meta.json's order)."""
    return {
        "kind": "offline-subset",
        "origin": _subset_origin(data_root, mirror),
        "official_split": False,
        "files": files,
        "lossy_jpeg": lossy_jpeg,
        "notes": notes,
    }


def _cifar10(data_root: Path, mirror: Path | None, download: bool) -> RawDataset:
    from torchvision import datasets as tvd  # lazy: importing torchvision costs seconds

    official = data_root / tvd.CIFAR10.base_folder
    subset_here = all((data_root / rel).is_file() for rel in (CIFAR_TRAIN_NPZ, CIFAR_TEST_NPZ))
    if _use_official(official.is_dir(), subset_here, mirror, download):
        if not official.is_dir() and not download:
            raise DataNotFoundError(
                f"cifar10: {official} not found. Allow the torchvision download, or set "
                f"{MIRROR_ENV} / --mirror to a folder holding {CIFAR_TRAIN_NPZ} and "
                f"{CIFAR_TEST_NPZ}"
            )
        try:
            train = tvd.CIFAR10(str(data_root), train=True, download=download)
            test = tvd.CIFAR10(str(data_root), train=False, download=download)
        except Exception as err:  # RuntimeError/URLError/OSError: same remedy
            if official.is_dir():
                raise ChecksumError(
                    f"cifar10: {official} is incomplete or corrupted (torchvision's md5 check "
                    f"failed: {err}). Delete {official} and rerun, or use --mirror"
                ) from err
            raise DataNotFoundError(
                f"cifar10: downloading into {data_root} failed ({err}); offline, set {MIRROR_ENV}"
            ) from err
        files = [
            {"file": f"{official.name}/{name}", "md5": md5, "verified": True}
            for name, md5 in tvd.CIFAR10.train_list + tvd.CIFAR10.test_list
        ]
        source = {
            "kind": "official",
            "origin": f"torchvision CIFAR10 in {root_label(data_root)}",
            "official_split": True,
            "files": files,
            "notes": ["batch md5s checked by torchvision"],
        }
        return RawDataset(
            RawSplit(train.data, labels=np.asarray(train.targets, dtype=np.uint8)),
            RawSplit(test.data, labels=np.asarray(test.targets, dtype=np.uint8)),
            source,
        )
    files = _mirror_files([CIFAR_TRAIN_NPZ, CIFAR_TEST_NPZ], data_root, mirror)
    train = _npz(data_root / CIFAR_TRAIN_NPZ, "images", "labels")
    test = _npz(data_root / CIFAR_TEST_NPZ, "images", "labels")
    source = _subset_source(
        data_root,
        mirror,
        files,
        {"train": False, "test": True},
        [
            "train = data_batch_1[0:4000], lossless",
            "test = 500 per class decoded from JPEG q75 copies (LOSSY): not for FID numbers",
        ],
    )
    return RawDataset(
        RawSplit(train["images"], labels=train["labels"]),
        RawSplit(test["images"], labels=test["labels"]),
        source,
    )


def celeba_instructions(data_root: Path) -> str:
    """Say exactly which CelebA files to fetch by hand, from where, and where to put them."""
    from torchvision import datasets as tvd  # lazy: importing torchvision costs seconds

    folder = data_root / tvd.CelebA.base_folder
    names = ", ".join(name for _, _, name in tvd.CelebA.file_list)
    return (
        f"CelebA must be fetched by hand: download {names} from the CelebA Google Drive "
        f"({CELEBA_DRIVE}: Img/, Anno/ and Eval/ folders) into {folder}/ and unzip "
        f"img_align_celeba.zip there (giving {folder / 'img_align_celeba'}/000001.jpg ...). "
        f"Offline, set {MIRROR_ENV} / --mirror to a folder holding {CELEBA_NPZ} "
        "(a 2000-image subset)"
    )


def _celeba(data_root: Path, mirror: Path | None, download: bool) -> RawDataset:
    from torchvision import datasets as tvd  # lazy: importing torchvision costs seconds

    folder = data_root / tvd.CelebA.base_folder
    started = (folder / "img_align_celeba").is_dir() or (
        folder / "list_eval_partition.txt"
    ).exists()
    subset_here = (data_root / CELEBA_NPZ).is_file()
    if _use_official(started, subset_here, mirror, download):
        if not started and not download:
            raise DataNotFoundError(
                f"celeba: {folder} has no CelebA files. " + celeba_instructions(data_root)
            )
        try:
            splits = {
                split: tvd.CelebA(str(data_root), split=split, target_type=[], download=download)
                for split in ("train", "test")
            }
        except Exception as err:  # gdown missing, Drive quota, md5 mismatch: same remedy
            raise DataNotFoundError(
                f"celeba in {folder} is missing or incomplete ({err}). "
                + celeba_instructions(data_root)
            ) from err
        files = [
            {"file": f"celeba/{name}", "md5": md5, "verified": not name.endswith(".zip")}
            for _, md5, name in tvd.CelebA.file_list
        ]
        images = folder / "img_align_celeba"
        source = {
            "kind": "official",
            "origin": f"torchvision CelebA in {root_label(data_root)}",
            "official_split": True,
            "files": files,
            "notes": ["annotation md5s checked by torchvision; split from list_eval_partition.txt"],
        }
        return RawDataset(
            RawSplit(files=tuple(images / name for name in splits["train"].filename)),
            RawSplit(files=tuple(images / name for name in splits["test"].filename)),
            source,
        )
    files = _mirror_files([CELEBA_NPZ], data_root, mirror)
    data = _npz(data_root / CELEBA_NPZ, "images", "image_id")
    images, ids = data["images"], data["image_id"]
    cut = len(images) - CELEBA_NPZ_TEST
    source = _subset_source(
        data_root,
        mirror,
        files,
        {"train": True, "test": True},
        [
            f"images {int(ids[0]):06d}-{int(ids[-1]):06d}, all from the official TRAIN partition",
            f"train = first {cut}, test = last {CELEBA_NPZ_TEST}: NOT the official test split",
            "already cropped and resized to 64 from half-size JPEG copies (~35 dB PSNR vs the "
            "reference pipeline): not pixel-identical, not for reference statistics",
        ],
    )
    return RawDataset(RawSplit(images[:cut]), RawSplit(images[cut:]), source, preprocessed=True)


def load_source(dataset: str, data_root: Path, mirror: Path | None, download: bool) -> RawDataset:
    """Return a dataset's raw splits from the best available source.

    Args:
        dataset: ``mnist``, ``fashion-mnist``, ``cifar10`` or ``celeba``.
        data_root: Folder for raw files (torchvision layout).
        mirror: Offline mirror folder, or None.
        download: Whether torchvision may download.

    Returns:
        The raw splits and their provenance.

    Raises:
        DataNotFoundError: If no source has the files (the message says what to do).
        ChecksumError: If a file is corrupted or truncated.
        ValueError: If the dataset name is unknown.

    """
    if dataset in ("mnist", "fashion-mnist"):
        return load_idx(dataset, data_root, mirror, download)
    if dataset == "cifar10":
        return _cifar10(data_root, mirror, download)
    if dataset == "celeba":
        return _celeba(data_root, mirror, download)
    raise ValueError(f"unknown dataset {dataset!r}; expected mnist, fashion-mnist, cifar10, celeba")


__all__ = [
    "FILE_SUMS",
    "MIRROR_ENV",
    "RawDataset",
    "RawSplit",
    "load_source",
    "resolve_mirror",
]
