"""Preprocess a dataset once into uint8 arrays at model resolution (a pipeline stage).

Outputs, per dataset: ``<prepared>/<dataset>/train.npz`` and ``test.npz`` (``images``
uint8 (N, H, W, C), ``labels`` when known) and ``meta.json`` (source, counts, verified
checksums, preprocessing, official split or subset). Nothing is written until every
input is verified and preprocessed; each file is written to a temporary name and moved
into place, and ``meta.json`` goes last, so an interrupted run never looks complete.

With ``record_dir`` (the pipeline passes ``results/data``) the data's provenance (source,
origin, split sizes, caveats, checksums; :func:`provenance_record`) is also written to
``<record_dir>/<dataset>.json``: a committed file, so the tables and the leaderboard name
the data their numbers came from in a clone that has no ``prepared/``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import PIL
import torch
from PIL import Image
from tqdm import tqdm

# torchvision is imported where it is used: importing it pulls in torch._dynamo (seconds:
# docs/performance.md), which the stages reading prepared arrays (train, sample, ...) never need.
from benchcore.datasets import DATASETS, dataset_facts, dataset_shape, uses_hflip
from pipelines.data.arrays import as_nhwc, load_image_set
from pipelines.data.atomic import atomic_target, write_json_atomic, write_text_atomic
from pipelines.data.checksums import file_digests
from pipelines.data.errors import NotPreparedError
from pipelines.data.sources import RawDataset, RawSplit, load_source, resolve_mirror

FORMAT = 1
SPLITS = ("train", "test")
CUSTOM_TEST_FRACTION = 0.1
_PROGRESS_MIN = 5000  # show a progress bar only for splits that take noticeable time

Transform = Callable[[Image.Image], Image.Image]


def reference_transform(dataset: str) -> Transform:
    """Return the reference's PIL transform up to (not including) ``ToTensor``.

    Random flips are left out: they are applied to tensors at training time.
    """
    from torchvision import transforms  # lazy: see the note at the imports

    facts = dataset_facts(dataset)
    resize = transforms.Resize((facts.size, facts.size))
    if facts.center_crop:
        return transforms.Compose([transforms.CenterCrop(facts.center_crop), resize])
    return resize


def describe_preprocessing(dataset: str, preprocessed: bool) -> str:
    """Say in words what was done to the pixels (stored in meta.json)."""
    chain = " -> ".join(dataset_facts(dataset).preprocessing_steps)
    done = (
        "source images were already at 64x64 (see source notes); stored as is"
        if preprocessed
        else f"torchvision {chain} on the PIL image (bilinear), stored as uint8"
    )
    return (
        f"{done}; model input = ToTensor then 2x-1 (pipelines.data.to_model_range), in [-1, 1]; "
        f"random horizontal flip at train time only: {uses_hflip(dataset)}"
    )


def preprocess_split(
    split: RawSplit, dataset: str, transform: Transform | None, limit: int | None, desc: str
) -> np.ndarray:
    """Run the reference transform over the first ``limit`` images of a split.

    Args:
        split: Native-resolution split.
        dataset: Dataset name (fixes the channel count).
        transform: PIL transform, or None when the images are already preprocessed.
        limit: Keep only this many images (None: all).
        desc: Progress bar label.

    Returns:
        uint8 (N, H, W, C) at model resolution.

    """
    count = len(split) if limit is None else min(limit, len(split))
    if transform is None and split.images is not None:
        return as_nhwc(np.ascontiguousarray(split.images[:count]), desc)
    channels, height, width = dataset_shape(dataset)
    mode = "L" if channels == 1 else "RGB"
    out = np.empty((count, height, width, channels), dtype=np.uint8)
    for i in tqdm(range(count), desc=desc, unit="img", disable=count < _PROGRESS_MIN):
        image = split.pil(i)
        if image.mode != mode:
            image = image.convert(mode)
        pixels = np.asarray(transform(image) if transform is not None else image)
        out[i] = pixels.reshape(height, width, channels)
    return out


def _custom_source(path: Path, dataset: str) -> tuple[RawDataset, Transform | None]:
    """Read a user's images as a dataset; a single set is split, last 10 % as test."""
    pairs = [path / f"{s}.npz" for s in SPLITS], [path / s for s in SPLITS]
    given = next((p for p in pairs if all(q.exists() for q in p)), None)
    if given is not None:
        train, test = (load_image_set(p) for p in given)
        how = f"train/test as given in {path}"
    else:
        images = load_image_set(path)
        cut = len(images) - max(1, int(round(len(images) * CUSTOM_TEST_FRACTION)))
        train, test = images[:cut], images[cut:]
        how = f"single set {path}: first {cut} train, last {len(test)} test"
    source = {"kind": "custom", "origin": str(path), "official_split": False, "notes": [how]}
    raw = RawDataset(RawSplit(train), RawSplit(test), source)
    channels, height, width = dataset_shape(dataset)
    native = train.shape[1:3]
    if native == (height, width) and train.shape[3] == channels:
        return raw, None
    if dataset_facts(dataset).center_crop and native == dataset_facts(dataset).original_size:
        return raw, reference_transform(dataset)  # full-size aligned faces: reference framing
    from torchvision import transforms  # lazy: see the note at the imports

    return raw, transforms.Resize((height, width))


def _write_npz(path: Path, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    with atomic_target(path) as tmp:
        with open(tmp, "xb") as handle:
            np.savez(handle, **arrays)
        sha256, _ = file_digests(tmp)
    return {"file": path.name, "bytes": path.stat().st_size, "sha256": sha256}


def _is_current(out_dir: Path, request: dict[str, Any]) -> bool:
    try:
        meta = json.loads((out_dir / "meta.json").read_text())
    except (OSError, ValueError):
        return False
    if meta.get("request") != request:
        return False
    return all(
        (out_dir / f"{s}.npz").is_file()
        and (out_dir / f"{s}.npz").stat().st_size == meta["splits"][s]["bytes"]
        for s in SPLITS
    )


def prepare_dataset(
    dataset: str,
    data_root: str | Path = "data",
    prepared_root: str | Path = "prepared",
    mirror: str | Path | None = None,
    download: bool = True,
    train_limit: int | None = None,
    test_limit: int | None = None,
    *,
    custom: str | Path | None = None,
    force: bool = False,
) -> Path:
    """Write a dataset's preprocessed uint8 splits and metadata, once.

    Args:
        dataset: ``mnist``, ``fashion-mnist``, ``cifar10`` or ``celeba``.
        data_root: Folder for raw files (torchvision layout).
        prepared_root: Folder for the outputs.
        mirror: Offline mirror folder; None uses ``$FSVAE_DATA_MIRROR`` when set.
        download: Let torchvision download missing files.
        train_limit: Keep only the first N training images (checksums still cover whole files).
        test_limit: Keep only the first N test images.
        custom: A user's ``.npz`` or image folder to use instead of the standard source
            (resized to the dataset's model resolution).
        force: Rewrite even when matching outputs exist.

    Returns:
        ``prepared_root / dataset``.

    Raises:
        DataNotFoundError: If the data is missing (the message says what to fetch).
        ChecksumError: If a file is corrupted or truncated.
        ValueError: On an unknown dataset or bad limits.

    """
    dataset_shape(dataset)  # rejects unknown names before anything is touched
    for name, limit in (("train_limit", train_limit), ("test_limit", test_limit)):
        if limit is not None and limit < 1:
            raise ValueError(f"{name} must be at least 1, got {limit}")
    out_dir = Path(prepared_root) / dataset
    request = {
        "format": FORMAT,
        "dataset": dataset,
        "train_limit": train_limit,
        "test_limit": test_limit,
        "custom": str(custom) if custom is not None else None,
    }
    if not force and _is_current(out_dir, request):
        return out_dir

    if custom is not None:
        raw, transform = _custom_source(Path(custom), dataset)
    else:
        raw = load_source(dataset, Path(data_root), resolve_mirror(mirror), download)
        transform = None if raw.preprocessed else reference_transform(dataset)
    limits = {"train": train_limit, "test": test_limit}
    arrays: dict[str, dict[str, np.ndarray]] = {}
    for split_name, split in (("train", raw.train), ("test", raw.test)):
        images = preprocess_split(
            split, dataset, transform, limits[split_name], f"{dataset} {split_name}"
        )
        arrays[split_name] = {"images": images}
        if split.labels is not None:
            arrays[split_name]["labels"] = np.asarray(split.labels[: len(images)])

    out_dir.mkdir(parents=True, exist_ok=True)
    # Drop the old meta first: between here and the new meta the folder never claims to be
    # complete, so a crash mid-way is re-prepared rather than trusted.
    (out_dir / "meta.json").unlink(missing_ok=True)
    splits: dict[str, Any] = {}
    for split_name, split in (("train", raw.train), ("test", raw.test)):
        written = _write_npz(out_dir / f"{split_name}.npz", arrays[split_name])
        images = arrays[split_name]["images"]
        splits[split_name] = {
            **written,
            "count": len(images),
            "available": len(split),
            "shape": list(images.shape),
            "labels": "labels" in arrays[split_name],
            "limited": len(images) < len(split),
        }
    import torchvision  # lazy (the stage imported it for the transforms already)

    meta = {
        "request": request,
        "dataset": dataset,
        "source": raw.source,
        "official_split": bool(raw.source.get("official_split")),
        "subset": raw.source.get("kind") != "official"
        or any(s["limited"] for s in splits.values()),
        "splits": splits,
        "preprocessing": describe_preprocessing(dataset, transform is None),
        "versions": {
            "torch": torch.__version__,
            "torchvision": torchvision.__version__,
            "pillow": PIL.__version__,
        },
    }
    write_json_atomic(out_dir / "meta.json", meta)
    return out_dir


# The keys of meta.json that say which data was used; the software versions are left out
# (the record names the data, and must not change when only torch's version does).
PROVENANCE_KEYS = ("dataset", "request", "source", "official_split", "subset", "splits")


def provenance_record(meta: dict[str, Any]) -> dict[str, Any]:
    """Return the part of a ``meta.json`` that names the data used (see PROVENANCE_KEYS)."""
    return {k: meta[k] for k in PROVENANCE_KEYS if k in meta}


def write_provenance(prepared_root: str | Path, dataset: str, record_dir: str | Path) -> Path:
    """Write ``<record_dir>/<dataset>.json`` from a prepared dataset's ``meta.json``.

    Returns:
        The record's path (rewritten only when its content changes).

    """
    path = Path(record_dir) / f"{dataset}.json"
    text = json.dumps(provenance_record(load_meta(prepared_root, dataset)), indent=2) + "\n"
    if not path.is_file() or path.read_text() != text:
        write_text_atomic(path, text)
    return path


def load_meta(prepared_root: str | Path, dataset: str) -> dict[str, Any]:
    """Return a prepared dataset's ``meta.json``.

    Raises:
        NotPreparedError: If the dataset has not been prepared.

    """
    path = Path(prepared_root) / dataset / "meta.json"
    if not path.is_file():
        raise NotPreparedError(
            f"{path} not found: run `fsvae-bench prepare --dataset {dataset}` first"
        )
    return json.loads(path.read_text())


def load_split(
    prepared_root: str | Path, dataset: str, split: str, *, labels: bool = False
) -> np.ndarray:
    """Load a prepared split's images, uint8 (N, H, W, C) (or its labels).

    Args:
        prepared_root: Folder that holds ``<dataset>/train.npz`` etc.
        dataset: Dataset name.
        split: ``train`` or ``test``.
        labels: Return the labels instead of the images.

    Raises:
        NotPreparedError: If the dataset has not been prepared (says which command to run).
        ValueError: On an unknown split name, or when labels are asked for but not known.

    """
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected train or test")
    load_meta(prepared_root, dataset)  # a file without meta may be half-written: refuse it
    path = Path(prepared_root) / dataset / f"{split}.npz"
    if not path.is_file():
        raise NotPreparedError(
            f"{path} not found: run `fsvae-bench prepare --dataset {dataset}` first"
        )
    key = "labels" if labels else "images"
    with np.load(path) as data:
        if key not in data:
            raise ValueError(f"{path} has no {key}")
        return data[key]


__all__ = [
    "DATASETS",
    "load_meta",
    "load_split",
    "prepare_dataset",
    "provenance_record",
    "reference_transform",
    "write_provenance",
]
