"""The stdio transport (JSON Lines on the worker's stdin/stdout) and the docker launcher that uses it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from rlmx.context import prepare
from rlmx.errors import SandboxStartError
from rlmx.sandbox import SubCall, SubCallResult, create_sandbox
from rlmx.sandbox.docker import docker_engine
from rlmx.sandbox.stdio import StdioSandbox

NO_ENGINE = asyncio.run(docker_engine())
DOCKER = "rlmx.sandbox.docker:DockerSandbox"


async def echo(call: SubCall) -> list[SubCallResult]:
    return [SubCallResult(True, text=item["prompt"][::-1]) for item in call.items]


@pytest.fixture
async def sandbox() -> AsyncIterator[StdioSandbox]:
    box = StdioSandbox(hard_timeout_grace=0.5)
    await box.start([prepare("context", "line one\nline two"), prepare("rows", [{"a": "x\ny"}])])
    yield box
    await box.close()


async def test_cells_and_sub_calls_over_json_lines(sandbox: StdioSandbox) -> None:
    result = await sandbox.run_cell("print(context.splitlines(), rows, llm_query('abc\\ndef'))", calls=echo, timeout=5)
    assert result.stdout == "['line one', 'line two'] [{'a': 'x\\ny'}] fed\ncba\n"


async def test_a_stray_write_to_fd_1_does_not_reach_the_channel(sandbox: StdioSandbox) -> None:
    result = await sandbox.run_cell(
        "import os\nos.write(1, b'{\"t\": \"result\"}\\n')\nprint('fine')", calls=echo, timeout=5
    )
    assert (result.status, result.stdout) == ("ok", '{"t": "result"}\nfine\n')  # output, not a frame


async def test_a_hard_kill_restarts_the_worker(sandbox: StdioSandbox) -> None:
    killed = await sandbox.run_cell("sum(range(10**12))", calls=echo, timeout=0.5)
    assert killed.status == "restarted"
    assert (await sandbox.run_cell("print(len(rows))", calls=echo, timeout=5)).stdout == "1\n"


@pytest.mark.skipif(NO_ENGINE is None, reason="a Docker engine is running here: the refusal case does not apply")
async def test_docker_refuses_clearly_without_an_engine() -> None:
    box = create_sandbox(DOCKER)
    with pytest.raises(SandboxStartError, match="docker sandbox cannot run"):
        await box.start([prepare("context", "x")])
    await box.close()


@pytest.mark.skipif(NO_ENGINE is not None, reason=f"no Docker engine on this machine: {NO_ENGINE}")
async def test_docker_runs_the_worker_in_a_container() -> None:  # pragma: no cover - needs an engine
    box = create_sandbox(DOCKER)
    await box.start([prepare("context", "in a container")])
    try:
        result = await box.run_cell("import socket, os\nprint(context, os.getuid())", calls=echo, timeout=30)
        assert result.stdout == "in a container 65534\n"
        net = await box.run_cell(
            "import socket\nsocket.create_connection(('1.1.1.1', 53), timeout=2)", calls=echo, timeout=30
        )
        assert net.status == "error"
    finally:
        await box.close()
