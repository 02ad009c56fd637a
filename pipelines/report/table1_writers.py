"""Write Table 1 (see :mod:`pipelines.report.table1`) as CSV, Markdown and LaTeX, atomically."""

from __future__ import annotations

import csv
import io
from itertools import groupby
from pathlib import Path

from pipelines.report.leaderboard import write_atomic
from pipelines.report.measurements import (
    DATASET_LABELS,
    LOWER_IS_BETTER,
    METRIC_LABELS,
    Measurement,
    paper_variant,
)
from pipelines.report.table1 import CSV_COLUMNS, Table1Row, csv_records, legend, profile_note

HEADER = (
    "Table 1 column",
    "model",
    "ours, paper protocol",
    "paper (quoted)",
    "ours - paper",
    "ours, other protocol",
    "n: ours / paper",
)
NO_FILE = "no metrics file holds this metric (run `dvc repro`)"
COLLAPSED = "(COLLAPSED: samples all alike)"


class Footnotes:
    """Numbered reasons, each distinct text once (so 16 identical reasons read as one)."""

    def __init__(self) -> None:
        """Start with no notes."""
        self.texts: list[str] = []

    def ref(self, text: str) -> int:
        """Return the number of a reason, adding it if new."""
        if text not in self.texts:
            self.texts.append(text)
        return self.texts.index(text) + 1


class Notes:
    """The two footnote lists of a table: why a value is n/a, why it is not comparable."""

    def __init__(self, mark: str, incomparable: str) -> None:
        """Start empty; ``mark`` / ``incomparable`` format a note's number into a marker."""
        self.missing, self.incomparable = Footnotes(), Footnotes()
        self.mark, self.incomparable_mark = mark, incomparable


def _value(m: Measurement | None, notes: Notes, why_not: str = "") -> str:
    if m is None:
        return f"n/a{notes.mark.format(notes.missing.ref(NO_FILE))}"
    if m.mean is None:
        return f"n/a{notes.mark.format(notes.missing.ref('; '.join(m.unavailable)))}"
    if why_not:
        ref = notes.incomparable.ref(why_not)
        return f"{m.display()} (not comparable{notes.incomparable_mark.format(ref)})"
    return m.display()


def _cells(r: Table1Row, notes: Notes) -> list[str]:
    arrow = "lower" if LOWER_IS_BETTER[r.metric] else "higher"
    pv = paper_variant(r.metric)
    other = "-"
    if r.other is not None:
        other = f"{r.other.variant.label}: {_value(r.other, notes, r.other_mark)}"
    n_ours = r.ours.num_samples() if r.ours is not None and r.ours.mean is not None else "-"
    model = f"{r.model} (T={r.time_steps})" if r.time_steps else r.model
    return [
        f"{METRIC_LABELS[r.metric]} ({arrow} is better)",
        f"{model} {COLLAPSED}" if r.collapse else model,
        _value(r.ours, notes, r.ours_mark),
        r.paper["value"] if r.paper else "not in Table 1",
        "-" if r.difference is None else f"{r.difference:+.4g}",
        other,
        f"{n_ours} / {pv.paper_count if r.paper else '-'}",
    ]


def to_markdown(rows: list[Table1Row], profile: str) -> str:
    """Render the table as Markdown: one section per dataset, reasons as footnotes."""
    notes = Notes("[^{}]", "[^c{}]")
    out = [
        "# Table 1: our measurements beside the published ones "
        "(Kamata et al., AAAI 2022; ESVAE: Zhan et al. 2023)",
        "",
        f"> **{profile_note(profile)}**",
        "",
        *[f"- {line}" for line in legend()],
    ]
    for ds, group in groupby(rows, key=lambda r: r.dataset):
        items = list(group)
        out += ["", f"## {DATASET_LABELS[ds]} (profile `{profile}`)", ""]
        out += [f"Data used: {items[0].data}", ""]
        collapsed = dict.fromkeys((r.model, r.collapse) for r in items if r.collapse)
        out += [
            f"**{m} {COLLAPSED}**: {why}; its metrics describe a collapsed generator."
            for m, why in collapsed
        ]
        out += [""] if collapsed else []
        out += ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
        for r in items:
            cells = [c.replace("|", "\\|") for c in _cells(r, notes)]
            out.append("| " + " | ".join(cells) + " |")
    if notes.missing.texts:
        out += ["", "Why a value is n/a:", ""]
        out += [f"[^{i}]: {text}" for i, text in enumerate(notes.missing.texts, 1)]
    if notes.incomparable.texts:
        out += ["", "Values measured under another protocol than their column's first:", ""]
        out += [f"[^c{i}]: {text}" for i, text in enumerate(notes.incomparable.texts, 1)]
    return "\n".join(out) + "\n"


_TEX_ESCAPES = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "±": r"$\pm$",
}


def tex_escape(text: str) -> str:
    """Escape LaTeX special characters in plain text."""
    return "".join(_TEX_ESCAPES.get(ch, ch) for ch in text)


def to_latex(rows: list[Table1Row], profile: str) -> str:
    """Render the table as a LaTeX ``table`` (booktabs) with numbered reasons below."""
    notes = Notes("<{}>", "<+{}>")
    body = []
    for ds, group in groupby(rows, key=lambda r: r.dataset):
        items = list(group)
        title = f"{DATASET_LABELS[ds]} -- data: {items[0].data}"
        head = rf"\multicolumn{{{len(HEADER)}}}{{p{{0.95\linewidth}}}}"
        body.append(rf"\midrule {head}{{\textbf{{{tex_escape(title)}}}}} \\")
        for r in items:
            cells = [tex_escape(c) for c in _cells(r, notes)]
            cells = [
                c.replace("<+", r"$^{\dagger").replace("<", "$^{").replace(">", "}$") for c in cells
            ]
            body.append(" & ".join(cells) + r" \\")
    lines = [
        "% Generated by `fsvae-bench tables`; do not edit by hand.",
        r"\begin{table}[t]",
        r"\centering\scriptsize",
        rf"\caption{{Ours beside the paper's Table 1. {tex_escape(profile_note(profile))}}}",
        r"\begin{tabular}{llrrrlr}",
        r"\toprule",
        " & ".join(tex_escape(h) for h in HEADER) + r" \\",
        *body,
        r"\bottomrule",
        r"\end{tabular}",
        r"\par\smallskip\raggedright",
        *[tex_escape(line) + r"\\" for line in legend()],
        *[rf"$^{{{i}}}$ n/a: {tex_escape(t)}\\" for i, t in enumerate(notes.missing.texts, 1)],
        *[
            rf"$^{{\dagger{i}}}$ {tex_escape(t)}\\"
            for i, t in enumerate(notes.incomparable.texts, 1)
        ],
        r"\end{table}",
    ]
    return "\n".join(lines) + "\n"


def to_csv(rows: list[Table1Row], profile: str) -> str:
    """Render the table as CSV (full precision, one column per field)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(csv_records(rows, profile))
    return buffer.getvalue()


def write_tables(rows: list[Table1Row], profile: str, out_dir: str | Path) -> list[Path]:
    """Write ``table1.csv``, ``table1.md`` and ``table1.tex`` into ``out_dir``."""
    out = Path(out_dir)
    paths = []
    for suffix, render in (("csv", to_csv), ("md", to_markdown), ("tex", to_latex)):
        path = out / f"table1.{suffix}"
        write_atomic(path, render(rows, profile))
        paths.append(path)
    return paths
