"""What every sandbox launcher offers the engine: values that cross the boundary and the Sandbox protocol."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeVar, runtime_checkable

from rlmx.context import PreparedContext

CellStatus = Literal["ok", "error", "timeout", "restarted"]
T = TypeVar("T")


def settle(future: asyncio.Future[T], value: T) -> None:
    """Give `future` its result unless it is already done (cancelled): for `loop.call_soon_threadsafe` from a
    thread that finished work the loop may no longer wait for."""
    if not future.done():
        future.set_result(value)


@dataclass(frozen=True, slots=True)
class SubCall:
    """A worker's request for host work: `kind` "llm" (plain sub-LM), "rlm" (child RLM) or "tool" (a host tool,
    the item's "prompt" naming it, with "args" and "kwargs"), one item per prompt."""

    kind: Literal["llm", "rlm", "tool"]
    items: tuple[dict[str, Any], ...]
    model: str | None = None


@dataclass(frozen=True, slots=True)
class SubCallResult:
    ok: bool
    text: str = ""
    error: str = ""
    value: Any = None
    """The validated JSON value, for a sub-call made with a schema."""

    def to_frame(self) -> dict[str, Any]:
        if not self.ok:
            return {"ok": False, "error": self.error}
        return {"ok": True, "text": self.text, "value": self.value}


CallHandler = Callable[[SubCall], Awaitable[list[SubCallResult]]]
"""Serves a worker's sub-calls. A handler may also have a `refused(call, count, reason)` method (`RefusalRecorder`):
the sandbox then tells it of the items its own caps refused, which never reach the handler as calls."""


@runtime_checkable
class RefusalRecorder(Protocol):
    """A call handler that records the sub-calls the sandbox's caps refused (the engine traces them)."""

    def refused(self, call: SubCall, count: int, reason: str) -> None:
        """`count` items of `call` (after the ones it was handed, if any) were refused: `reason` names the cap."""
        ...


@dataclass(frozen=True, slots=True)
class CellResult:
    """What one cell did. `final` is the finishing request the cell made (FINAL, FINAL_VAR, SUBMIT), if any."""

    status: CellStatus
    stdout: str = ""
    stderr: str = ""
    error: str | None = None
    stdout_cut: int = 0
    stderr_cut: int = 0
    final: dict[str, Any] | None = None
    answer: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    replaced: tuple[str, ...] = ()
    """Names of REPL functions and host tools the cell had bound to values of its own, put back after it."""
    rebound: tuple[str, ...] = ()
    """Names of contexts that hold another value after the cell than the one rlmx loaded (kept: the model's own)."""

    def feedback(self) -> str:
        """The cell's output as the model will read it."""
        parts = [self.stdout.rstrip("\n")] if self.stdout else []
        if self.stderr:
            parts.append("[stderr]\n" + self.stderr.rstrip("\n"))
        if self.error:
            parts.append(self.error)
        return "\n".join(parts) if parts else "(no output)"


def replaced_names(frame: dict[str, Any], key: str = "replaced") -> tuple[str, ...]:
    """A result frame's `replaced` (or another list of names: `rebound`, see CellResult), its names only: a
    worker's frame is not taken on faith."""
    names = frame.get(key)
    return tuple(name for name in names[:100] if isinstance(name, str)) if isinstance(names, list) else ()


class Sandbox(Protocol):
    """A persistent REPL in a worker.

    Lifecycle: construct (options only) -> `start(contexts)` once -> `run_cell()` many times -> `close()`.
    A worker that dies or overruns its hard timeout is restarted with its contexts reloaded, and the cell's
    result says the variables were lost; exceptions raised by the model's code come back as output.
    Between cells, `load` adds contexts and variables and `names(prefix)` lists the REPL's names that begin with
    `prefix`; neither runs a cell.
    """

    protections: dict[str, Any]

    async def start(self, contexts: Sequence[PreparedContext]) -> None: ...

    async def run_cell(self, code: str, *, calls: CallHandler, timeout: float) -> CellResult: ...

    async def load(self, contexts: Sequence[PreparedContext], variables: dict[str, Any]) -> None: ...

    async def names(self, prefix: str) -> set[str]: ...

    async def close(self) -> None: ...


@runtime_checkable
class ForksChildren(Protocol):
    """An optional ability: a sandbox whose zygote can fork a child RLM's worker in milliseconds.

    `fork_child(inherit)` returns an unstarted Sandbox sharing this one's zygote; `start(contexts)` then loads
    only the child's own contexts, and the parent's contexts named in `inherit` come along copy-on-write (those
    `shares(name)` says the zygote holds).
    The child must be closed before its parent."""

    def shares(self, name: str) -> bool: ...

    def fork_child(self, inherit: Sequence[str] = ()) -> Sandbox: ...


def plan_children(sandbox: Sandbox, max_depth: int) -> None:
    """Tell an unstarted sandbox how many levels of child RLMs its REPL may have below it (`max_depth - 1`), where
    it sizes a limit they share (the subprocess tiers' RLIMIT_NPROC ceiling: the run's own worker then starts with
    it, and children cannot take its share). Sandboxes without the ability ignore it."""
    plan = getattr(sandbox, "plan_children", None)
    if callable(plan):
        plan(max(max_depth - 1, 0))
