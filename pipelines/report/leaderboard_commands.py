"""Leaderboard operations: build, compare a new model's results, and add validated rows."""

from __future__ import annotations

import csv
import io
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelines.report.leaderboard import (
    COLUMNS,
    EXTERNAL_PROFILE,
    KINDS,
    REQUIRED,
    Row,
    comparable,
    key_differences,
    lower_is_better,
    measured_rows,
    quoted_rows,
    to_csv_text,
    write_atomic,
)
from pipelines.report.leaderboard_rules import check_combination
from pipelines.report.measurements import (
    DATASET_LABELS,
    TABLE1_METRICS,
    load_measurements,
    measurements,
)
from pipelines.report.measurements import load_record as load_metrics_record

# A cell is one line of text: no NUL, line break or other control character.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
# Fields that identify a row: two rows equal on all of them are duplicates.
IDENTITY = tuple(c for c in COLUMNS if c not in ("value", "std", "source", "note", "year", "T"))


def build(
    quoted: str | Path, metrics_dir: str | Path, records_dir: str | Path, profile: str
) -> list[Row]:
    """Return the leaderboard: every quoted row, then our measured rows."""
    return quoted_rows(quoted) + measured_rows(load_measurements(metrics_dir), records_dir, profile)


@dataclass
class Comparison:
    """Where one new row stands among the rows measured under its protocol.

    Attributes:
        row: The new row.
        ranking: The new row and every comparable row, best first.
        excluded: Rows of the same dataset and metric that differ in protocol, with why.

    """

    row: Row
    ranking: list[Row] = field(default_factory=list)
    excluded: list[tuple[Row, list[str]]] = field(default_factory=list)

    @property
    def position(self) -> int:
        """1-based rank of the new row."""
        return next(i for i, r in enumerate(self.ranking, 1) if r is self.row)


def _sources(row: Row) -> set[Path]:
    return {Path(s).resolve() for s in row["source"].split(";") if s}


def compare(new_rows: list[Row], board: list[Row]) -> list[Comparison]:
    """Rank each new row against the leaderboard rows with an equal comparability key.

    Rows from the same source file as the new row (the model itself, already in the
    board) are skipped; rows of another dataset or metric are not listed.

    Args:
        new_rows: Rows of the model to compare.
        board: Leaderboard rows.

    Returns:
        One Comparison per new row.

    """
    out = []
    for new in new_rows:
        own = _sources(new)
        same = [
            r
            for r in board
            if r["dataset"] == new["dataset"]
            and r["metric"] == new["metric"]
            and not (r["kind"] == "measured" and _sources(r) & own)
        ]
        peers = [r for r in same if comparable(new, r)]
        excluded = [(r, key_differences(new, r)) for r in same if not comparable(new, r)]
        sign = 1.0 if lower_is_better(new["metric"]) else -1.0
        ranking = sorted([new, *peers], key=lambda r: sign * float(r["value"]))
        out.append(Comparison(new, ranking, excluded))
    return out


def record_rows(
    metrics_json: str | Path,
    records_dir: str | Path,
    profile: str | None,
    model: str | None,
    default_profile: str = "unknown",
) -> tuple[list[Row], list[str]]:
    """Turn one metrics JSON (``evaluate`` or ``score`` output) into leaderboard rows.

    Args:
        metrics_json: The file.
        records_dir: The data's provenance records (``results/data``).
        profile: Training profile (None: the record's own, ``external`` for ``score``
            output; else ``default_profile``).
        model: Model name (None: the record's).
        default_profile: The profile of a record that names none (``evaluate`` output:
            params.yaml's).

    Returns:
        The rows and ``variant: reason`` for each metric that was not computed.

    """
    path = Path(metrics_json)
    record = load_metrics_record(path)
    if model:
        record["model"] = model
    profile = profile or str(record.get("profile") or default_profile)
    ms = measurements([(path, record)])
    rows = measured_rows(ms, records_dir, profile, source=str(path))
    if profile == EXTERNAL_PROFILE:
        for row in rows:
            row["paper"] = "external model, scored by fsvae-bench score"
    missing = [f"{m.variant.key}: {'; '.join(m.unavailable)}" for m in ms if m.mean is None]
    return rows, missing


def compare_file(
    metrics_json: str | Path,
    board: list[Row],
    records_dir: str | Path,
    profile: str | None,
    model: str | None = None,
    default_profile: str = "unknown",
) -> tuple[list[Comparison], list[str]]:
    """Compare one metrics JSON (``evaluate`` or ``score`` output) against the board.

    Returns:
        The comparisons and ``variant: reason`` for each metric that was not computed.

    """
    rows, missing = record_rows(metrics_json, records_dir, profile, model, default_profile)
    return compare(rows, board), missing


def _cell(name: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError(f"column {name!r}: expected text or a number, got {type(value).__name__}")
    return repr(value) if isinstance(value, float) else str(value).strip()


def _check_number(row: Row, name: str, required: bool, integer: bool = False) -> None:
    text = row[name]
    if not text:
        if required:
            raise ValueError(f"column {name!r} is empty")
        return
    try:
        number = int(text) if integer else float(text)
    except ValueError:
        kind = "an integer" if integer else "a number"
        raise ValueError(f"column {name!r}: {text!r} is not {kind}") from None
    if not math.isfinite(number) or (integer and number <= 0):
        raise ValueError(f"column {name!r}: {text!r} is out of range")


def validate_row(raw: dict[str, Any]) -> Row:
    """Check one row's schema and types and return it with every column as text.

    Raises:
        ValueError: Naming the first problem found.

    """
    if not isinstance(raw, dict):
        raise ValueError(f"a row must be a mapping of column -> value, got {type(raw).__name__}")
    unknown = sorted(set(raw) - set(COLUMNS))
    if unknown:
        raise ValueError(f"unknown column(s) {unknown}; columns are {list(COLUMNS)}")
    row = {c: _cell(c, raw.get(c)) for c in COLUMNS}
    for name in REQUIRED:
        if not row[name]:
            raise ValueError(f"required column {name!r} is missing or empty")
    if row["kind"] not in KINDS:
        raise ValueError(f"kind {row['kind']!r}: must be one of {list(KINDS)}")
    if row["dataset"] not in DATASET_LABELS.values():
        raise ValueError(f"dataset {row['dataset']!r}: one of {list(DATASET_LABELS.values())}")
    if row["metric"] not in TABLE1_METRICS:
        raise ValueError(f"metric {row['metric']!r}: one of {list(TABLE1_METRICS)}")
    for name, text in row.items():
        if _CONTROL.search(text):
            raise ValueError(f"column {name!r}: {text!r} holds a control character")
    check_combination(row)
    _check_number(row, "value", required=True)
    _check_number(row, "std", required=False)
    for name in ("year", "T"):
        _check_number(row, name, required=False, integer=True)
    if row["num_samples"] != "all":
        _check_number(row, "num_samples", required=False, integer=True)
    for seed in filter(None, row["seeds"].split(",")):
        if not seed.strip().isdigit():
            raise ValueError(f"column 'seeds': {row['seeds']!r} is not comma-separated integers")
    return row


def _text(path: Path, encoding: str = "utf-8") -> str:
    """Read a file as UTF-8 without newline translation (an append keeps its bytes)."""
    try:
        return path.read_bytes().decode(encoding)
    except UnicodeDecodeError as err:
        raise ValueError(f"{path} is not UTF-8 text (bad byte at offset {err.start})") from None


def _csv_records(text: str, path: Path) -> list[list[str]]:
    try:
        return list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as err:
        raise ValueError(f"{path} is not a readable CSV file ({err})") from None


def read_rows(path: str | Path) -> list[dict[str, Any]]:
    """Read rows to add from ``.json`` (an object or a list of them) or ``.csv`` (header)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"row file not found: {path}")
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(_text(path, "utf-8-sig"))
        except (json.JSONDecodeError, RecursionError) as err:
            raise ValueError(f"{path} is not valid JSON: {type(err).__name__}: {err}") from None
        rows = data if isinstance(data, list) else [data]
    elif path.suffix.lower() == ".csv":
        header, *lines = _csv_records(_text(path, "utf-8-sig"), path) or [[]]
        if any(len(line) > len(header) for line in lines):
            raise ValueError(f"{path}: a line has more cells than the header")
        rows = [dict(zip(header, line, strict=False)) for line in lines if line]
    else:
        raise ValueError(f"{path}: expected a .json or .csv file")
    if not rows:
        raise ValueError(f"{path} holds no row")
    return rows


def add_rows(leaderboard: str | Path, rows_file: str | Path) -> list[Row]:
    """Validate rows from a ``.json`` / ``.csv`` file and append them (see :func:`append_rows`).

    Raises:
        ValueError: On a malformed row, a header mismatch or a duplicate (file unchanged).

    """
    return append_rows(leaderboard, read_rows(rows_file))


def add_score(
    leaderboard: str | Path,
    score_json: str | Path,
    records_dir: str | Path,
    model: str | None = None,
) -> list[Row]:
    """Append the rows of a ``score`` record (every computed metric), validated like any row.

    Raises:
        ValueError: On a record without a computed metric, or a row ``add`` would refuse.

    """
    rows, missing = record_rows(score_json, records_dir, None, model)
    if not rows:
        raise ValueError(f"{score_json}: no metric was computed ({'; '.join(missing)})")
    return append_rows(leaderboard, rows)


def append_rows(leaderboard: str | Path, raw_rows: list[dict[str, Any]]) -> list[Row]:
    """Validate rows and append them to the leaderboard atomically, or change nothing.

    Args:
        leaderboard: The leaderboard CSV (created with its header if missing).
        raw_rows: Rows as mappings of column -> value.

    Returns:
        The rows appended.

    Raises:
        ValueError: On a malformed row, a header mismatch or a duplicate (file unchanged).

    """
    path = Path(leaderboard)
    new = [validate_row(r) for r in raw_rows]
    if path.is_file():
        text = _text(path)
        header, *lines = _csv_records(text, path) or [[]]
        if tuple(header) != COLUMNS:
            raise ValueError(f"{path} header differs from the leaderboard columns {list(COLUMNS)}")
        existing = [dict(zip(header, line, strict=False)) for line in lines if line]
    else:
        text, existing = to_csv_text([]), []
    seen = {tuple(r.get(c, "") for c in IDENTITY) for r in existing}
    for row in new:
        ident = tuple(row[c] for c in IDENTITY)
        if ident in seen:
            raise ValueError(
                f"duplicate row: {row['model']} {row['dataset']} {row['metric']} "
                f"({row['kind']}, protocol {row['protocol']}) is already in {path}"
            )
        seen.add(ident)
    if text and not text.endswith("\n"):
        text += "\n"
    write_atomic(path, text + to_csv_text(new, header=False))
    return new
