"""The host's handle on a zygote: a worker process that loaded the contexts once and forks ready workers.

The zygote is started by a launcher exactly like a single worker (`worker.py zygote FD`, under bwrap for the
isolated tier), loads the contexts, applies stage-one hardening, and then serves requests on its control
channel: `fork` (with a fresh socketpair end passed by SCM_RIGHTS), `kill`, `wait`. A fork costs a few
milliseconds, and the child shares the loaded contexts copy-on-write, so a restart after a hard kill (or a
child RLM that reads the same contexts) never reloads a 40 MB context.

The zygote runs no user code, but its workers are hostile: every reply is checked, requests time out, and a
zygote that misbehaves is killed with its whole process group (its workers die with it: parent-death signal
in the same pid namespace, namespace teardown under bwrap).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import socket
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from rlmx.deadline import time_limit
from rlmx.sandbox import frames, harden
from rlmx.sandbox.channel import ChannelBroken, FrameChannel, StderrTail, kill_group, kill_group_now, start_process

_REQUEST_TIMEOUT = 10.0


def fork_message(
    *,
    keep: Sequence[str] | None = None,
    contexts: Sequence[dict[str, str]] = (),
    settings: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The `fork` request for a worker with the zygote's contexts (all, or those named in `keep`), `contexts`
    loaded from files, and `settings` (answer, output cap, variables) merged in."""
    return {**(settings or {}), "t": "fork", "keep": None if keep is None else list(keep), "contexts": list(contexts)}


class ZygoteGone(Exception):
    """The zygote died, timed out or answered nonsense; it has been killed and must be started again."""


class Zygote:
    """A running zygote. Use `await Zygote.start(...)`, then `fork()` as often as needed, then `close()`."""

    def __init__(self, process: asyncio.subprocess.Process, ctl: socket.socket, stderr: StderrTail) -> None:
        self.process = process
        self.ctl = ctl
        self.stderr = stderr
        self.applied: dict[str, Any] = {}
        self.pid = 0
        self.forks = 0
        self._ids = itertools.count(1)
        self._lock = asyncio.Lock()
        self._dead = False
        # A fork request sent with the init frame (start's `first_fork`): its request id, message and host end.
        self._preforked: tuple[int, dict[str, Any], socket.socket] | None = None

    @classmethod
    async def start(
        cls,
        command: Callable[[int], Sequence[str]],
        *,
        spawn: dict[str, Any],
        also: Sequence[int] = (),
        init: Callable[[], Awaitable[dict[str, Any]]],
        load_seconds: float,
        first_fork: dict[str, Any] | None = None,
    ) -> Zygote:
        """Launch `command(fd)` and send it the frame `init()` returns (awaited after the launch, so the frame's
        context files may still be written while the interpreter starts); returns once the contexts are loaded
        and hardening applied.

        `also`: descriptors the zygote inherits besides its control channel (the memory report socket's end).

        `first_fork` (a `fork_message`): sent right behind the init frame, so the zygote forks that worker as soon
        as it is ready instead of after a round trip to the host; the next `fork()` with the same request collects
        it.

        Raises ChannelBroken (with the zygote's stderr) when it cannot start or reports a fatal error."""
        host_end, zygote_end = socket.socketpair()
        try:
            process = await start_process(
                command(zygote_end.fileno()), pass_fd=zygote_end.fileno(), spawn=spawn, also=also
            )
        except BaseException:
            host_end.close()
            raise
        finally:
            zygote_end.close()
        assert process.stderr is not None
        host_end.setblocking(False)
        zygote = cls(process, host_end, StderrTail(process.stderr))
        try:
            await zygote._send(await init())
            if first_fork is not None:
                zygote._preforked = await zygote._send_fork(first_fork)
            async with time_limit(load_seconds):
                ready = await zygote._read()
            if ready.get("t") != "ready":
                raise ChannelBroken(str(ready.get("error") or f"unexpected {ready.get('t')!r} frame"))
        except (TimeoutError, ChannelBroken, ZygoteGone) as exc:
            stderr = zygote.stderr.text()
            await zygote.close()
            raise ChannelBroken(f"{exc}. {stderr}".strip()) from None
        except asyncio.CancelledError:
            await zygote.abort()  # a run cancelled while its REPL starts must not leave the zygote behind
            raise
        applied = ready.get("applied")
        zygote.applied = applied if isinstance(applied, dict) else {}
        zygote.pid = ready["pid"] if isinstance(ready.get("pid"), int) else 0
        return zygote

    @property
    def alive(self) -> bool:
        return not self._dead and self.process.returncode is None

    # --- requests -----------------------------------------------------------------------------------------
    async def fork(
        self,
        max_frame_bytes: int,
        *,
        keep: Sequence[str] | None = None,
        contexts: Sequence[dict[str, str]] = (),
        settings: dict[str, Any] | None = None,
    ) -> tuple[int, FrameChannel]:
        """A fresh worker with the zygote's contexts (all, or those named in `keep`) plus `contexts` loaded
        from files. Returns its pid (in the zygote's pid namespace) and its channel, before it reports ready."""
        message = fork_message(keep=keep, contexts=contexts, settings=settings)
        preforked, self._preforked = self._preforked, None
        if preforked is not None and preforked[1] != message:
            # A different request: take its reply off the channel; that worker sees its channel close and exits.
            try:
                await self._reply(preforked[0])
            finally:
                preforked[2].close()
            preforked = None
        if preforked is not None:
            request_id, _, host_end = preforked
            try:
                reply = await self._reply(request_id)
            except BaseException:
                host_end.close()
                raise
        else:
            host_end, worker_end = socket.socketpair()
            try:
                reply = await self._request(message, pass_fd=worker_end.fileno())
            except BaseException:
                host_end.close()
                raise
            finally:
                worker_end.close()
        pid = reply.get("pid")
        if not isinstance(pid, int) or pid <= 0:
            host_end.close()
            raise await self._fail("the zygote could not fork a worker")
        self.forks += 1
        return pid, await FrameChannel.open(host_end, max_frame_bytes)

    async def kill(self, pid: int) -> int | None:
        """SIGKILL the worker's process group and reap it; returns its exit code."""
        code = (await self._request({"t": "kill", "pid": pid})).get("code")
        return code if isinstance(code, int) else None

    async def wait(self, pid: int, timeout: float) -> int | None:
        """The worker's exit code once it has exited (None if it is still running after `timeout`)."""
        code = (await self._request({"t": "wait", "pid": pid, "timeout": timeout}, timeout=timeout + 5)).get("code")
        return code if isinstance(code, int) else None

    async def _request(
        self, message: dict[str, Any], *, pass_fd: int | None = None, timeout: float = _REQUEST_TIMEOUT
    ) -> dict[str, Any]:
        async with self._lock:
            if not self.alive:
                raise ZygoteGone("the zygote is not running")
            request_id = next(self._ids)
            try:
                await self._send({**message, "id": request_id})
                if pass_fd is not None:
                    await self._send_fd(pass_fd)
            except (ChannelBroken, OSError) as exc:
                raise await self._fail(f"the zygote stopped answering ({exc or type(exc).__name__})") from None
            return await self._checked_reply(request_id, timeout)

    async def _send_fork(self, message: dict[str, Any]) -> tuple[int, dict[str, Any], socket.socket]:
        """Send a fork request without waiting for its reply: its id, the message and the new worker's host end."""
        host_end, worker_end = socket.socketpair()
        request_id = next(self._ids)
        try:
            await self._send({**message, "id": request_id})
            await self._send_fd(worker_end.fileno())
        except BaseException:
            host_end.close()
            raise
        finally:
            worker_end.close()
        return request_id, message, host_end

    async def _reply(self, request_id: int, timeout: float = _REQUEST_TIMEOUT) -> dict[str, Any]:
        async with self._lock:
            if not self.alive:
                raise ZygoteGone("the zygote is not running")
            return await self._checked_reply(request_id, timeout)

    async def _checked_reply(self, request_id: int, timeout: float) -> dict[str, Any]:
        try:
            async with time_limit(timeout):
                reply = await self._read()
        except (TimeoutError, ChannelBroken, OSError) as exc:
            raise await self._fail(f"the zygote stopped answering ({exc or type(exc).__name__})") from None
        if reply.get("id") != request_id or reply.get("t") == "error":
            raise await self._fail(f"the zygote answered out of turn: {str(reply)[:200]}")
        return reply

    async def _fail(self, reason: str) -> ZygoteGone:
        """Kill the zygote; returns the error for the caller to raise."""
        self._dead = True
        self._kill_tree()
        await kill_group(self.process)
        return ZygoteGone(reason)

    # --- the control socket (raw, non-blocking: asyncio streams cannot pass fds) ---------------------------
    async def _send(self, message: dict[str, Any]) -> None:
        await asyncio.get_running_loop().sock_sendall(self.ctl, frames.encode(message))

    async def _send_fd(self, fd: int) -> None:
        for _ in range(200):
            try:
                socket.send_fds(self.ctl, [b"F"], [fd])
                return
            except BlockingIOError:
                await asyncio.sleep(0.005)
        raise ChannelBroken("the zygote's control channel stayed full")

    async def _read(self) -> dict[str, Any]:
        header = await self._read_exactly(frames.HEADER.size)
        (length,) = frames.HEADER.unpack(header)
        try:
            frames.check_length(length, 1 << 20)
            return frames.decode(await self._read_exactly(length))
        except frames.FrameProtocolError as exc:
            raise ChannelBroken(str(exc)) from None

    async def _read_exactly(self, size: int) -> bytes:
        loop = asyncio.get_running_loop()
        chunks: list[bytes] = []
        while size:
            chunk = await loop.sock_recv(self.ctl, size)
            if not chunk:
                raise ChannelBroken("the zygote exited")
            chunks.append(chunk)
            size -= len(chunk)
        return b"".join(chunks)

    # --- the end ------------------------------------------------------------------------------------------
    def _kill_tree(self) -> None:
        """Every process under the launcher (the zygote and its workers are subreapers, so this includes what
        their cells double-forked), killed before the zygote itself can no longer hold them in its tree."""
        if self.process.returncode is None:
            harden.kill_tree(self.process.pid)

    def _drop_preforked(self) -> None:
        if self._preforked is not None:
            self._preforked[2].close()
            self._preforked = None

    def kill_now(self) -> None:
        """Synchronous: kill the zygote and, with it, every worker it forked."""
        self._drop_preforked()
        self._dead = True
        self._kill_tree()
        kill_group_now(self.process)
        self.ctl.close()

    async def abort(self) -> None:
        """Kill at once, without a shutdown request (the caller is being cancelled)."""
        self._drop_preforked()
        self._dead = True
        self._kill_tree()
        try:
            await kill_group(self.process)
        finally:  # a caller cancelled again meanwhile (anyio cancels at every await) still lets go of the socket
            self.ctl.close()
        await self.stderr.finish()

    async def close(self, *, graceful: bool = True) -> None:
        """End the zygote and every process it forked. `graceful=False` skips its orderly exit (which walks /proc
        for its tree and finalizes an interpreter holding the contexts, 10-20 ms): for callers that end every
        process of the sandbox's own uid right after (`harden.kill_uid`), a SIGKILL of its group is enough."""
        self._drop_preforked()
        if self.alive and graceful:
            with contextlib.suppress(Exception):
                async with time_limit(1.0):
                    await self._send({"t": "shutdown"})
                async with time_limit(2.0):
                    await self.process.wait()
        self._dead = True
        if graceful:
            self._kill_tree()
        try:
            await kill_group(self.process)
        finally:  # as in abort()
            self.ctl.close()
        await self.stderr.finish()
