"""Numerical libraries' thread pools in a REPL are sized by the sandbox, not by the host's core count. Unset,
OpenBLAS and OpenMP start one thread per core when numpy is imported: on a many-core host a cell's `import numpy`
alone passed the REPL's RLIMIT_NPROC (`max_processes`, 128), and a child RLM's REPL passed the task count its
watcher ends it at. Each tier's worker now starts with OMP_NUM_THREADS, OPENBLAS_NUM_THREADS and the like set to the
cores it may use, at most an eighth of `max_processes`."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable

import pytest

from rlmx.context import prepare
from rlmx.sandbox.base import SubCall, SubCallResult
from rlmx.sandbox.isolated import IsolatedSandbox, bwrap_arguments
from rlmx.sandbox.subprocess import POOL_THREAD_VARIABLES, SubprocessSandbox, pool_threads

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the process tiers are Linux's")

CELL = (
    "import os, json\n"
    "def threads():\n"
    "    try:\n"
    "        return len(os.listdir('/proc/self/task'))\n"
    "    except OSError:  # Landlock: no /proc\n"
    "        return 0\n"
    "before = threads()\n"
    "try:\n"
    "    import numpy\n"
    "    numpy.ones((64, 64)) @ numpy.ones((64, 64))\n"
    "except ImportError:\n"
    "    pass\n"
    "print(json.dumps({'env': {k: os.environ.get(k) for k in NAMES}, 'added': threads() - before}))\n"
).replace("NAMES", repr(POOL_THREAD_VARIABLES))


async def _nothing(call: SubCall) -> list[SubCallResult]:
    return []


def test_the_pool_is_the_cores_at_most_an_eighth_of_max_processes() -> None:
    cores = len(os.sched_getaffinity(0))
    assert pool_threads(128) == min(cores, 16)
    assert pool_threads(8) == 1
    assert pool_threads(1) == 1  # never zero: 0 means "all cores" to OpenMP


@pytest.mark.parametrize("tier", ["subprocess", "bwrap", "landlock"])
async def test_a_cells_numpy_starts_no_more_threads_than_its_pool(
    tier: str, require_isolated: Callable[..., None]
) -> None:
    if tier != "subprocess":
        require_isolated(tier)
    box = SubprocessSandbox(max_processes=8) if tier == "subprocess" else IsolatedSandbox(mode=tier, max_processes=8)  # type: ignore[arg-type]
    await box.start([prepare("context", "x")])
    try:
        result = await box.run_cell(CELL, calls=_nothing, timeout=60)
    finally:
        await box.close()
    assert result.status == "ok", result
    seen = json.loads(result.stdout)
    assert seen["env"] == dict.fromkeys(POOL_THREAD_VARIABLES, "1")  # max_processes 8: one thread
    assert seen["added"] == 0, seen


def test_bwrap_is_given_the_pool_sizes_and_keeps_its_own_variables() -> None:
    arguments = bwrap_arguments(("/usr",), None, 1 << 30, {"OMP_NUM_THREADS": "3"})
    assert arguments[-1] == "--"
    assert arguments[-4:-1] == ["--setenv", "OMP_NUM_THREADS", "3"]
    assert "--clearenv" in arguments and arguments.index("--clearenv") < arguments.index("OMP_NUM_THREADS")
