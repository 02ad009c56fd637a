"""The computational-cost table: results/tables/cost.{csv,md} from the cost stage's records.

One row per (dataset, model, task, estimator, quantity), per image and per test batch of
250 images (the unit of the paper's figures), with the paper's quoted numbers
(``quoted/computational-cost.csv``) beside the reference-convention rows. Every row names
its estimator and scope; docs/metrics.md ("Computational cost") explains each.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from typing import Any

from pipelines.data.atomic import atomic_target
from pipelines.metrics.spikes import ENERGY_PRESETS

BATCH = 250
REF = "reference counter (CountMulAdd{ANN,SNN}, quirks reproduced)"
REF_SCOPE = (
    "as the reference's hooks: every conv/linear/convT call (+ LIF updates in an SNN); "
    "bias adds = input size (ANN); FSVAE posterior/prior prefix re-runs"
)
DENSE, SPIKE = "corrected: true MACs, dense", "corrected: true MACs, spike-driven"
NB = "NeuroBench"
ENERGY = "energy, Horowitz 45 nm fp32 (0.9 pJ/AC, 4.6 pJ/MAC)"


def _energy_uj(c: dict[str, Any]) -> float:
    pj_ac, pj_mac = ENERGY_PRESETS["45nm_fp32"]
    return (c["effective_acs"] * pj_ac + c["effective_macs"] * pj_mac) / 1e6


def _spike_driven_adds(c: dict[str, Any]) -> float:
    return c["effective_macs"] + c["effective_acs"]


#: (estimator, quantity, scope, per-image value from a record's counts)
ESTIMATORS: tuple[tuple[str, str, str, Callable[[dict[str, Any]], Any]], ...] = (
    (REF, "additions", REF_SCOPE, itemgetter("reference_additions")),
    (REF, "multiplications", REF_SCOPE, itemgetter("reference_multiplications")),
    (DENSE, "additions", "synaptic layers, every connection, each step", itemgetter("dense_macs")),
    (DENSE, "multiplications", "synaptic layers, every connection", itemgetter("dense_macs")),
    (SPIKE, "additions", "synaptic layers, non-zero inputs (MACs + ACs)", _spike_driven_adds),
    (SPIKE, "multiplications", "synaptic layers, real-valued inputs", itemgetter("effective_macs")),
    (NB, "dense synaptic ops", "synaptic layers", itemgetter("dense_macs")),
    (NB, "effective MACs", "synaptic layers, real-valued inputs", itemgetter("effective_macs")),
    (NB, "effective ACs", "synaptic layers, spike inputs", itemgetter("effective_acs")),
    (NB, "neuron updates", "LIF neuron-steps", itemgetter("neuron_updates")),
    (NB, "activation sparsity", "spike sources' outputs", itemgetter("activation_sparsity")),
    (ENERGY, "energy (uJ)", "compute only, forward pass, synaptic ops only", _energy_uj),
)
FRACTIONS = {"activation sparsity"}
COLUMNS = (
    "dataset",
    "model",
    "task",
    "estimator",
    "quantity",
    "per_image",
    "per_batch_250",
    "paper_quoted_per_batch_250",
    "scope",
    "checkpoint",
    "images",
    "convention",
)


@dataclass(frozen=True)
class CostRow:
    """One line of the cost table (fields as :data:`COLUMNS`)."""

    dataset: str
    model: str
    task: str
    estimator: str
    quantity: str
    per_image: float | None
    per_batch_250: float | None
    paper_quoted_per_batch_250: float | None
    scope: str
    checkpoint: str
    images: str
    convention: str


def load_quoted(path: str | Path) -> dict[tuple[str, str, str, str], float]:
    """``{(dataset, model, task, quantity): value per batch}`` of the quoted cost figures."""
    path = Path(path)
    if not path.is_file():
        return {}
    with path.open(newline="") as handle:
        return {
            (r["dataset"], r["model_key"], r["task"], r["quantity"]): float(r["value"])
            for r in csv.DictReader(handle)
        }


def load_records(cost_dir: str | Path) -> list[dict[str, Any]]:
    """Every ``*.json`` record the cost stage wrote, sorted by file name."""
    return [json.loads(p.read_text()) for p in sorted(Path(cost_dir).glob("*.json"))]


def cost_rows(
    records: list[dict[str, Any]],
    quoted: dict[tuple[str, str, str, str], float],
    datasets: tuple[str, ...] | list[str] = (),
    models: tuple[str, ...] | list[str] = (),
) -> list[CostRow]:
    """Rows for every record, in ``datasets`` x ``models`` order (others after)."""

    def order(r: dict[str, Any]) -> tuple:
        ds = list(datasets).index(r["dataset"]) if r["dataset"] in datasets else len(datasets)
        m = list(models).index(r["model"]) if r["model"] in models else len(models)
        return ds, m, r["dataset"], r["model"]

    rows = []
    for r in sorted(records, key=order):
        for task, counts in r["per_image"].items():
            for estimator, quantity, scope, value in ESTIMATORS:
                v = value(counts)
                batch = v if quantity in FRACTIONS or v is None else v * BATCH
                paper = quoted.get((r["dataset"], r["model"], task, quantity))
                rows.append(
                    CostRow(
                        r["dataset"], r["model"], task, estimator, quantity, v, batch,
                        paper if estimator == REF else None, scope, r["checkpoint"],
                        r["images"], r["convention"],
                    )
                )  # fmt: skip
    return rows


def _fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:.4g}"


def to_markdown(rows: list[CostRow], profile: str) -> str:
    """The Markdown table, one section per dataset, with its provenance."""
    lines = [
        "# Computational cost: operations per image and per test batch of 250",
        "",
        f"Profile `{profile}`. Counted on the test split in eval mode, the same images for "
        "every model (each section names them and the checkpoint). The paper's figures are "
        f"per test batch of {BATCH} images (the reference logs `sum / len(testloader)`); "
        "'paper (quoted)' is from quoted/computational-cost.csv. Conventions: docs/metrics.md "
        "(Computational cost). A trained network's counts depend on its firing rates: an "
        "untrained or briefly trained checkpoint is not the paper's.",
    ]
    for ds in dict.fromkeys(r.dataset for r in rows):
        lines += ["", f"## {ds}", ""]
        sub = [r for r in rows if r.dataset == ds]
        for model in dict.fromkeys(r.model for r in sub):
            first = next(r for r in sub if r.model == model)
            lines.append(
                f"- {model}: checkpoint `{first.checkpoint}`; {first.images}; "
                f"corrected/NeuroBench convention {first.convention}"
            )
        lines += [
            "",
            "| model | task | estimator | quantity | per image | per batch of 250 "
            "| paper (quoted, per batch) | scope |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for r in sub:
            cells = [r.model, r.task, r.estimator, r.quantity, _fmt(r.per_image)]
            cells += [_fmt(r.per_batch_250), _fmt(r.paper_quoted_per_batch_250), r.scope]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def to_csv(rows: list[CostRow]) -> str:
    """The CSV table (:data:`COLUMNS`; empty cells where a value does not exist)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    for r in rows:
        writer.writerow(["" if v is None else v for v in (getattr(r, c) for c in COLUMNS)])
    return buf.getvalue()


def write_cost_tables(rows: list[CostRow], profile: str, out_dir: str | Path) -> list[Path]:
    """Write ``cost.csv`` and ``cost.md`` into ``out_dir`` (each atomically)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in (("cost.csv", to_csv(rows)), ("cost.md", to_markdown(rows, profile))):
        with atomic_target(out / name) as tmp:
            tmp.write_text(text)
        paths.append(out / name)
    return paths
