"""One RLM node: root-LM turns against one sandbox until a finish or a stop; recursion into child nodes.

The engine decides everything about a run (when it finishes, what a sub-call may do, when a budget stops it);
the sandbox only runs cells and reports, the LMs only complete messages, the ledger only counts and admits.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import itertools
import json
import re
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal

from rlmx import prompts
from rlmx.bound_names import names_bound
from rlmx.budget import BudgetExhausted, Ledger, Role
from rlmx.context import PreparedContext, hash_in_background, prepare
from rlmx.deadline import time_limit
from rlmx.errors import InputError, LMBadResponse, LMError, RLMXError, SandboxError, SetupError
from rlmx.events import Emit, Event, clip
from rlmx.lm.base import (
    CALL_DEADLINE,
    CONTENT_FILTERED,
    LM,
    RESEND_GATE,
    Completion,
    Message,
    Usage,
    price_name,
    prompt_tokens,
    reached_cap,
)
from rlmx.protocol import (
    PLACEHOLDER_FINAL,
    THREAD_ABOVE_CHARS,
    ProseFinal,
    Reply,
    aparse_reply,
    drafts_code,
    fence_hint,
    find_final_anywhere,
    full_width_fence,
    has_quoted_block,
    last_turn_text,
    may_mean_the_word,
    split_thoughts,
    submit_literals,
    text_after_all,
    writes_an_unread_finish,
)
from rlmx.sandbox import CellResult, Sandbox, SubCall, SubCallResult, create_sandbox
from rlmx.sandbox.base import ForksChildren, plan_children
from rlmx.sandbox.frames import encodable
from rlmx.schema import OutputSchema, SchemaMismatch
from rlmx.subcall_cache import SubcallCache, cacheable, described, request_key
from rlmx.tools import ToolBox, ToolFailure, arguments, reply, shown

SETUP_RESERVED = frozenset({"answer", "history", "workspace_dir"})
"""Names, besides the contexts', that setup_code may not bind: the REPL holds them for the run (`answer`, a session's
`history`), and the model would read the setup's value where the prompt describes the run's."""

Status = Literal["finished", "budget_exhausted", "error"]
_PREEMPT_GRACE = 1.0
"""Seconds past the time budget a root node waits for a cell interrupted at the deadline before cancelling it."""
_MIN_CELL_SECONDS = 0.05
"""The shortest soft limit a cell gets at the very end of a time budget (0 would mean no limit)."""
AnswerSource = Literal[
    "final", "final_var", "submit", "answer", "prose", "final_request", "answer_buffer", "forced_extraction", "none"
]


@dataclass(slots=True)
class Tree:
    """What every node of one completion tree shares: one ledger, one concurrency limit, one event stream."""

    run_id: str
    ledger: Ledger
    limiter: asyncio.Semaphore
    emit: Emit
    root_lm: LM
    sub_lm: LM
    models: dict[str, LM]
    max_depth: int
    sandbox: str
    sandbox_options: dict[str, Any] = field(default_factory=dict)
    system_prompt: str | None = None
    depth_lms: dict[int, LM] = field(default_factory=dict)
    output: OutputSchema | None = None
    """The root's answer schema (child RLMs answer in text)."""
    cache: SubcallCache | None = None
    """Answers identical sub-LM requests once (None: no caching); `cache_policy` says which LMs qualify."""
    cache_policy: bool | None = None
    tools: ToolBox | None = None
    """Host functions the REPL code may call by name (RLM(tools=...))."""
    setup_code: str | None = None
    """Code run in every REPL before its first cell: the workspace files' placement and RLM(setup_code=...)."""
    prompt_notes: str | None = None
    """Lines added to every node's system prompt (the workspace files)."""
    stopped_children: list[str] = field(default_factory=list)
    """Child RLMs of this run that ended without finishing (a budget stop, a failure), as "node id: why": each
    one's answer so far reached its parent's code as an error, and the root's stop reason counts them."""
    _ids: itertools.count[int] = field(default_factory=itertools.count)
    _told_unkept: set[str] = field(default_factory=set)
    """LM classes whose replies this run has warned `cache_dir` does not keep (`cache_key`)."""

    def next_id(self) -> int:
        return next(self._ids)

    @property
    def recording(self) -> bool:
        """Whether any event reaches a subscriber (a trace file, `on_event`, a listener). Work done only for the
        events, such as hashing the contexts for `sandbox_ready`, is skipped when none does."""
        return bool(getattr(self.emit, "subscribers", True))

    def node_lm(self, depth: int) -> LM:
        """The LM that writes the code of a node at `depth`."""
        return self.root_lm if depth == 0 else self.depth_lms.get(depth, self.root_lm)

    def cache_route(self, lm: LM) -> str:
        """Where this run's settings first put the LM object `lm` (root, sub, depth_lms by depth, models by name),
        for the sub-call cache's key of an LM whose own settings do not say what answers it (`described`; its key
        also names the object itself): "" for one that is."""
        if described(lm):
            return ""
        places = [("root", self.root_lm), ("sub", self.sub_lm)]
        places += [(f"depth {depth}", self.depth_lms[depth]) for depth in sorted(self.depth_lms)]
        places += [(f"model {name!r}", self.models[name]) for name in sorted(self.models)]
        return next((place for place, held in places if held is lm), "elsewhere")

    def cache_key(self, lm: LM, messages: Sequence[Message]) -> str:
        """The sub-call cache's key of `messages` sent to `lm` (`request_key`, with `cache_route`). The first
        cached request of a run to an LM class that is not `described` warns, where the run has a `cache_dir`,
        that its replies stay in memory."""
        route = self.cache_route(lm)
        name = type(lm).__name__
        if route and self.cache is not None and self.cache.on_disk and name not in self._told_unkept:
            self._told_unkept.add(name)
            warnings.warn(
                f"cache_dir keeps no replies of the {name} LM (model {lm.model!r}): rlmx cannot see all that shapes "
                f"its replies (only its own OpenAICompatibleLM and LocalLM are keyed by their settings), so another "
                f"{name} set up otherwise could be answered with them; this run keeps them in memory. Give it a "
                "`cache_identity` attribute (any value whose repr names what its replies depend on: the backend, "
                "the persona, the system prompt) to keep them in cache_dir for later runs",
                UserWarning,
                stacklevel=1,
            )
        return request_key(lm, messages, route=route)

    def sub_call_lm(self, depth: int) -> LM:
        """The LM that answers a plain sub-call living at `depth` (made by a node one level up)."""
        return self.depth_lms.get(depth, self.sub_lm)


@dataclass(frozen=True, slots=True)
class Finish:
    source: AnswerSource
    value: Any

    @property
    def text(self) -> str:
        return answer_text(self.value)


def answer_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


@dataclass(frozen=True, slots=True)
class NodeResult:
    answer: str
    status: Status
    stop_reason: str
    iterations: int
    source: AnswerSource
    value: Any = None
    error: RLMXError | None = None
    """The LM or sandbox failure that ended the node, when one did."""


def _encodable(messages: Sequence[Message]) -> list[Message]:
    """Messages an LM client can always encode: lone surrogates (a reply or query cut mid-emoji) become U+FFFD."""
    return [Message(role=m["role"], content=encodable(m["content"])) for m in messages]


_WRITE_COMPLETE = (
    "write `async def complete(self, messages, **params) -> Completion` returning "
    "rlmx.lm.Completion(text=..., usage=Usage(input_tokens=..., output_tokens=...), model=self.model)"
)


UNFINISHED_CHILD = "[unfinished: this child RLM was stopped ({why}); what follows is its answer so far]"
"""The first line of the text `rlm_query` gives for a child RLM that ended without finishing but with an answer."""


class StrayCancelledError(RuntimeError):
    """A `CancelledError` that user code raised on its own (a custom LM's client on its own timeout or shutdown, a
    child RLM's LM) while nothing cancelled the run: that call's failure, never the run's cancellation. A root
    call's is raised by `completion()` (a sync caller who cancelled nothing never gets a CancelledError); a
    sub-call's fails its item ("sub-call failed: ...")."""


def cancel_asked() -> bool:
    """Whether the running task is being cancelled (rlmx's own time limit, the run's caller, a TaskGroup whose
    sibling failed): every cancel counts in `Task.cancelling()` (Python 3.11+). A CancelledError seen while it is
    0 was raised by the awaited code itself."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def _stray_cancel(where: str, exc: BaseException) -> StrayCancelledError:
    """The failure a CancelledError nobody asked for stands for, naming `where` it came from."""
    said = f" ({exc})" if str(exc) else ""
    return StrayCancelledError(
        f"{where} raised CancelledError{said} while nothing cancelled the run (a client library's own timeout or "
        "shutdown): that call failed"
    )


async def awaited(lm: LM, reply: object) -> object:
    """What `lm.complete(...)` gave, awaited. InputError naming the LM's class when it gave no awaitable (a plain
    def, put in place after `RLM(...)` checked it), instead of Python's "can't be used in 'await' expression"."""
    if not inspect.isawaitable(reply):
        raise InputError(
            f"{type(lm).__name__}.complete returned {type(reply).__name__} without being awaitable; {_WRITE_COMPLETE}"
        )
    return await reply


_REPLY_FIELDS: tuple[tuple[str, tuple[type, ...], str], ...] = (
    ("text", (str,), 'a str ("" when the backend gave no content)'),
    ("usage", (Usage,), "an rlmx.lm.Usage(input_tokens=..., output_tokens=...)"),
    ("model", (str,), "a str (the model that answered, or self.model)"),
    ("finish_reason", (str, type(None)), "a str or None"),
    ("reasoning", (str, type(None)), "a str or None"),
    ("unanswered", (int,), "an int >= 0"),
    ("billed_as", (str, type(None)), "a str or None"),
    ("overran_chars", (int,), "an int >= 0"),
    ("recorded", (str, type(None)), "a str or None"),
)
"""A Completion's fields, the types the engine reads them as, and what to write."""


def checked_reply(lm: LM, reply: object) -> Completion:
    """`reply`, when it is a Completion whose fields have the types the engine reads (`_REPLY_FIELDS`). InputError
    naming the LM's class (and the field) otherwise: a custom LM returning the text, a dict or None, or a
    Completion of text=None (a backend that gave no content), usage=None or bytes, failed deep in the engine with
    an AttributeError of its own (audit 82 v04, audit 83 v02). The counts inside `usage` are the ledger's to read:
    one that cannot be true is booked as unreported (`budget.sound_usage`)."""
    name = type(lm).__name__
    if not isinstance(reply, Completion):
        raise InputError(f"{name}.complete returned {type(reply).__name__}, not a Completion; {_WRITE_COMPLETE}")
    for attr, types, wanted in _REPLY_FIELDS:
        value = getattr(reply, attr)
        negative = isinstance(value, int) and value < 0
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types) or negative:
            raise InputError(
                f"{name}.complete returned a Completion whose {attr} is {value!r:.80} ({type(value).__name__}), "
                f"not {wanted}; {_WRITE_COMPLETE}"
            )
    return reply


def _output_cap(lm: LM, per_call: int) -> int:
    """The most output tokens a call may reserve and ask for: the budget's `max_tokens_per_call`, or the LM's own
    `max_tokens` / `max_completion_tokens` when smaller (the budget's cap is sent as the call's own `max_tokens`,
    which would otherwise replace the user's smaller bound)."""
    params = getattr(lm, "params", None)
    caps = [getattr(lm, "max_tokens", None)]  # LocalLM keeps its cap as an attribute
    if isinstance(params, dict):
        caps += [params.get("max_tokens"), params.get("max_completion_tokens")]
    return min([per_call, *(cap for cap in caps if isinstance(cap, int) and not isinstance(cap, bool) and cap > 0)])


def _named(stop: BudgetExhausted) -> str:
    """A refusal's detail with its limit's name first ("max_tokens: token budget: ..."): the one to raise, and the
    one the guided root reports as the run's stop."""
    return stop.detail if stop.detail.startswith(stop.limit) else f"{stop.limit}: {stop.detail}"


def _no_content(content: Any) -> bool:
    """Whether `answer['content']` holds no answer: missing, None or blank text (0, False or [] are answers). Ready
    without one is a slip (`answer['ready'] = True` alone, `answer = {'answer': ...}`): it finishes nothing."""
    return content is None or (isinstance(content, str) and not content.strip())


class Engine:
    """One node of the RLM tree (depth 0 is the root). `run()` never raises for budget, LM or sandbox trouble:
    the NodeResult says how it ended."""

    def __init__(
        self,
        tree: Tree,
        *,
        query: str,
        contexts: Sequence[PreparedContext],
        depth: int = 0,
        node_id: str = "0",
        parent_id: str | None = None,
        sandbox: Sandbox | None = None,
        sandbox_started: bool = True,
        store_contexts: Sequence[PreparedContext] | None = None,
        session_note: str | None = None,
        setup: bool = True,
    ) -> None:
        self.tree = tree
        self.query = query
        self.contexts = list(contexts)
        self.depth = depth
        self.node_id = node_id
        self.parent_id = parent_id
        self.iterations = 0
        self.cut_replies = 0
        """Root replies that stopped at the output cap (their code cut short): said in the stop reason."""
        self.filtered_replies = 0
        """Root replies a content filter stopped part-way (no cap was reached): said in the stop reason as such."""
        self.answer_buffer: Any = None
        self.messages: list[Message] = []
        self._recorded = 0
        self._last_feedback = ""
        self._cells = 0
        self._children = itertools.count(1)
        self._refusals: dict[tuple[str, str, str], int] = {}
        """Refusals recorded in the cell running now, by (cell, requested, reason): the later ones held to be traced
        as one event when the cell ends (a loop of refused calls is not thousands of events)."""
        self._subcalls_ok = 0
        self._sub_lm_error: LMError | None = None
        self._subcalls_withheld = 0  # refused by the model or a content filter: the LM answered
        """The last sub-LM failure: a finish reached while no sub-call succeeded is not a finished run."""
        self.sandbox = sandbox
        # A session lends a started REPL (kept open); a child forked from its parent's zygote is handed an unstarted
        # one (started and closed here, like one this node creates itself).
        self._owns_sandbox = sandbox is None or not sandbox_started
        self._store_contexts = list(store_contexts) if store_contexts is not None else self.contexts
        self.session_note = session_note
        self._setup_due = setup
        """Whether this node's REPL still needs the tool stubs and setup code (a session's later turns do not)."""

    @property
    def schema(self) -> OutputSchema | None:
        return self.tree.output if self.depth == 0 else None

    # --- events -------------------------------------------------------------------------------
    def emit(self, type_: str, **data: Any) -> None:
        self.tree.emit(Event(type_, self.tree.run_id, self.node_id, self.parent_id, self.depth, data))

    # --- the run ------------------------------------------------------------------------------
    async def run(self) -> NodeResult:
        started = time.monotonic()
        self.emit("node_start", query=clip(self.query), contexts=[c.summary() for c in self.contexts])
        try:
            result = self._with_stopped_children(
                self._unless_every_subcall_failed(self._typed_partial(await self._run_guarded()))
            )
        except asyncio.CancelledError as exc:
            if cancel_asked():  # the run was stopped (Ctrl-C, a client gone, a task cancelled): it ends here
                self.emit(
                    "node_end",
                    status="cancelled",
                    stop_reason="cancelled: the run was stopped before this node ended",
                    iterations=self.iterations,
                    answer="",
                    source="none",
                    seconds=round(time.monotonic() - started, 4),
                )
                raise
            # raised by user code on its own (an LM's client): this node's failure, with its cause named
            stray = _stray_cancel(f"the LM of node {self.node_id}", exc)
            self._ended_by(stray, started)
            raise stray from exc
        except Exception as exc:  # no rlmx failure (a custom LM client's own error): raised on, the node still ends
            self._ended_by(exc, started)
            raise
        self.emit(
            "node_end",
            status=result.status,
            stop_reason=result.stop_reason,
            iterations=result.iterations,
            answer=clip(result.answer),
            source=result.source,
            seconds=round(time.monotonic() - started, 4),
        )
        return result

    def _ended_by(self, exc: BaseException, started: float) -> None:
        """The events of a node ended by an exception raised on to the caller (a custom LM client's own)."""
        self.emit("error", error_type=type(exc).__name__, message=clip(str(exc)))
        self.emit(
            "node_end",
            status="error",
            stop_reason=f"{type(exc).__name__}: {clip(str(exc))}",
            iterations=self.iterations,
            answer="",
            source="none",
            seconds=round(time.monotonic() - started, 4),
        )

    async def _run_guarded(self) -> NodeResult:
        budget = self.tree.ledger.budget
        if self.sandbox is None:
            self.sandbox = create_sandbox(self.tree.sandbox, **self.tree.sandbox_options)
        sandbox = self.sandbox
        try:
            remaining = self.tree.ledger.remaining_seconds() if self.depth == 0 else None
            try:
                # LM calls and cells stop at the deadline themselves (keeping what a cell wrote to `answer`);
                # this is the backstop for a cell that does not come back.
                async with time_limit(None if remaining is None else remaining + _PREEMPT_GRACE) as backstop:
                    first = None
                    if self._owns_sandbox:
                        first = self._first_ask_early(budget.max_iterations)
                        if self.tree.recording:  # on the loop's next turn: a thread started before the REPL's
                            # spawn delays it (vfork waits for the child's exec, 0.3 -> 10 ms measured)
                            asyncio.get_running_loop().call_soon(hash_in_background, self.contexts)
                        if self.depth == 0:  # the run's own REPL: sized for its whole tree before it starts
                            plan_children(sandbox, self.tree.max_depth)
                        try:
                            await sandbox.start(self._store_contexts)
                        except BaseException:
                            if first is not None:
                                first.cancel()
                                await asyncio.gather(first, return_exceptions=True)
                            raise
                    self.emit(
                        "sandbox_ready", protections=sandbox.protections, contexts_sha256=await self._context_hashes()
                    )
                    if self._setup_due:
                        await self._setup()
                    return await self._loop(budget.max_iterations, first)
            except TimeoutError:
                if not backstop.expired():  # an LM client's own timeout (httpx, aiohttp, wait_for): its failure
                    raise
                return self._stopped(BudgetExhausted("max_seconds", self._time_spent()))
            except BudgetExhausted as stop:
                return await self._forced_answer(stop)
            except LMError as exc:
                return self._failed(f"{self._writer()} call failed: {exc}", exc)
            except SandboxError as exc:
                return self._failed(f"the REPL failed: {exc}", exc)
        finally:
            if self._owns_sandbox:
                await sandbox.close()

    def _writer(self) -> str:
        """The LM writing this node's code, as a failure names it: "the root LM" at depth 0; in a child RLM the
        model of its depth (`depth_lms`), which is no root: a 429 of `coder-d1` read as the root's pointed elsewhere."""
        if self.depth == 0:
            return "the root LM"
        return f"the depth-{self.depth} LM ({self.tree.node_lm(self.depth).model}) of this child RLM"

    async def _context_hashes(self) -> dict[str, str]:
        """The contexts' sha256, hashed in the background since they were prepared (done by now for any context
        whose REPL start took longer than its hash); waited for on a thread, never on the event loop. None are
        computed for a run nobody records (its events go nowhere)."""
        if not self.tree.recording:
            return {}
        return await asyncio.to_thread(lambda: {c.name: c.sha256 for c in self.contexts})

    def _time_spent(self) -> str:
        limit = self.tree.ledger.budget.max_seconds
        if limit is None:  # a session's own time limit, or none: never formatted as a number
            return "the time budget (max_seconds) ran out"
        return f"the {limit:g} s time budget (max_seconds) ran out"

    def _first_ask_early(self, max_iterations: int) -> asyncio.Task[Completion] | None:
        """The first root call, sent while the sandbox starts (it needs only the contexts' sizes and previews,
        not the REPL): the default tier's start overlaps the LM's first reply instead of preceding it. Not for
        tiers that may refuse to start (no tokens before that error) or when setup code must run first."""
        if self.tree.sandbox != "subprocess" or (self._setup_due and self._setup_source()):
            return None
        self._open_conversation(max_iterations)
        self.iterations = 1
        self.emit("iteration", turn=1)
        return asyncio.create_task(self._ask(role="root"))

    def _open_conversation(self, max_iterations: int) -> None:
        self.messages = [
            Message(role="system", content=self._system_prompt(max_iterations)),
            Message(
                role="user",
                content=prompts.first_user(self.query, self.contexts, max_iterations, session_note=self.session_note),
            ),
        ]

    async def _loop(self, max_iterations: int, first: asyncio.Task[Completion] | None = None) -> NodeResult:
        """The turns. `first`: turn 1's root call, already sent (`_first_ask_early`)."""
        if first is None:
            self._open_conversation(max_iterations)
        feedback = ""
        stalled = 0  # root replies in a row cut at the output cap (or by a content filter) with no cell run
        stalled_filtered = 0  # of those, the ones a content filter stopped
        thinking = 0  # root replies in a row of reasoning only, ended by the model (not cut)
        for turn in range(1, max_iterations + 1):
            self.iterations = turn
            if turn == 1 and first is not None:
                reply = await first
            else:
                self.tree.ledger.check_time()
                self.emit("iteration", turn=turn)
                reply = await self._ask(role="root")
            cut = reached_cap(reply.finish_reason)
            filtered = cut and str(reply.finish_reason).lower() in CONTENT_FILTERED
            self.cut_replies += cut and not filtered
            self.filtered_replies += filtered
            cells_before = self._cells
            reasoning_only = not reply.text and bool(reply.reasoning)
            if reasoning_only:  # only reasoning came back (`_admitted_call`): nothing to run
                finish, feedback = (
                    None,
                    prompts.cell_outputs(
                        [prompts.FILTERED if filtered else prompts.REASONING_CUT if cut else prompts.REASONING_ONLY]
                    ),
                )
            else:
                finish, feedback = await self._act(
                    reply.text, cut=cut, filtered=filtered, overran=reply.overran_chars, reasoning=reply.reasoning
                )
            if finish is not None and self.tree.ledger.remaining_seconds() == 0:
                return self._finished_late(finish)
            if finish is not None:
                accepted, feedback = self._accept(finish)
                if accepted is not None:
                    return accepted
            self._last_feedback = feedback
            stalled = stalled + 1 if cut and self._cells == cells_before else 0
            stalled_filtered = stalled_filtered + filtered if stalled else 0
            thinking = thinking + 1 if reasoning_only and not cut else 0
            if stalled >= CUT_STALL_TURNS and turn < max_iterations:
                # a cap too small for any code (a proxy's health check sends max_tokens 16): every further turn
                # would be cut the same way, so ask for the answer now instead of spending the other turns
                return await self._final_request(
                    feedback, max_iterations, stalled=stalled, stalled_filtered=stalled_filtered
                )
            if thinking >= CUT_STALL_TURNS and turn < max_iterations:
                # a server that files every reply as reasoning (a reasoning parser set for a model, or a thinking
                # switch, that does not match it): each further turn would come back the same way
                return await self._final_request(feedback, max_iterations, thinking=thinking)
            if turn < max_iterations:
                self.messages.append(
                    Message(role="user", content=f"{feedback}\n\n{prompts.next_turn(turn + 1, max_iterations)}")
                )
        return await self._final_request(feedback, max_iterations)

    def _system_prompt(self, max_iterations: int) -> str:
        text = prompts.system(
            depth=self.depth,
            max_depth=self.tree.max_depth,
            max_iterations=max_iterations,
            override=self.tree.system_prompt,
        )
        if self.tree.tools:
            text = f"{text}\n\n{self.tree.tools.describe()}"
        if self.tree.prompt_notes:
            text = f"{text}\n\n{self.tree.prompt_notes}"
        return text if self.schema is None else f"{text}\n\n{prompts.output_format(self.schema.describe())}"

    def _setup_source(self) -> str:
        tools = self.tree.tools.stubs() if self.tree.tools else ""
        return "\n".join(part for part in (tools, self.tree.setup_code or "") if part)

    async def _setup(self) -> None:
        """Define the tool stubs and run the setup code in this node's REPL, before its first LM call. Raises
        SetupError with the REPL's output when that fails."""
        code = self._setup_source()
        if not code:
            return
        taken = {c.name for c in self.contexts} | SETUP_RESERVED
        clash = sorted(taken & names_bound(self.tree.setup_code or ""))
        if clash:  # the first prompt describes the run's own: the model would read the setup's under that name
            raise SetupError(
                f"setup_code binds {', '.join(clash)}, which the REPL holds for the run (its contexts, `answer`, a "
                "session's `history`, the workspace's `workspace_dir`): the model would read the setup's value where "
                "the prompt describes the run's; use another name"
            )
        assert self.sandbox is not None
        limit = self._cell_time()
        result = await self._in_sandbox(code, limit)
        self.emit("setup", status=result.status, output=clip(result.feedback(), 2000), seconds=round(result.seconds, 4))
        if result.status != "ok" or result.error:
            raise SetupError(f"setup_code failed in the REPL ({result.status}): {result.feedback()}")
        if result.replaced:  # put back after the setup: the model's code would never have seen the setup's own
            names = ", ".join(result.replaced)
            raise SetupError(
                f"setup_code rebinds {names}, which rlmx puts back after every block; define your version under "
                "another name (and name it to the model in the system prompt)"
            )
        if result.rebound:  # bound at run time (`exec`, `globals().update`, setattr), past the check above
            raise SetupError(
                f"setup_code binds {', '.join(result.rebound)}, which the REPL holds for the run (its contexts): "
                "the model would read the setup's value where the prompt describes the run's; use another name"
            )

    async def _ask(self, *, role: Role) -> Completion:
        """One root-LM call over the conversation so far; the reply is appended to it."""
        new = self.messages[self._recorded :]
        started = time.monotonic()
        completion = await self._complete(self.tree.node_lm(self.depth), self.messages, role=role, depth=self.depth)
        # a reply of reasoning only has no text: its turn is recorded as such (Anthropic and Gemini refuse an empty
        # assistant message, which would end the run at the next call)
        said = completion.text or (prompts.REASONING_ONLY_TURN if completion.reasoning else "")
        self.messages.append(Message(role="assistant", content=said))
        self._recorded = len(self.messages)
        self.emit(
            "lm_call",
            role=role,
            model=completion.model,
            new_messages=[{"role": m["role"], "content": clip(m["content"], 2000)} for m in new],
            response=completion.text if completion.recorded is None else completion.recorded,
            **_billed(completion.usage),
            seconds=round(time.monotonic() - started, 4),
            **_reply_notes(completion),
        )
        return completion

    async def _complete(self, lm: LM, messages: Sequence[Message], *, role: Role, depth: int) -> Completion:
        """Any LM call of the tree (`_admitted_call`), stopped when the time budget runs out (BudgetExhausted)."""
        remaining = self.tree.ledger.remaining_seconds()
        # the LM client's retries see the deadline too: a wait past it is not slept (the error says what was asked)
        bound = CALL_DEADLINE.set(None if remaining is None else time.monotonic() + remaining)
        try:
            async with time_limit(remaining) as deadline:
                return await self._admitted_call(lm, messages, role=role, depth=depth)
        except TimeoutError:
            if deadline.expired():
                raise BudgetExhausted("max_seconds", self._time_spent()) from None
            raise
        except LMError as exc:
            if exc.out_of_time and role == "root":  # the run cannot go on in time: a budget stop, best answer kept
                budget = self.tree.ledger.budget.max_seconds
                raise BudgetExhausted(
                    "max_seconds",
                    f"the {budget:g} s time budget (max_seconds) ends before the root LM call could be tried again "
                    f"({exc})",
                ) from exc
            raise  # a sub-call's goes to the code, which may still finish in the time left
        finally:
            CALL_DEADLINE.reset(bound)

    async def _admitted_call(self, lm: LM, messages: Sequence[Message], *, role: Role, depth: int) -> Completion:
        """An LM call admitted by the ledger (an upper bound reserved), run under the tree's
        concurrency limit, settled with the real usage under the admitted model's price. A reply that was billed
        but holds no usable answer (LMBadResponse) is settled too, and asked once more when that may help. The
        returned Completion carries the priced usage."""
        ledger = self.tree.ledger
        tokens = await prompt_tokens(lm, messages)
        for attempt in (1, 2):
            try:
                reservation = await ledger.admit(
                    price_name(lm), tokens, _output_cap(lm, ledger.budget.max_tokens_per_call)
                )
            except BudgetExhausted as refused:
                refused.unsent = attempt == 1  # refused before its first request: no LM call was made
                raise
            params: dict[str, Any] = {"max_tokens": reservation.output_tokens} if ledger.budget.limits_spending else {}
            sent = False
            try:
                async with self.tree.limiter:
                    ledger.check_open()  # an overshoot while this call waited for a slot: it is not sent
                    sent = True
                    # a re-send after a request the server may have billed is admitted like a call
                    extend = partial(ledger.extend_waiting, reservation) if ledger.budget.limits_spending else None
                    gate = RESEND_GATE.set(extend)
                    try:
                        completion = checked_reply(lm, await awaited(lm, lm.complete(_encodable(messages), **params)))
                    finally:
                        RESEND_GATE.reset(gate)
            except asyncio.CancelledError as exc:  # max_seconds, a cancelled run, a REPL gone: a request sent is booked
                if sent and getattr(lm, "bills_cancelled_calls", True):
                    # each request sent (the call and every re-send admitted) may have been billed
                    ledger.settle_unanswered(reservation, attempts=reservation.copies, role=role, depth=depth)
                else:
                    ledger.release(reservation)
                if not cancel_asked():  # the LM's own (its client's timeout): this call's failure, not a stop
                    raise _stray_cancel(f"{type(lm).__name__}.complete ({lm.model})", exc) from exc
                raise
            except LMError as exc:
                # What the error says was billed, and each request sent whose usage it cannot say (timed out, broken
                # off, unreadable, before an error status) at the reservation: booked, never released.
                usage = exc.usage if isinstance(exc, LMBadResponse) else None
                settled = None
                # a rejected reply is priced as an accepted one: the model and the service tier it says
                served = exc.served if isinstance(exc, LMBadResponse) else None
                billed_as = exc.billed_as if isinstance(exc, LMBadResponse) else None
                if exc.unanswered == 0 and usage is None:
                    ledger.release(reservation)
                elif exc.unanswered:
                    billed = ledger.unanswered(reservation, exc.unanswered, usage, served, billed_as)
                    settled = ledger.settle(reservation, billed, role=role, depth=depth, billed_as=billed_as)
                elif usage is not None:
                    settled = ledger.settle(
                        reservation, usage, role=role, depth=depth, billed_as=billed_as, served=served
                    )
                if not isinstance(exc, LMBadResponse):
                    raise
                if role == "root" and exc.reasoning_only is not None and settled is not None:
                    # A turn spent only reasoning: the model is told so, as for reasoning left open in its text
                    # (`_act`), rather than asked the same again or the run ended.
                    self.emit("lm_reply_rejected", role=role, model=lm.model, error=str(exc), retried=False)
                    return dataclasses.replace(exc.reasoning_only, usage=settled)
                retry = exc.retryable and attempt == 1
                # what the rejected reply was billed is in no other event: the trace's sums must hold it
                rejected = _billed(settled) if settled is not None else {}
                self.emit("lm_reply_rejected", role=role, model=lm.model, error=str(exc), retried=retry, **rejected)
                if not retry:
                    raise
                continue
            except BaseException:
                ledger.release(reservation)
                raise
            # Requests of this call that timed out before the answered one may have been billed too.
            spent = (
                ledger.unanswered(
                    reservation, completion.unanswered, completion.usage, completion.model, completion.billed_as
                )
                if completion.unanswered
                else None
            )
            usage = ledger.settle(
                reservation,
                spent or completion.usage,
                role=role,
                depth=depth,
                billed_as=completion.billed_as,
                served=completion.model,
            )
            text = encodable(completion.text)
            if usage is completion.usage and text is completion.text:
                return completion
            return dataclasses.replace(completion, usage=usage, text=text)
        raise AssertionError("unreachable")

    # --- acting on a reply ----------------------------------------------------------------------
    async def _act(
        self, text: str, *, cut: bool = False, filtered: bool = False, overran: int = 0, reasoning: str | None = None
    ) -> tuple[Finish | None, str]:
        """Run the reply's cells in order; returns a finish, or the feedback for the next turn. `cut`: the reply
        stopped at its output cap (or, `filtered`, a content filter stopped it), so a block it left open is cut
        short and does not run, nor does a FINAL in its text finish. `reasoning`: what the server sent apart as
        reasoning (never run; named in the feedback when the only code was there)."""
        parsed = await aparse_reply(text)
        # a FINAL of the template's placeholder (`FINAL(your answer)`) never finishes; the model is told why
        cells, prose = list(parsed.cells), parsed.final or parsed.placeholder
        notes: list[str] = []
        if parsed.overran_chars or overran:  # cut here, or by the LM's reader (`Completion.overran_chars`)
            self.emit("reply_overran", ignored_chars=parsed.overran_chars + overran)
            notes.append(prompts.OVERRAN_TURN)
        if cut and parsed.open_block and cells:
            cells.pop()
            self.emit("cell_skipped", reason="cut at the output cap")
            notes.append(prompts.FILTERED if filtered else prompts.CUT_BLOCK)
        if not cells and prose is None:
            if parsed.open_reasoning:  # the reply ended inside its reasoning: whatever it wrote there never runs
                notes.append(prompts.REASONING_CUT if cut else prompts.REASONING_OPEN)
            if notes:  # told as notes, not as the output of a block: none ran
                return None, "\n\n".join(notes)
            self.emit("no_code")
            return None, self._why_nothing_ran(text, parsed, cut=cut, filtered=filtered, reasoning=reasoning)
        outputs: list[str] = []
        printed: list[str] = []
        failed = False
        subcalls_before = self.tree.ledger.usage.subcalls
        for code in cells:
            self.tree.ledger.check_time()
            result = await self._run_cell(code)
            outputs.append(result.feedback() + fence_hint(result.error))
            printed.append(result.stdout)
            finish = self._finish_from(result)
            # (a FINAL block of a reply cut at its cap still finishes: a model that answers in a block and then
            # rambles to the cap is common, and a drafted block is rarer than a drafted prose FINAL)
            if finish is not None:
                return finish, ""
            if result.answer.get("ready") and result.final is None:  # `answer['ready'] = True` alone, or a wrong key
                notes.append(prompts.READY_WITHOUT_CONTENT)
            failed = failed or result.status != "ok"
        asked = self.tree.ledger.usage.subcalls > subcalls_before
        refusal = _unseen(prose, parsed.cells_before_final, len(cells), failed, printed, asked) if prose else None
        if prose is not None and cut:
            # a reply stopped mid-text (reasoning whose <think> the chat template opened, cut before </think>) may
            # hold a draft it was about to take back: its prose FINAL finishes nothing
            refusal = prompts.FILTERED if filtered else prompts.CUT_FINAL
        if refusal is None and prose is not None and prose is parsed.placeholder:
            # the placeholder's words as a name the model bound (`final_answer = ...`, then FINAL(final_answer):
            # alexzhang13/rlm#115) are that variable, when it holds something; else the template's placeholder
            named = await self._named_finish(prose.argument) if prose.names_variable else None
            if named is not None and named.source != "prose" and named.value not in (None, ""):
                return named, ""
            refusal = PLACEHOLDER_FINAL.format(argument=prose.argument)
        if prose is not None and refusal is not None:
            self.emit("answer_rejected", source="prose", problems=refusal)
            notes.append(refusal)
        elif prose is not None:
            finish, extra = await self._prose_finish(prose)
            # run as code, it was text after all (`text_after_all`): held to what the output shows, as text is
            as_text = finish is not None and finish.source == "prose" and (prose.computed or prose.names_variable)
            if as_text and cells and _contradicted([prose.argument], printed, asked):
                finish, extra = None, prompts.FINAL_NOT_SHOWN.format(call=prose.call)
                self.emit("answer_rejected", source="prose", problems=extra)
            if finish is not None:
                return finish, ""
            notes.append(extra)
        # each block's output under its number; what rlmx has to say of the reply after them, as itself
        return None, "\n\n".join([prompts.cell_outputs(outputs), *notes] if outputs else notes)

    @staticmethod
    def _why_nothing_ran(text: str, parsed: Reply, *, cut: bool, filtered: bool, reasoning: str | None) -> str:
        """What the model is told when its reply ran nothing and did not finish: the most telling of a block quoted
        in its text (reasoning aside), a reply cut at its limit, a FINAL within a line of text, a block that stood
        only in its reasoning (any of its think blocks, a harmony channel, the server's reasoning field), or no
        block at all."""
        if has_quoted_block(parsed.prose):
            return prompts.QUOTED_CODE
        if cut:
            return prompts.FILTERED if filtered else prompts.CUT_BEFORE_CODE
        if parsed.open_block:  # "...\n```repl" and the reply's end: a block opened, none written
            return prompts.EMPTY_OPEN_BLOCK
        if writes_an_unread_finish(parsed):
            return prompts.FINAL_IN_TEXT
        if parsed.drafted or drafts_code([*split_thoughts(text)[1], reasoning or ""]):
            return prompts.CODE_IN_REASONING
        # never only "no block" to a model that wrote one: name the blocks that do not run, or its full-width fence
        return prompts.NO_CODE + prompts.not_run(parsed.other_languages, full_width_fence(text))

    async def _run_cell(self, code: str, *, shown: bool = True) -> CellResult:
        """Run a cell; `shown=False` leaves its events to the caller (`_cell_done`), who may find it was no cell."""
        assert self.sandbox is not None
        self._cells += 1
        cell_id = f"{self.node_id}/c{self._cells}"
        if shown:
            self.emit("cell_start", cell_id=cell_id, turn=self.iterations, code=code)
        started = time.monotonic()
        try:
            result = await self._in_sandbox(code, self._cell_time())
        except asyncio.CancelledError:  # the run was stopped mid-cell: the cell that started ends in the events too
            if shown:
                self.emit(
                    "cell",
                    cell_id=cell_id,
                    turn=self.iterations,
                    status="cancelled",
                    output="",
                    truncated_chars=0,
                    finished=False,
                    seconds=round(time.monotonic() - started, 4),
                )
            raise
        result = _refuse_cut_values(result)
        if result.answer.get("valid"):
            self.answer_buffer = result.answer.get("content")
        if result.status == "restarted" and self._setup_source():
            # The new worker lost the tool stubs and setup code with the rest: define them again.
            code, limit = self._setup_source(), self._cell_time()
            redo = await self._in_sandbox(code, limit)
            self.emit("setup", status=redo.status, output=clip(redo.feedback(), 2000), seconds=round(redo.seconds, 4))
        if shown:
            self._cell_done(cell_id, result)
        return result

    async def _in_sandbox(self, code: str, timeout: float) -> CellResult:
        """`code` run in this node's REPL, its sub-calls served here; the refusals held meanwhile are traced as the
        cell ends, before its `cell` event."""
        assert self.sandbox is not None
        try:
            return await self.sandbox.run_cell(code, calls=_Calls(self), timeout=timeout)
        finally:
            self._flush_refusals()

    def _cell_done(self, cell_id: str, result: CellResult) -> None:
        self.emit(
            "cell",
            cell_id=cell_id,
            turn=self.iterations,
            status=result.status,
            output=result.feedback(),
            truncated_chars=result.stdout_cut + result.stderr_cut,
            finished=self._finish_from(result) is not None,
            seconds=round(result.seconds, 4),
        )

    def _cell_time(self) -> float:
        """A cell's soft time limit: `cell_timeout`, or less when the time budget ends sooner, so the worker
        interrupts the cell and reports it (`answer` included) instead of being killed with it."""
        limit = self.tree.ledger.budget.cell_timeout
        remaining = self.tree.ledger.remaining_seconds()
        return limit if remaining is None else max(min(limit, remaining), _MIN_CELL_SECONDS)

    def _finish_from(self, result: CellResult) -> Finish | None:
        if result.final is not None:
            return Finish(result.final["kind"], result.final.get("value"))
        if result.answer.get("ready") and not _no_content(result.answer.get("content")):
            return Finish("answer", result.answer.get("content"))
        return None

    async def _prose_finish(self, prose: ProseFinal) -> tuple[Finish | None, str]:
        if prose.names_variable:
            return await self._named_finish(prose.argument), ""
        if prose.kind == "final" and not prose.computed:
            return Finish("prose", prose.argument), ""
        # FINAL_VAR and SUBMIT written in prose run as the one line of code they are, and so does a FINAL whose
        # argument calls the REPL (`FINAL(llm_query(...))`): its text is code, never the answer.
        code = (
            f"FINAL({prose.argument})"
            if prose.kind == "final"
            else f"FINAL_VAR({prose.argument!r})"
            if prose.kind == "final_var"
            else f"SUBMIT({prose.argument})"
        )
        # a FINAL's run may show it was text after all: no cell the model wrote, so the trace only shows it once known
        result = await self._run_cell(code, shown=prose.kind != "final")
        if prose.kind != "final":
            return self._finish_from(result), result.feedback()
        finish = self._finish_from(result)
        value = finish.value if finish is not None else None
        if text_after_all(prose.argument, result.status == "error", value):
            return Finish("prose", prose.argument), ""  # FINAL(data.csv), FINAL(re.findall): text that parses as Python
        cell_id = self._cell_id()
        self.emit("cell_start", cell_id=cell_id, turn=self.iterations, code=code)
        self._cell_done(cell_id, result)
        return finish, result.feedback()

    async def _named_finish(self, name: str) -> Finish:
        """A prose FINAL of one bare name (`FINAL(result)`): the value of the REPL's variable of that name, read as
        FINAL_VAR reads it, when one is bound (a model that names the variable it computed means its value, not the
        name: alexzhang13/rlm#115); else the name is the answer's text (`FINAL(Paris)`), as is a name bound to a
        function, class or module (`FINAL(re)`) or one of rlmx's functions, or a word the question offers as a
        choice (`may_mean_the_word`: `bob = 182` for "Who is taller, alice or bob?", audit 84b V01)."""
        code = f"FINAL_VAR({name!r})"
        result = await self._run_cell(code, shown=False)
        finish = self._finish_from(result)
        value = finish.value if finish is not None else None
        if finish is None or text_after_all(name, False, value):  # unbound, or a function's, class's or module's
            return Finish("prose", name)
        if may_mean_the_word(name, value if isinstance(value, str) else repr(value), self.query):
            return Finish("prose", name)  # the choice the question offers, not a variable named like it
        cell_id = self._cell_id()
        self.emit("cell_start", cell_id=cell_id, turn=self.iterations, code=code)
        self._cell_done(cell_id, result)
        return finish

    # --- endings ------------------------------------------------------------------------------
    def _accept(self, finish: Finish) -> tuple[NodeResult | None, str]:
        """A finish, checked against the output schema: the result, or feedback that lists what to fix."""
        if self.schema is None:
            return self._finished(finish), ""
        try:
            value = self.schema.validate(finish.value)
        except SchemaMismatch as mismatch:
            self.emit("answer_rejected", source=finish.source, problems=str(mismatch))
            return None, prompts.INVALID_ANSWER.format(problems=mismatch)
        answer = self.schema.dump(value)
        return NodeResult(answer, "finished", f"finished by {finish.source}", self.iterations, finish.source, value), ""

    def _typed_partial(self, result: NodeResult) -> NodeResult:
        """A run that did not finish still carries a typed value when its best answer happens to validate; when it
        does not, the stop reason lists the schema's problems with it (the answer stays, `value` None)."""
        if self.schema is None or result.status == "finished" or not result.answer:
            return result
        try:
            value = self.schema.validate(result.value if result.value is not None else result.answer)
        except SchemaMismatch as mismatch:  # the Result says why `value` is None: the problems the model was shown
            reason = f"{result.stop_reason}; its answer does not match the output schema: {clip(str(mismatch), 2000)}"
            return NodeResult(
                result.answer, result.status, reason, result.iterations, result.source, None, result.error
            )
        return NodeResult(
            self.schema.dump(value),
            result.status,
            result.stop_reason,
            result.iterations,
            result.source,
            value,
            result.error,
        )

    def _with_stopped_children(self, result: NodeResult) -> NodeResult:
        """The root's result, its stop reason saying how many child RLMs of the run did not finish and why the
        first did: a run that finished by FINAL over children cut short did not finish cleanly."""
        stopped = self.tree.stopped_children
        if self.depth != 0 or not stopped:
            return result
        count = f"{len(stopped)} child RLM{'s' if len(stopped) > 1 else ''}"
        note = (
            f"; {count} did not finish (what each had so far reached its parent's code marked unfinished): {stopped[0]}"
        )
        return dataclasses.replace(result, stop_reason=f"{result.stop_reason}{note}")

    def _unless_every_subcall_failed(self, result: NodeResult) -> NodeResult:
        """A run that finished, or ran out of budget, while every sub-LM call failed (a model that does not load, a
        server that is down) is an LM failure: the answer is kept, the status says what happened. A sub-call the
        model refused (or a content filter stopped) shows the LM works: with one, the run is no LM failure."""
        error = self._sub_lm_error
        answered = self._subcalls_ok or self._subcalls_withheld
        if result.status not in ("finished", "budget_exhausted") or error is None or answered:
            return result
        self.emit("error", error_type=type(error).__name__, message=str(error))
        reason = f"every sub-call failed: {error}"
        return NodeResult(result.answer, "error", reason, result.iterations, result.source, result.value, error)

    def _finished(self, finish: Finish) -> NodeResult:
        return NodeResult(
            finish.text, "finished", f"finished by {finish.source}", self.iterations, finish.source, finish.value
        )

    def _finished_late(self, finish: Finish) -> NodeResult:
        """A finish a cell reached after the time budget ran out (its `llm_query_batched` items came back as budget
        errors, and it went on): the run was stopped by max_seconds, not finished. Its answer is a stopped run's, the
        answer buffer; only where the model filled none, what it finished with."""
        reason = f"max_seconds: {self._time_spent()}; the cell finished only after it"
        if self.answer_buffer not in (None, ""):
            return self._buffered("budget_exhausted", reason)
        return NodeResult(finish.text, "budget_exhausted", reason, self.iterations, finish.source, finish.value)

    def _buffered(self, status: Status, reason: str, error: RLMXError | None = None) -> NodeResult:
        """Best answer so far when the run cannot finish normally: the answer buffer, never code."""
        if self.answer_buffer not in (None, ""):
            text = answer_text(self.answer_buffer)
            return NodeResult(text, status, reason, self.iterations, "answer_buffer", self.answer_buffer, error)
        return NodeResult("", status, reason, self.iterations, "none", None, error)

    def _stopped(self, stop: BudgetExhausted) -> NodeResult:
        return self._buffered("budget_exhausted", f"{stop.limit}: {stop.detail}")

    async def _forced_answer(self, stop: BudgetExhausted) -> NodeResult:
        """A budget ended the run: the answer buffer if the model filled it, else one last, compact call for the
        answer (query, the last REPL output, no history), only if the budget still admits it, read as the last-turn
        request's reply is (`_answer_from`). The model's code never becomes the answer."""
        if self.answer_buffer not in (None, "") or not self.messages:
            return self._stopped(stop)
        reason = f"{stop.limit}: {stop.detail}"
        compact = [
            Message(role="system", content=prompts.FORCED_SYSTEM),
            Message(role="user", content=prompts.forced_answer(self.query, stop.detail, self._last_feedback)),
        ]
        self.emit("forced_extraction", reason=reason)
        try:
            reply = await self._complete(self.tree.node_lm(self.depth), compact, role="root", depth=self.depth)
        except (BudgetExhausted, LMError) as exc:
            if (isinstance(exc, BudgetExhausted) and exc.limit == stop.limit) or str(exc) in reason:
                return self._buffered("budget_exhausted", reason)  # the same limit: saying it twice tells nothing
            return self._buffered("budget_exhausted", f"{reason}; no final call was possible: {exc}")
        self.emit(
            "lm_call",
            role="root",
            model=reply.model,
            new_messages=[dict(m) for m in compact],
            response=reply.text,
            **_billed(reply.usage),
            seconds=0.0,
            **_reply_notes(reply),
        )
        try:
            return await self._answer_from(reply, reason, "forced_extraction")
        except SandboxError as exc:  # the reply's code could not run: the budget's stop is still how the run ended
            return self._buffered("budget_exhausted", f"{reason}; the final call's code could not run: {exc}")

    def _failed(self, reason: str, error: RLMXError) -> NodeResult:
        self.emit("error", error_type=type(error).__name__, message=str(error))
        return self._buffered("error", reason, error)

    async def _final_request(
        self, feedback: str, max_iterations: int, *, stalled: int = 0, stalled_filtered: int = 0, thinking: int = 0
    ) -> NodeResult:
        """Iterations are spent (or `stalled` replies in a row were cut short with nothing run, `stalled_filtered`
        of them by a content filter and the rest at the output cap, or `thinking` came back as reasoning only): one
        last call asks for the answer in prose. Its code, if any, never becomes it. The stop reason names what cut
        the root's replies: the output cap (give a larger max_tokens) or a content filter (no cap was reached)."""
        reason = (
            f"max_iterations: all {max_iterations} turns used"
            if max_iterations > 1
            else "max_iterations: the 1 turn is used"
        )
        if stalled and stalled_filtered == stalled:
            reason = (
                f"content filter: the server's content filter stopped the root's last {stalled} replies part-way "
                "with no code run, so the answer was asked for at once: the prompt or the task trips the filter, "
                "not a token limit"
            )
        elif stalled and stalled_filtered:
            reason = (
                f"output cap: the root's last {stalled} replies were cut short with no code run ({stalled_filtered} "
                f"by the server's content filter, {stalled - stalled_filtered} at the output cap: the cap is too "
                "small for a code block), so the answer was asked for at once: give the LM a larger max_tokens"
            )
        elif stalled:
            reason = (
                f"output cap: the root's last {stalled} replies stopped at the output cap with no code run (the "
                "cap is too small for a code block), so the answer was asked for at once: give the LM a larger "
                "max_tokens"
            )
        elif thinking:
            reason = (
                f"reasoning only: the root's last {thinking} replies came back as reasoning with no answer text, so "
                "nothing ran and the answer was asked for at once: the server files the whole reply as reasoning "
                "(its reasoning parser, or the model's thinking switch, does not match this model): check the "
                "server's --reasoning-parser, or turn thinking on"
            )
        elif self.cut_replies:  # a server's small default cap (Workers AI: 256 tokens) cuts every reply's code short
            reason += (
                f"; {self.cut_replies} of the root's {self.iterations} replies stopped at the output cap, their code "
                "cut short: give the LM a larger max_tokens (a server's default may be small)"
            )
        if not stalled and self.filtered_replies:  # the filter's stop is no cap's: no max_tokens advice
            reason += (
                f"; {self.filtered_replies} of the root's {self.iterations} replies were stopped part-way by the "
                "server's content filter, not by a token limit"
            )
        self.messages.append(
            Message(role="user", content=f"{feedback}\n\n{prompts.FINAL_REQUEST.format(max_iterations=max_iterations)}")
        )
        self.emit("final_request")
        try:
            reply = await self._ask(role="root")
        except BudgetExhausted as exc:
            return self._buffered("budget_exhausted", f"{reason}; the final request was refused: {exc}")
        except LMError as exc:
            self.emit("error", error_type=type(exc).__name__, message=str(exc))
            return self._buffered("budget_exhausted", f"{reason}; the final request failed: {exc}", exc)
        return await self._answer_from(reply, reason, "final_request")

    async def _answer_from(self, reply: Completion, reason: str, source: AnswerSource) -> NodeResult:
        """How a run ends whose last call asked for its answer (the last-turn request, the forced extraction): the
        finish the reply holds, else the answer buffer, else the reply's prose. A reply cut short (at its output
        cap, or by a content filter) holds no answer in its text: the text stops mid-way, maybe inside reasoning a
        chat template opened, and the stop reason says why no answer came."""
        cut = reached_cap(reply.finish_reason)
        finish = await self._last_turn_finish(reply.text, cut=cut)
        if finish is not None:
            return NodeResult(finish.text, "budget_exhausted", reason, self.iterations, source, finish.value)
        if cut:
            reason += _no_answer_in_cut_reply(reply)
        if self.answer_buffer not in (None, ""):
            return self._buffered("budget_exhausted", reason)
        text = "" if cut else last_turn_text(reply.text)
        return NodeResult(text, "budget_exhausted", reason, self.iterations, source if text else "none")

    async def _last_turn_finish(self, text: str, *, cut: bool) -> Finish | None:
        """The finish a reply asked for the answer holds: a prose FINAL, else its code's, else a FINAL written any
        other way a model writes one when asked for its answer (`find_final_anywhere`). Of a reply cut short
        (`cut`), only a closed block's finish counts, as mid-run (`_act`): a block it left open was cut short, and
        a FINAL in its text may be a draft it was about to take back."""
        parsed = await aparse_reply(text)
        written = None if cut else find_final_anywhere(text)  # the last real FINAL, wherever written
        line = written or parsed.final if parsed.final is not None and not cut else None
        # text: the last real FINAL written wins (a bare name is read once the reply's blocks have run)
        if line is not None and line.kind == "final" and not line.computed and not line.names_variable:
            return Finish("prose", line.argument)
        # the reply's blocks run first, then its FINAL is read, as mid-run (`_act`): `FINAL(total + 1)` after the
        # block that sets total reads that total
        cells = parsed.cells[:-1] if cut and parsed.open_block else parsed.cells
        ran: Finish | None = None
        for code in cells:
            ran = self._finish_from(await self._run_cell(code))
            if ran is not None:
                break
        if line is not None:
            finish, _ = await self._prose_finish(line)
            return finish or ran  # a FINAL line: the last real FINAL written wins
        if ran is not None or written is None:
            return ran
        return (await self._prose_finish(written))[0]

    # --- sub-calls from the REPL ------------------------------------------------------------------
    async def _handle_calls(self, call: SubCall) -> list[SubCallResult]:
        if call.kind == "tool":
            return [await self._tool_call(item) for item in call.items]
        ledger = self.tree.ledger
        try:
            asks, refused = self._admit(call)
        except BudgetExhausted as stop:
            self._refused(call, len(call.items), f"budget exhausted: {_named(stop)}")
            refusal = prompts.BUDGET_REFUSED.format(detail=_named(stop).rstrip("."))
            return [SubCallResult(False, error=refusal)] * len(call.items)
        started = [(item, ask) for item, ask in zip(call.items, asks, strict=True) if ask is not None]
        if len(started) == 1:  # llm_query: run in this task (a task of its own costs two turns of the loop per call)
            done = [await self._subcall(call, *started[0])]
        else:  # a TaskGroup, not gather: on cancellation it waits until every child has closed its sandbox
            async with asyncio.TaskGroup() as group:
                runs = [group.create_task(self._subcall(call, item, ask)) for item, ask in started]
            done = [run.result() for run in runs]
        if not refused:
            return done
        self._refused(call, refused, ledger.subcall_refusal())
        spent = SubCallResult(False, error=prompts.SUBCALLS_SPENT.format(detail=ledger.subcall_refusal()))
        results = iter(done)
        return [spent if ask is None else next(results) for ask in asks]

    def _admit(self, call: SubCall) -> tuple[list[_Ask | None], int]:
        """Each item's `_Ask` (None: refused by max_subcalls, never started) and how many were refused. Only items
        whose request will really be sent take a max_subcalls slot, in the items' order: one the sub-call cache
        answers (a reply in memory or on disk, an identical request already in flight) or that repeats an earlier
        item of the batch (it shares that item's request) takes none (README, Sub-call cache). BudgetExhausted when
        the time budget is spent."""
        cache = self.tree.cache
        asks = [_Ask() for _ in call.items]
        leads: list[tuple[int, str | None]] = []  # the items that send a request: their place, and its cache key
        followers: dict[str, list[int]] = {}  # a leading request's key: the places of the items that share it
        for place, (item, ask) in enumerate(zip(call.items, asks, strict=True)):
            key = self._cache_key(call, item, ask)
            if key is not None and key in followers:
                followers[key].append(place)
            elif key is None or cache is None or not cache.answers(key):
                leads.append((place, key))
                if key is not None:
                    followers[key] = []
        allowed = self.tree.ledger.admit_subcalls(len(leads))
        for place, _ in leads[:allowed]:
            asks[place].slot = True
        # no slot: neither the item nor those that would share its request start
        refused = {at for place, key in leads[allowed:] for at in (place, *followers.get(key or "", ()))}
        return [None if place in refused else ask for place, ask in enumerate(asks)], len(refused)

    def _cache_key(self, call: SubCall, item: dict[str, Any], ask: _Ask) -> str | None:
        """The sub-call cache's key of the first request `item` would make, when the cache would see it (a plain or
        schema sub-call to a cacheable LM); None for one it never sees (a child RLM, an LM not cached, an item that
        fails before asking: an unknown model, a bad schema). A plain item's messages are kept in `ask` for its call:
        a context passed by name is read once."""
        cache = self.tree.cache
        if cache is None or (call.kind == "rlm" and self.depth + 1 < self.tree.max_depth):
            return None
        try:
            lm = self._lm_named(call.model)
            if not cacheable(lm, self.tree.cache_policy):
                return None
            schema = item.get("schema")
            if isinstance(schema, dict):
                OutputSchema(schema)
                return self.tree.cache_key(lm, _asked(_json_request(str(item["prompt"]), schema), None))
            ask.messages = _asked(str(item["prompt"]), self._item_context(item))
            ask.key = self.tree.cache_key(lm, ask.messages)
            return ask.key
        except InputError:  # it fails in its call, before any request: it takes no slot
            return None

    async def _tool_call(self, item: dict[str, Any]) -> SubCallResult:
        """One host tool call from the REPL: counted against max_tool_calls, run in the host, traced."""
        name = str(item.get("prompt", ""))
        args, kwargs = item.get("args"), item.get("kwargs")
        usage, limit = self.tree.ledger.usage, self.tree.ledger.budget.max_tool_calls
        started = time.monotonic()
        value: Any = None
        binary = False
        error = ""
        if self.tree.tools is None:
            error = f"no host tools are defined (no tool named {name!r})"
        elif not isinstance(args, list) or not isinstance(kwargs, dict):
            error = f"tool {name}: malformed call (arguments must be a list and keyword arguments a dict)"
        else:
            try:
                args, kwargs = arguments(item)  # bytes as they were sent (the trace shows them as they crossed)
                self.tree.tools.check(name, args, kwargs)  # a call that cannot run is not counted
                if limit is not None and usage.tool_calls >= limit:
                    raise ToolFailure(
                        f"tool call refused: all {limit} host tool calls of this run are used "
                        "(Budget.max_tool_calls). Work with the results you have and finish."
                    )
                usage.tool_calls += 1
                # The time budget ends the wait, as it ends an LM call: the cell gets the error at once (a sync
                # tool's thread runs on, an async one is cancelled), not the run's backstop a second later.
                try:
                    async with time_limit(self.tree.ledger.remaining_seconds()) as deadline:
                        value, binary = await self.tree.tools.call(name, args, kwargs)
                except TimeoutError:
                    if not deadline.expired():
                        raise
                    raise ToolFailure(
                        f"tool {name} was stopped: the run's time budget (Budget(max_seconds)) ran out"
                    ) from None
            except ToolFailure as exc:
                error = str(exc)
        self.emit(
            "tool_call",
            cell_id=self._cell_id(),
            name=name,
            arguments=clip(
                shown({"args": item.get("args"), "kwargs": item.get("kwargs")}, bool(item.get("bytes"))), 2000
            ),
            ok=not error,
            result=clip(error or shown(value, binary), 2000),
            seconds=round(time.monotonic() - started, 4),
        )
        if error:
            return SubCallResult(False, error=error)
        return reply(name, value, binary)

    def _refused(self, call: SubCall, count: int, reason: str) -> None:
        """Sub-calls the budget or the sandbox's caps refused never start: an event says how many, so a viewer can
        show the stop. The first refusal of its kind in a cell is traced at once; later ones of that kind are
        counted and traced as one event when the cell ends (`_flush_refusals`)."""
        if count <= 0:
            return
        key = (self._cell_id(), call.kind, reason)
        if key in self._refusals:
            self._refusals[key] += count
            return
        self._refusals[key] = 0
        self.emit("subcalls_refused", cell_id=key[0], requested=call.kind, count=count, reason=reason)

    def _flush_refusals(self) -> None:
        held, self._refusals = self._refusals, {}
        for (cell_id, requested, reason), count in held.items():
            if count:
                self.emit("subcalls_refused", cell_id=cell_id, requested=requested, count=count, reason=reason)

    def _cell_id(self) -> str:
        """The id of the cell running now (sub-calls only arrive while one runs)."""
        return f"{self.node_id}/c{self._cells}"

    async def _subcall(self, call: SubCall, item: dict[str, Any], ask: _Ask) -> SubCallResult:
        subcall_id = f"{self.node_id}/s{self.tree.next_id()}"
        prompt = str(item["prompt"])
        child = call.kind == "rlm" and self.depth + 1 < self.tree.max_depth
        kind = "rlm" if child else "llm"
        child_id = f"{self.node_id}.{next(self._children)}" if child else None
        self.emit(
            "subcall_start",
            subcall_id=subcall_id,
            cell_id=self._cell_id(),
            **({"child_id": child_id} if child_id is not None else {}),
            kind=kind,
            requested=call.kind,
            model=call.model,
            prompt=clip(prompt, 2000),
            prompt_chars=len(prompt),
        )
        started = time.monotonic()
        usage: dict[str, Any] = {}
        completion: Completion | None = None
        refused: BudgetExhausted | None = None
        try:
            if child_id is not None:
                self._hold(ask)  # taken when it was admitted: a child RLM is always started
                ask.sent += 1
                result = await self._child(prompt, item, child_id)
            elif isinstance(item.get("schema"), dict):
                result, completion = await self._sub_lm_json(call, prompt, item["schema"], ask)
            else:
                messages, key = ask.messages, ask.key
                if messages is None:
                    messages, key = _asked(prompt, self._item_context(item)), None
                ask.messages = ask.key = None  # built once: the call holds them now
                completion = await self._sub_lm(call, messages, ask, key=key)
                result = SubCallResult(True, text=_sub_answer_text(completion))
            if completion is not None:
                usage = {"model": completion.model, **_billed(completion.usage), **_reply_notes(completion)}
        except BudgetExhausted as stop:
            refused = stop
            result = SubCallResult(False, error=f"budget exhausted: {_named(stop)}")
            if ask.slot and not ask.sent:
                # no request was sent (refused a start by a token or USD limit): no sub-call was made, so it neither
                # shows in usage.subcalls nor takes one of max_subcalls
                self._release(ask)
        except _SubcallsSpent:  # it had to send after all (the request it shared failed), and no slot was left
            result = SubCallResult(
                False, error=prompts.SUBCALLS_SPENT.format(detail=self.tree.ledger.subcall_refusal())
            )
        except LMError as exc:
            if exc.withheld:  # refused, or filtered (a 200's finish_reason, a 400/403 filter refusal)
                self._subcalls_withheld += 1
            else:
                self._sub_lm_error = exc
            result = SubCallResult(False, error=f"sub-LM call failed: {exc}")
        except InputError as exc:
            result = SubCallResult(False, error=str(exc))
        except Exception as exc:  # a broken LM client fails its item, not the run
            result = SubCallResult(False, error=f"sub-call failed: {type(exc).__name__}: {exc}")
        except asyncio.CancelledError as exc:
            if not cancel_asked():  # raised by the LM (or a child's) on its own: this item fails, the cell goes on
                stray = _stray_cancel("the sub-call", exc)
                result = SubCallResult(False, error=f"sub-call failed: {type(stray).__name__}: {stray}")
            else:  # the run was stopped mid-call: the sub-call that started ends in the events
                self.emit(
                    "subcall_end",
                    subcall_id=subcall_id,
                    kind=kind,
                    ok=False,
                    text="cancelled: the run was stopped before this sub-call ended",
                    seconds=round(time.monotonic() - started, 4),
                )
                raise
        self._subcalls_ok += result.ok
        self.emit(
            "subcall_end",
            subcall_id=subcall_id,
            kind=kind,
            ok=result.ok,
            text=clip(result.text if result.ok else result.error, 2000),
            seconds=round(time.monotonic() - started, 4),
            **usage,
        )
        if refused is not None:  # the model, not the user (who sees the event), is told what to do next
            return SubCallResult(False, error=prompts.BUDGET_REFUSED.format(detail=_named(refused).rstrip(".")))
        return result

    async def _sub_lm(self, call: SubCall, messages: list[Message], ask: _Ask, *, key: str | None = None) -> Completion:
        """One ask of a sub-LM, through the sub-call cache when the LM is cacheable (`key`: the messages' cache key,
        when `_admit` made it already). A request really sent holds `ask`'s max_subcalls slot (`_sent`); a cache hit,
        or an identical request in flight that it shares, sends nothing and takes none."""
        lm = self._lm_named(call.model)
        send = partial(self._sent, lm, messages, ask)
        cache = self.tree.cache
        if cache is None or not cacheable(lm, self.tree.cache_policy):
            return await reasoning_apart(lm, await send())
        completion, hit = await cache.complete(key or self.tree.cache_key(lm, messages), send)
        completion = await reasoning_apart(lm, completion)
        if hit is None:
            return completion
        # A hit reaches no LM and spends nothing: no reservation, no sub-call counted against max_subcalls.
        usage = self.tree.ledger.usage
        usage.cached_calls += 1
        usage.cached_tokens += hit.completion.usage.total_tokens
        if ask.slot and not ask.sent:  # admitted as a request to send, answered by the cache after all
            self._release(ask)
        self.emit(
            "subcall_cached",
            cell_id=self._cell_id(),
            model=completion.model,
            source=hit.source,
            saved_tokens=hit.completion.usage.total_tokens,
        )
        return dataclasses.replace(completion, usage=Usage())

    async def _sent(self, lm: LM, messages: list[Message], ask: _Ask) -> Completion:
        """A sub-LM request really sent: it holds `ask`'s max_subcalls slot, taken now if the item had none (it
        expected to share a request that then failed; the second ask of a schema sub-call whose first was a hit),
        or _SubcallsSpent when none is left."""
        self._hold(ask)
        ask.sent += 1
        try:
            return await self._complete(lm, messages, role="sub", depth=self.depth + 1)
        except BudgetExhausted as stop:
            if stop.unsent:
                ask.sent -= 1
            raise

    def _hold(self, ask: _Ask) -> None:
        """Give `ask` a max_subcalls slot if it has none; _SubcallsSpent when every slot is used."""
        if not ask.slot:
            if not self.tree.ledger.admit_subcalls(1):
                raise _SubcallsSpent
            ask.slot = True

    def _release(self, ask: _Ask) -> None:
        """Give back the slot of an item that sent no request after all."""
        ask.slot = False
        self.tree.ledger.usage.subcalls = max(self.tree.ledger.usage.subcalls - 1, 0)

    async def _sub_lm_json(
        self, call: SubCall, prompt: str, schema: dict[str, Any], ask: _Ask
    ) -> tuple[SubCallResult, Completion]:
        """A sub-call that must answer JSON matching `schema`: asked once, and once more with the problems."""
        try:
            checker = OutputSchema(schema)
        except InputError as exc:
            raise InputError(f"llm_query schema: {exc}") from None
        request = _json_request(prompt, schema)
        problems = missed = ""
        first: Completion | None = None
        for attempt in range(2):
            asked = request if attempt == 0 else f"{request}\n\n{problems}"
            completion = await self._sub_lm(call, _asked(asked, None), ask)
            if first is not None:  # the sub-call's usage in the trace is both asks'
                completion = dataclasses.replace(completion, usage=_summed(first.usage, completion.usage))
            first = completion
            if reached_cap(completion.finish_reason):  # a value cut short (or cut reasoning taken for a string)
                cut = prompts.SUB_JSON_CUT.format(finish_reason=completion.finish_reason)
                return SubCallResult(False, error=cut), completion
            try:
                value = checker.validate(completion.text)
            except SchemaMismatch as mismatch:
                problems, missed = prompts.JSON_RETRY.format(problems=mismatch), str(mismatch)
                continue
            return SubCallResult(True, text=completion.text, value=value), completion
        # the mismatch alone: the retry's words were the sub-LM's ("Reply again with only the JSON value")
        failed = f"the sub-LM's reply did not match the schema after one retry: {missed}"
        return SubCallResult(False, error=failed), completion

    def _lm_named(self, name: str | None) -> LM:
        if name is None:
            return self.tree.sub_call_lm(self.depth + 1)
        if name in self.tree.models:
            return self.tree.models[name]
        known = ", ".join(sorted(self.tree.models)) or "none (pass models={...} to RLM)"
        raise InputError(f"unknown model {name!r} in llm_query; registered models: {known}")

    def _item_context(self, item: dict[str, Any]) -> Any:
        """The context a sub-call item carries: by value, or by the name of one of this node's contexts."""
        shared = next((c for c in self.contexts if c.name == item.get("context_ref")), None)
        if shared is None:
            return item.get("context")
        return json.loads(shared.text) if shared.kind == "json" else shared.text

    async def _child(self, prompt: str, item: dict[str, Any], node_id: str) -> SubCallResult:
        """A child RLM one level deeper, with its own REPL: forked from this node's zygote when the sandbox can
        (milliseconds), and sharing a whole context passed by reference instead of storing it again."""
        shared = next((c for c in self.contexts if c.name == item.get("context_ref")), None)
        if shared is not None:
            contexts = [shared]
        else:
            contexts = [prepare("context", prompt if item.get("context") is None else item["context"])]
        sandbox: Sandbox | None = None
        inherited = False
        if isinstance(self.sandbox, ForksChildren):
            # a context the zygote holds comes along copy-on-write; one a session loaded later is the child's own
            inherited = shared is not None and self.sandbox.shares(shared.name)
            sandbox = self.sandbox.fork_child(inherit=[shared.name] if shared is not None and inherited else [])
        self.tree.ledger.usage.child_rlms += 1
        child = Engine(
            self.tree,
            query=prompt,
            contexts=contexts,
            depth=self.depth + 1,
            node_id=node_id,
            parent_id=self.node_id,
            sandbox=sandbox,
            sandbox_started=False,
            # A context inherited copy-on-write from the zygote is not stored again.
            store_contexts=[] if inherited else None,
        )
        try:
            result = await child.run()
        except BudgetExhausted as stop:  # no budget stop should get out of a node's run; if one does, it is one
            result = child._buffered("budget_exhausted", _named(stop))
        except Exception as exc:
            # The child's LM (a custom client's ValueError or TimeoutError, a stray CancelledError, now
            # StrayCancelledError) or anything else in it raised instead of returning: the child ended short as one
            # an LMError stopped does, so it hands up its draft and is counted, whatever the exception's class. A
            # real cancellation of the run (task.cancel, Ctrl-C, the time budget) is a CancelledError, no Exception:
            # it goes on up.
            result = child._buffered("error", f"{type(exc).__name__}: {clip(str(exc))}")
        if result.status == "finished":
            return SubCallResult(True, text=result.answer)
        what = "budget exhausted" if result.status == "budget_exhausted" else "child RLM failed"
        self.tree.stopped_children.append(f"{node_id}: {what}: {result.stop_reason}")
        if result.answer:
            # A child the budget stopped hands up what it had so far, its first line saying it is unfinished and
            # why: the parent's code can tell it from a finished answer (a draft folded into a map-reduce).
            return SubCallResult(
                True, text=f"{UNFINISHED_CHILD.format(why=f'{what}: {result.stop_reason}')}\n{result.answer}"
            )
        # Stopped with nothing (the budget spent, an error): a failure, as a sub-call the budget stopped is, never
        # an empty answer the parent's code could not tell from a real one ('' read as "nothing found").
        return SubCallResult(False, error=f"{what}: {result.stop_reason}")


class _Calls:
    """A node's sub-call handler, as its sandbox calls it (`Engine._handle_calls`), and the `RefusalRecorder` the
    sandbox tells of the items its caps refused: traced as the budget's refusals are (`Engine._refused`)."""

    __slots__ = ("_engine",)

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    async def __call__(self, call: SubCall) -> list[SubCallResult]:
        return await self._engine._handle_calls(call)

    def refused(self, call: SubCall, count: int, reason: str) -> None:
        self._engine._refused(call, count, reason)


@dataclass(slots=True, eq=False)
class _Ask:
    """One llm_query / rlm_query item on its way. `slot`: whether it holds one of max_subcalls, which only a
    request really sent takes (a child RLM, a sub-LM request no cache answers); `sent`: its requests sent so far (a
    schema sub-call may ask twice, on one slot); `messages` and `key`: a plain item's first request and its cache
    key, made when the cache was asked about it (a context is formatted and hashed once)."""

    slot: bool = False
    sent: int = 0
    messages: list[Message] | None = None
    key: str | None = None


class _SubcallsSpent(Exception):
    """An item had to send a request after all, and max_subcalls had no slot left for it."""


def _asked(prompt: str, context: Any) -> list[Message]:
    """The messages of a plain sub-LM request: the prompt, with the context it was given, if any."""
    if context is not None:
        prompt = prompts.PLAIN_RLM_CONTEXT.format(prompt=prompt, context=answer_text(context))
    return [Message(role="user", content=prompt)]


def _json_request(prompt: str, schema: dict[str, Any]) -> str:
    """A schema sub-call's first request: the prompt and how to answer in JSON matching `schema`."""
    return f"{prompt}\n\n{prompts.json_reply(schema)}"


def _refuse_cut_values(result: CellResult) -> CellResult:
    """A cell whose FINAL / FINAL_VAR / SUBMIT value or answer["content"] the worker had to cut at the frame cap
    (marked `"cut"`, with the message for the model) finishes nothing with it and buffers nothing: the cut value is
    dropped and the cell fails with that message, so the model is asked again and the caller never gets a cut value
    as the answer or the partial one. What else the cell did stands: a whole FINAL beside a cut answer["content"]
    finishes the run."""
    final, answer = result.final or {}, result.answer
    if not final.get("cut") and not answer.get("cut"):
        return result
    if answer.get("cut"):
        answer = {**answer, "content": None, "ready": False, "valid": False}
    if final and not final.get("cut"):
        return dataclasses.replace(result, answer=answer)
    told = "\n".join(
        clip(mark if isinstance(mark, str) else "a value was cut at the frame cap: return less", 2000)
        for mark in (final.get("cut"), answer.get("cut"))
        if mark
    )
    return dataclasses.replace(
        result,
        status="error" if result.status == "ok" else result.status,
        error=f"{result.error}\n{told}" if result.error else told,
        final=None,
        answer=answer,
    )


def _unseen(
    prose: ProseFinal, before: int, cells: int, failed: bool, printed: Sequence[str], asked: bool
) -> str | None:
    """Why a finish written in prose next to code is not taken (None: it is). The model wrote it before it saw what
    the code did: it stands only when it comes after the code, no block failed and, for values written out (a
    FINAL of text, SUBMIT's literal values), the output does not contradict them: what the code printed shows each
    of them, or it printed nothing and asked no sub-LM (whose answers the model cannot have known). A FINAL_VAR,
    or a SUBMIT of names, refers to what the code computed."""
    if not cells:
        return None
    if failed:
        return prompts.FINAL_UNSEEN.format(call=prose.call)
    if before < cells:
        return prompts.FINAL_BEFORE_CODE.format(call=prose.call)
    if prose.kind == "final":
        # a computed FINAL is run, not compared; so is a bare name, once (`_named_finish`) it is known to be text
        written = [] if prose.computed or prose.names_variable else [prose.argument]
    else:
        written = submit_literals(prose.argument) if prose.kind == "submit" else []
    return prompts.FINAL_NOT_SHOWN.format(call=prose.call) if _contradicted(written, printed, asked) else None


def _contradicted(written: Sequence[str], printed: Sequence[str], asked: bool) -> bool:
    """Whether values written out next to code are not what its output shows: it printed something (or asked a
    sub-LM, whose answers the model cannot have known) and does not show each of them."""
    shown = _squeezed("\n".join(printed))
    return bool(written) and bool(shown or asked) and any(_squeezed(value) not in shown for value in written)


def _squeezed(text: str) -> str:
    """`text` compared loosely: whitespace runs as one space, case folded, thousands separators and a closing full
    stop dropped (FINAL(1,234.) against a printed 1234)."""
    return _THOUSANDS.sub("", " ".join(text.split()).casefold()).rstrip(".")


_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}\b)")


def _no_answer_in_cut_reply(reply: Completion) -> str:
    """What a stop reason adds when the reply asked for the answer was cut short and so gave none."""
    if str(reply.finish_reason).lower() in CONTENT_FILTERED:
        return "; a content filter stopped the reply that was to give the answer part-way, so it gave none"
    return (
        "; the reply that was to give the answer stopped at its output cap (mid-way, maybe while still reasoning), "
        "so it gave none"
    )


def _sub_answer_text(completion: Completion) -> str:
    """A plain sub-call's answer as the cell gets it. A reply cut short says so at its end: its text may be the
    sub-LM's reasoning, cut mid-thought (a chat template opened it, so no tag marks it), not an answer."""
    if not reached_cap(completion.finish_reason):
        return completion.text
    return completion.text + prompts.SUB_REPLY_CUT.format(finish_reason=completion.finish_reason)


def _billed(usage: Usage) -> dict[str, Any]:
    """A call's usage as the trace's events carry it (the viewer and the progress line add these up)."""
    return {"input_tokens": usage.input_tokens, "output_tokens": usage.output_tokens, "cost_usd": usage.cost_usd}


def _summed(first: Usage, second: Usage) -> Usage:
    """Two requests' usage as one (a sub-call asked twice): counts added; the cost known only when both are."""
    cost = None if first.cost_usd is None or second.cost_usd is None else first.cost_usd + second.cost_usd
    return Usage(
        first.input_tokens + second.input_tokens,
        first.output_tokens + second.output_tokens,
        cost,
        estimated=first.estimated or second.estimated,
        cache_read_tokens=first.cache_read_tokens + second.cache_read_tokens,
        cache_write_tokens=first.cache_write_tokens + second.cache_write_tokens,
        cache_write_1h_tokens=first.cache_write_1h_tokens + second.cache_write_1h_tokens,
        audio_input_tokens=first.audio_input_tokens + second.audio_input_tokens,
        audio_output_tokens=first.audio_output_tokens + second.audio_output_tokens,
    )


def _reply_notes(completion: Completion) -> dict[str, Any]:
    """What a reply says besides its text, for the trace: why it ended, the model's reasoning (never part of the
    answer), and whether its token counts were estimated because the server reported none."""
    notes: dict[str, Any] = {"finish_reason": completion.finish_reason}
    if completion.reasoning:
        notes["reasoning"] = clip(completion.reasoning, 2000)
    if completion.usage.estimated:
        notes["usage_estimated"] = True
    return notes


CUT_STALL_TURNS = 3
"""Root replies in a row, each stopped at the output cap with no cell run (or each of reasoning only), after which
the run asks for its answer instead of spending its other turns."""


async def reasoning_apart(lm: LM, completion: Completion) -> Completion:
    """A reply read for its text (a sub-LM's answer, a benchmark baseline's), read by `split_thoughts`: one holding a
    reasoning tag tidied as a root reply is (without the reasoning it wrote as text, `<think>...</think>` or harmony's
    analysis channel, without leaked template tokens, cut where the model ran on into a turn it made up); one without
    read as data (`protocol._read_as_data`: cut only at a real run-on, chat-format text it was asked for kept whole).
    What `openai_reply` does
    for HTTP replies, done here for every other LM (a local reasoning model's raw text, a custom LM), on a worker
    thread for a long reply. Raises LMBadResponse for a reply that is reasoning only, as an HTTP reply of reasoning
    only does."""
    if completion.reasoning is not None or getattr(lm, "splits_thoughts", False):
        return completion  # the LM tidied its reply itself
    if len(completion.text) < THREAD_ABOVE_CHARS:
        answer, thoughts = split_thoughts(completion.text)
    else:
        answer, thoughts = await asyncio.to_thread(split_thoughts, completion.text)
    thought = "\n".join(thoughts)
    if not thought:
        return dataclasses.replace(completion, text=answer) if answer != completion.text else completion
    if not answer.strip():
        raise LMBadResponse(
            f"{completion.model}: the reply was reasoning only, with no answer after it (a larger output cap, or a "
            "model that answers, may help)",
            retryable=False,  # its usage is booked already (by `_complete`)
        )
    return dataclasses.replace(completion, text=answer, reasoning=thought)
