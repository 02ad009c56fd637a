"""Read our metrics JSON files and map each metric variant onto the paper's Table 1 columns.

The evaluate stage writes one flat record per dataset x model (x seed). This module
turns those records into per-variant measurements (mean and std over seeds, or the
reason a metric is unavailable) with the protocol fields that decide comparability.
Nothing here holds a published number: those live only in ``quoted/``.
"""

from __future__ import annotations

import json
import math
import re
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from benchcore.datasets import DATASET_LABELS  # our names -> quoted/'s spelling
from pipelines.metrics.registry import (  # noqa: F401 - PAPER_PROTOCOL, TABLE1_METRICS re-exported
    PAPER_PROTOCOL,
    TABLE1_METRICS,
    Variant,
    variants,
)

# Our model names -> the model column of the published Table 1 rows in the quoted file
# (ESVAE's own Table I uses the same metric code, so its rows share the paper protocol).
TABLE1_MODELS = MappingProxyType(
    {"ann_vae": "ANN VAE (FSVAE baseline)", "fsvae": "FSVAE", "esvae": "ESVAE"}
)
METRIC_LABELS = MappingProxyType(
    {"recon_mse": "recon MSE", "IS": "Inception Score", "FID": "FID", "FAD": "autoencoder FD"}
)
LOWER_IS_BETTER = MappingProxyType({"recon_mse": True, "IS": False, "FID": True, "FAD": True})


# ``reference_split`` of variants compared with a test split: official, offline subset, unknown
# (variants with reference statistics append ", <n> images").
TEST_SPLITS = (
    "official test split",
    "test split of an offline subset",
    "test split of unknown data",
)


def variant(key: str) -> Variant:
    """Return the variant with this JSON key (ValueError if unknown)."""
    found = variants()
    for v in found:
        if v.key == key:
            return v
    raise ValueError(f"unknown metric variant {key!r}; known: {[v.key for v in found]}")


def paper_variant(metric: str) -> Variant:
    """Return the paper-protocol variant of a Table 1 metric (``FID`` -> ``fid_paper``)."""
    return next(v for v in variants() if v.metric == metric and v.is_paper_protocol)


@dataclass
class Measurement:
    """One variant of one dataset x model, over every seed found.

    Attributes:
        dataset: Our dataset name.
        model: Our model name.
        variant: The metric variant.
        values: One value per seed that computed it.
        seeds: Seeds of those values.
        unavailable: Distinct reasons of seeds where it could not be computed.
        fields: Protocol fields of the first seed (``num_gen``, ``ref_split``, ...).
        sources: Metrics files read.

    """

    dataset: str
    model: str
    variant: Variant
    values: list[float] = field(default_factory=list)
    seeds: list[int] = field(default_factory=list)
    unavailable: list[str] = field(default_factory=list)
    fields: dict[str, Any] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)

    @property
    def mean(self) -> float | None:
        """Mean over seeds (None when no seed computed it)."""
        return statistics.fmean(self.values) if self.values else None

    @property
    def std(self) -> float | None:
        """Sample standard deviation over seeds (None with fewer than two)."""
        return statistics.stdev(self.values) if len(self.values) > 1 else None

    def display(self, digits: int = 4) -> str:
        """Format as ``mean`` or ``mean ± std (n seeds)``; ``n/a`` when unavailable."""
        if self.mean is None:
            return "n/a"
        text = fmt(self.mean, digits)
        if self.std is not None:
            text += f" ± {fmt(self.std, 2)} ({len(self.values)} seeds)"
        return text

    def num_samples(self) -> str:
        """Images the value was computed from, as recorded ("" when unknown)."""
        value = self.fields.get(self.variant.count_field)
        return "" if value is None else str(value)


def fmt(value: float | None, digits: int = 4) -> str:
    """Format a number with ``digits`` significant digits ("" for None)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{value:.{digits}g}"


def record_seed(record: dict[str, Any], path: Path) -> int:
    """Return the evaluation seed of a record (settings first, else ``_seed<k>`` in the name)."""
    seed = (record.get("eval_settings") or {}).get("seed")
    if seed is None:
        match = re.search(r"_seed(\d+)$", path.stem)
        seed = int(match.group(1)) if match else 0
    return int(seed)


def load_record(path: str | Path) -> dict[str, Any]:
    """Load one metrics JSON (``evaluate`` or ``score`` output) and check its shape.

    Args:
        path: The JSON file.

    Returns:
        The record, with ``dataset`` and ``model`` filled from the file name if absent.

    Raises:
        FileNotFoundError: If the file is missing.
        ValueError: If it is not a metrics record.

    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"metrics file not found: {path}")
    try:
        record = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is not valid JSON: {err}") from err
    if not isinstance(record, dict) or not isinstance(record.get("metrics"), dict):
        raise ValueError(f"{path} has no 'metrics' mapping: not a metrics record")
    stem = re.sub(r"_seed\d+$", "", path.stem)
    dataset, _, model = stem.partition("_")
    record.setdefault("dataset", dataset)
    if not record.get("model"):
        record["model"] = model or stem
    if record["dataset"] not in DATASET_LABELS:
        raise ValueError(f"{path}: unknown dataset {record['dataset']!r}")
    return record


def measurements(records: list[tuple[Path, dict[str, Any]]]) -> list[Measurement]:
    """Group records by dataset x model x variant and collect values over seeds.

    Args:
        records: ``(path, record)`` pairs.

    Returns:
        One Measurement per dataset x model x variant present in any record.

    """
    out: dict[tuple[str, str, str], Measurement] = {}
    reported = variants()
    for path, record in sorted(records, key=lambda pr: str(pr[0])):
        metrics = record["metrics"]
        seed = record_seed(record, path)
        for v in reported:
            if v.key not in metrics:
                continue
            m = out.setdefault(
                (record["dataset"], record["model"], v.key),
                Measurement(record["dataset"], record["model"], v),
            )
            m.sources.append(str(path))
            value = metrics[v.key]
            if value is None:
                reason = str(metrics.get(f"{v.key}_unavailable") or "not computed")
                if reason not in m.unavailable:
                    m.unavailable.append(reason)
                continue
            count = metrics.get(f"{v.key}_{v.count_field}")
            if m.fields and count != m.fields.get(v.count_field):
                # A mean over seeds is only meaningful under one protocol.
                raise ValueError(f"{path}: {v.key} used {count} images, other seeds did not")
            m.values.append(float(value))
            m.seeds.append(seed)
            if not m.fields:
                prefix = f"{v.key}_"
                m.fields = {k[len(prefix) :]: x for k, x in metrics.items() if k.startswith(prefix)}
                m.fields["resolution"] = (record.get("config") or {}).get("image_size")
                m.fields["T"] = (record.get("config") or {}).get("n_steps")
    return list(out.values())


def load_measurements(metrics_dir: str | Path) -> list[Measurement]:
    """Read every ``*.json`` under ``metrics_dir`` (missing folder: no measurements)."""
    folder = Path(metrics_dir)
    paths = sorted(folder.glob("*.json")) if folder.is_dir() else []
    return measurements([(p, load_record(p)) for p in paths])


@dataclass(frozen=True)
class DataInfo:
    """What data a dataset's numbers were actually computed on (from ``meta.json``).

    Attributes:
        official: True for the official split, False for a subset, None when unknown.
        test_available: Images in the full prepared test split (None when unknown).
        description: One line naming the source, split and its caveats.

    """

    official: bool | None
    test_available: int | None
    description: str


DATA_RECORDS = "results/data"


def data_info(records_dir: str | Path, dataset: str) -> DataInfo:
    """Describe the data of a dataset's numbers from its committed provenance record.

    Reads ``<records_dir>/<dataset>.json`` (written by ``fsvae-bench prepare --record``;
    the pipeline keeps them in ``results/data``), never the local ``prepared/``, so a
    fresh clone writes the same tables. Says so when the record is missing.
    """
    path = Path(records_dir) / f"{dataset}.json"
    try:
        meta = json.loads(path.read_text())
    except FileNotFoundError:
        hint = f"run `fsvae-bench prepare --dataset {dataset} --record {records_dir}`"
        return DataInfo(None, None, f"unknown (no provenance record {path}: {hint})")
    except (OSError, ValueError) as err:
        return DataInfo(None, None, f"unknown (unreadable provenance record {path}: {err})")
    source = meta.get("source") or {}
    official = bool(meta.get("official_split", source.get("official_split", False)))
    test = (meta.get("splits") or {}).get("test") or {}
    available = test.get("available", test.get("count"))
    split = "official split" if official else "subset, not the official split"
    text = f"{source.get('kind', 'unknown')} data from {source.get('origin', '?')} ({split})"
    text += f", prepared test split {available} images"
    if not official:
        # A subset's notes carry its caveats (lossy JPEG, wrong partition): keep them visible.
        text += "; " + "; ".join(str(n) for n in source.get("notes", []))
    return DataInfo(official, available, text)


def reference_split(m: Measurement, info: DataInfo) -> str:
    """Name the reference a measurement was made against, as written in the leaderboard."""
    if m.variant.reference:
        return m.variant.reference
    official, subset, unknown = TEST_SPLITS
    split = official if info.official else subset
    if info.official is None:
        split = unknown
    n = m.fields.get("num_ref")
    return split if m.variant.on_test_split or n is None else f"{split}, {n} images"


def sample_count(m: Measurement, info: DataInfo) -> str:
    """Sample count for the leaderboard: "all" for a whole official test split."""
    n = m.num_samples()
    if m.variant.on_test_split and info.official and n == str(info.test_available):
        return "all"
    return n
