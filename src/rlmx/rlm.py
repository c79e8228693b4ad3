"""RLM: the public entry point. Validates everything up front, then runs the root Engine of one tree."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import difflib
import inspect
import json
import os
import threading
import time
import uuid
import weakref
from collections.abc import AsyncGenerator, Callable, Iterator, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rlmx import prompts
from rlmx.blocking import BlockingRunner, run_blocking
from rlmx.budget import Budget, Ledger
from rlmx.context import DEFAULT_MAX_CONTEXT_BYTES, PreparedContext, prepare_all
from rlmx.engine import Engine, Tree
from rlmx.errors import InputError, SetupError
from rlmx.events import Emit, Event, Fanout, TraceFile, clip, clip_value
from rlmx.lm.base import LM, Completion, price_name, served_at
from rlmx.lm.prices import SEARCHES_EVERY_CALL, TIER_SUFFIX_END, Price, PriceTable
from rlmx.result import Result
from rlmx.sandbox import Sandbox, check_sandbox_options
from rlmx.sandbox.frames import RESERVED_NAMES, encodable
from rlmx.schema import OutputSchema
from rlmx.subcall_cache import SubcallCache, open_store
from rlmx.tools import ToolBox
from rlmx.workspace import describe as describe_files
from rlmx.workspace import placement_code, read_files

if TYPE_CHECKING:
    from pydantic import BaseModel

    from rlmx.session import Session


def check_query(query: object) -> None:
    if not isinstance(query, str) or not query.strip():
        raise InputError("query must be a non-empty string")


def require_asyncio(api: str) -> None:
    """InputError unless an asyncio event loop runs this code (rlmx's async API is asyncio's: under trio it failed
    with asyncio's own "no running event loop" and a coroutine never awaited) and Python is not shutting down."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        raise InputError(
            f"{api} runs on asyncio, and no asyncio event loop is running here (trio?): run it under asyncio "
            "(anyio's asyncio backend), or call the sync completion()/ask() from a worker thread "
            "(trio.to_thread.run_sync)"
        ) from None
    if not threading.main_thread().is_alive():  # threading._shutdown has run: executors refuse new work
        raise InputError(
            "rlmx was called while Python is shutting down (from an atexit handler, or a thread still running "
            "after the main program returned): rlmx runs parts of each call on worker threads, which Python no "
            "longer starts then; call it before the program exits (e.g. in a finally block of your main function)"
        )


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


_CANCEL_WAIT = 30.0
"""Seconds a sync thread that dropped a stream waits for its run, on a loop in another thread, to end."""


def _cancel_without_awaiting(run: asyncio.Task[Any]) -> None:
    """Cancel a stream's run where its generator cannot await the end: it is being finalized by the GC (dropped by a
    sync wrapper, `loop.run_until_complete(anext(gen))` or `run_coroutine_threadsafe(anext(gen), loop)`: a generator
    first stepped where no loop hooks are set is closed synchronously, and awaiting would be "async generator ignored
    GeneratorExit"), or closed off the run's loop. The cancellation is finished on the run's own loop, wherever that
    is, so its workers end now, not whenever that loop next wakes."""
    loop, here = run.get_loop(), _running_loop()
    if loop.is_closed():  # nothing can run there any more
        return
    if loop is here:  # running on this thread: it finishes the cancellation as soon as this returns
        run.cancel()
    elif loop.is_running():  # on another thread: Task.cancel is not thread-safe, and would not wake that loop
        ended = asyncio.run_coroutine_threadsafe(_cancel(run), loop)
        if here is None:  # a plain sync thread may wait, as for an idle loop below; another loop must not block
            concurrent.futures.wait([ended], timeout=_CANCEL_WAIT)
    elif here is None:  # idle: run it a moment, here, to finish the cancellation
        run.cancel()
        _run_to_its_end(run)
    else:  # idle, and another loop runs on this thread (which cannot run a second one): run it on a helper thread
        run.cancel()
        threading.Thread(target=_run_to_its_end, args=(run,), name="rlmx-stream-cancel", daemon=True).start()


def _run_to_its_end(run: asyncio.Task[Any]) -> None:
    """Run an idle loop until its cancelled `run` ends. Its owner may start or close the loop meanwhile (then it
    finishes the run itself): "already running" or "closed" is no error here."""
    with contextlib.suppress(asyncio.CancelledError, Exception):
        run.get_loop().run_until_complete(run)


async def _cancel(run: asyncio.Task[Any]) -> None:
    run.cancel()
    await asyncio.wait({run})


Item = Event | Result


class EventStream(AsyncGenerator[Item, None]):
    """What `RLM.stream` returns: its async generator (`async for`, `contextlib.aclosing`, `anext`), which sync code
    may iterate too (`for item in rlm.stream(...)`, run on a loop of its own like `completion`)."""

    __slots__ = ("_events",)

    def __init__(self, events: AsyncGenerator[Item, None]) -> None:
        self._events = events

    def __aiter__(self) -> EventStream:
        return self

    def __anext__(self) -> Any:
        return self._events.__anext__()

    def asend(self, value: None) -> Any:
        return self._events.asend(value)

    def athrow(self, *args: Any) -> Any:
        return self._events.athrow(*args)

    def aclose(self) -> Any:
        return self._events.aclose()

    def __iter__(self) -> Iterator[Item]:
        """Events as they happen, then the Result, for sync code: the run goes on, on rlmx's helper thread, while
        the caller handles each item; leaving the loop early (break, an exception, Ctrl-C) cancels it."""
        events = self._events
        runner = BlockingRunner(on_a_thread=True)
        try:
            while (item := runner.run(_next_or_none(events))) is not None:
                yield item
        finally:
            try:
                runner.run(events.aclose())  # early: cancels the run and waits until its workers are gone
            finally:
                runner.close()


async def _next_or_none(events: AsyncGenerator[Item, None]) -> Item | None:
    """The next item; None at the end (StopAsyncIteration cannot be a task's exception through every path)."""
    return await anext(events, None)


def _inputs(
    query: str,
    context: Any,
    contexts: Mapping[str, Any] | None,
    output: type[BaseModel] | dict[str, Any] | None,
    max_context_bytes: int = DEFAULT_MAX_CONTEXT_BYTES,
    reserved: frozenset[str] = RESERVED_NAMES,
) -> tuple[list[PreparedContext], OutputSchema | None]:
    """Everything a call is given, checked and prepared before any LM is asked anything."""
    check_query(query)
    schema = OutputSchema(output) if output is not None else None
    return prepare_all(context, contexts, reserved, max_bytes=max_context_bytes), schema


def light_contexts(context: Any, contexts: object) -> bool:
    """Whether preparing these contexts takes too little time to be worth a thread: text (its checks are single C
    passes), small bytes, none. A list or dict (walked and written as JSON in Python: about a second for 400k
    records), a file or folder (read) is prepared off the event loop, which other tasks share."""

    def light(value: Any) -> bool:
        return value is None or isinstance(value, str) or (isinstance(value, bytes) and len(value) < 1 << 20)

    named = contexts.values() if isinstance(contexts, Mapping) else ()
    return light(context) and all(light(value) for value in named)


async def _inputs_off_the_loop(
    query: str,
    context: Any,
    contexts: Mapping[str, Any] | None,
    output: type[BaseModel] | dict[str, Any] | None,
    max_context_bytes: int,
    reserved: frozenset[str],
) -> tuple[list[PreparedContext], OutputSchema | None]:
    """`_inputs`, on a thread when the contexts are not light (`light_contexts`)."""
    if light_contexts(context, contexts):
        return _inputs(query, context, contexts, output, max_context_bytes, reserved)
    return await asyncio.to_thread(_inputs, query, context, contexts, output, max_context_bytes, reserved)


class UnpricedModels(InputError):
    """Budget.max_usd with models no price is known for. The message names the prices given under a name that
    looks like one of them (`qwen3-8b` for `Qwen/Qwen3-8B`); `str()` names the Python API's arguments, `for_cli()`
    the command line's flags."""

    def __init__(self, unpriced: list[str], *, given: Sequence[str]) -> None:
        self.unpriced = unpriced
        self.near = [(name, model) for model in unpriced for name in given if _looks_like(name, _bare(model))]
        super().__init__(self._message(cli=False))

    def for_cli(self) -> str:
        return self._message(cli=True)

    def _message(self, *, cli: bool) -> str:
        flag = "--max-usd" if cli else "Budget.max_usd"
        near = "".join(
            f"; --price {name} names no model of this run (did you mean --price {_bare(model)}=INPUT,OUTPUT?)"
            if cli
            else f"; prices names {name!r}, no model of this run (did you mean prices={{{_bare(model)!r}: ...}}?)"
            for name, model in self.near
        )
        how = (
            "give --price MODEL=INPUT,OUTPUT (USD per million tokens)"
            if cli
            else "pass prices={'model': (input_usd_per_million_tokens, output_usd_per_million_tokens)} to RLM "
            "(on the command line: --price MODEL=INPUT,OUTPUT)"
        )
        return f"{flag} is set but no price is known for {', '.join(self.unpriced)}{near}: {how}" + _price_notes(
            self.unpriced
        )


def _bare(unpriced: str) -> str:
    """The model name in an `unpriced_models` entry ("m (its web_search fee)" -> "m")."""
    return unpriced.split(" (", 1)[0]


def _looks_like(given: str, model: str) -> bool:
    """Whether a price's name is a near spelling of a model's: case, a provider prefix, a close typo."""
    if given == model:
        return False
    a, b = given.lower(), model.lower()
    short_a, short_b = a.rsplit("/", 1)[-1], b.rsplit("/", 1)[-1]
    return short_a == short_b or difflib.SequenceMatcher(None, short_a, short_b).ratio() >= 0.9


def _price_notes(unpriced: list[str]) -> str:
    """What some unpriced models need beyond two rates: a service tier's, an output's, a tool's fee."""
    tiers = [name for name in unpriced if name.endswith(TIER_SUFFIX_END)]
    return (
        (
            f"; {', '.join(tiers)} asks for a service tier billed above the list price the price "
            "database holds, so give that tier's rates under that name"
            if tiers
            else ""
        )
        + (
            "; an LM asked to answer in audio, images or video needs a price with that output's rate: "
            "rlmx.lm.prices.Price(input, output, output_audio_per_million=..., "
            "output_image_per_million=..., output_video_per_million=...)"
            if any(" output rate" in name for name in unpriced)
            else ""
        )
        + (
            "; a request that turns on a tool the provider bills per use (xAI's search_parameters, "
            "web_search_options, OpenRouter's web plugin, a server-run tool in tools) needs a price "
            "holding the most one call is billed for it: rlmx.lm.prices.Price(input, output, "
            "per_request=USD)"
            if any(" fee" in name for name in unpriced)
            else ""
        )
        + (
            "; a model that searches the web on every call is billed a search fee per call, which the "
            "price database does not hold for it: give the per-call fee as "
            "rlmx.lm.prices.Price(input, output, per_request=USD)"
            if any(SEARCHES_EVERY_CALL.search(name) for name in unpriced)
            else ""
        )
    )


TYPED_NEEDS_CODE = (
    "needs a model that writes its own code, and the guided root (the default for local models) answers in plain text"
)
"""Why a typed answer is refused with the guided root, in the words every front end uses."""


def is_guided_root(lm: LM) -> bool:
    """Whether `lm` is the guided root (or wraps it as `inner`, as serve's sampling does): rlmx writes its code."""
    from rlmx.lm.guided import GuidedRoot

    return isinstance(getattr(lm, "inner", lm), GuidedRoot)


_SCANNED_FOR_TEXT = 1 << 16
"""A JSON context up to this many characters is read back to see whether it holds text; a longer one does."""


def check_guided_has_context(lm: LM, prepared: Sequence[PreparedContext]) -> None:
    """InputError when `lm` is the guided root and `prepared` holds no text to search: no context, or only blank
    ones (`""`, whitespace, an empty file, `[]`, `{"notes": ""}`). The guided root answers only from a context,
    so without one it could only say NOT FOUND, which reads as "the text does not say" (`rlmx ask` and `rlmx serve`
    refuse the same inputs before they get here, with their own words)."""
    if not is_guided_root(lm):
        return
    if not prepared:
        raise InputError(
            "no context given, and the guided root (rlmx writes the code; used with the embedded model) answers only "
            "from a context: pass context=... (a str, a Path to a file or folder, or JSON values), or give RLM a "
            "root LM that writes code (OpenAICompatibleLM) to answer from the question alone"
        )
    if all(_holds_no_text(context) for context in prepared):
        names = ", ".join(context.name for context in prepared)
        raise InputError(f"the context is empty ({names}): there is nothing for the guided root to search")


def _holds_no_text(context: PreparedContext) -> bool:
    if context.kind == "text":
        return not context.text.strip()
    if context.chars > _SCANNED_FOR_TEXT:
        return False
    from rlmx.documents import holds_no_text

    try:
        return holds_no_text(json.loads(context.text))
    except ValueError:
        return False


def _mapping(name: str, value: object, shape: str) -> Mapping[Any, Any]:
    """`value` as a mapping (None: an empty one), or InputError naming the argument `name` and the `shape` it takes."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InputError(f"{name} must be a dict of {shape}, not {type(value).__name__}")
    return value


def _folder(name: str, value: object) -> Path | None:
    """The folder argument `name` as a Path (None stays None); InputError for one that is no path or is empty (an
    empty string meant the current folder to Path, a surprise for traces or a cache)."""
    if value is None:
        return None
    if not isinstance(value, str | os.PathLike):
        raise InputError(f"{name} must be a folder path (str or pathlib.Path), not {type(value).__name__}")
    path = os.fspath(value)
    if not isinstance(path, str) or not path.strip():
        raise InputError(f"{name} must name a folder, got {value!r}; pass None to keep none")
    return Path(path)


def _check_lm(name: str, lm: object) -> None:
    """InputError unless `lm` has the shape of `rlmx.lm.LM`: a `.model` and a callable `.complete` that may return
    an awaitable. Refused here is only what cannot: a `complete` that is not callable, or (once decorators'
    `__wrapped__` are followed, `inspect.unwrap`) an async generator, a plain generator or a plain def declared
    `-> Completion`, whose call gives no awaitable (a deep "can't be used in 'await' expression" otherwise). An
    `async def` wrapped by an ordinary decorator and a plain def returning a coroutine or a future work, and are
    accepted; a plain def returning anything else is told at its first reply (`engine.awaited`,
    `engine.checked_reply`: InputError naming the class). Refused too: a `.model` that is no non-empty str (calls
    are booked and priced under it), and a `complete` that cannot be called as `complete(messages, max_tokens=N)`
    (`_refused_call`)."""
    if not isinstance(lm, LM):
        raise InputError(
            f"{name} must implement rlmx.lm.LM (a .model name and an `async def complete(self, messages, **params) "
            f"-> Completion` method); got {type(lm).__name__}. Use OpenAICompatibleLM, LocalLM or ScriptedLM from "
            "rlmx.lm, or write that method"
        )
    cls = type(lm).__name__
    if not isinstance(lm.model, str) or not lm.model.strip():
        raise InputError(
            f"{name}: {cls}.model is {lm.model!r:.80}, not a model name: rlmx books, prices and traces each call "
            'under it; set it to a non-empty str (e.g. `model = "my-model"`, or the name the backend serves)'
        )
    complete = lm.complete
    if not callable(complete) or _gives_no_awaitable(complete):
        raise InputError(
            f"{name}: {cls}.complete must return an awaitable, as rlmx awaits it: write `async def "
            "complete(self, messages, **params) -> Completion` (a blocking client call goes inside it as `await "
            "asyncio.to_thread(...)`), returning rlmx.lm.Completion(text=..., usage=Usage(...), model=self.model)"
        )
    wrong = _refused_call(complete)
    if wrong is not None:
        raise InputError(
            f"{name}: {cls}.complete{wrong} takes no **params, and rlmx calls it as `complete(messages, "
            "max_tokens=N)` under a token or USD budget: N is the output the call holds of the budget, which the "
            "backend must be asked to keep to so that spending stays bounded. Write `async def complete(self, "
            "messages, **params) -> Completion` and pass params['max_tokens'] (when given) to the backend as its "
            "output limit"
        )


def _refused_call(complete: Callable[..., Any]) -> str | None:
    """The signature of `complete` (as "(messages)") when it cannot be called as the engine calls it: the messages
    as its one positional argument and `max_tokens=` as a keyword (sent under a spending budget, `engine.
    _admitted_call`); None when it can, or when its signature cannot be read (a builtin; left to the call). Checked
    at `RLM(...)` whatever the budget: a `complete(self, messages)` worked until a budget was set, then failed with
    Python's "unexpected keyword argument 'max_tokens'" (audit 83 v04); called without its cap it would not keep
    to the reservation, so it is refused rather than sent nothing."""
    refused: list[str] = []
    # The signature a decorator's functools.wraps shows (the inner one's) and the wrapper's own: a call either one
    # takes is one the method takes (a wrapper of `(*args, **kwargs)` that passes max_tokens on, review 83b V03)
    for follow in (True, False):
        try:
            signature = inspect.signature(complete, follow_wrapped=follow)
        except (TypeError, ValueError):
            return None
        try:
            signature.bind([], max_tokens=1)
        except TypeError:
            refused.append(str(signature))
        else:
            return None
    return refused[0]


def _gives_no_awaitable(complete: object) -> bool:
    """Whether calling `complete` surely gives no awaitable: its innermost function (decorators' `__wrapped__`
    followed) is an async generator, a generator not marked as a coroutine (`types.coroutine`), or a plain def
    declared to return a Completion itself (`-> Completion`: `async` forgotten). A plain def declaring nothing may
    return a coroutine or a future, and is left to the reply check."""
    try:
        inner = inspect.unwrap(complete)  # type: ignore[arg-type]
    except ValueError:  # a `__wrapped__` cycle: nothing can be told here
        return False
    if inspect.isasyncgenfunction(inner):
        return True
    code = getattr(getattr(inner, "__func__", inner), "__code__", None)
    if code is None or inspect.iscoroutinefunction(inner):
        return False
    if inspect.isgeneratorfunction(inner):
        return not code.co_flags & inspect.CO_ITERABLE_COROUTINE
    returns = getattr(inner, "__annotations__", {}).get("return")
    return returns is Completion or (isinstance(returns, str) and returns.split(".")[-1].strip() == "Completion")


class RLM:
    """A Recursive Language Model: a drop-in for an LM call whose context lives in a sandboxed REPL.

        rlm = RLM(OpenAICompatibleLM("gpt-5-mini"), max_depth=2, budget=Budget(max_seconds=120))
        result = rlm.completion("Which user posted most?", context=Path("forum.jsonl"))
        print(result.answer, result.status, result.usage.to_dict())

    `lm` writes the root's code; `sub_lm` (default: `lm`, or the `default_sub_lm` it names) answers `llm_query`;
    `models` names further LMs that `llm_query(prompt, model="name")` can pick; `depth_lms={d: lm}` picks the LM at
    depth d (the code writer of child RLMs at that depth and the reader of plain sub-calls made from depth d-1), for
    d from 1 to max_depth (a deeper key is an InputError: no call would reach it).
    `prices` adds or overrides USD prices per million tokens, used when the provider returns no cost. `max_depth`
    bounds recursion: with 1, `rlm_query` is a plain sub-LM call; with 2, it starts a child RLM with its own REPL;
    and so on. Budgets are shared by the whole tree. `max_context_bytes` (default 1 GiB of UTF-8) bounds all the
    contexts of one call together; a bigger one is refused with InputError before anything is read or any LM is
    asked. `cache` answers identical sub-LM requests once per run (None: only LMs set to temperature 0; True: also
    LMs with no temperature set; False: never); `cache_dir` keeps those replies in an SQLite file there across runs,
    those of LMs keyed by their settings (`subcall_cache.described`: rlmx's own, or one with a `cache_identity`).
    Cache hits cost nothing against budgets and show in `Result.usage.cached_calls` / `cached_tokens`. `tools` are
    host functions the model's code calls by name (see rlmx.tools); `setup_code` runs in every REPL before its first
    cell (a failure raises SetupError before any LM call). `files` are copied, read-only, into every REPL's working
    directory (see rlmx.workspace).
    """

    def __init__(
        self,
        lm: LM,
        *,
        sub_lm: LM | None = None,
        max_depth: int = 1,
        sandbox: str = "subprocess",
        budget: Budget | None = None,
        trace_dir: str | Path | None = None,
        system_prompt: str | None = None,
        models: Mapping[str, LM] | None = None,
        depth_lms: Mapping[int, LM] | None = None,
        prices: Mapping[str, Price | tuple[float, float]] | None = None,
        max_concurrency: int = 16,
        on_event: Emit | None = None,
        sandbox_options: Mapping[str, Any] | None = None,
        max_context_bytes: int = DEFAULT_MAX_CONTEXT_BYTES,
        cache: bool | None = None,
        cache_dir: str | Path | None = None,
        tools: Sequence[Callable[..., Any]] = (),
        setup_code: str | None = None,
        files: Sequence[str | os.PathLike[str]] = (),
    ) -> None:
        _check_lm("lm", lm)
        if sub_lm is not None:
            _check_lm("sub_lm", sub_lm)
        for name, model in _mapping("models", models, "model names to LMs").items():
            if not isinstance(name, str) or not name.strip():
                raise InputError(
                    f"models must be keyed by model name (a non-empty string the code passes as "
                    f"llm_query(..., model=NAME)), not {name!r}"
                )
            _check_lm(f"models[{name!r}]", model)
        for depth, model in _mapping("depth_lms", depth_lms, "depths (1, 2, ...) to LMs").items():
            if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
                raise InputError(f"depth_lms keys are depths >= 1 (depth 0 is `lm`), not {depth!r}")
            _check_lm(f"depth_lms[{depth}]", model)
        if isinstance(max_depth, bool) or not isinstance(max_depth, int) or max_depth < 1:
            raise InputError(f"max_depth must be an integer >= 1, not {max_depth!r}")
        if isinstance(max_concurrency, bool) or not isinstance(max_concurrency, int) or max_concurrency < 1:
            raise InputError(f"max_concurrency must be an integer >= 1, not {max_concurrency!r}")
        if isinstance(max_context_bytes, bool) or not isinstance(max_context_bytes, int) or max_context_bytes < 1:
            raise InputError(f"max_context_bytes must be an integer >= 1, not {max_context_bytes!r}")
        budget = budget if budget is not None else Budget()
        if not isinstance(budget, Budget):
            raise InputError(f"budget must be an rlmx.Budget, not {type(budget).__name__}")
        if sandbox_options is not None and not isinstance(sandbox_options, Mapping):
            raise InputError(f"sandbox_options must be a dict of option names to values, not {sandbox_options!r}")
        check_sandbox_options(sandbox, dict(sandbox_options or {}))  # (imports the tier: `launcher`)
        if system_prompt is not None and (not isinstance(system_prompt, str) or not system_prompt.strip()):
            raise InputError("system_prompt must be a non-empty string (or None for the built-in prompt)")
        self.lm = lm
        if sub_lm is None:  # a guided root writes code and reads nothing: its reader answers sub-calls
            sub_lm = getattr(lm, "default_sub_lm", None)
            sub_lm = sub_lm if isinstance(sub_lm, LM) else lm
        self.sub_lm = sub_lm
        self.max_depth = max_depth if budget.max_depth is None else min(max_depth, budget.max_depth)
        unreachable = sorted(depth for depth in (depth_lms or {}) if depth > self.max_depth)
        if unreachable:  # never asked, yet priced (Budget.max_usd) and routed: refused, as depth 0 is
            bound = f"max_depth={max_depth}" + (
                f" and Budget(max_depth={budget.max_depth})" if budget.max_depth is not None else ""
            )
            raise InputError(
                f"depth_lms has depth {', '.join(map(str, unreachable))}, past max_depth ({self.max_depth}, from "
                f"{bound}): the deepest call of a run is at depth {self.max_depth} (a plain sub-call of the deepest "
                f"node), so that LM would never be asked; raise max_depth, or leave the key out"
            )
        self.sandbox = sandbox
        self.budget = budget
        self.trace_dir = _folder("trace_dir", trace_dir)
        self.system_prompt = system_prompt
        self.models = dict(models or {})
        self.depth_lms = dict(depth_lms or {})
        self.prices = PriceTable(prices)
        self.prices.expect([(price_name(m), served_at(m)) for m in self._all_lms()])
        if budget.max_usd is not None:
            unpriced = self.unpriced_models()
            if unpriced:
                run_models = {price_name(m) for m in self._all_lms()}
                given = [name for name in self.prices.prices if not self.prices.prices_model(name, run_models)]
                raise UnpricedModels(unpriced, given=given)
        self.max_concurrency = max_concurrency
        if on_event is not None and not callable(on_event):
            raise InputError(f"on_event must be a function taking an Event, not {type(on_event).__name__}")
        if on_event is not None and (
            inspect.iscoroutinefunction(on_event) or inspect.iscoroutinefunction(type(on_event).__call__)
        ):
            raise InputError(
                "on_event must be a plain function: events are delivered as they happen, inside the run, and an "
                "async callback would never be awaited. Use `async for item in rlm.stream(...)` to consume events "
                "from async code, or wrap the callback: on_event=lambda e: queue.put_nowait(e)"
            )
        self.on_event = on_event
        self.sandbox_options = dict(sandbox_options or {})
        self.max_context_bytes = max_context_bytes
        if cache is not None and not isinstance(cache, bool):  # 1 == True: a 1 or 0 was no choice of these three
            raise InputError(f"cache must be True, False or None (cache temperature-0 LMs only), not {cache!r}")
        self.cache = cache
        self.tools = ToolBox(tools, RESERVED_NAMES)
        if setup_code is not None and (not isinstance(setup_code, str) or not setup_code.strip()):
            raise InputError("setup_code must be a non-empty string of Python (or None)")
        if setup_code is not None:
            # rlmx's rule for text: a lone surrogate becomes U+FFFD (compile() raised UnicodeEncodeError on one), and
            # a byte order mark a file's read left at the start is no code
            setup_code = encodable(setup_code).removeprefix("\ufeff")
            try:
                compile(setup_code, "<setup_code>", "exec")
            except SyntaxError as exc:
                where = f" (line {exc.lineno})" if exc.lineno else ""  # none for a NUL
                raise SetupError(f"setup_code is not valid Python: {exc.msg}{where}") from None
            except ValueError as exc:  # a NUL, on Pythons that do not call it a syntax error
                raise SetupError(f"setup_code is not valid Python: {exc}") from None
        self.setup_code = setup_code
        self.files = read_files(files)
        self.cache_dir = _folder("cache_dir", cache_dir)
        if self.cache_dir is not None and cache is not False:
            open_store(self.cache_dir).close()  # an unusable folder is an InputError now, not mid-run

    def unpriced_models(self) -> list[str]:
        """The price names (`rlmx.lm.base.price_name`) of this RLM's LMs whose calls no known price bounds, sorted (the
        one check of a USD budget, for the API, serve and MCP alike): those with no price, and those whose request
        asks for what their price lacks, named with it: the rate of an output medium the LM is asked to answer in
        (`modalities=["image", "text"]`: `Price.unpriced_outputs`), the fee of a paid tool its request turns on
        (`search_parameters`, `web_search_options`, a web plugin: `Price.unpriced_tools`)."""
        unpriced = set()
        for lm in self._all_lms():
            price = self.prices.lookup(price_name(lm))
            params: dict[str, Any] = {}
            layer: Any = lm
            while layer is not None:  # a wrapper's params (serve's sampling, the guided root's reader) over its LM's
                own = getattr(layer, "params", None)
                params = {**(own if isinstance(own, Mapping) else {}), **params}
                layer = getattr(layer, "inner", None)
            asked = price or Price(0.0, 0.0)  # with no price, everything the request needs is missing
            outputs = asked.unpriced_outputs(params.get("modalities") or ())
            missing = [f"its {' and '.join(outputs)} output rate"] if outputs else []
            missing += [f"its {tool} fee" for tool in asked.unpriced_tools(lm.model, params)]
            if price is None or missing:
                unpriced.add(price_name(lm) + (f" ({'; '.join(missing)})" if missing else ""))
        return sorted(unpriced)

    def _all_lms(self) -> list[LM]:
        return [self.lm, self.sub_lm, *self.models.values(), *self.depth_lms.values()]

    @property
    def reserved_names(self) -> frozenset[str]:
        """Names a context may not take: the REPL's own and the tools'."""
        return RESERVED_NAMES | self.tools.names

    def completion(
        self,
        query: str,
        context: Any = None,
        *,
        contexts: Mapping[str, Any] | None = None,
        output: type[BaseModel] | dict[str, Any] | None = None,
    ) -> Result:
        """Blocking form of `acompletion`. Works inside a running event loop too (see `rlmx.blocking`)."""
        return run_blocking(self.acompletion(query, context, contexts=contexts, output=output))

    async def acompletion(
        self,
        query: str,
        context: Any = None,
        *,
        contexts: Mapping[str, Any] | None = None,
        output: type[BaseModel] | dict[str, Any] | None = None,
    ) -> Result:
        """Answer `query` over the given context(s). Bad input raises InputError before any LM call.

        With `output` (a pydantic model class or a JSON Schema dict) the model is told the fields, its finish is
        validated (a mismatch goes back to it as feedback), and `Result.value` holds the validated object.
        """
        require_asyncio("RLM.acompletion")
        prepared, schema = await _inputs_off_the_loop(
            query, context, contexts, output, self.max_context_bytes, self.reserved_names
        )
        return await self._run(query, prepared, schema)

    def stream(
        self,
        query: str,
        context: Any = None,
        *,
        contexts: Mapping[str, Any] | None = None,
        output: type[BaseModel] | dict[str, Any] | None = None,
    ) -> EventStream:
        """Run a completion and yield its events as they happen, then its Result last.

            async for item in rlm.stream("Which user posted most?", context=path):
                if isinstance(item, Result): print(item.answer)
                else: print(item.type, item.data)

        Leaving the loop early (or cancelling the task) cancels the run: LM calls stop and every worker is killed.
        Wrap it in `contextlib.aclosing(...)` to have that happen at once rather than when the generator is
        collected. Sync code may write `for item in rlm.stream(...)`: the same items, the run on a loop of rlmx's.
        """
        itself: list[weakref.ref[AsyncGenerator[Event | Result, None]]] = []
        events = self._stream(query, context, contexts, output, itself)
        itself.append(weakref.ref(events))
        return EventStream(events)

    async def _stream(
        self,
        query: str,
        context: Any,
        contexts: Mapping[str, Any] | None,
        output: type[BaseModel] | dict[str, Any] | None,
        itself: list[weakref.ref[AsyncGenerator[Event | Result, None]]],
    ) -> AsyncGenerator[Event | Result, None]:
        """`stream`'s generator; `itself` holds a weak reference to it, dead once the GC finalizes it."""
        require_asyncio("RLM.stream")
        prepared, schema = await _inputs_off_the_loop(
            query, context, contexts, output, self.max_context_bytes, self.reserved_names
        )
        events: asyncio.Queue[Event] = asyncio.Queue()
        run = asyncio.create_task(self._run(query, prepared, schema, listener=events.put_nowait))
        try:
            while not run.done() or not events.empty():
                waiter = asyncio.ensure_future(events.get())
                await asyncio.wait({waiter, run}, return_when=asyncio.FIRST_COMPLETED)
                if waiter.done():
                    yield waiter.result()
                else:
                    waiter.cancel()
            yield run.result()
        finally:
            if not run.done():
                if _running_loop() is run.get_loop() and itself[0]() is not None:
                    # aclose() or a cancellation, awaited on the run's loop: wait until the run has cleaned up
                    run.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await run
                else:  # finalized by the GC (perhaps synchronously, where nothing can be awaited), or off its loop
                    _cancel_without_awaiting(run)

    def session(self, context: Any = None, *, contexts: Mapping[str, Any] | None = None) -> Session:
        """A multi-turn session: one REPL kept across questions, its variables and `history` included.

            with rlm.session(context=Path("logs.txt")) as s:
                s.ask("How many errors are there?")
                s.ask("Which of them came first?")      # the REPL still holds the first answer's variables

        `async with rlm.session(...) as s: await s.aask(...)` is the async form. Bad contexts raise InputError here.
        """
        from rlmx.session import Session

        return Session(self, prepare_all(context, contexts, self.reserved_names, max_bytes=self.max_context_bytes))

    async def _run(
        self,
        query: str,
        prepared: list[PreparedContext],
        schema: OutputSchema | None,
        *,
        sandbox: Sandbox | None = None,
        session: dict[str, Any] | None = None,
        setup: bool = True,
        listener: Emit | None = None,
        run_id: str | None = None,
    ) -> Result:
        """One completion tree over contexts already prepared; with `sandbox`, the root reuses that REPL. `setup`:
        whether the root's REPL still needs the tool stubs and setup code (a session's REPL that has them already
        does not). `run_id`: the id its caller already gave out (a server's trace header, sent before the run
        starts); else a new one."""
        if schema is not None and is_guided_root(self.lm):  # completion, stream and sessions all come here
            raise InputError(
                f"output= {TYPED_NEEDS_CODE}: give RLM a root LM that writes code (OpenAICompatibleLM, or LocalLM "
                "with a bigger GGUF), or leave output= out and ask for the format in the question"
            )
        check_guided_has_context(self.lm, prepared)
        run_id = run_id or uuid.uuid4().hex[:12]
        trace = self._open_trace(run_id)
        emit = Fanout(trace, self.on_event, listener)
        ledger = Ledger(self.budget, prices=self.prices)
        cache = SubcallCache(self.cache_dir) if self.cache is not False else None
        tree = Tree(
            run_id=run_id,
            ledger=ledger,
            limiter=asyncio.Semaphore(self.max_concurrency),
            emit=emit,
            root_lm=self.lm,
            sub_lm=self.sub_lm,
            models=self.models,
            max_depth=self.max_depth,
            depth_lms=self.depth_lms,
            output=schema,
            sandbox=self.sandbox,
            sandbox_options=self.sandbox_options,
            system_prompt=self.system_prompt,
            cache=cache,
            cache_policy=self.cache,
            tools=self.tools or None,
            setup_code="\n".join(c for c in (placement_code(self.files), self.setup_code) if c) or None,
            prompt_notes=describe_files(self.files) if self.files else None,
        )
        started = time.monotonic()
        root: Engine | None = None
        if trace is not None:
            trace.end_if_abandoned = lambda: _unfinished_run_end(
                asyncio.CancelledError(),
                run_id,
                ledger,
                trace,
                time.monotonic() - started,
                root.iterations if root else 0,
            )
        emit(
            Event(
                "run_start",
                run_id,
                "0",
                None,
                0,
                {
                    "query": clip(query),
                    "contexts": [c.summary() for c in prepared],
                    "root_model": self.lm.model,
                    "sub_model": self.sub_lm.model,
                    "max_depth": self.max_depth,
                    "sandbox": self.sandbox,
                    "budget": asdict(self.budget),
                    "prompt_version": prompts.PROMPT_VERSION,
                    **({"session": session} if session else {}),
                },
            )
        )
        try:
            note = prompts.session_note(session["turn"], session["new_contexts"]) if session else None
            root = Engine(tree, query=query, contexts=prepared, sandbox=sandbox, session_note=note, setup=setup)
            try:
                node = await root.run()
            except BaseException as exc:
                # A run that never returns still ends in its trace: `rlmx traces` must not list it as running.
                emit(_unfinished_run_end(exc, run_id, ledger, trace, time.monotonic() - started, root.iterations))
                raise
            result = Result(
                answer=node.answer,
                status=node.status,
                stop_reason=node.stop_reason,
                iterations=node.iterations,
                usage=ledger.usage,
                trace_path=trace.path if trace is not None else None,
                answer_source=node.source,
                value=node.value,
                run_id=run_id,
                seconds=time.monotonic() - started,
                error=node.error,
            )
            # the trace's copy of the answer and value is clipped (the Result keeps them whole)
            trace_fields = {"answer": clip(result.answer), "value": clip_value(result.value)}
            # (to_dict of a copy without the value: its JSON form, a whole dump of it, would be replaced at once)
            fields = dataclasses.replace(result, value=None).to_dict()
            emit(Event("run_end", run_id, "0", None, 0, {**fields, **trace_fields}))
            return result
        finally:
            if cache is not None:
                cache.close()
            if trace is not None:
                trace.close()

    def _open_trace(self, run_id: str) -> TraceFile | None:
        if self.trace_dir is None:
            return None
        stamp = time.strftime("%Y%m%d-%H%M%S")
        try:
            return TraceFile(self.trace_dir / f"{stamp}-{run_id}.jsonl")
        except OSError as exc:
            raise InputError(
                f"cannot write traces to {self.trace_dir}: {exc.strerror}; choose a folder rlmx can write: "
                "--trace-dir DIR (or XDG_STATE_HOME) on the command line, trace_dir= in Python"
            ) from None


def _unfinished_run_end(
    exc: BaseException, run_id: str, ledger: Ledger, trace: TraceFile | None, seconds: float, iterations: int
) -> Event:
    """The `run_end` of a run cut short: status "cancelled" (Ctrl-C, a client gone, a task cancelled) or "error".
    `iterations`: the root turns started, the one cut short included."""
    cancelled = isinstance(exc, asyncio.CancelledError | KeyboardInterrupt)
    return Event(
        "run_end",
        run_id,
        "0",
        None,
        0,
        {
            "answer": "",
            "status": "cancelled" if cancelled else "error",
            "stop_reason": "cancelled before it finished" if cancelled else f"the run failed: {type(exc).__name__}",
            "answer_source": "none",
            "iterations": iterations,
            "value": None,
            "usage": ledger.usage.to_dict(),
            "trace_path": str(trace.path) if trace is not None else None,
            "run_id": run_id,
            "seconds": round(seconds, 4),
            "error": None if cancelled else f"{type(exc).__name__}: {exc}",
        },
    )
