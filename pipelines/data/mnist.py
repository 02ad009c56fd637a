"""MNIST and Fashion-MNIST: the official gzipped IDX files, md5-verified, read directly.

The verified ``.gz`` files are parsed here rather than through torchvision's extracted
copies, so a stale or half-extracted file can never be read; the tests check the
result equals torchvision's ``MNIST``/``FashionMNIST`` data.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from pipelines.data.checksums import copy_verified, verify_file
from pipelines.data.errors import DataFormatError, DataNotFoundError
from pipelines.data.raw import MIRROR_ENV, RawDataset, RawSplit, mirror_label, root_label


def read_idx_gz(path: Path) -> np.ndarray:
    """Read a gzipped IDX file (MNIST format) into a uint8 array.

    Raises:
        DataFormatError: If the header or length is not that of a uint8 IDX file.

    """
    try:
        with gzip.open(path, "rb") as handle:
            data = handle.read()
    except (OSError, EOFError) as err:
        raise DataFormatError(
            f"{path} is not a readable gzip file ({err}); delete it and rerun"
        ) from err
    # Header: two zero bytes, type code 0x08 (uint8), number of dimensions.
    if len(data) < 4 or data[:3] != b"\0\0\x08" or data[3] not in (1, 3):
        raise DataFormatError(f"{path} is not a uint8 IDX file; delete it and rerun")
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(dims)):
        raise DataFormatError(f"{path} holds {body.size} values, header says {dims}")
    return body.reshape(dims)


def load_idx(dataset: str, data_root: Path, mirror: Path | None, download: bool) -> RawDataset:
    """Return MNIST or Fashion-MNIST from the data root, the mirror or a download.

    Files already in ``data_root/<Class>/raw`` are verified; missing ones are copied from
    the mirror (verified before they land) or downloaded by torchvision.

    Args:
        dataset: ``mnist`` or ``fashion-mnist``.
        data_root: Folder in torchvision's layout.
        mirror: Offline mirror folder, or None.
        download: Whether torchvision may download missing files.

    Returns:
        Both official splits with labels.

    Raises:
        DataNotFoundError: If files are missing and cannot be obtained.
        ChecksumError: If a file is corrupted or truncated.

    """
    from torchvision import datasets as tvd  # lazy: importing torchvision costs seconds

    folder, cls = {
        "mnist": ("MNIST", tvd.MNIST),
        "fashion-mnist": ("FashionMNIST", tvd.FashionMNIST),
    }[dataset]
    names = [name for name, _ in cls.resources]
    rels = [f"{folder}/raw/{name}" for name in names]
    missing = [rel for rel in rels if not (data_root / rel).is_file()]
    records: dict[str, dict[str, object]] = {}
    # The origin names the configured source, not whether this run copied the files: a
    # rerun over a filled data root must write the same meta.json (the files' checksums,
    # recorded beside it, prove they are the source's bytes), or every stage downstream of
    # `prepare` turns stale in DVC.
    if mirror is not None:
        origin = f"{mirror_label(mirror)}, copied into {root_label(data_root)}"
    elif download:
        origin = f"torchvision download into {root_label(data_root)}"
    else:
        origin = root_label(data_root)
    if missing and mirror is not None:
        records = {rel: copy_verified(mirror, data_root, rel) for rel in missing}
    elif missing and download:
        try:
            for train in (True, False):
                cls(str(data_root), train=train, download=True)
        except Exception as err:  # torchvision raises RuntimeError/URLError/OSError alike
            raise DataNotFoundError(
                f"downloading {dataset} into {data_root / folder / 'raw'} failed ({err}). Offline, "
                f"set {MIRROR_ENV} or --mirror to a folder holding {folder}/raw/*.gz"
            ) from err
    elif missing:
        raise DataNotFoundError(
            f"{dataset}: {', '.join(str(data_root / rel) for rel in missing)} not found. Allow the "
            f"torchvision download, or set {MIRROR_ENV} / --mirror to a folder holding "
            f"{folder}/raw/, or copy the files there from {cls.mirrors[0]}"
        )
    for rel in rels:
        if rel not in records:
            path = data_root / rel
            if not path.is_file():
                raise DataNotFoundError(f"{path} is missing after download; delete {path.parent}")
            hint = f"Delete {path} and rerun to copy or download it again."
            records[rel] = verify_file(path, rel, hint)
    arrays = {rel: read_idx_gz(data_root / rel) for rel in rels}
    train_x, train_y, test_x, test_y = (arrays[rel] for rel in rels)
    if len(train_x) != len(train_y) or len(test_x) != len(test_y):
        raise DataFormatError(f"{dataset}: image and label counts differ in {data_root / folder}")
    source = {
        "kind": "official",
        "origin": origin,
        "official_split": True,
        "files": list(records.values()),
        "notes": ["md5 values are torchvision's; sha256 values from the mirror's MANIFEST.md"],
    }
    return RawDataset(RawSplit(train_x, labels=train_y), RawSplit(test_x, labels=test_y), source)
