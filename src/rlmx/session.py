"""Multi-turn sessions: one REPL kept across questions (the official `persistent=True`), with `history`.

Each question is its own completion (own budget, own trace file); the session links them by id and turn, keeps
the root's REPL alive between them, adds each question's new contexts as `context_1`, `context_2`, ...
(or by their given names), and sets `history` to the earlier questions and answers. Each question finds every
context under its name as loaded (the worker puts back one an earlier question rebound or deleted, so the prompt
describes what the REPL holds), and a cell that rebinds `history` gets it back with a note.

A session answers one question at a time: questions asked together (tasks, threads) wait their turn, and one
asked from inside the session's own question (its tools, event handlers) is refused at once, since it would wait
for itself. The REPL lives on the event loop that started it, and ends with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import os
import threading
import uuid
import weakref
from collections.abc import AsyncGenerator, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

from rlmx.blocking import BlockingRunner
from rlmx.context import PreparedContext, SizeLimit, check_name, prepare
from rlmx.errors import InputError
from rlmx.result import Result
from rlmx.rlm import check_query, light_contexts, require_asyncio
from rlmx.sandbox import Sandbox, create_sandbox
from rlmx.sandbox.frames import encodable
from rlmx.schema import OutputSchema

if TYPE_CHECKING:
    from pydantic import BaseModel

    from rlmx.rlm import RLM

_answering: contextvars.ContextVar[frozenset[object]] = contextvars.ContextVar("rlmx_answering", default=frozenset())
"""The questions (of any session) this context is part of: the tasks and tool threads of a run inherit it."""


async def _close_with_loop(sandbox: Sandbox) -> AsyncGenerator[None, None]:
    """Parked on the loop that started a REPL; closes the REPL when closed itself: by the session, or by the loop's
    `shutdown_asyncgens()` (asyncio.run's end), since the REPL's channels cannot work past that loop."""
    try:
        yield
    finally:
        await sandbox.close()


def _kill_if_here(sandbox: Sandbox, pid: int) -> None:
    """A session's finalizer: kill its REPL's processes (and remove its files), in the process that started them."""
    if os.getpid() == pid:
        _kill_now(sandbox)


def _kill_now(sandbox: Sandbox) -> None:
    """End a REPL's processes without its event loop (closed without shutting its generators down), where its own
    close() cannot run. The process tiers (SubprocessSandbox and its launchers) can; a tier without processes has
    nothing to end."""
    kill = getattr(sandbox, "kill_now", None)
    if kill is not None:
        kill()


class Session:
    """Made by `RLM.session(...)`. Use it as a context manager (sync or async) so its REPL is closed."""

    def __init__(self, rlm: RLM, contexts: list[PreparedContext]) -> None:
        self.rlm = rlm
        self.contexts = contexts
        self.session_id = uuid.uuid4().hex[:12]
        self.history: list[dict[str, str]] = []
        self._sandbox: Sandbox | None = None
        self._closer: AsyncGenerator[None, None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = asyncio.Lock()
        self._question: object | None = None
        """The question being answered now, as `_answering` holds it."""
        self._runner: BlockingRunner | None = None
        self._added = 0
        self._closed = False
        self._pid = os.getpid()  # a process forked from this one inherits the object, not the REPL
        self._exiting = threading.Lock()
        self._finalizer: weakref.finalize[Any, Any] | None = None

    # --- async form -----------------------------------------------------------------------------------
    async def __aenter__(self) -> Session:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aask(
        self,
        query: str,
        context: Any = None,
        *,
        contexts: Mapping[str, Any] | None = None,
        output: type[BaseModel] | dict[str, Any] | None = None,
    ) -> Result:
        """Ask the next question. `context` becomes `context_1`, `context_2`, ...; `contexts` keep their names.

        Questions asked at the same time are answered one after another. Inside a sync `with` block it runs on
        that block's loop (see `ask`) without blocking the caller's. Raises InputError when the session is closed,
        or when called from inside its own question (a tool or event handler of it); RuntimeError when its REPL
        was started on another event loop."""
        require_asyncio("Session.aask")
        self._check_free()
        if self._runner is not None:
            return await self._runner.arun(self._ask(query, context, contexts, output))
        return await self._ask(query, context, contexts, output)

    async def aclose(self) -> None:
        """Close the REPL, ending its processes; closing twice does nothing. Works from any event loop: from
        another one than the REPL's (a second asyncio.run) the REPL is closed on its own loop while that runs,
        and its processes are killed at once otherwise."""
        if self._runner is not None:
            await self._runner.arun(self._aclose())
        else:
            await self._aclose()

    async def _ask(
        self,
        query: str,
        context: Any,
        contexts: Mapping[str, Any] | None,
        output: type[BaseModel] | dict[str, Any] | None,
    ) -> Result:
        self._check_free()
        self._check_loop()
        check_query(query)
        schema = OutputSchema(output) if output is not None else None
        async with self._lock:
            self._check_free()  # closed while this question waited
            question = self._question = object()
            token = _answering.set(_answering.get() | {question})
            try:
                return await self._answer(query, context, contexts, schema)
            finally:
                _answering.reset(token)
                self._question = None

    async def _answer(
        self, query: str, context: Any, contexts: Mapping[str, Any] | None, schema: OutputSchema | None
    ) -> Result:
        adding = context is not None or bool(contexts)
        in_use = await self._names_in_use() if adding and self._sandbox is not None else set()
        if light_contexts(context, contexts):
            new, numbered = self._new_contexts(context, contexts, in_use)
        else:  # a list, a dict or a file: prepared off the loop (see light_contexts)
            new, numbered = await asyncio.to_thread(self._new_contexts, context, contexts, in_use)
        if self._sandbox is None:
            self._loop = asyncio.get_running_loop()
            self._sandbox = create_sandbox(self.rlm.sandbox, **self.rlm.sandbox_options)
            self._closer = _close_with_loop(self._sandbox)
            await anext(self._closer)  # registers it with this loop, for its shutdown
            # Dropped unclosed, or still open at exit: its processes and files end with the object all the same.
            self._finalizer = weakref.finalize(self, _kill_if_here, self._sandbox, self._pid)
            try:
                await self._sandbox.start([*self.contexts, *new])
                await self._sandbox.load([], {"history": []})
            except BaseException:  # cut short (a cancelled or timed-out first question) or failed: the next one
                self._discard_sandbox()  # starts a REPL of its own instead of using this half-started one
                raise
        else:
            await self._sandbox.load(new, {"history": self.history, "answer": {"content": "", "ready": False}})
        self.contexts.extend(new)
        self._added = numbered  # taken now: the number of a context refused before this point stays free
        turn = len(self.history) + 1
        info = {"id": self.session_id, "turn": turn, "new_contexts": [c.name for c in new] if turn > 1 else []}
        # As the REPL's `history` holds it (frames make lone surrogates U+FFFD): the host's copy is then as safe to
        # json.dumps(...).encode() or store as the REPL's, whatever the caller's question held.
        try:
            result = await self.rlm._run(query, self.contexts, schema, sandbox=self._sandbox, session=info)
        except BaseException as exc:  # it ran (its trace holds this turn): the next question is the next turn
            failed = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            self.history.append({"question": encodable(query), "answer": "", "error": encodable(failed)})
            raise
        self.history.append({"question": encodable(query), "answer": encodable(result.answer)})
        return result

    def _discard_sandbox(self) -> None:
        """End a REPL that never finished starting: its processes now, its loop generator dropped unrun."""
        if self._finalizer is not None:
            self._finalizer()  # kills it (once)
            self._finalizer = None
        closer, self._sandbox, self._closer = self._closer, None, None
        if closer is not None:
            with contextlib.suppress(Exception):
                closer.aclose().close()  # never awaited: the generator is parked at its yield, not yet running

    async def _aclose(self) -> None:
        if self._question is not None and self._question in _answering.get():
            raise InputError(
                "this session cannot be closed from inside its own question (a tool or event handler of it): close "
                "it after the question returns"
            )
        self._closed = True  # questions still waiting to start are refused
        if os.getpid() != self._pid:  # a forked child: the REPL is its parent's
            return
        if self._loop is None and self._question is not None:  # the first question is starting the REPL here
            async with self._lock:
                pass
        loop = self._loop
        if loop is None:
            return

        async def close() -> None:
            async with self._lock:  # the question being answered finishes first, as with the sync `with` block
                closer = self._take_repl()[1]
                if closer is not None:
                    await closer.aclose()

        if loop is asyncio.get_running_loop():
            await close()
        # The REPL's channels work on their own loop only: close it there, wherever that loop is.
        elif loop.is_running():  # on another thread
            await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(close(), loop))
        elif not loop.is_closed():  # idle (run with run_until_complete now and then): run it a moment, off this one
            await asyncio.to_thread(loop.run_until_complete, close())
        else:  # closed at its end with the REPL (nothing left to kill), or closed without shutting its generators down
            sandbox = self._take_repl()[0]
            if sandbox is not None:
                _kill_now(sandbox)
                with contextlib.suppress(Exception):  # its channels fail off their loop; its files are removed anyway
                    await sandbox.close()

    def _take_repl(self) -> tuple[Sandbox | None, AsyncGenerator[None, None] | None]:
        """The REPL and its closer, now no longer the session's (to close them)."""
        if self._finalizer is not None:
            self._finalizer.detach()
            self._finalizer = None
        sandbox, closer = self._sandbox, self._closer
        self._sandbox = self._closer = None
        return sandbox, closer

    def _check_free(self) -> None:
        if os.getpid() != self._pid:
            raise InputError(
                f"this session belongs to process {self._pid}, which holds its REPL; a forked process cannot use it: "
                "start a new session here"
            )
        if self._closed:
            raise InputError("this session is closed; start a new one with rlm.session(...)")
        if self._question is not None and self._question in _answering.get():
            raise InputError(
                "this session is answering another question, and this call is part of it (a tool or event handler "
                "of that question), so it would wait for itself; use another session, or rlm.completion(...)"
            )

    def _check_loop(self) -> None:
        """A session's REPL is bound to the event loop that started it (its channels and processes live there)."""
        if self._sandbox is not None and asyncio.get_running_loop() is not self._loop:
            raise RuntimeError(
                "this session's REPL was started on another event loop (a second asyncio.run?); ask and close a "
                "session on the loop that started it: keep one `async with rlm.session(...)` inside one asyncio.run"
            )

    async def _names_in_use(self) -> set[str]:
        """The REPL's names, the model's own variables among them: a new context must not overwrite one."""
        assert self._sandbox is not None
        return await self._sandbox.names("")

    def _new_contexts(
        self, context: Any, contexts: Mapping[str, Any] | None, in_use: set[str] | None = None
    ) -> tuple[list[PreparedContext], int]:
        """The question's new contexts, prepared, and the number its unnamed one takes (`context_N`; the last
        number taken when it has none)."""
        taken = {c.name for c in self.contexts} | (in_use or set())
        new: list[PreparedContext] = []
        number = self._added
        if contexts is not None and not isinstance(contexts, Mapping):
            raise InputError(f"contexts must be a dict of name -> value, not {type(contexts).__name__}")
        for name in contexts or {}:
            check_name(name, self.rlm.reserved_names)
        limit = SizeLimit(self.rlm.max_context_bytes)
        limit.used = sum(c.nbytes for c in self.contexts)
        if context is not None:
            if not self.history and "context" not in taken:
                name = "context"
            else:
                number += 1
                while f"context_{number}" in taken:
                    number += 1
                name = f"context_{number}"
            new.append(prepare(name, context, limit))
        for name, value in (contexts or {}).items():
            if any(c.name == name for c in (*self.contexts, *new)):
                raise InputError(f"context `{name}` already exists in this session; choose another name")
            if name in taken:
                raise InputError(
                    f"context `{name}` would replace the variable `{name}` the model made in this session's REPL; "
                    "choose another name"
                )
            new.append(prepare(name, value, limit))
        return new, number

    # --- sync form ------------------------------------------------------------------------------------
    def __enter__(self) -> Session:
        if self._runner is not None:
            raise InputError("this session's `with` block is already open; use the session inside it")
        self._runner = BlockingRunner()  # one loop for the session's life, whoever asks: its REPL is bound to it
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        with self._exiting:  # the first of several threads closing at once closes; the others have nothing to do
            runner, self._runner = self._runner, None
        if runner is None or os.getpid() != self._pid:  # a forked child must never touch its parent's REPL
            return
        try:
            runner.run(self._aclose())
        finally:
            runner.close()

    def ask(
        self,
        query: str,
        context: Any = None,
        *,
        contexts: Mapping[str, Any] | None = None,
        output: type[BaseModel] | dict[str, Any] | None = None,
    ) -> Result:
        """Blocking `aask`, inside `with rlm.session(...) as s:`. One event loop serves all the questions, from
        any thread, inside a running event loop or not (see `rlmx.blocking`); questions asked together wait their
        turn. Same errors as `aask`."""
        self._check_free()  # before waiting for the loop: a tool of this session's question holds it
        if self._runner is None:
            raise InputError("use the session in a `with` block (or `async with` and `await s.aask(...)`)")
        return self._runner.run(self._ask(query, context, contexts, output))
