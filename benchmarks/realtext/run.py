"""Real-text evaluation of the offline default (guided root + embedded SmolLM2) on public texts from Debian.

Each question is first checked against its text by this script (the evidence passage occurs and holds the
answer; an absent fact's words occur nowhere; a count is computed here by code of its own), then asked through
the same path as `rlmx ask` with no model configured. Verdicts:
* right         the short answer holds the expected answer (two-fact: the answer with its quoted unit holds all)
* right_quoted  no short answer, but the quoted best units (labelled as such) hold the expected answer
* not_found     NOT FOUND (right for absent facts)
* quoted        absent fact, but units were quoted (labelled as unverified): not right, not confident
* missed        units were quoted that do not hold the answer
* wrong         a short answer (or count) that is wrong: wrong-and-confident
Writes benchmarks/results/realtext.json and .md.

    python benchmarks/realtext/run.py                      # everything (about 240 questions)
    python benchmarks/realtext/run.py --texts ucd --kinds count absent --limit 3
    python benchmarks/realtext/run.py --check-only         # check the questions against the texts; no model
    python benchmarks/realtext/run.py --install            # apt-get the Debian packages first (root)
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import os
import platform
import re
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from questions import QUESTIONS, Q
from texts import install, locate

RESULTS = Path(__file__).resolve().parents[1] / "results"
KINDS = ("lookup", "paraphrase", "number", "name", "method", "two_fact", "absent", "count")


def squash(text: str) -> str:
    return " ".join(text.split())


# --- the script's own checks and counts ---------------------------------------------------------------


def expected_count(text: str, how: str, arg: str) -> str:
    """Counts computed here, independently of rlmx's code."""
    word = re.compile(rf"\b{re.escape(arg)}\b", re.IGNORECASE) if arg else None
    if how == "occurrences":
        assert word is not None
        return str(len(word.findall(text)))
    if how == "lines_with":
        assert word is not None
        return str(sum(1 for line in text.splitlines() if word.search(line)))
    if how == "ucd_category":
        return str(sum(1 for line in text.splitlines() if line.count(";") > 3 and line.split(";")[2] == arg))
    verse = re.compile(r"^\s+\d+ (.*)$")
    if how == "kjv_verses":
        return str(sum(1 for line in text.splitlines() if verse.match(line)))
    if how in ("kjv_verses_with", "kjv_book_most"):
        book = ""
        per_book: Counter[str] = Counter()
        verses = 0
        assert word is not None
        for line in text.splitlines():
            heading = re.match(r"^(\S.*?) \d+$", line)
            if heading:
                book = heading.group(1)
            elif verse.match(line) and word.search(line):
                verses += 1
                per_book[book] += len(word.findall(line))
        return str(verses) if how == "kjv_verses_with" else per_book.most_common(1)[0][0]
    headwords = list(dict.fromkeys(re.findall(r"(?m)^   :([^:\n]+):", text)))
    if how == "jargon_entries":
        return str(len(headwords))
    if how == "jargon_entries_starting":
        return str(sum(1 for h in headwords if h.lower().startswith(arg.lower())))
    if how == "pci_vendors":  # pci.ids: a vendor line is four hex digits at the line's start, two spaces, the name
        return str(len(re.findall(r"(?m)^[0-9a-f]{4}  ", text)))
    if how == "pci_classes":  # pci.ids: "C 02  Network controller"
        return str(len(re.findall(r"(?m)^C [0-9a-f]{2}  ", text)))
    if how == "fortune_entries":  # fortune files: the entries between lines of a lone "%"
        return str(sum(1 for entry in re.split(r"(?m)^%\n", text) if entry.strip()))
    if how == "csv_rows":  # the records of a CSV file, less its header row
        return str(sum(1 for row in list(csv.reader(io.StringIO(text)))[1:] if row))
    records = next(iter(json.loads(text).values())) if how.startswith("json_") else []  # {"639-3": [{...}, ...]}
    if how == "json_entries":
        return str(len(records))
    if how == "json_entries_with":  # records with the word in any of their values
        assert word is not None
        return str(sum(1 for record in records if any(word.search(str(v)) for v in record.values())))
    if how == "changelog_versions":  # Debian changelog entries: "package (version) distribution; urgency=..."
        return str(len(re.findall(r"(?m)^\S+ \([^)]+\) [^;]+; urgency=", text)))
    raise ValueError(how)


def check(question: Q, text: str, flat: str) -> str | None:
    """The expected count, or None; raises AssertionError when the question does not hold for the text."""
    kind = question["kind"]
    if kind == "count":
        how, arg = question["count"]
        return expected_count(text, how, arg)
    if kind == "absent":
        for word in question["absent"]:
            assert re.search(rf"\b{re.escape(word)}\b", text, re.IGNORECASE) is None, f"{word!r} occurs"
        return None
    passages = question["evidence"] if isinstance(question["evidence"], list) else [question["evidence"]]
    for passage in passages:
        assert squash(passage) in flat, f"evidence not in the text: {passage!r}"
    joined = " ".join(passages).lower()
    needed = question["answers"]
    assert (all if question.get("all") else any)(a.lower() in joined for a in needed), "answer not in evidence"
    return None


# --- grading ------------------------------------------------------------------------------------------


def grade(question: Q, answer: str, expected: str | None) -> str:
    answer = answer.strip()
    lowered = squash(answer).lower()
    first = answer.split("\n", 1)[0].strip()
    if answer.startswith("NOT FOUND"):
        shape = "not_found"
    elif answer.startswith("No short answer could be verified"):
        shape = "quoted"
    else:
        shape = "short"
    kind = question["kind"]
    if kind == "count":
        return "right" if first.replace(",", "") == expected else ("not_found" if shape == "not_found" else "wrong")
    if kind == "absent":
        return {"not_found": "not_found", "quoted": "quoted", "short": "wrong"}[shape]
    if shape == "not_found":
        return "not_found"
    wanted = [a.lower() for a in question["answers"]]
    if question.get("all"):
        held = all(a in lowered for a in wanted)
        if shape == "short":
            return "right" if held and any(a in first.lower() for a in wanted) else "wrong"
        return "right_quoted" if held else "missed"
    if shape == "short":
        return "right" if any(a in first.lower() for a in wanted) else "wrong"
    return "right_quoted" if any(a in lowered for a in wanted) else "missed"


# --- running --------------------------------------------------------------------------------------------


def phases(trace_path: str | None) -> dict[str, float]:
    """Per-phase seconds from the trace: the index cell, the answer cell, and the model's time in sub-calls."""
    out: dict[str, float] = {
        "index_cell_s": 0.0,
        "index_cpu_s": 0.0,
        "answer_cell_s": 0.0,
        "model_s": 0.0,
        "subcalls": 0,
    }
    if not trace_path:
        return out
    cells = 0
    for line in Path(trace_path).read_text().splitlines():
        event = json.loads(line)
        data = event.get("data", event)
        if event.get("type") == "cell":
            cells += 1
            out["index_cell_s" if cells == 1 else "answer_cell_s"] += float(data.get("seconds", 0))
            found = re.search(r"\(cpu ([\d.]+) s\)", str(data.get("output", "")))
            if cells == 1 and found:
                out["index_cpu_s"] = float(found.group(1))
            reading = re.search(r"phase read ([\d.]+) s", str(data.get("output", "")))
            if reading:
                out["model_s"] = float(reading.group(1))  # the read phase: the model's calls, one after another
        elif event.get("type") == "subcall_end":
            out["subcalls"] += 1
    return {k: round(v, 2) for k, v in out.items()}


async def run(args: argparse.Namespace) -> int:
    if args.install:
        install(args.texts)
    cache = Path(args.cache)
    chosen: list[tuple[str, Path, Q]] = []
    skipped: dict[str, str] = {}
    for text_id in args.texts:
        path, why = locate(text_id, cache)
        if path is None:
            skipped[text_id] = why
            print(f"SKIP {text_id}: {why}", file=sys.stderr)
            continue
        questions = [q for q in QUESTIONS[text_id] if q["kind"] in args.kinds]
        chosen.extend((text_id, path, q) for q in questions[: args.limit or None])
    texts = {t: p.read_text(encoding="utf-8") for t, p, _ in chosen}
    flats = {t: squash(v) for t, v in texts.items()}
    expected = {id(q): check(q, texts[t], flats[t]) for t, _, q in chosen}
    print(f"{len(chosen)} questions checked against {len(texts)} texts", file=sys.stderr)
    if args.check_only:
        return 0

    from rlmx import RLM
    from rlmx.lm import GuidedRoot, LocalLM

    lm = LocalLM(n_threads=args.threads)
    root = GuidedRoot(lm)
    runs = []
    for text_id, path, question in chosen:
        started, cpu = time.perf_counter(), time.process_time()
        result = await RLM(root, sub_lm=root.reader, trace_dir=args.trace_dir).acompletion(question["q"], context=path)
        seconds = time.perf_counter() - started
        host_cpu = time.process_time() - cpu  # this process: the engine and the model's thread
        verdict = grade(question, result.answer, expected[id(question)])
        row = {
            "text": text_id,
            "kind": question["kind"],
            "question": question["q"],
            "expected": expected[id(question)] or question.get("answers"),
            "answer": result.answer[:600],
            "status": result.status,
            "verdict": verdict,
            "seconds": round(seconds, 2),
            "cpu_s": round(host_cpu, 2),
            **phases(str(result.trace_path) if result.trace_path else None),
        }
        runs.append(row)
        print(f"{verdict:12} {seconds:6.1f}s {text_id:6} {question['kind']:10} {question['q']}", file=sys.stderr)
    lm.close()
    write(runs, texts, skipped, args)
    return 0


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    by_kind: dict[str, Any] = {}
    for kind in KINDS:
        rows = [r for r in runs if r["kind"] == kind]
        if rows:
            verdicts = Counter(r["verdict"] for r in rows)
            right = verdicts["not_found"] if kind == "absent" else verdicts["right"] + verdicts["right_quoted"]
            by_kind[kind] = {"n": len(rows), **dict(verdicts), "right_or_quoted": right}
    answerable = [r for r in runs if r["kind"] not in ("absent", "count")]
    return {
        "by_kind": by_kind,
        "answerable_right": sum(r["verdict"] in ("right", "right_quoted") for r in answerable),
        "answerable": len(answerable),
        "absent_not_found": sum(r["verdict"] == "not_found" for r in runs if r["kind"] == "absent"),
        "absent": sum(r["kind"] == "absent" for r in runs),
        "count_exact": sum(r["verdict"] == "right" for r in runs if r["kind"] == "count"),
        "count": sum(r["kind"] == "count" for r in runs),
        "wrong_confident": sum(r["verdict"] == "wrong" for r in runs),
        "median_seconds": round(statistics.median(r["seconds"] for r in runs), 2) if runs else None,
        "max_seconds": max((r["seconds"] for r in runs), default=None),
        "median_model_seconds": round(statistics.median(r["model_s"] for r in runs), 2) if runs else None,
        # CPU seconds a question costs (the index in the sandbox + this process, the model included): what it
        # takes on an idle core, whatever the load while measuring
        "median_cpu_seconds": round(statistics.median(r["cpu_s"] + r["index_cpu_s"] for r in runs), 2)
        if runs
        else None,
    }


def write(runs: list[dict[str, Any]], texts: dict[str, str], skipped: dict[str, str], args: argparse.Namespace) -> None:
    summary = summarise(runs)
    meta = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, load average at the end "
        + " ".join(f"{x:.1f}" for x in os.getloadavg()),
        "threads": args.threads,
        "texts": {t: len(v) for t, v in texts.items()},
        "skipped": skipped,
    }
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "realtext.json"
    out.write_text(json.dumps({"summary": summary, "meta": meta, "runs": runs}, indent=1, ensure_ascii=False) + "\n")
    lines = [
        "# Real-text benchmark (offline default: guided root + SmolLM2-135M)",
        "",
        f"Texts (characters): {', '.join(f'{t} {n:,}' for t, n in meta['texts'].items())}. {meta['machine']}.",
        "",
        "| kind | questions | right (absent: NOT FOUND) | of which by quoted units | NOT FOUND | wrong (confident) |",
        "|---|---|---|---|---|---|",
    ]
    for kind, row in summary["by_kind"].items():
        lines.append(
            f"| {kind} | {row['n']} | {row['right_or_quoted']} | {row.get('right_quoted', 0)} | "
            f"{row.get('not_found', 0)} | {row.get('wrong', 0)} |"
        )
    lines += [
        "",
        f"Answerable lookups right: {summary['answerable_right']}/{summary['answerable']}; absent facts NOT FOUND: "
        f"{summary['absent_not_found']}/{summary['absent']}; "
        f"counts exact: {summary['count_exact']}/{summary['count']}; "
        f"wrong and confident: {summary['wrong_confident']}.",
        f"Seconds per question: median {summary['median_seconds']}, max {summary['max_seconds']}; median model "
        f"time {summary['median_model_seconds']} s; median CPU seconds per question "
        f"{summary['median_cpu_seconds']} (llama.cpp threads: {meta['threads']}).",
        "",
        "| verdict | s | text | kind | question | answer (first line) |",
        "|---|---|---|---|---|---|",
    ]
    for r in runs:
        first = r["answer"].split("\n", 1)[0][:80].replace("|", "\\|")
        lines.append(f"| {r['verdict']} | {r['seconds']} | {r['text']} | {r['kind']} | {r['question']} | {first} |")
    (RESULTS / "realtext.md").write_text("\n".join(lines) + "\n")
    print(json.dumps(summary, indent=1), file=sys.stderr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--texts", nargs="+", default=list(QUESTIONS), choices=list(QUESTIONS))
    parser.add_argument("--kinds", nargs="+", default=list(KINDS), choices=list(KINDS))
    parser.add_argument("--limit", type=int, default=0, help="questions per text (0: all)")
    parser.add_argument("--threads", type=int, default=None, help="llama.cpp threads (default: all cores)")
    parser.add_argument("--cache", default=str(Path.home() / ".cache" / "rlmx-realtext"))
    parser.add_argument("--trace-dir", default=str(Path.home() / ".cache" / "rlmx-realtext" / "traces"))
    parser.add_argument("--check-only", action="store_true")
    parser.add_argument("--install", action="store_true", help="apt-get install the Debian packages first")
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
