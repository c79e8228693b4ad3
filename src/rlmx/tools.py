"""Host-side tools: user functions the model calls by name from its REPL code, run in the host, never the sandbox.

`RLM(tools=[search, lookup])` defines, in every REPL, a stub per tool that sends `call_tool(name, *args,
**kwargs)` to the host as a call frame (like `llm_query`); the host binds the arguments to the real function's
signature, runs it (sync functions in a thread, async ones awaited) and sends its result back. Arguments and
results are JSON values. A tool that raises reaches the cell as a RuntimeError carrying the exception's type and
message. Calls are traced (`tool_call` events) and counted against `Budget(max_tool_calls=...)`.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import inspect
import json
import keyword
import re
import threading
import warnings
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from rlmx.context import BUILTIN_NAMES, module_named, python_reads
from rlmx.errors import InputError
from rlmx.events import NOT_FINITE
from rlmx.json_ready import ShapeProblem, json_ready
from rlmx.sandbox import graphemes
from rlmx.sandbox.base import SubCallResult
from rlmx.sandbox.worker import bytes_to_wire, with_bytes_from_wire

TOOLS_HEADER = (
    "Host tools: these functions are defined in the REPL and run on the user's machine (not in the REPL). Call "
    "them like any function; arguments and results are JSON values (str, int, float, bool, None, list, dict) or "
    "bytes; a failing tool raises RuntimeError with its message. Their names are put back after every block, like the "
    "functions above: do not name your own variables after them."
)
_OTHER_LOOP = re.compile(r"different (?:event )?loop")
"""asyncio's words for an object of another loop: a Future "attached to a different loop", a Lock, Queue or Event
"bound to a different event loop"."""
MAX_DOC_CHARS = 600
"""A tool's docstring is cut to this many characters in the system prompt."""


@dataclass(frozen=True, slots=True)
class Tool:
    name: str
    function: Callable[..., Any]
    signature: inspect.Signature | None
    doc: str

    def describe(self) -> str:
        signature = str(self.signature) if self.signature is not None else "(*args, **kwargs)"
        doc = self.doc if len(self.doc) <= MAX_DOC_CHARS else graphemes.head(self.doc, MAX_DOC_CHARS) + " ..."
        return f"- {self.name}{signature}" + (f"\n    {doc.replace(chr(10), chr(10) + '    ')}" if doc else "")


def _yields(function: Callable[..., Any]) -> bool:
    """Whether calling `function` (a function, method, partial or callable object) gives a generator or an async
    generator instead of a value. A decorator's wrapper (`functools.wraps`, which sets `__wrapped__`) is looked
    through: `@logged def search(...): yield ...` returns the generator its wrapper passes on."""
    plain = inspect.isroutine(function) or inspect.isclass(function)  # a class's call makes an instance
    call = function if plain else type(function).__call__
    return any(inspect.isgeneratorfunction(f) or inspect.isasyncgenfunction(f) for f in _unwrapped(function, call))


def _unwrapped(*functions: Callable[..., Any]) -> list[Callable[..., Any]]:
    """Each of `functions`, and what its decorators wrap (`inspect.unwrap`; a wrapper chain that loops is left)."""
    found = list(functions)
    for function in functions:
        with contextlib.suppress(ValueError):  # a __wrapped__ cycle
            found.append(inspect.unwrap(function))
    return found


class ToolBox:
    """The tools of one RLM, by name. Raises InputError (naming the function) for anything that cannot be a tool."""

    def __init__(self, functions: Iterable[Callable[..., Any]], reserved: Iterable[str]) -> None:
        if isinstance(functions, dict | str) or not isinstance(functions, Iterable):
            raise InputError("tools must be a list of functions, e.g. tools=[search, lookup]")
        taken = frozenset(reserved)
        self.tools: dict[str, Tool] = {}
        for function in functions:
            if not callable(function):
                raise InputError(f"tools: {function!r} is not a function")
            name = getattr(function, "__name__", "")
            if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name) or name == "<lambda>":
                raise InputError(f"tools: {function!r} has no usable name; define it with `def some_name(...)`")
            read_as = python_reads(name)
            if read_as != name:  # the stub `def ｌｅｎ(...)` would be bound as `len`, over the builtin
                raise InputError(
                    f"tools: {name!r} reads as {read_as!r} in Python code (identifiers are "
                    "NFKC-normalised), so the model could not call it by its listed name; rename the function"
                )
            if name.startswith("_"):
                raise InputError(f"tools: {name!r} starts with '_'; give the model a public name")
            if name in taken:
                raise InputError(f"tools: {name!r} is a name rlmx defines in the REPL; rename the function")
            if name in BUILTIN_NAMES:
                raise InputError(
                    f"tools: {name!r} is a Python builtin: it would hide {name} from the model's code; rename the "
                    "function"
                )
            module = module_named(name)
            if module:
                raise InputError(
                    f"tools: {name!r} is {module}: the tool, put back after every cell, would replace the model's "
                    f"`import {name}`; rename the function (e.g. {name + '_tool'!r})"
                )
            if name in self.tools:
                raise InputError(f"tools: two functions are named {name!r}; tool names must be unique")
            if _yields(function):
                raise InputError(
                    f"tools: {name!r} is a generator function (it yields): a call would return a generator, which "
                    "is not a JSON value; return a list instead (e.g. `return list(...)` in a wrapper)"
                )
            self.tools[name] = Tool(name, function, _signature(function), inspect.getdoc(function) or "")

    @property
    def names(self) -> frozenset[str]:
        return frozenset(self.tools)

    def __bool__(self) -> bool:
        return bool(self.tools)

    def describe(self) -> str:
        """The system prompt's section listing every tool with its signature and docstring."""
        return "\n".join([TOOLS_HEADER, *(tool.describe() for tool in self.tools.values())])

    def stubs(self) -> str:
        """REPL code defining one forwarding function per tool (run in the REPL before the first cell). Each stub
        holds the REPL's `call_tool` from the start: a model that defines a `call_tool` of its own (an agent
        framework's dispatcher) must not take the tools over."""
        if not self.tools:
            return ""
        lines = [
            "def _rlmx_tool(name, doc, call=call_tool):",
            "    def tool(*args, **kwargs):",
            "        return call(name, *args, **kwargs)",  # call_tool's own `name` is positional-only
            "    tool.__name__ = tool.__qualname__ = name",
            "    tool.__doc__ = doc",
            "    return tool",
            "",
        ]
        for tool in self.tools.values():
            lines.append(f"{tool.name} = _rlmx_tool({tool.name!r}, {tool.doc or 'Host tool ' + tool.name!r})")
        # restored after every cell like the REPL functions, should a cell assign over one
        names = ", ".join(f"{name!r}: {name}" for name in self.tools)
        lines += [f"call_tool.__self__.functions.update({{{names}}})", "del _rlmx_tool"]
        return "\n".join(lines)

    def check(self, name: str, args: Sequence[Any], kwargs: dict[str, Any]) -> Tool:
        """The tool `name` if the arguments fit its signature; ToolFailure (the cell's message) otherwise."""
        tool = self.tools.get(name)
        if tool is None:
            known = ", ".join(sorted(self.tools)) or "none"
            raise ToolFailure(f"no host tool named {name!r} (tools: {known})")
        if tool.signature is not None:
            try:
                tool.signature.bind(*args, **kwargs)
            except TypeError as exc:
                raise ToolFailure(f"{name}{tool.signature}: {exc}") from None
        return tool

    async def call(self, name: str, args: Sequence[Any], kwargs: dict[str, Any]) -> tuple[Any, bool]:
        """Run tool `name` in the host. Returns its result as JSON, bytes in it as they cross (`BYTES_KEY`), and
        whether it holds bytes; raises ToolFailure with the message the cell sees for an unknown tool, arguments
        that do not fit, an exception, or a result that is not JSON."""
        tool = self.check(name, args, kwargs)
        try:
            if inspect.iscoroutinefunction(tool.function):
                value = await _own_task(tool.function(*args, **kwargs))
            else:
                value = await _in_own_thread(name, tool.function, *args, **kwargs)
                if inspect.isawaitable(value):
                    value = await _own_task(value)
        except _Exited as exited:  # an async tool's SystemExit, carried out of its task (`_contained`)
            raise ToolFailure(f"tool {name} raised {described(exited.original)}") from None
        except asyncio.CancelledError as exc:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise  # the call itself is being cancelled (a time limit, the caller)
            # the tool's own (an HTTP client's timeout raises it): a failure of the tool, or the cell waits for ever
            raise ToolFailure(f"tool {name} raised {described(exc)}") from None
        except (Exception, SystemExit) as exc:  # SystemExit: argparse inside a tool, on arguments it refuses
            message = f"tool {name} raised {described(exc)}"
            if isinstance(exc, RuntimeError) and _OTHER_LOOP.search(message):
                # completion() inside a running loop runs the RLM on a private loop: the caller's objects are not there.
                hint = (
                    f"tool {name} awaited an object bound to another event loop: inside a running loop, "
                    "rlm.completion() runs on a private one; use `await rlm.acompletion(...)` there"
                )
                warnings.warn(hint, RuntimeWarning, stacklevel=1)
                message += f" ({hint})"
            raise ToolFailure(message) from None
        binary = False

        def as_wire(part: Any) -> Any:  # json.dumps' `default`: asked only for what JSON has no form of
            nonlocal binary
            if isinstance(part, bytes | bytearray | memoryview):
                binary = True
                return bytes_to_wire(part)
            raise TypeError(f"Object of type {type(part).__name__} is not JSON serializable")

        try:
            # copied first, in bounded time: json.dumps (and any walk) trusts a value not to hold itself, nor to be a
            # list shared at every level, nor to have an items() that never ends (json_ready)
            ready = json_ready(value, max_items=TOOL_RESULT_ITEMS)
            return json.loads(json.dumps(ready, allow_nan=False, default=as_wire)), binary
        except ShapeProblem as exc:
            raise ToolFailure(f"tool {name} returned a value that {exc}; {_RESHAPE}") from None
        except RecursionError:
            raise ToolFailure(f"tool {name} returned a value nested too deep (or circular) for JSON") from None
        except (TypeError, ValueError) as exc:
            said = described(exc).removeprefix(f"{type(exc).__name__}: ")  # the value's own exception may be odd
            if said.startswith(NOT_FINITE):  # json.dumps' words name neither NaN nor what to do
                raise ToolFailure(
                    f"tool {name} returned a value holding NaN or Infinity, which JSON has no numbers for; return "
                    "None or a str (e.g. 'nan') in their place"
                ) from None
            raise ToolFailure(
                f"tool {name} returned a value that is not JSON ({said}); return str, bytes, list or dict"
            ) from None
        except (Exception, SystemExit) as exc:  # the value's own code failed as it was read (a lazy row's items())
            raise ToolFailure(
                f"tool {name} returned a value that could not be written as JSON: reading it raised {described(exc)}"
            ) from None


TOOL_RESULT_ITEMS = 2**26
"""The most items a tool's result may have written out (67,108,864: at a byte each at least, past the largest frame
a REPL is likely to be given; the frame's own cap then refuses a result too big to send, naming the tool). Only a
bound on the host's time: a legal 17-million-item list (51 MB of JSON under the default 64 MiB frame) passes."""

_RESHAPE = (
    "return plain data: a copy without back-references (ids in their place), flattened, or smaller (e.g. str of it)"
)


def arguments(item: dict[str, Any]) -> tuple[Any, Any]:
    """A tool call item's (args, kwargs), bytes in them as the REPL sent them (see `BYTES_KEY`). Raises ToolFailure
    for a bytes value that did not cross whole."""
    args, kwargs = item.get("args"), item.get("kwargs")
    if not item.get("bytes"):
        return args, kwargs
    try:
        return with_bytes_from_wire(args), with_bytes_from_wire(kwargs)
    except (ValueError, RecursionError) as exc:
        raise ToolFailure(f"tool {item.get('prompt')}: a bytes argument did not arrive whole ({exc})") from None


def shown(value: Any, binary: bool) -> str:
    """A tool's arguments or result as a trace shows them: JSON, with each bytes value as Python writes it (its
    first SHOWN_BYTES bytes) and its size, never its crossing form (`{"__rlmx_bytes__": base64}`)."""
    if binary:
        with contextlib.suppress(ValueError, RecursionError):  # not whole: shown as it crossed
            value = with_bytes_from_wire(value)
    if isinstance(value, bytes):
        return _bytes_shown(value)
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=_bytes_shown)


SHOWN_BYTES = 200
"""How many leading bytes of a bytes value a tool call's event and trace show (as a Python literal), then its size."""


def _bytes_shown(value: bytes) -> str:
    more = f"... ({len(value):,} bytes)" if len(value) > SHOWN_BYTES else ""
    return repr(value[:SHOWN_BYTES]) + more


def reply(name: str, value: Any, binary: bool) -> SubCallResult:
    """Tool `name`'s successful reply: `value` as ToolBox.call returns it."""
    return ToolReply(True, value=value, tool=name, binary=binary)


@dataclass(frozen=True, slots=True)
class ToolReply(SubCallResult):
    """A tool's result as it crosses: its value once (the REPL's `call_tool` reads no `text`: a copy there would
    double the frame, and a result of half the frame cap would not fit), the tool's name (a reply over the cap
    names it: `FrameChannel.send_reply`), and `bytes` for a value holding bytes as they cross (`BYTES_KEY`): the
    REPL looks through only such replies."""

    tool: str = ""
    binary: bool = False

    def to_frame(self) -> dict[str, Any]:
        if not self.ok:
            return SubCallResult.to_frame(self)
        frame = {"ok": True, "value": self.value, "tool": self.tool}
        if self.binary:
            frame["bytes"] = True
        return frame


def described(exc: BaseException) -> str:
    """`Type: message`, or `Type` for an exception with no message. Never raises: an exception whose `__str__`
    fails (a library's, formatting an attribute it lacks) is its type and a note, and fails the call, not the run."""
    kind = type(exc).__name__
    try:
        message = str(exc)
    except Exception as failure:
        return f"{kind} (its message could not be shown: str() raised {type(failure).__name__})"
    return f"{kind}: {message}" if message else kind


_ABANDONED: set[asyncio.Future[Any]] = set()
"""Async tool calls cut off that have not ended yet (the loop keeps only weak references to tasks)."""


def _let_go(task: asyncio.Future[Any]) -> None:
    _ABANDONED.discard(task)
    if not task.cancelled():
        task.exception()  # read, so asyncio logs no "exception was never retrieved": nobody waits for it


class _Exited(Exception):
    """A SystemExit an async tool raised (argparse in it, on arguments it refuses), carried as an Exception: a task
    raising SystemExit stops the event loop, ending the whole run with no Result, where a sync tool's is a cell
    error. (KeyboardInterrupt is let through: inside a coroutine it may be the user's Ctrl-C.)"""

    def __init__(self, original: SystemExit) -> None:
        super().__init__(original)
        self.original = original


async def _contained(awaitable: Awaitable[Any]) -> Any:
    try:
        return await awaitable
    except SystemExit as exc:
        raise _Exited(exc) from None


async def _own_task(awaitable: Awaitable[Any]) -> Any:
    """`await awaitable`, run as a task of its own so that a cancellation (Budget(max_seconds), the caller) ends
    the wait at once, as for a sync tool's thread: the task is cancelled too, and one that ignores that (a retry
    loop catching CancelledError) runs on, its result going nowhere. The tool's own CancelledError (an HTTP
    client's timeout) still reaches the caller as one. A tool that blocks the loop (time.sleep in `async def`)
    holds everything, this wait included: the README says so."""
    task = asyncio.ensure_future(_contained(awaitable))
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        waiting = asyncio.current_task()
        if task.done() and not (waiting is not None and waiting.cancelling()):
            return task.result()  # the tool's own CancelledError: raised again with its message (shield drops it)
        if not task.done():
            task.cancel()
            _ABANDONED.add(task)
            task.add_done_callback(_let_go)
        elif not task.cancelled():
            # Ended as this wait is cancelled: its result goes nowhere. A KeyboardInterrupt the tool raised (a sync
            # completion() in it, on Ctrl-C) already stopped the loop; raised again here, while asyncio.run
            # cancels the run, it would end that cleanup with the REPL's processes left running.
            task.exception()
        raise


async def _in_own_thread(name: str, function: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
    """`function(*args, **kwargs)` on a daemon thread of its own, awaited. Not the loop's default executor: a tool
    that never returns would hold `completion()` past `Budget(max_seconds)` (closing a loop joins that executor's
    threads) and, six of them, starve every other `to_thread`. A tool cut off keeps running until it returns; its
    result then goes nowhere. `name` and `function` are positional-only: a tool may take `name=` itself."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()
    context = contextvars.copy_context()

    def settle(outcome: Any, failed: bool) -> None:
        if not future.done():
            (future.set_exception if failed else future.set_result)(outcome)

    def run() -> None:
        try:
            outcome, failed = context.run(function, *args, **kwargs), False
        except (Exception, SystemExit) as exc:
            outcome, failed = exc, True
        except BaseException as exc:  # KeyboardInterrupt raised by the tool itself: its failure, not the caller's
            outcome, failed = RuntimeError(described(exc)), True
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nobody waits for it
            loop.call_soon_threadsafe(settle, outcome, failed)

    threading.Thread(target=run, name=f"rlmx-tool-{name}", daemon=True).start()
    return await future


def _signature(function: Callable[..., Any]) -> inspect.Signature | None:
    """The signature with string annotations resolved (`from __future__ import annotations`), for the prompt."""
    for resolve in (True, False):
        try:
            return inspect.signature(function, eval_str=resolve)
        except Exception:  # an annotation that does not resolve: show it as written
            continue
    return None


class ToolFailure(Exception):
    """A tool call that failed; its message goes to the cell."""
