"""The "inprocess" sandbox: exec() in the host process. UNSAFE; for debugging only, and only when named.

It protects nothing (SANDBOX.md §4, column A): the model's code runs with the host's privileges, can read API
keys from the environment or from host objects (`gc.get_objects()`, `llm_query.__self__`), patch host modules,
fork or exhaust the host, and hang it in C code. It exists so a developer can step through a cell with a
debugger. Its protections report says "unsafe": true, and the CLI prints a warning when it is chosen.

Cells run on a thread of their own (the event loop must stay free to serve `llm_query`). The soft timeout
raises CellTimeout in that thread; a cell stuck in C code cannot be stopped, and the REPL is then unusable.

Each cell starts in the host's working directory, which rlmx never changes: it is the whole process's, and the
host's tools, callbacks and other threads run in it meanwhile. Workspace files (`RLM(files=...)`) are written to a
private folder of this tier's own (`_rlmx_workspace_folder`, made on first use and removed on close), never into the
host's directory; the REPL's `workspace_dir` holds its absolute path (see `workspace.placement_code`).
"""

from __future__ import annotations

import asyncio
import builtins
import concurrent.futures
import contextlib
import contextvars
import ctypes
import io
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any, Literal, TextIO

from rlmx.context import PreparedContext
from rlmx.deadline import time_limit
from rlmx.errors import SandboxLost
from rlmx.sandbox.base import CallHandler, CellResult, SubCall, replaced_names, settle
from rlmx.sandbox.caps import CallCaps
from rlmx.sandbox.frames import dumps, encodable, valid_strings
from rlmx.sandbox.worker import CappedText, CellTimeout, KeptOpen, Worker, carry_origins, unsendable, work_origin

UNSAFE_WARNING = (
    "the 'inprocess' sandbox runs the model's code inside this process with no isolation: it can read API "
    "keys, change the host and hang it. Use it only for debugging, never on untrusted contexts."
)


class _ThreadStreams(KeptOpen):
    """sys.stdout/sys.stderr stand-in while cells run: what a cell's work writes (its thread's, and the threads and
    pool tasks it started, see `work_origin`) goes to the cell its own sandbox runs now, never another sandbox's.
    Between its cells, a sandbox's work (a thread it left running, a handle it kept) writes into a capture kept for
    its next cell, as the subprocess tier's fd 1 does; the host's own, and a closed sandbox's, pass through. Closing
    it does nothing (`KeptOpen`, as in the subprocess tier): a cell must not close the host's stdout."""

    def __init__(self, original: TextIO, name: str) -> None:
        self.original = original
        self.name = name
        self.captures: dict[Worker, CappedText] = {}  # open sandboxes -> their running cell's capture, or the next's
        self.hosts: dict[int, int] = {}  # event loops' threads serving cells now -> how many cells each

    def _capture(self) -> CappedText | None:
        origin = work_origin()
        return self.captures.get(origin[0]) if origin is not None else None

    def write(self, text: str) -> int:
        capture = self._capture()
        return capture.write(text) if capture is not None else self.original.write(text)

    def flush(self) -> None:
        if self._capture() is None:
            self.original.flush()

    @property
    def buffer(self) -> Any:
        """The cell's bytes go to its capture too (as UTF-8 text, like the subprocess tier's), not to the host's
        real stdout, where they would corrupt what rlmx itself prints there (`rlmx ask --json`)."""
        capture = self._capture()
        return capture.buffer if capture is not None else self.original.buffer

    def __getattr__(self, name: str) -> Any:
        """The rest of a stream (`reconfigure`, `encoding`, `fileno`, ...) is the capture's for the cell's threads:
        a cell's `sys.stdout.reconfigure(encoding="ascii")` must not change the host's own stdout."""
        capture = self._capture()
        return getattr(capture if capture is not None else self.original, name)


io.TextIOBase.register(_ThreadStreams)


class _ThreadStdin:
    """sys.stdin while cells run: a cell's work (`work_origin`) reads an empty stream, as the subprocess tier's worker
    reads /dev/null (`input()` raises EOFError at once, `read()` is ''), never the host's own stdin, which held the
    run until the cell's time limit and fed a cell what the user typed to `rlmx ask` (mito#1527: a model's
    `input("> ")` hung its agent); the host's threads read the host's stdin. Closing it does nothing. Below it the
    process is the host's: descriptor 0, `sys.__stdin__` and a cell's subprocesses read the host's stdin (README)."""

    def __init__(self, original: TextIO | None) -> None:
        self.original = original

    def _source(self) -> Any:
        # a fresh empty stream each time: what a cell writes to it is read by no one (no descriptor is held)
        return self.original if work_origin() is None else io.StringIO()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._source(), name)

    def close(self) -> None:
        pass

    def __enter__(self) -> _ThreadStdin:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def __iter__(self) -> Iterator[str]:
        return iter(self._source())


io.TextIOBase.register(_ThreadStdin)


_ROUTING = threading.Lock()
_routed: tuple[_ThreadStreams, _ThreadStreams] | None = None
"""sys.stdout and sys.stderr while any in-process cell runs: one pair for the process's life, in place from the first
of overlapping cells' start to the last one's end. Cells of several sandboxes at once (a root and its child RLMs) each
capture their own thread in it; a pair per sandbox, put in place and taken away out of order, sent one cell's output
to another's. Never made anew: what a cell kept of it (`out = sys.stdout`, a logging handler, tqdm's bound `write`)
must write into its sandbox's later cells, not into a pair no cell captures any more (that is, the host's stdout)."""
_stdin: _ThreadStdin | None = None
"""sys.stdin while any in-process cell runs, made with the pair and put in place and taken away with it."""


def _route_streams(host: int) -> tuple[_ThreadStreams, _ThreadStreams]:
    """The process's pair, put in place (event loop thread `host` serves one more cell). Made around the host's own
    streams by the first cell, and passing through to the host's streams of the moment whenever a cell starts with
    none running (the host may replace its own between runs); a later one puts it back if a running cell replaced
    it."""
    global _routed, _stdin
    with _ROUTING:
        carry_origins()
        if _routed is None or _stdin is None:
            _routed = (_ThreadStreams(sys.stdout, "<stdout>"), _ThreadStreams(sys.stderr, "<stderr>"))
            _stdin = _ThreadStdin(sys.stdin)
        elif not _routed[0].hosts:
            for streams, current in zip(_routed, (sys.stdout, sys.stderr), strict=True):
                if current is not streams:  # the host may have put back what it kept of the pair itself
                    streams.original = current
            if sys.stdin is not _stdin:
                _stdin.original = sys.stdin
        sys.stdout, sys.stderr = _routed
        sys.stdin = _stdin
        for streams in _routed:
            streams.hosts[host] = streams.hosts.get(host, 0) + 1
        return _routed


def _unroute_streams(routed: tuple[_ThreadStreams, _ThreadStreams], host: int) -> None:
    """One cell served by `host` has ended: the pair is in place again while other cells run, and after the last
    one the host's own streams are back, whatever a cell left in sys.stdout or sys.stderr (its `sys.stdout =
    io.StringIO()`, failed before it was undone, took the host's own output from then on). The pair is kept."""
    with _ROUTING:
        for streams in routed:
            streams.hosts[host] -= 1
            if not streams.hosts[host]:
                del streams.hosts[host]
        if routed[0].hosts:
            sys.stdout, sys.stderr = routed
            sys.stdin = _stdin
            return
        sys.stdout, sys.stderr = routed[0].original, routed[1].original
        if _stdin is not None:
            sys.stdin = _stdin.original


class _InProcessWorker(Worker):
    def __init__(self, values: dict[str, Any], max_output: int) -> None:
        super().__init__(None, values, max_output=max_output)
        self.loop: asyncio.AbstractEventLoop | None = None
        self.handler: CallHandler | None = None
        self.caps = CallCaps()
        self.streams: tuple[_ThreadStreams, _ThreadStreams] | None = None
        self.between = (CappedText(max_output), CappedText(max_output))
        """What this sandbox's work writes between its cells, capped: shown at the start of its next cell's output."""
        # Sub-calls in flight (cancelled when the sandbox closes: a thread left waiting would never return) and the
        # time spent with at least one in flight, which the cell's time limit does not count.
        self.in_flight: set[concurrent.futures.Future[list[dict[str, Any]]]] = set()
        self.flight_lock = threading.Lock()
        self.waited = 0.0
        self.flight_started = 0.0

    def waiting_seconds(self, now: float) -> float:
        """Seconds the cell has spent waiting on sub-calls so far (the current wait included)."""
        with self.flight_lock:
            return self.waited + (now - self.flight_started if self.in_flight else 0.0)

    def redirect(self, out: CappedText | None, err: CappedText | None) -> None:
        if self.streams is None:
            return
        for streams, capture, between in zip(self.streams, (out, err), self.between, strict=True):
            if capture is None:
                streams.captures[self] = between
                continue
            with between.lock:  # a write that found `between` just before waits, and is kept for the next cell
                if between.total:
                    capture.put(between.taken())
                streams.captures[self] = capture

    def release(self) -> None:
        """The sandbox is closed: its threads' writes pass through to the host's streams, as the host's own do."""
        if self.streams is not None:
            for streams in self.streams:
                streams.captures.pop(self, None)

    def arm(self, seconds: float) -> None:
        pass  # the host thread watches the clock

    def disarm(self) -> float:
        return 0.0

    def _call(self, kind: str, items: list[dict[str, Any]], model: str | None, me: int) -> list[dict[str, Any]]:
        """The base class's `call` checks the caller and guards this bookkeeping (see there); here the host's loop
        serves the call and this thread waits for its future."""
        _HOST_STATE.builtins_back()  # the host's loop serves the call: a builtin the cell patched would stop it
        assert self.loop is not None and self.handler is not None
        try:  # what a frame would carry: refused as the other tiers refuse it, before a tool runs or an LM is asked
            dumps(items)
        except (TypeError, ValueError, RecursionError) as exc:
            raise unsendable(kind, f"the message cannot be sent as JSON: {type(exc).__name__}: {exc}") from None
        asked: Literal["llm", "rlm", "tool"] = "rlm" if kind == "rlm" else "tool" if kind == "tool" else "llm"
        call = SubCall(kind=asked, items=tuple(items), model=model)
        # The other tiers' bookkeeping (`Worker._call`): a call made while no cell runs (a thread that outlived its
        # cell) waits for the next one, and a call in flight holds `idle`, so its cell ends only once it is answered
        # (`end_cell`): its usage and trace belong to that cell, and the sandbox is not closed under it.
        with self.channel:
            if not self.cell_running:
                self._wait_for_a_cell(kind, main=False)  # a cell's own thread ends with its cell: never here
            if self.closed:
                raise RuntimeError("rlmx worker: the REPL is shutting down; this sub-call was not sent")
            self.call_seq += 1
            seq = self.call_seq
            self._expect(seq)
        try:
            return self._served(call)
        finally:
            self._settle(seq)

    def _served(self, call: SubCall) -> list[dict[str, Any]]:
        """`call` served by the host's loop, this thread waiting for its reply."""
        assert self.loop is not None and self.handler is not None
        # Handed over from an empty context: the host's task serving the call is the host's own work, not the
        # cell's (asyncio would copy the cell's origin into it, see `work_origin`, and the host's prints meanwhile
        # would go to the cell's output).
        serve = self.caps.serve(call, self.handler)
        future = contextvars.Context().run(asyncio.run_coroutine_threadsafe, serve, self.loop)
        with self.flight_lock:
            if not self.in_flight:
                self.flight_started = time.monotonic()
            self.in_flight.add(future)
        try:
            return future.result()
        except concurrent.futures.CancelledError:
            raise RuntimeError("rlmx worker: the REPL closed while this sub-call was in flight") from None
        finally:
            with self.flight_lock:
                self.in_flight.discard(future)
                if not self.in_flight:
                    self.waited += time.monotonic() - self.flight_started


def _host_stack_size() -> int:
    """The stack size of new threads, read without changing it (`threading.stack_size()` alone sets the default)."""
    size = threading.stack_size()
    threading.stack_size(size)
    return size


class _HostState:
    """Process-wide state a cell may change and the host relies on: the working directory (a cell's `os.chdir`
    would move the host's relative paths, its traces among them), the stack size of new threads (a cell's
    `threading.stack_size(64 * 1024)` for its own pool would be the next cell's thread's, and the host's, which
    deep recursion in C then overflows) and the builtins (`builtins_back`). One record for the process, taken
    outside every cell: cells of several sandboxes overlap (concurrent runs, a cell's child RLMs), and a record taken
    as one began could hold what another had set. The host's state is back when the last running cell ends."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = 0  # cells running now, of every in-process sandbox
        self.stack_size = _host_stack_size()
        self.cwd: str | None = None
        self.builtins = builtins.__dict__.copy()

    def builtins_back(self) -> None:
        """Put back the builtins a cell rebound or deleted (`builtins.len = lambda x: -1`, a mock): the host's event
        loop runs on them (asyncio's `len(self._ready)`), so a patched one stops it serving the cell's sub-calls, its
        time limit, and every run of the process. Names the cell added are left, and `_` (the last value shown).
        Uses no builtin itself."""
        if sys.modules.get("builtins") is not builtins:  # `sys.modules['builtins'] = fake`: every import reads it
            sys.modules["builtins"] = builtins
        current = builtins.__dict__
        if current == self.builtins:
            return
        for name, value in self.builtins.items():
            if name != "_" and current.get(name, self) is not value:
                current[name] = value

    def cell_began(self) -> None:
        """Each cell's thread starts with the host's stack size; the first of overlapping cells records both."""
        with self.lock:
            if not self.running:  # no cell runs: both are the host's own (it may change them between runs)
                self.stack_size = _host_stack_size()
                try:
                    self.cwd = os.getcwd()
                except OSError:  # the host's directory was removed: nothing to go back to
                    self.cwd = None
                self.builtins = builtins.__dict__.copy()
            self.running += 1
            threading.stack_size(self.stack_size)

    def cell_ended(self) -> None:
        with self.lock:
            self.running -= 1
            if self.running:
                return  # cells still running may rely on what they set
            self.builtins_back()
            threading.stack_size(self.stack_size)
            if self.cwd is not None:
                with contextlib.suppress(OSError):
                    os.chdir(self.cwd)


_HOST_STATE = _HostState()


@contextlib.contextmanager
def _host_state_kept() -> Iterator[None]:
    """The host's process-wide state (see `_HostState`) is its own again once the last running cell ends. The
    cell's thread starts with the host's stack size, in the directory it finds."""
    _HOST_STATE.cell_began()
    try:
        yield
    finally:
        _HOST_STATE.cell_ended()


def _interrupt(thread: threading.Thread) -> None:
    """Raise CellTimeout in `thread` (a cell's) at its next Python instruction."""
    assert thread.ident is not None
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread.ident), ctypes.py_object(CellTimeout))


class InProcessSandbox:
    """exec() in the host. Unsafe: see the module docstring. Options: max_output_chars and the call caps."""

    tier = "inprocess"

    def __init__(
        self,
        *,
        max_output_chars: int = 20_000,
        max_calls_per_cell: int = 1_000,
        max_calls_per_run: int = 10_000,
        max_prompt_chars: int = 100_000_000,
        hard_timeout_grace: float = 2.0,
    ) -> None:
        self.max_output_chars = max_output_chars
        self.caps = CallCaps(max_calls_per_cell, max_calls_per_run, max_prompt_chars)
        self.hard_timeout_grace = hard_timeout_grace
        self.protections: dict[str, Any] = {"tier": self.tier, "unsafe": True, "warning": UNSAFE_WARNING}
        self._worker: _InProcessWorker | None = None
        self._json_texts: dict[str, str] = {}
        """Each JSON context's text as loaded, by name: a session's next question gets the value back from it."""
        self._broken: str | None = None
        self._abandoned: threading.Thread | None = None  # a cancelled cell's thread, interrupted, maybe still ending
        self._lock = asyncio.Lock()
        self._folder: str | None = None
        """This tier's own folder for workspace files (made when the setup cell asks for it). Cells never move into
        it: the working directory is the process's (the host's tools and callbacks, and other sandboxes' cells)."""

    def _workspace_folder(self) -> str:
        """The folder the workspace files go to (`workspace.placement_code` calls it from the setup cell): a new
        private one, never the host's working directory, whose files a user's must not be overwritten by."""
        if self._folder is None:
            self._folder = tempfile.mkdtemp(prefix="rlmx-inprocess-files-")
        return self._folder

    async def start(self, contexts: Sequence[PreparedContext]) -> None:
        values = {c.name: json.loads(c.text) if c.kind == "json" else c.text for c in contexts}
        self._json_texts = {c.name: c.text for c in contexts if c.kind == "json"}
        self._worker = _InProcessWorker(values, self.max_output_chars)
        self._worker.namespace["_rlmx_workspace_folder"] = self._workspace_folder
        self._worker.caps = self.caps
        self._worker.max_batch = self.caps.max_calls_per_cell
        self.protections = {
            "tier": self.tier,
            "unsafe": True,
            "warning": UNSAFE_WARNING,
            "namespaces": [],
            "seccomp": False,
            "landlock_abi": None,
            "limits": {},
            "environment": "the host's own (API keys included)",
            "filesystem": "not confined",
            "network": "not confined",
            "caps": {"output_chars": self.max_output_chars, "calls_per_cell": self.caps.max_calls_per_cell},
        }

    async def load(self, contexts: Sequence[PreparedContext], variables: dict[str, Any]) -> None:
        assert self._worker is not None, "start() first"
        values = {c.name: json.loads(c.text) if c.kind == "json" else c.text for c in contexts}
        # A JSON context a cell changed in place (`context.clear()`) is loaded again: the question's prompt
        # describes it as loaded, as the subprocess tier's worker does.
        for name, text in self._json_texts.items():
            if name not in values and (pristine := json.loads(text)) != self._worker.loaded.get(name):
                values[name] = pristine
        self._json_texts.update({c.name: c.text for c in contexts if c.kind == "json"})
        # Copied as a frame would copy them: the session's own `history` list must not become the model's to edit.
        self._worker.begin_question(values, json.loads(dumps(variables)))  # as the worker's own load

    def new_run(self) -> None:
        """A session's next question is a run of its own: the per-run sub-call caps count from 0 again."""
        self.caps.new_run()

    async def names(self, prefix: str) -> set[str]:
        assert self._worker is not None, "start() first"
        return set(self._worker.names_with(prefix))

    async def run_cell(self, code: str, *, calls: CallHandler, timeout: float) -> CellResult:
        async with self._lock:
            await self._wait_for_an_abandoned_cell()
            if self._broken is not None:
                raise SandboxLost(self._broken)
            worker = self._worker
            assert worker is not None, "start() first"
            worker.loop, worker.handler = asyncio.get_running_loop(), calls
            self.caps.new_cell()
            host = threading.get_ident()
            worker.streams = _route_streams(host)
            try:
                with _host_state_kept():
                    frame = await self._run_on_thread(worker, code, timeout)
            finally:
                _unroute_streams(worker.streams, host)
        # What the other tiers' frames do on the way out: lone surrogates (print("\ud83d"), FINAL of half an emoji)
        # become U+FFFD, and escapes in dict keys. The frame is JSON already (the worker made its values so);
        # encodable() hands back the very same text when there is nothing to replace.
        text = dumps(frame)
        if encodable(text) is not text:
            frame = valid_strings(frame)
        final = frame.get("final")
        answer = frame.get("answer")
        return CellResult(
            status=frame["status"],
            stdout=frame.get("stdout", ""),
            stderr=frame.get("stderr", ""),
            error=frame.get("error"),
            stdout_cut=frame.get("stdout_cut", 0),
            stderr_cut=frame.get("stderr_cut", 0),
            final=final if isinstance(final, dict) else None,
            answer=answer if isinstance(answer, dict) else {},
            seconds=frame.get("seconds", 0.0),
            replaced=replaced_names(frame),
            rebound=replaced_names(frame, "rebound"),
        )

    async def _run_on_thread(self, worker: _InProcessWorker, code: str, timeout: float) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[dict[str, Any]] = loop.create_future()

        def target() -> None:
            try:
                result = worker.run_cell(code, timeout)
            except BaseException as exc:  # CellTimeout landing after run_cell returned, or a broken host
                result = {"status": "error", "stdout": "", "stderr": "", "error": repr(exc), "seconds": 0.0}
            loop.call_soon_threadsafe(settle, done, result)

        thread = threading.Thread(target=target, name="rlmx-inprocess-cell", daemon=True)
        worker.waited = 0.0
        started = time.monotonic()
        thread.start()
        try:
            while True:  # the limit counts the cell's own time: waits on sub-calls are added back (as the worker's)
                left = started + timeout + worker.waiting_seconds(time.monotonic()) - time.monotonic()
                if timeout <= 0 or left > 0 or worker.in_flight:
                    try:
                        async with time_limit(None if timeout <= 0 else max(left, 0.05)):
                            return await asyncio.shield(done)
                    except TimeoutError:
                        continue
                break
        except asyncio.CancelledError:
            # Its caller gave up (a cancelled question): the cell must not run on beside the next one in this
            # worker (both would open and close cells on the same locks). It is interrupted, and the next cell
            # waits for it to end (`_wait_for_an_abandoned_cell`).
            if thread.is_alive():
                _interrupt(thread)
                for future in list(worker.in_flight):  # a thread waiting on a sub-call's reply wakes up too
                    future.cancel()
                self._abandoned = thread
            raise
        _interrupt(thread)
        try:
            async with time_limit(self.hard_timeout_grace):
                frame = await asyncio.shield(done)
        except TimeoutError:
            self._broken = (
                f"the in-process cell ran past its {timeout:g} s limit in code that cannot be interrupted; its "
                "thread is still running inside the host and this REPL is unusable"
            )
            raise SandboxLost(self._broken) from None
        if frame.get("status") == "error" and "CellTimeout" in str(frame.get("error")):
            frame["status"] = "timeout"
        return frame

    async def _wait_for_an_abandoned_cell(self) -> None:
        """A cancelled cell's thread ends within the grace after its interruption, or this REPL is unusable."""
        thread, self._abandoned = self._abandoned, None
        if thread is None:
            return
        await asyncio.to_thread(thread.join, self.hard_timeout_grace)
        if thread.is_alive() and self._broken is None:
            self._broken = (
                "a cancelled in-process cell is still running (in code that cannot be interrupted); its thread is "
                "inside the host and this REPL is unusable: start a new session"
            )

    async def close(self) -> None:
        if self._worker is not None:  # threads still waiting on a sub-call get an error, not a wait forever
            self._worker.close()  # and those waiting for a next cell to send one in wake up to it
            self._worker.release()
            with self._worker.flight_lock:
                for future in list(self._worker.in_flight):
                    future.cancel()
        self._worker = None
        if self._folder is not None:  # the copies are 0444 in a folder of ours: removable all the same
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None
