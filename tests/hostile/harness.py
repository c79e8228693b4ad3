"""What both hostile suites share: how a tier name becomes a sandbox, a cell run with no sub-calls, and the
expected outcome of a case on this host."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import Any

from hostile.hostinfo import HOST
from rlmx.context import prepare
from rlmx.sandbox import CellResult, Sandbox, SubCall, SubCallResult, create_sandbox

SUITE_OPTIONS: dict[str, Any] = {"hard_timeout_grace": 1.0}
"""Every case runs with the tier's defaults except a shorter grace before the hard kill, to keep CI fast."""


def launcher(tier: str) -> tuple[str, dict[str, Any]]:
    """The sandbox name and options of a suite tier ("isolated-landlock" is the isolated tier forced to Landlock)."""
    return ("isolated", {"mode": "landlock"}) if tier == "isolated-landlock" else (tier, {})


def expected_outcome(row: Mapping[str, str], tier: str) -> str:
    """A case's expected outcome on `tier`, on this host: a `subprocess-<identity>` entry (see hostinfo.HOST)
    wins for the subprocess tier, and a tier without its own entry expects what the isolated tier does."""
    if tier == "subprocess":
        return row.get(f"subprocess-{HOST.get('subprocess')}") or row["subprocess"]
    return row.get(tier) or row["isolated"]


@contextlib.asynccontextmanager
async def open_sandbox(tier: str, context: Any = "the context", **options: Any) -> AsyncIterator[Sandbox]:
    name, extra = launcher(tier)
    box = create_sandbox(name, **{**({} if name == "inprocess" else SUITE_OPTIONS), **extra, **options})
    await box.start([prepare("context", context)])
    try:
        yield box
    finally:
        await box.close()


async def no_calls(call: SubCall) -> list[SubCallResult]:
    return [SubCallResult(False, error="no sub-calls in this case")] * len(call.items)


async def run(box: Sandbox, code: str, timeout: float = 5.0) -> CellResult:
    return await box.run_cell(code, calls=no_calls, timeout=timeout)
