"""Reply parsing cost: CPU seconds to parse replies of 7 KB to 1 MB, and how long the event loop is blocked.

Shapes (each built to the given size):

* `final_prose`: lines of prose that start with `FINAL(` and never close it (the worst case of the old parser,
  which read from every `FINAL(` to the end of the reply: quadratic);
* `mixed`: seeded random fences (3 and 4 backticks, tildes), `<think>` tags, `FINAL(` lines, quotes and prose.

For each size: the median CPU time of `parse_reply`, and the longest gap the event loop saw while `aparse_reply`
ran next to a 1 ms ticker (replies over 64 KiB are parsed on a worker thread). With `--before REV` the parser of
that git revision (`extract_cells` + `find_prose_final`, as the engine called them) is timed too, on sizes up to
`--before-max` bytes (it is quadratic: 56 KB took minutes). Results go to benchmarks/results/reply_parse.json.

    .venv/bin/python benchmarks/reply_parse.py [--before d373f3a] [--before-max 8000]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rlmx.protocol import aparse_reply, parse_reply

SIZES = (7_000, 56_000, 1_000_000)
_PIECES = ("```repl\n", "````repl\n", "~~~py\n", "```\n", "````\n", "<think>\n", "</think>\n", "FINAL(", "'", '"""')


def final_prose(size: int) -> str:
    line = "FINAL(the total (before tax) is what we need, so let me check the data first\n"
    return (line * (size // len(line) + 1))[:size]


def mixed(size: int) -> str:
    rng = random.Random(size)
    parts: list[str] = []
    length = 0
    while length < size:
        piece = rng.choice(_PIECES) if rng.random() < 0.5 else "some words of prose (here)\n" * rng.randint(1, 5)
        parts.append(piece)
        length += len(piece)
    return "".join(parts)[:size]


def cpu_seconds(parse: Callable[[str], Any], text: str, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.process_time()
        parse(text)
        times.append(time.process_time() - started)
    return statistics.median(times)


async def loop_block(text: str) -> float:
    """The longest gap between 1 ms ticks while the reply is parsed the way the engine parses it."""
    gaps: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    tick = asyncio.create_task(ticker())
    await asyncio.sleep(0.01)
    await aparse_reply(text)
    done.set()
    await tick
    return max(gaps)


def old_parser(revision: str) -> Callable[[str], Any]:
    source = subprocess.run(
        ["git", "show", f"{revision}:src/rlmx/protocol.py"], capture_output=True, text=True, check=True
    ).stdout
    path = Path(tempfile.mkdtemp()) / "old_protocol.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("old_protocol", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["old_protocol"] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return lambda text: (module.extract_cells(text), module.find_prose_final(text))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", metavar="REV", help="also time the parser of this git revision")
    parser.add_argument("--before-max", type=int, default=8_000, metavar="BYTES")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    old = old_parser(args.before) if args.before else None
    rows = []
    for shape in (final_prose, mixed):
        for size in sorted({*SIZES, args.before_max}) if old else SIZES:
            text = shape(size)
            row: dict[str, Any] = {
                "shape": shape.__name__,
                "bytes": size,
                "cpu_s": round(cpu_seconds(parse_reply, text, args.runs), 5),
                "loop_block_s": round(asyncio.run(loop_block(text)), 5),
            }
            if old is not None and size <= args.before_max:
                row["before_cpu_s"] = round(cpu_seconds(old, text, 1), 4)
            rows.append(row)
            print(json.dumps(row), flush=True)
    out = Path(__file__).parent / "results" / "reply_parse.json"
    meta = {"python": sys.version.split()[0], "machine": platform.machine(), "before": args.before}
    out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
