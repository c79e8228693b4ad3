"""What the MCP tools do, without the MCP SDK: read the granted paths, run the RLM, shape the replies.

`server.py` wires these methods to MCP tools; everything here takes plain values and returns JSON-ready dicts, and
raises InputError (a clear message, nothing spent) for bad input.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import dataclasses
import difflib
import math
import re
import time
import weakref
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from rlmx.budget import Budget
from rlmx.context import RAISE_LIMIT_HINT, PreparedContext, prepare_all
from rlmx.errors import InputError, RLMXError
from rlmx.events import Emit, Fanout
from rlmx.lm.base import ascii_density, price_name
from rlmx.lm.prices import Price
from rlmx.mcp.roots import Loaded, Roots
from rlmx.result import Result
from rlmx.rlm import RLM, check_query
from rlmx.sandbox.frames import RESERVED_NAMES
from rlmx.session import Session

LIMIT_NAMES = ("max_iterations", "max_seconds", "max_tokens", "max_subcalls", "max_usd")
"""The budget fields a tool call may set; they only tighten the server's own limits."""
LIMIT_WORDS = {
    "max_iterations": ("turns", "iters", "steps", "rounds", "loops", "root_turns"),
    "max_seconds": ("time", "timeout", "secs", "sec", "duration", "runtime", "wall", "wall_time", "wall_clock"),
    "max_tokens": ("toks", "total_tokens", "token_budget"),
    "max_subcalls": ("calls", "sub_calls", "llm_calls", "queries", "llm_queries", "sub_queries", "subqueries"),
    "max_usd": ("cost", "dollars", "spend", "price", "budget_usd", "cost_usd", "money"),
}
"""Other names agents give each limit (after a `max_`/`limit_` prefix), for a "did you mean": a name is close to
another by what it says, not by the `max_` all of them share (`max_turns` read as `max_usd`)."""
MCP_RAISE_LIMIT_HINT = "--max-context-bytes SIZE in the MCP server's arguments (rlmx mcp --max-context-bytes 200M)"
"""What a size refusal tells an MCP client to raise: the flag of the server it talks to, not the Python API's."""
MAX_SESSIONS = 8
"""Open sessions at once; each holds a live REPL process."""
ENDED_REMEMBERED = 1024
"""Ended session ids remembered, so that ending one again (a retried call) is no error."""
SESSION_IDLE_SECONDS = 600.0
"""A session unused this long is ended when a new one needs its place (clients of the single-exchange protocol
have no connection whose end would say they left)."""
MAX_RUNNING = 4
"""Questions being answered at once (rlm_ask and rlm_session_ask together); more are refused, not queued."""

FORECAST_NOTE = (
    "A forecast, not a measurement: the RLM never puts the context in a prompt, so cost depends on how much of "
    "the context its code sends to sub-calls. 'low' is a targeted search reading about 5% of it in 2 root turns; "
    "'high' reads all of it about 1.5 times over and uses every root turn. The context's estimate counts ASCII at "
    "its measured density (about 4 characters a token for prose and code, 2 for CSV and JSON, 1.4-1.7 for base64, "
    "hex and UUIDs) and 1.5 tokens a character for CJK, Thai and Indic scripts; 'high' counts ASCII at 1.5 times "
    "that and a token for each UTF-8 byte of a character outside ASCII, the most a byte-level tokenizer spends on one. "
    "The budget limits (max_tokens, max_usd) cap the real spend whatever the forecast says."
)


def _no_owner() -> None:
    """The owner of a session opened without one (the Python API, tests): every caller may use it."""
    return None


@dataclass(slots=True)
class _OpenSession:
    session: Session
    base: RLM
    owner: Callable[[], object | None] = _no_owner
    """A weak reference to the MCP session (the client's connection) that opened it; None: any caller's."""
    busy: bool = False
    question: asyncio.Task[tuple[Loaded | None, Result]] | None = None
    """The question being answered, so that ending the session can stop it."""
    ended: bool = False
    questions: int = 0
    last_used: float = dataclasses.field(default_factory=time.monotonic)

    def belongs_to(self, owner: object | None) -> bool:
        return _belongs(self.owner, owner)

    def orphaned(self) -> bool:
        """Whether the client that opened it is gone (its MCP session ended: HTTP clients come and go)."""
        return self.owner is not _no_owner and self.owner() is None


def _belongs(opener: Callable[[], object | None], owner: object | None) -> bool:
    """Whether `owner` may see and use a session its `opener` opened: anyone, for a session opened without an
    owner; else only the client that opened it, never another once that one is gone."""
    if opener is _no_owner:
        return True
    held = opener()
    return held is not None and held is owner


class RLMService:
    """One RLM configuration (the server's) serving tool calls; sessions live here until ended or shutdown."""

    def __init__(self, rlm: RLM, *, max_sessions: int = MAX_SESSIONS, max_running: int = MAX_RUNNING) -> None:
        self.rlm = rlm
        self.max_sessions = max_sessions
        self.max_running = max_running
        self.running = 0
        self.sessions: dict[str, _OpenSession] = {}
        self._ended: dict[str, tuple[Callable[[], object | None], int]] = {}
        """Recently ended sessions (their REPLs closed), oldest first, so that ending one again is no error."""

    # --- one-shot questions -----------------------------------------------------------------------------

    async def ask(
        self,
        roots: Roots,
        query: str,
        paths: list[str] | None,
        text: str | None,
        limits: Mapping[str, Any] | None,
        listener: Emit | None = None,
    ) -> dict[str, Any]:
        """Answer `query` over the paths or the text. The run is cancelled (workers killed) if this is."""
        check_query(query)
        rlm = self._for_call(limits, listener)  # a bad budget is refused before anything is read
        with self._slot(), server_limit_named():
            loaded = await asyncio.to_thread(_load, roots, paths, text, required=True)
            assert loaded is not None
            result = await rlm.acompletion(query, loaded.value)
        return _reply(result, loaded)

    def estimate(self, roots: Roots, query: str, paths: list[str] | None, text: str | None) -> dict[str, Any]:
        """The context's size and a cost range for the configured models: a forecast, nothing is run. InputError
        for what `ask` would refuse with the same arguments: bad input, or a context over the server's
        `max_context_bytes` (the same check, the same message)."""
        check_query(query)
        with server_limit_named():
            loaded = _load(roots, paths, text, required=True)
            assert loaded is not None
            prepared = prepare_all(loaded.value, None, RESERVED_NAMES, max_bytes=self.rlm.max_context_bytes)
        return {**_loaded_info(loaded), **forecast(self.rlm, prepared)}

    # --- sessions -----------------------------------------------------------------------------------------

    async def session_start(
        self, roots: Roots, paths: list[str] | None, text: str | None, *, owner: object | None = None
    ) -> dict[str, Any]:
        """Open a session over the paths or text (or none: later questions can bring contexts). `owner` (the
        client's MCP session) alone sees and uses it; sessions whose owner is gone are ended first."""
        for session_id, entry in list(self.sessions.items()):
            if entry.orphaned() and not entry.busy:
                await self._end(session_id)
        idle = sorted((e.last_used, i) for i, e in self.sessions.items() if not e.busy)
        for last_used, session_id in idle[: max(len(self.sessions) - self.max_sessions + 1, 0)]:
            if time.monotonic() - last_used >= SESSION_IDLE_SECONDS:
                await self._end(session_id)  # the oldest unused, to make room
        if len(self.sessions) >= self.max_sessions:
            mine = [i for i, e in self.sessions.items() if owner is not None and e.owner() is owner]
            raise InputError(
                f"{len(self.sessions)} sessions are open, the limit: end one with rlm_session_end first"
                + (f" (yours: {', '.join(mine)})" if mine else "")
                + f"; a session unused for {SESSION_IDLE_SECONDS / 60:g} minutes is ended to make room"
            )
        with server_limit_named():
            loaded = await asyncio.to_thread(_load, roots, paths, text, required=False)
            session = self.rlm.session(loaded.value if loaded is not None else None)
        session_id = session.session_id
        self.sessions[session_id] = _OpenSession(session, self.rlm, _weak(owner))
        return {
            "session_id": session_id,
            "contexts": [c.summary(with_sha256=True) for c in session.contexts],
            **(_loaded_info(loaded) if loaded is not None else {}),
            "note": "The REPL starts with the first question and keeps its variables until rlm_session_end.",
        }

    async def session_ask(
        self,
        roots: Roots,
        session_id: str,
        query: str,
        paths: list[str] | None,
        text: str | None,
        limits: Mapping[str, Any] | None,
        listener: Emit | None = None,
        *,
        owner: object | None = None,
    ) -> dict[str, Any]:
        """The next question of a session; new paths or text become `context_1`, `context_2`, ...

        A cancelled question ends its session (its REPL is killed mid-cell, so its state is not trustworthy)."""
        entry = self._session(session_id, owner)
        entry.last_used = time.monotonic()
        check_query(query)
        if entry.busy:
            raise InputError(f"session {session_id} is still answering a question; wait for it, or start another")
        call = self._for_call(limits, listener, base=entry.base)

        async def answer() -> tuple[Loaded | None, Result]:
            loaded = await asyncio.to_thread(_load, roots, paths, text, required=False)
            entry.session.rlm = call
            return loaded, await entry.session.aask(query, loaded.value if loaded is not None else None)

        with self._slot(), server_limit_named():
            entry.busy = True
            entry.question = asyncio.ensure_future(answer())
            try:
                loaded, result = await entry.question
            except InputError:
                raise  # refused before running: the session is unchanged
            except BaseException as exc:
                if entry.ended and isinstance(exc, asyncio.CancelledError) and not _cancelling():
                    raise SessionEnded(  # rlm_session_end stopped it, not this call's caller
                        f"session {session_id} was ended (rlm_session_end) while answering this question: the "
                        "question was stopped and its REPL killed"
                    ) from None
                await self._end(session_id)  # cut short mid-cell: its REPL state is not trustworthy
                raise
            finally:
                entry.busy = False
                entry.question = None
        entry.questions += 1
        reply = _reply(result, loaded)
        reply["session_id"] = session_id
        reply["turn"] = entry.questions
        return reply

    async def session_end(self, session_id: str, *, owner: object | None = None) -> dict[str, Any]:
        """Close a session and kill its REPL; a question it is answering is stopped (its caller gets SessionEnded).
        Ending it again is no error (the tool is idempotent: clients retry such a call on a timeout)."""
        ended = self._ended.get(session_id) if isinstance(session_id, str) else None
        if ended is not None and session_id not in self.sessions and _belongs(ended[0], owner):
            return {"session_id": session_id, "ended": True, "questions": ended[1], "already_ended": True}
        self._session(session_id, owner)
        return await self._end(session_id)

    async def _end(self, session_id: str) -> dict[str, Any]:
        entry = self.sessions.pop(session_id, None)
        if entry is None:  # ended meanwhile (rlm_session_end while its question failed)
            return {"session_id": session_id, "ended": True}
        entry.ended = True
        self._ended[session_id] = (entry.owner, entry.questions)
        if len(self._ended) > ENDED_REMEMBERED:
            del self._ended[next(iter(self._ended))]
        if entry.question is not None and not entry.question.done():
            # Session.aclose waits for the question being answered: stop it first, its cleanup included.
            entry.question.cancel()
            await asyncio.gather(entry.question, return_exceptions=True)
        await entry.session.aclose()
        return {"session_id": session_id, "ended": True, "questions": entry.questions}

    async def aclose(self) -> None:
        """End every session (the server is shutting down)."""
        for session_id in list(self.sessions):
            await self._end(session_id)

    @contextlib.contextmanager
    def _slot(self) -> Iterator[None]:
        """One of `max_running` run slots, or InputError at once (an agent should wait, not pile up runs)."""
        if self.running >= self.max_running:
            raise InputError(
                f"{self.running} questions are being answered, this server's limit: wait for one to finish"
            )
        self.running += 1
        try:
            yield
        finally:
            self.running -= 1

    def _session(self, session_id: str, owner: object | None) -> _OpenSession:
        entry = self.sessions.get(session_id) if isinstance(session_id, str) else None
        if entry is not None and not entry.belongs_to(owner):
            entry = None  # another client's: as good as not there
        if entry is None:  # only the caller's own ids: another HTTP client's would hand its session over
            mine = [i for i, e in self.sessions.items() if owner is not None and e.owner() is owner]
            raise InputError(
                f"no open session {session_id!r}"
                + (f" (your open sessions: {', '.join(mine)})" if mine else "")
                + "; start one with rlm_session_start (a session ends with rlm_session_end, a cancelled question, "
                f"or, to make room, {SESSION_IDLE_SECONDS / 60:g} minutes unused)"
            )
        return entry

    def _for_call(self, limits: Mapping[str, Any] | None, listener: Emit | None, *, base: RLM | None = None) -> RLM:
        """The server's RLM, its budget tightened by the call's limits, its events also sent to `listener`."""
        rlm = base if base is not None else self.rlm
        budget = tightened(rlm, limits or {})
        # RLM keeps no per-run state: a shallow copy with another budget and listener is an independent RLM.
        call = copy.copy(rlm)
        call.budget = budget
        if budget.max_depth is not None:
            call.max_depth = min(rlm.max_depth, budget.max_depth)
        if listener is not None:
            call.on_event = Fanout(rlm.on_event, listener)
        return call


class SessionEnded(RLMXError):
    """The session was ended (rlm_session_end, or the server stopping) while it answered the question."""


def _cancelling() -> bool:
    """Whether the running task itself is being cancelled (not merely what it awaited)."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def _weak(owner: object | None) -> Callable[[], object | None]:
    return _no_owner if owner is None else weakref.ref(owner)


@contextlib.contextmanager
def server_limit_named() -> Iterator[None]:
    """An InputError raised inside that tells how to raise the context-size limit names this server's flag
    (`MCP_RAISE_LIMIT_HINT`) instead of `RLM(max_context_bytes=...)` and `rlmx ask`'s: an MCP client (or the user
    reading its error) cannot change either. The error itself is kept (its type, its traceback); only its text
    changes."""
    try:
        yield
    except InputError as exc:
        text = str(exc)
        if RAISE_LIMIT_HINT in text:
            exc.args = (text.replace(RAISE_LIMIT_HINT, MCP_RAISE_LIMIT_HINT),)
        raise


def limit_meant(key: str) -> str | None:
    """The budget field (`LIMIT_NAMES`) an unknown key most likely means, else None: `max_turns` is
    max_iterations, `maxTokens` and `max_token` max_tokens, `timeout` max_seconds. Keys are compared by what follows
    a `max_` or `limit_` prefix (camelCase and dashes folded to snake_case), against each field's own word and the
    other words agents use for it (`LIMIT_WORDS`), then by spelling with a strict cutoff: the prefix every field
    shares must not make two limits look alike."""
    folded = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", key).lower().replace("-", "_").strip("_ ")
    stem = re.sub(r"^(max|limit)_?", "", folded).strip("_")
    if not stem:
        return None
    squeezed = stem.replace("_", "")
    words: dict[str, str] = {}
    for name in LIMIT_NAMES:
        own = name.removeprefix("max_")
        for word in (own, own.rstrip("s"), *LIMIT_WORDS.get(name, ())):
            words.setdefault(word, name)
            words.setdefault(word.replace("_", ""), name)
    for candidate in (stem, squeezed, stem.rstrip("s"), squeezed.rstrip("s")):
        if candidate in words:
            return words[candidate]
    close = difflib.get_close_matches(squeezed, list(words), n=1, cutoff=0.85)
    return words[close[0]] if close else None


def tightened(rlm: RLM, limits: Mapping[str, Any]) -> Budget:
    """`rlm.budget` with a call's limits applied: each one can lower the server's limit, never raise it.
    Raises InputError for an unknown or bad limit, or a USD limit on unpriced models."""
    unknown = sorted(set(limits) - set(LIMIT_NAMES))
    if unknown:
        named = ", ".join(f"{key} (did you mean {meant}?)" if (meant := limit_meant(key)) else key for key in unknown)
        raise InputError(f"unknown budget field(s) {named}; use {', '.join(LIMIT_NAMES)}")
    changes: dict[str, Any] = {}
    for name, value in limits.items():
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < math.inf:
            raise InputError(f"budget.{name} must be a positive number, not {value!r}")
        current = getattr(rlm.budget, name)
        changes[name] = value if current is None else min(current, value)
    if "max_iterations" in changes:
        changes["max_iterations"] = max(1, int(changes["max_iterations"]))
    if changes.get("max_usd") is not None and rlm.budget.max_usd is None:
        unpriced = rlm.unpriced_models()
        if unpriced:
            raise InputError(
                f"budget.max_usd cannot be enforced: no price is known for {', '.join(unpriced)}; "
                "limit budget.max_tokens instead"
            )
    return dataclasses.replace(rlm.budget, **changes)


def _load(roots: Roots, paths: list[str] | None, text: str | None, *, required: bool) -> Loaded | None:
    if paths and text is not None:
        raise InputError("give either paths or text, not both")
    if paths:
        if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
            raise InputError("paths must be a list of file or folder paths (strings)")
        return roots.read(paths)
    if text is not None:
        if not isinstance(text, str) or not text:
            raise InputError("text is empty; pass the text to answer over, or paths")
        return Loaded(text, 0, len(text))
    if required:
        raise InputError(
            "nothing to read: pass paths (files or folders under the granted roots) or text (the content itself)"
        )
    return None


def _loaded_info(loaded: Loaded) -> dict[str, Any]:
    info: dict[str, Any] = {"files_read": loaded.files, "chars_read": loaded.chars}
    if loaded.skipped:
        info["files_skipped"] = list(loaded.skipped[:50])
        if len(loaded.skipped) > 50:
            info["files_skipped_more"] = len(loaded.skipped) - 50
    return info


def _reply(result: Result, loaded: Loaded | None) -> dict[str, Any]:
    """The tool's reply: the answer first, then how the run ended, what it cost and where its trace is."""
    usage = result.usage.to_dict()
    reply: dict[str, Any] = {
        "answer": result.answer,
        "status": result.status,
        "stop_reason": result.stop_reason,
        "answer_source": result.answer_source,
        "iterations": result.iterations,
        "seconds": round(result.seconds, 2),
        "usage": {
            "input_tokens": usage["input_tokens"],
            "output_tokens": usage["output_tokens"],
            "total_tokens": usage["total_tokens"],
            "lm_calls": usage["calls"],
            "subcalls": usage["subcalls"],
            "cost_usd": usage["cost_usd"],
            "unpriced_calls": usage["unpriced_calls"],
            "by_model": usage["by_model"],
        },
        "trace_id": result.run_id,
        "trace_path": str(result.trace_path) if result.trace_path else None,
    }
    if result.error is not None:
        reply["error"] = f"{type(result.error).__name__}: {result.error}"
    if loaded is not None:
        reply.update(_loaded_info(loaded))
    return reply


# --- the forecast -----------------------------------------------------------------------------------------

_ROOT_TURN_TOKENS = (3_000, 12_000)
"""Input tokens of one root turn: the system prompt and a short history (low); a long history (high)."""
_ROOT_REPLY_TOKENS = (400, 1_500)
_SUB_READ_SHARE = (0.05, 1.5)
_SUB_REPLY_TOKENS_PER_READ = (200, 500)
_SUB_READ_TOKENS = 4_000
"""Tokens of context one sub-call reads, for counting replies."""


def _forecast_usd(price: Price, input_tokens: int, output_tokens: int, *, high: bool) -> float:
    """USD of a forecast's end: the high end bounds every token as admission does (`Price.most`: output at the
    dearest rate the model may use, an image or audio model's), the low end prices text alone (`Price.cost`)."""
    return price.most(input_tokens, output_tokens) if high else price.cost(input_tokens, output_tokens)


_HIGH_ASCII_MARGIN = 1.5
"""How far over its estimate a context's ASCII is counted for 'high': the density estimate (`ascii_density`) is
within 0.75-1.2x of cl100k on prose, code, base64, hex, UUIDs, CSV, JSON, logs and HTML."""


def _high_tokens(context: PreparedContext) -> int:
    """A forecast's high token count of a context's text: its ASCII at 1.5 times its measured density (never over a
    token a character, where cl100k spends a token per 1.4 characters of base64 and per 1.7 of hex), and a token for
    each UTF-8 byte of every other character, the most a byte-level tokenizer spends (cl100k spends close to that on
    rare CJK, emoji sequences and Greek)."""
    density = ascii_density(context.text)
    # all ASCII, or one C pass for the exact count of bytes outside ASCII
    all_ascii = context.nbytes == context.chars
    ascii_chars = context.chars if all_ascii else len(context.text.encode("ascii", "ignore"))
    ascii_tokens = min(ascii_chars, math.ceil(ascii_chars * density.tokens_per_char * _HIGH_ASCII_MARGIN))
    return ascii_tokens + context.nbytes - ascii_chars


def forecast(rlm: RLM, prepared: list[PreparedContext]) -> dict[str, Any]:
    """A low and high token and USD range for one run over `prepared` with `rlm`'s models and budget."""
    chars = sum(c.chars for c in prepared)
    tokens = sum(c.approx_tokens for c in prepared)
    high = sum(_high_tokens(c) for c in prepared)
    root, sub = rlm.lm.model, rlm.sub_lm.model
    guided = root.startswith("guided-root")
    turns = (2, rlm.budget.max_iterations)
    ranges: dict[str, dict[str, int]] = {}
    for index, end in enumerate(("low", "high")):
        counted = (tokens, high)[index]  # where tokenizers differ most (CJK: 0.7-3 a character), high takes the most
        read = max(min(counted, 2_000), math.ceil(counted * _SUB_READ_SHARE[index]))
        reads = max(1, math.ceil(read / _SUB_READ_TOKENS))
        ranges[end] = {
            "root_input": 0 if guided else turns[index] * _ROOT_TURN_TOKENS[index],
            "root_output": 0 if guided else turns[index] * _ROOT_REPLY_TOKENS[index],
            "sub_input": read + 200 * reads,
            "sub_output": reads * _SUB_REPLY_TOKENS_PER_READ[index],
        }
    cap = rlm.budget.max_tokens
    out: dict[str, Any] = {
        "kind": "forecast",
        "note": FORECAST_NOTE,
        "context_chars": chars,
        "context_tokens_estimate": tokens,
        "context_tokens_high": high,
        "models": {"root": root, "sub": sub},
        "tokens": {},
        "cost_usd": {},
        "budget": {k: v for k, v in dataclasses.asdict(rlm.budget).items() if v is not None},
    }
    root_price, sub_price = rlm.prices.lookup(price_name(rlm.lm)), rlm.prices.lookup(price_name(rlm.sub_lm))
    for end, parts in ranges.items():
        total = sum(parts.values())
        out["tokens"][end] = min(total, cap) if cap is not None else total
        if (root_price is None and not guided) or sub_price is None:
            continue
        usd = _forecast_usd(sub_price, parts["sub_input"], parts["sub_output"], high=end == "high")
        if root_price is not None:
            usd += _forecast_usd(root_price, parts["root_input"], parts["root_output"], high=end == "high")
        if cap is not None and total > cap:
            usd *= cap / total
        if rlm.budget.max_usd is not None:
            usd = min(usd, rlm.budget.max_usd)
        out["cost_usd"][end] = round(usd, 6)
    if not out["cost_usd"]:
        out["cost_usd"] = None
        out["unpriced_models"] = rlm.unpriced_models()
    if tokens and cap is not None and tokens > cap:
        out["warning"] = (
            f"the context alone (~{tokens:,} tokens) exceeds budget max_tokens {cap:,}; expect a partial read"
        )
    elif cap is not None and high > cap:
        out["warning"] = (
            f"the context alone (~{tokens:,} tokens, up to {high:,} for a tokenizer that spends more on dense text or "
            f"a token a byte outside ASCII) may exceed budget max_tokens {cap:,}; expect a partial read if it does"
        )
    return out
