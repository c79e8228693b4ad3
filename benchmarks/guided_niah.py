"""Accuracy and speed of the offline default (guided root + embedded SmolLM2) on S-NIAH-style haystacks.

Ten needles of different kinds (codes, names, numbers, dates) at three sizes and two depths each; a run is right
when the expected answer is in rlmx's answer. Also counts "NOT FOUND" and wrong answers, and the sub-calls made.
Writes benchmarks/results/guided_niah.json.  Usage: python benchmarks/guided_niah.py [--sizes 10000 128000 ...]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import time
from pathlib import Path

from rlmx import RLM
from rlmx.bench.niah import Needle, haystack
from rlmx.lm import GuidedRoot, LocalLM

NEEDLES = [
    Needle("The secret code for the vault is 48213.", "What is the secret code for the vault?", "48213"),
    Needle(
        "The director of the Halden Observatory is Elena Varga.",
        "Who is the director of the Halden Observatory?",
        "Elena Varga",
    ),
    Needle("Exactly 742 crates were shipped to Port Maren.", "How many crates were shipped to Port Maren?", "742"),
    Needle(
        "The password for the archive server is blue-falcon-19.",
        "What is the password for the archive server?",
        "blue-falcon-19",
    ),
    Needle(
        "The Nightingale program has a budget of 3.2 million euros.",
        "What is the budget of the Nightingale program?",
        "3.2 million",
    ),
    Needle(
        "The Kestrel review meeting is scheduled for March 14.",
        "When is the Kestrel review meeting scheduled?",
        "March 14",
    ),
    Needle("The capital of Orvania is Telmar.", "What is the capital of Orvania?", "Telmar"),
    Needle("Parts with SKU-5521 are stored in bay 17.", "In which bay are parts with SKU-5521 stored?", "17"),
    Needle(
        "The night train to Vellmoor departs from platform 9.",
        "From which platform does the night train to Vellmoor depart?",
        "9",
    ),
    Needle(
        "The launch code for the Aurora project is 7391-KESTREL.",
        "What is the launch code for the Aurora project?",
        "7391-KESTREL",
    ),
]
CHARS_PER_TOKEN = 5.2


async def main(sizes: list[int], depths: list[float], out: Path) -> None:
    lm = LocalLM()
    runs = []
    for tokens in sizes:
        for depth in depths:
            for index, needle in enumerate(NEEDLES):
                text = haystack(int(tokens * CHARS_PER_TOKEN), needle, depth=depth, seed=index * 7 + tokens)
                started = time.perf_counter()
                root = GuidedRoot(lm)
                result = await RLM(root, sub_lm=root.reader).acompletion(needle.question, context=text)
                seconds = time.perf_counter() - started
                right = needle.answer.lower() in result.answer.lower()
                verdict = "right" if right else ("not_found" if result.answer == "NOT FOUND" else "wrong")
                runs.append(
                    {
                        "tokens": tokens,
                        "depth": depth,
                        "needle": needle.answer,
                        "answer": result.answer,
                        "verdict": verdict,
                        "seconds": round(seconds, 2),
                        "sub_calls": result.usage.sub.calls,
                    }
                )
                print(
                    f"{tokens:>9,} tokens  depth {depth:.2f}  {needle.answer!r:>18} -> {result.answer!r:<24} "
                    f"{verdict:<9} {seconds:5.1f} s  {result.usage.sub.calls} sub-calls",
                    flush=True,
                )
    summary = {}
    for tokens in sizes:
        mine = [r for r in runs if r["tokens"] == tokens]
        summary[str(tokens)] = {
            "runs": len(mine),
            "right": sum(r["verdict"] == "right" for r in mine),
            "not_found": sum(r["verdict"] == "not_found" for r in mine),
            "wrong": sum(r["verdict"] == "wrong" for r in mine),
            "median_seconds": statistics.median(r["seconds"] for r in mine),
            "mean_sub_calls": round(statistics.mean(r["sub_calls"] for r in mine), 2),
        }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "what": "guided root + embedded SmolLM2-135M-Instruct (Q8_0) on S-NIAH haystacks, greedy",
                "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
                "machine": {"platform": platform.platform(), "cores": len(__import__("os").sched_getaffinity(0))},
                "model_window_tokens": lm.n_ctx,
                "summary": summary,
                "runs": runs,
            },
            indent=2,
        )
    )
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 128_000, 1_000_000])
    parser.add_argument("--depths", type=float, nargs="+", default=[0.25, 0.75])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "guided_niah.json")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.sizes, arguments.depths, arguments.out))
