"""The leaderboard CSV: published rows (quoted) and our rows (measured), with comparability.

Two rows are ranked together only when their :class:`ComparabilityKey` is equal; the
key is defined here and nowhere else (docs/leaderboard.md explains each field). Quoted
values are copied as text from ``quoted/published-results.csv`` and never retyped.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path

from pipelines.data.atomic import write_text_atomic as write_atomic  # noqa: F401 (re-export)
from pipelines.report.leaderboard_rules import feature_network
from pipelines.report.measurements import (
    DATASET_LABELS,
    LOWER_IS_BETTER,
    PAPER_PROTOCOL,
    TEST_SPLITS,
    Measurement,
    data_info,
    paper_variant,
    reference_split,
    sample_count,
)

Row = dict[str, str]

COLUMNS = (
    "kind",
    "model",
    "paper",
    "year",
    "dataset",
    "metric",
    "value",
    "std",
    "metric_variant",
    "protocol",
    "feature_network",
    "num_samples",
    "reference_split",
    "resolution",
    "T",
    "profile",
    "seeds",
    "source",
    "note",
)
REQUIRED = ("kind", "model", "dataset", "metric", "value", "protocol", "source")
KINDS = ("quoted", "measured")
QUOTED_COLUMNS = ("model", "paper", "year", "dataset", "metric", "value", "protocol", "source")
# Profiles whose models were trained as their papers describe; anything else (quick, tiny)
# is a short run and is ranked only against rows of the same profile.
FULL_TRAINING_PROFILES = ("paper", "published")
# The profile of a model scored from its images (``fsvae-bench score``): trained elsewhere,
# by its authors' recipe, so its regime is shown beside its rank instead of excluding it.
EXTERNAL_PROFILE = "external"


@dataclass(frozen=True)
class ComparabilityKey:
    """Everything that must be equal for two leaderboard rows to be ranked together.

    Attributes:
        dataset: Dataset (quoted spelling).
        metric: ``recon_mse``, ``IS``, ``FID`` or ``FAD``.
        metric_variant: Our variant name (``fid_paper``, ``afd_own``, ...; "" if unknown).
        protocol: Metric code; a protocol written ``own`` or marked ``not comparable`` is
            scoped to its paper, so two papers' private protocols never match.
        feature_network: Network the features come from (own autoencoders by weights hash).
        num_samples: Generated (or reconstructed) images; "all" = whole official test split.
        reference_split: Statistics or split the samples are compared with.
        resolution: Image size the metric saw at the model's output.
        regime: ``full training`` (paper profile and published rows) or the short profile's name.

    """

    dataset: str
    metric: str
    metric_variant: str
    protocol: str
    feature_network: str
    num_samples: str
    reference_split: str
    resolution: str
    regime: str


def comparability_key(row: Mapping[str, str]) -> ComparabilityKey:
    """Return the comparability key of a leaderboard row."""
    protocol = row.get("protocol", "")
    if protocol.lower() == "own" or "not comparable" in protocol.lower():
        protocol = f"{protocol} [{row.get('paper', '')}]"
    profile = row.get("profile", "")
    regime = "full training" if profile in FULL_TRAINING_PROFILES else f"{profile} profile"
    if profile == EXTERNAL_PROFILE:
        regime = "external training"
    return ComparabilityKey(
        dataset=row.get("dataset", ""),
        metric=row.get("metric", ""),
        metric_variant=row.get("metric_variant", ""),
        protocol=protocol,
        feature_network=row.get("feature_network", ""),
        num_samples=row.get("num_samples", ""),
        reference_split=row.get("reference_split", ""),
        resolution=row.get("resolution", ""),
        regime=regime,
    )


def key_differences(a: Mapping[str, str], b: Mapping[str, str]) -> list[str]:
    """List the key fields where two rows differ, as ``field: a vs b`` ("?" = unknown).

    Empty means the two rows are ranked together (:func:`comparable`). A different
    protocol says it all, so then only the protocol and regime are listed. The regime of
    an external model (:data:`EXTERNAL_PROFILE`) is not a key field: see
    :func:`noted_differences`.
    """
    ka, kb = comparability_key(a), comparability_key(b)
    names = [f.name for f in fields(ComparabilityKey) if getattr(ka, f.name) != getattr(kb, f.name)]
    if EXTERNAL_PROFILE in (a.get("profile"), b.get("profile")):
        names = [n for n in names if n != "regime"]
    if "protocol" in names:
        names = [n for n in names if n in ("protocol", "regime")]
    return [f"{n}: {getattr(ka, n) or '?'} vs {getattr(kb, n) or '?'}" for n in names]


def comparable(a: Mapping[str, str], b: Mapping[str, str]) -> bool:
    """Whether two rows are ranked together: the one rule of ``compare`` and Table 1."""
    return not key_differences(a, b)


def noted_differences(a: Mapping[str, str], b: Mapping[str, str]) -> list[str]:
    """Differences shown beside two ranked rows but not excluding them.

    The time steps ``T`` of two spiking models (a property of the models compared, not of
    the metric; empty for ANNs) and the training regime when one row is an external model.
    """
    notes = []
    if a.get("T") and b.get("T") and a["T"] != b["T"]:
        notes.append(f"T: {a['T']} vs {b['T']}")
    ka, kb = comparability_key(a), comparability_key(b)
    if ka.regime != kb.regime and EXTERNAL_PROFILE in (a.get("profile"), b.get("profile")):
        notes.append(f"regime: {ka.regime} vs {kb.regime}")
    return notes


def lower_is_better(metric: str) -> bool:
    """Return whether smaller values rank first for a metric (a column's rule; else lower)."""
    return LOWER_IS_BETTER.get(metric, True)


def _resolution_of(dataset_label: str) -> str:
    from fsvae.contract import dataset_shape

    ours = {label: name for name, label in DATASET_LABELS.items()}
    _, h, w = dataset_shape(ours[dataset_label])
    return f"{h}x{w}"


def quoted_rows(path: str | Path) -> list[Row]:
    """Read the quoted file into leaderboard rows (values kept exactly as written there).

    Rows under the ``fsvae-paper`` protocol get its fields (docs/reference.md §5); other
    protocols' fields are left empty (unknown) and their protocol text is kept.

    Args:
        path: ``quoted/published-results.csv``.

    Returns:
        Leaderboard rows with ``kind = quoted`` and ``profile = published``.

    Raises:
        FileNotFoundError: If the file is missing.
        ValueError: If a column is missing.

    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"quoted results not found: {path}")
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        missing = set(QUOTED_COLUMNS) - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{path} lacks columns {sorted(missing)}")
        rows = []
        for q in reader:
            row = dict.fromkeys(COLUMNS, "")
            row.update({k: q[k] for k in QUOTED_COLUMNS})
            row.update(kind="quoted", profile="published")
            t = re.search(r"\(T=(\d+)\)", q["model"])
            row["T"] = t.group(1) if t else ""
            if q["protocol"] == PAPER_PROTOCOL:
                v = paper_variant(q["metric"])
                row.update(
                    metric_variant=v.key,
                    feature_network=feature_network(v),
                    num_samples=v.paper_count,
                    # The paper's reconstruction MSE ran on the whole official test split.
                    reference_split=v.reference or TEST_SPLITS[0],
                    resolution=_resolution_of(q["dataset"]),
                )
            rows.append(row)
    return rows


def measured_rows(
    ms: Iterable[Measurement], records_dir: str | Path, profile: str, source: str = ""
) -> list[Row]:
    """Turn our measurements into leaderboard rows (unavailable ones are left out).

    Args:
        ms: Measurements (see :func:`pipelines.report.measurements.load_measurements`).
        records_dir: The data's provenance records (``results/data``; they name the data used).
        profile: Profile the models were trained under (params.yaml ``profile``).
        source: Overrides the source column (default: the metrics files read).

    Returns:
        Rows with ``kind = measured``.

    """
    rows = []
    for m in ms:
        if m.mean is None:
            continue
        info = data_info(records_dir, m.dataset)
        network = feature_network(m.variant, str(m.fields.get("weights_sha256") or "") or None)
        res, t = m.fields.get("resolution"), m.fields.get("T")
        row = dict.fromkeys(COLUMNS, "")
        row.update(
            kind="measured",
            model=m.model,
            paper="measured by fsvae-bench",
            dataset=DATASET_LABELS[m.dataset],
            metric=m.variant.metric,
            value=repr(m.mean),
            std="" if m.std is None else repr(m.std),
            metric_variant=m.variant.key,
            protocol=m.variant.protocol,
            feature_network=network,
            num_samples=sample_count(m, info),
            reference_split=reference_split(m, info),
            resolution=f"{res}x{res}" if res else "",
            T="" if t is None else str(t),
            profile=profile,
            seeds=",".join(str(s) for s in m.seeds),
            source=source or ";".join(dict.fromkeys(m.sources)),
            note=f"data: {info.description}",
        )
        rows.append(row)
    return rows


def read_csv(path: str | Path) -> list[Row]:
    """Read a leaderboard CSV (FileNotFoundError with a hint when missing)."""
    path = Path(path)
    if not path.is_file():
        hint = "run `fsvae-bench leaderboard build`"
        raise FileNotFoundError(f"leaderboard not found: {path} ({hint})")
    with open(path, newline="") as handle:
        return [dict(r) for r in csv.DictReader(handle)]


def to_csv_text(rows: Iterable[Mapping[str, str]], header: bool = True) -> str:
    """Serialise rows in the leaderboard's column order (newline line ends)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    if header:
        writer.writeheader()
    writer.writerows({k: r.get(k, "") for k in COLUMNS} for r in rows)
    return buffer.getvalue()
