"""Figures beside the tables: one per Table 1 metric, and training curves per run.

``<metric>.png``: per dataset, our measured values (hatched bars) beside the paper's
Table 1 values and the leaderboard rows comparable with ours (solid bars, quoted).
Bar colour = comparability group (same colour: same protocol, sample count,
reference and regime); only bars of one colour may be compared.
``loss_<dataset>_<model>.png``: training loss per logged step and test loss per epoch.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; no display on the pipeline's machines

import matplotlib.pyplot as plt  # noqa: E402 - the backend must be chosen first
import pandas as pd  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from pipelines.report.leaderboard import Row, comparability_key, lower_is_better  # noqa: E402
from pipelines.report.measurements import (  # noqa: E402
    DATASET_LABELS,
    METRIC_LABELS,
    TABLE1_METRICS,
    TABLE1_MODELS,
    Measurement,
)


def _group_label(row: Row) -> str:
    key = comparability_key(row)
    variant = f"{key.metric_variant}, " if key.metric_variant else ""
    label = f"{variant}{row['protocol']}, n={key.num_samples or '?'}, {key.regime}"
    # Two own autoencoders are different feature networks: tell their groups apart.
    sha = key.feature_network.partition("sha256:")[2]
    return f"{label}, AE {sha}" if sha else label


def rows_to_plot(board: list[Row], dataset_label: str, metric: str) -> list[Row]:
    """Pick one panel's rows: ours, the paper's Table 1 values, and rows comparable with ours."""
    same = [r for r in board if r["dataset"] == dataset_label and r["metric"] == metric]
    ours = [r for r in same if r["kind"] == "measured"]
    keys = {comparability_key(r) for r in ours}
    picked = [
        r
        for r in same
        if r["kind"] == "measured"
        or r["model"] in TABLE1_MODELS.values()
        and r["protocol"] == "fsvae-paper"
        or comparability_key(r) in keys
    ]
    return picked


def metric_figure(
    board: list[Row], ms: list[Measurement], metric: str, profile: str, out: str | Path
) -> Path:
    """Draw one metric's figure: a panel per dataset, bars coloured by comparability group.

    Args:
        board: Leaderboard rows (quoted and measured).
        ms: Our measurements (to list the variants that were not computed).
        metric: Table 1 metric.
        profile: Profile of our runs (named in the title).
        out: PNG path.

    Returns:
        The path written.

    """
    datasets = [d for d in DATASET_LABELS if any(m.dataset == d for m in ms)] or list(
        DATASET_LABELS
    )
    fig, axes = plt.subplots(len(datasets), 1, figsize=(10, 2.2 + 2.4 * len(datasets)))
    axes = [axes] if len(datasets) == 1 else list(axes)
    cmap = plt.get_cmap("tab10")
    colours: dict[str, tuple[float, ...]] = {}
    for ax, ds in zip(axes, datasets, strict=True):
        rows = rows_to_plot(board, DATASET_LABELS[ds], metric)
        rows.sort(key=lambda r: (_group_label(r), r["kind"], r["model"]))
        for i, r in enumerate(rows):
            colour = colours.setdefault(_group_label(r), cmap(len(colours) % 10))
            measured = r["kind"] == "measured"
            value = float(r["value"])
            ax.barh(i, value, color=colour, hatch="//" if measured else None, edgecolor="black")
            # Quoted values are printed as the paper wrote them.
            shown = f"{value:.4g}" if measured else r["value"]
            ax.text(value, i, f" {shown}", va="center", fontsize=8)
        ax.set_yticks(range(len(rows)))
        ax.set_yticklabels([f"{r['model']} [{r['kind']}]" for r in rows], fontsize=8)
        ax.invert_yaxis()
        ax.margins(x=0.15)
        missing = [
            f"{m.model} {m.variant.key}"
            for m in ms
            if m.dataset == ds and m.variant.metric == metric and m.mean is None
        ]
        title = DATASET_LABELS[ds]
        if missing:
            title += f"   (not computed: {', '.join(missing)})"
        ax.set_title(title, fontsize=9, loc="left")
        ax.set_xlabel(f"{METRIC_LABELS[metric]}", fontsize=8)
        if not rows:
            ax.text(0.5, 0.5, "no value", transform=ax.transAxes, ha="center")
    better = "lower" if lower_is_better(metric) else "higher"
    note = (
        ""
        if profile == "paper"
        else (
            f"\nprofile '{profile}': short CPU runs on data subsets, NOT comparable in value "
            "with the paper"
        )
    )
    fig.suptitle(f"{METRIC_LABELS[metric]} ({better} is better), ours vs quoted{note}")
    handles = [Patch(facecolor=c, edgecolor="black", label=g) for g, c in colours.items()]
    handles += [
        Patch(facecolor="white", edgecolor="black", hatch="//", label="measured here"),
        Patch(facecolor="white", edgecolor="black", label="quoted from a paper"),
    ]
    fig.legend(
        handles=handles,
        loc="lower center",
        fontsize=7,
        ncol=2,
        title="colour = comparability group (compare bars of one colour only)",
        title_fontsize=7,
    )
    legend_rows = (len(handles) + 1) // 2
    bottom = (0.45 + 0.16 * legend_rows) / fig.get_figheight()
    fig.tight_layout(rect=(0, bottom, 1, 1))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def loss_figure(run_dir: str | Path, dataset: str, model: str, out: str | Path) -> Path | None:
    """Plot training loss per logged step and test loss per epoch (None if no log).

    Args:
        run_dir: ``runs/<dataset>/<model>`` with ``train_log.csv`` (and ``test_log.csv``).
        dataset: Dataset name (title).
        model: Model name (title).
        out: PNG path.

    Returns:
        The path written, or None when the run has no training log.

    """
    run_dir = Path(run_dir)
    train_path, test_path = run_dir / "train_log.csv", run_dir / "test_log.csv"
    if not train_path.is_file():
        return None
    train = pd.read_csv(train_path)
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(train["step"], train["loss"], label="training loss (per logged step)", lw=1.2)
    if test_path.is_file():
        test = pd.read_csv(test_path)
        ax.plot(test["step"], test["loss"], "o-", label="test loss (end of epoch)")
        if "recon" in test.columns:
            ax.plot(test["step"], test["recon"], "s--", label="test reconstruction MSE")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("loss")
    ax.set_title(f"{DATASET_LABELS.get(dataset, dataset)}: {model}, training curves")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def write_figures(
    board: list[Row],
    ms: list[Measurement],
    runs_dir: str | Path,
    out_dir: str | Path,
    profile: str,
    pairs: list[tuple[str, str]],
) -> list[Path]:
    """Write every metric figure and the loss figure of each (dataset, model) run."""
    out = Path(out_dir)
    paths = [metric_figure(board, ms, m, profile, out / f"{m}.png") for m in TABLE1_METRICS]
    for ds, model in pairs:
        path = loss_figure(Path(runs_dir) / ds / model, ds, model, out / f"loss_{ds}_{model}.png")
        if path is not None:
            paths.append(path)
    return paths
