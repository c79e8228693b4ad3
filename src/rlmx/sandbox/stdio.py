"""The worker over stdin/stdout as JSON Lines: the transport for launchers that cannot pass a socket (docker).

StdioSandbox runs `worker.py stdio` as a plain child process; it exists so the stdio transport is tested on
every machine, and DockerSandbox changes only the command. No zygote here: a restart starts a new process.
"""

from __future__ import annotations

import asyncio
from typing import Any

from rlmx.errors import SandboxStartError
from rlmx.sandbox.channel import LineChannel, StderrTail, create_subprocess
from rlmx.sandbox.subprocess import SubprocessSandbox, _Worker


class StdioSandbox(SubprocessSandbox):
    """SubprocessSandbox with JSON Lines on the worker's stdin/stdout instead of a socketpair."""

    tier = "stdio"
    passes_memory_reports = False  # its own start passes no descriptor (a container's worker could get none)

    def __init__(self, **options: Any) -> None:
        options["zygote"] = False  # a zygote hands out socket fds; stdio has none to hand
        super().__init__(**options)

    def command(self, mode: str, fd: int) -> list[str]:
        return [self.python, "-E", "-s", "-u", str(self.worker_dir / self._main), "stdio"]

    def stop_hook(self) -> Any:
        """An async callable that ends the worker beyond its local process (a container), or None."""
        return None

    async def _start_worker(self) -> _Worker:
        try:
            process = await create_subprocess(
                *self.command("stdio", 0),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,
                limit=self.max_frame_bytes + 1,
                **self.spawn_options(),
            )
        except (OSError, ValueError) as exc:
            raise SandboxStartError(f"cannot start the REPL worker: {exc}") from exc
        assert process.stdout is not None and process.stdin is not None and process.stderr is not None
        channel = LineChannel(process.stdout, process.stdin, self.max_frame_bytes)
        worker = _Worker(
            channel, process.pid, process=process, stderr=StderrTail(process.stderr), stop=self.stop_hook()
        )
        await channel.send(self._init_frame())
        return worker
