"""How the long-running commands end, as real processes: Ctrl-C (SIGINT) exits 130 like every interrupted rlmx
command, SIGTERM (a supervisor's polite stop) exits 0. `rlmx serve`'s own cases are in tests/server."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rlmx import RLM
from rlmx.cli import EXIT_INTERRUPTED, EXIT_OK
from rlmx.lm import ScriptedLM
from scripting import sigint_delivered


def a_trace(folder: Path) -> Path:
    folder.mkdir(parents=True)
    path = folder / "20250101-000000-abcdef123456.jsonl"
    events = [
        {"v": "rlmx.trace/1", "type": "run_start", "run_id": "abcdef123456", "node_id": "0", "parent_id": None,
         "depth": 0, "ts": 1.0, "query": "What?", "contexts": [], "root_model": "m", "sub_model": "m"},
        {"v": "rlmx.trace/1", "type": "run_end", "run_id": "abcdef123456", "node_id": "0", "parent_id": None,
         "depth": 0, "ts": 2.0, "answer": "42", "status": "finished", "stop_reason": "FINAL", "iterations": 1},
    ]  # fmt: skip
    path.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("sent", "code", "said"), [(signal.SIGINT, EXIT_INTERRUPTED, "Ctrl-C"), (signal.SIGTERM, EXIT_OK, "SIGTERM")]
)
def test_rlmx_view_stops_on_a_signal_with_the_code_the_readme_gives(
    tmp_path: Path, sent: signal.Signals, code: int, said: str
) -> None:
    trace = a_trace(tmp_path / "traces")
    with subprocess.Popen(
        [sys.executable, "-m", "rlmx.cli", "view", str(trace), "--port", "0"],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        preexec_fn=sigint_delivered,
    ) as proc:
        assert proc.stderr is not None
        try:
            seen = []
            for line in proc.stderr:
                seen.append(line)
                if re.search(r"trace viewer at http://127\.0\.0\.1:\d+", line):
                    break
            else:
                raise AssertionError("".join(seen))
            proc.send_signal(sent)
            assert proc.wait(timeout=20) == code
            rest = proc.stderr.read()
        finally:
            if proc.poll() is None:
                proc.kill()
    assert f"trace viewer stopped ({said})" in rest and "Traceback" not in rest


@pytest.mark.parametrize("mode", [[], ["--http", "--port", "0"]], ids=["stdio", "http"])
def test_rlmx_mcp_exits_130_on_ctrl_c_and_0_when_its_client_or_a_supervisor_ends_it(
    tmp_path: Path, mode: list[str]
) -> None:
    script = tmp_path / "script.json"
    script.write_text('["```repl\\nFINAL(1)\\n```"]', encoding="utf-8")
    command = [sys.executable, "-m", "rlmx.cli", "mcp", "--scripted", str(script), "--trace-dir", str(tmp_path), *mode]
    for ending in ("ctrl-c", "eof") if not mode else ("ctrl-c", "sigterm"):
        with subprocess.Popen(
            command, stdin=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=sigint_delivered
        ) as proc:
            assert proc.stdin is not None and proc.stderr is not None
            try:
                seen = []
                for line in proc.stderr:
                    seen.append(line)
                    if "rlmx: MCP over" in line:
                        break
                else:
                    raise AssertionError("".join(seen))
                # At once, as a script may: over HTTP, uvicorn is still starting (a cancelled start logged a traceback).
                if ending == "eof":
                    proc.stdin.close()  # how an MCP client ends a stdio server
                    assert proc.wait(timeout=20) == EXIT_OK
                elif ending == "sigterm":
                    proc.send_signal(signal.SIGTERM)
                    assert proc.wait(timeout=20) == EXIT_OK
                else:
                    proc.send_signal(signal.SIGINT)  # over stdio it hung, waiting for the thread that reads stdin
                    assert proc.wait(timeout=20) == EXIT_INTERRUPTED
                rest = proc.stderr.read()
                assert "Traceback" not in rest and "ERROR" not in rest, rest
            finally:
                if proc.poll() is None:
                    proc.kill()


IN_A_NOTEBOOK_CELL = """
import asyncio, sys
from rlmx.cli import main

async def cell() -> int:
    return main(sys.argv[1:])

print("RC", asyncio.run(cell()), flush=True)
"""


SERVED_PATHS = {"serve": "/health", "mcp": "/mcp", "view": "/"}
"""A path each server answers, for checking that it serves."""


def served_url(proc: subprocess.Popen[str]) -> str:
    """The http://127.0.0.1:PORT a server started by `main()` announced on its stderr (what it printed before, on
    failure)."""
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:
        seen.append(line)
        found = re.search(r"(http://127\.0\.0\.1:\d+)(/v1|/mcp|/|\s)", line)
        if found:
            return found.group(1)
    raise AssertionError("".join(seen))


@pytest.mark.parametrize(
    ("command", "sent", "code"),
    [(["serve"], signal.SIGINT, EXIT_INTERRUPTED), (["mcp", "--http"], signal.SIGTERM, EXIT_OK)],
    ids=["serve", "mcp-http"],
)
def test_the_servers_started_by_main_inside_a_running_loop_serve_and_stop_on_a_signal(
    tmp_path: Path, command: list[str], sent: signal.Signals, code: int
) -> None:
    """`main(["serve", ...])` in a notebook cell: uvicorn's own Server.run (asyncio.run) and anyio.run refuse the
    cell's running loop, so the server runs on rlmx's loop thread, while its signals still reach `Stop`."""
    import httpx2 as httpx

    script = tmp_path / "script.json"
    script.write_text('["```repl\\nFINAL(1)\\n```"]', encoding="utf-8")
    argv = [*command, "--scripted", str(script), "--trace-dir", str(tmp_path), "--port", "0"]
    with subprocess.Popen(
        [sys.executable, "-c", IN_A_NOTEBOOK_CELL, *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=sigint_delivered,
    ) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        try:
            url = served_url(proc) + SERVED_PATHS[command[0]]
            reply = httpx.get(url, timeout=20)  # served: an HTTP answer, whatever its status
            assert reply.status_code < 500 and proc.poll() is None
            proc.send_signal(sent)
            assert proc.wait(timeout=20) == 0
            out, rest = proc.stdout.read(), proc.stderr.read()
        finally:
            if proc.poll() is None:
                proc.kill()
    assert out.splitlines()[-1] == f"RC {code}"  # after uvicorn's access log lines
    assert "Traceback" not in rest and "ERROR" not in rest, rest


ON_A_THREAD_WITH_A_LOOP = """
import asyncio, os, sys, threading
from rlmx.cli import main

async def cell() -> int:
    return main(sys.argv[1:])

server = threading.Thread(target=asyncio.run, args=(cell(),), daemon=True)
server.start()
threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()  # the test is done with it
server.join()
sys.exit(1)  # the server ended by itself
"""


@pytest.mark.parametrize("command", [["serve"], ["mcp", "--http"], ["view"]], ids=["serve", "mcp-http", "view"])
def test_the_servers_started_by_main_on_another_threads_loop_serve(tmp_path: Path, command: list[str]) -> None:
    """Signal handlers can be set on the main thread only: elsewhere the server serves without them (as uvicorn
    does there), rather than failing with ValueError."""
    import httpx2 as httpx

    script = tmp_path / "script.json"
    script.write_text('["```repl\\nFINAL(1)\\n```"]', encoding="utf-8")
    scripted = [] if command == ["view"] else ["--scripted", str(script)]
    if command == ["view"]:  # a trace to show
        RLM(ScriptedLM(["```repl\nFINAL(1)\n```"]), trace_dir=tmp_path).completion("q", context="c")
    argv = [*command, *scripted, "--trace-dir", str(tmp_path), "--port", "0"]
    with subprocess.Popen(
        [sys.executable, "-c", ON_A_THREAD_WITH_A_LOOP, *argv],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        assert proc.stdin is not None and proc.stderr is not None
        try:
            url = served_url(proc) + SERVED_PATHS[command[0]]
            assert httpx.get(url, timeout=20).status_code < 500
        finally:
            proc.stdin.close()
            if proc.wait(timeout=20) != 0:
                raise AssertionError(proc.stderr.read())


IN_A_KERNEL_CELL = """
import asyncio, sys
from rlmx.cli import main

loop = asyncio.new_event_loop()  # as ipykernel runs each cell: one loop, and Python's own Ctrl-C handler

async def cell() -> int:
    return main(sys.argv[1:])

print("RC", loop.run_until_complete(cell()), flush=True)
print("THE KERNEL LIVES ON", flush=True)
"""


def a_repl_runs_under(pid: int) -> bool:
    """Whether a REPL worker process descends from `pid`."""
    todo, seen = [pid], []
    while todo:
        for task in Path(f"/proc/{todo.pop()}/task").glob("*"):
            try:
                children = [int(child) for child in (task / "children").read_text().split()]
            except OSError:
                continue
            todo += children
            seen += children
    for child in seen:
        try:
            if b"worker.py" in Path(f"/proc/{child}/cmdline").read_bytes():
                return True
        except OSError:
            pass
    return False


@pytest.mark.parametrize("command", ["ask", "bench"])
def test_ctrl_c_during_a_command_main_runs_in_a_notebook_cell_returns_130_and_the_kernel_lives_on(
    tmp_path: Path, command: str
) -> None:
    """The kernel's interrupt button is a SIGINT to the kernel's process, which holds the user's whole session: the
    command stops its run and `main()` returns 130, as `main(["serve"])` does there. (The process ended at once:
    `os._exit(130)`, meant for the command line's own process.)"""
    script = tmp_path / "script.json"
    script.write_text(json.dumps(["```repl\nimport time\ntime.sleep(30)\n```"] * 3), encoding="utf-8")
    context = tmp_path / "context.txt"
    context.write_text("abcd", encoding="utf-8")
    argv = {
        "ask": ["ask", "q?", "--context", str(context), "--trace-dir", str(tmp_path / "traces"), "--quiet"],
        "bench": ["bench", "run", "--family", "sniah", "--lengths", "1k", "--n", "1", "--method", "rlm",
                  "--out", str(tmp_path / "bench")],
    }[command]  # fmt: skip
    with subprocess.Popen(
        [sys.executable, "-c", IN_A_KERNEL_CELL, *argv, "--scripted", str(script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=sigint_delivered,
    ) as proc:
        try:
            for _ in range(600):
                if a_repl_runs_under(proc.pid) or proc.poll() is not None:
                    break
                time.sleep(0.05)
            assert proc.poll() is None, proc.communicate()
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert out.splitlines()[-2:] == [f"RC {EXIT_INTERRUPTED}", "THE KERNEL LIVES ON"], err
    assert proc.returncode == 0 and "Traceback" not in err, err


def test_the_ctrl_c_handlers_of_rlmxs_commands_are_the_ones_a_blocked_loop_leaves_ctrl_c_to() -> None:
    """`rlmx.cli.main` in a notebook cell blocks the cell's loop while its run goes on on the helper loop; its own
    Ctrl-C handler (the CLI's, `rlmx serve`'s) answers through that run, so a blocked sync call must not stop for
    it. They say so by registering themselves, not by the module they live in: no other handler is taken for
    one, a blocked call's own note of SIGINT included."""
    from rlmx import blocking
    from rlmx.cli import Interrupts
    from rlmx.commands.serve import Stop

    assert blocking._answers_through_the_run(Interrupts(0.0)._on_sigint)
    assert blocking._answers_through_the_run(Stop()._on_signal)
    assert not blocking._answers_through_the_run(blocking._BlockedLoop()._note)
    assert not blocking._answers_through_the_run(signal.default_int_handler)
