"""Host-side plumbing shared by every process launcher: a capped frame channel, a child process, its stderr tail.

Every byte that comes back from a worker is untrusted: the channel checks a frame's announced length against
the cap before reading its body, and decodes JSON only (never pickle). Any breach ends the channel with
ChannelBroken; the sandbox then ends that worker. This module never interprets frames beyond their envelope.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import threading
from collections import deque
from collections.abc import Sequence
from typing import Any

from rlmx.deadline import time_limit
from rlmx.sandbox import frames

_STDERR_KEEP = 8192


class ChannelBroken(Exception):
    """The worker died, closed its channel, or broke the frame protocol."""


class FrameChannel:
    """Length-prefixed JSON frames over one connected socket, capped on the host side."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, max_frame_bytes: int) -> None:
        self.reader = reader
        self.writer = writer
        self.max_frame_bytes = max_frame_bytes

    @classmethod
    async def open(cls, sock: socket.socket, max_frame_bytes: int) -> FrameChannel:
        reader, writer = await asyncio.open_connection(sock=sock, limit=1 << 20)
        if hasattr(writer.transport, "max_size"):
            # The selector transport reads 256 KiB at a time; allocating that per small frame costs ~12 µs.
            writer.transport.max_size = 64 * 1024
        return cls(reader, writer, max_frame_bytes)

    async def send(self, message: dict[str, Any]) -> None:
        try:
            self.writer.write(frames.encode(message, self.max_frame_bytes))
            await self.writer.drain()
        except (ConnectionError, OSError) as exc:
            raise ChannelBroken(f"the worker's channel closed ({exc})") from None

    async def send_reply(self, call_id: Any, results: list[dict[str, Any]]) -> None:
        """Answer a worker's `call` frame. A reply too big for one frame (a huge batch, very long answers) becomes
        one error that the worker raises in the cell, so the cell fails and the run goes on."""
        try:
            await self.send({"t": "reply", "id": call_id, "results": results})
        except frames.FrameProtocolError as exc:
            tool = next((r["tool"] for r in results if isinstance(r.get("tool"), str)), None)
            if tool is not None:  # a host tool's result (one per call), named so by `rlmx.tools.ToolReply`
                size = sum(len(frames.dumps(r.get("value")).encode("utf-8", "surrogatepass")) for r in results)
                error = (
                    f"tool {tool} returned a result of {size:,} bytes as JSON, over the {self.max_frame_bytes:,}-byte "
                    "cap on what crosses to the REPL; return less (a page of it, or a summary)"
                )
            else:
                error = (
                    f"the answers to this call do not fit in one frame ({exc}); ask for fewer or shorter answers "
                    "per call, in smaller batches"
                )
            await self.send({"t": "reply", "id": call_id, "error": error})

    async def read(self) -> dict[str, Any]:
        """The next frame. Raises ChannelBroken on EOF, a socket error, or a frame over the cap or not JSON."""
        try:
            header = await self.reader.readexactly(frames.HEADER.size)
            (length,) = frames.HEADER.unpack(header)
            frames.check_length(length, self.max_frame_bytes)
            return frames.decode(await self.reader.readexactly(length))
        except asyncio.IncompleteReadError:
            raise ChannelBroken("eof") from None
        except (ConnectionError, OSError) as exc:
            raise ChannelBroken(f"the worker's channel broke ({exc})") from None
        except frames.FrameProtocolError as exc:
            raise ChannelBroken(f"the worker broke the frame protocol ({exc})") from None

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(Exception):
            await self.writer.wait_closed()


class LineChannel(FrameChannel):
    """The same frames as JSON Lines over a process's stdin/stdout (containers, remote sandboxes)."""

    async def send(self, message: dict[str, Any]) -> None:
        try:
            self.writer.write(frames.encode_line(message, self.max_frame_bytes))
            await self.writer.drain()
        except (ConnectionError, OSError) as exc:
            raise ChannelBroken(f"the worker's stdin closed ({exc})") from None

    async def read(self) -> dict[str, Any]:
        try:
            line = await self.reader.readuntil(b"\n")
            return frames.decode_line(line, self.max_frame_bytes)
        except asyncio.IncompleteReadError:
            raise ChannelBroken("eof") from None
        except asyncio.LimitOverrunError:
            raise ChannelBroken(f"the worker sent a line over the {self.max_frame_bytes:,}-byte cap") from None
        except (ConnectionError, OSError) as exc:
            raise ChannelBroken(f"the worker's stdout broke ({exc})") from None
        except frames.FrameProtocolError as exc:
            raise ChannelBroken(f"the worker broke the frame protocol ({exc})") from None


class StderrTail:
    """Keeps the last few kB a process wrote to stderr, for error messages."""

    def __init__(self, stream: asyncio.StreamReader) -> None:
        self.chunks: deque[bytes] = deque()
        self.task = asyncio.create_task(self._drain(stream))

    async def _drain(self, stream: asyncio.StreamReader) -> None:
        kept = 0
        while chunk := await stream.read(4096):
            self.chunks.append(chunk)
            kept += len(chunk)
            while kept > _STDERR_KEEP and len(self.chunks) > 1:
                kept -= len(self.chunks.popleft())

    def text(self) -> str:
        return b"".join(self.chunks).decode("utf-8", "replace")[-2000:]

    async def finish(self) -> None:
        with contextlib.suppress(Exception):
            async with time_limit(1.0):
                await self.task
        if not self.task.done():
            self.task.cancel()
            with contextlib.suppress(BaseException):
                await self.task


_SPAWNING = threading.Lock()
"""uvloop lets one loop at a time spawn a process ("Racing with another loop to spawn a process",
MagicStack/uvloop#508): spawns from loops on several threads take turns. A process forked meanwhile gets a fresh
one (`_new_spawning_lock`): it inherits the lock held, by a spawn that goes on only in the parent."""


def _new_spawning_lock() -> None:
    global _SPAWNING
    _SPAWNING = threading.Lock()


os.register_at_fork(after_in_child=_new_spawning_lock)


async def start_process(
    argv: Sequence[str], *, pass_fd: int, spawn: dict[str, Any], also: Sequence[int] = ()
) -> asyncio.subprocess.Process:
    """Start one launcher process in its own session, passing it fd `pass_fd` (and those in `also`). `spawn` holds
    env, cwd, user, group."""
    if isinstance(asyncio.get_running_loop(), asyncio.BaseEventLoop):
        return await _spawn(argv, (pass_fd, *also), spawn)
    # Polled, not waited for on a thread: a thread's acquire outlives a waiter cancelled meanwhile and would hold
    # the lock for good (every later spawn, and the process's exit, then hang). Spawns take milliseconds.
    lock = _SPAWNING  # the one it releases, though a fork meanwhile rebinds the name in the child
    while not lock.acquire(blocking=False):
        await asyncio.sleep(0.001)
    try:
        return await _spawn(argv, (pass_fd, *also), _identity_in_child(spawn))
    finally:
        lock.release()


async def _spawn(argv: Sequence[str], pass_fds: tuple[int, ...], spawn: dict[str, Any]) -> asyncio.subprocess.Process:
    try:
        return await create_subprocess(
            *argv,
            pass_fds=pass_fds,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
            **spawn,
        )
    except (OSError, ValueError) as exc:
        raise ChannelBroken(f"cannot run {argv[0]}: {exc}") from exc


_SPAWN_SETTLE_SECONDS = 0.25
"""How long a spawn whose caller was cancelled is given to end by itself (its pipes connect in a few loop turns), and
then each cancel of it (it kills its process and waits for the exit: milliseconds), before it is cancelled again."""


async def create_subprocess(*argv: str, **options: Any) -> asyncio.subprocess.Process:
    """`asyncio.create_subprocess_exec(*argv, **options)`, which ends whenever it is cancelled.

    CPython 3.11 (gh-125502): a spawn whose pipe-connecting task is cancelled before it has run waits for ever for
    an exit it is never told of. asyncio.run cancels every task once its main one ends, so any exception ending it
    meanwhile (a KeyboardInterrupt a model client raised in the first LM call's task, sent while the REPL starts)
    hung the program. The spawn runs as its own task: once this one is cancelled, that task is cancelled again
    until it has ended, and a process it started all the same is killed and reaped. Raises what the spawn raises
    (OSError, ValueError) and CancelledError."""
    spawning = asyncio.ensure_future(asyncio.create_subprocess_exec(*argv, **options))
    try:
        return await asyncio.shield(spawning)
    except asyncio.CancelledError:
        await _end_spawn(spawning)
        raise


async def _end_spawn(spawning: asyncio.Future[asyncio.subprocess.Process]) -> None:
    """Let `spawning` end by itself for _SPAWN_SETTLE_SECONDS, then cancel it until it has ended; kill what it
    started, its whole process group. Further cancellations of the caller (a cancel scope repeats them) wait for
    this: the spawn left alone could hang the loop's shutdown. A spawn cancelled while its pipes connect kills its
    process alone, so what that process had started ran on (a probe's `sh -c 'sleep 60 & sleep 60; wait'`: both
    sleeps, CI on 8ab2475; bwrap's inner processes for a few ms, audit 80): one that ends by itself (a few loop
    turns) gives the group to kill."""
    loop = asyncio.get_running_loop()
    settled = loop.time() + _SPAWN_SETTLE_SECONDS
    while not spawning.done() and (left := settled - loop.time()) > 0:
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait([spawning], timeout=left)
    while not spawning.done():
        spawning.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait([spawning], timeout=_SPAWN_SETTLE_SECONDS)
    if spawning.cancelled() or spawning.exception() is not None:
        return
    process = spawning.result()
    kill_group_now(process)
    with contextlib.suppress(asyncio.CancelledError):
        await process.wait()


def _identity_in_child(spawn: dict[str, Any]) -> dict[str, Any]:
    """uvloop's subprocess_exec has no user=, group= or extra_groups=: the child takes them between fork and exec,
    in the order CPython's own spawn uses (groups, gid, uid), so a failure there fails the start as it would."""
    user, group, groups = spawn.get("user"), spawn.get("group"), spawn.get("extra_groups")
    if user is None and group is None and groups is None:
        return spawn

    def take_identity() -> None:
        if groups is not None:
            os.setgroups(groups)
        if group is not None:
            os.setresgid(group, group, group)
        if user is not None:
            os.setresuid(user, user, user)

    rest = {k: v for k, v in spawn.items() if k not in ("user", "group", "extra_groups")}
    return {**rest, "preexec_fn": take_identity}


def kill_group_now(process: asyncio.subprocess.Process | None) -> None:
    """SIGKILL a launcher's whole process group, synchronously (cancellation paths cannot await).

    The process itself is signalled with os.kill, not `process.kill()`: that polls first (Python 3.11+), and a
    poll that reaps the just-killed child leaves asyncio's child watcher an unknown pid, which it logs as
    "Unknown child process pid N, will report returncode 255" (its exit code lost). The watcher reaps it."""
    if process is not None and process.returncode is None:
        for kill, target in ((os.killpg, process.pid), (os.kill, process.pid)):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                kill(target, signal.SIGKILL)


async def kill_group(process: asyncio.subprocess.Process | None) -> None:
    kill_group_now(process)
    if process is not None:
        await process.wait()


def exit_description(code: int | None) -> str:
    if code is not None and code < 0:
        name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else str(-code)
        return f"the worker process was killed by {name}"
    return "the worker process exited" + (f" with code {code}" if code is not None else "")
