"""Table 1 of the paper with our numbers beside it: ``results/tables/table1.{csv,md,tex}``.

One row per dataset x model x Table 1 column. Each row holds our paper-protocol
variant (``recon_mse``, ``is_paper``, ``fid_paper``, ``afd_paper``) next to the paper's
quoted value and their difference, and our other variant of the same quantity (``is``,
``fid``, ``afd_own``) in a separate, labelled column with no difference: it is a
different protocol. Unavailable metrics carry their reason.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.metrics.diversity import diversity_path, load_diversity
from pipelines.report.leaderboard import key_differences, measured_rows, quoted_rows
from pipelines.report.measurements import (
    DATASET_LABELS,
    LOWER_IS_BETTER,
    PAPER_PROTOCOL,
    TABLE1_METRICS,
    TABLE1_MODELS,
    Measurement,
    data_info,
    paper_variant,
    variants,
)

CSV_COLUMNS = (
    "profile",
    "dataset",
    "model",
    "metric",
    "better",
    "ours_variant",
    "ours",
    "ours_std",
    "ours_seeds",
    "ours_num_samples",
    "ours_unavailable",
    "paper_quoted",
    "paper_num_samples",
    "paper_source",
    "difference",
    "other_variant",
    "other_protocol",
    "other",
    "other_std",
    "other_num_samples",
    "other_unavailable",
    "sample_collapse",
    "data",
    "T",
    "ours_not_comparable",
    "other_not_comparable",
)


@dataclass
class Table1Row:
    """One cell group of the table: a dataset x model x Table 1 column.

    Attributes:
        dataset: Our dataset name.
        model: Our model name.
        metric: Table 1 column (``recon_mse``, ``IS``, ``FID``, ``FAD``).
        ours: Our paper-protocol measurement (None: no metrics file had it).
        other: Our other-protocol measurement of the same quantity, if any.
        paper: The quoted Table 1 row (None: the model is not in Table 1).
        data: What data our numbers come from.
        collapse: Why the model's samples count as collapsed ("" when they do not, or
            when the sample stage recorded no diversity).
        ours_mark: Why ``ours`` is not comparable with the column's first value ("" when
            it is), by the leaderboard's rule.
        other_mark: The same for ``other``.
        time_steps: The model's time steps T as its metrics record them ("" for
            non-spiking models).

    """

    dataset: str
    model: str
    metric: str
    ours: Measurement | None
    other: Measurement | None
    paper: dict[str, str] | None
    data: str
    collapse: str = ""
    ours_mark: str = ""
    other_mark: str = ""
    time_steps: str = ""

    @property
    def difference(self) -> float | None:
        """Ours minus the paper's, for this same-protocol pair (None if either is missing)."""
        if self.ours is None or self.ours.mean is None or self.paper is None:
            return None
        return self.ours.mean - float(self.paper["value"])


def training_description(params: dict[str, Any], dataset: str, models: Iterable[str]) -> str:
    """Describe the training runs of a dataset from params.yaml (limits and epochs)."""
    from pipelines.params import train_config

    parts: dict[str, list[str]] = {}
    for model in models:
        try:
            c = train_config(params, model, dataset)
        except (ValueError, TypeError, KeyError) as err:
            parts.setdefault(f"unknown ({err})", []).append(model)
            continue
        limit = "all" if c.train_limit is None else f"first {c.train_limit}"
        steps = "" if c.max_steps is None else f", at most {c.max_steps} steps"
        text = f"{limit} training images, {c.epochs} epochs{steps}, batch {c.batch_size}"
        parts.setdefault(text, []).append(model)
    if len(parts) == 1:
        return f"training (params.yaml): {next(iter(parts))}"
    return "training (params.yaml): " + "; ".join(f"{', '.join(m)}: {t}" for t, m in parts.items())


def _ordered(wanted: Iterable[str], found: Iterable[str]) -> list[str]:
    return list(dict.fromkeys([*wanted, *sorted(found)]))


def table1_rows(
    ms: list[Measurement],
    quoted: str | Path,
    records_dir: str | Path,
    datasets: Iterable[str] = (),
    models: Iterable[str] = (),
    params: dict[str, Any] | None = None,
    samples_dir: str | Path | None = None,
) -> list[Table1Row]:
    """Assemble the table from our measurements and the quoted Table 1.

    Args:
        ms: Our measurements.
        quoted: The quoted results CSV (the only source of the paper's numbers).
        records_dir: The data's provenance records (``results/data``: names the data our
            numbers come from; committed, unlike ``prepared/``).
        datasets: Datasets to list first, in order (params ``pipeline.datasets``).
        models: Models to list first, in order (params ``pipeline.models``).
        params: Parsed params.yaml, to name the training settings (None: not named).
        samples_dir: The sample stage's folder, whose ``<dataset>_<model>_diversity.json``
            flag collapsed models (None: not checked).

    Returns:
        Rows in dataset, model, metric order.

    """
    paper = {
        (r["model"], r["dataset"], r["metric"]): r
        for r in quoted_rows(quoted)
        if r["protocol"] == PAPER_PROTOCOL and r["model"] in TABLE1_MODELS.values()
    }
    by_key = {(m.dataset, m.model, m.variant.key): m for m in ms}
    reported = variants()
    rows = []
    for ds in _ordered(datasets, {m.dataset for m in ms}):
        ds_models = _ordered(models, {m.model for m in ms if m.dataset == ds})
        info = data_info(records_dir, ds).description
        if params is not None:
            info += "; " + training_description(params, ds, ds_models)
        for model in ds_models:
            collapse = _collapse(samples_dir, ds, model)
            steps = {str(m.fields.get("T")) for m in ms if (m.dataset, m.model) == (ds, model)}
            steps.discard("None")
            for metric in TABLE1_METRICS:
                pv = paper_variant(metric)
                others = [v for v in reported if v.metric == metric and v is not pv]
                found = (by_key.get((ds, model, v.key)) for v in others)
                other = next((m for m in found if m is not None), None)
                quoted_row = paper.get((TABLE1_MODELS.get(model, ""), DATASET_LABELS[ds], metric))
                ours = by_key.get((ds, model, pv.key))
                rows.append(Table1Row(ds, model, metric, ours, other, quoted_row, info, collapse))
                rows[-1].time_steps = ",".join(sorted(steps))
    _mark_incomparable(rows, records_dir)
    return rows


def _mark_incomparable(rows: list[Table1Row], records_dir: str | Path) -> None:
    """Mark values whose comparability key differs from the first value of their column.

    A column is one dataset's values of one metric variant (``afd_own`` of every model,
    ...). The rule is the leaderboard's (:func:`pipelines.report.leaderboard.key_differences`),
    applied to the rows the leaderboard writes for these measurements.
    """
    first: dict[tuple[str, str], tuple[str, dict[str, str]]] = {}
    for r in rows:
        for attr in ("ours", "other"):
            m = getattr(r, attr)
            if m is None or m.mean is None:
                continue
            (row,) = measured_rows([m], records_dir, "table")
            model, ref = first.setdefault((r.dataset, m.variant.key), (r.model, row))
            why = key_differences(row, ref)
            if why:
                setattr(r, f"{attr}_mark", f"not comparable with {model}'s: {'; '.join(why)}")


def _collapse(samples_dir: str | Path | None, dataset: str, model: str) -> str:
    if samples_dir is None:
        return ""
    found = load_diversity(diversity_path(samples_dir, f"{dataset}_{model.replace(':', '.')}"))
    return found.note() if found is not None and found.collapsed else ""


def _reason(m: Measurement | None, fallback: str) -> str:
    if m is None:
        return fallback
    return "; ".join(m.unavailable) if m.mean is None else ""


def csv_records(rows: list[Table1Row], profile: str) -> list[dict[str, str]]:
    """Flatten rows to the CSV's columns (numbers at full precision)."""
    out = []
    missing = "no metrics file holds this metric (run `dvc repro`)"
    for r in rows:
        pv = paper_variant(r.metric)
        o = r.other
        out.append(
            {
                "profile": profile,
                "dataset": DATASET_LABELS[r.dataset],
                "model": r.model,
                "metric": r.metric,
                "better": "lower" if LOWER_IS_BETTER[r.metric] else "higher",
                "ours_variant": pv.key,
                "ours": "" if r.ours is None or r.ours.mean is None else repr(r.ours.mean),
                "ours_std": "" if r.ours is None or r.ours.std is None else repr(r.ours.std),
                "ours_seeds": "" if r.ours is None else ",".join(map(str, r.ours.seeds)),
                "ours_num_samples": "" if r.ours is None else r.ours.num_samples(),
                "ours_unavailable": _reason(r.ours, missing),
                "paper_quoted": r.paper["value"] if r.paper else "",
                "paper_num_samples": pv.paper_count if r.paper else "",
                "paper_source": r.paper["source"] if r.paper else "not in the paper's Table 1",
                "difference": "" if r.difference is None else repr(r.difference),
                "other_variant": o.variant.key if o else "",
                "other_protocol": o.variant.protocol if o else "",
                "other": "" if o is None or o.mean is None else repr(o.mean),
                "other_std": "" if o is None or o.std is None else repr(o.std),
                "other_num_samples": o.num_samples() if o else "",
                "other_unavailable": _reason(o, ""),
                "sample_collapse": r.collapse,
                "data": r.data,
                "T": r.time_steps,
                "ours_not_comparable": r.ours_mark,
                "other_not_comparable": r.other_mark,
            }
        )
    return out


def profile_note(profile: str) -> str:
    """The note every table carries about the profile it was made under."""
    if profile == "paper":
        return (
            f"Profile `{profile}`: the paper's training settings. Values compare with the paper's "
            "only where the protocol and sample counts match (see each row)."
        )
    return (
        f"Profile `{profile}`: these numbers come from short CPU runs on data subsets with "
        "small sample counts. They show that the pipeline works and how the models compare "
        "early in training; they are NOT comparable in value with the paper's numbers."
    )


def legend() -> list[str]:
    """Lines explaining the columns (shared by the md and tex writers)."""
    return [
        "Paper values are quoted from quoted/published-results.csv (ANN VAE and FSVAE: the "
        "FSVAE paper's Table 1, kamata1729/FullySpikingVAE imgs/results.png; ESVAE: Zhan et "
        "al. 2023, Table I, QgZhan/ESVAE imgs/results.png, same metric code); every other "
        "number is measured here.",
        "'ours, paper protocol' uses the reference's metric code (MSE in [-1, 1]; IS on "
        "un-normalised [0, 255] inputs; clean-fid FID against the authors' statistics; "
        "autoencoder FD with the authors' autoencoders). 'ours - paper' is given only for "
        "these same-protocol pairs.",
        "'ours, other protocol' names its variant (standard IS; pytorch-fid FID against our "
        "reference statistics; autoencoder FD with our own autoencoder): not comparable with "
        "the paper's column.",
        "Sample counts: ours (n) vs the paper protocol's; a smaller n biases FID and the "
        "autoencoder FD upward. Several seeds: mean ± sample std.",
    ]
