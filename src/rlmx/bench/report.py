"""`rlmx bench report`: a Markdown table shaped like the paper's Table 1 and PNG plots shaped like Figure 1.

Table: one row per (model, method), one column per family: mean score x 100, then mean +- std USD and tokens
per task; `*` counts tasks marked over the window (scored 0). A second table gives score per length. Plots
(needs matplotlib, the `bench` extra): per family, score against log2 context length, one line per method,
the model's window drawn as a vertical line.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

from rlmx.bench.runner import read_records
from rlmx.errors import InputError

FAMILY_ORDER = ("codeqa", "docs", "oolong", "pairs", "sniah")


def _mean_std(values: list[float]) -> tuple[float, float]:
    if not values:
        return 0.0, 0.0
    return statistics.fmean(values), statistics.pstdev(values) if len(values) > 1 else 0.0


def _families(records: list[dict[str, Any]]) -> list[str]:
    present = {r["family"] for r in records}
    return [f for f in FAMILY_ORDER if f in present] + sorted(present - set(FAMILY_ORDER))


def table(records: list[dict[str, Any]]) -> str:
    """The Markdown report (both tables) of `records`."""
    families = _families(records)
    groups: dict[tuple[str, str], dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for r in records:
        groups[(r["model"], r["method"])][r["family"]].append(r)
    lines = [
        "| Model | Method | " + " | ".join(families) + " |",
        "|---|---|" + "---|" * len(families),
    ]
    for (model, method), by_family in sorted(groups.items()):
        cells = []
        for family in families:
            rs = by_family.get(family, [])
            if not rs:
                cells.append("-")
                continue
            score = statistics.fmean(r["score"] for r in rs) * 100
            usd, usd_sd = _mean_std([r["usd"] for r in rs])
            tok, tok_sd = _mean_std([float(r["input_tokens"] + r["output_tokens"]) for r in rs])
            star = sum(1 for r in rs if r.get("over_window"))
            mark = f" ({star}*)" if star else ""
            cells.append(f"{score:.1f}{mark}<br>${usd:.4f} ± {usd_sd:.4f}<br>{tok:,.0f} ± {tok_sd:,.0f} tok")
        lines.append(f"| {model} | {method} | " + " | ".join(cells) + " |")
    lines += ["", "Score x 100 by context length (tokens); n tasks in brackets:", ""]
    lengths = sorted({r["length"] for r in records})
    lines.append("| Family | Model | Method | " + " | ".join(_short(n) for n in lengths) + " |")
    lines.append("|---|---|---|" + "---|" * len(lengths))
    cell: dict[tuple[str, str, str, int], list[float]] = defaultdict(list)
    for r in records:
        cell[(r["family"], r["model"], r["method"], r["length"])].append(r["score"])
    for family in families:
        for model, method in sorted({(r["model"], r["method"]) for r in records if r["family"] == family}):
            row = []
            for n in lengths:
                got = cell.get((family, model, method, n))
                row.append(f"{statistics.fmean(got) * 100:.1f} ({len(got)})" if got else "-")
            lines.append(f"| {family} | {model} | {method} | " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def _short(n: int) -> str:
    if n % (1024 * 1024) == 0:
        return f"{n // (1024 * 1024)}M"
    return f"{n // 1024}K" if n % 1024 == 0 else str(n)


def plots(records: list[dict[str, Any]], out: Path, window: int | None) -> list[Path]:
    """One PNG per family (score vs log2 length); raises ImportError without matplotlib."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    for family in _families(records):
        fig, ax = plt.subplots(figsize=(5, 3.5))
        series: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
        for r in records:
            if r["family"] == family:
                series[f"{r['method']} ({r['model']})"][r["length"]].append(r["score"])
        for label, points in sorted(series.items()):
            xs = sorted(points)
            ax.plot(
                [math.log2(x) for x in xs], [statistics.fmean(points[x]) * 100 for x in xs], marker="o", label=label
            )
        lengths = sorted({r["length"] for r in records if r["family"] == family})
        ax.set_xticks([math.log2(n) for n in lengths], [_short(n) for n in lengths])
        if window:
            ax.axvline(math.log2(window), color="grey", linestyle="--", label="context window")
        ax.set_xlabel("context length (tokens, log2 scale)")
        ax.set_ylabel("score (%)")
        ax.set_ylim(-5, 105)
        ax.set_title(family)
        ax.legend(fontsize=7)
        fig.tight_layout()
        path = out / f"bench_{family}.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        written.append(path)
    return written


def write_report(folder: Path, *, window: int | None = None) -> tuple[Path, list[Path], str | None]:
    """Write folder/report.md (and PNGs when matplotlib is present): (report, plots, note when plots are
    missing). Raises InputError when the folder has no records."""
    records = read_records(folder)
    if not records:
        raise InputError(
            f"no benchmark records in {folder} (expected {folder / 'records.jsonl'} from `rlmx bench run`)"
        )
    window = window or max((r.get("window") or 0 for r in records), default=0) or None
    note = None
    try:
        pngs = plots(records, folder, window)
    except ImportError:
        pngs, note = [], "plots skipped: matplotlib is not installed (pip install 'rlmx[bench]')"
    body = "# rlmx bench report\n\n" + table(records)
    if pngs:
        body += "\n" + "\n".join(f"![{p.stem}]({p.name})" for p in pngs) + "\n"
    if note:
        body += f"\n{note}\n"
    path = folder / "report.md"
    path.write_text(body, "utf-8")
    return path, pngs, note
