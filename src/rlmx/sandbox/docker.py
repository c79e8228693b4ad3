"""The "docker" launcher (optional): one long-lived container per REPL, running the same worker over stdio.

`docker run -i --rm --network none --read-only` with all capabilities dropped, no-new-privileges, a pids and
memory limit, the contexts mounted read-only once, and one writable work dir; the worker speaks JSON Lines on
stdin/stdout. A hard kill runs `docker kill` and starts a new container (the contexts are a bind mount, so
nothing is copied again). It needs a running Docker engine, which `start()` checks first; without one it
refuses with a clear SandboxStartError. No Python package is needed: it drives the `docker` CLI.

    RLM(lm, sandbox="rlmx.sandbox.docker:DockerSandbox", sandbox_options={"image": "python:3.12-slim"})
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from rlmx.deadline import time_limit
from rlmx.errors import SandboxStartError
from rlmx.sandbox.channel import create_subprocess
from rlmx.sandbox.stdio import StdioSandbox
from rlmx.sandbox.subprocess import PACKAGE_DIR, WORKER_FILES, pool_thread_env


async def docker_engine(docker: str = "docker") -> str | None:
    """None when a Docker engine answers, else why not (for skips, refusals and `rlmx doctor`)."""
    if shutil.which(docker) is None:
        return f"the {docker!r} command is not installed"
    try:
        process = await create_subprocess(
            docker, "info", "--format", "{{.ServerVersion}}",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        async with time_limit(20):
            out, err = await process.communicate()
    except (OSError, TimeoutError) as exc:
        return f"`{docker} info` failed: {exc}"
    if process.returncode != 0:
        return f"no Docker engine answers ({err.decode(errors='replace').strip()[:300] or out.decode().strip()})"
    return None


class DockerSandbox(StdioSandbox):
    """The worker in a container. Options beyond SubprocessSandbox's: `image` (any image with python3 >= 3.10),
    `docker` (the CLI), `max_processes` (--pids-limit)."""

    tier = "docker"
    chooses_uid = False  # the container runs as 65534 whatever the host is

    def __init__(
        self, *, image: str = "python:3.12-slim", docker: str = "docker", max_processes: int = 64, **options: Any
    ) -> None:
        options.setdefault("python", "python3")
        super().__init__(**options)
        self.python = os.fspath(options["python"])  # a path inside the image: never made absolute on the host
        self.image = image
        self.docker = docker
        self.max_processes = max_processes
        self.container = ""

    async def prepare(self) -> None:
        problem = await docker_engine(self.docker)
        if problem is not None:
            raise SandboxStartError(f"the docker sandbox cannot run: {problem}")

    async def layout(self) -> None:
        assert self._dir is not None
        (self._dir / "sbx").mkdir(exist_ok=True)
        for name in WORKER_FILES:
            shutil.copyfile(PACKAGE_DIR / name, self._dir / "sbx" / name)
        (self._dir / "work").chmod(0o777)  # the container runs as 65534
        for path in (self._dir, self._dir / "ctx", self._dir / "sbx"):
            path.chmod(0o755)

    @property
    def worker_dir(self) -> Path:
        return Path("/sbx")

    def context_path(self, name: str) -> Path:
        return Path("/ctx") / name

    def command(self, mode: str, fd: int) -> list[str]:
        assert self._dir is not None
        self.container = f"rlmx-{secrets.token_hex(6)}"
        run = self._dir
        return [
            self.docker, "run", "-i", "--rm", "--name", self.container, "--network", "none", "--read-only",
            "--tmpfs", "/tmp:rw,size=256m", "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
            "--pids-limit", str(self.max_processes), "--memory", str(self.limits()["memory_bytes"]),
            "--user", "65534:65534", "-v", f"{run / 'ctx'}:/ctx:ro", "-v", f"{run / 'sbx'}:/sbx:ro",
            "-v", f"{run / 'work'}:/scratch", "-w", "/scratch", "-e", "HOME=/scratch", "-e", "TMPDIR=/tmp",
            *(f"--env={name}={value}" for name, value in pool_thread_env(self.max_processes).items()),
            self.image, self.python, "-E", "-s", "-u", "/sbx/worker.py", "stdio",
        ]  # fmt: skip

    def spawn_options(self) -> dict[str, Any]:
        """The docker CLI itself needs its own settings (DOCKER_HOST, ...); none of them reach the container."""
        keep = ("PATH", "HOME", "XDG_RUNTIME_DIR")
        return {"env": {k: v for k, v in os.environ.items() if k in keep or k.startswith("DOCKER_")}}

    def stop_hook(self) -> Callable[[], Awaitable[None]]:
        name, docker = self.container, self.docker

        async def stop() -> None:
            process = await create_subprocess(
                docker, "kill", name, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
            )
            async with time_limit(20):
                await process.wait()

        return stop

    def describe(self, applied: dict[str, Any]) -> dict[str, Any]:
        report = super().describe(applied)
        report.update(
            namespaces=["container"],
            image=self.image,
            network="none (--network none)",
            filesystem="read-only root, private /tmp, contexts read-only at /ctx, one writable work dir",
            fork_bound=f"--pids-limit {self.max_processes}",
            uid="65534 in the container",
            environment="HOME and TMPDIR only",
        )
        return report
