"""Multi-turn sessions: one REPL kept across questions (the official `persistent=True`), with `history`.

Each question is its own completion (own budget, own trace file); the session links them by id and turn, keeps
the root's REPL alive between them, adds each question's new contexts as `context_1`, `context_2`, ...
(or by their given names), and sets `history` to the earlier questions and answers (past half a frame, with the
longest cut in the middle and a note: `session.history` keeps them whole). Each question finds every
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

from rlmx.blocking import BlockingRunner, RunnerClosed
from rlmx.context import PreparedContext, SizeLimit, check_name, prepare
from rlmx.errors import InputError, SetupError
from rlmx.events import Event, clip
from rlmx.result import Result
from rlmx.rlm import check_guided_has_context, check_query, light_contexts, require_asyncio
from rlmx.sandbox import Sandbox, create_sandbox
from rlmx.sandbox.base import plan_children
from rlmx.sandbox.frames import dumps, encodable
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


def _workers_started(sandbox: Sandbox) -> int:
    """How many workers the REPL has started (a restart starts one): the setup ran in the latest, or must run.
    A tier that never restarts (in-process) counts none."""
    started = getattr(sandbox, "workers_started", 0)
    return started if isinstance(started, int) else 0


def _new_run(sandbox: Sandbox) -> None:
    """Each question is a run of its own: the REPL's per-run sub-call caps (`max_calls_per_run`, `max_prompt_chars`)
    count from 0 again, as they do for `rlm.completion`. A tier without them has nothing to reset."""
    new_run = getattr(sandbox, "new_run", None)
    if new_run is not None:
        new_run()


async def _pause(sandbox: Sandbox) -> None:
    """Between questions the REPL's processes are stopped (the process tiers' `pause`): threads and processes a cell
    left running use no CPU while the session waits. Its next use lets them run on. Never fails a question."""
    pause = getattr(sandbox, "pause", None)
    if pause is not None:
        with contextlib.suppress(Exception):
            await pause()


_HISTORY_SHARE = 2
"""The REPL's `history` takes at most 1/_HISTORY_SHARE of the sandbox's frame cap (`max_frame_bytes`), so the load
frame that sets it, and a restarted worker's start frame that carries it with the answer buffer, stay under the
cap whatever the answers' sizes."""


def _json_size(value: Any) -> int:
    """The bytes `value` takes in a frame (JSON, UTF-8)."""
    return len(dumps(value).encode("utf-8", "surrogatepass"))


def _level(sizes: list[int], budget: int) -> int | None:
    """The largest size L with sum(min(size, L)) <= budget (the longest are cut to L, the rest kept whole);
    None when everything fits whole."""
    left = budget
    ordered = sorted(sizes)
    for index, size in enumerate(ordered):
        if size * (len(ordered) - index) > left:
            return max(left // (len(ordered) - index), 0)
        left -= size
    return None


def _clipped(text: str, limit: int) -> str:
    """`text` with its middle cut (head and tail kept, the characters cut counted) so that its JSON form takes
    at most `limit` bytes, or little more when `limit` is below the count's own length."""
    size, keep, clipped = _json_size(text), len(text), text
    while size > limit and keep > 0:
        keep = max(keep * limit // size - 64, 0)  # the count's line, and characters taking more than one byte
        clipped = clip(text, keep)
        size = _json_size(clipped)
    return clipped


def _fitted(entry: dict[str, str], limit: int, budget: int) -> dict[str, str]:
    """A history entry cut to take at most about `limit` bytes in a frame: its longest texts lose their middles,
    and a note says so."""
    note = f"cut in the middle (see the [... characters cut] marks) to keep `history` under {budget:,} bytes"
    texts = {key: value for key, value in entry.items() if isinstance(value, str)}
    sizes = {key: _json_size(value) for key, value in texts.items()}
    bare = _json_size({**entry, **dict.fromkeys(texts, ""), "note": note}) - 2 * len(texts)  # keys, the note
    field = _level(list(sizes.values()), max(limit - bare, 0))
    if field is None:
        return entry
    cut = {key: _clipped(value, field) if sizes[key] > field else value for key, value in texts.items()}
    return {**entry, **cut, "note": note}


def _end_dropped(
    sandbox: Sandbox, pid: int, runner: BlockingRunner | None, closer: AsyncGenerator[None, None] | None
) -> None:
    """A session's finalizer (dropped unclosed, or still open at exit), in the process that started its REPL. A sync
    session's own loop (its `runner`'s, idle: nothing of the session runs) is closed, which closes the REPL there as
    the end of its `with` block would (`shutdown_asyncgens` closes `closer`, held here so that it finds it), its
    tasks and descriptors included. Then, or where that cannot be (an app's loop), the REPL's processes are killed
    and its files and descriptors let go without the loop."""
    if os.getpid() != pid:
        return
    if runner is not None and closer is not None:
        with contextlib.suppress(Exception):  # from inside its own run, say: killed below all the same
            runner.close()
    _kill_now(sandbox)


def _kill_now(sandbox: Sandbox) -> None:
    """End a REPL's processes without its event loop (closed without shutting its generators down), where its own
    close() cannot run. The process tiers (SubprocessSandbox and its launchers) can; a tier without processes has
    nothing to end."""
    kill = getattr(sandbox, "kill_now", None)
    if kill is not None:
        kill()


def _entry(query: str, result: Result) -> dict[str, str]:
    """A returned question's `history` entry. One whose run failed (status "error": an LM or REPL failure) or ran out
    of its budget ("budget_exhausted") also has its "error", as a question that raised has: its answer (empty, or
    what the model had when it was stopped) must not read as a finished one, to the caller or the model."""
    entry = {"question": query, "answer": result.answer}
    if result.status == "finished":
        return entry
    error = result.error
    if error is not None:  # written as a raised question's: "LMError: the model server is down"
        return {**entry, "error": f"{type(error).__name__}: {error}" if str(error) else type(error).__name__}
    return {**entry, "error": f"{result.status}: {result.stop_reason}"}


class Session:
    """Made by `RLM.session(...)`. Use it as a context manager (sync or async) so its REPL is closed."""

    def __init__(self, rlm: RLM, contexts: list[PreparedContext]) -> None:
        self.rlm = rlm
        self.contexts = contexts
        self.session_id = uuid.uuid4().hex[:12]
        self.history: list[dict[str, str]] = []
        self._repl_history: list[tuple[dict[str, str], int]] = []
        """The REPL's copy of `history`, entry by entry with its size in a frame (the caller may change `history`)."""
        self._setup_in: int | None = None
        """The REPL's worker (`_workers_started`) in which the setup (tool stubs, setup code) last ran to its end."""
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
            self._close_now()  # the close waits its turn on the sync block's loop, behind questions it must refuse
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
        check_guided_has_context(self.rlm.lm, [*self.contexts, *new])  # before a REPL is started for nothing
        if self._sandbox is None:
            self._loop = asyncio.get_running_loop()
            self._sandbox = create_sandbox(self.rlm.sandbox, **self.rlm.sandbox_options)
            self._closer = _close_with_loop(self._sandbox)
            await anext(self._closer)  # registers it with this loop, for its shutdown
            # Dropped unclosed, or still open at exit: its processes and files end with the object all the same.
            self._finalizer = weakref.finalize(self, _end_dropped, self._sandbox, self._pid, self._runner, self._closer)
            plan_children(self._sandbox, self.rlm.max_depth)
            try:
                await self._sandbox.start([*self.contexts, *new])
                await self._sandbox.load([], {"history": []})
            except BaseException:  # cut short (a cancelled or timed-out first question) or failed: the next one
                self._discard_sandbox()  # starts a REPL of its own instead of using this half-started one
                raise
        else:
            history = self._history_for(self._sandbox)
            await self._sandbox.load(new, {"history": history, "answer": {"content": "", "ready": False}})
        self.contexts.extend(new)
        self._added = numbered  # taken now: the number of a context refused before this point stays free
        turn = len(self.history) + 1
        info = {"id": self.session_id, "turn": turn, "new_contexts": [c.name for c in new] if turn > 1 else []}
        sandbox = self._sandbox
        setup = self._setup_in != _workers_started(sandbox)  # never ran to its end in this worker (cut short, failed)
        _new_run(sandbox)
        try:
            result = await self.rlm._run(
                query, self.contexts, schema, sandbox=sandbox, session=info, setup=setup, listener=self._setup_seen
            )
        except BaseException as exc:  # it ran (its trace holds this turn): the next question is the next turn
            if isinstance(exc, SetupError):  # raised after its cell ran (it rebinds a REPL function): not done
                self._setup_in = None
            failed = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            self._remember({"question": query, "answer": "", "error": failed})
            if isinstance(exc, Exception):  # not a cancellation, which must not wait here
                await _pause(sandbox)
            raise
        self._remember(_entry(query, result))
        await _pause(sandbox)
        return result

    def _setup_seen(self, event: Event) -> None:
        """Note the root's setup cell (the first question's, or one after a restart) and whether it ran through:
        until one has in the REPL's current worker, each question runs it first."""
        if event.type == "setup" and event.node_id == "0" and self._sandbox is not None:
            self._setup_in = _workers_started(self._sandbox) if event.data.get("status") == "ok" else None

    def _remember(self, entry: dict[str, str]) -> None:
        """Add a question's entry to `history`, as the REPL's `history` holds it (frames make lone surrogates U+FFFD):
        the host's copy is then as safe to json.dumps(...).encode() or store as the REPL's, whatever the caller's
        question held."""
        entry = {key: encodable(value) for key, value in entry.items()}
        self.history.append(entry)
        self._repl_history.append((dict(entry), _json_size(entry)))

    def _history_for(self, sandbox: Sandbox) -> list[dict[str, str]]:
        """`history` as the REPL gets it: whole, or, past its share of the sandbox's frame cap (`_HISTORY_SHARE`),
        with the longest entries cut in the middle to fit, each with a note. A question never fails for the size
        of the answers before it; the host's `history` keeps them whole."""
        entries = [entry for entry, _ in self._repl_history]
        cap = getattr(sandbox, "max_frame_bytes", None)
        if not isinstance(cap, int):  # no frames (the in-process tier): nothing to fit
            return entries
        budget = cap // _HISTORY_SHARE - _json_size([])
        limit = _level([size + 1 for _, size in self._repl_history], budget)  # +1: the comma between entries
        if limit is None:
            return entries
        return [entry if size + 1 <= limit else _fitted(entry, limit - 1, budget) for entry, size in self._repl_history]

    def _discard_sandbox(self) -> None:
        """End a REPL that never finished starting: its processes now, its loop generator dropped unrun."""
        if self._finalizer is not None:
            self._finalizer.detach()
            self._finalizer = None
        closer, sandbox, self._sandbox, self._closer = self._closer, self._sandbox, None, None
        self._setup_in = None
        if sandbox is not None:
            _kill_now(sandbox)
        if closer is not None:
            with contextlib.suppress(Exception):
                closer.aclose().close()  # never awaited: the generator is parked at its yield, not yet running

    def _close_now(self) -> None:
        """Mark the session closed: questions still waiting to start, and any asked after, are refused. A sync
        session's close calls this before it waits for its turn on the session's loop (`BlockingRunner` lets
        callers in one at a time, so a question asked before the close would run first and pass the check).
        InputError from inside the session's own question, which the close would wait for."""
        if self._question is not None and self._question in _answering.get():
            raise InputError(
                "this session cannot be closed from inside its own question (a tool or event handler of it): close "
                "it after the question returns"
            )
        self._closed = True

    async def _aclose(self) -> None:
        self._close_now()
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
        self._setup_in = None
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
        named = set(contexts or {}) if isinstance(contexts, Mapping) else set()  # theirs: the unnamed one skips them
        new: list[PreparedContext] = []
        number = self._added
        if contexts is not None and not isinstance(contexts, Mapping):
            raise InputError(f"contexts must be a dict of name -> value, not {type(contexts).__name__}")
        for name in contexts or {}:
            check_name(name, self.rlm.reserved_names)
        limit = SizeLimit(self.rlm.max_context_bytes)
        limit.used = sum(c.nbytes for c in self.contexts)
        if context is not None:
            avoid = taken | named
            if not self.history and "context" not in avoid:
                name = "context"
            else:
                number += 1
                while f"context_{number}" in avoid:
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
            if self._runner is not None and os.getpid() == self._pid:
                self._close_now()  # now, not on the close's turn on the loop: the questions waiting are refused
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
        runner = self._runner  # once: another thread's `with` block may end meanwhile and take it
        if runner is None:
            if self._closed:
                raise InputError("this session is closed; start a new one with rlm.session(...)")
            raise InputError("use the session in a `with` block (or `async with` and `await s.aask(...)`)")
        try:
            return runner.run(self._ask(query, context, contexts, output))
        except RunnerClosed:
            if self._closed:  # closed by another thread while this question waited for the loop: as if asked after
                raise InputError("this session is closed; start a new one with rlm.session(...)") from None
            raise
