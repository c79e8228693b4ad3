"""rlmx side by side with the official implementation (PyPI `rlms`, module `rlm`) on one scripted server.

    python benchmarks/vs_official/run.py [--runs 7] [--quick] [--rlmx-python PATH]

Creates benchmarks/vs_official/.venv-official (`pip install rlms==0.1.3`) and .venv-rlmx (this checkout,
`pip install -e .`, core dependencies only) once, starts one scripted OpenAI-compatible server on 127.0.0.1
(TCP_NODELAY, each response in one write, listen backlog 1024, scripted replies by role and iteration, latency,
slots, every request recorded with arrival and send times) and runs both systems interleaved (the order
alternates run by run), each scenario in a fresh process (`scenario.py`).
Writes results.json (machine, load, one record per figure: medians and ranges over runs, ratio = rlmx /
official, so below 1 means rlmx is faster or smaller) and results.md next to this file.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
OFFICIAL_VENV = HERE / ".venv-official"
REPO = HERE.parent.parent
RLMS_VERSION = "0.1.3"

CELL = "```repl\nn = len(context)\nprint(n)\n```"
FINISH = '```repl\nanswer["content"] = "done"\nanswer["ready"] = True\n```'
SEQ_CELL = '```repl\nfor i in range(64):\n    r = llm_query(f"SUBQ {i}")\nprint(r)\n```'
BATCH_CELL = '```repl\nrs = llm_query_batched([f"SUBQ {i}" for i in range(64)])\nprint(len(rs), rs[0])\n```'
CHILDREN_CELL = '```repl\nrs = rlm_query_batched([f"CHILD-TASK-{i}" for i in range(4)])\nprint(rs)\n```'
CHILD_CELLS = [
    "```repl\nprint('marker', context)\n```",
    '```repl\nanswer["content"] = context\nanswer["ready"] = True\n```',
]
SUB_LATENCY = 0.2
DEPTH2_LATENCY = 0.1


@dataclass
class Plan:
    """What the server answers during one scenario run."""

    root: list[str]
    sub_latency: float = 0.0
    root_latency: float = 0.0
    slots: int = 64


PLANS: dict[str, Plan] = {
    "iter_40mb": Plan([CELL] * 4 + [FINISH]),
    "rss_40mb": Plan([CELL] * 4 + [FINISH]),
    "cold": Plan([FINISH]),
    "seq64": Plan([SEQ_CELL, FINISH], sub_latency=SUB_LATENCY),
    "fanout64": Plan([BATCH_CELL, FINISH], sub_latency=SUB_LATENCY),
    "trace_1mb": Plan([CELL] * 4 + [FINISH]),
    "trace_10mb": Plan([CELL] * 4 + [FINISH]),
    "depth2": Plan([CHILDREN_CELL, FINISH], sub_latency=DEPTH2_LATENCY, root_latency=DEPTH2_LATENCY),
}


@dataclass
class Record:
    kind: str  # "root", "sub" or "child"
    iteration: int
    arrived: float
    sent: float = 0.0
    kept_apart: bool | None = None


@dataclass
class ScriptedServer:
    """Minimal HTTP/1.1 keep-alive server: one thread per connection, whole response in one sendall()."""

    plan: Plan = field(default_factory=lambda: PLANS["cold"])
    records: list[Record] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        self.slots = threading.Semaphore(64)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1024)
        self.base_url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/v1"
        threading.Thread(target=self._accept, daemon=True).start()

    def reset(self, plan: Plan) -> None:
        with self.lock:
            self.plan = plan
            self.records = []
            self.slots = threading.Semaphore(plan.slots)

    def _accept(self) -> None:
        while True:
            conn, _ = self.sock.accept()
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        buffer = b""
        try:
            while True:
                while b"\r\n\r\n" not in buffer:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buffer += chunk
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                match = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
                length = int(match.group(1)) if match else 0
                while len(buffer) < length:
                    chunk = conn.recv(max(65536, length - len(buffer)))
                    if not chunk:
                        return
                    buffer += chunk
                raw, buffer = buffer[:length], buffer[length:]
                arrived = time.time()
                body = json.dumps(self._answer(json.loads(raw), arrived)).encode()
                response = (
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
                    + str(len(body)).encode()
                    + b"\r\n\r\n"
                    + body
                )
                conn.sendall(response)
        except (ConnectionError, OSError, ValueError):
            return
        finally:
            conn.close()

    def _answer(self, request: dict[str, Any], arrived: float) -> dict[str, Any]:
        messages = request.get("messages") or []
        texts = [
            m.get("content") if isinstance(m.get("content"), str) else json.dumps(m.get("content")) for m in messages
        ]
        joined = "\n".join(t or "" for t in texts)
        turns = sum(1 for m in messages if m.get("role") == "assistant")
        plan = self.plan
        record = Record("root", turns, arrived)
        if "ROOT-QUERY" in joined:
            text, latency = plan.root[min(turns, len(plan.root) - 1)], plan.root_latency
        elif "SUBQ" in joined:
            record.kind, text, latency = "sub", "ok", plan.sub_latency
        else:
            record.kind, latency = "child", plan.root_latency
            text = CHILD_CELLS[min(turns, len(CHILD_CELLS) - 1)]
            if turns == 1:  # the child's own cell output must hold its own marker and no other child's
                record.kept_apart = len(set(re.findall(r"marker (CHILD-TASK-\d+)", joined))) == 1
        with self.lock:
            self.records.append(record)
        with self.slots if latency else _NULL:
            time.sleep(latency)
        record.sent = time.time()
        return {
            "id": "chatcmpl-bench",
            "object": "chat.completion",
            "created": 1_700_000_000,
            "model": str(request.get("model", "m")),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {
                "prompt_tokens": len(joined) // 4,
                "completion_tokens": len(text) // 4,
                "total_tokens": len(joined) // 4 + len(text) // 4,
            },
        }


class _Null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


_NULL = _Null()


# --- memory sampling ---------------------------------------------------------------------------------------
def _tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        try:
            for tid in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{tid}/children") as handle:
                    todo.extend(int(c) for c in handle.read().split())
        except OSError:
            continue
    return pids


def _pss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


class PeakSampler(threading.Thread):
    """Polls the PSS (each shared page counted once, split among its sharers) of a process and all its
    descendants every 5 ms; `peak` is the largest sum seen, in KiB."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.stop = pid, 0, threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.peak = max(self.peak, sum(_pss_kib(p) for p in _tree(self.pid)))
            time.sleep(0.005)


# --- running -----------------------------------------------------------------------------------------------
def official_python() -> Path:
    python = OFFICIAL_VENV / "bin" / "python"
    probe = [str(python), "-c", f"import importlib.metadata as m; assert m.version('rlms') == '{RLMS_VERSION}'"]
    if python.exists() and subprocess.run(probe, capture_output=True).returncode == 0:
        return python
    print(f"creating {OFFICIAL_VENV} with rlms=={RLMS_VERSION} ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(OFFICIAL_VENV)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", f"rlms=={RLMS_VERSION}"], check=True)
    return python


def rlmx_python() -> Path:
    """A virtual environment with rlmx installed from this checkout as a user gets it (core dependencies only,
    no dev tools: the dev extras pull in trio, which the HTTP stack then imports on the first call)."""
    venv = HERE / ".venv-rlmx"
    python = venv / "bin" / "python"
    stamp, wanted = venv / "pyproject.sha256", hashlib.sha256((REPO / "pyproject.toml").read_bytes()).hexdigest()
    if (
        python.exists()
        and stamp.exists()
        and stamp.read_text() == wanted  # the checkout's dependencies have not changed since the install
        and subprocess.run([str(python), "-c", "import rlmx"], capture_output=True).returncode == 0
    ):
        return python
    print(f"creating {venv} with rlmx from {REPO} ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", "-e", str(REPO)], check=True)
    stamp.write_text(wanted)
    return python


def run_one(server: ScriptedServer, python: str, system: str, scenario: str, sandbox: str = "") -> dict[str, float]:
    """Runs one scenario in a fresh process; returns its figures (seconds, KiB or bytes). `sandbox`: rlmx's tier."""
    server.reset(PLANS[scenario])
    with tempfile.TemporaryDirectory(prefix="vs-official-") as folder:
        trace_dir = folder if scenario.startswith("trace") else ""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI", "RLMX"))}
        command = [python, str(HERE / "scenario.py"), system, scenario, server.base_url, trace_dir, sandbox]
        t_popen = time.time()
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=folder
        )
        sampler = PeakSampler(process.pid) if scenario.startswith("rss") else None
        if sampler:
            sampler.start()
        out, err = process.communicate(timeout=300)
        if sampler:
            sampler.stop.set()
            sampler.join()
        if process.returncode != 0:
            raise RuntimeError(f"{system} {scenario} failed ({process.returncode}):\n{err[-3000:]}")
        timing = json.loads(out.strip().splitlines()[-1])
        trace_bytes = sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file())
    records = sorted(server.records, key=lambda r: r.arrived)
    roots = [r for r in records if r.kind == "root"]
    wall = timing["t_done"] - timing["t_call"]
    figures: dict[str, float] = {}
    if scenario == "iter_40mb":
        figures["overhead_per_iteration_40mb"] = wall / len(roots)
        figures["startup_40mb"] = roots[0].arrived - timing["t_call"]
        figures["root_gap"] = statistics.median(b.arrived - a.sent for a, b in itertools.pairwise(roots))
        figures["teardown_40mb"] = timing["t_done"] - roots[-1].sent
    elif scenario == "cold":
        figures["cold_start"] = timing["t_done"] - t_popen
        figures["cold_to_first_request"] = roots[0].arrived - t_popen
    elif scenario == "rss_40mb":
        figures["peak_rss_40mb"] = sampler.peak if sampler else 0
    elif scenario in ("seq64", "fanout64", "depth2"):
        cell = roots[1].arrived - roots[0].sent
        name = {"seq64": "seq64_wall", "fanout64": "fanout_64_wall", "depth2": "depth2_parallel_wall"}[scenario]
        figures[name] = cell
        if scenario == "depth2":
            figures["depth2_children_kept_apart"] = sum(1 for r in records if r.kept_apart)
    elif scenario.startswith("trace"):
        figures[f"trace_bytes_{scenario.removeprefix('trace_')}_5it"] = trace_bytes
    return figures


UNITS = {
    "overhead_per_iteration_40mb": (
        "ms",
        1e3,
        "host overhead per iteration: completion() wall / 5 iterations, 40 MB, server answers at once",
    ),
    "startup_40mb": ("ms", 1e3, "completion() called to first root request arrived, 40 MB"),
    "root_gap": ("ms", 1e3, "root reply sent to next root request arrived (median), 40 MB, trivial cell"),
    "teardown_40mb": ("ms", 1e3, "last root reply sent to completion() returned, 40 MB"),
    "cold_start": ("s", 1, "process spawned (imports included) to completion() returned, 1 iteration, small context"),
    "cold_to_first_request": ("s", 1, "process spawned to first root request arrived, small context"),
    "peak_rss_40mb": ("MiB", 1 / 1024, "peak PSS of host + REPL processes (each page once), 40 MB, 5 iterations"),
    "seq64_wall": ("s", 1, "one cell of 64 sequential llm_query, 200 ms each (ideal 12.8 s)"),
    "fanout_64_wall": ("s", 1, "one llm_query_batched of 64, 200 ms each, 64 server slots (ideal 0.2 s)"),
    "trace_bytes_1mb_5it": ("KB", 1e-3, "trace written after 5 iterations, 1 MB context"),
    "trace_bytes_10mb_5it": ("KB", 1e-3, "trace written after 5 iterations, 10 MB context"),
    "depth2_parallel_wall": ("s", 1, "one rlm_query_batched of 4 children (2 turns each), every LM call 100 ms"),
    "depth2_children_kept_apart": (
        "children",
        1,
        "children whose own cell output held their marker and no other's (sum over runs)",
    ),
}


def summarise(samples: dict[str, dict[str, list[float]]], runs: int) -> list[dict[str, Any]]:
    out = []
    for figure, (unit, scale, _) in UNITS.items():
        a, b = samples["rlmx"].get(figure, []), samples["official"].get(figure, [])
        if not a or not b:
            continue
        pick = sum if figure == "depth2_children_kept_apart" else statistics.median
        rlmx, official = pick(a) * scale, pick(b) * scale
        out.append(
            {
                "figure": figure,
                "unit": unit,
                "rlmx": round(rlmx, 4),
                "official": round(official, 4),
                "ratio": round(rlmx / official, 3) if official else None,
                "runs": runs,
                "rlmx_min": round(min(a) * scale, 4),
                "rlmx_max": round(max(a) * scale, 4),
                "official_min": round(min(b) * scale, 4),
                "official_max": round(max(b) * scale, 4),
            }
        )
    return out


def write_markdown(path: Path, meta: dict[str, Any], figures: list[dict[str, Any]]) -> None:
    lines = [
        "# rlmx vs the official implementation (rlms " + RLMS_VERSION + ")",
        "",
        f"{meta['date']}, {meta['cpus']} CPUs, load average {meta['load_before']} before and {meta['load_after']} "
        f"after; {meta['runs']} runs per system, interleaved; medians (range). Ratio = rlmx / official. "
        f"rlmx sandbox tier: {meta.get('rlmx_sandbox', 'subprocess (default)')}.",
        "Generated by `python benchmarks/vs_official/run.py`; on a busy machine the CPU-bound figures are inflated"
        " on both sides, so read the ratios.",
        "",
        "| figure | rlmx | official | ratio | what |",
        "|---|---|---|---|---|",
    ]
    for f in figures:
        what = UNITS[f["figure"]][2]
        lines.append(
            f"| {f['figure']} | {f['rlmx']:.4g} {f['unit']} ({f['rlmx_min']:.4g}-{f['rlmx_max']:.4g}) | "
            f"{f['official']:.4g} {f['unit']} ({f['official_min']:.4g}-{f['official_max']:.4g}) | "
            f"{f['ratio']} | {what} |"
        )
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="1 run, without the 13 s sequential scenario")
    parser.add_argument("--rlmx-python", help="a Python with rlmx installed (default: .venv-rlmx, made here)")
    parser.add_argument("--only", nargs="*", help="scenarios to run (default: all)")
    parser.add_argument("--out", default=str(HERE), help="folder for results.json and results.md")
    parser.add_argument(
        "--sandbox", default="", help="rlmx's sandbox tier (default: the default tier, subprocess); e.g. inprocess"
    )
    args = parser.parse_args()
    runs = 1 if args.quick else args.runs
    scenarios = args.only or [s for s in PLANS if not (args.quick and s == "seq64")]
    pythons = {
        "rlmx": os.path.abspath(args.rlmx_python) if args.rlmx_python else str(rlmx_python()),
        "official": str(official_python()),
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)  # before the runs: a missing folder must not lose them
    server = ScriptedServer()
    load_before = [round(x, 2) for x in os.getloadavg()]
    samples: dict[str, dict[str, list[float]]] = {"rlmx": {}, "official": {}}
    for run in range(runs):
        for scenario in scenarios:
            order = ["rlmx", "official"] if (run + scenarios.index(scenario)) % 2 == 0 else ["official", "rlmx"]
            for system in order:
                figures = run_one(server, pythons[system], system, scenario, args.sandbox if system == "rlmx" else "")
                for name, value in figures.items():
                    samples[system].setdefault(name, []).append(value)
                print(f"run {run + 1}/{runs} {scenario:<10} {system:<8} {figures}", flush=True)
    meta = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "cpus": os.cpu_count(),
        "load_before": load_before,
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "runs": runs,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "rlms": RLMS_VERSION,
        "rlmx_sandbox": args.sandbox or "subprocess (default)",
    }
    table = summarise(samples, runs)
    (out / "results.json").write_text(json.dumps({"machine": meta, "figures": table}, indent=1) + "\n")
    write_markdown(out / "results.md", meta, table)
    print((out / "results.md").read_text())


if __name__ == "__main__":
    main()
