"""Print a comparison (``leaderboard compare``) as text, or its ranking as a paper table.

Values are rounded to four significant digits (the CSV keeps full precision) and shown
with their sample count and protocol; differences that do not exclude a row (``T``, an
external model's training regime; :func:`pipelines.report.leaderboard.noted_differences`) are
written beside it.
"""

from __future__ import annotations

from pipelines.report.leaderboard import Row, lower_is_better, noted_differences
from pipelines.report.leaderboard_commands import Comparison
from pipelines.report.measurements import fmt
from pipelines.report.table1_writers import tex_escape

FORMATS = ("text", "markdown", "latex")
TABLE_HEADER = ("rank", "model", "value", "n", "T", "profile", "source")


def _value(row: Row) -> str:
    text = fmt(float(row["value"]))
    return f"{text} ± {fmt(float(row['std']), 2)}" if row.get("std") else text


def _who(row: Row) -> str:
    extra = f", {row['paper']}" if row["kind"] == "quoted" else ""
    return f"{row['model']} ({row['kind']}{extra})"


def _heading(r: Row) -> str:
    order = "lower is better" if lower_is_better(r["metric"]) else "higher is better"
    return (
        f"{r['dataset']} {r['metric']} [{r['metric_variant']}; protocol {r['protocol']}; "
        f"feature network {r['feature_network'] or '?'}; n={r['num_samples'] or '?'}; "
        f"reference {r['reference_split'] or '?'}; resolution {r['resolution'] or '?'}] "
        f"({order})"
    )


def format_comparisons(comparisons: list[Comparison], unavailable: list[str]) -> str:
    """Render comparisons as text: ranking, then the rows not compared and why."""
    lines = []
    for c in comparisons:
        r = c.row
        lines.append(_heading(r))
        for i, peer in enumerate(c.ranking, 1):
            mark = "  <- this model" if peer is r else ""
            noted = "" if peer is r else "; ".join(noted_differences(r, peer))
            extra = f" [differs: {noted}]" if noted else ""
            n = peer["num_samples"] or "?"
            lines.append(
                f"  {i}. {_who(peer)}: {_value(peer)} (n={n}, profile {peer['profile']})"
                f"{extra}{mark}"
            )
        if len(c.ranking) == 1:
            lines.append("  no other row was measured under this protocol")
        for peer, why in c.excluded:
            lines.append(f"  not compared with {_who(peer)} = {_value(peer)}: {'; '.join(why)}")
        lines.append("")
    lines += [f"not computed: {u}" for u in unavailable]
    return "\n".join(lines).rstrip() + "\n"


def _cells(c: Comparison) -> list[list[str]]:
    rows = []
    for i, peer in enumerate(c.ranking, 1):
        model = f"{peer['model']} (this model)" if peer is c.row else peer["model"]
        source = peer["paper"] if peer["kind"] == "quoted" else peer["kind"]
        n = peer["num_samples"] or "?"
        rows.append([str(i), model, _value(peer), n, peer["T"] or "-", peer["profile"], source])
    return rows


def format_tables(comparisons: list[Comparison], style: str) -> str:
    """Render each comparison's ranking (comparable rows only) as Markdown or LaTeX.

    Args:
        comparisons: From :func:`pipelines.report.leaderboard_commands.compare`.
        style: ``markdown`` or ``latex``.

    Returns:
        One table per compared metric variant, captioned with its protocol.

    """
    out = []
    for c in comparisons:
        caption = _heading(c.row)
        cells = _cells(c)
        if style == "markdown":
            out += [f"**{caption}**", ""]
            out += ["| " + " | ".join(TABLE_HEADER) + " |", "|" + "---|" * len(TABLE_HEADER)]
            out += ["| " + " | ".join(x.replace("|", "\\|") for x in row) + " |" for row in cells]
            out.append("")
        elif style == "latex":
            out += [
                r"\begin{table}[t]",
                r"\centering\small",
                rf"\caption{{{tex_escape(caption)}}}",
                r"\begin{tabular}{rlrrrll}",
                r"\toprule",
                " & ".join(TABLE_HEADER) + r" \\",
                r"\midrule",
                *[" & ".join(tex_escape(x) for x in row) + r" \\" for row in cells],
                r"\bottomrule",
                r"\end{tabular}",
                r"\end{table}",
                "",
            ]
        else:
            raise ValueError(f"table style {style!r}: one of {list(FORMATS[1:])}")
    return "\n".join(out)
