"""A KeyboardInterrupt or SystemExit raised inside a run that rlmx's own loop thread carries (a sync `stream()`, a
sync call inside a running event loop) reaches the caller (audit 72 stream v01): asyncio raised it out of the thread's
`run_forever` as well, the thread ended there, the task's done callback never ran, and the caller waited for ever.
Each case runs in a child process with a time limit, so a hang fails the test instead of stalling the suite."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

PRELUDE = textwrap.dedent(
    """
    import asyncio, sys
    from rlmx import RLM
    from rlmx.lm import ScriptedLM

    def repl(code):
        return "```repl\\n" + code + "\\n```"

    async def interrupted_lm(messages):
        raise KeyboardInterrupt

    async def exiting_lm(messages):
        raise SystemExit(3)

    def exit_on_turn(event):
        if event.type == "iteration":
            sys.exit(2)

    async def interrupted_tool() -> str:
        \"\"\"Raises.\"\"\"
        raise KeyboardInterrupt

    async def inside_a_loop():
        RLM(ScriptedLM(interrupted_lm)).completion("q", context="c")

    try:
        CASE
    except BaseException as exc:
        print("raised", type(exc).__name__)
    else:
        print("returned")
    """
)

CASES = {
    "model-interrupted-stream": ("list(RLM(ScriptedLM(interrupted_lm)).stream('q', context='c'))", "KeyboardInterrupt"),
    "model-exits-stream": ("list(RLM(ScriptedLM(exiting_lm)).stream('q', context='c'))", "SystemExit"),
    "model-interrupted-in-a-loop": ("asyncio.run(inside_a_loop())", "KeyboardInterrupt"),
    "on-event-exits-stream": (
        "list(RLM(ScriptedLM([repl('FINAL(1)')]), on_event=exit_on_turn).stream('q', context='c'))",
        "SystemExit",
    ),
    "tool-interrupted-stream": (
        "list(RLM(ScriptedLM([repl('print(interrupted_tool())'), repl('FINAL(1)')]), tools=[interrupted_tool])"
        ".stream('q', context='c'))",
        "KeyboardInterrupt",
    ),
}


@pytest.mark.parametrize(("case", "raised"), CASES.values(), ids=CASES.keys())
def test_a_base_exception_inside_the_run_reaches_the_caller(tmp_path: Path, case: str, raised: str) -> None:
    script = PRELUDE.replace("CASE", case)
    try:
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{case}: still waiting after 60 s (the exception never reached the caller)")
    assert done.stdout.strip() == f"raised {raised}", done.stderr[-2000:]
    assert "Exception in thread rlmx-loop" not in done.stderr
