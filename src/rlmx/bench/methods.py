"""The methods a benchmark compares, each through the LM protocol, each returning an Outcome.

base: the whole context and the query in one call (in the family's own template where it has one: RULER's for
sniah); a prompt over the model's window (prompt tokens + max output > window) is not sent, is marked
`over_window` and scores 0, as in the paper. rlm0 / rlm1 / rlm2: an RLM
with no sub-calls (depth 0: no sub-LM in its prompt, and any call is refused), plain sub-calls (depth 1) or child
RLMs (depth 2); `rlm` means rlm1. guided: the GuidedRoot strategy with the LM as its reader. summary: the
compaction baseline: the context is read in window-sized chunks, each folded into a running summary kept for the
query, then the query is answered from it."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rlmx import prompts
from rlmx.bench import sniah
from rlmx.bench.task import Task, count_tokens
from rlmx.budget import Budget, Ledger, UsageReport
from rlmx.engine import reasoning_apart
from rlmx.errors import InputError, LMError, RLMXError
from rlmx.lm.base import LM, Completion, CountsTokens, Message, message_token_bound, price_name, served_at
from rlmx.lm.guided import GuidedRoot
from rlmx.lm.prices import PriceTable
from rlmx.rlm import RLM

METHODS = ("base", "rlm0", "rlm1", "rlm2", "guided", "summary")
ALIASES = {"rlm": "rlm1"}
SUB_LM_METHODS = ("rlm1", "rlm2")
"""The methods whose sub-calls go to the sub-LM (`run_method(sub_lm=...)`); the others ask only `lm`."""
SUMMARY_PROMPT = (
    "You are reading a long document in parts to answer a question later. Question: {query}\n\n"
    "Notes so far:\n{notes}\n\nNext part:\n{chunk}\n\nRewrite the notes: keep every fact that may help answer "
    "the question (exact names, numbers, IDs, counts so far), drop the rest. Reply with the notes only."
)


DEPTH0_HOW_TO_WORK = (
    "How to work: first look at the context's structure (size, format, a few samples). Then find what the query "
    "needs with code (search, split, filter, count): there is no sub-LM, so you read only what your code prints. "
    "Keep intermediate results in variables and combine them in code. Check your answer against the data before "
    "you finish."
)


def depth0_system_prompt() -> str | None:
    """The RLM system prompt without llm_query / rlm_query (the paper's depth 0: the same REPL, no sub-calls), or
    None when the built-in prompt's wording no longer allows that cut (then sub-calls are only refused)."""
    lines = []
    for line in prompts.SYSTEM.splitlines():
        if line.startswith(("- llm_query", "- rlm_query")):
            continue
        lines.append(DEPTH0_HOW_TO_WORK if line.startswith("How to work:") else line)
    text = "\n".join(lines)
    return None if "llm_query" in text or "rlm_query" in text else text


def method_name(name: str) -> str:
    """The canonical method name; raises InputError for an unknown one."""
    name = ALIASES.get(name, name)
    if name not in METHODS:
        raise InputError(f"unknown method {name!r}: choose from {', '.join(('rlm', *METHODS))}")
    return name


@dataclass(slots=True)
class Outcome:
    """What a method did for one task: its prediction, how it ended ("ok", "over_window", "error", or the RLM's
    status), its LM usage (tokens and USD by depth and by model, sub-calls), iterations and seconds."""

    prediction: str = ""
    status: str = "ok"
    usage: UsageReport = field(default_factory=UsageReport)
    iterations: int = 0
    seconds: float = 0.0
    error: str | None = None

    @property
    def tokens(self) -> dict[str, dict[str, int]]:
        """Tokens per depth: {"0": {"input": n, "output": n}, "1": ...}."""
        return {
            str(depth): {"input": tally.input_tokens, "output": tally.output_tokens}
            for depth, tally in sorted(self.usage.by_depth.items())
        }

    @property
    def subcalls(self) -> int:
        return self.usage.subcalls

    @property
    def usd(self) -> float | None:
        """USD of the calls (provider-reported, else from the price table); None when a call's model has no price
        (its cost is unknown, never $0)."""
        return self.usage.total.known_cost_usd

    @property
    def usd_by_depth(self) -> dict[str, float | None]:
        return {str(depth): tally.known_cost_usd for depth, tally in sorted(self.usage.by_depth.items())}

    @property
    def by_model(self) -> dict[str, dict[str, Any]]:
        """Calls, tokens and USD per model (Tally.to_dict), e.g. the root's and the sub-LM's apart."""
        return {model: tally.to_dict() for model, tally in sorted(self.usage.by_model.items())}


def flat_context(task: Task) -> str:
    """The context as one string (documents joined as `[Document i]` blocks)."""
    if isinstance(task.context, str):
        return task.context
    return "\n\n".join(f"[Document {i}]\n{doc}" for i, doc in enumerate(task.context))


def base_prompt(task: Task) -> str:
    """The base method's one message: the family's template around the context where the spec gives one (RULER's
    for sniah: the preamble, the haystack, then the question), else the context then the query."""
    context = flat_context(task)
    if task.family == "sniah":
        preamble = sniah.preamble(task)
        if preamble is not None:
            return f"{preamble}\n{context}\n{task.query}"
    return f"{context}\n\n{task.query}"


SUMMARY_WINDOW = 8192
"""The window `summary` chunks for when none is known (a server model without --window)."""


async def window_tokens(lm: LM, messages: Sequence[Message]) -> int:
    """A prompt's tokens as the model's window holds them: its own count where it knows its window (`n_ctx`: a
    local model counts with its tokenizer), else the benchmark's chars4 estimate. Never an LM's admission bound
    (an OpenAI-compatible LM counts UTF-8 bytes, about 4x the tokens): that would mark prompts that fit as over."""
    if getattr(lm, "n_ctx", None) is not None and isinstance(lm, CountsTokens):
        return await lm.count_tokens(messages)
    return sum(count_tokens(m["content"]) for m in messages)


async def run_method(
    method: str,
    task: Task,
    lm: LM,
    *,
    window: int | None = None,
    max_output_tokens: int = 1024,
    budget: Budget | None = None,
    sandbox: str = "subprocess",
    sub_lm: LM | None = None,
) -> Outcome:
    """Run `method` on `task` with `lm`; the sub-calls of SUB_LM_METHODS go to `sub_lm` (None: `lm` too).
    `window` is the model's context window in tokens (None: unknown, never marked). LM and sandbox failures end
    in an Outcome with status "error", not a raise."""
    method = method_name(method)
    started = time.monotonic()
    calls = _PlainCalls(lm)
    try:
        if method == "base":
            outcome = await _base(task, calls, window, max_output_tokens)
        elif method == "summary":
            outcome = await _summary(task, calls, window or SUMMARY_WINDOW, max_output_tokens)
        else:
            outcome = await _rlm(method, task, lm, budget, sandbox, sub_lm)
    except RLMXError as exc:  # what the plain calls were billed before the failure stays counted
        outcome = Outcome(status="error", usage=calls.usage, error=f"{type(exc).__name__}: {exc}")
    outcome.seconds = round(time.monotonic() - started, 4)
    return outcome


class _PlainCalls:
    """The calls of a method that asks its LM directly (base, summary), booked the way an RLM books its own: each
    admitted by a Ledger and settled under the RLM's price table (the provider's cost, else the list price at the
    host the LM is served at), so every method's cost compares with the RLM methods'. No limits: a baseline is
    run whole, as the paper runs it. All calls are the root's (depth 0): these methods make no sub-calls. Each reply
    is read as the RLM reads a sub-LM's (`reasoning_apart`): a local reasoning model's `<think>` block, leaked
    template tokens and a run-on into a made-up turn are not its answer, so the methods are scored alike."""

    def __init__(self, lm: LM) -> None:
        self.lm = lm
        self.name = price_name(lm)
        prices = PriceTable()
        prices.expect([(self.name, served_at(lm))])
        self.ledger = Ledger(Budget(), prices=prices)

    @property
    def usage(self) -> UsageReport:
        return self.ledger.usage

    async def complete(self, messages: Sequence[Message], max_tokens: int) -> Completion:
        # the bytes' bound, not the LM's own count (a local model would tokenize the whole context again): with no
        # limits it only prices a request that got no reply
        reservation = self.ledger.reserve(self.name, message_token_bound(messages), max_tokens)
        try:
            reply = await self.lm.complete(messages, max_tokens=max_tokens)
        except LMError as exc:
            self.ledger.settle_failed(reservation, exc, role="root", depth=0)
            raise
        except BaseException:
            self.ledger.release(reservation)
            raise
        settled = dataclasses.replace(reply, usage=self.ledger.settle_reply(reservation, reply, role="root", depth=0))
        return await reasoning_apart(self.lm, settled)  # scored as the RLM reads a reply: its answer, tidied


async def _base(task: Task, calls: _PlainCalls, window: int | None, max_output_tokens: int) -> Outcome:
    messages: list[Message] = [{"role": "user", "content": base_prompt(task)}]
    if window is not None and await window_tokens(calls.lm, messages) + max_output_tokens > window:
        return Outcome(status="over_window")
    reply = await calls.complete(messages, max_output_tokens)
    return Outcome(prediction=reply.text, iterations=1, usage=calls.usage)


async def _summary(task: Task, calls: _PlainCalls, window: int, max_output_tokens: int) -> Outcome:
    text = flat_context(task)
    chunk_chars = max(2000, (window - 2 * max_output_tokens - count_tokens(task.query) - 256) * 4)
    notes = "(none yet)"
    outcome = Outcome(usage=calls.usage)
    for start in range(0, len(text), chunk_chars):
        prompt = SUMMARY_PROMPT.format(query=task.query, notes=notes, chunk=text[start : start + chunk_chars])
        reply = await calls.complete([{"role": "user", "content": prompt}], max_output_tokens)
        notes = reply.text.strip() or notes
        outcome.iterations += 1
    final = f"Notes taken while reading a long document:\n{notes}\n\n{task.query}"
    reply = await calls.complete([{"role": "user", "content": final}], max_output_tokens)
    outcome.prediction = reply.text
    outcome.iterations += 1
    return outcome


async def _rlm(
    method: str, task: Task, lm: LM, budget: Budget | None, sandbox: str, sub_lm: LM | None = None
) -> Outcome:
    budget = budget or Budget()
    kwargs: dict[str, Any] = {"sandbox": sandbox}
    if method == "guided":
        root = GuidedRoot(lm)
        rlm = RLM(root, sub_lm=root.reader, max_depth=1, budget=budget, **kwargs)
    else:
        depth = int(method[-1])
        if depth == 0:  # no sub-calls at all: the root alone with its REPL, told of no sub-LM
            budget = dataclasses.replace(budget, max_subcalls=0)
            kwargs["system_prompt"] = depth0_system_prompt()
        rlm = RLM(lm, sub_lm=sub_lm if method in SUB_LM_METHODS else None, max_depth=max(1, depth), budget=budget,
                  **kwargs)  # fmt: skip
    result = await rlm.acompletion(task.query, context=task.context)
    return Outcome(
        prediction=result.answer,
        status="ok" if result.status == "finished" else result.status,
        usage=result.usage,
        iterations=result.iterations,
        error=None if result.error is None else f"{type(result.error).__name__}: {result.error}",
    )
