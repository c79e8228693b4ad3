"""The default sandbox: the stdlib worker in a child process with a scrubbed environment and rlimits.

Owns the worker's life (spawn, frames, soft and hard timeouts, restart after a kill) and the host-side caps.
It never calls an LM: sub-call frames go to the engine's handler, which decides.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rlmx.context import PreparedContext
from rlmx.errors import SandboxStartError
from rlmx.sandbox import frames
from rlmx.sandbox.base import CallHandler, CellResult, SubCall, SubCallResult

WORKER_PATH = Path(__file__).with_name("worker.py")
_STDERR_KEEP = 8192


class _WorkerGone(Exception):
    """The worker died, overran its hard timeout, or broke the frame protocol."""


def _storage_root() -> str | None:
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None


def _cell_result(frame: dict[str, Any]) -> CellResult:
    """Validate a result frame field by field: the worker is untrusted, so nothing is taken on faith."""
    status = frame.get("status")
    final = frame.get("final")
    answer = frame.get("answer")
    return CellResult(
        status=status if status in ("ok", "error", "timeout") else "error",
        stdout=str(frame.get("stdout") or ""),
        stderr=str(frame.get("stderr") or ""),
        error=str(frame["error"]) if frame.get("error") else None,
        stdout_cut=_int(frame.get("stdout_cut")),
        stderr_cut=_int(frame.get("stderr_cut")),
        final=final if isinstance(final, dict) and final.get("kind") in ("final", "final_var", "submit") else None,
        answer=answer if isinstance(answer, dict) else {},
        seconds=float(frame["seconds"]) if isinstance(frame.get("seconds"), int | float) else 0.0,
    )


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


class SubprocessSandbox:
    """The stdlib worker as a child process: `python -E -s worker.py FD` in its own session.

    The contexts are written once to files (tmpfs when available) and loaded by the worker once; restarts
    reload them from the same files. The worker's environment holds nothing of the host's.
    """

    def __init__(
        self,
        *,
        max_output_chars: int = 20_000,
        max_frame_bytes: int = frames.DEFAULT_MAX_FRAME_BYTES,
        memory_limit_bytes: int | None = None,
        file_size_limit_bytes: int = 1 << 30,
        open_files_limit: int = 256,
        hard_timeout_grace: float | None = None,
        python: str = sys.executable,
    ) -> None:
        self.max_output_chars = max_output_chars
        self.max_frame_bytes = max_frame_bytes
        self.memory_limit_bytes = memory_limit_bytes
        self.file_size_limit_bytes = file_size_limit_bytes
        self.open_files_limit = open_files_limit
        self.hard_timeout_grace = hard_timeout_grace
        self.python = python
        self.protections: dict[str, Any] = {"tier": "subprocess"}
        self.restarts = 0
        self._dir: Path | None = None
        self._contexts: list[dict[str, str]] = []
        self._context_bytes = 0
        self._process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._stderr_tail: deque[bytes] = deque()
        self._stderr_task: asyncio.Task[None] | None = None
        self._answer: dict[str, Any] = {}
        self._cell_seq = 0
        self._lock = asyncio.Lock()

    # --- life ---------------------------------------------------------------------------------
    async def start(self, contexts: Sequence[PreparedContext]) -> None:
        self._dir = Path(tempfile.mkdtemp(prefix="rlmx-", dir=_storage_root()))
        (self._dir / "ctx").mkdir()
        (self._dir / "work").mkdir()
        for context in contexts:
            path = self._dir / "ctx" / f"{context.name}.{'json' if context.kind == 'json' else 'txt'}"
            path.write_bytes(context.data)
            path.chmod(0o444)
            self._contexts.append({"name": context.name, "kind": context.kind, "path": str(path)})
            self._context_bytes += len(context.data)
        try:
            await self._spawn()
        except BaseException:
            await self.close()
            raise

    def _limits(self) -> dict[str, int]:
        memory = self.memory_limit_bytes or (4 << 30) + 8 * self._context_bytes
        return {"memory_bytes": memory, "file_bytes": self.file_size_limit_bytes, "open_files": self.open_files_limit}

    def _environment(self) -> dict[str, str]:
        assert self._dir is not None
        work = str(self._dir / "work")
        return {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": work, "TMPDIR": work, "LANG": "C.UTF-8"}

    async def _spawn(self) -> None:
        assert self._dir is not None
        host_end, worker_end = socket.socketpair()
        try:
            self._process = await asyncio.create_subprocess_exec(
                self.python,
                "-E",
                "-s",
                "-u",
                str(WORKER_PATH),
                str(worker_end.fileno()),
                pass_fds=(worker_end.fileno(),),
                env=self._environment(),
                cwd=str(self._dir / "work"),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,
            )
        except OSError as exc:
            host_end.close()
            raise SandboxStartError(f"cannot start the REPL worker with {self.python}: {exc}") from exc
        finally:
            worker_end.close()
        self._reader, self._writer = await asyncio.open_connection(sock=host_end, limit=1 << 20)
        self._stderr_tail.clear()
        self._stderr_task = asyncio.create_task(self._drain_stderr(self._process))
        init = {
            "t": "init",
            "contexts": self._contexts,
            "limits": self._limits(),
            "max_output": self.max_output_chars,
            "max_frame": self.max_frame_bytes,
            "answer": self._answer,
        }
        load_seconds = 30.0 + self._context_bytes / 10e6
        try:
            await self._send(init)
            ready = await asyncio.wait_for(self._read_frame(), load_seconds)
        except (TimeoutError, _WorkerGone) as exc:
            await self._kill()
            raise SandboxStartError(f"the REPL worker did not start: {exc}. {self._stderr_text()}".strip()) from None
        if ready.get("t") != "ready":
            await self._kill()
            raise SandboxStartError(f"the REPL worker failed while loading the contexts: {ready.get('error')}")

    async def _drain_stderr(self, process: asyncio.subprocess.Process) -> None:
        assert process.stderr is not None
        kept = 0
        while chunk := await process.stderr.read(4096):
            self._stderr_tail.append(chunk)
            kept += len(chunk)
            while kept > _STDERR_KEEP and len(self._stderr_tail) > 1:
                kept -= len(self._stderr_tail.popleft())

    def _stderr_text(self) -> str:
        return b"".join(self._stderr_tail).decode("utf-8", "replace")[-2000:]

    async def _kill(self) -> None:
        process = self._process
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(Exception):
                await self._writer.wait_closed()
        if self._stderr_task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._stderr_task, 1.0)
        self._process = self._reader = self._writer = self._stderr_task = None

    def _kill_now(self) -> None:
        """Synchronous kill for cancellation paths, where awaiting is not allowed to finish."""
        if self._process is not None and self._process.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._process.pid, signal.SIGKILL)

    async def close(self) -> None:
        try:
            if self._writer is not None and self._process is not None and self._process.returncode is None:
                with contextlib.suppress(Exception):
                    await self._send({"t": "shutdown"})
            await self._kill()
        finally:
            if self._dir is not None:
                shutil.rmtree(self._dir, ignore_errors=True)
                self._dir = None

    # --- frames ------------------------------------------------------------------------------
    async def _send(self, message: dict[str, Any]) -> None:
        if self._writer is None:
            raise _WorkerGone("the worker is not running")
        try:
            self._writer.write(frames.encode(message, self.max_frame_bytes))
            await self._writer.drain()
        except (ConnectionError, OSError) as exc:
            raise _WorkerGone(f"the worker's channel closed ({exc})") from None

    async def _read_frame(self) -> dict[str, Any]:
        if self._reader is None:
            raise _WorkerGone("the worker is not running")
        try:
            header = await self._reader.readexactly(frames.HEADER.size)
            (length,) = frames.HEADER.unpack(header)
            frames.check_length(length, self.max_frame_bytes)
            return frames.decode(await self._reader.readexactly(length))
        except asyncio.IncompleteReadError:
            raise _WorkerGone(await self._exit_description()) from None
        except (ConnectionError, OSError) as exc:
            raise _WorkerGone(f"the worker's channel broke ({exc})") from None
        except frames.FrameProtocolError as exc:
            raise _WorkerGone(f"the worker broke the frame protocol ({exc})") from None

    async def _exit_description(self) -> str:
        code = None
        if self._process is not None:
            with contextlib.suppress(TimeoutError):
                code = await asyncio.wait_for(self._process.wait(), 2.0)
        if code is not None and code < 0:
            name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else str(-code)
            return f"the worker process was killed by {name}"
        return "the worker process exited" + (f" with code {code}" if code is not None else "")

    # --- cells -------------------------------------------------------------------------------
    def _grace(self, timeout: float) -> float:
        if self.hard_timeout_grace is not None:
            return self.hard_timeout_grace
        return min(max(2.0, timeout * 0.5), 10.0)

    async def run_cell(self, code: str, *, calls: CallHandler, timeout: float) -> CellResult:
        async with self._lock:
            try:
                return await self._run_cell(code, calls, timeout)
            except asyncio.CancelledError:
                # The cell's state is unknown once its caller gives up: the worker must not outlive the wait.
                self._kill_now()
                raise

    async def _run_cell(self, code: str, calls: CallHandler, timeout: float) -> CellResult:
        if self._process is None:
            await self._spawn()
        self._cell_seq += 1
        cell_id = self._cell_seq
        hard_limit = timeout + self._grace(timeout) if timeout > 0 else None
        computing = 0.0  # worker time, excluding time spent waiting on the host's sub-calls
        try:
            await self._send({"t": "exec", "id": cell_id, "code": code, "timeout": timeout})
            while True:
                started = time.monotonic()
                remaining = None if hard_limit is None else max(hard_limit - computing, 0.0)
                try:
                    frame = await asyncio.wait_for(self._read_frame(), remaining)
                except TimeoutError:
                    raise _WorkerGone(
                        f"the cell ran past the hard time limit ({hard_limit:g} s) without yielding "
                        "(a loop in C code or an ignored interrupt), so the worker was killed"
                    ) from None
                computing += time.monotonic() - started
                if frame["t"] == "call":
                    replies = await self._serve_call(frame, calls)
                    await self._send({"t": "reply", "id": frame.get("id"), "results": replies})
                    continue
                if frame["t"] == "result" and frame.get("id") == cell_id:
                    result = _cell_result(frame)
                    if result.answer.get("valid"):
                        self._answer = {"content": result.answer.get("content")}
                    return result
                raise _WorkerGone(f"the worker sent an unexpected {frame['t']!r} frame")
        except _WorkerGone as gone:
            return await self._restart(str(gone))

    async def _serve_call(self, frame: dict[str, Any], calls: CallHandler) -> list[dict[str, Any]]:
        kind = frame.get("kind")
        items = frame.get("items")
        model = frame.get("model")
        if kind not in ("llm", "rlm") or not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise _WorkerGone("the worker sent a malformed call frame")
        if model is not None and not isinstance(model, str):
            raise _WorkerGone("the worker sent a call frame with a non-string model")
        for item in items:
            if not isinstance(item.get("prompt"), str):
                raise _WorkerGone("the worker sent a call item without a string prompt")
            if "schema" in item and not isinstance(item["schema"], dict):
                raise _WorkerGone("the worker sent a call item whose schema is not an object")
        results = await calls(SubCall(kind=kind, items=tuple(items), model=model))
        if len(results) != len(items):
            results = [*results, *[SubCallResult(False, error="no result")] * (len(items) - len(results))]
        return [r.to_frame() for r in results]

    async def _restart(self, reason: str) -> CellResult:
        await self._kill()
        self.restarts += 1
        try:
            await self._spawn()
        except SandboxStartError as exc:
            return CellResult(status="restarted", error=f"{reason}. Restarting the REPL failed: {exc}")
        names = ", ".join(f"`{c['name']}`" for c in self._contexts) or "none"
        return CellResult(
            status="restarted",
            error=(
                f"REPL restarted: {reason}. All variables you defined are lost; the contexts ({names}) and the "
                "REPL functions were loaded again. Recompute what you need, in smaller steps."
            ),
            answer={"content": self._answer.get("content"), "ready": False, "valid": True},
        )
