"""How fast `rlmx ask` stops: Ctrl-C while the embedded model generates, and `--max-seconds` overrun.

Each case runs the README's first command (the embedded model, the guided root, the Aurora report) as a real
process. Ctrl-C: SIGINT is sent once a sub-call line (`llm_query`) shows the model is generating, and the time
from the signal to the process's exit is measured, with its exit code and whether stderr holds a traceback.
`--max-seconds S`: the time from start to exit, against S. The load average is recorded with the numbers.

    .venv/bin/python benchmarks/cli_interrupts.py [--runs 3] [--max-seconds 10] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
ASK = [sys.executable, "-m", "rlmx.cli", "ask", "What is the launch code for the Aurora project?"]
CONTEXT = ["--context", str(ROOT / "examples" / "aurora_report.txt")]


def _start(extra: list[str], state: str) -> subprocess.Popen[str]:
    env = {**os.environ, "XDG_STATE_HOME": state, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [*ASK, *CONTEXT, *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT
    )


def ctrl_c(presses: int, state: str) -> dict[str, Any]:
    proc = _start([], state)
    assert proc.stderr is not None
    seen: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            seen.append(line)
            if "llm_query" in line:
                ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    if not ready.wait(120):
        proc.kill()
        return {"error": "no sub-call started", "stderr": "".join(seen)[-2000:]}
    time.sleep(0.3)  # inside the model call
    sent = time.monotonic()
    for press in range(presses):
        proc.send_signal(signal.SIGINT)
        if press + 1 < presses:
            time.sleep(0.1)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    exited = time.monotonic() - sent
    reader.join(5)
    stderr = "".join(seen)
    return {
        "presses": presses,
        "exit_code": proc.returncode,
        "seconds_to_exit": round(exited, 3),
        "traceback": "Traceback" in stderr or "Exception ignored" in stderr,
    }


def max_seconds(limit: float, state: str) -> dict[str, Any]:
    started = time.monotonic()
    proc = _start(["--max-seconds", f"{limit:g}", "--quiet"], state)
    stdout, stderr = proc.communicate(timeout=600)
    took = time.monotonic() - started
    return {
        "max_seconds": limit,
        "exit_code": proc.returncode,
        "seconds_to_exit": round(took, 3),
        "overrun_s": round(took - limit, 3),
        "answer": stdout.strip()[:80],
        "traceback": "Traceback" in stderr,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--max-seconds", type=float, default=10.0)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "cli_interrupts.json")
    args = parser.parse_args()
    load_before = os.getloadavg()
    results: dict[str, list[dict[str, Any]]] = {"ctrl_c_once": [], "ctrl_c_twice": [], "max_seconds": []}
    with tempfile.TemporaryDirectory() as state:
        for _ in range(args.runs):
            results["ctrl_c_once"].append(ctrl_c(1, state))
            results["ctrl_c_twice"].append(ctrl_c(2, state))
            results["max_seconds"].append(max_seconds(args.max_seconds, state))
    out = {
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        **results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
