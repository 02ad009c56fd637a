"""The README's results section, rendered from what the pipeline wrote into ``results/``.

The README must show the table and sample grids that ``dvc repro`` produced, never numbers
typed in by hand. ``fsvae-bench readme`` rewrites the block between the markers below from
``results/tables/table1.md``, the sample grids and the figures; a test checks that the
committed README matches the committed results.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from pipelines.metrics.diversity import diversity_path, load_diversity
from pipelines.report.table1_writers import COLLAPSED

START, END = "<!-- results:start -->", "<!-- results:end -->"
METRIC_FIGURES = ("recon_mse", "FID", "FAD", "IS")


def _demote(markdown: str, levels: int = 2) -> str:
    """Push every ATX heading down by ``levels`` so a document nests under a section."""
    out = []
    for line in markdown.splitlines():
        if line.startswith("#"):
            line = "#" * levels + line
        out.append(line)
    return "\n".join(out)


def _image(path: Path, root: Path, alt: str, width: int) -> str:
    return f'<img src="{path.relative_to(root).as_posix()}" alt="{alt}" width="{width}">'


def render_results(
    root: str | Path,
    datasets: Iterable[str],
    models: Iterable[str],
    results_dir: str = "results",
) -> str:
    """Return the README's results block (markers included).

    Args:
        root: Project root (the README's folder); image links are relative to it.
        datasets: Datasets in display order (params ``pipeline.datasets``).
        models: Models in display order (params ``pipeline.models``).
        results_dir: The pipeline's results folder, relative to ``root``.

    Returns:
        Markdown: Table 1 as the tables stage wrote it, the sample and reconstruction
        grids of every dataset x model, the computational-cost table (when written) and
        the metric figures.

    Raises:
        FileNotFoundError: ``table1.md`` is missing (run ``dvc repro`` first).

    """
    root = Path(root)
    results = root / results_dir
    table = results / "tables" / "table1.md"
    if not table.is_file():
        raise FileNotFoundError(f"{table} not found: run `dvc repro` (the tables stage) first")
    lines = [
        START,
        "## Results",
        "",
        "Rendered by `fsvae-bench readme` from `results/` as `dvc repro` wrote it; do not edit "
        "this block by hand (a test checks it against `results/`).",
        "",
        _demote(table.read_text().strip()),
        "",
        "### Samples and reconstructions",
        "",
        "Samples: generated images. Reconstructions: rows of test images, each followed by a row "
        "of their reconstructions.",
        "",
        "| dataset | model | samples | reconstructions |",
        "|---|---|---|---|",
    ]
    samples = results / "samples"
    for ds in datasets:
        for model in models:
            grid = samples / f"{ds}_{model}_samples.png"
            recon = samples / f"{ds}_{model}_recon.png"
            if not grid.is_file():
                continue
            cell = _image(recon, root, "reconstructions", 240) if recon.is_file() else "-"
            diversity = load_diversity(diversity_path(samples, f"{ds}_{model}"))
            name = f"{model} {COLLAPSED}" if diversity and diversity.collapsed else model
            lines.append(f"| {ds} | {name} | {_image(grid, root, 'samples', 240)} | {cell} |")
    lines += cost_section(results)
    figures = [results / "figures" / f"{m}.png" for m in METRIC_FIGURES]
    figures = [f for f in figures if f.is_file()]
    if figures:
        lines += ["", "### Figures", ""]
        lines += [_image(f, root, f.stem, 420) for f in figures]
        lines += ["", "Training-loss curves: `results/figures/loss_<dataset>_<model>.png`."]
    lines.append(END)
    return "\n".join(lines)


def cost_section(results: Path) -> list[str]:
    """The computational-cost table as the tables stage wrote it; nothing until it exists.

    Args:
        results: The pipeline's results folder.

    Returns:
        Markdown lines (``results/tables/cost.md`` nested under the results section), or
        an empty list when the table has not been written yet (results from before the
        cost stage).

    """
    table = results / "tables" / "cost.md"
    if not table.is_file():
        return []
    return ["", _demote(table.read_text().strip())]


def replace_block(text: str, block: str) -> str:
    """Put ``block`` between the markers of ``text`` (appended when they are missing)."""
    if START in text and END in text:
        head, rest = text.split(START, 1)
        return head + block + rest.split(END, 1)[1]
    return text.rstrip("\n") + "\n\n" + block + "\n"


def current_block(text: str) -> str | None:
    """Return the marked block of ``text`` (markers included), or None."""
    if START not in text or END not in text:
        return None
    return START + text.split(START, 1)[1].split(END, 1)[0] + END
