"""Fixtures for the sandbox tests: whether the isolated tier can run here, and a started subprocess sandbox.

CI sets RLMX_REQUIRE_ISOLATED=1 so that a machine that cannot run the isolated tier fails instead of skipping.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable

import pytest

from rlmx.context import prepare
from rlmx.sandbox.isolated import probe
from rlmx.sandbox.subprocess import SubprocessSandbox

REQUIRED = os.environ.get("RLMX_REQUIRE_ISOLATED") == "1"  # read at import: the autouse fixture clears RLMX_*


@pytest.fixture(scope="session")
def require_isolated() -> Callable[..., None]:
    """require_isolated(mode="auto"): skip (or fail under CI) when the isolated tier cannot run in `mode`."""
    found = asyncio.run(probe())

    def check(mode: str = "auto") -> None:
        if found.mode(mode) is None:  # type: ignore[arg-type]
            reason = f"the isolated tier ({mode}) cannot run here: {found.refusal(mode)}"  # type: ignore[arg-type]
            pytest.fail(f"RLMX_REQUIRE_ISOLATED=1 but {reason}") if REQUIRED else pytest.skip(reason)

    return check


@pytest.fixture
async def sandbox() -> AsyncIterator[SubprocessSandbox]:
    """A subprocess sandbox holding one context (`context`: "the context"), closed after the test. A test module
    with a `sandbox` fixture of its own uses that one."""
    box = SubprocessSandbox(hard_timeout_grace=1.0)
    await box.start([prepare("context", "the context")])
    yield box
    await box.close()
