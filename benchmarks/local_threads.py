"""How many llama.cpp threads the embedded model should use: one sub-LM call at 1, 2, ... threads.

The call is the guided root's typical one: a ~3,000-character window of the Aurora report plus a question,
through LocalLM's chat path (prefill of ~800 tokens, a short greedy answer). Each thread count gets a fresh
LocalLM (loading is not timed), one warm-up call, then `--runs` timed calls; thread counts are interleaved so
a change in machine load hits them alike. The load average before and after is recorded: on a shared machine
more threads than idle cores make llama.cpp much slower (its threads spin-wait for each other at every step).

    .venv/bin/python benchmarks/local_threads.py [--threads 1 2] [--runs 5] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
QUESTION = "What is the launch code for the Aurora project?"


def window() -> str:
    text = (ROOT / "examples" / "aurora_report.txt").read_text(encoding="utf-8")
    at = text.index("7391-KESTREL")
    return text[max(0, at - 1500) : at + 1500]


async def timed_calls(threads: int, runs: int) -> list[float]:
    from rlmx.lm.local import LocalLM

    lm = LocalLM(n_threads=threads)
    lm.load()
    prompt = f"Read the following text and answer the question.\n\nText:\n{window()}\n\nQuestion: {QUESTION}"
    messages: list[Any] = [{"role": "user", "content": prompt}]
    await lm.complete(messages, max_tokens=32)  # warm-up
    seconds = []
    for _ in range(runs):
        lm.close()  # no KV-cache reuse between runs: every call prefills the whole prompt
        lm.load()
        started = time.perf_counter()
        await lm.complete(messages, max_tokens=32)
        seconds.append(time.perf_counter() - started)
    lm.close()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds of every thread count")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "local_threads.json")
    args = parser.parse_args()
    load_before = os.getloadavg()
    raw: dict[int, list[float]] = {n: [] for n in args.threads}
    for _ in range(args.rounds):
        for threads in args.threads:
            raw[threads] += asyncio.run(timed_calls(threads, args.runs))
    load_after = os.getloadavg()
    summary = {
        str(n): {"median_s": round(statistics.median(v), 3), "min_s": round(min(v), 3), "max_s": round(max(v), 3)}
        for n, v in raw.items()
    }
    result = {
        "what": "one LocalLM chat call: ~3,000-character window + question, max_tokens 32, fresh KV cache",
        "machine": {"platform": platform.platform(), "cores": os.cpu_count(), "affinity": len(os.sched_getaffinity(0))},
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in load_after],
        "summary": summary,
        "raw_seconds": {str(n): [round(x, 3) for x in v] for n, v in raw.items()},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: result[k] for k in ("load_average_before", "load_average_after", "summary")}, indent=2))


if __name__ == "__main__":
    main()
