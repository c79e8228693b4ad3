"""`rlmx bench report`: a Markdown table shaped like the paper's Table 1 and PNG plots shaped like Figure 1.

Table: one row per (model, method), one column per family: mean score x 100, then mean +- std USD and tokens
per task sent to the model (`N/A` when none was); `(k*)` counts tasks over the window, not sent and scored 0, as
in the paper. A second table gives score per length; a third, per family and method, what BENCHMARKS.md asks of
local models instead of dollars: root (depth 0) and sub-call (depth >= 1) tokens in/out, sub-calls, iterations
and wall seconds (mean), with wall-time and USD percentiles (25/50/75/95). Plots (needs matplotlib, the `bench`
extra): per family, score against log2 context length, one line per method, the model's window drawn as a
dashed line with the lengths beyond it shaded, and points over the window marked x.
"""

from __future__ import annotations

import math
import re
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

from rlmx.bench.runner import latest_per_task, read_records
from rlmx.bench.task import params_label, write_private_text
from rlmx.errors import InputError
from rlmx.extras import install_command
from rlmx.sandbox.frames import encodable

FAMILY_ORDER = ("codeqa", "docs", "oolong", "pairs", "sniah")


UNPRICED = "unpriced"
"""Shown for USD when a run called a model with no known price: its cost is unknown, never $0."""


def _usd_cell(values: list[Any]) -> str:
    """Mean ± sd of the runs' USD, or UNPRICED when any run's cost is unknown."""
    if any(value is None for value in values):
        return UNPRICED
    usd, usd_sd = _mean_std([float(value) for value in values])
    return f"${usd:.4f} ± {usd_sd:.4f}"


def _mean_std(values: list[float]) -> tuple[float, float]:
    if not values:
        return 0.0, 0.0
    return statistics.fmean(values), statistics.pstdev(values) if len(values) > 1 else 0.0


def _percentiles(values: list[float], ranks: tuple[int, ...] = (25, 50, 75, 95)) -> list[float]:
    """Linear-interpolation percentiles (numpy's default) of a non-empty list."""
    ordered = sorted(values)
    out = []
    for rank in ranks:
        at = (len(ordered) - 1) * rank / 100
        low = math.floor(at)
        high = min(low + 1, len(ordered) - 1)
        out.append(ordered[low] + (ordered[high] - ordered[low]) * (at - low))
    return out


def _sent(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The records of tasks the model was asked (not marked over the window)."""
    return [r for r in records if not r.get("over_window")]


def _depth_tokens(record: dict[str, Any], root: bool) -> tuple[int, int]:
    """(input, output) tokens at depth 0 (root) or summed over depths >= 1 (sub-calls)."""
    tin = tout = 0
    for depth, slot in (record.get("tokens") or {}).items():
        if (str(depth) == "0") == root:
            tin += int(slot.get("input", 0))
            tout += int(slot.get("output", 0))
    return tin, tout


def _family(record: dict[str, Any]) -> str:
    """A record's family as the report shows it: with its generator parameters when the run gave some
    ("sniah[variant=noise]"), so tasks generated differently are never averaged together."""
    return str(record["family"]) + params_label(record.get("params") or {})


def _families(records: list[dict[str, Any]]) -> list[str]:
    present = {_family(r) for r in records}
    order = {name: i for i, name in enumerate(FAMILY_ORDER)}
    return sorted(present, key=lambda label: (order.get(label.split("[")[0], len(order)), label))


def table(records: list[dict[str, Any]]) -> str:
    """The Markdown report (both tables) of `records`."""
    families = _families(records)
    groups: dict[tuple[str, str], dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for r in records:
        groups[(r["model"], r["method"])][_family(r)].append(r)
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
            star = sum(1 for r in rs if r.get("over_window"))
            mark = f" ({star}*)" if star else ""
            sent = _sent(rs)
            if not sent:
                cells.append(f"{score:.1f}{mark}<br>N/A")
                continue
            tok, tok_sd = _mean_std([float(r["input_tokens"] + r["output_tokens"]) for r in sent])
            usd = _usd_cell([r.get("usd") for r in sent])
            cells.append(f"{score:.1f}{mark}<br>{usd}<br>{tok:,.0f} ± {tok_sd:,.0f} tok")
        lines.append(f"| {model} | {method} | " + " | ".join(cells) + " |")
    lines += ["", "Score x 100 by context length (tokens); n tasks in brackets:", ""]
    lengths = sorted({r["length"] for r in records})
    lines.append("| Family | Model | Method | " + " | ".join(_labels(lengths)) + " |")
    lines.append("|---|---|---|" + "---|" * len(lengths))
    cell: dict[tuple[str, str, str, int], list[float]] = defaultdict(list)
    for r in records:
        cell[(_family(r), r["model"], r["method"], r["length"])].append(r["score"])
    for family in families:
        for model, method in sorted({(r["model"], r["method"]) for r in records if _family(r) == family}):
            row = []
            for n in lengths:
                got = cell.get((family, model, method, n))
                row.append(f"{statistics.fmean(got) * 100:.1f} ({len(got)})" if got else "-")
            lines.append(f"| {family} | {model} | {method} | " + " | ".join(row) + " |")
    return "\n".join([*lines, "", *_cost_table(records, families)]) + "\n"


def _cost_table(records: list[dict[str, Any]], families: list[str]) -> list[str]:
    """Per (family, model, method), over the tasks sent to the model: mean root and sub-call tokens, sub-calls,
    iterations and wall seconds, and wall / USD percentiles."""
    lines = [
        "Work per task sent to the model (means; tasks over the window are not sent and not counted); "
        "wall seconds and USD as mean ± std and 25/50/75/95th percentiles:",
        "",
        "| Family | Model | Method | sent | root in / out | sub-calls in / out | sub-calls | iterations "
        "| wall s | wall s p25/50/75/95 | USD p25/50/75/95 |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for family in families:
        pairs = sorted({(r["model"], r["method"]) for r in records if _family(r) == family})
        for model, method in pairs:
            rs = [r for r in records if (_family(r), r["model"], r["method"]) == (family, model, method)]
            sent = _sent(rs)
            if not sent:
                lines.append(f"| {family} | {model} | {method} | 0 of {len(rs)} |" + " - |" * 7)
                continue
            root = [_depth_tokens(r, True) for r in sent]
            sub = [_depth_tokens(r, False) for r in sent]
            wall = [float(r.get("wall_s") or 0.0) for r in sent]
            usd = [r.get("usd") for r in sent]
            wall_mean, wall_sd = _mean_std(wall)
            cells = [
                f"{len(sent)} of {len(rs)}",
                f"{statistics.fmean(t[0] for t in root):,.0f} / {statistics.fmean(t[1] for t in root):,.0f}",
                f"{statistics.fmean(t[0] for t in sub):,.0f} / {statistics.fmean(t[1] for t in sub):,.0f}",
                f"{statistics.fmean(float(r.get('subcalls') or 0) for r in sent):.1f}",
                f"{statistics.fmean(float(r.get('iterations') or 0) for r in sent):.1f}",
                f"{wall_mean:.1f} ± {wall_sd:.1f}",
                " / ".join(f"{v:.1f}" for v in _percentiles(wall)),
                UNPRICED if None in usd else " / ".join(f"{v:.4f}" for v in _percentiles([float(v or 0) for v in usd])),
            ]
            lines.append(f"| {family} | {model} | {method} | " + " | ".join(cells) + " |")
    return lines


def _short(n: int, digits: int = 0) -> str:
    """A length labelled as the paper's Figure 1 does (decimal): 8192 -> 8K, 32768 -> 33K, 131072 -> 131K,
    1048576 -> 1M; `digits` more decimals when a neighbour needs them (1536 -> 1.5K)."""
    if n >= 1_000_000:
        return f"{round(n / 1_000_000, 1 + digits):g}M"
    return f"{round(n / 1000, digits):g}K" if n >= 1000 else str(n)


def _labels(lengths: list[int]) -> list[str]:
    """One label per length, all distinct: Figure 1's short form (`_short`), with as many more decimals as it
    takes to tell two lengths apart (1k, 1.5k, 2k -> 1K, 1.5K, 2K; 8192 and 8500 -> 8.2K, 8.5K), else the
    exact token count."""
    for digits in range(4):
        labels = [_short(n, digits) for n in lengths]
        if len(set(labels)) == len(set(lengths)):
            return labels
    return [str(n) for n in lengths]


def plots(records: list[dict[str, Any]], out: Path, window: int | None) -> list[Path]:
    """One PNG per family (score vs log2 length); raises ImportError without matplotlib."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    for family in _families(records):
        fig, ax = plt.subplots(figsize=(6, 4))
        series: dict[str, dict[int, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
        for r in records:
            if _family(r) == family:
                series[f"{r['method']} ({r['model']})"][r["length"]].append(r)
        over_label = "over the window (not sent, 0)"
        for label, points in sorted(series.items()):
            xs = sorted(points)
            ys = [statistics.fmean(r["score"] for r in points[x]) * 100 for x in xs]
            ax.plot([math.log2(x) for x in xs], ys, marker="o", label=label)
            marked = [any(r.get("over_window") for r in points[x]) for x in xs]
            over = [(math.log2(x), y) for x, y, m in zip(xs, ys, marked, strict=True) if m]
            if over:
                ax.plot(*zip(*over, strict=True), linestyle="none", marker="x", markersize=9, color="red",
                        label=over_label)  # fmt: skip
                over_label = "_nolegend_"
        lengths = sorted({r["length"] for r in records if _family(r) == family})
        ax.set_xticks([math.log2(n) for n in lengths], _labels(lengths))
        if window:
            ax.axvline(math.log2(window), color="grey", linestyle="--", label=f"context window ({_short(window)})")
            right = max(math.log2(lengths[-1]), math.log2(window)) + 0.5
            ax.axvspan(math.log2(window), right, color="red", alpha=0.07)
        ax.set_xlabel("context length (tokens, log2 scale)")
        ax.set_ylabel("score (%)")
        ax.set_ylim(-5, 105)
        ax.set_title(family)
        ax.legend(fontsize=7)
        fig.tight_layout()
        path = out / ("bench_" + re.sub(r"[^A-Za-z0-9_.-]+", "_", family).strip("_") + ".png")
        fig.savefig(path, dpi=100)
        plt.close(fig)
        written.append(path)
    return written


def write_report(folder: Path, *, window: int | None = None) -> tuple[Path, list[Path], str | None]:
    """Write folder/report.md (and PNGs when matplotlib is present): (report, plots, note when plots are
    missing). Raises InputError when the folder has no records."""
    recorded = read_records(folder)
    if not recorded:
        raise InputError(
            f"no benchmark records in {folder} (expected {folder / 'records.jsonl'} from `rlmx bench run`)"
        )
    records = latest_per_task(recorded)
    window = window or max((r.get("window") or 0 for r in records), default=0) or None
    note = None
    try:
        pngs = plots(records, folder, window)
    except ImportError:
        note = f"plots skipped: matplotlib is not installed; install the `bench` extra: {install_command('bench')}"
        pngs = []
    body = "# rlmx bench report\n\n"
    if replaced := len(recorded) - len(records):
        body += (
            f"{replaced} records of tasks run again under other settings (window, reply cap, budget, sandbox, "
            "judge, sub-model) are left out: each task counts once, with its latest outcome.\n\n"
        )
    errors = [r for r in records if r.get("status") == "error"]
    if errors:
        body += (
            f"{len(errors)} of {len(records)} tasks ended in an error and are scored 0 here (first: "
            f"{str(errors[0].get('error') or '?')[:200]}); `rlmx bench run` with the same flags runs them again.\n\n"
        )
    body += table(records)
    if pngs:
        body += "\n" + "\n".join(f"![{p.stem}]({p.name})" for p in pngs) + "\n"
    if note:
        body += f"\n{note}\n"
    path = folder / "report.md"
    write_private_text(path, encodable(body))  # records written before errors were made valid may hold lone surrogates
    return path, pngs, note
