"""The REPL worker: one persistent Python namespace in its own process, driven by frames from the host.

Stdlib only; the same file runs inside every sandbox launcher. Two ways to start it:

* `python -E -s worker.py serve FD` (or just `worker.py FD`): one worker on the socketpair end FD.
* `python -E -s worker.py zygote FD`: a zygote. It loads the contexts once, hardens itself (stage one of
  harden.py), then forks a ready worker for every `fork` request, each on its own channel passed over FD with
  SCM_RIGHTS. A restart after a hard kill, or a child RLM, costs a fork instead of a context load.

The host sends `init` (contexts to load from files, limits, hardening), then `exec` frames; the worker answers
each `exec` with one `result` frame, sending `call` frames for sub-LM and child-RLM requests while the cell
runs and blocking until the host's `reply`, and answers the `sync` frame that follows. The worker decides
nothing about the run: it reports what the cell did (output, errors, FINAL / answer / SUBMIT) and the host
decides. Hardening is applied after the contexts are loaded and before the first cell.
"""

from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
_COMPILED_AS = "<rlmx worker>"  # the file name in cached bytecode (bytecode.BYTECODE_FILENAME_PREFIX)
# The launcher's folder holds modules named like stdlib ones (subprocess.py): keep it off the import path.
if sys.path and os.path.abspath(sys.path[0] or ".") == _HERE:
    del sys.path[0]

# Every start of a sandbox waits for these imports, so the worker takes C modules only (`_ast`, `_socket`,
# `_signal`, `_thread`, `_collections` under ast, socket, signal, threading and collections, whose Python layers
# pull in enum, functools and re), the import machinery's frozen core instead of importlib.util, `traceback` and
# `linecache` only when something needs them, and `threading` and `typing` never: 14 -> 4 ms of imports
# (benchmarks/vs_official/NOTES.md, changes 11 and 21).
import _ast  # noqa: E402
import _codecs  # noqa: E402
import _frozen_importlib as _bootstrap  # noqa: E402
import _frozen_importlib_external as _bootstrap_external  # noqa: E402
import _io  # noqa: E402
import _socket  # noqa: E402
import _struct  # noqa: E402
import _thread  # noqa: E402
import abc  # noqa: E402  (loaded at every interpreter's start: io needs it)
import builtins  # noqa: E402
import gc  # noqa: E402
import io  # noqa: E402  (loaded at every interpreter's start: sys.stdout is made with it)
import mmap  # noqa: E402
import select as _select  # noqa: E402  (a C module; the fd 1 drain thread waits with it)
import time  # noqa: E402
import warnings  # noqa: E402, F401  (0.4 ms: without it, C prints compile-time warnings without their line)
from _contextvars import ContextVar  # noqa: E402  (a C module: asyncio copies it into every task and callback)

_OWN_BUILTINS = dict(vars(builtins))
"""The builtins as the worker started, which every function defined below (and in the siblings, see `_sibling`)
looks names up in: a function takes its builtins from its module's `__builtins__` when it is made. A cell that
rebinds or deletes a builtin (`builtins.len = ...`, `del builtins.isinstance`) and then calls llm_query in the same
cell must not break the frame codec, the channel or the call path it runs through."""
globals()["__builtins__"] = _OWN_BUILTINS

TYPE_CHECKING = False
if TYPE_CHECKING:  # the same objects, typed
    import signal as _signal
    from collections import deque
    from collections.abc import Callable
    from functools import partial as _partial
    from typing import Any
else:
    import _signal
    from _collections import deque
    from _functools import partial as _partial


# What the worker's own machinery calls, bound once: a cell that patches `_thread`, `os`, `select` or `_codecs` (a
# mock, gevent's monkey-patching) must not break the channel, the sub-calls or the output capture of later cells.
_allocate_lock = _thread.allocate_lock
_RLock = _thread.RLock
_gettrace, _settrace, _getprofile, _setprofile = sys.gettrace, sys.settrace, sys.getprofile, sys.setprofile
_get_int_digits, _set_int_digits = sys.get_int_max_str_digits, sys.set_int_max_str_digits
_utf8_decode = _codecs.utf_8_decode
_read_fd, _write_fd, _dup2, _getpid, _access = os.read, os.write, os.dup2, os.getpid, os.access
_select_fd = _select.select
_set_signal, _get_signal = _signal.signal, _signal.getsignal  # as installed: a cell's handlers carry their origin
_SIGNALS = tuple(n for n in _signal.valid_signals() if n not in (_signal.SIGKILL, _signal.SIGSTOP))
"""Every signal a cell may take for itself (a time-box on SIGALRM or SIGUSR1, a SIGCHLD reaper, its own Ctrl-C)."""


def _graphemes() -> Any:
    """The `graphemes` sibling, loaded the first time an output is cut (it imports unicodedata)."""
    global _GRAPHEMES
    if _GRAPHEMES is None:
        _GRAPHEMES = _sibling("graphemes")
    return _GRAPHEMES


_GRAPHEMES: Any = None


def _sibling(name: str) -> Any:
    """Load a stdlib-only sibling module by path: the worker never imports the rlmx package."""
    # Started as worker.pyc (the launcher's cached bytecode, see bytecode.py): the siblings are there as .pyc too.
    suffix = ".pyc" if __file__.endswith(".pyc") else ".py"
    spec = _bootstrap_external.spec_from_file_location(f"_rlmx_{name}", os.path.join(_HERE, name + suffix))
    assert spec is not None and spec.loader is not None
    module = _bootstrap.module_from_spec(spec)
    module.__dict__["__builtins__"] = _OWN_BUILTINS  # exec keeps it: the sibling's functions see no cell's patches
    spec.loader.exec_module(module)
    return module


_CELL_SOURCES: dict[str, tuple[int, None, list[str], str]] = {}
"""Every cell's source as linecache keeps it (where tracebacks and warnings read the lines they show): linecache
costs a start 6 ms (tokenize, re), so the worker does not import it, and hands these over when something does."""


def _linecache_cache() -> dict[str, Any]:
    """linecache's cache once it is loaded; empty before, and while a thread's import of it is half done."""
    cache = getattr(sys.modules.get("linecache"), "cache", None)
    return cache if isinstance(cache, dict) else {}


def _echo(value: Any) -> str:
    """A cell's last value as the notebook echo shows it. A `__repr__` that raises fails the display alone, never the
    cell: its code has run (a `FINAL(x)` written last has finished the run), so a note takes the repr's place."""
    try:
        return repr(value)
    except Exception as exc:
        try:
            why = f"{type(exc).__name__}: {exc}"
        except Exception:  # an exception whose own str() raises
            why = type(exc).__name__
        return f"<{type(value).__name__} object: its repr raised {why}>"


def _remember_source(name: str, code: str) -> None:
    entry = (len(code), None, code.splitlines(True), name)  # linecache's own form: mtime None, never rechecked
    _CELL_SOURCES[name] = entry  # always: a thread may be importing linecache right now (see _after_import)
    _linecache_cache()[name] = entry  # the same tuple in both: no second copy of the lines


def _forget_source(name: str) -> None:
    _CELL_SOURCES.pop(name, None)
    _linecache_cache().pop(name, None)


class _AfterImport:
    """On sys.meta_path until module `name` is first imported: runs `then(module)` once it has loaded, then steps
    aside: the worker's own start imports none of the modules it watches (each would cost every start time)."""

    def __init__(self, name: str, then: Callable[[Any], None]) -> None:
        self.name = name
        self.then = then

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name != self.name:
            return None
        spec = _bootstrap_external.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        load = spec.loader.exec_module

        def exec_module(module: Any) -> None:
            load(module)
            self.then(module)
            try:
                sys.meta_path.remove(self)  # here, not in find_spec: a lookup alone imports nothing
            except ValueError:
                pass

        spec.loader.exec_module = exec_module  # type: ignore[method-assign]  # this spec's own loader, for this import
        return spec


def _after_import(name: str, then: Callable[[Any], None]) -> None:
    """Run `then` on module `name`: now if it is loaded, else when something first imports it."""
    module = sys.modules.get(name)
    if module is not None:
        then(module)
    else:
        sys.meta_path.insert(0, _AfterImport(name, then))


# linecache gets the cells' sources kept so far as it loads (by traceback, warnings, inspect, a cell)
_after_import("linecache", lambda linecache: linecache.cache.update(_CELL_SOURCES))


frames = _sibling("frames")
harden = _sibling("harden")
strmap = _sibling("strmap")
strmap.prepare()  # before any cell runs: a cell that patches os or ctypes must not steer a later load
_json_dumps, _json_loads = frames.dumps, frames.loads  # bound once: a cell that patches json must not break the REPL


class CellTimeout(BaseException):
    """Raised by SIGALRM when a cell runs past its soft timeout. BaseException, so `except Exception` can't eat it."""


class KeptOpen:
    """The special methods of a cell's output stream (special methods skip a forwarding stream's `__getattr__`, so
    each stream needs its own): closing does nothing, so a cell that closes its output (`with sys.stdout as f:`,
    `sys.stdout.close()`) does not end the capture its later prints, and later cells', go to (as in Jupyter); and it
    iterates by `readline`, as streams do. The base of every stream a cell writes to, in both tiers (`inprocess`).
    No instance dict of its own (`__slots__`): a subclass the worker calls into declares its fields, so a cell that
    sets an attribute on it (`sys.stdout.target.value = None`) cannot shadow a method the worker calls."""

    __slots__ = ()
    closed = False
    mode = "w"
    readline: Any  # the stream's own, or the one it forwards to

    def close(self) -> None:
        """Does nothing: see the class."""

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __iter__(self) -> Any:
        return self

    def __next__(self) -> Any:
        return self.readline()


class _WriteOnly(KeptOpen):
    """What code asks of a write-only stream besides write() (io.TextIOWrapper(sys.stdout.buffer, ...) included).
    Registered as an io class (`isinstance(sys.stdout, io.TextIOBase)`) rather than made one: an io subclass's
    attributes are slower to reach, and print() reaches them on every write."""

    __slots__ = ()
    write: Any  # each stream's own: text or bytes

    def read(self, size: Any = -1) -> Any:
        raise _io.UnsupportedOperation("not readable: the cell's output is write-only")

    readline = readlines = read

    def seek(self, *position: Any) -> int:
        raise _io.UnsupportedOperation("not seekable: the cell's output is written as a stream")

    tell = truncate = seek

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def readable(self) -> bool:
        return False

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False


class CappedText(_WriteOnly):
    """A write-only text stream that keeps the first and last `limit // 2` characters and counts the rest. The cut
    falls between whole characters as a reader sees them (`graphemes`): a few characters more are kept on each
    side to find where. Its fields are slots: the worker reads every capture after its cell (`value`, `write` for
    notes), and a cell reaches its own (`sys.stdout.target`), so none of its methods may be shadowed."""

    __slots__ = ("fd", "half", "head", "head_len", "lock", "partial", "pull", "tail", "tail_len", "total")
    _MARGIN = 32
    name = "<output>"

    def __init__(self, limit: int) -> None:
        self.half = max(limit // 2, 1)
        self.head: list[str] = []
        self.head_len = 0
        self.tail: deque[str] = deque()
        self.tail_len = 0
        self.total = 0
        self.fd: int | None = None
        """The descriptor whose output ends up here too (`_FdOutput`), for code that asks `sys.stdout.fileno()`."""
        self.pull: Any = None
        """Takes that descriptor's waiting output in before each write: both keep the order they were written in."""
        # Cell threads and the fd drain thread write here besides the main thread. Reentrant: a cell's signal
        # handler or __del__ may print while this thread is inside write().
        self.lock = _RLock()
        self.partial = b""
        """The start of a UTF-8 sequence the last `buffer.write` cut short: the next one may finish it."""

    def write(self, text: Any) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        if self.pull is not None and text != "\n":  # print()'s line end follows its text at once: one look will do
            self.pull()
        if self.partial:  # a `buffer.write` left a UTF-8 sequence unfinished: U+FFFD before this text, as written
            with self.lock:
                self._flush_partial()
        return self.put(text)

    def put(self, text: str) -> int:
        """`write` without taking the descriptor's output in first (that output itself comes in here)."""
        with self.lock:
            return self._write(text)

    def _flush_partial(self) -> None:
        """Write an unfinished UTF-8 sequence `buffer.write` left as U+FFFD (under `lock`)."""
        if self.partial:
            self._write(_utf8_decode(self.partial, "replace", True)[0])
            self.partial = b""

    def _write(self, text: str) -> int:
        """Returns the number of characters written (io's contract: code checks `f.write(s) == len(s)` and adds it
        up), however many of them the cap keeps."""
        written = len(text)
        self.total += written
        kept = self.half + self._MARGIN
        if self.head_len < kept:
            take = text[: kept - self.head_len]
            self.head.append(take)
            self.head_len += len(take)
            text = text[len(take) :]
        if text:
            text = text[-kept:]
            self.tail.append(text)
            self.tail_len += len(text)
            while self.tail_len - len(self.tail[0]) >= kept:
                self.tail_len -= len(self.tail.popleft())
        return written

    def taken(self) -> str:
        """The kept text (as `value` gives it), leaving this stream empty: what waited between cells, for the next."""
        with self.lock:
            text = self.value()[0]
            self.head.clear()
            self.tail.clear()
            self.head_len = self.tail_len = self.total = 0
            return text

    # What code asks a text stream besides writing to it. The cell's output is kept as text, so an encoding asked
    # for (`reconfigure(encoding="utf-8")`, a common idiom) changes nothing; lone surrogates become U+FFFD later.
    encoding = "utf-8"
    errors = "replace"
    newlines = None
    line_buffering = False

    def reconfigure(self, **options: Any) -> None:
        pass

    def fileno(self) -> int:
        if self.fd is None:  # as io.StringIO says it
            raise _io.UnsupportedOperation("fileno: the cell's output is captured in memory, not on a descriptor")
        return self.fd

    @property
    def buffer(self) -> _BytesInto:
        """`sys.stdout.buffer.write(b"...")`: bytes are written as UTF-8 text, undecodable bytes as U+FFFD."""
        return _BytesInto(self)  # not kept: the two would make a cycle, which only the garbage collector frees

    def value(self) -> tuple[str, int]:
        """The kept text and the number of characters cut from its middle. A UTF-8 sequence that bytes written to
        `buffer` left unfinished ends the text as U+FFFD."""
        with self.lock:
            self._flush_partial()
        head, tail = "".join(self.head), "".join(self.tail)[-(self.half + self._MARGIN) :]
        if self.total <= 2 * self.half:
            return head + tail, 0
        head_end, tail_start = self.half, len(tail) - self.half
        try:
            graphemes = _graphemes()
            head_end = graphemes.boundary_before(head, head_end)
            tail_start = graphemes.boundary_after(tail, tail_start, whole=False)
        except Exception:  # a cell broke the import machinery (`_thread.allocate_lock = None`): cut where it falls
            pass
        head, tail = head[:head_end], tail[max(tail_start, 0) :]
        cut = self.total - len(head) - len(tail)
        return head + f"\n... [{cut:,} characters cut] ...\n" + tail, cut


class _BytesInto(_WriteOnly):
    """The binary side of a CappedText: bytes are decoded as UTF-8 as they come, and a character split between two
    writes (a stream copied in chunks) is kept until the rest arrives. Bytes that are not UTF-8 become U+FFFD."""

    __slots__ = ("text",)
    mode = "wb"

    def __init__(self, text: CappedText) -> None:
        self.text = text

    def write(self, data: Any) -> int:
        data = bytes(memoryview(data))  # TypeError for what is not bytes-like, as a real buffer says (bytes(5) is not)
        text = self.text
        if text.pull is not None:  # fd 1's output first (outside this lock: it takes its own, then this one)
            text.pull()
        with text.lock:
            decoded, text.partial = _utf8_more(text.partial, data)
            if decoded:
                text._write(decoded)
        return len(data)


class _CellStream(KeptOpen):
    """sys.stdout (or sys.stderr) of the REPL for its whole life, pointed at the running cell's capture (`point`),
    as Jupyter's are: a handle a cell kept (`saved = sys.stdout`, the handler `logging.basicConfig()` made,
    `io.TextIOWrapper(sys.stdout.buffer)`) writes into the cell that runs now, not into a capture that ended with
    its own cell. `write` and `flush` are the stream's own methods, which look the target up when called: a bound
    `sys.stdout.write` kept from an earlier cell (`write = sys.stdout.write`; tqdm keeps `file.write` when a bar is
    made) writes into the cell that runs now too. The rest of a stream (`fileno`, `encoding`, ...) is the target's.
    Special methods skip `__getattr__`: `with sys.stdout as f:` has its own, and closing it does nothing (the real
    stream, between cells, is the worker's own). A cell may set attributes on it, as on a real stream; the worker
    points it through `_point`, a function no such attribute can stand in for."""

    target: Any = None  # a class default: a copy made without __init__ finds no attribute, not a recursion

    def __init__(self, target: Any, name: str) -> None:
        self.name = name
        self.bytes_side = _CellBuffer(self)
        _point(self, target)

    def write(self, text: Any) -> int:
        written: int = self.target.write(text)
        return written

    def flush(self) -> None:
        self.target.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.target, name)

    @property
    def buffer(self) -> _CellBuffer:
        return self.bytes_side


def _point(stream: _CellStream, target: Any) -> None:
    """Point a cell stream at `target` (None: the process has no such stream, `sys.__stdout__ is None`). Not a
    method, and set past any `__setattr__` (`object.__setattr__`): `sys.stdout.point = None` in a cell, or one set on
    its class, would otherwise run in the worker's place between cells, and end it."""
    object.__setattr__(stream, "target", _NOWHERE if target is None else target)


class _CellBuffer(_WriteOnly):
    """`sys.stdout.buffer` of a `_CellStream`: bytes go to the buffer of whatever the stream points at when written."""

    mode = "wb"

    def __init__(self, stream: _CellStream) -> None:
        self.stream = stream
        self.name = stream.name

    def write(self, data: Any) -> int:
        written: int = self.stream.target.buffer.write(data)
        return written

    def flush(self) -> None:
        self.stream.target.buffer.flush()


_NOWHERE = CappedText(1)
for _text_stream in (CappedText, _CellStream):
    io.TextIOBase.register(_text_stream)
for _bytes_stream in (_BytesInto, _CellBuffer):
    io.BufferedIOBase.register(_bytes_stream)
_CELL_STDOUT = _CellStream(sys.__stdout__, "<stdout>")
_CELL_STDERR = _CellStream(sys.__stderr__, "<stderr>")


def _utf8_more(partial: bytes, data: bytes) -> tuple[str, bytes]:
    """`partial + data` decoded as UTF-8 (bad bytes as U+FFFD), and the unfinished sequence at its end that the next
    piece may complete: a stream read or written in chunks decodes as it would whole."""
    pending = partial + data
    text, used = _utf8_decode(pending, "replace", False)
    return text, pending[used:]


class _FdOutput:
    """fd 1 of the worker, and so of every process its cells start, drained into the running cell's stdout:
    `os.write(1, ...)`, `subprocess.run(["ls"])`, `os.system(...)`, printf in C code (at libc's next flush). It
    was /dev/null, and the model never saw such output. A second one does the same for fd 2 and the cell's
    stderr (a subprocess's error message, a C library's warning), which went to the host's log unseen.

    fd 1 becomes a pipe's write end; the read end is non-blocking and is only ever read under `lock`: by a daemon
    thread that waits for data with select() (output of a process that runs while the cell waits on it), by each
    write to the cell's stdout (`CappedText.pull`, a poll(0) first, so `os.write(1, ...)` then `print` keep their
    order) and by `end()`. So every byte written before a cell ends is that cell's output, in order, and none can
    sit in the thread between its read and its write. What arrives between cells (a process left running) is kept,
    capped, for the next cell. The thread starts after the worker's hardening, so it runs under the same filters.
    Slots only: a cell reaches it (`sys.stdout.target.pull.__self__`), and the worker calls its methods each cell."""

    __slots__ = ("between", "fd", "limit", "lock", "partial", "sink", "target", "waiting", "write_fd")

    def __init__(self, limit: int, target: int = 1) -> None:
        read, write = os.pipe()
        os.dup2(write, target)
        os.set_blocking(read, False)
        self.fd = read
        self.target = target
        self.write_fd = write  # kept: the target is pointed at it again before each cell (a cell may close it)
        self.waiting = _select.poll()  # poll(0): the cheap look before each print (a failed os.read costs ~3x)
        self.waiting.register(read, _select.POLLIN)
        self.limit = limit
        self.lock = _RLock()  # reentrant: a cell's signal handler may print while this thread holds it
        self.sink = self.between = CappedText(limit)
        self.partial = b""  # a UTF-8 sequence cut between two reads

    def begin(self, out: CappedText) -> None:
        """Send fd 1 to `out` from now on, after what arrived since the last cell."""
        with self.lock:
            if self.between.total:
                out.put(self.between.value()[0])
                self.between = CappedText(self.limit)
            self.sink, out.fd, out.pull = out, self.target, self.pull
        try:
            _dup2(self.write_fd, self.target)
        except OSError:
            pass

    def end(self) -> None:
        """Everything written to fd 1 so far goes to the cell's output; later bytes wait for the next cell. A UTF-8
        sequence the cell left unfinished is its output too, as U+FFFD, where it wrote it (bytes a later cell writes
        cannot complete it)."""
        with self.lock:
            self._take()
            self._unfinished()
            self.sink.fd = self.sink.pull = None
            self.sink = self.between

    def pull(self) -> None:
        """Take what is waiting (any thread: a poll object must not be polled by two at once, hence the lock), before
        the cell's own text is written after it: an unfinished UTF-8 sequence then shows as U+FFFD before that text,
        as a terminal shows the bytes in the order written."""
        with self.lock:
            if self.waiting.poll(0):
                self._take()
            if self.partial:
                self._unfinished()

    def _unfinished(self) -> None:
        if self.partial:
            self.sink.put(_utf8_decode(self.partial, "replace", True)[0])
            self.partial = b""

    def _take(self) -> bool:
        while True:
            try:
                data = _read_fd(self.fd, 65536)
            except (BlockingIOError, InterruptedError):
                return True
            except OSError:
                return False
            if not data:
                return False
            text, self.partial = _utf8_more(self.partial, data)
            if text:
                self.sink.put(text)


def _drain(outputs: list[_FdOutput]) -> None:
    """One thread for every `_FdOutput`: waits for data on any of their pipes and takes it in under its lock."""
    waiting = {output.fd: output for output in outputs}
    while waiting:
        try:
            ready, _, _ = _select_fd(list(waiting), [], [])
        except (OSError, ValueError):
            return
        for fd in ready:
            with waiting[fd].lock:
                if not waiting[fd]._take():
                    del waiting[fd]


class ChannelClosed(EOFError):
    """The connection to the host is gone: end of file, or a read or write of it failed (never what a cell raised
    meanwhile). The worker ends; sub-calls in flight fail."""


_run_through: Any = deque(maxlen=0).extend
"""Runs an iterator to its end in C. `_run_through(map(keep, map(io_call, args)))` makes the I/O call and keeps its
result with no Python bytecode between them, so with no point where an exception raised into the thread
(func_timeout's PyThreadState_SetAsyncExc) or by a cell's signal handler can land: such an exception comes between
bytecodes, or inside a read or write that a signal interrupted before it moved a byte."""
_sum = sum


def _own_failure(exc: BaseException) -> bool:
    """Whether `exc`, caught right around a read or write, is that call's own failure: an OSError with an errno and
    no Python frame under the catching one. What a cell's signal handler raised there (timeout-decorator's
    TimeoutError is an OSError too) has the handler's frame under it; what was raised into the thread has no errno."""
    trace = exc.__traceback__
    return isinstance(exc, OSError) and exc.errno is not None and (trace is None or trace.tb_next is None)


class _Channel(abc.ABC):
    """Frames to and from the host on one connection, which the cell's threads share. Whatever a cell raises into
    the reading or the writing thread meanwhile, no byte is lost and no frame is cut: bytes are kept in the same C
    step that reads them (`_run_through`), a whole frame waits at `head` until its reader takes it, and a write
    goes on to the frame's end before it hands back what was raised."""

    def __init__(self, max_frame: int, read_some: Any, write_some: Any) -> None:
        self.max_frame = max_frame
        self.read_some = read_some
        """C callable: (n) -> up to n bytes read, b"" at the end."""
        self.write_some = write_some
        """C callable: (buffer) -> the count of its bytes written."""
        self.pending = bytearray()
        """Bytes read and not yet a whole frame."""
        self.head: dict[str, Any] | None = None
        """The next frame, whole and decoded, until its reader takes it: `frame = channel.head` and then
        `channel.head = None` with no call between them (nothing can be raised there), or `recv()`."""
        self.outgoing = b""
        """The frame being written, or written last: `outgoing is data` from the moment `write(data)` begins."""

    def next_frame(self) -> dict[str, Any]:
        """The next frame (read when it is not at `head` yet); it stays at `head` until taken. Raises
        ChannelClosed, FrameProtocolError (UnreadFrame, the frame dropped, when no memory is left to decode it), or
        what is raised into the thread meanwhile: calling again goes on where the reading stopped."""
        while self.head is None:
            wanted = self._frame_or_wanted()
            if not wanted:
                continue
            before = len(self.pending)
            try:
                _run_through(map(self.pending.extend, map(self.read_some, (wanted,))))
            except BaseException as exc:
                if _own_failure(exc):
                    raise ChannelClosed(f"the frame channel failed: {exc}") from exc
                raise
            if len(self.pending) == before:
                raise ChannelClosed("the host closed the frame channel")
        return self.head

    def recv(self) -> dict[str, Any]:
        """The next frame, taken (where no cell can raise anything: the worker's start)."""
        frame = self.next_frame()
        self.head = None
        return frame

    @abc.abstractmethod
    def _frame_or_wanted(self) -> int:
        """Move the first whole frame in `pending` to `head` (`_decode`) and return 0, else how many bytes to read."""

    def _decode(self, start: int, end: int, taken: int) -> None:
        """`pending[start:end]` decoded into `head`, and `pending[:taken]` dropped in the same step."""
        try:
            frame = frames.decode(self.pending[start:end])
        except MemoryError:  # no use reading it again: dropped, and its owner told (Worker._read_one)
            unread = frames.unread(memoryview(self.pending)[:end], start)  # a view: no copy, freed at once
            del self.pending[:taken]
            raise unread from None
        self.head = frame
        del self.pending[:taken]  # no call since the line above: the frame is at `head` or still in `pending`

    def encode(self, message: dict[str, Any]) -> bytes:
        """`message` as this channel's frame. Raises FrameProtocolError."""
        data: bytes = frames.encode(message, self.max_frame)
        return data

    def send(self, message: dict[str, Any]) -> BaseException | None:
        """Write `message` as one frame; see `write`."""
        return self.write(self.encode(message))

    def write(self, data: bytes) -> BaseException | None:
        """Write all of `data`, whatever is raised meanwhile (a cell's signal handler between two partial writes, an
        exception raised into the thread): returns the first exception raised meanwhile, for the caller to raise
        once the frame is answered. Raises ChannelClosed when the connection fails."""
        self.outgoing = data
        written: list[int] = []
        held: BaseException | None = None
        while True:
            try:
                done = _sum(written)
                if done == len(data):
                    return held
                rest = memoryview(data)[done:] if done else data
                _run_through(map(written.append, map(self.write_some, (rest,))))
            except BaseException as exc:
                if _own_failure(exc):
                    raise ChannelClosed(f"the frame channel failed: {exc}") from exc
                if held is None:
                    held = exc


class SocketChannel(_Channel):
    """Length-prefixed frames on the socketpair end the launcher passed in."""

    def __init__(self, sock: _socket.socket, max_frame: int = frames.DEFAULT_MAX_FRAME_BYTES) -> None:
        super().__init__(max_frame, sock.recv, sock.send)
        sock.setblocking(True)  # the channel's reads block; the end may come non-blocking (a host under gevent)
        self.sock = sock

    def _frame_or_wanted(self) -> int:
        # Never read past this frame: what follows may be a descriptor passed with its own message (the zygote's).
        header: int = frames.HEADER.size
        if len(self.pending) < header:
            return header - len(self.pending)
        length: int = frames.HEADER.unpack_from(self.pending)[0]
        frames.check_length(length, self.max_frame)
        wanted = header + length - len(self.pending)
        if wanted > 0:
            return min(wanted, 1 << 20)
        self._decode(header, header + length, header + length)
        return 0


class StdioChannel(_Channel):
    """JSON Lines on the process's original stdin/stdout. fd 0 and 1 are then pointed away (at /dev/null and
    stderr), so a stray `os.write(1, ...)` in a cell cannot corrupt the channel."""

    def __init__(self, max_frame: int = frames.DEFAULT_MAX_FRAME_BYTES) -> None:
        self.rfd, self.wfd = os.dup(0), os.dup(1)
        super().__init__(max_frame, _partial(_read_fd, self.rfd), _partial(_write_fd, self.wfd))
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        os.dup2(2, 1)
        self.searched = 0
        """How much of `pending` holds no line end (a long line is read in many pieces)."""

    def _frame_or_wanted(self) -> int:
        end = self.pending.find(b"\n", self.searched)
        if end < 0:
            self.searched = len(self.pending)
            if self.searched >= self.max_frame:
                raise frames.FrameProtocolError(f"a line over the {self.max_frame:,}-byte cap")
            return 1 << 16
        if end >= self.max_frame:
            raise frames.FrameProtocolError(f"a line over the {self.max_frame:,}-byte cap")
        self.searched = 0
        self._decode(0, end, end + 1)  # the line end goes with it
        return 0

    def encode(self, message: dict[str, Any]) -> bytes:
        data: bytes = frames.encode_line(message, self.max_frame)
        return data


def _value_shape(value: Any) -> str:
    """`value`'s type and, for the built-in containers and strings, its length (no method of the cell's own runs)."""
    kind = type(value)
    if kind in (str, bytes):
        return f"a {kind.__name__} of {len(value):,} characters" if kind is str else f"{len(value):,} bytes"
    if kind in (list, tuple, dict, set):
        return f"a {kind.__name__} of {len(value):,} items"
    return f"a {kind.__name__}"


class Worker:
    """One persistent namespace and the REPL functions, answering `exec` frames on one channel."""

    def __init__(
        self,
        sock: _Channel | None,
        values: dict[str, Any],
        *,
        variables: dict[str, Any] | None = None,
        answer: dict[str, Any] | None = None,
        max_output: int = 20_000,
        max_frame: int = frames.DEFAULT_MAX_FRAME_BYTES,
        max_batch: int = 1_000,
    ) -> None:
        self.sock = sock
        # `channel` is held to send a call frame (frames never interleave) and to open or close a cell. A thread
        # that calls while no cell runs (the serve loop is the channel's reader then) waits for the next cell
        # instead of reading the host's next frame: on `next_cell`, a lock held while no cell runs (threading's
        # Condition would cost every start its import, for threads that outlive their cell, which are rare).
        self.channel = _allocate_lock()
        self.next_cell = _allocate_lock()
        self.next_cell.acquire()
        # Sub-calls in flight, from any number of threads at once, each frame with its own id. One waiting thread
        # at a time reads the channel (the reader) and hands each reply to its owner, waking it through the
        # owner's own lock; a reader whose reply came hands the reading on to a thread still waiting. All of this
        # state is guarded by `calls_state`; `idle` is held while any call is in flight (end_cell waits on it).
        self.calls_state = _allocate_lock()
        self.idle = _allocate_lock()
        self.waiting: dict[int, Any] = {}  # call id -> its owner's wake lock, held until a reply or a turn to read
        self.replies: dict[int, dict[str, Any]] = {}
        self.reader: int | None = None  # the thread reading the channel now
        self.in_call: set[int] = set()  # threads inside call(): one calling again from inside it would deadlock
        self.held: dict[int, BaseException] = {}  # per thread: raised into it while it waited, raised after
        self.broken: str | None = None  # the channel failed under a reader: every call from now on fails
        self.paused = 0.0  # what was left of the cell's clock when the first call in flight stopped it
        self.cell_running = False
        self.held_handlers: dict[int, Any] = {}  # the last cell's signal handlers, held off until the next one begins
        self.owns_signals = False
        """True in the REPL's own process (`_worker_for`): its signal handlers are the cells'. A Worker embedded
        in another process (the in-process tier, a test) leaves that process's handlers alone."""
        self.closed = False
        self.max_output = max_output
        self.max_frame = max_frame
        self.max_batch = max_batch
        self.fd_output: _FdOutput | None = None
        self.fd_errors: _FdOutput | None = None
        self.pid = _getpid()  # a process a cell forks is not this REPL: it may not use the channel
        self.final: dict[str, Any] | None = None
        self.may_fork = True
        """False where the cells may start no process (the isolated tier's seccomp filter): the notes offer no fork."""
        self.question = 0
        """Which of a session's questions is asked now (0: the first); work knows its own (see `work_origin`)."""
        self.call_seq = 0
        self.cells = 0
        self.variables = dict(variables or {})
        """The variables the REPL provides: the JSON ones the host set (a session's `history`) and those its setup
        binds (`provide`: `workspace_dir`). A cell that rebinds or deletes one gets it back (`restore_variables`)."""
        self.namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": builtins, **values, **self.variables}
        self.loaded = dict(values)
        """The contexts as loaded (at start, and for each question of a session): passing one of them to rlm_query
        sends its name, not a copy, and each question of a session begins with them under their names."""
        self.rebinding_told: dict[str, Any] = {}
        """A rebound context's value the model was told of (`restore_variables`): told once per rebinding."""
        answer = answer or {}
        self.answer: dict[str, Any] = _Answer(content=answer.get("content", ""), ready=False)
        self.namespace["answer"] = self.answer
        self.answer_binding: Any = self.answer
        """What `answer` was last bound to through `_AnswerName` (`answer = ...` in a cell), or last read as bound."""
        self.work_lock = _allocate_lock()
        self.live_work: dict[int, int] = {}
        """Per question: how many pieces of its work (threads, pool tasks, signal handlers) are running now."""
        self.stale_work_ended = False
        """Work of an earlier question ended since `answer` was last read: it may have rebound it first."""
        self.event_loop: Any = None
        """The asyncio loop the cells that await at their top level run on (`_await`), made by the first one."""
        self.answer_name = _AnswerName(self)
        self.namespace[ANSWER_NAME] = self.answer_name
        implementations = (
            self.llm_query,
            self.llm_query_batched,
            self.rlm_query,
            self.rlm_query_batched,
            self.final_value,
            self.final_var,
            self.submit,
            self.show_vars,
            self.call_tool,
        )
        self.functions: dict[str, Any] = dict(zip(frames.REPL_FUNCTIONS, implementations, strict=True))
        self.namespace.update(self.functions)
        self.reserved = frozenset(self.namespace) | {"answer"}

    # --- frames -------------------------------------------------------------------------------
    def send(self, message: dict[str, Any]) -> None:
        """Send one frame whole. What is raised meanwhile is dropped: only a sub-call has a caller waiting for it."""
        assert self.sock is not None
        self.sock.send(message)

    # --- process-wide hooks (the in-process sandbox replaces these) ------------------------------------------
    def redirect(self, out: CappedText | None, err: CappedText | None) -> None:
        """Send the cell's prints to `out` and `err`; None restores the process's own streams. The cell's sys.stdout
        and sys.stderr are the same two objects in every cell (`_CellStream`), pointed at this cell's captures: what
        an earlier cell kept of them writes into this one's output."""
        _point(_CELL_STDOUT, sys.__stdout__ if out is None else out)
        _point(_CELL_STDERR, sys.__stderr__ if err is None else err)
        sys.stdout = sys.__stdout__ if out is None else _CELL_STDOUT
        sys.stderr = sys.__stderr__ if err is None else _CELL_STDERR

    def arm(self, seconds: float) -> None:
        """Start the soft timeout: SIGALRM raises CellTimeout in the cell after `seconds`. In the REPL's own process
        the cells' SIGALRM handler and timer are kept apart from this one (see `_share_alarms`); elsewhere (a Worker
        embedded in a test) the handler is set again each time, as an earlier cell may have taken SIGALRM."""
        if seconds > 0:
            if _get_signal(_signal.SIGALRM) is not _on_alarm:
                _set_signal(_signal.SIGALRM, _on_alarm)
            _set_time_limit(seconds)

    def disarm(self) -> float:
        """Stop the cell's clock; returns the seconds that were left (0 when none was running). The cell's own
        timer (`signal.alarm`) runs on."""
        return _set_time_limit(0.0)

    def resume(self, seconds: float) -> None:
        """Restart the clock paused while sub-calls were in flight, leaving SIGALRM's handler as it is."""
        _set_time_limit(seconds)

    # --- REPL functions -------------------------------------------------------------------------
    def check_batch(self, count: int, function: str) -> None:
        """Refuse a batch larger than one cell may send, before anything is sent or spent."""
        if count > self.max_batch:
            raise ValueError(
                f"{function}: {count:,} prompts in one call is over the {self.max_batch:,} sub-calls a cell may "
                "make; send fewer, larger prompts (join chunks), or spread the work over several cells"
            )

    def call(self, kind: str, items: list[dict[str, Any]], model: str | None = None) -> list[dict[str, Any]]:
        """Send one call frame and wait for its reply. Any number of threads may call at once: their calls are
        in flight together, so a thread pool's sub-calls run concurrently. Raises RuntimeError when the call is
        refused, lost, or the REPL is closing; ValueError when the request cannot be sent.

        On the main thread the cell's time limit is held off from the call's first bookkeeping to its last (an
        alarm due meanwhile is raised as the call ends): a CellTimeout inside them would leave the call half
        registered, or the reading of the channel half done."""
        if _getpid() != self.pid:
            raise RuntimeError(
                f"{_CALLED_AS.get(kind, kind)} cannot be called from a process the cell forked (os.fork, "
                "multiprocessing): only the REPL's own process talks to the host. Call it in the cell itself, or from "
                "threads (concurrent.futures.ThreadPoolExecutor); llm_query_batched and rlm_query_batched run many "
                "prompts at once"
            )
        _refuse_a_call_from_an_earlier_question(kind)
        me = _thread.get_ident()
        if me in self.in_call:
            # A __del__ the garbage collector ran, or a signal handler, inside this thread's own sub-call (while it
            # holds the channel or the calls' state, or reads the channel): waiting here would wait on itself.
            raise RuntimeError(
                f"{kind}_query cannot be called from code that runs inside another sub-call of the same thread (a "
                "__del__ or weakref finalizer the garbage collector ran, a signal handler); call it from the cell "
                "or from a thread"
            )
        # The bookkeeping below must run whole: an exception between two of its steps (a RecursionError near the
        # limit, a trace function's step budget) would leave a call registered for ever and the REPL hung. So the
        # room it needs is checked first (the RecursionError comes here, with nothing registered yet) and the
        # thread's trace function is off until the call is over (tracing rlmx's own machinery is noise anyway).
        tracer, profiler = _gettrace(), _getprofile()
        if tracer is not None:
            _settrace(None)
        if type(profiler) in _PYTHON_HOOKS:  # a step budget on sys.setprofile: it sees C calls too (lock.acquire)
            _setprofile(None)
        else:
            profiler = None  # cProfile's (C, not callable): it raises nothing, and could not be set back from Python
        try:
            _room_for_bookkeeping(_BOOKKEEPING_FRAMES)
            self.in_call.add(me)
            return self._call(kind, items, model, me)
        finally:
            self.in_call.discard(me)
            if tracer is not None:
                _settrace(tracer)
            if profiler is not None:
                _setprofile(profiler)

    def _call(self, kind: str, items: list[dict[str, Any]], model: str | None, me: int) -> list[dict[str, Any]]:
        """Send the call frame and wait for its reply. Once the frame has begun to go out, what is raised into this
        thread (a cell's signal handler, an exception raised into it) is held until the reply is in: the host
        answers every call it got, and a reply nobody waits for would break the channel."""
        assert self.sock is not None
        main = me == _MAIN_THREAD
        if main:
            _hold_alarms()
        seq = 0
        out = False  # the call frame is out, whole: the host will answer it
        try:
            try:
                with self.channel:
                    if not self.cell_running:
                        self._wait_for_a_cell(kind, main)
                        _refuse_a_call_from_an_earlier_question(kind)  # it waited for a later question's cell?
                    if self.broken is not None:
                        raise _CallFailed(self.broken)
                    self.call_seq += 1
                    seq = self.call_seq
                    wake = self._expect(seq)
                    data: bytes | None = None
                    try:
                        data = self.sock.encode({"t": "call", "id": seq, "kind": kind, "items": items, "model": model})
                        during = self.sock.write(data)
                    except frames.FrameProtocolError as exc:  # nothing was written: the channel is intact
                        raise unsendable(kind, str(exc)) from None
                    except BaseException as exc:  # decided under `channel`, while `outgoing` can be only ours
                        if isinstance(exc, ChannelClosed) or data is None or self.sock.outgoing is not data:
                            raise  # the write failed, or never began: no call was made
                        during = exc  # raised once the frame was out (see _Channel.write)
                    out = True
                if during is not None:
                    self._hold(during, me)
                reply = self._reply_to(seq, wake)
            except _NEVER_HELD:
                raise
            except BaseException as exc:
                if not out:
                    raise
                self._hold(exc, me)
                reply = self._reply_to(seq, wake)
        finally:
            held = self.held.pop(me, None)
            if seq:
                self._settle(seq)
            if main:
                _release_alarms()
        if held is not None:
            raise held
        if isinstance(reply.get("lost"), str):
            raise MemoryError(reply["lost"])
        if isinstance(reply.get("error"), str):
            raise RuntimeError(reply["error"])
        results = reply.get("results")
        if not isinstance(results, list) or len(results) != len(items):
            raise RuntimeError("rlmx worker: malformed sub-call reply from the host")
        return results

    def _wait_for_a_cell(self, kind: str, main: bool) -> None:
        """Under `channel`, while no cell runs: a thread outliving its cell waits here, its call to be served in the
        next cell."""
        while not self.cell_running:
            if self.closed:
                raise RuntimeError("rlmx worker: the REPL is shutting down; this sub-call was not sent")
            if main:  # the main thread is the one that would start the next cell: it would wait for ever
                raise RuntimeError(
                    f"{kind}_query cannot be called between cells (from code rlmx runs after a cell ends, "
                    "e.g. a __del__ the garbage collector ran); call it from the cell itself"
                )
            self.channel.release()
            try:
                with self.next_cell:  # free once a cell runs (or the REPL closes); passed on at once
                    pass
            finally:
                self.channel.acquire()

    def _hold(self, exc: BaseException, me: int) -> None:
        """Keep what was raised into thread `me` during its call, to be raised when the call ends (the first one)."""
        self.held.setdefault(me, exc)

    # --- sub-calls in flight (see __init__) ------------------------------------------------------------------
    def _expect(self, seq: int) -> Any:
        """Register call `seq` before its frame goes out; the first call in flight stops the cell's clock (time
        waiting on the host is not cell time). Returns the owner's wake lock, held."""
        wake = _allocate_lock()
        wake.acquire()
        with self.calls_state:
            first = not self.waiting
            self.waiting[seq] = wake  # registered first: `_settle` undoes all of it, however far this got
            if first:
                self.idle.acquire()  # never waits: end_cell holds it only while it holds `channel`, as we do
                self.paused = self.disarm()
        return wake

    def _settle(self, seq: int) -> None:
        """Call `seq` is over; the last call in flight frees `idle` and then restarts the cell's clock (end_cell
        disarms after us)."""
        with self.calls_state:
            if self.waiting.pop(seq, None) is None:
                return  # never registered
            self.replies.pop(seq, None)
            if self.waiting:
                return
            self.idle.release()
            paused, self.paused = self.paused, 0.0
            if paused:
                self.resume(paused)

    def _reply_to(self, seq: int, wake: Any) -> dict[str, Any]:
        """Wait for call `seq`'s reply: read the channel while no other thread does, else sleep on `wake`. What is
        raised into this thread meanwhile (a cell's signal handler timing the call out, func_timeout's async
        exception) is held until the reply is in, then raised by `call`: every step here may be broken off at any
        point and taken up again, so the channel stays whole for every other caller."""
        me = _thread.get_ident()
        try:
            while True:
                try:
                    with self.calls_state:
                        reply = self.replies.get(seq)
                        if reply is not None:
                            return reply
                        if self.broken is not None:
                            raise _CallFailed(self.broken)
                        if self.reader is None or self.reader not in self.in_call:  # none, or one that left
                            self.reader = me
                    if self.reader == me:
                        reply = self._read_one(seq)
                        if reply is not None:
                            return reply
                    else:  # released by the reader (our reply, or our turn to read); the timeout is a safety net
                        wake.acquire(True, _WAKE_CHECK_SECONDS)
                except _NEVER_HELD:
                    raise
                except BaseException as exc:
                    self._hold(exc, me)
        finally:
            with self.calls_state:
                if self.reader == me:
                    self.reader = None
                    for other, lock in self.waiting.items():  # hand the reading on to one still waiting
                        if other != seq and other not in self.replies:
                            self._wake(lock)
                            break

    def _read_one(self, seq: int) -> dict[str, Any] | None:
        """The reader's step: read the channel's next frame and hand it to the call it answers, waking its owner;
        returns it when it answers the reader's own call `seq`."""
        assert self.sock is not None
        try:
            frame = self.sock.next_frame()
        except frames.UnreadFrame as lost:  # a reply too big for the memory left: its caller gets MemoryError
            if lost.call_id is None:
                self._break(lost)
                raise
            frame = {
                "t": "reply",
                "id": lost.call_id,
                "lost": f"the reply to this call ({lost.size:,} bytes) did not fit in the memory left; free some "
                "(del large values) or ask for shorter answers",
            }
        except (ChannelClosed, frames.FrameProtocolError) as exc:
            self._break(exc)
            raise
        call_id = frame.get("id") if frame.get("t") == "reply" else None
        with self.calls_state:
            owner = self.waiting.get(call_id) if type(call_id) is int else None
            if owner is None or type(call_id) is not int or call_id in self.replies:
                self.sock.head = None
                raise _CallFailed("rlmx worker: the host sent an unexpected frame; the sub-call was lost")
            self.replies[call_id] = frame
            self.sock.head = None  # taken in the same step as it was handed on: no call between the two
            if call_id == seq:
                return frame
            self._wake(owner)
        return None

    def _break(self, failure: BaseException) -> None:
        """The channel failed under the reader: every call in flight, and every later one, fails."""
        with self.calls_state:
            self.broken = f"rlmx worker: the channel to the host failed ({type(failure).__name__}); sub-call lost"
            for lock in self.waiting.values():
                self._wake(lock)

    @staticmethod
    def _wake(lock: Any) -> None:
        """Release an owner's wake lock (under `calls_state`; only its owner acquires it): once, never twice."""
        if lock.locked():
            lock.release()

    def llm_query(self, prompt: Any, model: str | None = None, schema: Any = None) -> Any:
        """Ask a sub-LM one prompt; returns its text, or with `schema` (a JSON Schema dict or a pydantic model
        class) the validated JSON value. Raises RuntimeError if the call fails or is refused."""
        (result,) = self.call("llm", [_llm_item(prompt, schema)], model)
        if not result.get("ok"):
            raise RuntimeError(result.get("error", "sub-LM call failed"))
        return result.get("value") if schema is not None else str(result.get("text", ""))

    def llm_query_batched(self, prompts: Any, model: str | None = None, schema: Any = None) -> list[Any]:
        """Ask a sub-LM many prompts concurrently; a failed item comes back as 'Error: ...'."""
        prompt_list = _as_list(prompts, "prompts")
        self.check_batch(len(prompt_list), "llm_query_batched")
        items = [_llm_item(p, schema) for p in prompt_list]
        results = self.call("llm", items, model) if items else []
        if schema is None:
            return [_item_text(r) for r in results]
        return [r.get("value") if r.get("ok") else _item_text(r) for r in results]

    def rlm_query(self, prompt: Any, context: Any = None) -> str:
        """Hand a sub-task to a child RLM one level deeper (a plain sub-LM call at the maximum depth)."""
        (result,) = self.call("rlm", [_rlm_item(prompt, context, self.loaded)])
        if not result.get("ok"):
            raise RuntimeError(result.get("error", "child RLM failed"))
        return str(result.get("text", ""))

    def rlm_query_batched(self, prompts: Any, contexts: Any = None) -> list[str]:
        """Run several child RLMs concurrently; a failed item comes back as 'Error: ...'."""
        prompt_list = _as_list(prompts, "prompts")
        context_list = [None] * len(prompt_list) if contexts is None else _as_list(contexts, "contexts")
        if len(context_list) != len(prompt_list):
            raise ValueError(f"rlm_query_batched: {len(prompt_list)} prompts but {len(context_list)} contexts")
        self.check_batch(len(prompt_list), "rlm_query_batched")
        items = [_rlm_item(p, c, self.loaded) for p, c in zip(prompt_list, context_list, strict=True)]
        return [_item_text(r) for r in self.call("rlm", items)] if items else []

    def call_tool(self, name: Any, /, *args: Any, **kwargs: Any) -> Any:
        """Call the host tool `name` (see RLM(tools=...)) with JSON arguments; returns its JSON result. Raises
        RuntimeError with the tool's error when it fails."""
        item: dict[str, Any] = {"prompt": str(name), "args": list(args), "kwargs": kwargs}
        if args or kwargs:
            # What JSON would merge without a word ({1: 'a', '1': 'b'} reached the tool as {'1': 'b'}) is refused,
            # as it is in a tool's result and FINAL's value.
            problem = frames.nesting_problem((args, kwargs)) or json_problem((args, kwargs))
            if problem is not None:
                raise ValueError(f"call_tool({name!r}): the arguments cannot be sent: {problem}")
            if holds_bytes((args, kwargs)):  # JSON has no bytes: they cross tagged (BYTES_KEY)
                item.update(args=with_bytes_as_wire(args), kwargs=with_bytes_as_wire(kwargs), bytes=True)
        (result,) = self.call("tool", [item])
        if not result.get("ok"):
            raise RuntimeError(result.get("error", "tool call failed"))
        return with_bytes_from_wire(result.get("value")) if result.get("bytes") else result.get("value")

    def __reduce_ex__(self, protocol: Any) -> Any:
        """Refuse pickling, which is how llm_query and the other REPL functions (bound methods of this object) would
        reach another process: a ProcessPoolExecutor's or multiprocessing.Pool's task, `functools.partial` of one."""
        raise TypeError(
            "llm_query, rlm_query, their _batched forms, call_tool and the host tools, FINAL, FINAL_VAR and SUBMIT "
            "cannot be sent to another process (ProcessPoolExecutor, multiprocessing.Pool, pickle): only the REPL's "
            "own process talks to the host. For sub-calls in parallel use llm_query_batched(prompts) or "
            "rlm_query_batched(prompts), or run them in threads (concurrent.futures.ThreadPoolExecutor); do only "
            "pure computation in other processes"
        )

    def _refuse_a_forked_process(self, function: str) -> None:
        """Raise RuntimeError in a process the cell forked: its finish would never reach the host."""
        if _getpid() != self.pid:
            raise RuntimeError(
                f"{function} cannot be called from a process the cell forked (os.fork, multiprocessing): only the "
                "REPL's own process can finish the run. Return the value to the cell (e.g. a Pool's result) and "
                f"call {function} there"
            )

    def final_value(self, value: Any) -> Any:
        """Finish with this value as the answer."""
        self._refuse_a_forked_process("FINAL")
        _refuse_an_earlier_questions_thread("FINAL")
        self.final = {"kind": "final", "value": _jsonable(self._unwrapped(value), "FINAL")}
        return value

    def _unwrapped(self, value: Any) -> Any:
        """`answer`, the REPL's own dict, as its content: FINAL(answer) after `answer = text` (which the REPL turned
        into that dict's content) means the text, not {"content": ..., "ready": False}."""
        answer = self.namespace.get("answer")
        return dict.get(answer, "content") if value is answer and isinstance(answer, dict) else value

    def final_var(self, name: Any) -> Any:
        """Finish with the value of the variable called `name`."""
        self._refuse_a_forked_process("FINAL_VAR")
        _refuse_an_earlier_questions_thread("FINAL_VAR")
        if isinstance(name, str) and name.strip().isidentifier():
            key = _python_reads(name.strip())  # `ｔｏｔａｌ = 5` bound `total`
            if key not in self.namespace:
                defined = ", ".join(self.user_names()) or "none yet"
                raise NameError(
                    f"FINAL_VAR({key!r}): no variable named {key!r}. Defined: {defined}. "
                    "Assign it first, or call FINAL(value)."
                )
            value = self.namespace[key]
            if value is self.functions.get(key):
                raise NameError(
                    f"FINAL_VAR({key!r}): {key} is an rlmx function, not a variable; pass the name of the variable "
                    "holding the answer, or call FINAL(value)"
                )
        else:
            value = name
        self.final = {"kind": "final_var", "value": _jsonable(self._unwrapped(value), "FINAL_VAR")}
        return value

    def submit(self, /, *args: Any, **fields: Any) -> None:
        """Finish with named fields: SUBMIT(answer=..., confidence=...). Any field name goes, `self` included."""
        self._refuse_a_forked_process("SUBMIT")
        _refuse_an_earlier_questions_thread("SUBMIT")
        if args:
            raise TypeError("SUBMIT takes keyword arguments only, e.g. SUBMIT(answer='...')")
        if not fields:
            raise TypeError("SUBMIT needs at least one field, e.g. SUBMIT(answer='...')")
        self.final = {"kind": "submit", "value": {k: _jsonable(v, f"SUBMIT({k}=...)") for k, v in fields.items()}}

    def user_names(self) -> list[str]:
        # tuple(): one step under the GIL, so a cell's thread adding a variable meanwhile cannot break the loop.
        # A key that is no name (`globals()[1] = ...`) is no variable: skipped.
        names = tuple(self.namespace)
        return [n for n in names if isinstance(n, str) and not n.startswith("_") and n not in self.reserved]

    def names_with(self, prefix: str) -> list[str]:
        """The namespace's names that begin with `prefix` (the model's variables and rlmx's own alike), sorted."""
        names = tuple(self.namespace)  # one step under the GIL (see user_names)
        return sorted(n for n in names if isinstance(n, str) and n.isidentifier() and n.startswith(prefix))

    def show_vars(self) -> None:
        """Print the variables defined so far, with their types and sizes."""
        lines = []
        for name, value in tuple(self.namespace.items()):
            if not isinstance(name, str) or name in self.functions or name.startswith(("__", "_rlmx_")):
                continue  # a key that is no name (`globals()[1] = ...`) is no variable, nor is rlmx's own
            size = ""
            try:  # a proxy's __getattr__ may raise anything; a 0-d array, a broken __len__: listed without a size
                if hasattr(value, "__len__") and not isinstance(value, type):
                    size = f", len {len(value):,}"
            except Exception:
                size = ""
            kind = "dict" if type(value) is _Answer else type(value).__name__  # the prompt's word for `answer`
            lines.append(f"{name}: {kind}{size}")
        print("\n".join(lines) if lines else "(no variables)")

    # --- cells ---------------------------------------------------------------------------------
    def run_cell(self, code: str, timeout: float) -> dict[str, Any]:
        before = _ORIGIN.set((self, self.question))  # the cell's work, and all it starts, is this question's
        try:
            return self._run_cell(code, timeout)
        finally:
            _ORIGIN.reset(before)

    def _run_cell(self, code: str, timeout: float) -> dict[str, Any]:
        out, err = CappedText(self.max_output), CappedText(self.max_output)
        started = _clock()
        self.redirect(out, err)
        if self.fd_output is not None and self.fd_errors is not None:
            self.fd_output.begin(out)
            self.fd_errors.begin(err)
        self.begin_cell()
        try:
            status, error = self._executed(code, timeout)
            try:  # while the cell's calls are still served and its clock runs: the content's __str__ may call out
                self.restore_answer(err)
                answer = self.answer_state()
            except BaseException as exc:  # answer["content"] the host cannot take: the cell fails, the REPL lives
                answer = {"content": None, "ready": False, "valid": False}
                timed_out = isinstance(exc, CellTimeout)
                status = "timeout" if timed_out else "error"
                error = _timed_out(timeout) if timed_out else _described(exc, _format_exception_only)
        finally:
            self.end_cell()
            if self.fd_output is not None and self.fd_errors is not None:
                self.fd_output.end()
                self.fd_errors.end()
            self.redirect(None, None)
        replaced = self.restore_functions(err)
        rebound = self.restore_variables(err)
        stdout, stdout_cut = out.value()
        stderr, stderr_cut = err.value()
        # A FINAL made by a thread between cells is taken by this cell's result (as a `ready` answer it set would
        # be); one made now, after this, by the next.
        final, self.final = self.final, None
        if error is not None and len(error) > self.max_output:  # `raise ValueError('x' * 10**8)` is output too
            capped = CappedText(self.max_output)
            capped.write(error)
            error = capped.value()[0]
        return {
            "t": "result",
            "status": status,
            "stdout": stdout,
            "stdout_cut": stdout_cut,
            "stderr": stderr,
            "stderr_cut": stderr_cut,
            "error": error,
            "final": final,
            "answer": answer,
            "replaced": replaced,
            "rebound": rebound,
            "seconds": _clock() - started,
        }

    def _executed(self, code: str, timeout: float) -> tuple[str, str | None]:
        """Run the cell under its time limit; returns its status and error (None when it ran through)."""
        try:
            self.arm(timeout)
            self.execute(code)
        except CellTimeout:
            return "timeout", _timed_out(timeout)
        except SyntaxError as exc:
            return "error", _described(exc, _format_exception_only)
        except BaseException as exc:  # the model's code may raise anything; report it as output
            return "error", _described(exc, _format_traceback) + _limit_note(exc, self.may_fork)
        return "ok", None

    def begin_cell(self) -> None:
        global _executing
        handlers, self.held_handlers = self.held_handlers, {}
        for signum, handler in handlers.items():  # the cell's own handlers, held off since its last cell ended
            _set_signal(signum, handler)
        with self.channel:
            self.cell_running = True
            self.next_cell.release()  # sub-calls that threads made while the REPL was idle go out now
        _executing = True

    def end_cell(self) -> None:
        """Stop the cell's clock and close the channel to threads: calls in flight get their replies first, later
        ones wait for the next cell. Only then may the serve loop read the channel again. Every signal handler the
        cell set is held off from here until the next cell begins: one raising (a time-box that fired late) while
        the cell is closed, its result sent or the next frame read would end the worker, so a signal that comes
        meanwhile is dropped (its cell is over)."""
        global _executing
        _executing = False  # an alarm from now on is stale: it must not raise in the serve loop
        self.held_handlers = _hold_cell_handlers() if self.owns_signals else {}
        self.disarm()
        with self.channel:  # no call frame goes out from here on
            with self.idle:  # and none is in flight
                self.cell_running = False
                self.next_cell.acquire()  # at most a moment: a waiting thread only passes through it
            self.disarm()  # a thread's last call may have re-armed the clock before we got here

    def execute(self, code: str) -> None:
        """Run one cell; builtins it replaced or deleted, a recursion limit it lowered below the worker's own and an
        int-to-text limit it lowered below Python's default are put back as it ends (before its error is formatted,
        which needs them), so `builtins.len = None`, `sys.setrecursionlimit(14)` or `sys.set_int_max_str_digits(640)`
        fails that cell only, not the worker (whose result frame writes ints). A process the cell forked that comes back
        here (no os._exit) ends now: it is not the REPL, and must not answer the host."""
        try:
            self._execute(code)
        finally:
            if sys.getrecursionlimit() < _RECURSION_LIMIT:
                sys.setrecursionlimit(_RECURSION_LIMIT)
            if 0 < _get_int_digits() < frames.LONGEST_INT_DIGITS:
                _set_int_digits(frames.LONGEST_INT_DIGITS)
            if _getpid() != self.pid:
                _end_forked_child()
            _restore_builtins()

    def _execute(self, code: str) -> None:
        self.cells += 1
        name = f"<cell {self.cells}>"
        _remember_source(name, code)  # tracebacks show the lines
        tree = compile(code, name, "exec", _ast.PyCF_ONLY_AST)  # ast.parse, without importing ast
        assert isinstance(tree, _ast.Module)
        _guard_answer_in_cell(tree, code)
        last = tree.body[-1] if tree.body else None
        if isinstance(last, _ast.Expr):
            tree.body.pop()
            self._run(compile(tree, name, "exec", _TOP_LEVEL_AWAIT))
            value = self._run(compile(_ast.Expression(last.value), name, "eval", _TOP_LEVEL_AWAIT))
            if value is not None:
                print(_echo(value))
        else:
            self._run(compile(tree, name, "exec", _TOP_LEVEL_AWAIT))

    def _run(self, code: Any) -> Any:
        """Run a cell's compiled code; returns its value. Code with a top-level `await` (`async with`, `async for`)
        compiles to a coroutine, run to its end on the REPL's own event loop, as IPython runs such a cell: one loop
        for every cell, so an asyncio object a cell made (a Queue, a Lock, a task it left running) serves the next."""
        if not code.co_flags & _CO_COROUTINE:
            return eval(code, self.namespace)
        return self._await(eval(code, self.namespace))

    def __del__(self) -> None:
        loop = self.__dict__.get("event_loop")
        if loop is not None and not loop.is_running():  # closed by its owner: an unclosed one warns when collected
            loop.close()

    def _await(self, coroutine: Any) -> Any:
        import asyncio  # only for a cell that awaits at its top level

        if self.event_loop is None or self.event_loop.is_closed():
            self.event_loop = asyncio.new_event_loop()
        loop = self.event_loop
        task = loop.create_task(coroutine)
        try:
            return loop.run_until_complete(task)
        except BaseException:
            task.cancel()  # a time limit, an error: the cell's own coroutine ends with it, not in a later cell
            raise

    def load(self, message: dict[str, Any]) -> dict[str, Any]:
        """More contexts (from files) and JSON variables, between cells: a session's next question. With `check`,
        the reply's `stale` names the JSON contexts a cell changed in place (`context.append(...)`,
        `context.clear()`): the host sends their files again, since the question's prompt describes them as loaded."""
        try:
            contexts = load_contexts(message.get("contexts") or [])
        except Exception as exc:
            return {"t": "loaded", "error": f"{type(exc).__name__}: {exc}"}
        variables = message.get("variables") or {}
        stale = self.changed_contexts() if message.get("check") else []
        self.begin_question(contexts, variables)
        return {"t": "loaded", "names": sorted({*contexts, *variables}), "stale": stale}

    def changed_contexts(self) -> list[str]:
        """The loaded JSON contexts (lists, dicts) that no longer serialize to the text they were loaded from. A str
        context cannot change in place; a rebound or deleted name is put back by `begin_question`."""
        return [
            name for name, value in self.loaded.items() if not isinstance(value, str) and _changed_since_loaded(value)
        ]

    def begin_question(self, contexts: dict[str, Any], variables: dict[str, Any]) -> None:
        """A session's next question. Every context is under its name again, as loaded: the question's prompt
        describes each one so, and the model asked now never saw an earlier question rebind or delete one (as the
        official RLM restores `context` from `context_0` after each run). The new contexts and variables join the
        namespace, a fresh `answer` dict (if among them) as the REPL's own (`_Answer`), which the earlier
        questions' threads cannot set."""
        self.new_question()
        variables = dict(variables)
        answer = variables.pop("answer", None)
        if isinstance(answer, dict):
            self.answer = _Answer(answer)
        self.namespace["answer"] = self.answer_binding = self.answer  # not what an earlier question's work bound
        self.stale_work_ended = False
        self.loaded.update(contexts)
        self.rebinding_told.clear()
        self.variables.update(variables)
        self.namespace.update(self.loaded)
        self.namespace.update(variables)
        self.reserved = self.reserved | set(contexts) | set(variables)

    def work_began(self, question: int) -> None:
        """A piece of `question`'s work (a thread, a pool's task, a signal handler) runs from now on."""
        with self.work_lock:
            self.live_work[question] = self.live_work.get(question, 0) + 1

    def work_ended(self, question: int) -> None:
        with self.work_lock:
            self.live_work[question] -= 1
            if not self.live_work[question]:
                del self.live_work[question]
            if question != self.question:
                self.stale_work_ended = True

    def earlier_work_may_have_run(self) -> bool:
        """Whether work of an earlier question of this session runs now, or ended since `answer` was last read:
        only such work may have made a binding of `answer` the question's own code did not make through
        `_AnswerName` (its `globals()['answer'] = ...`, `exec('answer = ...')`, `case ... as answer`, an import)."""
        with self.work_lock:
            return self.stale_work_ended or any(question != self.question for question in self.live_work)

    def new_question(self) -> None:
        """A session's next question begins: what an earlier one's work finished with is not its answer, and
        neither is what it finishes with from now on (its FINAL raises). That work is known by its origin (see
        `work_origin`), not by its thread: a pool kept from an earlier question runs this one's tasks as this
        question's, and another sandbox's threads (the in-process tier shares the host) are not this session's."""
        self.final = None
        self.question += 1

    def provide(self, name: str, value: Any) -> Any:
        """Bind `name` to `value` as a variable the REPL provides, from its setup cell (`workspace.placement_code`
        binds `workspace_dir` so): put back after a cell rebinds or deletes it, with a note, as the host's variables
        are, and no variable of the model's (`user_names`). Returns `value`."""
        self.variables[name] = value
        self.namespace[name] = value
        self.reserved = self.reserved | {name}
        return value

    def restore_functions(self, notes: CappedText) -> list[str]:
        """Put rlmx's functions and the host tools back under their names. A value the cell had bound to one of
        them is dropped, and the model told so in `notes` (it would otherwise find its variable gone next cell).
        Returns the names whose value was dropped."""
        replaced: dict[str, str] = {}  # name -> the type of the value dropped
        for name, function in self.functions.items():
            current = self.namespace.get(name, function)
            if current is not function:
                replaced[name] = type(current).__name__
            if self.namespace.get(name) is not function:
                self.namespace[name] = function
        if self.namespace.get("__builtins__") is not builtins:  # `__builtins__ = {}` would break every later cell
            self.namespace["__builtins__"] = builtins
        if self.namespace.get(ANSWER_NAME) is not self.answer_name:  # the cells' functions reach `answer` by it
            self.namespace[ANSWER_NAME] = self.answer_name
        if replaced:
            notes.write(
                f"Note: {', '.join(f'`{name}` ({kind})' for name, kind in replaced.items())} "
                f"{'was' if len(replaced) == 1 else 'were'} put back after this block: the REPL's functions and host "
                "tools keep their names, so your value under that name is gone. Keep your own values under other "
                "names.\n"
            )
        return list(replaced)

    def restore_variables(self, notes: CappedText) -> list[str]:
        """Put back a variable the REPL provides (`history`, `workspace_dir`: `variables`) that the cell rebound or
        deleted, and tell the model so: the prompt says it keeps its meaning, and the next cell would read the model's
        value as the session's (or open files in another folder). A context the cell deleted (`del context`,
        `globals().clear()`) is back too, with a note (the prompt describes it; a context the model rebound, `context =
        context.split()`, is its own to keep), and `__name__` is "__main__" again (deleted, names fall through to the
        builtins module's; merged from another module's globals, it is that module's: either way `if __name__ ==
        "__main__":` skips). Returns the contexts that hold another value than the one loaded, kept."""
        if self.namespace.get("__name__") != "__main__":  # deleted, or rebound: `globals().update(runpy.run_path(f))`
            self.namespace["__name__"] = "__main__"
        for name, value in self.loaded.items():
            current = self.namespace.get(name, _ABSENT)
            if current is _ABSENT:
                self.namespace[name] = value
                self.rebinding_told.pop(name, None)
                notes.write(
                    f"Note: `{name}` was deleted; it is back as rlmx loaded it (the data the question is about). "
                    "Keep what you derive from it under other names.\n"
                )
            elif current is not value and self.rebinding_told.get(name, _ABSENT) is not current:
                # kept (`context = context.split()` is the model's to make), but told once: a loop variable named
                # `context` would otherwise leave the question's data silently replaced for every later cell
                self.rebinding_told[name] = current
                notes.write(
                    f"Note: `{name}` now holds {_value_shape(current)}, no longer the data rlmx loaded "
                    f"({_value_shape(value)}). If that was by mistake, end a cell with `del {name}`: the next cell "
                    "has the loaded data again.\n"
                )
            elif current is value:
                self.rebinding_told.pop(name, None)
        rebound = [name for name, value in self.loaded.items() if self.namespace.get(name) is not value]
        for name, value in self.variables.items():
            current = self.namespace.get(name, _ABSENT)
            if current is value:
                continue
            self.namespace[name] = value
            what = "deleted" if current is _ABSENT else f"set to a {type(current).__name__}"
            meaning = _PROVIDED_MEANINGS.get(name, "")
            notes.write(
                f"Note: `{name}` was {what}; it is back as rlmx set it{meaning}. Keep your own values under other "
                "names.\n"
            )
        return rebound

    def restore_answer(self, notes: CappedText) -> None:
        """Read `answer` as bound now. A binding not made through `_AnswerName` (`answer = ...`) is the question's
        own (`exec("answer = ...")`, `case {...} as answer`, `import x as answer`, `globals()['answer'] = ...`)
        unless work of an earlier question of this session ran meanwhile: then it may be that work's (a thread
        writing `globals()['answer']` or a saved namespace), and is undone, with a note. `answer` must stay a dict
        (the prompt says so): a cell that rebinds it gets its dict back, with a text it assigned as the content
        (`answer = 'The total is 42'` meant that), and a note saying how to finish."""
        answer = self.namespace.get("answer", _ABSENT)
        if answer is not self.answer_binding and self.earlier_work_may_have_run():
            answer = self.answer_binding
            notes.write(
                "Note: `answer` was rebound other than by `answer = ...` while work an earlier question of this "
                "session started (a thread, a pool or a signal handler) was running, so the binding may be that "
                "work's: it was undone. Bind it with `answer = ...`, or set answer['content'] = ... and "
                "answer['ready'] = True.\n"
            )
        with self.work_lock:
            self.stale_work_ended = False
        if isinstance(answer, dict):
            self.namespace["answer"] = self.answer_binding = self.answer = answer
            return
        self.namespace["answer"] = self.answer_binding = self.answer
        if isinstance(answer, str):
            self.answer["content"] = answer
        self.answer["ready"] = False
        what = "deleted" if answer is _ABSENT else f"set to a {type(answer).__name__}"
        notes.write(
            f"Note: `answer` was {what}; it stays a dict. Finish with "
            "answer['content'] = ... and answer['ready'] = True"
            + (" (your text is its content now, not yet ready).\n" if isinstance(answer, str) else ".\n")
        )

    def answer_state(self) -> dict[str, Any]:
        answer = self.namespace.get("answer")
        if not isinstance(answer, dict):
            return {"content": None, "ready": False, "valid": False}
        # dict.get, not answer.get: an attribute the model set on its own dict (`answer.get = None`) is not the
        # dict's method, and the model's dict subclass answers with what it holds, as JSON would send it
        content = dict.get(answer, "content")
        ready = bool(dict.get(answer, "ready"))
        return {"content": _jsonable(content, 'answer["content"]'), "ready": ready, "valid": True}

    def serve(self) -> None:
        assert self.sock is not None
        while True:
            try:
                message = self.sock.next_frame()
                self.sock.head = None  # taken with no call since the line above: an exception lands before or after
            except ChannelClosed:
                self.close()
                return
            except (MemoryError, frames.FrameProtocolError):
                raise  # the channel's own failure: the worker ends and the host restarts it
            except BaseException:  # raised into this thread by what a cell left (an async exception): the read resumes
                continue
            kind = message["t"]
            if kind == "exec":
                result = self.run_cell(str(message.get("code", "")), float(message.get("timeout", 0)))
                result["id"] = message.get("id")
                self.send_result(result)
            elif kind in ("ping", "sync"):
                self.send({"t": "pong", "id": message.get("id")})
            elif kind == "load":
                self.send({**self.load(message), "id": message.get("id")})
            elif kind == "names":
                self.send({"t": "names", "id": message.get("id"), "names": self.names_with(str(message.get("prefix")))})
            elif kind == "shutdown":
                self.close()
                return

    def send_result(self, result: dict[str, Any]) -> None:
        """Send a cell's result: as it is (encoded once, the common case), else fitted to the frame cap (`_fit`: a
        huge FINAL value or answer), else as a bare error. A result never ends the worker: the REPL keeps its
        variables."""
        try:
            self.send(result)
            return
        except (frames.FrameProtocolError, MemoryError):  # raised while encoding: nothing was written
            pass
        try:
            self.send(_fit(result, self.max_frame))
        except (frames.FrameProtocolError, MemoryError) as exc:
            self.send(
                {
                    "t": "result",
                    "id": result.get("id"),
                    "status": "error",
                    "stdout": "",
                    "stdout_cut": 0,
                    "stderr": "",
                    "stderr_cut": 0,
                    "error": f"the cell's result could not be sent back ({exc}); print and return less per cell",
                    "final": None,
                    "answer": {"content": None, "ready": False, "valid": False},
                    "replaced": [],
                    "seconds": result.get("seconds", 0.0),
                }
            )

    def close(self) -> None:
        """Threads still waiting to make a sub-call get an error instead of waiting forever."""
        with self.channel:
            self.closed = True
            if not self.cell_running:
                self.next_cell.release()  # waiting threads wake, see `closed` and give up


_executing = False
"""True while a cell's code runs on the main thread: the only time the soft-timeout alarm may raise."""

_ABSENT = object()
_PROVIDED_MEANINGS = {
    "history": " (this session's earlier questions and answers)",
    "workspace_dir": " (the folder holding the workspace files)",
}
"""What the note on a restored variable (`Worker.restore_variables`) says it holds."""
"""What a namespace lookup of a deleted name gives (`namespace.get(name, _ABSENT)`)."""


class _CallFailed(RuntimeError):
    """A sub-call failed in rlmx's own machinery (a broken channel, a reply for no call): raised at once."""


_NEVER_HELD = (_CallFailed, ChannelClosed, frames.FrameProtocolError)
"""What a sub-call raises at once: the channel's failures, never held like what a cell raises during the call."""
_WAKE_CHECK_SECONDS = 0.5
"""How long a waiting caller sleeps before it looks again: a wake-up lost to an exception raised into the reader
between two of its steps costs this much, not the call."""

_clock = time.perf_counter  # bound once: a cell may replace time.perf_counter (a benchmark's mock)

_RECURSION_LIMIT = sys.getrecursionlimit()
"""The worker's own: its code between cells needs at least this much stack."""


def _forked_by_a_cell() -> None:
    """In a process a cell forked (os.fork, a multiprocessing child): its prints go to fd 1, which the worker's output
    capture reads, rather than to a copy of the cell's in-memory output that nobody will read."""
    sys.stdout = _io.open(1, "w", encoding="utf-8", errors="backslashreplace", closefd=False, buffering=1)
    sys.stderr = _io.open(2, "w", encoding="utf-8", errors="backslashreplace", closefd=False, buffering=1)
    _point(_CELL_STDOUT, sys.stdout)  # and what the cell kept of its streams (`saved = sys.stdout`) there too
    _point(_CELL_STDERR, sys.stderr)


def _end_forked_child() -> None:
    """A forked child back in the worker's code after its cell: flush what it printed and end (never answer)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # a closed or replaced stream: nothing more to keep
            pass
    os._exit(0)


_BUILTINS = dict(vars(builtins))
_MODULES = sys.modules
"""The interpreter's table of loaded modules (the dict import uses, whatever a cell binds `sys.modules` to)."""
_BUILTINS_NOW = vars(builtins)
"""The builtins module's own namespace (the same dict for the process's life), bound while `vars` is there."""
"""The builtins as the worker started: the worker's own code (frames, output capture, error formatting) calls
them, so a cell's `builtins.len = ...` must not outlive the cell."""


def _restore_builtins() -> None:
    """Put back every builtin a cell replaced or deleted, and the module itself where `import builtins` finds it (a
    cell's `sys.modules['builtins'] = fake` broke every later import that reads a builtin: "cannot import name 'abs'
    from 'builtins'"); names it added stay."""
    current = _BUILTINS_NOW  # not vars(builtins): a cell may have deleted vars itself
    for name, value in _BUILTINS.items():
        if current.get(name, _restore_builtins) is not value:
            current[name] = value
    if _MODULES.get("builtins") is not builtins:
        _MODULES["builtins"] = builtins


_MAIN_THREAD = _thread.get_ident()
_held = False  # the main thread is inside a sub-call's bookkeeping: an alarm waits until it ends
_due = False  # an alarm came while held
_interrupted = False  # a SIGINT came while held


def _on_alarm(signum: int, frame: Any) -> None:
    """SIGALRM: the cell's own timer's (its handler runs, see `_share_alarms`) or the cell's time limit's."""
    global _due
    if not _limit_passed(_monotonic(), frame):
        return
    if _executing:
        if _held:
            _due = True
            return
        raise CellTimeout()


# --- SIGALRM, shared by the cell's time limit and the cells' own timer ---------------------------------------------
# A process has one ITIMER_REAL and one SIGALRM handler, and the worker's time limit needs both. In the REPL's own
# process the cells get a timer and a handler of their own beside it (`_share_alarms`): `signal.alarm`,
# `signal.setitimer(ITIMER_REAL)`/`getitimer` and `signal.signal`/`getsignal(SIGALRM)` work on the cells' pair,
# and the real timer is set for whichever of the two deadlines comes first. A cell's handler set in one cell and
# armed in a later one (a time-box) then runs when its own timer fires, and the time limit is still enforced.

_setitimer, _getitimer = _signal.setitimer, _signal.getitimer
_monotonic = time.monotonic
_limit_due: float | None = None
"""When the cell's time limit is up (monotonic seconds), None while it is not running."""
_cells_timer_due: float | None = None
"""When the cells' own ITIMER_REAL timer fires next, None while it is not set."""
_cells_timer_interval = 0.0
_cells_alarm_handler: Any = _signal.SIG_DFL
"""The SIGALRM handler the cells set (with its setter's origin, see `_WorkHandler`)."""
_sharing_alarms = False
_EARLY = 0.001
_TIMER_MAX = 1e9
"""The furthest ahead the real timer is set, in seconds (about 31.7 years; `Budget.cell_timeout`'s own bound)."""
_limit_lapsed = False
"""Whether the time limit was stopped after it was up, its SIGALRM not yet read (see `_set_time_limit`)."""
"""How early a deadline may be seen as passed when the timer fires (the timer's clock is not `_monotonic`)."""


def _set_real_timer() -> None:
    """The process's timer, set for the first of the two deadlines. When that is the cells' repeating timer, the
    real one repeats with its interval: ticks a cell takes by `signal.sigwait`/`sigtimedwait` run no handler to
    re-arm it, and the time limit, once passed, is still seen at the next tick."""
    due = [when for when in (_limit_due, _cells_timer_due) if when is not None]
    if not due:
        _setitimer(_signal.ITIMER_REAL, 0.0)
        return
    first = min(due)
    repeats = first == _cells_timer_due and _cells_timer_interval > 0
    # At most _TIMER_MAX ahead: setitimer raises OverflowError past about 9.2e9 s (int64 ns), which failed every
    # cell of a huge time limit (audit 82 V01). Firing early is harmless: `_limit_passed` finds nothing due, re-arms.
    delay = min(max(first - _monotonic(), 1e-6), _TIMER_MAX)
    _setitimer(_signal.ITIMER_REAL, delay, min(_cells_timer_interval, _TIMER_MAX) if repeats else 0.0)


def _set_time_limit(seconds: float) -> float:
    """Start (`seconds` > 0) or stop the cell's time limit; returns the seconds that were left of it. A limit stopped
    after it was up (a call's bookkeeping stops the clock) leaves its SIGALRM on its way to the handler, which must
    still read it as the limit's (`_limit_lapsed`), or the cell would run on to the hard kill."""
    global _limit_due, _limit_lapsed
    now = _monotonic()
    left = max(_limit_due - now, 0.0) if _limit_due is not None else 0.0
    if seconds > 0:
        _limit_lapsed = False
    elif _limit_due is not None and _limit_due <= now + _EARLY:
        _limit_lapsed = True
    _limit_due = now + seconds if seconds > 0 else None
    _set_real_timer()
    return left


def _limit_passed(now: float, frame: Any) -> bool:
    """On SIGALRM: whether the cell's time limit is up. The cells' own timer that is due runs their handler first
    (in a cell; between cells its signal is dropped, as every cell handler's is, see Worker.end_cell)."""
    global _limit_due, _cells_timer_due, _limit_lapsed
    if not _sharing_alarms:
        return True  # one timer, the time limit's
    limit = (_limit_due is not None and _limit_due <= now + _EARLY) or _limit_lapsed
    own = _cells_timer_due is not None and _cells_timer_due <= now + _EARLY
    if limit:
        _limit_due, _limit_lapsed = None, False
    if own:
        _cells_timer_due = now + _cells_timer_interval if _cells_timer_interval else None
    _set_real_timer()
    if own and not limit and _executing and callable(_cells_alarm_handler):
        _cells_alarm_handler(_signal.SIGALRM, frame)
    return limit


def _cells_timer(seconds: float, interval: float = 0.0) -> tuple[float, float]:
    """`signal.setitimer(ITIMER_REAL, ...)` for the cells: their own timer; returns the old one's (left, interval)."""
    global _cells_timer_due, _cells_timer_interval
    seconds, interval = float(seconds), float(interval)
    if seconds < 0 or interval < 0:
        return _setitimer(_signal.ITIMER_REAL, seconds, interval)  # the real one's error
    old = _cells_timer_left()
    _cells_timer_due = _monotonic() + seconds if seconds > 0 else None
    _cells_timer_interval = interval if seconds > 0 else 0.0
    _set_real_timer()
    return old


def _cells_timer_left() -> tuple[float, float]:
    """The cells' timer as `getitimer` tells it: a repeating one whose ticks were taken without a handler (by
    `sigwait`) is at its next tick."""
    if _cells_timer_due is None:
        return 0.0, _cells_timer_interval
    left = _cells_timer_due - _monotonic()
    if left < 0 and _cells_timer_interval > 0:
        left %= _cells_timer_interval
    return max(left, 0.0), _cells_timer_interval


def _cells_alarm(seconds: int) -> int:
    """`signal.alarm` for the cells: whole seconds on their own timer; returns the seconds the old one had left."""
    if not isinstance(seconds, int):
        raise TypeError(f"'{type(seconds).__name__}' object cannot be interpreted as an integer")
    left = _cells_timer(seconds)[0]
    return max(round(left), 1) if left > 0 else 0


def _cells_setitimer(which: int, seconds: float, interval: float = 0.0) -> tuple[float, float]:
    if which == _signal.ITIMER_REAL:
        return _cells_timer(seconds, interval)
    return _setitimer(which, seconds, interval)


def _cells_getitimer(which: int) -> tuple[float, float]:
    return _cells_timer_left() if which == _signal.ITIMER_REAL else _getitimer(which)


def _share_alarms() -> None:
    """In the REPL's own process: the cells' SIGALRM timer and handler kept apart from the time limit's."""
    global _sharing_alarms
    _sharing_alarms = True
    for module in (_signal, sys.modules.get("signal")):  # signal.py copies _signal's functions as it loads
        if module is not None:
            module.alarm = _cells_alarm  # type: ignore[attr-defined]
            module.setitimer = _cells_setitimer  # type: ignore[attr-defined]
            module.getitimer = _cells_getitimer  # type: ignore[attr-defined]


def _is_the_cells_alarm(signum: Any) -> bool:
    return _sharing_alarms and signum == _signal.SIGALRM and _thread.get_ident() == _MAIN_THREAD


def _on_interrupt(signum: int, frame: Any) -> None:
    """SIGINT (a cell's own os.kill, a watchdog thread's _thread.interrupt_main): a KeyboardInterrupt in the cell,
    held like the alarm while the main thread is inside a sub-call's bookkeeping; nothing between cells."""
    global _interrupted
    if _executing:
        if _held:
            _interrupted = True
            return
        raise KeyboardInterrupt


_BOOKKEEPING_FRAMES = 60
"""Nested calls a sub-call's bookkeeping may need (its own functions, the frame codec, json's C recursion),
with room to spare."""


def _room_for_bookkeeping(frames_left: int) -> None:
    """Raise RecursionError now if fewer than `frames_left` calls can still be nested here."""
    if frames_left:
        _room_for_bookkeeping(frames_left - 1)


class _Hooked:
    def method(self) -> None:
        """(only the type of a bound method is used)"""


_PYTHON_HOOKS: tuple[type, ...] = (type(_room_for_bookkeeping), type(_Hooked().method))
"""Functions and bound methods: profile hooks set from Python (`sys.setprofile(guard)`), which may raise."""


def _hold_cell_handlers() -> dict[int, Any]:
    """Swap every Python handler a cell set (any of `_SIGNALS`) for one that drops the signal; returns the cell's
    handlers, to put back. Blocking the signals instead would not do: a signal sent to the process is delivered to
    any thread that does not block it (the output drain, the cell's own), and Python then runs its handler on this
    one. Only in the REPL's own process (`Worker.owns_signals`). About 10 µs a cell."""
    if _thread.get_ident() != _MAIN_THREAD:  # signal handlers are the main thread's to set
        return {}
    handlers: dict[int, Any] = {}
    for signum in _SIGNALS:
        handler = _get_signal(signum)
        if callable(handler) and handler not in (_on_alarm, _on_interrupt, _drop_signal):
            _set_signal(signum, _drop_signal)
            handlers[signum] = handler
    return handlers


def _drop_signal(signum: int, frame: Any) -> None:
    """A cell's signal that came while its cell was being closed: dropped (see Worker.end_cell)."""


def _hold_alarms() -> None:
    global _held, _due, _interrupted
    _due = _interrupted = False  # left over only when one came at the very end of the last hold: delivered already
    _held = True


def _release_alarms() -> None:
    """End the hold; raise the CellTimeout of an alarm that came during it (the cell's time was up), else the
    KeyboardInterrupt of a SIGINT that did."""
    global _held, _due, _interrupted
    _held = False
    due, interrupted, _due, _interrupted = _due, _interrupted, False, False
    if _executing and due:
        raise CellTimeout()
    if _executing and interrupted:
        raise KeyboardInterrupt


def unsendable(kind: str, problem: str) -> Exception:
    """The error a sub-call whose request cannot be sent raises in the cell (`problem`: what the frame codec said):
    RecursionError when the stack ran out while encoding it (the call is nested too deep), else ValueError."""
    what = "this tool call's arguments" if kind == "tool" else f"this {kind}_query request"
    if "RecursionError" in problem:
        return RecursionError(
            f"{what} cannot be encoded here: too little of the stack is left (the call is nested "
            "too deep, or the value is); call it from shallower code, or send a flatter value"
        )
    json_only = "pass JSON values only (str, int, float, bool, None, list, dict)"
    fix = json_only if "JSON" in problem else "send less per call"
    return ValueError(f"{what} cannot be sent ({problem}); {fix}")


class _Answer(dict):  # type: ignore[type-arg]  # no `typing` at run time in the worker
    """The REPL's `answer` dict. Work that an earlier question of a session started may read it but not change it
    (see Worker.new_question): its `answer['ready'] = True` would finish the question asked now, its
    `answer.clear()` erase what this question wrote. It takes no attributes, as a dict does not (`__slots__`):
    `answer.ready = True` raises AttributeError rather than set nothing the host reads, and `answer.get = None`
    cannot stand in for the dict's own method (the worker reads the answer with `dict.get` all the same)."""

    __slots__ = ()

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(_answer_attribute_problem(name), name=name, obj=self)

    def __delattr__(self, name: str) -> None:
        raise AttributeError(_answer_attribute_problem(name), name=name, obj=self)

    def __setitem__(self, key: str, value: Any) -> None:
        _refuse_an_earlier_questions_thread("answer[...] = ...")
        super().__setitem__(key, value)

    def update(self, *args: Any, **kwargs: Any) -> None:
        _refuse_an_earlier_questions_thread("answer.update")
        super().update(*args, **kwargs)

    def setdefault(self, key: str, default: Any = None) -> Any:
        _refuse_an_earlier_questions_thread("answer.setdefault")
        return super().setdefault(key, default)

    def __ior__(self, other: Any) -> _Answer:  # type: ignore[misc]
        _refuse_an_earlier_questions_thread("answer |= ...")
        return super().__ior__(other)

    def __delitem__(self, key: str) -> None:
        _refuse_an_earlier_questions_thread("del answer[...]")
        super().__delitem__(key)

    def pop(self, *args: Any) -> Any:
        _refuse_an_earlier_questions_thread("answer.pop")
        return super().pop(*args)

    def popitem(self) -> Any:
        _refuse_an_earlier_questions_thread("answer.popitem")
        return super().popitem()

    def clear(self) -> None:
        _refuse_an_earlier_questions_thread("answer.clear")
        super().clear()


def _answer_attribute_problem(name: str) -> str:
    """What a dict says to `answer.<name> = ...` (the prompt calls `answer` a dict), and how to write it instead."""
    said = "attribute {!r} is read-only" if hasattr(dict, name) else "has no attribute {!r}"
    return (
        f"'dict' object {said.format(name)}: `answer` is a dict, so write answer[{name!r}] = ... "
        "(answer['ready'] = True finishes)"
    )


def _refuse_an_earlier_questions_thread(function: str) -> None:
    """Raise RuntimeError in work a session's earlier question started (see Worker.new_question)."""
    if _an_earlier_questions_work():
        handler = _HANDLER_RUNNING.get()
        what = "this thread was started" if handler is None else f"the signal handler {handler} was set"
        raise RuntimeError(
            f"{function}: {what} by an earlier question of this session, so what it finishes with does not answer "
            "the question asked now; finish from this question's own cells"
        )


_TOP_LEVEL_AWAIT: int = _ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
_CO_COROUTINE = 0x80  # inspect.CO_COROUTINE: code with a top-level await, which evaluates to a coroutine

_CALLED_AS = {"llm": "llm_query", "rlm": "rlm_query", "tool": "call_tool"}
"""The REPL function a call of each kind is made through (its _batched form too), as refusals name it."""


def _refuse_a_call_from_an_earlier_question(kind: str) -> None:
    """Raise RuntimeError in work a session's earlier question started (see Worker.new_question): its sub-calls and
    tool calls would be spent from the budget of the question asked now, and traced as its own."""
    if _an_earlier_questions_work():
        handler = _HANDLER_RUNNING.get()
        what = "this thread was started" if handler is None else f"the signal handler {handler} was set"
        function = _CALLED_AS.get(kind, kind)
        raise RuntimeError(
            f"{function}: {what} by an earlier question of this session, so its calls would be charged to the "
            f"question asked now; none was sent. Let a question's threads finish (join them) before it ends, and "
            f"call {function} from this question's own cells"
        )


def _an_earlier_questions_work() -> bool:
    origin = work_origin()
    return origin is not None and origin[0].question != origin[1]


# --- the name `answer` as a cell's functions reach it -----------------------------------------------------------
# `_Answer` guards the REPL's own dict, but the model may bind one of its own (`answer = {'content': '', 'ready':
# False}`), and a thread an earlier question left finds that one under the name. So the functions a cell defines
# (what threads, pools and event loops run, maybe after the question that started them) reach the global `answer`
# through `_AnswerName`, whatever is bound to it. A cell's top level is left as it is: it runs now, as its own
# question's work.

ANSWER_NAME = "__rlmx_answer__"
"""The namespace's name for the `_AnswerName` through which a cell's functions reach `answer`."""


class _AnswerName:
    """The global `answer`, as a cell's functions read, set and delete it, and as its top level binds it (see
    `_guard_answer`). Work of an earlier question may read it, never set or rebind it: a dict the model bound in
    place of the REPL's own reaches that work as a copy whose writes raise, as the REPL's own dict's do. What it
    binds is the question's own binding (`Worker.answer_binding`): one made any other way is not."""

    __slots__ = ("worker",)

    def __init__(self, worker: Worker) -> None:
        self.worker = worker

    @property
    def answer(self) -> Any:
        value = self.worker.namespace.get("answer", _ABSENT)
        if value is _ABSENT:
            raise NameError("name 'answer' is not defined")
        if isinstance(value, dict) and not isinstance(value, _Answer) and _an_earlier_questions_work():
            return _Answer(value)
        return value

    @answer.setter
    def answer(self, value: Any) -> None:
        _refuse_an_earlier_questions_thread("answer = ...")
        # Bound as given, never a copy: `answer = result` then `result['ready'] = True` finishes, as in Python. (A
        # plain dict so bound is not guarded against an earlier question's work that found it in a saved namespace.)
        self.worker.namespace["answer"] = self.worker.answer_binding = value

    @answer.deleter
    def answer(self) -> None:
        _refuse_an_earlier_questions_thread("del answer")
        if self.worker.namespace.pop("answer", _ABSENT) is _ABSENT:
            raise NameError("name 'answer' is not defined")
        self.worker.answer_binding = _ABSENT

    def bind(self, value: Any) -> Any:
        """`(answer := value)` where that binds the global `answer`: bound as `answer = value` is; `value` back."""
        self.answer = value
        return value


_FUNCTION_SCOPES = (_ast.FunctionDef, _ast.AsyncFunctionDef, _ast.Lambda)
_COMPREHENSIONS = (_ast.ListComp, _ast.SetComp, _ast.DictComp, _ast.GeneratorExp)
_SCOPES = (*_FUNCTION_SCOPES, _ast.ClassDef, *_COMPREHENSIONS)
_RUN_LATER = (*_FUNCTION_SCOPES, _ast.GeneratorExp)
"""The scopes whose code runs when called or iterated, maybe on a thread, maybe after a later question began."""
_BINDING_BY_NAME = (
    _ast.FunctionDef,
    _ast.AsyncFunctionDef,
    _ast.ClassDef,
    _ast.ExceptHandler,
    _ast.MatchAs,
    _ast.MatchStar,
)
"""The nodes that bind their `name` in the scope they are part of."""


def _guard_answer_in_cell(tree: Any, source: str) -> None:
    """`_guard_answer` over a cell (`tree`, from `source`) whose text has the name `answer` (`ａｎｓｗｅｒ` is the
    same name): the rest is left as compiled, at the cost of a text search."""
    if "answer" in source or not source.isascii():
        _guard_answer(tree)


def _guard_answer(node: Any) -> None:
    """Rewrite, in place, the uses of the global name `answer` under `node` (a cell) as `__rlmx_answer__.answer`:
    inside a function, lambda or generator expression (code that may run later, maybe as an earlier question's
    work) loads, stores and deletes alike, and the cell's own stores and deletes, so that `_AnswerName` knows the
    question's own binding; a `:=` that binds the global becomes `__rlmx_answer__.bind(...)` (its target cannot be
    an attribute); an annotated `answer: T = v` that binds the global (at the cell's top level: in a function it
    is the function's own) becomes `__rlmx_answer__.answer: T = v`. A name a function binds itself (a parameter,
    an assignment) is its own and stays."""
    _guarded(node, ())


def _guard_fields(fields: list[tuple[Any, str]], scopes: tuple[tuple[str, str | None], ...]) -> None:
    for holder, name in fields:
        value = getattr(holder, name, None)
        if isinstance(value, list):
            value[:] = [_guarded(item, scopes) for item in value]
        elif isinstance(value, _ast.AST):
            setattr(holder, name, _guarded(value, scopes))


def _guarded(node: Any, scopes: tuple[tuple[str, str | None], ...]) -> Any:
    """`node`, its uses of the global `answer` rewritten; `scopes` (outermost first) hold each enclosing scope's
    kind and how it binds `answer` (see `_answer_in`)."""
    if isinstance(node, _ast.Name):
        return _answer_reached(node) if node.id == "answer" and _reaches_global(scopes, node.ctx) else node
    if isinstance(node, _ast.NamedExpr) and node.target.id == "answer" and _reaches_global(scopes, node.target.ctx):
        _guard_fields([(node, "value")], scopes)
        return _answer_bound(node)
    if isinstance(node, _ast.AnnAssign) and _binds_the_global_answer(node, scopes):  # at the cell's top level
        node.target, node.simple = _answer_reached(node.target), 0  # `__rlmx_answer__.answer: T = v`
    if isinstance(node, _ast.NamedExpr | _ast.AnnAssign):
        _guard_fields([(node, "value"), (node, "annotation")], scopes)
    elif isinstance(node, _SCOPES):
        outside, inside = _scope_parts(node)
        kind = "class" if isinstance(node, _ast.ClassDef) else "function" if isinstance(node, _RUN_LATER) else ""
        _guard_fields(outside, scopes)
        _guard_fields(inside, (*scopes, (kind, _answer_in(node))))
    elif isinstance(node, _ast.AST):
        _guard_fields(_all_fields(node), scopes)
    return node


def _binds_the_global_answer(annotated: Any, scopes: tuple[tuple[str, str | None], ...]) -> bool:
    """Whether `answer: T = v` binds the global `answer` (in a function, an annotated name is the function's)."""
    target = annotated.target
    return (
        isinstance(target, _ast.Name)
        and target.id == "answer"
        and annotated.value is not None
        and _reaches_global(scopes, target.ctx)
    )


def _reaches_global(scopes: tuple[tuple[str, str | None], ...], ctx: Any) -> bool:
    """Whether `answer` in the innermost of `scopes` is the global one, where it is guarded: in code that may run
    later (a function's), or bound by code that runs now (the cell's own binding)."""
    if isinstance(ctx, _ast.Load) and all(kind != "function" for kind, _ in scopes):
        return False  # read by the cell's top level, its classes and comprehensions: they run now
    for depth, (kind, binds) in enumerate(reversed(scopes)):
        if kind == "class" and depth > 0:
            continue  # a class's names are not seen from the functions inside it
        if binds is not None:
            return binds == "global"
    return True


def _answer_in(scope: Any) -> str | None:
    """How `scope` binds `answer`: "global" (declared so), "local" (a parameter, bound in it, or declared
    nonlocal), or None (it only uses it: the enclosing scopes decide)."""
    bound = isinstance(scope, _FUNCTION_SCOPES) and "answer" in _parameters(scope.args)
    for node in _region(_scope_parts(scope)[1]):
        if isinstance(node, _ast.Global | _ast.Nonlocal) and "answer" in node.names:
            return "global" if isinstance(node, _ast.Global) else "local"
        bound = bound or _binds_answer(node)
    return "local" if bound else None


def _binds_answer(node: Any) -> bool:
    """Whether `node` binds the name `answer` in the scope whose part it is."""
    if isinstance(node, _ast.Name):
        return node.id == "answer" and not isinstance(node.ctx, _ast.Load)
    if isinstance(node, _ast.alias):
        return (node.asname or node.name.partition(".")[0]) == "answer"
    if isinstance(node, _COMPREHENSIONS):  # a `:=` in it binds in the enclosing scope
        return any(isinstance(inner, _ast.NamedExpr) and inner.target.id == "answer" for inner in _walk(node))
    if isinstance(node, _ast.MatchMapping):
        return node.rest == "answer"
    return isinstance(node, _BINDING_BY_NAME) and getattr(node, "name", None) == "answer"


def _parameters(args: Any) -> set[str]:
    every = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
    return {arg.arg for arg in every if arg is not None}


def _scope_parts(scope: Any) -> tuple[list[tuple[Any, str]], list[tuple[Any, str]]]:
    """A scope's fields: those that run in the enclosing scope (decorators, defaults, bases, a comprehension's
    first iterable), and those that run in its own."""
    if isinstance(scope, _ast.ClassDef):
        return [(scope, "decorator_list"), (scope, "bases"), (scope, "keywords")], [(scope, "body")]
    if isinstance(scope, _FUNCTION_SCOPES):
        outside: list[tuple[Any, str]] = [(scope, name) for name in ("args", "decorator_list", "returns")]
        return outside, [(scope, "body")]
    first, *rest = scope.generators
    inside = [(first, "target"), (first, "ifs"), *((more, name) for more in rest for name in more._fields)]
    return [(first, "iter")], inside + [(scope, name) for name in ("elt", "key", "value") if name in scope._fields]


def _all_fields(node: Any) -> list[tuple[Any, str]]:
    return [(node, name) for name in node._fields]


def _nodes(fields: list[tuple[Any, str]]) -> list[Any]:
    """The nodes these fields hold (a field holds a node, a list of nodes and names, or None)."""
    found = []
    for holder, name in fields:
        value = getattr(holder, name, None)
        found += [item for item in (value if isinstance(value, list) else [value]) if isinstance(item, _ast.AST)]
    return found


def _region(fields: list[tuple[Any, str]]) -> Any:
    """The nodes under these fields of a scope whose names that scope resolves: of a nested scope, only the parts
    that run in this one."""
    todo = _nodes(fields)
    while todo:
        node = todo.pop()
        yield node
        todo += _nodes(_scope_parts(node)[0] if isinstance(node, _SCOPES) else _all_fields(node))


def _walk(node: Any) -> Any:
    todo = [node]
    while todo:
        node = todo.pop()
        yield node
        todo += _nodes(_all_fields(node))


def _answer_bound(walrus: Any) -> Any:
    """`__rlmx_answer__.bind(value)` in place of `(answer := value)`, at its place in the source."""
    where = {key: getattr(walrus, key) for key in ("lineno", "col_offset", "end_lineno", "end_col_offset")}
    holder = _ast.Name(id=ANSWER_NAME, ctx=_ast.Load(), **where)
    method = _ast.Attribute(value=holder, attr="bind", ctx=_ast.Load(), **where)
    return _ast.Call(func=method, args=[walrus.value], keywords=[], **where)


def _answer_reached(name: Any) -> Any:
    """`__rlmx_answer__.answer` in place of the name `answer` (to load, store or delete, as the name was), at its
    place in the source."""
    where = {key: getattr(name, key) for key in ("lineno", "col_offset", "end_lineno", "end_col_offset")}
    holder = _ast.Name(id=ANSWER_NAME, ctx=_ast.Load(), **where)
    return _ast.Attribute(value=holder, attr="answer", ctx=name.ctx, **where)


# --- whose work a thread does: its origin -----------------------------------------------------------------------
# A cell's thread does the work of (its worker, the session's question asked now). So does every piece of work the
# cell starts, and the work that starts in turn: a thread (threading, `_thread`, a timer), a task given to a pool
# (whose thread may be older than the question, or another sandbox's pool's). The origin travels with the work,
# not with the OS thread, and decides whose cell a thread's prints go to (in-process) and whether its FINAL or
# `answer` may finish the question asked now. It is a context variable, so asyncio carries it as it carries any:
# a coroutine or callback handed to an event loop (run_coroutine_threadsafe, call_soon_threadsafe, a task's own
# callbacks) runs as the work of whoever handed it over, even on a loop a thread has run since an earlier question.

_ORIGIN: ContextVar[tuple[Worker, int] | None] = ContextVar("rlmx_work_origin", default=None)
"""The (worker, question) whose work runs now; None in work no cell started."""

_HANDLER_RUNNING: ContextVar[str | None] = ContextVar("rlmx_signal_handler_running", default=None)
"""The name of the cell's signal handler running now (what a refusal names), None in other work."""

_THREAD_STARTS = ("start_new_thread", "start_new", "start_joinable_thread")
"""`_thread`'s functions that start a thread (by Python version); `threading` keeps its own references to them."""

_carrying_origins = False


def work_origin() -> tuple[Worker, int] | None:
    """The (worker, question) whose work this thread does now; None where no cell started it (the host's own)."""
    return _ORIGIN.get()


def _as_work_of(origin: tuple[Worker, int] | None, function: Any) -> Any:
    """`function`, run as `origin`'s work on whichever thread runs it (a pool's task): the thread's own origin
    is back once it returns."""
    if not callable(function):
        return function  # the pool's own error is raised, as before

    def run(*args: Any, **kwargs: Any) -> Any:
        before = _ORIGIN.set(origin)
        _work_began(origin)
        try:
            return function(*args, **kwargs)
        finally:
            _work_ended(origin)
            _ORIGIN.reset(before)

    return run


def _work_began(origin: tuple[Worker, int] | None) -> None:
    """A piece of `origin`'s work runs from now on (counted in `Worker.live_work`)."""
    if origin is not None:
        origin[0].work_began(origin[1])


def _work_ended(origin: tuple[Worker, int] | None) -> None:
    if origin is not None:
        origin[0].work_ended(origin[1])


def _starting_as_own_work(start: Any) -> Any:
    """A thread-starting function whose threads do the starter's work (a host's thread stays the host's)."""

    def start_as_own_work(function: Any, /, *args: Any, **kwargs: Any) -> Any:
        origin = work_origin()
        if origin is None or not callable(function):
            return start(function, *args, **kwargs)

        counted = not _is_a_pool_loop(function)

        def body(*args: Any, **kwargs: Any) -> Any:
            _ORIGIN.set(origin)  # for the thread's life: its uncaught error's traceback is printed after this
            if not counted:
                return function(*args, **kwargs)
            _work_began(origin)
            try:
                return function(*args, **kwargs)
            finally:
                _work_ended(origin)

        body.__qualname__ = getattr(function, "__qualname__", body.__qualname__)  # as an uncaught error names it
        return start(body, *args, **kwargs)

    return start_as_own_work


_POOL_LOOPS = {("concurrent.futures.thread", "_worker")}
"""A pool's thread loops (module, name): they run only the tasks handed to them, each counted as its submitter's
work (`_executor_tasks_carry_origins`), and the pool's initializer, counted as its maker's
(`_initializer_as_own_work`). An idle pool kept from an earlier question is no work of that question.
(multiprocessing's pools are not here: their task-handing thread iterates the submitter's iterables itself.)"""


def _is_a_pool_loop(function: Any) -> bool:
    """Whether `function` (what a thread start runs: `Thread._bootstrap`, bound) runs one of `_POOL_LOOPS`."""
    target = getattr(getattr(function, "__self__", None), "_target", None)
    return (getattr(target, "__module__", None), getattr(target, "__name__", None)) in _POOL_LOOPS


class _WorkHandler:
    """A signal handler a cell set, run as the work of the question whose cell set it: Python runs every handler
    on the main thread, in whatever cell runs there then (a later question's), as a thread runs in its starter's."""

    __slots__ = ("handler", "origin")

    def __init__(self, origin: tuple[Worker, int], handler: Any) -> None:
        self.origin = origin
        self.handler = handler

    def __call__(self, signum: int, frame: Any) -> Any:
        running = _HANDLER_RUNNING.set(getattr(self.handler, "__qualname__", "") or repr(self.handler))
        try:
            return _as_work_of(self.origin, self.handler)(signum, frame)
        finally:
            _HANDLER_RUNNING.reset(running)


def _as_set(handler: Any) -> Any:
    """A handler as the cell set it (what `signal.getsignal` and `signal.signal` give back)."""
    return handler.handler if type(handler) is _WorkHandler else handler


def _setting_handlers_as_own_work(signum: Any, handler: Any) -> Any:
    """`signal.signal`: a cell's handler is held with its setter's origin (the host's own are set as they are)."""
    global _cells_alarm_handler
    origin = work_origin()
    if origin is not None and callable(handler) and handler not in (_on_alarm, _on_interrupt):  # the REPL's own
        handler = _WorkHandler(origin, handler)
    if _is_the_cells_alarm(signum):  # kept beside the time limit's (see `_share_alarms`)
        if not callable(handler) and handler not in (_signal.SIG_DFL, _signal.SIG_IGN):
            return _set_signal(signum, handler)  # the real one's TypeError
        previous, _cells_alarm_handler = _cells_alarm_handler, handler
        return _as_set(previous)
    return _as_set(_set_signal(signum, handler))


def _handler_as_set(signum: Any) -> Any:
    """`signal.getsignal`: the handler a cell set, not its origin's wrapper."""
    if _sharing_alarms and signum == _signal.SIGALRM:
        return _as_set(_cells_alarm_handler)
    return _as_set(_get_signal(signum))


def _submitting_as_own_work(submit: Any) -> Any:
    """A pool's method taking `func` first: the task does the submitter's work, whichever thread runs it."""

    def submit_as_own_work(self: Any, func: Any, /, *args: Any, **kwargs: Any) -> Any:
        return submit(self, _as_work_of(work_origin(), func), *args, **kwargs)

    return submit_as_own_work


def _executor_tasks_carry_origins(module: Any) -> None:
    """concurrent.futures' thread pool (and asyncio's run_in_executor, to_thread over it): a work item, made as
    work is submitted, runs as its submitter's work."""
    item = module._WorkItem
    init, run = item.__init__, item.run

    def made(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        self.rlmx_origin = work_origin()

    def ran(self: Any, *args: Any, **kwargs: Any) -> Any:
        return _as_work_of(getattr(self, "rlmx_origin", None), run)(self, *args, **kwargs)

    item.__init__, item.run = made, ran
    _initializer_as_own_work(module.ThreadPoolExecutor, 2)  # (max_workers, thread_name_prefix, initializer, ...)


def _initializer_as_own_work(pool: Any, position: int) -> None:
    """A pool's `initializer` (its `__init__`'s argument at `position`, or by name) runs, on each of the pool's
    threads, as the work of whoever made the pool: those threads' own loops are not counted (`_POOL_LOOPS`)."""
    init = pool.__init__

    def made(self: Any, *args: Any, **kwargs: Any) -> None:
        if len(args) > position and callable(args[position]):
            args = (*args[:position], _as_work_of(work_origin(), args[position]), *args[position + 1 :])
        elif callable(kwargs.get("initializer")):
            kwargs["initializer"] = _as_work_of(work_origin(), kwargs["initializer"])
        init(self, *args, **kwargs)

    pool.__init__ = made


def _done_callbacks_carry_origins(module: Any) -> None:
    """concurrent.futures' Future: a callback runs as the work of whoever added it, not of the thread that
    finishes the future (a pool's, maybe kept from an earlier question)."""
    future = module.Future
    add = future.add_done_callback

    def add_as_own_work(self: Any, fn: Any) -> None:
        add(self, _as_work_of(work_origin(), fn))

    future.add_done_callback = add_as_own_work


def _callback_as_work_of(origin: tuple[Worker, int] | None, callback: Any) -> Any:
    """A multiprocessing pool's result callback, run as `origin`'s work. What it raises is printed, as a thread's
    uncaught error is: raised, it would end the pool's result thread, and every later wait on the pool would hang."""
    run = _as_work_of(origin, callback)

    def guarded(value: Any) -> None:
        try:
            run(value)
        except Exception as exc:
            try:
                sys.stderr.write(f"Exception in a pool's callback:\n{_described(exc, _format_traceback)}\n")
            except Exception:  # no stream to say it on: the pool lives on all the same
                pass

    return guarded


def _thread_pool_tasks_carry_origins(module: Any) -> None:
    """multiprocessing's pools: each ThreadPool task runs as its submitter's work (a process pool's run in other
    processes), and so does each result callback, on whichever pool it runs (see `_callback_as_work_of`)."""
    pool = module.ThreadPool
    for name in ("apply_async", "_map_async", "imap", "imap_unordered"):
        setattr(pool, name, _submitting_as_own_work(getattr(pool, name)))
    result = module.ApplyResult  # MapResult's too
    init = result.__init__

    def made(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        origin = work_origin()
        for name in ("_callback", "_error_callback"):
            if callable(callback := getattr(self, name, None)):
                setattr(self, name, _callback_as_work_of(origin, callback))

    result.__init__ = made


def carry_origins() -> None:
    """From now on, work a cell starts carries its origin (see `work_origin`): `_thread`'s starts wrapped, and
    `threading`'s own references to them; the signal handlers a cell sets; the pools' tasks and callbacks once
    their modules load (asyncio's carry it by themselves). Once, for good (threads outlive the cells that start
    them): a worker's process at its start, the in-process tier at its first cell."""
    global _carrying_origins
    if _carrying_origins:
        return
    _carrying_origins = True
    for name in _THREAD_STARTS:
        if (start := getattr(_thread, name, None)) is not None:
            setattr(_thread, name, _starting_as_own_work(start))
    threading = sys.modules.get("threading")  # imported later, it takes the wrapped ones
    for name in _THREAD_STARTS:
        if (start := getattr(threading, f"_{name}", None)) is not None:
            setattr(threading, f"_{name}", _starting_as_own_work(start))
    # signal.py's own signal() and getsignal() call these: a cell's handlers carry their setter's origin
    _signal.signal = _setting_handlers_as_own_work  # type: ignore[assignment]
    _signal.getsignal = _handler_as_set  # type: ignore[assignment]
    _after_import("concurrent.futures._base", _done_callbacks_carry_origins)
    _after_import("concurrent.futures.thread", _executor_tasks_carry_origins)
    _after_import("multiprocessing.pool", _thread_pool_tasks_carry_origins)


def _python_reads(name: str) -> str:
    """The name Python binds for identifier `name` in code: its NFKC form (PEP 3131). As context.python_reads."""
    if name.isascii():
        return name
    import unicodedata  # only for a name that is not ASCII

    return unicodedata.normalize("NFKC", name)


def _text(prompt: Any) -> str:
    """A prompt as text: bytes-like ones decoded (`_decoded`), anything else its str()."""
    if isinstance(prompt, str):
        return prompt
    return _decoded(prompt) if isinstance(prompt, _BYTES_LIKE) else str(prompt)


_BYTES_LIKE = (bytes, bytearray, memoryview)


def _decoded(data: Any) -> str:
    """Bytes-like `data` as UTF-8 text, bytes that are not UTF-8 as U+FFFD: what the cell meant, not its repr."""
    return _utf8_decode(bytes(data), "replace", True)[0]


def _as_list(values: Any, what: str) -> list[Any]:
    if isinstance(values, str | bytes) or not hasattr(values, "__iter__"):
        raise TypeError(f"{what} must be a list, not {type(values).__name__}")
    return list(values)


def _llm_item(prompt: Any, schema: Any) -> dict[str, Any]:
    item: dict[str, Any] = {"prompt": _text(prompt)}
    if schema is not None:
        if hasattr(schema, "model_json_schema"):  # a pydantic model class, when the REPL has pydantic
            schema = schema.model_json_schema()
        if not isinstance(schema, dict):
            raise TypeError(f"schema must be a JSON Schema dict or a pydantic model class, not {type(schema).__name__}")
        item["schema"] = schema
    return item


def _rlm_item(prompt: Any, context: Any, loaded: dict[str, Any]) -> dict[str, Any]:
    item: dict[str, Any] = {"prompt": _text(prompt)}
    if context is None:
        return item
    shared = next((name for name, value in loaded.items() if value is context), None)
    if shared is not None and not isinstance(context, str) and _changed_since_loaded(context):
        shared = None  # changed in place since it was loaded: the host's copy is out of date, so send this one
    if shared is not None:  # a whole loaded context: the host already holds it, so send only its name
        item["context_ref"] = shared
    else:
        item["context"] = context if isinstance(context, str) else _jsonable(context, "rlm_query context")
    return item


def _item_text(result: dict[str, Any]) -> str:
    return str(result.get("text", "")) if result.get("ok") else f"Error: {result.get('error', 'call failed')}"


def _jsonable(value: Any, what: str) -> Any:
    """The value itself if it survives JSON, else converted where that loses nothing (`_json_ready`: bytes as
    text, numpy values, pydantic models, dataclasses, sets), else its str(). Raises ValueError, naming `what`, for
    a value too deeply nested (or circular) to send, or one JSON would change (`json_problem`): the cell fails with
    that message and the REPL keeps its variables."""
    if value is None or isinstance(value, str | bool | float):
        return value
    if isinstance(value, int):
        too_long = frames.int_too_long(value)
        if too_long is not None:
            raise ValueError(f"{what}: {too_long}")
        return value
    if isinstance(value, _BYTES_LIKE):
        return _decoded(value)
    problem = frames.nesting_problem(value)
    if problem is not None:
        raise ValueError(
            f"{what}: this value cannot be sent back: {problem}. Flatten it, or pass a string (e.g. json.dumps of a "
            "part of it)"
        )
    problem = json_problem(value)
    if problem is not None:
        raise ValueError(f"{what}: {problem}")
    try:
        try:
            return _json_loads(_json_dumps(value))
        except (TypeError, ValueError):
            pass
        try:  # bytes, numpy values, a pydantic model are the usual reasons; its shape was checked above
            return _json_loads(_json_dumps(_json_ready(value)))
        except (TypeError, ValueError):
            pass
    except RecursionError:  # its shape was checked above: what is short is the stack where this was called
        raise RecursionError(
            f"{what}: too little of the stack is left here to send this value (the call is nested too deep, e.g. "
            "in deep recursion); call it from shallower code"
        ) from None
    try:
        return str(value)
    except Exception as exc:
        raise ValueError(f"{what}: this value cannot be sent back ({type(exc).__name__}: {exc})") from None


BYTES_KEY = "__rlmx_bytes__"
"""A bytes value crossing as a host tool's argument or result (JSON has no bytes): `{BYTES_KEY: its base64}`, in a
call item or reply that says `"bytes": true` (only those are looked through, so other calls pay nothing)."""


def bytes_to_wire(value: bytes | bytearray | memoryview) -> dict[str, str]:
    """One bytes-like value as it crosses (see BYTES_KEY)."""
    import binascii  # a C module; only for a call that carries bytes

    return {BYTES_KEY: binascii.b2a_base64(value, newline=False).decode("ascii")}


def holds_bytes(value: Any) -> bool:
    """Whether a bytes-like value is in `value` (a list, tuple or dict, at any depth). Iterative; each container is
    looked at once, so a circular one ends (the frame's encoder refuses it after)."""
    if isinstance(value, _BYTES_LIKE):
        return True
    todo, seen = [value], set()
    while todo:
        item = todo.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list | tuple) else ()
        if not children or id(item) in seen:
            continue
        seen.add(id(item))
        for child in children:
            if isinstance(child, _BYTES_LIKE):
                return True
            if isinstance(child, list | tuple | dict):
                todo.append(child)
    return False


def with_bytes_as_wire(value: Any) -> Any:
    """`value` with each bytes-like value in it as it crosses (`bytes_to_wire`), tuples as lists. `value` is known
    to be neither circular nor too deep (`frames.nesting_problem`)."""
    if isinstance(value, _BYTES_LIKE):
        return bytes_to_wire(value)
    if isinstance(value, dict):
        return {key: with_bytes_as_wire(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [with_bytes_as_wire(item) for item in value]
    return value


def with_bytes_from_wire(value: Any) -> Any:
    """A JSON value that crossed with bytes in it (`with_bytes_as_wire`), with each of them bytes again. Raises
    ValueError for a tag that is not base64."""
    if isinstance(value, dict):
        if len(value) == 1 and type(tagged := value.get(BYTES_KEY)) is str:
            import binascii

            return binascii.a2b_base64(tagged)  # binascii.Error is a ValueError
        return {key: with_bytes_from_wire(item) for key, item in value.items()}
    if isinstance(value, list):
        return [with_bytes_from_wire(item) for item in value]
    return value


def _json_ready(value: Any) -> Any:
    """`value` in JSON's own types as far as it converts without loss, at any depth: bytes-like values as their text
    (`_decoded`) and keys (`_key_text`, `_json_key_ready`), tuples as lists, sets as sorted lists (in their own
    order when their items do not sort), and what `_plain_form` converts; anything else as it is (the caller then
    refuses or sends the str() of the whole value, so no item is turned into text behind the schema's back), and
    so is a dict two of whose keys would become one (a date and its ISO text)."""
    if type(value) in _JSON_SCALARS:  # most items of a big list: one lookup
        return value
    if isinstance(value, _BYTES_LIKE):
        return _decoded(value)
    if isinstance(value, dict):
        converted = {_json_key_ready(key): _json_ready(item) for key, item in value.items()}
        return converted if len(converted) == len(value) else value
    if isinstance(value, set | frozenset):
        return [_json_ready(item) for item in _in_order(value)]
    if isinstance(value, list | tuple):
        return [_json_ready(item) for item in value]
    if value is None or isinstance(value, str | int | float):
        return value
    plain = _plain_form(value)
    return value if plain is value else _json_ready(plain)


def _in_order(items: set[Any] | frozenset[Any]) -> list[Any]:
    """A set's items sorted (the same answer from run to run: a set's own order changes with hash seeds), mixed
    kinds by kind, then text form."""
    try:
        return sorted(items)
    except TypeError:
        return sorted(items, key=lambda item: (type(item).__name__, repr(item)))


_JSON_SCALARS = frozenset({str, int, float, bool, type(None)})


def _json_key_ready(key: Any) -> Any:
    """A dict key as JSON can write it: bytes-like as text (`_key_text`), a date, UUID, Decimal or Enum as its text;
    other keys as they are."""
    if type(key) in _JSON_SCALARS:
        return key
    if isinstance(key, _BYTES_LIKE):
        return _key_text(key)
    plain = _plain_form(key)
    return key if plain is key or isinstance(plain, dict | list) else str(plain)


def _plain_form(value: Any) -> Any:
    """A pydantic model as `model_dump(mode="json", by_alias=True)` (the names its schema shows), a dataclass
    instance as the dict of its fields, a numpy array or scalar (anything with `tolist()`) as its list or Python
    number, a date, datetime or time as ISO 8601 text, a Decimal as a JSON number (`_decimal_number`), a UUID as its
    text, an Enum member as its value; anything else, or one whose conversion raises, is `value` itself. Looked up
    on the type: an instance's __getattr__ (a proxy's) is not asked. The modules are looked up only when loaded:
    a value of their types exists only then."""
    kind = type(value)
    try:
        if callable(getattr(kind, "model_dump", None)):
            return value.model_dump(mode="json", by_alias=True)
        datetime = _MODULES.get("datetime")
        if datetime is not None and issubclass(kind, datetime.date | datetime.time):
            return value.isoformat()
        decimal = _MODULES.get("decimal")
        if decimal is not None and issubclass(kind, decimal.Decimal):
            return _decimal_number(value, decimal.Decimal)
        uuid = _MODULES.get("uuid")
        if uuid is not None and issubclass(kind, uuid.UUID):
            return str(value)
        enum = _MODULES.get("enum")
        if enum is not None and issubclass(kind, enum.Enum):
            return value.value
        dataclasses = sys.modules.get("dataclasses")  # loaded wherever a dataclass instance exists
        if dataclasses is not None and dataclasses.is_dataclass(kind):
            return {field.name: getattr(value, field.name) for field in dataclasses.fields(value)}
        if callable(getattr(kind, "tolist", None)):
            return value.tolist()
    except Exception:
        pass
    return value


def _decimal_number(value: Any, decimal: Any) -> Any:
    """A finite Decimal as the JSON number that pydantic and JSON Schema take for a number field (and for an integer
    one when it is whole: an int), when that number is the Decimal's own value (`Decimal('3.30')` is 3.3,
    `Decimal('4.00')` is 4); any other as its exact text, never a number with digits lost: one a float cannot hold
    (`Decimal('12345678901234567.89')`, `Decimal('0.1000000000000000000001')`), one past a float's range (not
    Infinity or a silent 0.0), and NaN and the infinities, which JSON lacks ('NaN'). A schema that asks for a number
    then refuses the text, and the model is told why, as for any value that does not fit. `decimal`: the Decimal
    class (the decimal module is the cell's to patch)."""
    if not value.is_finite():
        return str(value)
    if value == value.to_integral_value() and value.adjusted() < 4000:  # whole: exact as an int (Python prints
        return int(value)  # ints of up to 4,300 digits)
    number = float(value)
    if decimal(repr(number)) != value:  # the float's shortest text is another value: 17 digits
        return str(value)  # kept of more, Infinity, 0.0
    return number


def _key_text(key: Any) -> Any:
    """A bytes-like dict key as UTF-8 text, bytes that are not UTF-8 as backslash escapes (`b'caf\\xe9.txt'` ->
    'caf\\xe9.txt'): U+FFFD would make `b'caf\\xe9'` and `b'caf\\xea'` one key. Other keys as they are."""
    return _utf8_decode(bytes(key), "backslashreplace", True)[0] if isinstance(key, _BYTES_LIKE) else key


def _json_key(key: Any) -> str | None:
    """The object key JSON writes for dict key `key` (json.dumps's rule: 1 -> "1", True -> "true"); None for a key
    JSON cannot write."""
    if isinstance(key, str):
        return key
    if isinstance(key, _BYTES_LIKE):
        return str(_key_text(key))
    if key is None or isinstance(key, bool):
        return {None: "null", True: "true", False: "false"}[key]
    if isinstance(key, int):
        return int.__repr__(key)
    if isinstance(key, float):  # json.dumps writes nan and the infinities as JavaScript does
        if key != key:
            return "NaN"
        if key in (_INFINITY, -_INFINITY):
            return "Infinity" if key > 0 else "-Infinity"
        return float.__repr__(key)
    return None


_INFINITY = float("inf")


def json_problem(value: Any) -> str | None:
    """What JSON would lose of `value` (at any depth) without a word, or the other side refuse, with what to do
    instead; None when nothing. Two keys of one dict JSON writes as one (`1` and `'1'`: one entry would be
    dropped), an int too long to be read back (`frames.int_too_long`). `value` is known to be neither circular nor
    too deep."""
    todo = [value]
    while todo:
        item = todo.pop()
        if type(item) is int:
            too_long: str | None = frames.int_too_long(item)
            if too_long is not None:
                return too_long
        elif isinstance(item, dict):
            if not all(type(key) is str for key in item):
                written: dict[str, Any] = {}
                for key in item:
                    as_json = _json_key(key)
                    if as_json is None:
                        continue
                    if as_json in written:
                        return (
                            f"the keys {written[as_json]!r} and {key!r} are both the JSON key {as_json!r}, so one "
                            "entry would be lost; use distinct str keys"
                        )
                    written[as_json] = key
            todo.extend(item.values())
        elif isinstance(item, list | tuple):
            todo.extend(item)
    return None


def _traceback() -> Any:
    """The traceback module, imported on the first error; None if even that fails (no memory left)."""
    try:
        import traceback
    except BaseException:
        return None
    return traceback


def _timed_out(timeout: float) -> str:
    return (
        f"TimeoutError: the cell ran past its {timeout:g} s time limit and was interrupted; variables defined before "
        "the interruption are kept. Work on smaller pieces."
    )


def _described(exc: BaseException, formatter: Any) -> str:
    """`formatter(exc)`, or a plain description when formatting fails (a SyntaxError built with odd arguments, an
    exception whose attributes raise): the cell fails with it, the worker does not."""
    try:
        text: str = formatter(exc)
        return text
    except BaseException:
        try:
            return f"{type(exc).__name__}: {exc}"
        except BaseException:
            return f"{type(exc).__name__} (its message could not be shown)"


_NEW_INTERPRETER = (
    "popen_spawn_posix",
    "popen_forkserver",
    "forkserver",
    "resource_tracker",
    "multiprocessing/spawn",
    "multiprocessing/synchronize",  # a lock pickled for a new interpreter (one that cannot be made: `_SEMAPHORES`)
)
"""Where multiprocessing starts or serves a new interpreter ('spawn', 'forkserver': Python 3.14's default on Linux)
or hands it the locks it shares."""

_SEMAPHORES = (
    "\nNote: multiprocessing could not make a lock, and every multiprocessing pool needs some (ThreadPool and "
    "multiprocessing.dummy.Pool too, though they run threads only): they are POSIX semaphores in /dev/shm, which "
    "this REPL cannot write or has filled (the error above). Use concurrent.futures.ThreadPoolExecutor, which needs "
    "none (e.g. with ThreadPoolExecutor(8) as pool: results = list(pool.map(llm_query, prompts))), or "
    "llm_query_batched(prompts) for sub-calls."
)
"""The note for a semaphore that could not be made (no writable /dev/shm, or a full one)."""
_MAKING_A_SEMAPHORE = {("multiprocessing/synchronize", "SemLock.__init__"), ("multiprocessing/synchronize", "__init__")}
"""The frame that raises when a semaphore cannot be made (as Python 3.11+ names it, and 3.10)."""

_STARTING_A_PROCESS = ("multiprocessing/", "concurrent/futures/process", "subprocess")
"""Where a process pool, a ProcessPoolExecutor or subprocess starts a process (denied on the isolated tier)."""

_NO_PROCESS = (
    "\nNote: this REPL may start no new process at all (the isolated tier runs threads only), so multiprocessing's "
    "process pools, ProcessPoolExecutor and subprocess cannot run here, whatever their start method. Use "
    "concurrent.futures.ThreadPoolExecutor, or llm_query_batched(prompts) for sub-calls."
)


_PTYS_REFUSED_NOTE = (
    "\nNote: this REPL may not open a pseudo-terminal (/dev/ptmx, /dev/pts): the sandbox refuses them, since each "
    "takes one of the host's few (kernel.pty.max) whatever memory limit is set, so os.openpty, pty.fork, pty.spawn "
    "and programs that need a terminal cannot run here, and retrying will not help. Run programs with pipes "
    "instead (subprocess.run([...], capture_output=True, text=True))."
)
"""The note for a pseudo-terminal a Landlock rule set refused, on every tier: the default tier's
(`harden.refuse_ptys`), and the isolated tier's in both modes (`harden_zygote`: only the listed paths open, none a
pty). Python's own errors say "Permission denied" with no file, or pty's "out of pty devices", as if the host's pool
were spent (audit 86 V14; audit 87 V16 on the isolated tier)."""
_ptys_refused = False
"""Whether this worker's Landlock domain refuses pseudo-terminals (`applied["ptys_refused"]` said so): only then is
an error of the pty module given `_PTYS_REFUSED_NOTE`."""


class PseudoTerminalRefused(PermissionError):
    """os.openpty or os.forkpty, refused by the sandbox (a pseudo-terminal is not to be had in this REPL)."""


def _name_refused_ptys(applied: dict[str, Any]) -> None:
    """Where `applied` says pseudo-terminals are refused, make os.openpty and os.forkpty say so when they fail
    (PseudoTerminalRefused, an OSError as before, so pty's own fallbacks still run) and mark pty's errors for the
    note."""
    global _ptys_refused
    if not applied.get("ptys_refused") or _ptys_refused:
        return
    _ptys_refused = True
    for name in ("openpty", "forkpty"):
        original = getattr(os, name, None)
        if original is not None:
            setattr(os, name, _refusal_named(original))


def _refusal_named(original: Any) -> Any:
    def opened(*args: Any, **kwargs: Any) -> Any:
        try:
            return original(*args, **kwargs)
        except PermissionError as exc:
            said = f"this REPL may not open a pseudo-terminal (os.{original.__name__}: the sandbox refuses them)"
            raise PseudoTerminalRefused(exc.errno, said) from None

    opened.__name__ = opened.__qualname__ = original.__name__
    opened.__doc__ = original.__doc__
    return opened


class NewInterpreterRefused(OSError):
    """multiprocessing was about to start a new Python interpreter that this REPL's user may not run."""


def _refuse_unrunnable_interpreters(util: Any) -> None:
    """Wrap multiprocessing.util.spawnv_passfds, through which 'spawn', 'forkserver' and the resource tracker start
    a new interpreter. It never reads back an exec that failed: on a root host the REPL runs as a uid that may not
    reach a Python under /root, each child exits unseen, and the pool then fails at random (a ZeroDivisionError with
    no worker left, a hang to the time limit or past the hard one, which loses the REPL). Refused at once instead."""
    spawnv_passfds = util.spawnv_passfds

    def checked(path: Any, args: Any, passfds: Any) -> Any:
        if not _access(path, os.X_OK):
            raise NewInterpreterRefused(
                f"this REPL cannot start a new Python interpreter: its user may not run {os.fsdecode(path)}"
            )
        return spawnv_passfds(path, args, passfds)

    util.spawnv_passfds = checked


def _limit_note(exc: BaseException, may_fork: bool = True) -> str:
    """What to do about an error that one of the REPL's limits caused, as a note for the model; else "". A thread
    that cannot start (a pool as wide as the batch) meets the process limit or the memory limit; multiprocessing's
    'spawn' and 'forkserver' start methods fail in many ways (a read-only file system, a refused connection, a broken
    pipe) because they start a new interpreter outside the REPL; its locks, pools' included, need a writable
    /dev/shm. `may_fork` is False where no process may start at all (the isolated tier), and no note offers one."""
    frames_seen = _frames(exc)
    of_pty = isinstance(exc, PseudoTerminalRefused) or any(file.endswith("/pty.py") for file, _ in frames_seen)
    if _ptys_refused and isinstance(exc, OSError) and of_pty:
        return _PTYS_REFUSED_NOTE
    if isinstance(exc, OSError) and frames_seen and frames_seen[-1] in _MAKING_A_SEMAPHORE:
        return _SEMAPHORES  # raised by the semaphore's own making
    files = [file for file, _ in frames_seen]
    new_interpreter = isinstance(exc, NewInterpreterRefused) or any(p in f for f in files for p in _NEW_INTERPRETER)
    starting = isinstance(exc, PermissionError) and any(p in f for f in files for p in _STARTING_A_PROCESS)
    if not may_fork and (new_interpreter or starting):
        return _NO_PROCESS
    if new_interpreter:
        return _new_interpreter_note(offer_fork=("multiprocessing/pool", "ThreadPool.__init__") not in frames_seen)
    if not isinstance(exc, RuntimeError) or "can't start new thread" not in exc.args:
        return ""
    cap = _process_limit()
    counted = (
        ""
        if cap is None
        else f"runs at most {cap:,} threads and processes at once (RLIMIT_NPROC, its own few included), and "
    )
    return (
        f"\nNote: this REPL {counted}every thread's stack counts against its "
        "memory limit. Use a smaller pool (ThreadPoolExecutor(max_workers=16)), or llm_query_batched(prompts), which "
        "sends a whole batch at once with no thread per prompt."
    )


def _frames(exc: BaseException) -> list[tuple[str, str]]:
    """Where `exc` was raised, outermost first: each frame's file (as "multiprocessing/pool" for the stdlib's
    multiprocessing, else its whole name) and function (its qualified name where Python has one, 3.11+)."""
    seen, tb = [], exc.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        file = code.co_filename.replace("\\", "/")
        if (inside := file.rfind("multiprocessing/")) >= 0 and file.endswith(".py"):
            file = file[inside:-3]
        seen.append((file, getattr(code, "co_qualname", code.co_name)))
        tb = tb.tb_next
    return seen


def _new_interpreter_note(offer_fork: bool) -> str:
    """The note for multiprocessing that would start a new interpreter where fork works; `offer_fork` unless the
    cell was making a thread pool (whose locks met the resource tracker): a process pool is not what it wanted."""
    fork = "multiprocessing.get_context('fork') (e.g. get_context('fork').Pool(4)), " if offer_fork else ""
    return (
        "\nNote: multiprocessing's 'spawn' and 'forkserver' start methods, and the resource tracker they run, start "
        f"a new Python interpreter, which this REPL's sandbox does not support. Use {fork}"
        "concurrent.futures.ThreadPoolExecutor, or llm_query_batched(prompts) for sub-calls."
    )


def _process_limit() -> int | None:
    """The REPL's RLIMIT_NPROC (which counts threads), or None when there is none (root ignores it)."""
    try:
        import resource  # only here: on an error a limit caused

        soft = resource.getrlimit(resource.RLIMIT_NPROC)[0]
    except Exception:
        return None
    return None if soft == resource.RLIM_INFINITY or os.geteuid() == 0 else int(soft)


def _format_exception_only(exc: BaseException) -> str:
    traceback = _traceback()
    if traceback is None:
        return f"{type(exc).__name__}: {exc}"
    return "".join(traceback.format_exception_only(type(exc), exc)).rstrip()


def _format_traceback(exc: BaseException) -> str:
    traceback = _traceback()
    if traceback is None:
        return _format_exception_only(exc)
    frames_ = [
        f
        for f in traceback.extract_tb(exc.__traceback__)
        if f.filename.startswith("<cell") or (_HERE not in f.filename and not f.filename.startswith(_COMPILED_AS))
    ]
    lines = traceback.format_list(frames_[-8:])
    return ("Traceback (most recent call last):\n" + "".join(lines) if lines else "") + _format_exception_only(exc)


_FIT_SLACK = 1024
"""Bytes a fitted result leaves free under the frame cap: room for a JSON Lines end, and to spare."""
_FITTED_FIELDS = (("final", "value"), ("answer", "content"))
_FIT_NAMES = {"final": "FINAL's value was", "final_var": "FINAL_VAR's value was", "submit": "SUBMIT's fields were"}
_FIT_ANSWER = 'answer["content"] was'
_FITTED_OUTPUTS = (("stdout", "stdout_cut"), ("stderr", "stderr_cut"))
_OUTPUT_KEPT = 4096
"""Bytes of the cell's printed output kept (its start) when the values must be cut even without the rest of it."""


def _sent_size(value: Any) -> int:
    """The bytes `value` takes in a frame: its JSON, as UTF-8 (a control character is 6 bytes, an emoji 4)."""
    return len(frames.utf8(_json_dumps(value)))


def _fit(result: dict[str, Any], max_frame: int) -> dict[str, Any]:
    """A result that fits in one frame of `max_frame` bytes, measured as the frame is (encoded bytes, not
    characters). The answer matters most: the cell's printed output gives way first, its start kept (at least
    `_OUTPUT_KEPT` bytes of it) with a note of how much was cut; then the FINAL value and answer["content"] are
    clipped to share the room left, each ending with a note that says why it was cut and how to return less; a
    non-text value is clipped as its JSON text. A value cut is marked: its state (`final`, `answer`) gets `"cut"`,
    the message for the model (`_cut_error`), and the engine takes no cut value as an answer. Never raises: the
    host must always hear back and the REPL keeps its variables, so a result that cannot be written at all (its
    output and error alone are over the cap) comes back as the cell's error, its answer dropped."""
    try:
        room = max_frame - _FIT_SLACK
        if _sent_size(result) <= room:
            return result
        parts: list[tuple[dict[str, Any], str, Any, str, int, str, int]] = []  # state, field, value, its text,
        # the text's size, the value's name and the value's own size
        for key, field in _FITTED_FIELDS:
            state = result.get(key)
            if isinstance(state, dict) and state.get(field) is not None:
                value = state[field]
                text = value if isinstance(value, str) else _json_dumps(value)
                size = _sent_size(text)
                name = _FIT_NAMES.get(str(state.get("kind")), _FIT_NAMES["final"]) if key == "final" else _FIT_ANSWER
                parts.append((state, field, value, text, size, name, size if text is value else _sent_size(value)))
                state[field] = ""
        rest = _sent_size(result)
        if rest > room:
            raise ValueError(f"its output and error alone are over the {max_frame:,}-byte frame cap")
        values = sum(part[6] for part in parts)
        _cut_output(result, values + rest - room, max_frame)
        left = room - _sent_size(result)
        parts.sort(key=lambda part: part[6])  # the smaller one first: what it leaves unused goes to the other
        for index, (state, field, value, text, size, name, whole) in enumerate(parts):
            share = left // (len(parts) - index)
            note = _cut_note(name, whole, max_frame, whole <= room)  # alone it fits: cut for what shares the frame
            emptied = _sent_size(state)
            if whole <= share:
                state[field] = value  # whole, as it was given
            else:  # marked: a cut value is no answer (the engine fails the cell with the mark's message)
                state["cut"] = _cut_error(name, whole, max_frame, whole <= room)
                state[field] = _clipped(text, size, share - (_sent_size(state) - emptied), note)
            left -= _sent_size(state) - emptied
        if _sent_size(result) > room:
            raise ValueError(f"its output and error alone are over the {max_frame:,}-byte frame cap")
        return result
    except (TypeError, ValueError, RecursionError, MemoryError) as exc:
        return {
            **result,  # what it holds that is small; `send_result` drops the rest if it is not
            "status": "error",
            "error": _described(exc, _unsendable_result),
            "final": None,
            "answer": {"content": None, "ready": False, "valid": False},
        }


def _cut_output(result: dict[str, Any], over: int, max_frame: int) -> None:
    """Free `over` bytes from the cell's printed output (stdout, then stderr, the bigger first), keeping at least
    `_OUTPUT_KEPT` bytes of each's start, so the answer values need less cutting, or none. What is cut is added to
    the count of characters cut (`stdout_cut`), and a note at the cut says how much and why."""
    for key, count in sorted(_FITTED_OUTPUTS, key=lambda output: -len(result.get(output[0]) or "")):
        text = result.get(key)
        if over <= 0 or not isinstance(text, str) or not text:
            continue
        size = _sent_size(text)
        budget = max(size - over, min(size, _OUTPUT_KEPT))
        if budget >= size:
            continue
        longest = _output_note(len(text), max_frame)  # the most digits the count can have: the real note is no longer
        kept = len(_clipped(text, size, budget, longest)) - len(longest)
        cut = len(text) - kept
        result[key] = text[:kept] + _output_note(cut, max_frame)
        result[count] = int(result.get(count) or 0) + cut
        over -= size - _sent_size(result[key])


def _output_note(cut: int, max_frame: int) -> str:
    return (
        f"\n... [{cut:,} more characters of output cut here: with the answer it was over the {max_frame:,}-byte "
        "frame cap, and the answer is kept first. Print less: a count or a sample]"
    )


def _unsendable_result(exc: BaseException) -> str:
    detail = str(exc) or ("no memory was left to encode it" if isinstance(exc, MemoryError) else "")
    return (
        f"the cell's result could not be sent back ({type(exc).__name__}: {detail}); return less: a summary or the "
        "part asked for"
    )


def _cut_note(name: str, size: int, max_frame: int, shared: bool = False) -> str:
    """What ends a value `_fit` cut: what was cut, why, and how to return less. `name` ends with its verb ("was",
    "were"); `shared` when the value alone would fit but not with the cell's output and other values."""
    if shared:
        return (
            f"\n... [cut: {name} {size:,} bytes as sent back (JSON, UTF-8); together with the cell's printed output "
            f"and its other values that was over the {max_frame:,}-byte frame cap, so only its start is kept above. "
            "Return less (a summary, or only the part asked for), or print less in the same cell]"
        )
    return (
        f"\n... [cut: {name} {size:,} bytes as sent back (JSON, UTF-8), over the {max_frame:,}-byte frame cap; "
        "only its start is kept above. Return less: a summary, or only the part asked for]"
    )


def _cut_error(name: str, size: int, max_frame: int, shared: bool = False) -> str:
    """The cell's error for a value `_fit` cut (the `"cut"` mark): the model never sees the value, so it is told
    what was too large, that it was not taken, and how to return less."""
    why = (
        f"together with the cell's printed output and its other values that was over the {max_frame:,}-byte frame cap"
        if shared
        else f"over the {max_frame:,}-byte frame cap"
    )
    less = (
        "Return less (a summary, or only the part asked for), or print less in the same cell"
        if shared
        else "Return less: a summary, or only the part asked for"
    )
    return f"{name} {size:,} bytes as sent back (JSON, UTF-8); {why}, so it was not taken as the answer. {less}."


def _clipped(text: str, size: int, budget: int, note: str) -> str:
    """The start of `text` (`size` bytes in a frame) and `note`, together at most `budget` bytes in a frame, cut
    between whole characters. Raises ValueError when not even the note fits."""
    keep = budget - _sent_size(note)
    if keep < 2:
        raise ValueError(f"no room is left for even a note saying a value was cut ({note.strip()})")
    end, kept = len(text), size
    while kept > keep:  # shrink by the ratio measured: a few passes, as the cost per character varies along the text
        end = max(0, min(end - 1, int(end * keep / kept * 0.99)))
        kept = _sent_size(text[:end])
    try:
        end = _graphemes().boundary_before(text, end)
    except Exception:  # a cell broke the import machinery: cut where it falls
        pass
    return text[:end] + note


def load_context(path: str, kind: str, prefix: int = 0, runs_as: int = -1) -> Any:
    """A context from its file. `prefix`: the file is laid out for strmap.py (that many zero bytes, ASCII text, a
    NUL), and the text is mapped in place when this interpreter and the file's owner allow it for a worker running
    as uid `runs_as` (-1: the current one). Otherwise the file is mapped and decoded straight from the mapping (no
    intermediate bytes copy)."""
    if prefix and kind == "text":
        try:
            mapped_text = strmap.mapped_str(path, os.geteuid() if runs_as < 0 else runs_as)
        except OSError:
            mapped_text = None
        if mapped_text is not None:
            return mapped_text
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size <= prefix:
            text = ""
        else:
            with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as mapped, memoryview(mapped) as view:
                text = str(view[prefix : size - 1] if prefix else view, "utf-8")
    if kind != "json":
        return text
    value = _json_loads(text)
    _LOADED_JSON[id(value)] = (len(text), hash(text))  # a fraction of what json.loads of it took
    return value


_LOADED_JSON: dict[int, tuple[int, int]] = {}
"""id() of each JSON context's value as loaded -> (length, hash) of the text it was loaded from, the host's form
(`json.dumps(value, ensure_ascii=False)`): the host holds that text, so rlm_query may send a whole JSON context by
name only while the model has not changed it in place (`context[:] = ...`, `del context[k]`)."""


def _changed_since_loaded(value: Any) -> bool:
    """Whether a loaded JSON context no longer serializes to the text it was loaded from (True when unsure)."""
    stamp = _LOADED_JSON.get(id(value))
    if stamp is None:
        return True
    try:
        import json  # only here: an rlm_query handing a child a whole JSON context

        text = json.dumps(value, ensure_ascii=False)
    except Exception:  # imports broken by the cell, or a set put into it (the copy's own check says what is wrong)
        return True
    return (len(text), hash(text)) != stamp


def load_contexts(specs: list[dict[str, Any]], runs_as: int = -1) -> dict[str, Any]:
    return {
        spec["name"]: load_context(spec["path"], spec["kind"], int(spec.get("prefix") or 0), runs_as) for spec in specs
    }


def _runs_as(init: dict[str, Any]) -> int:
    """The uid the worker will run as once hardened: the one it switches to, unless it must stay root
    (harden.switch_user, when the Python's import directories are closed to other users)."""
    target = (init.get("harden") or {}).get("switch_uid")
    if not target or harden.closed_import_dirs(harden.import_dirs()):
        return os.geteuid()
    return int(target)


def _worker_for(
    channel: SocketChannel | StdioChannel, values: dict[str, Any], init: dict[str, Any], fds: list[_FdOutput]
) -> Worker:
    """The worker for a hardened process. The thread that drains `fds` (fd 1, fd 2) starts here, after the
    hardening."""
    _signal.signal(_signal.SIGALRM, _on_alarm)
    _signal.signal(_signal.SIGINT, _on_interrupt)
    channel.max_frame = int(init.get("max_frame", frames.DEFAULT_MAX_FRAME_BYTES))
    worker = Worker(
        channel,
        values,
        variables=init.get("variables"),
        answer=init.get("answer"),
        max_output=int(init.get("max_output", 20_000)),
        max_frame=channel.max_frame,
        max_batch=int(init.get("max_batch", 1_000)),
    )
    _thread.start_new_thread(_drain, (fds,))
    carry_origins()
    _share_alarms()
    worker.fd_output, worker.fd_errors = fds
    worker.owns_signals = True
    worker.may_fork = not (init.get("harden") or {}).get("seccomp")  # the worker's filter denies fork
    os.register_at_fork(after_in_child=_forked_by_a_cell)
    # The host may not read this process's memory, nor its children's: each sends its own (harden.MemoryReports)
    os.register_at_fork(after_in_child=harden.report_own_memory)
    harden.report_own_memory()
    _after_import("multiprocessing.util", _refuse_unrunnable_interpreters)
    # The namespace is the `__main__` module's, so what a cell defines can be pickled by reference
    # (multiprocessing, concurrent.futures.ProcessPoolExecutor), as in a script.
    main = type(sys)("__main__")
    main.__dict__.update(worker.namespace)
    worker.namespace = main.__dict__
    sys.modules["__main__"] = main
    return worker


def _connect_memory_reports(init: dict[str, Any]) -> None:
    """Take the host's memory report socket, where it passed one (a host that may not read its workers' /proc)."""
    fd = init.get("memory_reports")
    if isinstance(fd, int) and not isinstance(fd, bool) and fd >= 0:
        harden.connect_memory_reports(fd)


def _start_failure(exc: BaseException, limits: dict[str, Any]) -> str:
    """Why a worker could not start, for the host. A thread or process the process limit refused says which limit
    and which setting raises it: the run's REPLs (its child RLMs' too) share one uid, and so one count."""
    text = f"{type(exc).__name__}: {exc}"
    refused = (isinstance(exc, RuntimeError) and "can't start new thread" in str(exc)) or (
        isinstance(exc, OSError) and exc.errno == harden.errno.EAGAIN
    )
    if not refused or not limits.get("processes"):
        return text
    return (
        f"{text}: the process limit was reached (RLIMIT_NPROC {int(limits['processes']):,}, which counts the threads "
        "and processes of all of this run's REPLs together: its child RLMs' share its uid). Raise it with the "
        "sandbox option max_processes, or let fewer child RLMs run at once (sandbox option max_live_children)"
    )


def _ready(worker: Worker, applied: dict[str, Any]) -> dict[str, Any]:
    return {"t": "ready", "pid": os.getpid(), "names": sorted(worker.namespace), "applied": applied}


_WARM_UP_CELL = "n = len('warm')\nprint(n)"


def _warm_up(worker: Worker, cells: int = 3) -> None:
    """Run a few private cells through the whole cell path (compile, exec, captured output, the result frame) in a
    scratch namespace, before the worker says it is ready: a forked worker's first cells otherwise pay for the
    pages they share with the zygote (copy-on-write) and for first calls, ~1 ms more than later cells (measured
    in benchmarks/vs_official/NOTES.md). The worker's own namespace, cell count and answer are not touched."""
    scratch = Worker(None, {}, max_output=worker.max_output, max_frame=worker.max_frame)
    for _ in range(cells):
        frames.encode(_fit(scratch.run_cell(_WARM_UP_CELL, 5.0), worker.max_frame), worker.max_frame)
    for cell in range(1, scratch.cells + 1):
        _forget_source(f"<cell {cell}>")


def _fd_outputs(init: dict[str, Any]) -> list[_FdOutput]:
    """fd 1 and fd 2 as pipes into the cells' stdout and stderr (made before the hardening: it may forbid pipe)."""
    limit = int(init.get("max_output", 20_000))
    for stream in (sys.__stdout__, sys.__stderr__):  # `print(s, file=sys.__stdout__)` with a lone surrogate in s
        if stream is not None:
            stream.reconfigure(errors="backslashreplace")
    return [_FdOutput(limit, 1), _FdOutput(limit, 2)]


def serve_one(sock: SocketChannel | StdioChannel, init: dict[str, Any]) -> None:
    """Single-worker mode: load, harden both stages, serve until the host hangs up."""
    values = load_contexts(init.get("contexts", []), _runs_as(init))
    limits, options = init.get("limits") or {}, init.get("harden") or {}
    _connect_memory_reports(init)
    applied = harden.harden_zygote(options, limits)
    host_stderr = os.dup(2)  # where a start failure's traceback must still go
    fds = _fd_outputs(init)
    try:
        applied.update(harden.harden_worker(options, limits))
    except BaseException:
        os.dup2(host_stderr, 2)
        raise
    _name_refused_ptys(applied)
    os.close(host_stderr)
    try:
        worker = _worker_for(sock, values, init, fds)
    except BaseException as exc:
        sock.send({"t": "fatal", "error": _start_failure(exc, limits)})
        raise
    _warm_up(worker)
    worker.send(_ready(worker, applied))
    worker.serve()


def _receive_fds(sock: _socket.socket) -> list[int]:
    """The descriptors passed with the next one-byte message (SCM_RIGHTS): socket.recv_fds, without socket.py."""
    _, ancillary, _, _ = sock.recvmsg(1, _socket.CMSG_SPACE(_FD.size))
    return [
        _FD.unpack_from(data, offset)[0]
        for level, kind, data in ancillary
        if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS
        for offset in range(0, len(data) - len(data) % _FD.size, _FD.size)
    ]


_FD = _struct.Struct("i")


class Zygote:
    """Holds the loaded contexts and forks a ready worker per request. Runs no user code itself."""

    def __init__(self, ctl: _socket.socket, init: dict[str, Any]) -> None:
        self.ctl = ctl
        self.init = init
        self.values: dict[str, Any] = {}
        self.applied: dict[str, Any] = {}
        self.exits: dict[int, int] = {}
        self.children: set[int] = set()

    def start(self) -> None:
        self.values = load_contexts(self.init.get("contexts", []), _runs_as(self.init))
        gc.freeze()  # the loaded contexts move to the permanent generation: a worker's gc never dirties them
        _connect_memory_reports(self.init)  # every worker inherits it
        self.applied = harden.harden_zygote(self.init.get("harden") or {}, self.init.get("limits") or {})
        _signal.signal(_signal.SIGCHLD, self.on_child_exit)
        frames.send_blocking(self.ctl, {"t": "ready", "pid": os.getpid(), "applied": self.applied})

    def on_child_exit(self, signum: int, frame: Any) -> None:
        """SIGCHLD: kill an exited worker's process group at once, so nothing it forked keeps its channel open
        (the host would see no EOF). Peeks without reaping: the zombie pins the pid, so the group is its own."""
        for pid in list(self.children):
            try:
                info = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            except ChildProcessError:
                continue
            if info is not None and info.si_pid == pid:
                try:
                    os.killpg(pid, _signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
        self.kill_orphans()

    def kill_orphans(self) -> None:
        """What an exited worker left running (a double-forked daemon) is re-parented to us, the subreaper:
        any child that is not a live worker is such an orphan. Kill it and everything under it, and reap."""
        for pid, state in harden.children(os.getpid()):
            if pid in self.children:
                continue
            if state != "Z":
                harden.kill_tree(pid)
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass

    def serve(self) -> None:
        while True:
            try:
                message = frames.recv_blocking(self.ctl)
            except EOFError:
                break
            self.reap()
            kind = message["t"]
            if kind == "fork":
                fds = _receive_fds(self.ctl)
                reply: dict[str, Any] = {"t": "forked", "pid": self.fork(message, fds[0]) if fds else None}
            elif kind == "kill":
                reply = {"t": "killed", "code": self.kill(int(message["pid"]))}
            elif kind == "wait":
                reply = {"t": "exited", "code": self.wait(int(message["pid"]), float(message.get("timeout", 1.0)))}
            elif kind == "shutdown":
                break
            else:
                reply = {"t": "error", "error": f"unknown request {kind!r}"}
            reply["id"] = message.get("id")
            frames.send_blocking(self.ctl, reply)
        _signal.signal(_signal.SIGCHLD, _signal.SIG_DFL)
        for pid in list(self.children):
            self.kill(pid)
        harden.kill_tree(os.getpid(), include_root=False)

    def fork(self, request: dict[str, Any], fd: int) -> int:
        parent = os.getpid()
        # SIGCHLD waits until the new pid is in `children`: a worker exiting in between would run on_child_exit,
        # whose kill_orphans takes the new worker for an orphan, kills and reaps it (and a later kill request then
        # found no child to wait for and ended the zygote, every worker with it).
        mask = _signal.pthread_sigmask(_signal.SIG_BLOCK, {_signal.SIGCHLD})
        pid = os.fork()
        if pid == 0:  # the child never returns into the zygote's loop
            code = 0
            try:
                _signal.signal(_signal.SIGCHLD, _signal.SIG_DFL)
                _signal.pthread_sigmask(_signal.SIG_SETMASK, mask)  # the cells' code gets the usual mask
                self.ctl.close()
                os.setsid()
                harden.set_parent_death_signal(_signal.SIGKILL)
                if os.getppid() != parent:
                    os._exit(1)
                self.become_worker(request, fd)
            except BaseException:
                code = 2
                if (traceback := _traceback()) is not None:
                    traceback.print_exc()
            finally:
                os._exit(code)
        self.children.add(pid)
        _signal.pthread_sigmask(_signal.SIG_SETMASK, mask)
        os.close(fd)
        return pid

    def become_worker(self, request: dict[str, Any], fd: int) -> None:
        os.set_inheritable(fd, False)  # passed over SCM_RIGHTS, so inheritable: os.system's shell would hold it
        sock = SocketChannel(_socket.socket(fileno=fd))
        sys.argv = [sys.argv[0], str(fd)]  # as in single-worker mode: argv[1] names the channel
        keep = request.get("keep")
        values = {name: value for name, value in self.values.items() if keep is None or name in keep}
        values.update(load_contexts(request.get("contexts") or []))
        options, limits = self.init.get("harden") or {}, self.init.get("limits") or {}
        if isinstance(request.get("limits"), dict):  # a child RLM's process limit counts its whole run (the host's)
            limits = {**limits, **request["limits"]}
        init = {**self.init, **request}
        try:
            fds = _fd_outputs(init)
            applied = {**self.applied, **harden.harden_worker(options, limits)}
            _name_refused_ptys(applied)
            worker = _worker_for(sock, values, init, fds)  # starts a thread: the process limit may refuse it
        except BaseException as exc:  # said to the host: fd 2 is the cell's pipe now, so a traceback reaches no one
            sock.send({"t": "fatal", "error": _start_failure(exc, limits)})
            raise
        _warm_up(worker)
        worker.send(_ready(worker, applied))
        worker.serve()

    def reap(self) -> None:
        """Collect exited workers. Each one's process group is killed first, while its zombie still pins the
        pid (so the group id cannot have been reused): whatever a worker forked dies with it."""
        while self.children:
            try:
                info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            except ChildProcessError:
                return
            if info is None or info.si_pid == 0:
                return
            if info.si_pid not in self.children:  # an orphan re-parented to us
                self.kill_orphans()
                continue
            self.kill(info.si_pid)

    def kill(self, pid: int) -> int | None:
        if pid in self.children:
            harden.kill_tree(pid)  # the worker is a subreaper: its tree holds every process its cells started
            for kill in (os.killpg, os.kill):
                try:
                    kill(pid, _signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            try:
                _, status = os.waitpid(pid, 0)
            except ChildProcessError:  # reaped already: nothing to report, and no reason to end the zygote
                self.children.discard(pid)
                return self.exits.get(pid)
            self.children.discard(pid)
            self.exits[pid] = os.waitstatus_to_exitcode(status)
            if len(self.exits) > 256:
                self.exits.pop(next(iter(self.exits)))
        return self.exits.get(pid)

    def wait(self, pid: int, timeout: float) -> int | None:
        deadline = time.monotonic() + min(timeout, 5.0)
        while pid in self.children and time.monotonic() < deadline:
            self.reap()
            if pid in self.children:
                time.sleep(0.005)
        return self.exits.get(pid)


def main(argv: list[str]) -> None:
    mode, fd = ("serve", argv[0]) if len(argv) == 1 and argv[0] != "stdio" else (argv[0], argv[-1])
    if mode == "stdio":
        channel: SocketChannel | StdioChannel = StdioChannel()
    else:
        os.set_inheritable(int(fd), False)  # the REPL's one connection: no process a cell starts may hold it
        channel = SocketChannel(_socket.socket(fileno=int(fd)))
    try:
        message = channel.recv()
        if message["t"] != "init":
            raise RuntimeError(f"expected an init frame, got {message['t']!r}")
        if mode == "zygote":
            assert isinstance(channel, SocketChannel)
            zygote = Zygote(channel.sock, message)
            zygote.start()
        else:
            serve_one(channel, message)
            return
    except BaseException as exc:
        channel.send({"t": "fatal", "error": f"{type(exc).__name__}: {exc}"})
        raise SystemExit(2) from None
    zygote.serve()


if __name__ == "__main__":
    main(sys.argv[1:])
