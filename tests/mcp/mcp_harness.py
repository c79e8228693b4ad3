"""Start `rlmx mcp` as a real subprocess and talk to it with the `mcp` SDK's own client over stdio."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mcp.client.stdio import stdio_client
from mcp_types import CallToolResult, TextContent

from mcp import Client, StdioServerParameters

MAIN = "import sys; from rlmx.cli import main; sys.exit(main())"


def script(tmp_path: Path, replies: Sequence[str] | dict[str, list[str]], name: str = "script.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(list(replies) if not isinstance(replies, dict) else replies), encoding="utf-8")
    return path


def repl(code: str) -> str:
    return f"```repl\n{code}\n```"


@asynccontextmanager
async def connect(
    tmp_path: Path, *args: str, cwd: Path | None = None, mode: str = "auto", **client: Any
) -> AsyncIterator[tuple[Client, Path]]:
    """A connected client, and the file the server's stderr goes to. The server runs `rlmx mcp ARGS`."""
    errlog = tmp_path / "server-stderr.txt"
    params = StdioServerParameters(
        command=sys.executable,
        args=["-c", MAIN, "mcp", "--trace-dir", str(tmp_path / "traces"), *args],
        cwd=str(cwd or tmp_path),
        env={k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "RLMX_"))},
    )
    with errlog.open("w", encoding="utf-8") as err:
        async with Client(stdio_client(params, errlog=err), mode=mode, read_timeout_seconds=120, **client) as session:
            yield session, errlog


@dataclass
class HttpServer:
    """A running `rlmx mcp --http`: its process, its port, and what it said on stderr up to its start-up line."""

    process: subprocess.Popen[bytes]
    port: int
    said: str


@contextmanager
def mcp_http(
    tmp_path: Path, replies: Sequence[str], *flags: str, env: dict[str, str] | None = None
) -> Iterator[HttpServer]:
    """`rlmx mcp --http FLAGS` with a scripted model (`--port 0` unless FLAGS name a port), its traces under
    tmp_path/t and tmp_path allowed; stopped on exit. The stderr file (tmp_path/stderr.txt) keeps growing."""
    errlog = tmp_path / "stderr.txt"
    port = () if "--port" in flags else ("--port", "0")
    command = [sys.executable, "-c", MAIN, "mcp", "--http", *port, "--scripted", str(script(tmp_path, replies))]
    base = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "RLMX_"))}
    with errlog.open("w") as err:
        server = subprocess.Popen(
            [*command, *flags, "--trace-dir", str(tmp_path / "t"), "--allow", str(tmp_path)],
            stderr=err,
            stdin=subprocess.DEVNULL,
            cwd=tmp_path,
            env={**base, **(env or {})},
        )
    try:
        deadline = time.monotonic() + 120
        while "streamable HTTP at " not in (said := errlog.read_text()):
            assert server.poll() is None and time.monotonic() < deadline, said
            time.sleep(0.05)
        yield HttpServer(server, int(said.split("streamable HTTP at http://")[1].split(":")[1].split("/")[0]), said)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:  # still a failure, but not a process left for a later test to trip on
            server.kill()
            server.wait()
            raise


def payload(result: CallToolResult) -> dict[str, Any]:
    """A successful tool call's structured reply."""
    assert not result.is_error, text_of(result)
    assert result.structured_content is not None
    return result.structured_content


def text_of(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


def descendants(pid: int) -> list[int]:
    """Live (non-zombie) processes below `pid`, found through /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(") ", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        if fields[0] != "Z":
            children.setdefault(int(fields[1]), []).append(int(entry))
    found: list[int] = []
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(") ", 1)[1][0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def server_pid() -> int:
    """The pid of the one `rlmx mcp` server this test process started."""
    found = [pid for pid in descendants(os.getpid()) if MAIN.encode() in _cmdline(pid)]
    assert len(found) == 1, f"expected one rlmx mcp server process, found {found}"
    return found[0]


def _cmdline(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return cmdline.read()
    except (FileNotFoundError, ProcessLookupError):
        return b""


class RawClient:
    """Writes raw lines to an `rlmx mcp` server's stdin; a thread collects the JSON lines of its stdout."""

    def __init__(self, server: subprocess.Popen[bytes]) -> None:
        self.server = server
        self.received: queue.Queue[Any] = queue.Queue()
        self.collecting = threading.Thread(target=self._collect, daemon=True)
        self.collecting.start()

    def _collect(self) -> None:
        assert self.server.stdout is not None
        for line in self.server.stdout:
            self.received.put(json.loads(line))

    def send(self, message: Any) -> None:
        assert self.server.stdin is not None
        self.server.stdin.write((message if isinstance(message, bytes) else json.dumps(message).encode()) + b"\n")
        self.server.stdin.flush()

    def until(self, request_id: int, timeout: float = 60) -> list[Any]:
        """Every message received up to (and with) the reply to `request_id`."""
        seen: list[Any] = []
        deadline = time.monotonic() + timeout
        while not (seen and isinstance(seen[-1], dict) and seen[-1].get("id") == request_id):
            seen.append(self.received.get(timeout=max(deadline - time.monotonic(), 0.01)))
        return seen

    def initialize(self) -> None:
        hello = {"protocolVersion": "2025-03-26", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}
        self.send({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": hello})
        self.until(0)
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
