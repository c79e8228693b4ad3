"""The commands of the README's bench section, run as typed as real processes (a server model answered by the
fake OpenAI-compatible server), and the committed run: its records, report and plots agree."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from fake_openai_server import Behaviour, FakeOpenAIServer
from rlmx.bench import generate
from rlmx.bench.report import write_report
from rlmx.bench.runner import parse_length, read_records

ROOT = Path(__file__).resolve().parents[2]
SECTION = "## Benchmarks: rlmx bench"
COMMITTED = ROOT / "benchmarks" / "results" / "bench"


def section_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    body = text[text.index(SECTION) :].split("\n## ", 1)[0]
    commands = []
    for block in re.findall(r"^```bash\n(.*?)^```", body, re.S | re.M):
        commands += [line.split(" #")[0].strip() for line in block.splitlines() if line.strip()]
    return commands


def _reply(body: dict[str, Any]) -> str:
    if body["messages"][0]["role"] == "system":  # an RLM root: finish from the REPL
        return "```repl\nFINAL('Answer: 1')\n```"
    return "Answer: 1"


@pytest.mark.slow
def test_section_commands_run_as_typed(tmp_path: Path) -> None:
    commands = section_commands()
    assert len(commands) >= 4  # three to try, then the committed run's
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "rlmx").write_text(f'#!/bin/sh\nexec {sys.executable} -m rlmx.cli "$@"\n')
    (bindir / "rlmx").chmod(0o755)
    with FakeOpenAIServer(Behaviour(text=_reply)) as server:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "RLMX_"))}
        env |= {"PATH": f"{bindir}{os.pathsep}{env['PATH']}", "OPENAI_API_KEY": "sk-test"}
        env |= {"OPENAI_BASE_URL": server.base_url, "XDG_STATE_HOME": str(tmp_path / "state")}
        for command in commands[:3]:
            proc = subprocess.run(
                ["bash", "-c", command], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300
            )
            assert proc.returncode == 0, (command, proc.stderr)
            if command.startswith("rlmx bench generate"):
                shown = json.loads(proc.stdout)
                assert shown["family"] == "pairs" and shown["answer"]
        for command in [c for c in commands if "--preset" in c]:  # as typed, narrowed to one small series
            narrowed = f"{command} --family pairs --n 1 --method base"
            proc = subprocess.run(
                ["bash", "-c", narrowed], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300
            )
            assert proc.returncode == 0, (narrowed, proc.stderr)
            out = tmp_path / shlex.split(command)[-1]
            assert (out / "report.md").is_file() and read_records(out), narrowed
    records = read_records(tmp_path / "results")
    assert len(records) == 2 * 2 * 2 and {r["status"] for r in records} == {"ok"}
    assert "| gpt-5-mini | rlm1 |" in (tmp_path / "results" / "report.md").read_text()
    assert shutil.which("rlmx", path=str(bindir))


def test_committed_run_matches_its_command_report_and_plots(tmp_path: Path) -> None:
    allowed: set[tuple[str, int, int, str]] = set()
    runs = [c for c in section_commands()[3:] if c.startswith("rlmx bench run ") and "--preset" not in c]
    assert runs, "the README shows no command of the committed run"
    for line in runs:  # the committed run: every record comes from one of these commands
        command = shlex.split(line)
        option = {command[i]: command[i + 1] for i in range(len(command) - 1) if command[i].startswith("--")}
        assert option["--out"] == "benchmarks/results/bench"
        allowed |= {
            (family, parse_length(length), index, method)
            for family in option["--family"].split(",")
            for length in option["--lengths"].split(",")
            for index in range(int(option["--n"]))
            for method in option["--method"].split(",")
        }
    records = read_records(COMMITTED)
    assert records, "benchmarks/results/bench/records.jsonl is missing"
    assert {(r["family"], r["length"], r["index"], r["method"]) for r in records} <= allowed
    copy = tmp_path / "bench"
    copy.mkdir()
    shutil.copy(COMMITTED / "records.jsonl", copy / "records.jsonl")
    report, pngs, _ = write_report(copy)
    assert report.read_text() == (COMMITTED / "report.md").read_text()  # the committed report is of these records
    for png in pngs:
        assert (COMMITTED / png.name).is_file()
    tasks = {m["id"]: m for m in json.loads((COMMITTED / "manifest.json").read_text())["tasks"]}
    assert {r["task_id"] for r in records} == set(tasks)
    assert all(tasks[r["task_id"]]["sha256_context"] == r["sha256_context"] for r in records)
    for family in {r["family"] for r in records}:  # the records are of today's generators: regenerate the smallest
        record = min((r for r in records if r["family"] == family), key=lambda r: (r["length"], r["index"]))
        task = generate(family, seed=0, target_tokens=record["length"], index=record["index"])
        assert task.id == record["task_id"] and task.metadata["sha256_context"] == record["sha256_context"]
