"""Ending a run's REPL leaves nothing on stderr: the zygote is killed without a poll that would reap it under
asyncio's child watcher (which then logged "Unknown child process pid N, will report returncode 255")."""

from __future__ import annotations

import subprocess
import sys

RUNS = """
from rlmx import RLM
from rlmx.lm import ScriptedLM
for _ in range(12):
    lm = ScriptedLM(['```repl\\nprint(1)\\n```', 'FINAL(ok)'])
    assert RLM(lm).completion('q', context='c').answer == 'ok'
print('done')
"""


def test_twelve_runs_end_their_repls_without_a_word_on_stderr() -> None:
    done = subprocess.run([sys.executable, "-c", RUNS], capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "done"
    assert "Unknown child process" not in done.stderr
    assert done.stderr == ""


def test_a_killed_launcher_reports_its_own_signal_never_a_lost_exit_code() -> None:
    code = """
import asyncio, signal
from rlmx.sandbox.channel import kill_group, start_process
async def main():
    codes = []
    for _ in range(30):
        process = await start_process(["sleep", "30"], pass_fd=0, spawn={})
        await kill_group(process)
        codes.append(process.returncode)
    print(sorted(set(codes)))
asyncio.run(main())
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[-9]"  # SIGKILL each time; a reaping poll made it 255 ("Unknown child process")
    assert "Unknown child process" not in done.stderr
