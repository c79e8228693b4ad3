"""Fixtures for the sandbox tests: whether the isolated tier can run here.

CI sets RLMX_REQUIRE_ISOLATED=1 so that a machine that cannot run the isolated tier fails instead of skipping.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable

import pytest

from rlmx.sandbox.isolated import probe

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
