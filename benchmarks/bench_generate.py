"""How fast `rlmx.bench.generate` builds contexts: seconds per family and size, on this machine.

    .venv/bin/python benchmarks/bench_generate.py [--out benchmarks/results/bench_generate.json]

Each row is one fresh generation in a fresh process (no in-process or disk cache), with the chars4 size reached
and the context's sha256. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

CASES = [("sniah", 10_000_000), ("sniah", 1_048_576), ("oolong", 1_048_576), ("docs", 1_048_576), ("codeqa", 131_072)]
CHILD = """
import json, sys, time
from rlmx.bench import generate
family, size = sys.argv[1], int(sys.argv[2])
started = time.perf_counter()
task = generate(family, seed=0, target_tokens=size, index=0)
print(json.dumps({"family": family, "target_tokens": size, "seconds": round(time.perf_counter() - started, 3),
    "n_tokens": task.metadata["n_tokens"], "sha256_context": task.metadata["sha256_context"]}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/bench_generate.json"))
    args = parser.parse_args()
    rows = []
    for family, size in CASES:
        done = subprocess.run(
            [sys.executable, "-c", CHILD, family, str(size)], capture_output=True, text=True, timeout=300, check=True
        )
        row = json.loads(done.stdout)
        row["off_target_pct"] = round(abs(row["n_tokens"] - size) / size * 100, 4)
        rows.append(row)
        print(f"{family:7} {size:>10,} tokens: {row['seconds']:7.2f} s  ({row['off_target_pct']}% off target)")
    machine = {"python": platform.python_version(), "cpus": os.cpu_count(), "load_avg": os.getloadavg()}
    args.out.write_text(json.dumps({"machine": machine, "rows": rows}, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
