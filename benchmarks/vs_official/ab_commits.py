"""rlmx against an earlier rlmx commit, side by side in one run, on the scenarios and server of `run.py`.

    python benchmarks/vs_official/ab_commits.py REV [--scenario iter_40mb] [--runs 15]

Checks REV out into a temporary git worktree and runs `scenario.py` for the working tree and for REV in turn
(the same `.venv-rlmx` interpreter; REV's sources come first on PYTHONPATH), so machine drift hits both alike.
Prints the median of each figure per side; per-change A/B numbers in NOTES.md come from here. Nothing is written.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from run import HERE, PLANS, REPO, ScriptedServer, rlmx_python


def figures(server: ScriptedServer, python: str, scenario: str, pythonpath: str | None) -> dict[str, float]:
    """One run of `scenario` in a fresh process: its figures in milliseconds."""
    server.reset(PLANS[scenario])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI", "RLMX", "PYTHONPATH"))}
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    with tempfile.TemporaryDirectory(prefix="ab-") as folder:
        t_popen = time.time()
        out = subprocess.run(
            [python, str(HERE / "scenario.py"), "rlmx", scenario, server.base_url, ""],
            capture_output=True,
            text=True,
            env=env,
            cwd=folder,
            timeout=300,
            check=True,
        )
    timing = json.loads(out.stdout.strip().splitlines()[-1])
    roots = sorted((r for r in server.records if r.kind == "root"), key=lambda r: r.arrived)
    wall = timing["t_done"] - timing["t_call"]
    if scenario == "cold":  # one root request: the figures are the process's own start-up, imports included
        return {
            "cold_start": (timing["t_done"] - t_popen) * 1e3,
            "to_first_request": (roots[0].arrived - t_popen) * 1e3,
        }
    if scenario.startswith("iter"):
        return {
            "overhead_per_iteration": wall / len(roots) * 1e3,
            "startup": (roots[0].arrived - timing["t_call"]) * 1e3,
            "root_gap": statistics.median(b.arrived - a.sent for a, b in itertools.pairwise(roots)) * 1e3,
            "teardown": (timing["t_done"] - roots[-1].sent) * 1e3,
        }
    subs = sorted((r for r in server.records if r.kind == "sub"), key=lambda r: r.arrived)
    figures = {"first_cell": (roots[1].arrived - roots[0].sent) * 1e3}
    if scenario.startswith("seq"):  # the host's share of each sequential sub-call: reply sent -> next request
        figures["sub_gap"] = statistics.median(b.arrived - a.sent for a, b in itertools.pairwise(subs)) * 1e3
        figures["to_first_sub"] = (subs[0].arrived - roots[0].sent) * 1e3
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rev", help="the earlier commit (e.g. a tag, a hash, HEAD~3)")
    parser.add_argument("--scenario", default="iter_40mb", choices=sorted(PLANS))
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    python = str(rlmx_python())
    server = ScriptedServer()
    with tempfile.TemporaryDirectory(prefix="ab-worktree-") as folder:
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "-q", "--detach", folder, args.rev], check=True)
        try:
            sides = {"working tree": None, args.rev: str(Path(folder) / "src")}
            samples: dict[str, dict[str, list[float]]] = {side: {} for side in sides}
            for run in range(args.runs):
                order = list(sides.items())
                for side, pythonpath in order if run % 2 == 0 else order[::-1]:  # neither side always goes first
                    for name, value in figures(server, python, args.scenario, pythonpath).items():
                        samples[side].setdefault(name, []).append(value)
        finally:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", folder], check=False)
    print(f"{args.scenario}, {args.runs} runs each, interleaved; medians in ms (load {os.getloadavg()[0]:.2f})")
    for side, values in samples.items():
        print(f"  {side:<14}", "  ".join(f"{k} {statistics.median(v):.2f}" for k, v in values.items()))


if __name__ == "__main__":
    main()
