"""The LM protocol: messages in, one Completion out. Usage rides on the Completion, never in counters."""

from __future__ import annotations

import math
import re
import time
import unicodedata
from collections.abc import Awaitable, Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypedDict, runtime_checkable

Role = Literal["system", "user", "assistant"]


class Message(TypedDict):
    role: Role
    content: str


RESEND_GATE: ContextVar[Callable[[], Awaitable[bool]] | None] = ContextVar("rlmx_resend_gate", default=None)
"""Set by the engine around an LM call made under a spending budget: asked before the client re-sends a request
the server may have billed (see `may_resend`)."""


CALL_DEADLINE: ContextVar[float | None] = ContextVar("rlmx_call_deadline", default=None)
"""Set by the engine around an LM call made under a time budget (Budget.max_seconds): the `time.monotonic()` by
which the call must end. An LM client does not sleep toward a retry it could only send after it (`time_left`)."""


def time_left() -> float | None:
    """Seconds until the current LM call's deadline (`CALL_DEADLINE`), at least 0; None when there is none."""
    deadline = CALL_DEADLINE.get()
    return None if deadline is None else max(deadline - time.monotonic(), 0.0)


async def may_resend() -> bool:
    """Whether an LM client may send its request again after one the server may have billed (it timed out, broke
    off, or came back unreadable). Under a spending budget each such re-send is admitted like a call (the ledger
    holds one more request's worth, waiting while other calls hold budget, or says no), so retries never spend past
    the budget; otherwise yes. Ask only when about to re-send: a yes holds budget for it."""
    gate = RESEND_GATE.get()
    return gate is None or await gate()


@dataclass(frozen=True, slots=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None
    """Provider-reported cost; None when the provider says nothing."""
    estimated: bool = False
    """True when the server did not report a count and rlmx filled it in with its upper-bound estimate."""
    cache_read_tokens: int = 0
    """Of `input_tokens`, those the provider read from its prompt cache (billed lower, when its price says so)."""
    cache_write_tokens: int = 0
    """Of `input_tokens`, those the provider wrote to its prompt cache (Anthropic bills them 1.25x input)."""
    cache_write_1h_tokens: int = 0
    """Of `cache_write_tokens`, those written to be kept an hour (Anthropic bills them 2x input)."""
    audio_input_tokens: int = 0
    """Of `input_tokens`, those of audio (`prompt_tokens_details.audio_tokens`): billed at the audio rate."""
    audio_output_tokens: int = 0
    """Of `output_tokens`, those of audio (`completion_tokens_details.audio_tokens`; gpt-audio bills them 6.4x text)."""
    image_output_tokens: int = 0
    """Of `output_tokens`, those of images (`completion_tokens_details.image_tokens`; Gemini 2.5 Flash Image bills
    them 12x text)."""
    unreported_output_media: frozenset[str] = frozenset()
    """Kinds of output besides text (`rlmx.lm.prices.MEDIA`) whose token count the reply did not report (no
    `completion_tokens_details.<kind>_tokens`, or no usage at all): output tokens not counted as another kind may be
    of these, so they are priced at the dearest of their rates and text's (`Price.unsplit_output_per_million`).
    Empty: every count that matters was reported, and the rest of the output is text."""

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass(frozen=True, slots=True)
class Completion:
    """One reply. `text` is the answer only; `reasoning` (the model's thinking, when the server returns it) and
    `finish_reason` ("stop", "length", ...; None when the server gives none) go to the trace, never the answer."""

    text: str
    usage: Usage
    model: str
    finish_reason: str | None = None
    reasoning: str | None = None
    unanswered: int = 0
    """Requests of this call sent before the one answered that got no reply in time (retried): each may have been
    billed, so a budget books them at the call's reservation."""
    billed_as: str | None = None
    """The price name the reply says it was billed under when that is not the one it was admitted under (OpenAI's
    `service_tier: "priority"` of a project set to it: `gpt-5-mini[priority]`); None when it says nothing."""
    overran_chars: int = 0
    """Characters the LM's reader cut from the reply because the model ran on past the end of its turn into a turn
    it made up (`protocol.split_thoughts_counted`); the engine marks the turn so, as for a reply it cuts itself."""
    recorded: str | None = None
    """What the trace records as the reply, when not `text`: the guided root's first turn, whose 120 KB of rlmx's
    own code the trace keeps once, in its cell (`cell_start.code`)."""


@runtime_checkable
class LM(Protocol):
    """Turns a list of messages into one completion.

    Implementations keep no usage counters: usage rides on each Completion and the engine's
    ledger adds it up, so one LM object can serve many concurrent nodes of a run. `complete`
    must be safe to call concurrently (implementations that cannot run calls in parallel
    serialize them internally). An LM may say `bills_cancelled_calls = False` (a local model): a call cut off is
    then released from the budget instead of booked at its reservation, as a server may have billed it. A root
    LM that is no reader itself (the guided root) may name the LM that answers `llm_query` when the caller names
    none, as `default_sub_lm`.
    """

    model: str

    async def complete(self, messages: Sequence[Message], **params: Any) -> Completion: ...


@runtime_checkable
class CountsTokens(Protocol):
    """An LM that can count a prompt's tokens exactly (or bound them from above), for budget admission."""

    async def count_tokens(self, messages: Sequence[Message]) -> int: ...


def price_name(lm: LM) -> str:
    """The name an LM's calls are admitted and booked under: its `price_name` when it has one (an
    OpenAICompatibleLM asking for a service tier billed above list price, `gpt-4o[priority]`), or that of the LM it
    wraps (`inner`), else its model."""
    named = getattr(lm, "price_name", None)
    if isinstance(named, str) and named:
        return named
    inner = getattr(lm, "inner", None)
    return price_name(inner) if inner is not None else lm.model


def served_at(lm: LM) -> str | None:
    """The base URL an LM's calls go to (its own `base_url`, or that of the LM it wraps), None for local ones: the
    host whose list price applies."""
    url = getattr(lm, "base_url", None)
    if isinstance(url, str) and url:
        return url
    inner = getattr(lm, "inner", None)
    return served_at(inner) if inner is not None else None


async def prompt_tokens(lm: LM, messages: Sequence[Message]) -> int:
    """Tokens a prompt will cost at most: the LM's own count when it has one, else `message_token_bound`."""
    count = getattr(lm, "count_tokens", None)  # not isinstance(lm, CountsTokens): a Protocol check costs ~20 us
    if callable(count):
        return int(await count(messages))
    return message_token_bound(messages)


CAP_REACHED = frozenset({"length", "max_tokens", "max_output_tokens", "model_length", "model_context_window_exceeded"})
"""finish_reason values (lower-cased) meaning the output cap was reached: OpenAI's, what gateways pass through,
Mistral's `model_length` and Z.ai's (GLM) `model_context_window_exceeded` (the context filled up mid-reply)."""


CONTENT_FILTERED = frozenset(
    {
        "content_filter",
        "sensitive",
        "safety",
        "prohibited_content",
        "recitation",
        "blocklist",
        "spii",
        "guardrail_intervened",
        "content_filtered",
        "refusal",
    }
)
"""finish_reason values (lower-cased) meaning a safety layer stopped the reply: OpenAI's content filter, Z.ai's
(GLM) "sensitive", Gemini's reasons as its OpenAI-compatible gateways pass them through, Amazon Bedrock's guardrail
("guardrail_intervened", "content_filtered") and Anthropic's "refusal" passed through by gateways in front of Claude.
What came before it tripped stays (Azure may keep a partial result; a stream always has), so the text is cut short
as at the cap."""
_CUT_SHORT = CAP_REACHED | CONTENT_FILTERED


def reached_cap(finish_reason: str | None) -> bool:
    """Whether a reply was cut short: it stopped at its output cap, or a content filter stopped it part-way. Either
    way its text ends where it was cut (a code block left open there must not run)."""
    return finish_reason is not None and finish_reason.lower() in _CUT_SHORT


DEFAULT_TIMEOUT = 120.0
"""Seconds a server model (OpenAICompatibleLM) may take to reply (read timeout) before the attempt fails and is
retried; `rlmx --lm-timeout` sets it."""
DEFAULT_MAX_RETRIES = 2
"""A server model's retries after the first attempt (429, 5xx, timeouts, connection errors, bodies that are not
JSON); `rlmx --lm-retries` sets it."""
CALL_OVERHEAD_TOKENS = 128
"""Tokens a chat template may add to any call: BOS, reply priming, and the system text some templates inject even
beside the caller's system message (Llama 3.1's knowledge-cutoff lines, gpt-oss's channel rules: up to ~60)."""
DEFAULT_SYSTEM_PROMPT_TOKENS = 1024
"""Tokens a chat template may add to a call that carries no system message (rlmx's sub-calls send one user
message): the default system prompt it injects then, billed as prompt. The largest found in common templates:
Devstral Small 2 (2512)'s `default_system_message` (Le Chat's, with its browsing, multimodal and tool-calling
sections: about 2,400 characters, about 550 tokens); Magistral Small's reasoning instructions (about 1,000
characters); Mistral Small 3.1/3.2's (about 640 characters); Qwen2.5's "You are Qwen, created by Alibaba Cloud..."
(about 70). Bounded at under 2.4 characters a token, where mainstream tokenizers spend about 4-5 on English."""
MESSAGE_OVERHEAD_TOKENS = 8
"""Tokens a chat template adds around each message (role header, separators)."""


def token_bound(text: str) -> int:
    """An upper bound on the tokens any mainstream tokenizer spends on `text`: its UTF-8 byte count.

    Byte-level BPE (GPT, Llama 3, Qwen, Mistral's tekken) and SentencePiece with byte fallback (Llama 2, Gemma)
    never produce a token shorter than one byte, so this holds for every script: ASCII, CJK (3 bytes a
    character), emoji (4 bytes, more with joiners), code. Tokenizers that normalise first (Qwen's NFC, SentencePiece's
    NFKC) see more bytes for a few characters (a musical symbol's 4 become 12, a ligature's 3 up to 33): text not
    already normalised is counted at the longest of its forms. It is about 4x the real count for English prose, and
    is meant for admission (where erring low overspends a budget), not for reporting.
    """
    if text.isascii():  # a flag CPython keeps on every str: no pass over the text, no copy
        return len(text)
    size = len(text.encode("utf-8", "surrogatepass"))
    if unicodedata.is_normalized("NFKC", text):  # NFKC-normal text is NFC-normal too: the common case, one C pass
        return size
    forms = (unicodedata.normalize(form, text) for form in ("NFC", "NFKC"))
    return max(size, *(len(form.encode("utf-8", "surrogatepass")) for form in forms))


def message_token_bound(messages: Sequence[Message]) -> int:
    """Upper bound on a chat prompt's tokens: `token_bound` of each message plus template overheads, and a default
    system prompt's when no system message opens the prompt (`DEFAULT_SYSTEM_PROMPT_TOKENS`)."""
    overhead = CALL_OVERHEAD_TOKENS
    if not messages or messages[0]["role"] != "system":
        overhead += DEFAULT_SYSTEM_PROMPT_TOKENS
    return overhead + sum(token_bound(m["content"]) + MESSAGE_OVERHEAD_TOKENS for m in messages)


@dataclass(frozen=True, slots=True)
class AsciiDensity:
    """How many tokens a text's ASCII costs, measured on a sample (`ascii_density`): `tokens_per_char` of its ASCII
    characters (0.22-0.27 for English and code, 0.4-0.5 for CSV and JSON, 0.57-0.72 for hex, UUIDs and base64) and
    `share`, the part of its characters that are ASCII."""

    tokens_per_char: float = 0.25
    share: float = 1.0


PROSE = AsciiDensity()
"""ASCII at 4 characters a token: what a text with no ASCII to measure is counted at."""
DENSITY_WINDOWS = 16
DENSITY_WINDOW_CHARS = 512
"""`ascii_density` reads at most 16 windows of 512 characters (8 Ki in all), spread evenly over the text (all of it
when shorter): a fixed cost whatever the text's size. Measured on a 40 MB context (prose, base64, or CJK mixed with
prose): 20-30 ms on a 2-core machine at load average 10, where `sum(range(10**7))` took 3 s, about 15x its usual
(so about 2 ms unloaded); the same counts over all 40 MB take over a minute there."""
_OTHER_TOKENS = re.compile(
    r"[0-9]{1,3}|([-=.*#_/])\1{2,15}|[\x00-\x08\x0e-\x1f\x7f]|[^\sA-Za-z0-9]{1,2}|\n+|[ \t]{2,64}"
)
"""A token per group of up to 3 digits (cl100k and o200k split digit runs so), per run of 3-16 of one of the rule
characters `- = . * # _ /` (a rule `=====`, a dot leader `.......`: cl100k merges runs of these, and of no other
punctuation: `]]]]` or quote runs stay a token per 1-2, audit 80b), per control character (NUL padding: a token
each in cl100k), per 1-2 other punctuation characters, per
run of newlines and per indentation of up to 64 (one space joins the word after it)."""
_WORD_CHARS = 10
_CHARS_PAST_A_WORD = 3.5
"""A word (`_HUMPS`) longer than `_WORD_CHARS` letters costs a token more per `_CHARS_PAST_A_WORD` letters past that:
prose whose spaces PDF extraction lost ("Recursivelanguagemodelskeep...") is one 'word' per line, which cl100k
splits at about 3.4 characters a token (audit 80: counted as one token, 0.18x of cl100k)."""
_HUMPS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+")
"""Words, and camelCase or base64 split where the case rises."""
_NOT_LETTERS = bytes(c for c in range(128) if not chr(c).isalpha())
_NOT_VOWELS = bytes(c for c in range(128) if chr(c) not in "aeiouyAEIOUY")


def _window_tokens(ascii_text: str) -> float:
    """Tokens a byte-level BPE (cl100k, o200k) spends on `ascii_text`, from a few counts made in C (no Python loop
    over the text): `_OTHER_TOKENS`, and a token per word (`_HUMPS`). Letters that do not read as words (vowels under
    a quarter of them: base64, random ids) cost a token per 1.8 (cl100k: 1.7-1.9 on random letters); prose and code
    have 35-40% vowels."""
    raw = ascii_text.encode("ascii")
    letters = len(raw.translate(None, _NOT_LETTERS))
    tokens = float(len(_OTHER_TOKENS.findall(ascii_text)))
    if letters:
        words = _HUMPS.findall(ascii_text)
        long_words = sum(len(word) - _WORD_CHARS for word in words if len(word) > _WORD_CHARS)
        humps = len(words) + long_words / _CHARS_PAST_A_WORD
        vowels = len(raw.translate(None, _NOT_VOWELS))
        wordlike = min(1.0, max(0.0, (vowels / letters - 0.24) / 0.1))
        tokens += wordlike * humps + (1 - wordlike) * max(humps, letters / 1.8)
    return tokens


def ascii_density(text: str) -> AsciiDensity:
    """How dense `text`'s ASCII is in tokens (`AsciiDensity`), from a bounded sample (`DENSITY_WINDOWS`): English
    and code come out at about 4 characters a token, base64 at 1.4, hex at 1.7, digit tables at 2 (cl100k: within
    0.75-1.2x on prose, code, base64, hex, UUIDs, CSV, JSON, logs and HTML). A text whose dense parts all fall between
    the windows is measured at its sampled rate: this is an estimate, and budgets admit with `token_bound`."""
    size = len(text)
    if size <= DENSITY_WINDOWS * DENSITY_WINDOW_CHARS:
        windows = [text[start : start + DENSITY_WINDOW_CHARS] for start in range(0, size, DENSITY_WINDOW_CHARS)]
    else:
        step = (size - DENSITY_WINDOW_CHARS) // (DENSITY_WINDOWS - 1)
        windows = [text[i * step : i * step + DENSITY_WINDOW_CHARS] for i in range(DENSITY_WINDOWS)]
    sampled = ascii_chars = 0
    tokens = 0.0
    for window in windows:
        sampled += len(window)
        if not window.isascii():
            window = window.encode("ascii", "ignore").decode("ascii")
        ascii_chars += len(window)
        tokens += _window_tokens(window)
    if not ascii_chars:
        return PROSE if not sampled else AsciiDensity(share=0.0)
    return AsciiDensity(tokens_per_char=tokens / ascii_chars, share=ascii_chars / sampled)


def typical_tokens(chars: int, nbytes: int, density: AsciiDensity = PROSE) -> int:
    """A typical token count for a text of `chars` characters and `nbytes` UTF-8 bytes, whatever its script: its
    ASCII at `density` (`ascii_density` of the text; by default 4 characters a token, cl100k's 3.7-5.2 on English
    and code, but 1.4 on base64), and each other character at a quarter token plus five eighths for each byte past
    its first: 1.5 tokens for a 3-byte character (CJK, kana, Thai, Devanagari: cl100k spends 1.0-1.4), 0.875 for a
    2-byte one (Cyrillic, Greek, Arabic, accented Latin: 0.5-0.9) and 2.1 for a 4-byte one (emoji, rare CJK: 2-3).
    Without a pass over the text. An estimate for reporting; the bound is `nbytes` (`token_bound`), which admission
    uses."""
    ascii_chars = round(chars * density.share)
    return math.ceil(ascii_chars * density.tokens_per_char + (chars - ascii_chars) / 4 + (nbytes - chars) * 5 / 8)


def estimate_tokens(text: str) -> int:
    """A provider-free token estimate (about 4 characters a token), for scripted LMs' own usage reports.
    Not a bound: budgets admit with `token_bound`."""
    return (len(text) + 3) // 4


def estimate_message_tokens(messages: Sequence[Message]) -> int:
    return sum(estimate_tokens(m["content"]) + 4 for m in messages)
