"""Sandbox overhead: rlmx's tiers side by side with the official `rlms` package's LocalREPL, in one run.

Measured per tier (medians; every tier on the same machine in the same run):

* start-up: construct and start the REPL with a one-word context, until it can run a cell;
* context load: the same with a 40 MB string, and with a ~40 MB list of dicts (JSON); "ctx cost" is that
  minus the start-up. For rlmx the host-side `prepare()` (serialise once) is reported on its own too;
* per-cell overhead: a trivial cell (`x = 1`), host call to host result;
* llm_query round trip: 200 `llm_query` calls inside one cell against an echo handler, per call;
* restart after a hard kill (rlmx only): a fresh worker with the contexts (forked from the zygote).

The official LocalREPL (`pip install rlms`, module `rlm`) runs in the host process: this script runs itself
again under a Python that has `rlms` installed (`--rlms-python`; by default it creates ~/.cache/rlmx/bench-rlms-venv
with `pip install rlms==0.1.3`) and measures LocalREPL the same way, with its own TCP LMHandler and an echo client.
Results go to benchmarks/results/sandbox_overhead.json. Not part of the test suite.

    .venv/bin/python benchmarks/sandbox_overhead.py [--runs 7] [--cells 500] [--rlms-python PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
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

CTX_CHARS = 40_000_000
DOCS = 20_000
WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet", "kilo"]
ROUND_TRIPS = 200
RLMS_VERSION = "0.1.3"


def make_contexts(folder: Path) -> tuple[Path, Path]:
    """ctx40.txt (a 40,000,000-character string of "documents") and docs.json (20,000 dicts, ~40 MB)."""
    text_path, docs_path = folder / "ctx40.txt", folder / "docs.json"
    rng = random.Random(0)
    parts: list[str] = []
    size, doc = 0, 0
    while size < CTX_CHARS:
        line = f"[doc {doc}] " + " ".join(rng.choices(WORDS, k=20)) + "\n"
        parts.append(line)
        size += len(line)
        doc += 1
    text_path.write_text("".join(parts)[:CTX_CHARS], encoding="ascii")
    docs = [
        {
            "id": i,
            "title": f"document {i}",
            "tags": rng.choices(WORDS, k=3),
            "body": " ".join(rng.choices(WORDS, k=300)),
        }
        for i in range(DOCS)
    ]
    docs_path.write_text(json.dumps(docs), encoding="ascii")
    return text_path, docs_path


def median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 3)


def figures(starts: dict[str, list[float]], cell_times: list[float], trips: list[float]) -> dict[str, Any]:
    """The figures every tier and the official LocalREPL report, computed the same way for all of them."""
    startup = median_ms(starts["tiny"])
    return {
        "startup_ms": startup,
        "start_with_40mb_str_ms": median_ms(starts["str40"]),
        "start_with_40mb_docs_ms": median_ms(starts["docs40"]),
        "ctx_load_40mb_str_ms": round(median_ms(starts["str40"]) - startup, 3),
        "ctx_load_40mb_docs_ms": round(median_ms(starts["docs40"]) - startup, 3),
        "per_cell_us": median_us(cell_times),
        "per_cell_p90_us": round(sorted(cell_times)[int(len(cell_times) * 0.9)] * 1e6, 1),
        "llm_query_round_trip_us": median_us(trips),
    }


def median_us(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1e6, 1)


def timed(function: Callable[[], Any]) -> float:
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


# --- rlmx tiers ------------------------------------------------------------------------------------------------
def _prepared(paths: tuple[Path, Path]) -> tuple[dict[str, Any], list[float], list[float]]:
    """The three prepared contexts, and how long `prepare()` (the host's serialise-once) takes for each big one."""
    from rlmx.context import prepare

    text = paths[0].read_text(encoding="ascii")
    docs = json.loads(paths[1].read_text(encoding="ascii"))
    prepare_text = [timed(lambda: prepare("context", text)) for _ in range(3)]
    prepare_docs = [timed(lambda: prepare("context", docs)) for _ in range(3)]
    contexts = {"tiny": prepare("context", "x"), "str40": prepare("context", text), "docs40": prepare("context", docs)}
    return contexts, prepare_text, prepare_docs


async def measure_rlmx(
    name: str, options: dict[str, Any], paths: tuple[Path, Path], runs: int, cells: int
) -> dict[str, Any]:
    from rlmx.sandbox import SubCall, SubCallResult, create_sandbox

    async def echo(call: SubCall) -> list[SubCallResult]:
        return [SubCallResult(True, text=item["prompt"]) for item in call.items]

    contexts, prepare_text, prepare_docs = _prepared(paths)
    gc.collect()  # the parsed documents are gone: the host's gc must not walk them while cells are timed

    async def start_once(key: str) -> float:
        box = create_sandbox(name, **options)
        started = time.perf_counter()
        await box.start([contexts[key]])
        await box.run_cell("pass", calls=echo, timeout=30)
        elapsed = time.perf_counter() - started
        await box.close()
        return elapsed

    starts: dict[str, list[float]] = {key: [] for key in contexts}
    for _ in range(runs):
        for key in contexts:  # interleaved, so drift hits every variant alike
            starts[key].append(await start_once(key))

    box = create_sandbox(name, **options)
    await box.start([contexts["str40"]])
    protections = dict(box.protections)
    try:
        for _ in range(50):
            await box.run_cell("x = 1", calls=echo, timeout=30)
        cell_times = []
        for _ in range(cells):
            started = time.perf_counter()
            await box.run_cell("x = 1", calls=echo, timeout=30)
            cell_times.append(time.perf_counter() - started)
        loop = f"import time\nt = time.perf_counter()\nfor _ in range({ROUND_TRIPS}):\n    llm_query('ping')\n"
        loop += "print(time.perf_counter() - t)"
        trips = []
        for _ in range(max(runs, 5)):
            result = await box.run_cell(loop, calls=echo, timeout=60)
            trips.append(float(result.stdout) / ROUND_TRIPS)
        restarts = []
        if name != "inprocess":
            for _ in range(runs):
                started = time.perf_counter()
                await box.run_cell("import os\nos._exit(1)", calls=echo, timeout=30)
                restarts.append(time.perf_counter() - started)
    finally:
        await box.close()
    return {
        **figures(starts, cell_times, trips),
        "host_prepare_40mb_str_ms": median_ms(prepare_text),
        "host_prepare_40mb_docs_ms": median_ms(prepare_docs),
        "restart_after_kill_ms": median_ms(restarts) if restarts else None,
        "protections": {
            k: protections.get(k) for k in ("tier", "mode", "namespaces", "seccomp", "landlock_abi", "uid")
        },
    }


# --- the official LocalREPL (runs under a Python with `rlms` installed) ----------------------------------------
def measure_localrepl(paths: tuple[Path, Path], runs: int, cells: int) -> dict[str, Any]:
    from rlm.clients.base_lm import BaseLM
    from rlm.core.lm_handler import LMHandler
    from rlm.core.types import ModelUsageSummary, UsageSummary
    from rlm.environments.local_repl import LocalREPL

    class Echo(BaseLM):
        def completion(self, prompt: Any) -> str:
            return str(prompt)

        async def acompletion(self, prompt: Any) -> str:
            return str(prompt)

        def get_usage_summary(self) -> UsageSummary:
            return UsageSummary(model_usage_summaries={})

        def get_last_usage(self) -> ModelUsageSummary:
            return ModelUsageSummary(0, 0, 0)

    text = paths[0].read_text(encoding="ascii")
    docs = json.loads(paths[1].read_text(encoding="ascii"))
    payloads = {"tiny": "x", "str40": text, "docs40": docs}

    def start_once(key: str) -> float:
        started = time.perf_counter()
        repl = LocalREPL(context_payload=payloads[key])
        repl.execute_code("pass")
        elapsed = time.perf_counter() - started
        repl.cleanup()
        return elapsed

    starts: dict[str, list[float]] = {key: [] for key in payloads}
    for _ in range(runs):
        for key in payloads:
            starts[key].append(start_once(key))
    handler = LMHandler(Echo("echo"))
    handler.start()
    repl = LocalREPL(lm_handler_address=handler.address, context_payload=text)
    try:
        for _ in range(50):
            repl.execute_code("x = 1")
        cell_times = [timed(lambda: repl.execute_code("x = 1")) for _ in range(cells)]
        loop = f"import time\nt = time.perf_counter()\nfor _ in range({ROUND_TRIPS}):\n    llm_query('ping')\n"
        loop += "print(time.perf_counter() - t)"
        trips = [float(repl.execute_code(loop).stdout) / ROUND_TRIPS for _ in range(max(runs, 5))]
    finally:
        repl.cleanup()
        handler.stop()
    return {
        **figures(starts, cell_times, trips),
        "restart_after_kill_ms": None,
        "protections": {"tier": "in-process exec (rlms LocalREPL)", "unsafe": True},
    }


def rlms_python(requested: str | None) -> str:
    """A Python with `rlms` importable: the one given, this one, or a cached venv (created once)."""
    if requested:
        return requested
    try:
        import rlm.environments.local_repl  # noqa: F401
    except ImportError:
        pass
    else:
        return sys.executable
    venv = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "rlmx" / "bench-rlms-venv"
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", f"rlms=={RLMS_VERSION}"], check=True)
    return str(python)


def ratios(ours: dict[str, Any], theirs: dict[str, Any]) -> dict[str, float | None]:
    keys = ("startup_ms", "ctx_load_40mb_str_ms", "ctx_load_40mb_docs_ms", "per_cell_us", "llm_query_round_trip_us")
    return {k: round(ours[k] / theirs[k], 2) if theirs.get(k) and ours.get(k) is not None else None for k in keys}


TIERS: dict[str, tuple[str, dict[str, Any]]] = {
    "subprocess": ("subprocess", {}),
    "subprocess (no zygote)": ("subprocess", {"zygote": False}),
    "isolated (bwrap)": ("isolated", {"mode": "bwrap"}),
    "isolated (landlock)": ("isolated", {"mode": "landlock"}),
    "inprocess (unsafe)": ("inprocess", {}),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--cells", type=int, default=500)
    parser.add_argument("--rlms-python", help="a Python with `pip install rlms` done (default: a cached venv)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "sandbox_overhead.json")
    parser.add_argument("--localrepl-only", nargs=2, metavar=("TEXT", "DOCS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.localrepl_only:
        paths = (Path(args.localrepl_only[0]), Path(args.localrepl_only[1]))
        print(json.dumps(measure_localrepl(paths, args.runs, args.cells)))
        return
    with tempfile.TemporaryDirectory(
        prefix="rlmx-bench-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None
    ) as tmp:
        paths = make_contexts(Path(tmp))
        docs_bytes = paths[1].stat().st_size
        results: dict[str, Any] = {}
        asyncio.run(measure_rlmx("subprocess", {}, paths, 1, 50))  # warm-up (page cache, CPU clocks); discarded
        for label, (name, options) in TIERS.items():
            print(f"measuring {label} ...", file=sys.stderr)
            try:
                results[label] = asyncio.run(measure_rlmx(name, options, paths, args.runs, args.cells))
            except Exception as exc:  # a tier this machine cannot run is reported, not fatal
                results[label] = {"error": f"{type(exc).__name__}: {exc}"}
        print("measuring rlms LocalREPL ...", file=sys.stderr)
        python = rlms_python(args.rlms_python)
        command = [python, __file__, "--runs", str(args.runs), "--cells", str(args.cells), "--localrepl-only"]
        done = subprocess.run([*command, *map(str, paths)], capture_output=True, text=True, check=True)
        results["rlms LocalREPL"] = json.loads(done.stdout.strip().splitlines()[-1])
    official = results["rlms LocalREPL"]
    report = {
        "benchmark": "sandbox_overhead",
        "date": time.strftime("%Y-%m-%d"),
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "python": sys.version.split()[0],
            "uid": os.getuid(),
            "rlms": RLMS_VERSION,
        },
        "setup": {
            "text_context": f"{CTX_CHARS:,} characters",
            "docs_context": f"{DOCS:,} dicts, {docs_bytes:,} bytes as JSON",
            "runs": args.runs,
            "cells": args.cells,
            "llm_query_round_trips_per_cell": ROUND_TRIPS,
        },
        "tiers": results,
        "ratio_to_rlms_localrepl": {
            label: ratios(data, official)
            for label, data in results.items()
            if label != "rlms LocalREPL" and "error" not in data
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({k: {m: v for m, v in d.items() if m != "protections"} for k, d in results.items()}, indent=2))


if __name__ == "__main__":
    main()
