"""OpenAICompatibleLM: the LM protocol over any OpenAI-compatible chat-completions server (OpenAI, OpenRouter,
vLLM, llama.cpp, Ollama, Azure, gateways, ...), and the one place where HTTP failures become rlmx errors.

Three things here are about real servers rather than the protocol:

* Event loops. An HTTP connection pool belongs to the event loop that opened it, and the sync API runs each call
  on a fresh loop. So the transport (`rlmx.lm.http`) keeps one session per running loop, made on first use and
  closed on that same loop when the loop shuts down; no session outlives its loop.
* The output cap's name. Servers disagree on `max_tokens` vs `max_completion_tokens` (reasoning models behind
  OpenAI, Azure and gateways reject `max_tokens`; older servers know only `max_tokens`). The LM sends one, and
  when a 400 says that parameter is unsupported it resends once with the other name and remembers the choice.
* Replies. The raw body goes to `rlmx.lm.openai_reply`, which checks every field.

The request is the chat-completions JSON body the official `openai` SDK would send, over aiohttp with the SDK's
retry policy (see `rlmx.lm.http` for why the SDK itself is not on this path).
"""

from __future__ import annotations

import ast
import asyncio
import base64
import dataclasses
import errno
import json
import os
import re
import socket
import ssl
from collections.abc import Collection, Mapping, Sequence
from functools import cache, partial
from math import ceil, floor, isfinite
from typing import Any, NamedTuple
from urllib.parse import unquote, unquote_plus, urlencode, urlsplit, urlunsplit

import aiohttp

from rlmx.api_keys import checked_key, trimmed_key
from rlmx.errors import (
    InputError,
    LMBadResponse,
    LMConnectionError,
    LMError,
    LMRateLimited,
    LMRequestError,
    LMServerError,
    LMTimeout,
)
from rlmx.lm.base import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    Completion,
    Message,
    may_resend,
    message_token_bound,
    token_bound,
)
from rlmx.lm.http import (
    MAX_SERVER_RETRY_AFTER,
    NOT_RESENT,
    SEE_OTHER_HOPS,
    HTTPReply,
    JSONPoster,
    TransportError,
    out_of_quota,
    over_the_allowance,
    server_retry_after,
    unwaited_note,
    waits_too_long,
)
from rlmx.lm.openai_reply import CHECK_THE_ADDRESS, error_kind, parse_body, to_completion, withheld_by_policy
from rlmx.protocol import THREAD_ABOVE_CHARS
from rlmx.sandbox import graphemes

LOCAL_API_KEY = "not-needed"
TOOL_PROMPT_TOKENS = 400
"""Prompt tokens a provider adds, and bills, to a request carrying `tools`: Anthropic's tool-use system prompt is
346 tokens for Claude 4 models (313 with tool_choice any/tool; Anthropic's "Tool use" pricing table), rounded up."""
"""Sent to servers given by base_url when no key is given: local servers ignore it, some proxies insist on one."""

DEFAULT_CONNECT_TIMEOUT = 10.0
OPENAI_URL = "https://api.openai.com/v1"

_RESERVED_PARAMS = frozenset({"model", "messages", "stream"})
_CAP_NAMES = ("max_tokens", "max_completion_tokens")
_UNDROPPABLE = frozenset({*_CAP_NAMES, "stream"})
"""Params never left out on a 400 naming them: a cap is renamed instead, and a stream-only model needs `stream`."""
_OTHER_CAP = {"max_tokens": "max_completion_tokens", "max_completion_tokens": "max_tokens"}
REQUIRED_CAP_TOKENS = 8192
"""The output cap sent, with no budget's cap, to a server that requires one: long enough for any RLM turn (a
code cell and its reasoning); a server that allows less says so and the cap is lowered to what it names."""
_REQUIRED_CAP = re.compile(
    r"\b(?:max_tokens|max_completion_tokens|max_output_tokens)\b[^.\n]{0,40}?\b(?:required|missing)\b"
    r"|\b(?:required|missing)\b[^.\n]{0,40}?\b(?:max_tokens|max_completion_tokens|max_output_tokens)\b",
    re.IGNORECASE,
)


def _required_cap_name(reply: HTTPReply) -> str | None:
    """The cap's name (max_tokens or max_completion_tokens) when a 400/422 says the request lacks it as a required
    field ("body.max_tokens: Field required", "missing required parameter: max_completion_tokens"), else None. A
    server asking for `max_output_tokens` gets `max_tokens`, the name OpenAI-compatible servers read."""
    if reply.status not in (400, 422):
        return None
    found = _REQUIRED_CAP.search(_server_message(reply))
    if found is None:
        return None
    return "max_completion_tokens" if "max_completion_tokens" in found.group(0) else "max_tokens"


_WHAT_THE_REPLY_MEANS = frozenset({"response_format", "tools", "tool_choice"})
"""Params whose absence changes what a reply is (prose where a JSON schema was asked for): a refusal of them, of the
parameter or of its value, is an error quoting the server, never a resend without them."""
_WHY_KEPT = {
    **dict.fromkeys(_WHAT_THE_REPLY_MEANS, "without it a reply would mean something else (prose, not a tool call)"),
    **dict.fromkeys(_CAP_NAMES, "the output cap bounds a call's cost"),
    "stream": "the model is served only as a stream",
}
"""Why a refused parameter is not left out (`_UNDROPPABLE`, `_WHAT_THE_REPLY_MEANS`), said with the refusal."""
_UNSUPPORTED = re.compile(
    r"unsupported|not supported|unrecognized|unknown|not allowed|not permitted|extra (inputs|fields)|"
    r"invalid (request )?(argument|param)|no longer supported|deprecated|use '?max_|"
    r"(?:does not|doesn't) support (?:the )?param(?:eter)?s?\b|"  # xAI: "does not support parameter stop"
    r"is not enabled for",  # Gemini: "Penalty is not enabled for models/..."
    re.IGNORECASE,
)
_BAD_VALUE = re.compile(r"unsupported value|supported values are|of type '|invalid value", re.IGNORECASE)
_SAID_IN_WORDS = {
    "logprobs": (r"log[ -]?prob(?:abilitie)?s?",),
    "top_logprobs": (r"top[ -]log[ -]?prob(?:abilitie)?s?",),
    "stop": (r"stop (?:sequences?|words?|strings?|tokens?)",),
    "parallel_tool_calls": (r"parallel (?:tool|function) (?:calls?|calling|use)", r"parallel calls"),
    "top_p": (r"nucleus sampling",),
    "stream_options": (r"include[ _]usage",),
    "prediction": (r"predicted outputs?",),
    "web_search_options": (r"web search",),
}
"""How servers name a parameter in words, beyond its field name spelled with spaces or hyphens (which every name
gets: "top p", "Presence penalty", "reasoning effort"): Gemini's "Parallel tool calls are not supported.", "stop
sequences", "log probabilities" (`_tied_to_a_refusal`)."""
_ORDINARY_WORDS = frozenset({"n", "user", "store", "metadata", "audio", "prediction", "modalities"})
"""One-word parameters whose name is a word errors use in other senses ("User location is not supported"): named
only as the field, in its own case."""
_SUPPORT_NOT = r"(?:does not|doesn't|do not|don't|cannot|can't|can not) (?:support|accept|use) (?:the |an? |setting )?"
"""A refusal whose verb comes before the parameter ("This model does not support logprobs"); one after it ("'x'
does not support 'minimal'") refuses a value, which `_UNSUPPORTED` alone does not read as refusing the parameter."""


_ACCEPTED_NAMES = re.compile(
    r"did you mean|expected (?:one|any) of|one of the following"
    r"|(?:valid|supported|allowed|accepted|known) (?:fields|parameters|params|keys|arguments|properties)"
    r" (?:are|include)",
    re.IGNORECASE,
)
"""Where a refusal goes on to name what the server does take (Groq's "did you mean 'stop'?", serde's "unknown field
`top_k`, expected one of `model`, `messages`, `max_tokens`, ..."): the names after it are not refused."""
# A chat template without a system role (Gemma on vLLM, SGLang or llama.cpp; Gemma on the Gemini API; older
# Mistral templates): the system text is sent at the start of the first user message instead.
_NO_SYSTEM_ROLE = re.compile(
    r"(?:system|developer)[ _](?:role|message|prompt|instruction)s?\b[^.]{0,60}?"
    r"(?:not supported|unsupported|not enabled|not allowed)|roles must alternate|"
    r"role'? does not support '?(?:system|developer)\b",  # o1-mini: "'messages[0].role' does not support 'system'"
    re.IGNORECASE,
)
# A model served only as a stream (DashScope's QwQ: "only support stream mode"; Qwen3's "enable_thinking must be set
# to false for non-streaming calls"): the request is sent again with "stream": true and the events joined.
_STREAM_ONLY = re.compile(
    r"only supports? stream|stream(?:ing)? (?:mode )?(?:is )?required|must be streamed|for non-stream(?:ing)? calls",
    re.IGNORECASE,
)
_N = r"(\d{1,3}(?:,\d{3})+(?!\d)|\d+)"
"""A count in an error's words, with or without thousands separators ("8,192"): read by `_number`."""
# What a 400 about the output cap's size says fits: a limit on the output itself ...
_OUTPUT_LIMIT = re.compile(
    rf"at most {_N}(?: (?:completion |output )?tokens|(?=\s*(?:[.;,)]|$)))|less than or equal to `?{_N}|"
    rf"(?:max_tokens|max_completion_tokens|max_new_tokens)`?'?\s*(?:must be|should be)\s*<=\s*`?{_N}|"
    rf"{_N}, which is the maximum allowed number of output tokens|"
    rf"can only afford {_N}|\[1, ?{_N}\]|between 0 and {_N}|expected a value <= ?{_N}|model limit of {_N}|"
    rf"max_tokens > {_N} must",  # OpenRouter's credit, DashScope/NIM, free hosts, Volcengine, Bedrock, Fireworks
    re.IGNORECASE,
)
# Vertex behind LiteLLM: "the supported range is from 1 (inclusive) to 65536 (exclusive)"
_EXCLUSIVE_LIMIT = re.compile(rf"to {_N} \(exclusive\)", re.IGNORECASE)
# ... or a context window less the prompt's tokens (vLLM, SGLang, TGI, OpenAI wordings).
_CONTEXT_LIMIT = re.compile(
    rf"maximum context length (?:is|of) {_N}|context window (?:is|of) {_N}|must be <= {_N}|"
    rf"context length is only {_N}|"  # vLLM since 2026: "the model's context length is only 202752 tokens"
    rf"maximum context length of \S+ is {_N}",  # SambaNova: "The maximum context length of Meta-Llama-3.1-8B is 16384"
    re.IGNORECASE,
)
_PROMPT_TOKENS = re.compile(
    rf"{_N} (?:tokens )?in the messages|{_N} tokens from the input|"
    rf"(?:has|contains at least|passed) {_N} input tokens|"  # vLLM since 2026: "your prompt contains at least N ..."
    rf"{_N} `?inputs`? tokens|{_N} (?:tokens )?in the prompt|{_N} of text input|"
    rf"messages resulted in {_N} tokens",  # OpenAI, when the messages alone are over the window
    re.IGNORECASE,
)
# The prompt alone against the window, both named, in each provider's words (numbers may carry thousands commas):
_PROMPT_OVER_WINDOW = (
    # Anthropic (also through Bedrock, Vertex, OpenRouter): "prompt is too long: 215000 tokens > 200000 maximum"
    re.compile(r"prompt is too long:?\s*(?P<prompt>\d[\d,]*)\s*tokens\s*>\s*(?P<window>\d[\d,]*)", re.IGNORECASE),
    # Gemini (its OpenAI-compatible endpoint too): "The input token count (1200000) exceeds the maximum number of
    # tokens allowed (1048576)"
    re.compile(
        r"input token count(?: is)?:? \(?(?P<prompt>\d[\d,]*)\)? exceeds the maximum number of tokens allowed"
        r"(?: is)?:? \(?(?P<window>\d[\d,]*)",
        re.IGNORECASE,
    ),
    # xAI: "This model's maximum prompt length is 131072 but the request contains 136973 tokens."
    re.compile(
        r"maximum prompt length is (?P<window>\d[\d,]*) but the request contains (?P<prompt>\d[\d,]*) tokens",
        re.IGNORECASE,
    ),
    # Mistral: "Prompt contains 40000 tokens and 0 draft tokens, too large for model with 32768 maximum context length"
    re.compile(
        r"prompt contains (?P<prompt>\d[\d,]*) tokens\b.{0,80}?too large for model with (?P<window>\d[\d,]*) "
        r"maximum context length",
        re.IGNORECASE | re.DOTALL,
    ),
    # llama.cpp-based servers: "Prompt has 300,000 tokens, but the configured context size is 131,072 tokens"
    re.compile(
        r"prompt has (?P<prompt>\d[\d,]*) tokens?, but the (?:configured )?context size is (?P<window>\d[\d,]*)",
        re.IGNORECASE,
    ),
    # OpenAI (GPT-5): "Input tokens exceed the configured limit of 272000 tokens. Your messages resulted in 301245"
    re.compile(
        r"limit of (?P<window>\d[\d,]*) tokens\b.{0,60}?resulted in (?P<prompt>\d[\d,]*) tokens",
        re.IGNORECASE | re.DOTALL,
    ),
    # vLLM V1: "The decoder prompt (length 66501) is longer than the maximum model length of 65536"
    re.compile(
        r"prompt \(length (?P<prompt>\d[\d,]*)\) is longer than the maximum model length of (?P<window>\d[\d,]*)",
        re.IGNORECASE,
    ),
    # LM Studio: "Trying to keep the first 111490 tokens when context the overflows. However, the model is loaded
    # with context length of only 32768 tokens"; 0.4: "(n_keep: 13055>= n_ctx: 4096)"
    re.compile(
        r"keep the first (?P<prompt>\d[\d,]*) tokens\b.{0,120}?context length of (?:only )?(?P<window>\d[\d,]*)",
        re.IGNORECASE | re.DOTALL,
    ),
    re.compile(r"n_keep:?\s*(?P<prompt>\d[\d,]*)\s*>=?\s*n_ctx:?\s*(?P<window>\d[\d,]*)", re.IGNORECASE),
    # SGLang: "The input (61709 tokens) is longer than the model's context length (40960 tokens)", "Input length
    # (160062 tokens) exceeds the maximum allowed length (59862 tokens)"
    re.compile(
        r"input(?: length)? \((?P<prompt>\d[\d,]*) tokens\) (?:is longer than|exceeds) the (?:model's context|"
        r"maximum allowed) length \((?P<window>\d[\d,]*) tokens\)",
        re.IGNORECASE,
    ),
    # TGI (HF endpoints), HTTP 422: "`inputs` must have less than 4096 tokens. Given: 4545"
    re.compile(r"inputs`? must have less than (?P<window>\d[\d,]*) tokens\.? Given:? (?P<prompt>\d[\d,]*)", re.I),
    # llama-cpp-python's server: "Requested tokens (5000) exceed context window of 4096" (the prompt's tokens)
    re.compile(
        r"requested tokens \((?P<prompt>\d[\d,]*)\) exceed context window of (?P<window>\d[\d,]*)", re.IGNORECASE
    ),
    # SambaNova: "Requested generation length 4096 is not possible! The provided prompt is 140 tokens long, so
    # generating 4096 tokens requires a sequence length of 4236, but the maximum supported sequence length is just
    # 4096!" (cline/cline#294)
    re.compile(
        r"prompt is (?P<prompt>\d[\d,]*) tokens long\b.{0,200}?maximum supported sequence length is (?:just )?"
        r"(?P<window>\d[\d,]*)",
        re.IGNORECASE | re.DOTALL,
    ),
)
# vLLM without a breakdown: "This model's maximum context length is 32768 tokens. However, you requested 40000
# tokens." The prompt and the output cap together (the prompt alone when no cap was sent); SambaNova's "However,
# answering your request will take 16524 tokens" alike.
_REQUESTED_IN_ALL = re.compile(
    r"you requested (?:about |up to )?(\d[\d,]*) tokens|answering your request will take (\d[\d,]*) tokens",
    re.IGNORECASE,
)
_ABOUT_THE_CAP = re.compile(
    r"max_tokens|max_completion_tokens|max_new_tokens|max_output_tokens|maxOutputTokens|maximum tokens|"
    r"in the output|output tokens|Current length is|completion|token limit|max(?:imum)? length exceeded|"
    r"generation length",  # SambaNova: "Requested generation length 4096 is not possible!"
    re.IGNORECASE,
)
_CAP_STATUSES = frozenset({400, 402, 413, 422})
"""Statuses a refusal of the output cap's size comes with: 402 (OpenRouter: more than the credit affords), 413
(Groq: the cap counts against the minute's token allowance), and the usual 400/422."""
# The request's whole size against a limit, the cap included: Cerebras' "Current length is 9096 while limit is
# 8192", Groq's "(TPM): Limit 6000, Requested 9096": what fits is the cap less the excess.
_EXCESS = re.compile(r"Current length is (\d+) while limit is (\d+)|Limit:? (\d+), Requested:? (\d+)", re.IGNORECASE)
# Moonshot counts the cap against the window too: "exceeded model token limit: 8192 (requested: 9096)" (what fits
# is the cap less the excess); its older "model max length exceeded, max length:8192" names no prompt size, so only
# the hint applies
_LIMIT_REQUESTED = re.compile(r"token limit:? ?(\d+) \(requested:? ?(\d+)\)", re.IGNORECASE)
# The prompt and the cap summed against the window: Anthropic's "input length and `max_tokens` exceed context limit:
# 143653 + 64000 > 200000" (also through Bedrock, LiteLLM and OpenRouter), "N tokens + M tokens = S > L" alike
_SUM_OVER_LIMIT = re.compile(
    r"(\d+)\s*(?:tokens\s*)?\+\s*(\d+)\s*(?:tokens\s*)?(?:=\s*\d+\s*(?:tokens\s*)?)?>=?\s*(\d+)", re.IGNORECASE
)
# A sampling value a model takes only at its default: OpenAI's "Only the default (1) value is supported", Kimi's
# "invalid temperature: only 1 is allowed for this model"
_DEFAULT_ONLY = re.compile(
    r"only the default|only (?:the value )?\d+(?:\.\d+)? is (?:allowed|supported)|"
    r"(?:may|can) only be (?:set to )?\d+(?:\.\d+)?\b",  # Anthropic: "`temperature` may only be set to 1 when thinking"
    re.IGNORECASE,
)
"""A parameter whose one allowed value is the model's own (o-series and Kimi's "only 1 is allowed", Kimi K2.5's
"only 0.6 is allowed", Anthropic's "may only be set to 1 when thinking is enabled"): left out, it is that value."""
_LIST_PRICED_TIERS = frozenset(
    {"auto", "default", "standard", "standard_only", "flex", "scale", "on_demand", "batch", "free"}
)
"""service_tier values billed at most at the list price: OpenAI's and Anthropic's standard names, OpenAI's flex
(half the list price) and scale (prepaid units), Groq's `on_demand` (its pay-as-you-go tier, in every reply), batch
tiers (half) and free ones. Any other tier (`priority`, Groq's `performance`) is priced as `model[tier]`."""


def _tier_price_name(model: str, tier: object) -> str | None:
    """`model[tier]` for a service tier billed above the list price, else None (no tier, or one at list price).
    Spellings are compared in lower case with `-` and spaces as `_` ("On-Demand" is `on_demand`)."""
    if tier is None:
        return None
    name = re.sub(r"[\s-]+", "_", str(tier).strip().lower())
    return None if name in _LIST_PRICED_TIERS else f"{model}[{tier}]"


_NO_ANSWER_YET = frozenset({202, 204})
"""Success statuses without a reply: accepted for later (a queue endpoint's IN_QUEUE), or no content."""
_BAD_BODY_BACKOFF = 0.25
"""Seconds before re-asking after a body that was not JSON, doubled each time."""


class OpenAICompatibleLM:
    """Calls `POST {base_url}/chat/completions` with the body the official `openai` SDK would send.

    Waiting: each attempt may take `timeout` seconds (120 by default; connecting, 10), and 408/409/429/5xx replies,
    timeouts and connection errors are retried `max_retries` times (2 by default) with exponential backoff,
    honouring the server's Retry-After (the SDK's policy, `rlmx.lm.http`); a body that is not JSON is retried the
    same number of times. What still fails is raised as an rlmx LMError. So a server that accepts and never
    answers fails a call after about (1 + max_retries) * timeout = 6 minutes (one that trickles keep-alive bytes
    holds an attempt open, as the SDK does); set `Budget(max_seconds=...)` to bound a whole run.

    `**params` are default sampling params (temperature, max_tokens, top_k, ...), sent as body fields; a call's
    own params win over them. An output cap (`max_tokens` or `max_completion_tokens`) is sent under the name the
    server accepts (see the module docstring). The key goes in `Authorization: Bearer` (Azure OpenAI: in `api-key`,
    unless it is a Microsoft Entra ID token); OPENAI_ORG_ID and OPENAI_PROJECT_ID, when set, are sent as the SDK
    sends them. `default_headers` (the SDK's name) adds headers to every request, or replaces rlmx's own of the same
    name (`{"HTTP-Referer": ..., "X-Title": ...}` for OpenRouter, a gateway's own key). The LM may be used from any
    number of event loops and threads.

        lm = OpenAICompatibleLM("gpt-4o-mini")                                  # OPENAI_API_KEY from the env
        lm = OpenAICompatibleLM("qwen2.5", base_url="http://127.0.0.1:8000/v1", temperature=0.0)
    """

    splits_thoughts = True
    """A reply's reasoning written as text (`<think>...</think>`) is taken out of its `text` here already
    (`openai_reply`): the engine need not look again."""

    def __init__(
        self,
        model: str,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        max_retries: int = DEFAULT_MAX_RETRIES,
        timeout: float = DEFAULT_TIMEOUT,
        default_headers: Mapping[str, str] | None = None,
        **params: Any,
    ) -> None:
        if not isinstance(model, str) or not model.strip():
            raise InputError("OpenAICompatibleLM needs a model name, e.g. 'gpt-4o-mini'")
        model = model.strip()  # a trailing blank is no part of the name a server is asked for
        if base_url is not None and not isinstance(base_url, str):
            raise InputError(
                f"base_url must be a string such as 'http://127.0.0.1:8000/v1', not {type(base_url).__name__}"
            )
        # Surrounding blanks (an env file's `URL ` line, a pasted value) are trimmed, as the model name and the key
        # are, here and on the command line alike; a blank inside is refused (`base_url_problem`).
        base_url = base_url.strip() if base_url is not None else None
        if base_url is not None and (problem := base_url_problem(base_url)):
            raise InputError(f"base_url {problem}")
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise InputError(f"max_retries must be a non-negative integer, got {max_retries!r}")
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
            raise InputError(f"timeout must be a positive number of seconds, got {timeout!r}")
        params, sdk_headers, sdk_query = _sdk_extras(params, at_call=False)
        _check_params(params)
        extra_headers = _checked_headers({**(default_headers or {}), **sdk_headers} if sdk_headers else default_headers)
        api_key = _api_key(api_key, base_url)
        self.model = model
        self.params = params
        tier = params.get("service_tier")
        self.price_name = _tier_price_name(model, tier) or model
        """The name this LM's calls are priced under: the model, or `model[tier]` for a service tier billed above
        the list price (OpenAI's priority, about 1.8x), which only a price given for that name prices."""
        self.api_key = api_key
        self.max_retries = max_retries
        self.timeout = float(timeout)
        url = base_url or os.environ.get("OPENAI_BASE_URL", "").strip() or OPENAI_URL
        if base_url is None and (problem := base_url_problem(url)):
            raise InputError(f"OPENAI_BASE_URL {problem}")
        url, basic = _without_credentials(url)  # they take the Authorization header (a key too: use default_headers)
        # A query string (Azure's ?api-version=...) belongs after the endpoint's path, not before it.
        url, _, query = url.partition("?")
        query = _merged_query(query, sdk_query)
        self.base_url = url if url.endswith("/") else url + "/"
        # OpenAI's own API takes max_completion_tokens for every model; elsewhere max_tokens is the widely known
        # name. Either guess is corrected by the server's first 400 that names the parameter.
        self.cap_param = "max_completion_tokens" if _is_openai(self.base_url) else "max_tokens"
        self.unsupported_params: set[str] = set()
        """Sampling params the server refused with a 400 naming them; left out of later requests."""
        self.value_ranges: dict[str, tuple[float | None, float | None]] = {}
        """Sampling params whose value the server refused as out of its range, with the (lowest, highest) value it
        named, exactly as named (None: no bound on that side; an exclusive bound at the bound itself, its
        exclusivity in `_open_ends`): each later value is judged against that range on its own (`_ranged`): one
        inside it is sent as asked, one outside it brought in (or left out, at the knob's off value)."""
        self._open_ends: dict[str, tuple[bool, bool]] = {}
        """Whether each `value_ranges` bound (lowest, highest) is exclusive ("< 1.0", "2.0001 (exclusive)")."""
        self.system_role = True
        """False once the server refused a system message: its text then opens the first user message."""
        self.stream = False
        """True once the server said the model is served only as a stream."""
        self.output_limit: int | None = None
        """The most output tokens the server said the model may produce; later caps are lowered to it."""
        self.cap_refused = False
        """True once the server refused the output cap under both of its names (Azure o1 on an old api-version):
        a later call tries only the name last sent, once, until a reply is accepted."""
        self.cap_required = False
        """True once the server said a request without an output cap misses a required field (Anthropic-style
        backends behind a pydantic proxy: "max_tokens: Field required"): later calls send REQUIRED_CAP_TOKENS."""
        self._keyless = base_url is not None and api_key == LOCAL_API_KEY
        self._basic_in_url = basic is not None and "authorization" not in extra_headers
        """Whether the Authorization header holds base_url's `user:password@` (HTTP Basic), not the key."""
        self._http = JSONPoster(
            self.base_url + "chat/completions" + (f"?{query}" if query else ""),
            {**_headers(api_key, self.base_url), **(basic or {}), **extra_headers},
            timeout=self.timeout,
            connect_timeout=min(self.timeout, DEFAULT_CONNECT_TIMEOUT),
            max_retries=max_retries,
        )

    async def complete(self, messages: Sequence[Message], **params: Any) -> Completion:
        """One chat completion. Raises LMError subclasses (LMBadResponse for unusable replies) after retries."""
        if "extra_body" in params or "extra_headers" in params or "extra_query" in params:
            params = _sdk_extras(params, at_call=True)[0]
        _check_params(params)
        sent = [{"role": m["role"], "content": m["content"]} for m in messages]
        merged = {**self.params, **params}
        caps = [cap for cap in (merged.pop(name, None) for name in _CAP_NAMES) if cap is not None]
        cap = min(caps) if caps else None
        prompt_bound = await self.count_tokens(messages)  # what admission reserved: booked when usage is missing
        unreadable = 0  # requests whose reply came back but could not be read: generated, so possibly billed
        for attempt in range(self.max_retries + 1):
            try:
                reply, cap = await self._post(sent, merged, cap, prompt_bound)
            except LMError as exc:
                exc.unanswered += unreadable
                raise
            try:
                kind = reply.headers.get("content-type", "")
                # A long body is read on a worker thread, as `protocol.aparse_reply` parses a long reply: a 3 MB
                # reasoning reply held the caller's event loop for 0.5-1 s, and every other request on it waited.
                long_body = len(reply.body) >= THREAD_ABOVE_CHARS
                data = (
                    await asyncio.to_thread(parse_body, reply.body, status=reply.status, content_type=kind)
                    if long_body
                    else parse_body(reply.body, status=reply.status, content_type=kind)
                )
            except LMBadResponse as exc:
                unreadable += 1 + reply.timed_out
                if not exc.retryable:  # another API's shape (`_foreign_shape`): the same address sends it again
                    raise LMBadResponse(
                        f"{self.model} at {self.base_url}: {exc}",
                        retryable=False,
                        unanswered=unreadable,
                        withheld=exc.withheld,
                    ) from None
                last = attempt == self.max_retries
                if not last:
                    await asyncio.sleep(_BAD_BODY_BACKOFF * 2**attempt)
                if last or not await may_resend():  # asked just before sending: a cancelled wait holds no budget
                    raise LMBadResponse(
                        f"{self.model} at {self.base_url}: {exc} (after {attempt + 1} attempts)"
                        + ("" if last else NOT_RESENT),
                        retryable=False,
                        unanswered=unreadable,
                        transient=True,
                    ) from None
                continue
            unanswered = reply.timed_out + unreadable
            tier = data.get("service_tier")
            billed_as = _tier_price_name(self.model, tier) if isinstance(tier, str) else None
            if billed_as is not None and self.price_name == self.model:
                # billed above list price though not asked to be (the project's default tier): this reply is
                # booked under that name (every reply that says so, rejected ones too: calls admitted before the
                # first one came back as well), and later calls are admitted under it
                self.price_name = billed_as
            try:
                completion = (
                    await asyncio.to_thread(to_completion, data, model=self.model, prompt_bound=prompt_bound, cap=cap)
                    if long_body
                    else to_completion(data, model=self.model, prompt_bound=prompt_bound, cap=cap)
                )
            except LMBadResponse as exc:
                raise LMBadResponse(
                    f"{self.model} at {self.base_url}: {exc}",
                    retryable=exc.retryable,
                    usage=exc.usage,
                    unanswered=unanswered,
                    reasoning_only=exc.reasoning_only,
                    served=exc.served,
                    billed_as=billed_as,
                    withheld=exc.withheld,
                ) from None
            if billed_as is not None:
                completion = dataclasses.replace(completion, billed_as=billed_as)
            if "stop" in self.unsupported_params and merged.get("stop"):
                completion = _stopped_here(completion, merged["stop"])
            return dataclasses.replace(completion, unanswered=unanswered) if unanswered else completion
        raise AssertionError("unreachable")  # pragma: no cover

    async def _post(
        self, sent: list[dict[str, Any]], merged: dict[str, Any], cap: int | None, prompt_bound: int
    ) -> tuple[HTTPReply, int | None]:
        """Send the request (transport faults are retried below). When a 400 says a parameter it carried is not
        supported, resend without it: the output cap under its other name (once; a cap is never dropped), any
        other sampling param left out (reasoning models refuse temperature, stop, ...), and a system message
        (a chat template without a system role) as the start of the first user message. Each is remembered for
        later calls. Returns a successful reply (status below 300) and the output cap it was sent with (smaller
        than `cap` when the server named what fits: with a window named and not the prompt's size, the window
        less `prompt_bound`, the upper bound on the prompt's tokens `count_tokens` gives); raises LMError
        otherwise."""
        renamed = fitted = False
        for_this_call: dict[str, _Range] = {}  # ranges a refusal named under a condition (`_range_refused`)
        if cap is None and self.cap_required:
            cap = REQUIRED_CAP_TOKENS
        if cap is not None and self.output_limit is not None:
            cap = min(cap, self.output_limit)
        while True:
            name = self.cap_param
            request = {k: v for k, v in merged.items() if k not in self.unsupported_params}
            ranges = {**self._learned_ranges(), **for_this_call}
            for param, known in ranges.items():
                if param in request:
                    request[param] = _ranged(param, request[param], known)
                    if request[param] is _LEFT_OUT:
                        del request[param]
            if cap is not None:
                request[name] = cap
            streamed = self.stream  # what this request is sent with (a concurrent call may switch the LM meanwhile)
            if streamed:
                request["stream"] = True
                if "stream_options" not in self.unsupported_params:
                    request["stream_options"] = {"include_usage": True}  # the usage, in the last event
            messages = sent if self.system_role else _without_system_role(sent)
            payload = {"model": self.model, "messages": messages, **request}
            try:  # a 5xx refusing a field of this request is final (`_hopeless`)
                reply, attempts = await self._http.post(payload, final=partial(_hopeless, request, self.model))
            except TransportError as exc:
                raise _out_of_time(self._transport_error(exc), exc.unwaited) from None
            if reply.status < 300 and _web_page(reply):  # no API at base_url: asking again brings the same page
                raise self._status_error(reply, attempts)
            if reply.status < 300 and reply.status not in _NO_ANSWER_YET:
                if self.cap_refused and cap is not None:
                    self.cap_refused = False  # the server took a cap after all (a concurrent call's name)
                return reply, cap
            if reply.status in _NO_ANSWER_YET:
                queued = LMRequestError(
                    f"HTTP {reply.status} from {self.base_url} for model {self.model}: the server took the request "
                    f"without answering it ({_server_message(reply) or 'no body'}), as a queue or batch endpoint "
                    "does; rlmx needs a chat-completions endpoint that answers (not resent: it may run and bill)"
                )
                queued.unanswered = 1 + reply.timed_out  # it may run and be billed
                raise queued
            if cap is not None and _rejects(reply, name, self.model, request):
                if not renamed and not self.cap_refused:
                    self.cap_param, renamed = _OTHER_CAP[name], True
                    continue
                self.cap_refused = True  # both names refused: later calls spend one request, not two
                refusal = self._cap_names_error(reply, cap)
                refusal.unanswered += reply.timed_out
                raise refusal
            if messages and messages[0]["role"] == "system" and _refuses_system_role(reply):
                self.system_role = False
                continue
            if not streamed and reply.status in (400, 422) and _STREAM_ONLY.search(_server_message(reply)):
                # Calls sent before this refusal came back (a batch's first fan-out) each get their own: making them
                # wait for the first call's answer would save only unbilled 400s and no time (they would wait out
                # that same round trip), yet hold back every first fan-out to a server that does answer unstreamed,
                # by up to a whole reply. So each finds out for itself; calls sent later stream from the start.
                self.stream = True
                continue
            required = _required_cap_name(reply) if cap is None and not self.cap_required else None
            if required is not None:
                # asked with no budget (no cap), by a server whose API requires one: sent again with a roomy cap,
                # under the name the server asked for, which a server naming a lower limit lowers (`_fitted_cap`)
                self.cap_required, cap = True, REQUIRED_CAP_TOKENS
                self.cap_param = required
                if self.output_limit is not None:
                    cap = min(cap, self.output_limit)
                continue
            if cap is not None and not fitted:
                fits, output_limit = _fitted_cap(reply, cap)
                if fits is None:
                    fits = _fitted_to_window(reply, cap, prompt_bound)
                if fits is not None:
                    cap, fitted = fits, True
                    self.output_limit = output_limit or self.output_limit
                    continue
            out_of_range = _range_refused(reply, request, ranges, self.model)
            if out_of_range is not None:
                # a sampling value past the server's range (Anthropic's models take temperature 0..1, OpenAI's 0..2):
                # the nearest value it takes, not its default, which dropping the parameter would give; but a knob
                # refused at the value that turns it off (top_p=1.0 where "< 1.0") is left out: off by default.
                # What is learned is the range, applied to each value (`_ranged`), never the knob: a later call's
                # value inside it (another client's top_p=0.5 through `rlmx serve`) is sent as asked. A range
                # named under a condition ("... when thinking is enabled") holds for this call only.
                param, named, conditional = out_of_range
                for_this_call[param] = _filled(ranges.get(param), named)
                if not conditional:
                    learned = _filled(self._learned_ranges().get(param), named)
                    self.value_ranges[param] = (learned.lo, learned.hi)
                    self._open_ends[param] = (learned.open_lo, learned.open_hi)
                continue
            droppable = (p for p in request if p not in _UNDROPPABLE and p not in _WHAT_THE_REPLY_MEANS)
            # only the name refused most directly (a field name over words), the longer of two alike: "Top
            # logprobs are not supported" names `top_logprobs`, not `logprobs`; every field the server's own
            # `loc`/`param` names at once (a 422 listing two fields costs one resend, not two)
            ranked = [(_refusal_of(reply, p, self.model, request), len(p), p) for p in droppable]
            strength, _, refused = max(ranked, default=(0, 0, ""))
            if strength == _NAMED_BY_THE_SERVER:
                self.unsupported_params.update(p for s, _, p in ranked if s == strength)
                continue
            if strength:
                self.unsupported_params.add(refused)
                continue
            conflicting = _one_of_a_conflict(reply, request)
            if conflicting is not None:
                self.unsupported_params.add(conflicting)
                continue
            if reply.status >= 500:
                kept = next((p for p in request if _refusal_of(reply, p, self.model, request)), None)
                if kept is not None:  # a refusal sent again is refused again: it is the request's fault
                    why = _WHY_KEPT.get(kept, "it was refused again")
                    refusal = LMRequestError(
                        f"request rejected: HTTP {reply.status} from {self.base_url} for model {self.model}: "
                        f"{_server_message(reply)} (the server refuses the parameter {kept}, the same way every time, "
                        f"so it was not resent; rlmx does not leave {kept} out: {why}. Remove {kept} from the "
                        "request, or use a server that accepts it)"
                    )
                    refusal.unanswered += reply.timed_out
                    raise refusal
            error = self._status_error(reply, attempts, cap)
            error.unanswered += reply.timed_out  # requests before this reply that got none: possibly billed
            error.out_of_time = reply.unwaited is not None  # said in the message (`unwaited_note`)
            raise error

    def _learned_ranges(self) -> dict[str, _Range]:
        return {
            param: _Range(lo, hi, *self._open_ends.get(param, (False, False)))
            for param, (lo, hi) in self.value_ranges.items()
        }

    def _cap_names_error(self, reply: HTTPReply, cap: int) -> LMError:
        """The error for a server that refuses the output cap under both of its names: rlmx keeps the cap."""
        return LMRequestError(
            f"request rejected: HTTP {reply.status} from {self.base_url} for model {self.model}: "
            f"{_server_message(reply)} (the server refused the output cap under both of its names, max_tokens and "
            f"max_completion_tokens (rlmx sent {cap}); rlmx does not leave it out: {_WHY_KEPT['max_tokens']}. Use an "
            "endpoint that takes one of the two names (Azure OpenAI: an api-version that knows "
            "max_completion_tokens, 2024-09-01-preview or later, or another deployment), or send no cap: no "
            "max_tokens in the LM's params, and no token or cost budget (it caps every call by "
            "Budget.max_tokens_per_call))"
        )

    async def count_tokens(self, messages: Sequence[Message]) -> int:
        """An upper bound on the prompt tokens a call is billed: the messages' (`message_token_bound`) and the
        structured request fields providers bill as prompt too (a `response_format` schema, `tools`), by the UTF-8
        bytes of their JSON, and with `tools` the system prompt a provider adds for them (TOOL_PROMPT_TOKENS).
        Raises nothing."""
        structured = [value for value in self.params.values() if isinstance(value, dict | list)]
        extra = token_bound(json.dumps(structured, ensure_ascii=False, default=str)) if structured else 0
        if self.params.get("tools"):
            extra += TOOL_PROMPT_TOKENS
        return message_token_bound(messages) + extra

    async def aclose(self) -> None:
        """Close the HTTP session of the running event loop now (a later call opens a new one)."""
        await self._http.aclose()

    def _transport_error(self, exc: TransportError) -> LMError:
        refused = NOT_RESENT if exc.not_resent else ""
        detail = _OBJECT_REPR.sub("", exc.detail)  # aiohttp names the TLS context as `ssl:<ssl.SSLContext ...>`
        if exc.kind == "timeout":
            return LMTimeout(
                f"{self.model} at {self.base_url} did not answer within {self.timeout:g} s "
                f"({exc.attempts} attempt{'s' if exc.attempts != 1 else ''}){refused}; a slow model needs more "
                "time: OpenAICompatibleLM(timeout=...), or --lm-timeout S on the command line",
                attempts=exc.unanswered,
            )
        if exc.kind == "undecodable":
            return LMBadResponse(
                f"{self.model} at {self.base_url} answered with a body that cannot be decoded as its "
                f"Content-Encoding header says ({detail}): {_why_undecodable(detail)}. Not sent again (the answer "
                "may have been billed)",
                retryable=False,
                unanswered=exc.unanswered,
            )
        if exc.proxy is not None and exc.proxy.unusable:
            proxy = exc.proxy
            error = LMConnectionError(
                f"cannot connect to {self.base_url}: {proxy.variable} names {proxy.shown}, a proxy rlmx cannot use "
                f"(its HTTP client speaks to HTTP proxies only); set {proxy.variable} to an HTTP proxy "
                f"(http://host:port), or unset it (or add the server's host to NO_PROXY) to connect directly",
                sent=0,
            )
            error.via_proxy = proxy.variable
            return error
        if exc.proxy is not None:  # the server was never reached: name what was, and where it came from
            proxy = exc.proxy
            error = LMConnectionError(
                f"cannot connect to {self.base_url} through the proxy {proxy.shown} (from {proxy.variable}): {detail}: "
                f"start the proxy, or unset {proxy.variable} (or add the server's host to NO_PROXY) to connect "
                "directly",
                sent=exc.unanswered,
            )
            error.via_proxy = proxy.variable
            return error
        tls = _tls_failure(exc)
        if tls is not None:
            return LMConnectionError(f"cannot connect to {self.base_url}: {tls}", sent=exc.unanswered)
        if exc.kind == "broken" and _closed_unanswered(exc) and self.base_url.startswith("http://"):
            return LMConnectionError(
                f"{self.model} at {self.base_url}: the connection broke off before any reply came ({detail}"
                f"{refused}; {exc.attempts} attempts): the server or a proxy in between closed it. A port that "
                "expects TLS does so to plain HTTP: if the server is served over TLS, use https:// in the base URL",
                sent=exc.unanswered,
            )
        if exc.kind == "broken":
            return LMConnectionError(
                f"{self.model} at {self.base_url}: the reply broke off before it was whole ({detail}{refused}; "
                f"{exc.attempts} attempts): the server or a proxy in between closed the connection mid-reply",
                sent=exc.unanswered,
            )
        if any(isinstance(cause, socket.gaierror) for cause in _causes(exc)):  # no server was looked for
            return LMConnectionError(
                f"cannot connect to {self.base_url}: {detail}: check the host name in the base URL",
                sent=exc.unanswered,
            )
        return LMConnectionError(
            f"cannot connect to {self.base_url}: the server is unreachable (is it running?): {detail}",
            sent=exc.unanswered,
        )

    def _status_error(self, reply: HTTPReply, attempts: int, cap: int | None = None) -> LMError:
        """The rlmx LMError for an error status that the retries did not cure."""
        tried = f", after {attempts} attempts" if attempts > 1 else ""
        if reply.unwaited is not None:  # retries were left: the run's time budget could not cover the wait
            tried += unwaited_note(reply.unwaited)
        said = _server_message(reply)
        detail = f"HTTP {reply.status} from {self.base_url} for model {self.model}: {said}"
        means = _what_the_page_means(reply.status) if said.startswith(HTML_PAGE) else None
        if means is not None:
            detail += f" ({means})"
        if reply.not_resent:  # a gateway's timeout, possibly billed: the budget had no room to send it again
            detail += NOT_RESENT
        proxy = self._http.proxy
        if reply.status == 407 and proxy is not None:
            error = LMRequestError(
                f"the proxy {proxy.shown} (from {proxy.variable}) asks for a user name and password (HTTP 407: "
                f"{said}) before it passes requests on to {self.base_url}: give them in {proxy.variable} as "
                f"http://USER:PASSWORD@host:port, or unset it (or add the server's host to NO_PROXY)"
            )
            error.via_proxy = proxy.variable
            return error
        if reply.status in _FILTER_STATUSES and withheld_by_policy(_error_body(reply)):
            # a content filter or moderation refused the prompt (Azure's 400 content_filter, OpenAI's 400
            # invalid_prompt, OpenRouter's 403 "Your input was flagged"): the LM works, and withholds this answer
            filtered = LMRequestError(f"the server's content filter refused the request: {detail}")
            filtered.withheld = True
            return filtered
        login = self._login_refused(reply, said)
        if login is not None:
            return LMRequestError(login)
        if reply.status in (401, 403) and self._keyless:
            rlmx_key = os.environ.get("RLMX_API_KEY")
            where = (  # never advice to set what is set: the Python API reads no variable of rlmx's
                "on the command line: --api-key-env NAME_OF_THE_VARIABLE, or RLMX_API_KEY"
                if rlmx_key is None
                else "on the command line: RLMX_API_KEY is set but blank, so put the key in it"
                if not trimmed_key(rlmx_key)
                else "RLMX_API_KEY is set, but only the command line reads it"
            )
            if rlmx_key is None and trimmed_key(os.environ.get("OPENAI_API_KEY", "")):
                # the user did set a key: say why it was not sent, and how to send it (the vLLM/OpenRouter case)
                return LMRequestError(
                    f"{self.base_url} refused the request (HTTP {reply.status}: {said}): OPENAI_API_KEY is set, but "
                    "rlmx sends it only to the OpenAI API (or OPENAI_BASE_URL's server), never to another base URL, "
                    "so it sent a placeholder; to send it there pass api_key=os.environ['OPENAI_API_KEY'] (on the "
                    "command line: --api-key-env OPENAI_API_KEY)"
                )
            return LMRequestError(
                f"{self.base_url} refused the request (HTTP {reply.status}: {said}): no API key was given for it, "
                f"so rlmx sent a placeholder; pass api_key= ({where})"
            )
        if reply.status == 401 and (header := _refused_account_header(said)) is not None:
            return LMRequestError(
                f"{self.base_url} refused the request (HTTP 401: {said}): rlmx sent the {header[1]} header from "
                f"{header[0]} in the environment, and the key is not in that one: unset {header[0]} or set it to the "
                "key's own"
            )
        if reply.status == 401:
            return LMRequestError(
                f"{self.base_url} refused the API key rlmx sent for model {self.model} (HTTP 401: {said}): check that "
                "it is this server's key, and not expired or revoked"
            )
        if over_the_allowance(reply):
            return LMRequestError(f"request rejected: {detail} ({_over_the_allowance(said)})")
        overflow = _prompt_over_window(reply, cap)
        if overflow is not None:
            return LMRequestError(f"request rejected: {detail} ({overflow})")
        if cap is not None and reply.status in _CAP_STATUSES and _about_the_cap(said):
            source = (
                "which rlmx chose because the server requires a cap and none was set"
                if self.cap_required and cap <= REQUIRED_CAP_TOKENS and "max_tokens" not in self.params
                else "from the LM's max_tokens or, under a token or cost budget, Budget.max_tokens_per_call"
            )
            return LMRequestError(
                f"request rejected: {detail} (rlmx sent {self.cap_param}={cap}: the call's output cap, {source}; set "
                "the LM's max_tokens or Budget.max_tokens_per_call (--max-tokens-per-call on the command line) to "
                "what the server accepts)"
            )
        if reply.status == 303:  # taken, its result elsewhere: another origin (the key is not sent there) or later
            where = reply.headers.get("location", "")
            error = LMRequestError(
                f"{self.base_url} took the request and pointed to its result (HTTP 303 See Other) at "
                f"{where or 'no address'}: rlmx fetches a result only on the same scheme, host and port (the API "
                f"key goes along), and for at most {SEE_OTHER_HOPS} redirects; raise the server's time limit or use "
                "an endpoint that answers directly"
            )
            error.unanswered = 1  # it ran (or runs) and may be billed
            return error
        if 300 <= reply.status < 400:
            where = reply.headers.get("location", "")
            return LMRequestError(
                f"{self.base_url} redirected the request (HTTP {reply.status}) to {where or 'another address'}: "
                "set base_url to where the server lives (rlmx does not follow redirects: a POST may arrive as a GET, "
                "and the API key would go along)"
            )
        if out_of_quota(reply):
            return LMRequestError(
                f"{self.base_url} refused model {self.model}: the account is out of quota or credit (HTTP 429 "
                f"insufficient_quota): add credit or check the plan and billing: {said}"
            )
        if means is None and _may_be_the_address(reply):
            return LMRequestError(f"request rejected: {detail} (posted to {self._http.url}: {CHECK_THE_ADDRESS})")
        if reply.status == 429:
            wait = server_retry_after(reply.headers)
            asked = f"; it asked to wait {wait:.0f} s" if wait is not None and wait >= 1 else ""
            return LMRateLimited(
                f"{self.base_url} rate-limited model {self.model} (HTTP 429{tried}): {said}{asked}. Wait and run "
                "again, or send fewer requests at once (fewer parallel sub-calls)",
                retry_after=wait,
            )
        if reply.status >= 500:
            wait = server_retry_after(reply.headers)
            if wait is not None and waits_too_long(reply.headers):  # not sent again: it asked for a longer wait
                server_error = LMServerError(
                    f"server error{tried}: {detail}; it asked to wait {wait:.0f} s (Retry-After), longer than rlmx "
                    f"waits between attempts ({MAX_SERVER_RETRY_AFTER:g} s): run again after that"
                )
                server_error.retry_after = wait
                return server_error
            return LMServerError(f"server error{tried}: {detail}")
        return LMRequestError(f"request rejected: {detail}")

    def _login_refused(self, reply: HTTPReply, said: str) -> str | None:
        """What to say of a 401 about a user name and password rather than an API key: the ones base_url carried
        were refused, or the server (a proxy with Basic auth in front of Ollama or vLLM) asks for them in its
        `WWW-Authenticate`. None for any other reply."""
        if reply.status != 401:
            return None
        if self._basic_in_url:
            return (
                f"{self.base_url} refused the user name and password given in base_url (HTTP 401: {said}): check "
                "them (rlmx sends them as HTTP Basic auth, in the Authorization header, in place of an API key)"
            )
        scheme = reply.headers.get("www-authenticate", "").strip().split(" ", 1)[0].lower()
        if scheme not in ("basic", "digest"):
            return None
        advice = (
            "give them in base_url as http://USER:PASSWORD@host/v1 (sent as HTTP Basic auth, in place of an API key)"
        )
        if scheme == "digest":
            advice += "; rlmx sends no Digest auth, so the proxy must accept Basic"
        return (
            f"{self.base_url} (or a proxy in front of it) asks for a user name and password (HTTP 401, "
            f"WWW-Authenticate: {scheme.capitalize()}: {said}), not an API key: {advice}"
        )


def _over_the_allowance(said: str) -> str:
    """What to say of a request refused as larger, by itself, than a token allowance (`over_the_allowance`)."""
    excess = _EXCESS.search(said)
    numbers = f" ({excess.group(4)} tokens against {excess.group(3)})" if excess and excess.group(3) else ""
    per = "day" if re.search(r"per day|\bTPD\b", said, re.IGNORECASE) else "minute"
    return (
        f"the request alone{numbers} is larger than the account's limit of tokens per {per}, so waiting cannot help: "
        "send less per call (a smaller context, or a lower output cap: --max-tokens-per-call on the command line), or "
        "move to a rate-limit tier with a higher limit"
    )


_OBJECT_REPR = re.compile(r"\s*(?:ssl:)?<[\w.]+ object at 0x[0-9a-fA-F]+>")
"""A Python object's default repr in an error text (aiohttp's `ssl:<ssl.SSLContext object at 0x...>`): noise."""


def _causes(exc: BaseException) -> list[BaseException]:
    """The exceptions behind `exc`, nearest first (TransportError is raised `from None`: its context remains)."""
    chain: list[BaseException] = []
    cause = exc.__cause__ or exc.__context__
    while cause is not None and cause not in chain:
        chain.append(cause)
        cause = cause.__cause__ or cause.__context__
    return chain


_NOT_TLS_REPLIES = frozenset(
    {"WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG", "HTTP_REQUEST", "UNKNOWN_PROTOCOL"}
)
"""OpenSSL's reasons for a handshake whose reply was no TLS record (an HTTP server's text), by version."""


def _why_undecodable(detail: str) -> str:
    """What to do about a reply body that could not be decoded, from aiohttp's words (`http._undecodable`)."""
    if "install" in detail.lower():  # an encoding the request did not offer (aiohttp offers only those it decodes)
        return (
            "the server compressed it in a way the request did not offer; install the library named, or have the "
            "server send it uncompressed"
        )
    return "a proxy in between may have decompressed it and kept the header; fix the proxy or the server"


def _tls_failure(exc: TransportError) -> str | None:
    """What went wrong in a TLS handshake, and what to do, or None when the failure was not TLS's: a certificate
    this machine does not trust (self-signed, a private CA, expired, another host's), or a server that answered
    https:// in another protocol (plain HTTP: Ollama, vLLM and LM Studio serve http:// by default)."""
    # ssl's own errors, not aiohttp's wrappers (its ClientConnectorSSLError is an ssl.SSLError without `reason`)
    causes = [c for c in _causes(exc) if not isinstance(c, aiohttp.ClientError)]
    untrusted = next((c for c in causes if isinstance(c, ssl.SSLCertVerificationError)), None)
    if untrusted is not None:
        why = untrusted.verify_message or untrusted.reason or "verification failed"
        return (
            f"its TLS certificate is not trusted here ({why}). For a self-signed certificate or a private CA, "
            "point SSL_CERT_FILE at the CA's certificate (a PEM file): SSL_CERT_FILE=/path/to/ca.pem rlmx ...; "
            "for a certificate issued to another name, use the host name it was issued for"
        )
    failed = next((c for c in causes if isinstance(c, ssl.SSLError)), None)
    if failed is None:
        return None
    why = failed.reason or str(failed)
    plain = ": the server answered in plain text, not TLS" if failed.reason in _NOT_TLS_REPLIES else ""
    return (
        f"the TLS handshake failed ({why}){plain}. If the server serves plain HTTP (Ollama, vLLM, LM Studio and "
        "llama.cpp do by default), use http:// in the base URL"
    )


def _closed_unanswered(exc: TransportError) -> bool:
    """Whether the server closed or reset the connection before any reply came (not one that broke off midway)."""
    causes = _causes(exc)
    first = causes[0] if causes else None
    return isinstance(first, aiohttp.ServerDisconnectedError | ConnectionResetError) or (
        isinstance(first, aiohttp.ClientOSError) and first.errno == errno.ECONNRESET
    )


_URL_CREDENTIALS = re.compile(r"(?<=//)[^/?#@]*@")


def base_url_problem(url: str) -> str | None:
    """What makes `url` no server base URL, said after the name of where it came from ("base_url", an env var), or
    None. One check for the constructor and the CLI's flags and env vars alike: a typo (`http://[::1:8000/v1`, a
    port past 65535, no scheme, a blank inside) is refused before a run starts, not met as a traceback or an
    "unreachable" server. Blanks around it are not a problem: every caller trims them (flag, env var, constructor),
    as it trims a model name and a key (audit 85 v02: a trailing one was requested as `/v1%20/...`)."""
    url = url.strip()  # callers trim surrounding blanks before use (an env file's `URL ` line): judged as used
    shown = repr(_URL_CREDENTIALS.sub("***@", url))  # a password in it is never echoed
    if not url.startswith(("http://", "https://")):
        return f"must start with http:// or https://, got {shown}"
    if blank := re.search(r"\s", url):  # it would be sent as %20 and meet a 404 or a wrong host
        return (
            f"holds a blank at character {blank.start() + 1} ({blank.group()!r}), got {shown}; a URL has none: "
            "give one like http://HOST:PORT/v1"
        )
    try:
        parts = urlsplit(url)
        port = parts.port  # a ValueError for one past 65535 or not a number
    except ValueError as exc:
        return f"is not a valid URL ({exc}), got {shown}; give one like http://HOST:PORT/v1"
    if not parts.hostname:
        return f"names no host, got {shown}; give one like http://HOST:PORT/v1"
    if port == 0:
        return f"has port 0, got {shown}; give the port the server listens on"
    return None


def _without_credentials(url: str) -> tuple[str, dict[str, str] | None]:
    """`url` without a `user:password@` part, and that part as an HTTP Basic Authorization header (RFC 7617; as
    curl, requests and the openai SDK send it: a reverse proxy with Basic auth in front of Ollama or LocalAI), or
    None when the URL holds none. The password then appears in no error message or trace."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url, None
    pair = f"{unquote(parts.username or '')}:{unquote(parts.password or '')}"
    host = parts.netloc.rpartition("@")[2]
    token = base64.b64encode(pair.encode("utf-8")).decode("ascii")
    return urlunsplit(parts._replace(netloc=host)), {"authorization": f"Basic {token}"}


_ACCOUNT_HEADERS = (("OPENAI_ORG_ID", "openai-organization"), ("OPENAI_PROJECT_ID", "openai-project"))
"""The SDK's environment variables that rlmx, as the SDK, sends as headers naming the key's account."""


def _refused_account_header(said: str) -> tuple[str, str] | None:
    """The (variable, header) of `_ACCOUNT_HEADERS` a 401's text blames (OpenAI's `mismatched_organization`:
    "OpenAI-Organization header should match organization for API key"; the project's likewise), when rlmx sent it."""
    for variable, header in _ACCOUNT_HEADERS:
        named = header.removeprefix("openai-")
        if os.environ.get(variable) and re.search(rf"\b{named}", said, re.IGNORECASE):
            return variable, header
    return None


def _headers(api_key: str, base_url: str) -> dict[str, str]:
    headers = {"authorization": f"Bearer {api_key}", "user-agent": "rlmx"}
    if _is_azure(base_url) and not _ENTRA_TOKEN.fullmatch(api_key):
        # Azure OpenAI's keys go in `api-key`; a Microsoft Entra ID access token (a JWT) in `Authorization: Bearer`
        headers = {"api-key": api_key, "user-agent": "rlmx"}
    for variable, header in _ACCOUNT_HEADERS:
        value = os.environ.get(variable)
        if value:
            headers[header] = value
    return headers


_ENTRA_TOKEN = re.compile(r"eyJ[\w-]*\.[\w-]+\.[\w-]*")
"""A JSON Web Token (RFC 7519: base64url header, payload and signature; the header starts `{"`), as Microsoft
Entra ID issues for Azure OpenAI."""
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
"""An HTTP field name: one or more `tchar` (RFC 9110 section 5.1)."""


def _api_key(api_key: object, base_url: str | None) -> str:
    """The key as sent: without what a key read from a file or pasted brings along (`api_keys.trimmed_key`: the
    line end, a byte order mark, quotes around it); OPENAI_API_KEY's for the OpenAI API when none is given, and
    LOCAL_API_KEY for a server given none. A key that is empty once trimmed is none (`api_key=os.environ.get(
    "MY_KEY", "")`, `export OPENAI_API_KEY=$UNSET`): "Bearer " went out with nothing after it, and a 401 then
    blamed a key that was never sent. Raises InputError for a key that is not text, for no key at all for the
    OpenAI API, and for one that still holds a control character (no HTTP header can carry it), an invisible
    mark, a space or a quote."""
    if api_key is not None and not isinstance(api_key, str):
        raise InputError(f"api_key must be text, not {type(api_key).__name__}")
    if api_key is not None:
        key = checked_key(api_key, "the API key")
        if key:
            return key
        if base_url is None:  # not the variable's: a caller who passed api_key meant that one
            raise InputError(
                "api_key is empty (or only blanks): pass the OpenAI API key itself, or leave api_key out to use "
                "OPENAI_API_KEY"
            )
        return LOCAL_API_KEY
    if base_url is not None:
        return LOCAL_API_KEY
    key = checked_key(os.environ.get("OPENAI_API_KEY", ""), "the API key in OPENAI_API_KEY")
    if not key:
        empty = "OPENAI_API_KEY is empty (or only blanks): set it to the key" if "OPENAI_API_KEY" in os.environ else ""
        raise InputError(
            f"No API key for the OpenAI API: {empty or 'set OPENAI_API_KEY'}, or pass api_key "
            "(on the command line: --api-key-env NAME_OF_THE_VARIABLE_HOLDING_IT)"
        )
    return key


def _checked_headers(headers: Mapping[str, str] | None) -> dict[str, str]:
    """`default_headers` as sent (names lower-cased, so one given as `Authorization` replaces rlmx's own). Raises
    InputError for what no server could receive: a name that is not an HTTP token, a value that is not text or
    holds a line break or NUL."""
    if headers is None:
        return {}
    if not isinstance(headers, Mapping):
        raise InputError(f"default_headers must be a dict of header name -> value, not {type(headers).__name__}")
    checked: dict[str, str] = {}
    for name, value in headers.items():
        if not isinstance(name, str) or not _HEADER_NAME.fullmatch(name):
            raise InputError(f"default_headers: {name!r} is not an HTTP header name (letters, digits and -)")
        if not isinstance(value, str) or any(c in value for c in "\r\n\0"):
            raise InputError(f"default_headers[{name!r}] must be text on one line, got {value!r}")
        if name.lower() in ("api-key", "x-api-key"):  # a key given as a header is still a key (Azure's, Anthropic's)
            value = checked_key(value, f"default_headers[{name!r}]")
        elif name.lower() == "authorization" and " " in value.strip():
            scheme, _, token = value.strip().partition(" ")
            value = f"{scheme} {checked_key(token, f'the key in default_headers[{name!r}]')}"
        checked[name.lower()] = value
    return checked


def _is_openai(base_url: str) -> bool:
    """Whether base_url is OpenAI's own API, at any of its hosts (api.openai.com, the data-residency
    eu.api.openai.com and us.api.openai.com), in any case: it takes `max_completion_tokens`."""
    host = base_url.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0].lower()
    return host == "api.openai.com" or host.endswith(".api.openai.com")


def _is_azure(base_url: str) -> bool:
    """Whether base_url is an Azure OpenAI resource: its host, or a deployment path (behind a custom domain)."""
    host = base_url.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0].lower()
    azure_host = host.endswith((".openai.azure.com", ".cognitiveservices.azure.com", ".services.ai.azure.com"))
    return azure_host or "/openai/deployments/" in base_url


def _about_the_cap(said: str) -> bool:
    """Whether a refusal speaks of the output cap, or of a size the cap counts in (Groq's tokens per minute)."""
    return any(pattern.search(said) is not None for pattern in (_ABOUT_THE_CAP, _EXCESS, _SUM_OVER_LIMIT))


def _fitted_cap(reply: HTTPReply, cap: int) -> tuple[int | None, int | None]:
    """The output cap that a 400 about the cap's size says fits, and the model's own output limit when that is
    what it named: "supports at most 2048 completion tokens" (OpenAI), "must be less than or equal to `1024`"
    (Groq), "maximum context length is 4096 tokens ... (2100 in the messages, ...)" (vLLM; SGLang and TGI alike):
    the window less the prompt. (None, None) when the reply names neither or nothing smaller fits (when nothing
    fits because the prompt alone fills the window, `_prompt_over_window` says so)."""
    if not _refuses_the_size(reply):
        return None, None
    said = _server_message(reply)
    if not _about_the_cap(said):
        return None, None
    room = _prompt_and_window(said, cap)
    if room is not None:
        fits = room[1] - room[0]
        return (fits, None) if 0 < fits < cap else (None, None)
    output, exclusive = _OUTPUT_LIMIT.search(said), _EXCLUSIVE_LIMIT.search(said)
    if output is not None:
        limit = _number(next(group for group in output.groups() if group))
    elif exclusive is not None:
        limit = _number(exclusive.group(1)) - 1
    else:
        return None, None
    return (limit, limit) if 0 < limit < cap else (None, None)


def _fitted_to_window(reply: HTTPReply, cap: int, prompt_bound: int) -> int | None:
    """The output cap that fits a window a refusal of the request's size names without the prompt's size (Moonshot's
    "Your request exceeded model token limit: 8192", "model max length exceeded, max length: 8192", "max_tokens is
    too large: the model's context length is 8192"; `_WINDOW_ONLY`): the window less `prompt_bound`, an upper bound
    on the prompt's tokens (`OpenAICompatibleLM.count_tokens`), so the cap fits whatever the real count. None when
    no such window is named, or when nothing smaller than `cap` fits by that bound (the refusal then reaches the
    user with its advice)."""
    if not _refuses_the_size(reply):
        return None
    said = _server_message(reply)
    window = _WINDOW_ONLY.search(said)
    if window is None or not _about_the_cap(said):
        return None
    fits = _number(next(group for group in window.groups() if group)) - prompt_bound
    return fits if 0 < fits < cap else None


# A window the prompt and the output cap count against together, named without the prompt's size (when the size is
# named too, `_prompt_and_window` reads both): Moonshot's "exceeded model token limit: N" and its older "model max
# length exceeded, max length:N"; "(maximum) context length/window/size (is|of) N" in any sentence that names no
# other count. Read only after every reading of the exact room (`_fitted_cap`) found none.
_WINDOW_ONLY = re.compile(
    rf"(?:model|context|request) token limit(?: is| of)?:? ?{_N}|max(?:imum)? length:? ?{_N}|"
    rf"(?:context|model) (?:length|window|size)(?: is| of)?(?: only)?:? ?{_N}",
    re.IGNORECASE,
)


def _prompt_and_window(said: str, cap: int | None) -> tuple[int, int] | None:
    """The prompt's tokens and the limit that they and the output cap `cap` count against, as a refusal names them:
    a window and the prompt ("maximum context length is 4096 tokens ... 2100 in the messages": vLLM, SGLang, TGI,
    OpenAI), or the request's whole size against a limit ("Current length is 9096 while limit is 8192": Cerebras;
    Moonshot's "token limit: 8192 (requested: 9096)"; Groq's "Limit 6000, Requested 9096"), less the cap, or the two
    summed against the window (Anthropic's "143653 + 64000 > 200000"); the prompt alone against the window in the
    words of Anthropic, Gemini, xAI and Mistral (`_PROMPT_OVER_WINDOW`); vLLM's window and all it was asked for,
    less the cap. None when it names none of these."""
    window, prompt = _CONTEXT_LIMIT.search(said), _PROMPT_TOKENS.search(said)
    if window is not None and prompt is not None:  # TGI's "max_new_tokens must be <= 8192" is the whole window
        return _number(next(g for g in prompt.groups() if g)), _number(next(g for g in window.groups() if g))
    for pattern in _PROMPT_OVER_WINDOW:  # Anthropic, Gemini, xAI, Mistral: the prompt and the window by name
        named = pattern.search(said)
        if named is not None:
            return _number(named["prompt"]), _number(named["window"])
    requested = _REQUESTED_IN_ALL.search(said)
    if window is not None and requested is not None:  # vLLM's "you requested N tokens": the prompt and the cap
        asked = _number(next(g for g in requested.groups() if g))
        return asked - (cap or 0), _number(next(g for g in window.groups() if g))
    summed = _SUM_OVER_LIMIT.search(said)
    if summed is not None:  # "prompt + cap > window"; a server putting the cap first is told by the cap's number
        first, second, limit = (int(number) for number in summed.groups())
        return (second if first == cap != second else first), limit
    excess, requested = _EXCESS.search(said), _LIMIT_REQUESTED.search(said)
    if cap is None or (excess is None and requested is None):
        return None
    if requested is not None:  # "token limit: N (requested: M)"
        limit, current = int(requested.group(1)), int(requested.group(2))
    elif excess is not None and excess.group(1) is not None:  # "Current length is M while limit is N"
        current, limit = int(excess.group(1)), int(excess.group(2))
    else:  # "Limit N, Requested M"
        assert excess is not None
        limit, current = int(excess.group(3)), int(excess.group(4))
    return current - cap, limit


def _number(digits: str) -> int:
    """A count as an error message writes it, thousands commas and all ("215,000")."""
    return int(digits.replace(",", ""))


def _counted_room(reply: HTTPReply) -> tuple[int, int] | None:
    """The prompt's tokens and the context window as fields of the error (llama.cpp's exceed_context_size_error:
    `n_prompt_tokens`, `n_ctx`), else None."""
    body = _error_body(reply)
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None
    prompt, window = error.get("n_prompt_tokens"), error.get("n_ctx")
    if type(prompt) is int and type(window) is int and window > 0:  # (not a bool)
        return prompt, window
    return None


def _refuses_the_size(reply: HTTPReply) -> bool:
    """Whether a reply may be a refusal of the request's size: a status such refusals come with, or a 429 saying
    the request alone is over a token allowance per minute (`over_the_allowance`)."""
    return reply.status in _CAP_STATUSES or over_the_allowance(reply)


def _prompt_over_window(reply: HTTPReply, cap: int | None) -> str | None:
    """What to say when a refusal shows the prompt alone is as long as the model's context window or longer: no
    output cap can fit then, only less text per call. None when it does not show that.

    Beyond the wordings whose numbers are read (`_prompt_and_window`), any refusal whose words say the input is
    over a limit in tokens (`_INPUT_OVER_LIMIT`) is one, told with the numbers that can be placed: the next server's
    wording is explained too. A 500 is read the same way (xinference forwards vLLM's 400 as one): asked again, the
    same prompt is over the same window."""
    if not _refuses_the_size(reply) and reply.status < 500:
        return None
    said = _server_message(reply)
    room = _prompt_and_window(said, cap) or _counted_room(reply)
    if room is not None:
        return _too_long(*room) if room[0] >= room[1] else None
    left = _NO_ROOM_LEFT.search(said)
    if left is not None and int(left.group(1)) <= 0:  # never a cap of rlmx's (it sends none below 1): the server's own
        return _too_long(None, None)
    if _INPUT_OVER_LIMIT.search(said) is None or not _IN_TOKENS.search(said) or _NAMES_THE_OUTPUT.search(said):
        return None
    return _too_long(*_placed_numbers(said))


_NO_ROOM_LEFT = re.compile(
    r"\b(?:max_tokens|max_new_tokens|max_completion_tokens)\b[^.;\n]{0,20}?\bmust be (?:at least 1|positive|greater "
    r"than 0|>= ?1)\b[^.;\n]{0,20}?\bgot (-?\d+)",
    re.IGNORECASE,
)
"""An output cap refused as below 1 that rlmx did not send: the room the server computed itself, its window less
the prompt (vLLM's "max_tokens must be at least 1, got 0" or "got -7584" when no cap is sent, or one is set aside,
vllm-project/vllm#36789): the prompt alone fills the window."""

# Words saying the input itself is over a limit counted in tokens, in any server's phrasing: the input, prompt,
# context or messages, then (in the same sentence) exceeding, longer than, more than ... (or "too many input
# tokens"); the text must speak of tokens or a context window (`_IN_TOKENS`): a string's length in characters is no
# window.
_INPUT_OVER_LIMIT = re.compile(
    r"\b(?:input|prompt|context|messages?|conversation)s?\b[^.;\n]{0,80}?(?:\bexceed|\blonger than|\blarger than|"
    r"\bgreater than|\bmore than|\btoo (?:long|large|many)\b|\boverflow|\bbeyond\b|\bover the\b|>=?|"
    r"\bmust (?:have|be) (?:less|fewer|shorter) than)|\btoo many (?:input |prompt )?tokens\b|"
    r"\b(?:input|prompt|context)[ _](?:tokens?[ _]|length[ _])?(?:exceeded|too[ _]long)\b",
    re.IGNORECASE,
)
_IN_TOKENS = re.compile(r"token|context|n_ctx|max_model_len|model length", re.IGNORECASE)
# A refusal that names the output cap (or the completion) is about the prompt and the cap together: a smaller cap
# may fit, which `_fitted_cap` and the cap's own advice handle.
_NAMES_THE_OUTPUT = re.compile(
    r"max_tokens|max_new_tokens|max_completion_tokens|max_output_tokens|maxOutputTokens|completion|output tokens|"
    r"\bgenerat",
    re.IGNORECASE,
)
# Numbers placed by the word just before them: a limit's ("limit of 4096", "n_ctx: 4096", "less than 4096") and
# the input's ("input (5000 tokens)", "given: 5000", "resulted in 5000"); gaps hold no digit and no other role's word.
_WINDOW_NUMBER = re.compile(
    r"(?:limit|maximum|\bmax\b|window|context (?:length|size)|n_ctx|max_model_len|allowed|capacity|less than|"
    r"up to|at most)(?:(?!input|prompt|given|resulted)[^\d.;\n]){0,24}?(\d[\d,]*)",
    re.IGNORECASE,
)
_INPUT_NUMBER = re.compile(
    r"(?:input|prompt|messages?|given|resulted in|contains?|\bhas\b|n_keep|n_prompt_tokens)"
    r"(?:(?!limit|max|window|allowed|capacity|than|exceed|context)[^\d.;\n]){0,24}?(\d[\d,]*)",
    re.IGNORECASE,
)


def _placed_numbers(said: str) -> tuple[int | None, int | None]:
    """The input's tokens and the limit as far as a refusal's words place them (`_WINDOW_NUMBER`,
    `_INPUT_NUMBER`); a number is dropped when it has both roles or when the two contradict the refusal (an input
    under the limit)."""
    window = _WINDOW_NUMBER.search(said)
    prompt = _INPUT_NUMBER.search(said)
    if window is not None and prompt is not None and window.start(1) == prompt.start(1):
        return None, None
    limit = _number(window.group(1)) if window is not None else None
    size = _number(prompt.group(1)) if prompt is not None else None
    if limit is not None and size is not None and size < limit:
        return None, None
    return size, limit


def _too_long(prompt: int | None, window: int | None) -> str:
    """The advice for a prompt that alone fills the window, with the sizes known (either may be None)."""
    size = f" ({prompt} tokens)" if prompt is not None else ""
    limit = f"the {window} tokens" if window is not None else "what"
    return (
        f"the prompt alone{size} is longer than {limit} the model's context window (or the server's limit) holds, so "
        "no output cap fits: send less per call (a smaller context, fewer or shorter messages), or use a model with a "
        "larger window"
    )


def _may_be_the_address(reply: HTTPReply) -> bool:
    """Whether an error status may mean a wrong base_url or model name: its words say so at any status that is no
    passing fault (`error_kind`: LM Studio's "Unexpected endpoint or method", whatever status it comes with), or it
    is a 404 whose message does not say what is missing otherwise (OpenRouter's "No endpoints found matching your
    data policy")."""
    if reply.status >= 500 or reply.status == 429:
        return False
    said = _server_message(reply)
    if error_kind(said) == "address" or error_kind(_error_body(reply)) == "address":
        return True
    if reply.status != 404:
        return False
    if said == f"HTTP {reply.status} with an empty body" or not isinstance(_one_object(reply.json_body()), dict):
        return True
    return re.search(r"not found|not exist|no such|unknown|invalid model|page|could not route", said, re.I) is not None


def _hopeless(fields: Collection[str], model: str, reply: HTTPReply) -> bool:
    """Whether a server error says the prompt alone is over the model's context window (xinference forwarding vLLM's
    "decoder prompt ... is longer than the maximum model length" as a 500), or refuses by name one of `fields`, the
    request's fields sent for `model` (llama.cpp's 500 "Unsupported param: tools"): the same request fails the same
    way each time, so it is not sent again as it is (`JSONPoster.post`'s `final`); `_post` leaves out a field it may
    drop, else says what to do."""
    if reply.status < 500:
        return False
    if _prompt_over_window(reply, None) is not None:
        return True
    return any(_refusal_of(reply, field, model, fields) for field in fields)


def _rejects(reply: HTTPReply, name: str, model: str = "", sent: Collection[str] | None = None) -> bool:
    """Whether a refusal says the parameter `name` itself is not accepted (not that its value is too large)."""
    return _refusal_of(reply, name, model, sent) > 0


_NAMED_BY_THE_SERVER, _QUOTED, _IN_WORDS = 3, 2, 1
"""How directly a refusal names a parameter (`_refusal_of`): in its structured `param`/`loc`, quoted or after a
word such as "parameter", or in plain words next to the refusal's own words."""
_ECHOED = re.compile(r"(?:^|[,(\[{]\s*)(['\"]?)(?:value|input|input_value)\1\s*[:=].*", re.IGNORECASE | re.MULTILINE)
"""A value echoed back after the refused field ("field: 'metadata', value: {...}", pydantic's `input_value=`, the
`'input': {...}` of vLLM's Python-written error list): the user's words, never the server's naming of a parameter."""
_BODY_PREFIX = re.compile(r"(?<![\w.])body\.(?=[A-Za-z_])")
"""The request body's own prefix on a field's name (Cerebras' "body.enable_thinking: property 'body.enable_thinking'
is unsupported", FastAPI's `loc` joined with dots): the name is the field's."""
_FIELD_LINE = re.compile(r"^([\w.\[\]]+)\n[ \t]+(?=\S)", re.MULTILINE)
"""pydantic's printed error: the field's location on a line of its own, the reason indented on the next
("metadata\n  Extra inputs are not permitted [type=extra_forbidden, ...]"); read as "metadata: Extra inputs ..."."""
_LISTED_LOC = re.compile(r"""['"]loc['"]\s*:\s*[(\[]\s*(?:['"](?:body|query)['"]\s*,\s*)?['"]([^'"]+)['"]""")
"""A validation error's `loc` in an error list written as text that is no JSON (vLLM's Python repr, a list cut
short or holding a value Python cannot read back): the refused field."""
_PASSING = re.compile(
    r"\b(?:try again|retry|retrying|temporar(?:y|ily)|overloaded|unavailable|later|busy|timed? ?out"
    r"|currently(?!\s+(?:not\s+)?(?:supported|unsupported|allowed|permitted|accepted)\b))\b",
    re.IGNORECASE,
)
"""A server error that says it may pass: a 5xx naming a field in such words is retried as any 5xx, never read as a
refusal of that field. "currently not supported" is a refusal in the words of one that may change some day, not a
fault that passes on a retry."""
_NESTED_PATH = re.compile(r"""\(\s*(['"])(?!body\1|query\1)[^'"\n]*\1(?:\s*,\s*(['"])[^'"\n]*\2)+\s*,?\s*\)""")
"""A path of quoted names into something the request sent, written as a tuple whose first name is not the body's
(OpenAI's "Invalid schema for response_format 'x': In context=('properties', 'temperature'), 'propertyNames' is not
permitted"): it names a schema's or a tool's property, never a parameter of the request."""
_URL = re.compile(r"\bhttps?://\S+", re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+|\n+")
_FILTER_STATUSES = frozenset({400, 403, 406, 422, 451})
"""Statuses a content filter's or moderation's refusal of a prompt comes with (Azure and OpenAI 400, OpenRouter 403,
a gateway's 422, 451 Unavailable For Legal Reasons)."""
_CONTENT_POLICY = re.compile(
    r"usage polic|content (?:policy|filter|management)|flagged|safety (?:system|filter|polic)|moderation|"
    r"invalid_prompt|content_filter|content_policy",
    re.IGNORECASE,
)
"""A refusal of what the prompt says (a content policy, a guardrail naming the topic), which no parameter caused."""
_PARAM_WORD = r"(?:param(?:eter)?|argument|field|property|option|key|name)s?"
_REFUSED_WORD = (
    r"(?:extra (?:inputs?|fields?) (?:(?:are|is) )?not (?:permitted|allowed)|"  # pydantic: "top_k: Extra inputs ..."
    r"unsupported|unrecognized|unknown|not (?:supported|allowed|permitted|enabled|accepted|recognized|available)|"
    r"n't (?:supported|allowed|permitted|enabled|accepted)|no longer supported|deprecated|invalid|forbidden|disallowed)"
)


def _structured_names(body: Any, depth: int = 0) -> set[str]:
    """The parameters an error body names as fields rather than words: OpenAI's `error.param`, a validation error's
    `loc` (FastAPI/pydantic: `["body", "seed"]`), wherever the error nests them (Mistral's `message` holding a
    `detail` list, Azure's `error.details`, either as JSON text; vLLM's list as Python text, `('body', 'seed')`). An
    echoed `input`/`value` is not read. A `param` may be no field at all (Cerebras' "validation_error"):
    `_refusal_of` keeps only names of the request's fields."""
    if depth > 6:
        return set()
    if isinstance(body, str):
        return _names_in_text(body, depth)
    names: set[str] = set()
    if isinstance(body, list):
        for item in body:
            names |= _structured_names(item, depth + 1)
    elif isinstance(body, dict):
        param, loc = body.get("param"), body.get("loc")
        if isinstance(param, str) and param and not _is_sentence(param):  # a sentence is read as words
            names.add(param.removeprefix("body."))
        if isinstance(loc, list | tuple):
            field = [part for part in loc if isinstance(part, str) and part not in ("body", "query")]
            if field:
                names.add(field[0])
        for key, value in body.items():
            if key not in ("input", "value", "input_value", "param", "loc") and isinstance(value, dict | list | str):
                names |= _structured_names(value, depth + 1)
    return names


def _names_in_text(text: str, depth: int) -> set[str]:
    """`_structured_names` of an error list or object written as text: JSON, or Python's repr of one (vLLM writes
    pydantic's errors so: single quotes, a tuple `loc`), else the `loc`s readable in it before any echoed value."""
    if text.lstrip().startswith(("{", "[")):
        try:
            return _structured_names(json.loads(text), depth + 1)
        except json.JSONDecodeError:
            pass
        if len(text) <= _MOST_TEXT_READ_AS_PYTHON:
            try:
                return _structured_names(ast.literal_eval(text.strip()), depth + 1)
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                pass
    if "loc" not in text:
        return set()
    return set(_LISTED_LOC.findall(_ECHOED.sub(" ", text)))


_MOST_TEXT_READ_AS_PYTHON = 100_000
"""Characters of an error text read back as a Python literal at most: a longer one echoes a whole request."""


@cache
def _tied_to_a_refusal(name: str) -> tuple[re.Pattern[str], re.Pattern[str]]:
    """How a sentence ties the parameter `name` to its refusal: (quoted or after a parameter word, or right after
    "Unsupported parameter:", or after a refusal and a colon; in plain words next to the refusal's own words).
    Unquoted names are whole tokens: "thinking" inside "gemini-2.0-flash-thinking-exp" or "body.seed" is not one."""
    camel = re.sub(r"_([a-z])", lambda letter: letter.group(1).upper(), name)
    exact = rf"(?-i:{re.escape(name)}|{re.escape(camel)})"
    parts = name.split("_")
    forms = [exact, *_SAID_IN_WORDS.get(name, ())]
    if len(parts) > 1 or name not in _ORDINARY_WORDS:
        last = parts[-1][:-1] if parts[-1].endswith("s") and len(parts[-1]) > 3 else parts[-1]
        forms.append(r"[\s_-]+".join([*map(re.escape, parts[:-1]), re.escape(last) + "s?"]))
    if name.endswith("_penalty"):  # Gemini: "Penalty is not enabled for models/..." refuses every penalty
        forms.append(r"penalt(?:y|ies)")
    words = rf"(?<![\w/.-])(?:{'|'.join(forms)})(?![\w/-]|\.\w)"
    quote = "['\"`]"
    directly = re.compile(
        rf"{quote}{exact}{quote}|\b{_PARAM_WORD}\s*[:=]?\s*{quote}?{exact}(?![\w/-]|\.\w)|"
        rf"\b{_REFUSED_WORD}\s+(?:request\s+)?(?:{_PARAM_WORD}\s*)?(?:supplied\s*)?:?\s*{quote}?{words}|"
        # a list after the refusal ("Unrecognized request arguments supplied: a, b, c"): each item starts with no
        # blank and the blanks after its comma are taken at once, so a long list is read in one pass (it backtracked
        # exponentially: seconds per parameter on a 20-name list, on the event loop)
        rf"\b{_REFUSED_WORD}[^.:;\n]{{0,40}}:\s*+"
        rf"(?>[\w'\"`-][\w '\"`-]{{0,39}}?,\s*+(?:and\s++)?){{0,20}}{quote}?{words}",
        re.IGNORECASE,
    )
    verb = r"\s+(?:(?:is|are|was|were)(?:\s+|(?=n't)))?(?:(?:currently|also|still)\s+)?"
    adjacent = re.compile(
        rf"{words}{quote}?(?:\s+{_PARAM_WORD})?(?:\s*:\s*(?:an?\s+)?|{verb}){_REFUSED_WORD}|"
        rf"{_SUPPORT_NOT}(?:{_PARAM_WORD}\s+)?{quote}?{words}",
        re.IGNORECASE,
    )
    return directly, adjacent


def _refusal_of(reply: HTTPReply, name: str, model: str = "", sent: Collection[str] | None = None) -> int:
    """How directly a 400/422 (or a 5xx: llama.cpp's 500 "Unsupported param: echo") refuses the parameter `name`
    itself (0: it does not). The server's structured `param` or `loc` wins over any reading of the text, when it
    names a field of the request (`sent`, the fields sent; all names count when None); else the text must tie the
    name to the refusal in one sentence: quoted, after a word such as "parameter", or next to the refusal's words
    ("X is not supported", "does not support X", "X: Extra inputs are not permitted"). A name anywhere else (in the
    model's name, a URL, an echoed value, a gateway's "Provider returned error", a content policy's topic) is not
    refused."""
    if reply.status not in (400, 422) and reply.status < 500:
        return 0
    said = _server_message(reply)
    if reply.status >= 500 and _PASSING.search(said):
        return 0  # a passing fault naming a field ("Tools are currently not available, please try again later")
    body = _error_body(reply)
    body = body if isinstance(body, dict) else {}
    error = body.get("error") if isinstance(body.get("error"), dict) else body
    code = error.get("code") if isinstance(error, dict) else None
    if _CONTENT_POLICY.search(said) or _CONTENT_POLICY.search(str(code or "")):
        return 0
    message = _ACCEPTED_NAMES.split(said, maxsplit=1)[0]
    default_only = _DEFAULT_ONLY.search(message) is not None  # Kimi: "invalid temperature: only 1 is allowed"
    camel = re.sub(r"_([a-z])", lambda letter: letter.group(1).upper(), name)  # xAI names presencePenalty
    fields = _structured_names(body)
    if sent is not None:
        fields = {field for field in fields if _names_a_field(field, sent)}
    if fields:
        refused = _UNSUPPORTED.search(message) is not None or default_only
        strength = _NAMED_BY_THE_SERVER if refused and (name in fields or camel in fields) else 0
    else:
        text = _URL.sub(" ", _ECHOED.sub(" ", _FIELD_LINE.sub(r"\1: ", message)))
        text = _NESTED_PATH.sub(" ", _BODY_PREFIX.sub("", text))
        if model:  # the model's own name ("gemini-2.0-flash-thinking-exp") names no parameter
            text = re.sub(rf"(?<![\w.-]){re.escape(model)}(?![\w-])", " ", text)
        directly, adjacent = _tied_to_a_refusal(name)
        strength = 0
        for sentence in _SENTENCE_END.split(text):
            refusal = _UNSUPPORTED.search(sentence) or _DEFAULT_ONLY.search(sentence) or adjacent.search(sentence)
            if refusal is None:
                continue
            if directly.search(sentence):
                strength = _QUOTED
                break
            if adjacent.search(sentence):
                strength = _IN_WORDS
    if not strength:
        return 0
    # A value the parameter does not take ("'reasoning_effort' does not support 'minimal'") is the caller's to
    # fix: dropping the parameter would silently run with the server's default. Only when that default is the
    # one value allowed (o-series `temperature`) does leaving it out change nothing.
    bad_value = code == "unsupported_value" or _BAD_VALUE.search(message) is not None
    return strength if not bad_value or default_only else 0


_CONFLICT = re.compile(
    r"cannot both be|can(?:no|')t be (?:used|specified|set|provided|passed|combined) together|mutually exclusive|"
    r"(?:use|specify|set|provide|pass) only one\b|only one of|not both\b|(?:is|are) exclusive with|"
    r"cannot be (?:used|specified|set|provided|combined) with|(?:is|are) incompatible with",
    re.IGNORECASE,
)
"""A server saying two parameters it takes one at a time were sent together (Anthropic's models through an
OpenAI-compatible layer: "`temperature` and `top_p` cannot both be specified for this model. Please use only one.")."""
_DROPPED_FIRST = ("top_p", "top_k", "frequency_penalty", "presence_penalty", "repetition_penalty", "min_p")
"""Which of two conflicting sampling parameters leaves first: the narrower knob, so `temperature` (the one users set
and Anthropic's docs tell them to alter rather than both) stays."""


def _one_of_a_conflict(reply: HTTPReply, request: Mapping[str, Any]) -> str | None:
    """The parameter to leave out when a 400/422 says two of the request's sampling fields cannot be sent together:
    one sentence naming at least two droppable fields (quoted or as whole words) beside a conflict's words
    (`_CONFLICT`). The narrower knob leaves (`_DROPPED_FIRST`), else the one named last; None when the reply says no
    such thing, or names fields that would change what a reply means (`_WHAT_THE_REPLY_MEANS`) or the cap."""
    if reply.status not in (400, 422):
        return None
    droppable = [p for p in request if p not in _UNDROPPABLE and p not in _WHAT_THE_REPLY_MEANS]
    for sentence in _SENTENCE_END.split(_server_message(reply).replace("`", " ")):
        if _CONFLICT.search(sentence) is None:
            continue
        named = sorted(
            (found.start(), p)
            for p in droppable
            if (found := re.search(rf"(?<![\w.-]){re.escape(p)}(?![\w-])", sentence)) is not None
        )
        if len(named) >= 2:
            names = [p for _, p in named]
            return next((p for p in _DROPPED_FIRST if p in names), names[-1])
    return None


_RANGED = {
    "temperature": (0.0, 5.0),
    "top_p": (0.0, 1.0),
    "min_p": (0.0, 1.0),
    "frequency_penalty": (-2.0, 2.0),
    "presence_penalty": (-2.0, 2.0),
    "repetition_penalty": (0.0, 10.0),
}
"""The sampling knobs whose value is brought into a server's range when it refuses one outside it, each with the
span any server's bound for it lies in (OpenAI's API reference: temperature 0-2, top_p 0-1, penalties -2 to 2; 5 and
10 leave room for others): a number outside it in a refusal is something else's (a date, a version)."""
_NEUTRAL = {"top_p": 1.0, "min_p": 0.0, "frequency_penalty": 0.0, "presence_penalty": 0.0, "repetition_penalty": 1.0}
"""Each knob's value that turns it off (no nucleus cut, no penalty): refused as out of range (TGI's "`top_p` must be >
0.0 and < 1.0" for top_p=1.0), the knob is left out, which asks the same of a server whose default is off."""
_OPEN_STEP = 0.01
"""How far inside an exclusive bound a refused value is sent at most ("top_p must be in (0, 1]" for 0: 0.01; TGI's
"temperature must be strictly positive" for 0: 0.01, as near greedy as a positive temperature gets): the nearest value
with two decimals, which every server parses, and small against each knob's span (`_RANGED`). Only a value outside
the range is moved: the learned range keeps the bound as named (`_Range`)."""
_A_VALUE_OF_ITS_OWN = re.compile(r"\bdisabl|\boff\b|\bor\s+-?\d|-1\s*\(", re.IGNORECASE)
"""A refusal naming a value with a meaning of its own beside the range ("top_k must be -1 (disable), or at least 1"):
the nearest bound would change what the caller meant (top_k=0 is "off" in llama.cpp and Ollama, 1 is greedy), so
such a refusal stays an error. (top_k is not brought into range for the same reason: 0 and -1 mean "off".)"""
_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)"
_GOT = re.compile(
    rf"\b(?:but\s+)?(?:got|received|given|found|provided|passed|value of)\s*:?\s*'?{_NUMBER}'?(?:\s+instead)?", re.I
)
"""The refused value echoed back ("but got 1.5 instead"): no bound."""
_BETWEEN = re.compile(
    rf"(?P<open>[\[(])?\s*(?P<lo>{_NUMBER})(?:\s*(?:\.\.\.?|,|\bto\b|\band\b|~)\s*|(?<=\d)-(?=\d))(?P<hi>{_NUMBER})"
    r"\s*(?P<close>[\])]|\(exclusive\))?"
)
_AT_MOST = re.compile(
    rf"(?:<=|≤|less than or equal to|at most|no (?:more|greater) than|maximum(?: value)?(?: is| of)?"
    rf"|max(?:imum)?\s*[:=]|not (?:be )?(?:greater|larger|more) than|up to)\s*(?P<n>{_NUMBER})",
    re.I,
)
_AT_LEAST = re.compile(
    rf"(?:>=|≥|greater than or equal to|at least|no (?:less|smaller) than|minimum(?: value)?(?: is| of)?"
    rf"|min(?:imum)?\s*[:=]|not (?:be )?(?:less|smaller) than)\s*(?P<n>{_NUMBER})",
    re.I,
)
_ABOVE_WORDS = (
    r"(?:>(?!=)|\b(?:strictly\s+)?(?:greater|larger|bigger|more|higher)\s+than(?!\s+or\b)|\babove|\bover"
    r"|\bexceed(?:s|ing)?)"
)
_BELOW_WORDS = r"(?:<(?!=)|\b(?:strictly\s+)?(?:less|smaller|lower|fewer)\s+than(?!\s+or\b)|\bbelow|\bunder)"
_ABOVE = re.compile(rf"{_ABOVE_WORDS}\s*(?P<n>{_NUMBER})", re.I)
_BELOW = re.compile(rf"{_BELOW_WORDS}\s*(?P<n>{_NUMBER})", re.I)
"""Exclusive bounds ("must be > 0.0 and < 1.0", "less than 2", "must be above 0"), read after the inclusive ones are
taken out; the same words, before a number, are range words (`_RANGE_WORDS`), so each wording read is also heard."""
_POSITIVE = re.compile(r"\b(?:strictly\s+)?positive\b", re.I)
_REQUIRED = re.compile(r"\b(?:must|should|has to|have to|needs? to|expected to|is required to)(?:\s+be)?\b", re.I)
"""The words that make an exclusive bound the allowed side ("must be > 0.0", "Input should be greater than 0"):
without them "> 1" may be the refused side ("temperature > 1 is not allowed") or another knob's condition ("top_p
is only supported when temperature > 0"), and no bound is read."""
_OPEN_NUDGED = frozenset({"temperature", "top_p"})
"""The knobs sent just inside an exclusive bound: near it they mean what the refused value meant (temperature 0.01
and top_p 0.01 are as near greedy as the server allows). Elsewhere a value just inside means something else
(repetition_penalty 0.01, where "must be strictly positive" refuses 0, rewards repeating; 1 is no penalty): an error."""
_RANGE_WORDS = re.compile(
    r"\brange\b|\bbetween\b|\bmust be (?:in|within)\b|\bshould be (?:in|within)\b|\bout of (?:range|bounds)|"
    r"\babove (?:the )?max|\bbelow (?:the )?min|\bexceeds?\b|\bless than\b|\bgreater than\b|<=|>=|≤|≥|"
    r"\bat (?:most|least)\b|\bnon-?negative\b|\b(?:strictly )?positive\b|[<>]|_(?:above_max|below_min)_value|"
    rf"less_than_equal|greater_than_equal|\bless_than\b|\bgreater_than\b|(?:{_ABOVE_WORDS}|{_BELOW_WORDS})\s*{_NUMBER}",
    re.I,
)
"""Words of a refusal that a value lies outside the parameter's range (OpenAI's "decimal above maximum value. Expected
a value <= 1", Anthropic-through-LiteLLM's "temperature: range: 0..1", pydantic's "Input should be less than or equal
to 2", vLLM's "top_p must be in (0, 1], got 1.5.", "must be non-negative")."""

_ZERO = re.compile(r"(?<![\w-])zero(?![\w-])", re.I)
_ONE_OR_TWO = re.compile(
    r"(?P<before>(?:\b(?:than|above|below|over|under|exceed(?:s|ing)?|least|most|between)|\d\s+(?:to|and)|[<>=≤≥(\[,])\s*)"
    r"(?P<word>one|two)(?![\w-])(?!\s+of\b)",
    re.I,
)

_CONDITION = re.compile(
    r"\b(?:when(?:ever)?|if|unless|while|as long as|provided that)\b"
    r"(?!\s+(?:it\s+is\s+|it's\s+)?(?:set|provided|present|specified|given|supplied|passed|sent|used)\b)",
    re.I,
)
"""A range named under a condition of the request ("`top_p` must be greater than or equal to 0.95 or unset when
thinking is enabled", "... when temperature is set"): it holds for that request, not for the model, so it is applied
to that call only, never learned. "if set"/"when provided" speak of the knob itself: no condition."""
_LISTED_ITEM = re.compile(r"""\{\s*(['"])(?:type|loc)\1\s*:""")
"""The start of an error of a list written as text (pydantic's `{'type': ..., 'loc': ('body', 'top_k'), 'msg':
...}` in vLLM's, SGLang's one-line message): the bound in one item is that item's field's, never the one before's."""


def _digits_for_words(text: str) -> str:
    """`text` with a bound spelt as a word ("must be greater than zero", "between zero and one") as its digit: "zero"
    anywhere (not "non-zero"); "one" and "two" only after a comparison or range word ("than", "above", "between 0
    and"), and never "one of" (a list of choices)."""
    text = _ZERO.sub("0", text)
    return _ONE_OR_TWO.sub(lambda found: found["before"] + ("1" if found["word"].lower() == "one" else "2"), text)


class _Range(NamedTuple):
    """A knob's range as a server named it: each bound exactly as named (None: none on that side), and whether it is
    exclusive ("< 1.0", "(0, 1]", "2.0001 (exclusive)"). Kept exact, not moved inside, so a later value the server
    takes (0.995 under "< 1.0") is sent as asked; only a value outside is moved, just inside (`_brought_inside`)."""

    lo: float | None
    hi: float | None
    open_lo: bool = False
    open_hi: bool = False


def _range_refused(
    reply: HTTPReply, request: Mapping[str, Any], known: Mapping[str, _Range], model: str = ""
) -> tuple[str, _Range, bool] | None:
    """The sampling parameter (`_RANGED`) a 400/422 refuses for a value outside its range, the range the server names
    for it, and whether it names that range under a condition (`_CONDITION`: true for that request only), when the
    request's value lies outside it: the parameter's own clause (or the server's structured `param` naming it alone)
    beside range words (`_RANGE_WORDS`) and a bound ("0..1", "between 0 and 2", "<= 1", "(0, 1]", "non-negative").
    The range is read into `known`'s sides that have no bound yet (`_filled`): "no bound on that side" is not
    "inside", so a value past a side not yet known is read as a first refusal of it would be; a value refused again
    where every side it could cross is known is an error, not a loop. None when no bound is named (a refused value is
    then the caller's to fix) or the value is inside what is named."""
    if reply.status not in (400, 422):
        return None
    body = _error_body(reply)
    fields = _structured_names(body if isinstance(body, dict) else {})
    message = _URL.sub(" ", _server_message(reply).replace("`", " ").replace("(inclusive)", " "))
    message = _digits_for_words(message)
    if model:  # "gpt-4-0613" names no bound
        message = re.sub(rf"(?<![\w.-]){re.escape(model)}(?![\w-])", " ", message)
    names = {param: (param, re.sub(r"_([a-z])", lambda letter: letter.group(1).upper(), param)) for param in _RANGED}
    spelt = {param: "|".join(spellings) for param, spellings in names.items()}
    # a clause of one field ends where another field's begins: every knob's name, and the request's and the server's
    # structured field names that are no everyday word ("top_k must be at least 1" after presence_penalty's bound)
    knob_names = {name for spellings in names.values() for name in spellings}
    for field in {*request, *fields} - knob_names - _ORDINARY_WORDS - {"stop", "stream"}:
        camel = re.sub(r"_([a-z])", lambda letter: letter.group(1).upper(), field)
        spelt[field] = "|".join(re.escape(spelling) for spelling in {field, camel})
    mentions = sorted(
        (found.start(), found.end(), field)
        for field, pattern in spelt.items()
        for found in re.finditer(rf"(?<![\w-])(?:{pattern})(?![\w-])", message, re.IGNORECASE)
    )
    ends = [(found.start(), found.end()) for found in _SENTENCE_END.finditer(message)]
    items = [found.start() for found in _LISTED_ITEM.finditer(message)]
    for param, (least, most) in _RANGED.items():
        value = request.get(param)
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if fields and not fields & set(names[param]):
            continue
        if len(fields) == 1:  # the server's own `param` names it: its whole message is about it (OpenAI's)
            clauses = [(message, message)]
        else:
            clauses = [
                _clause(message, start, end, mentions, ends, items) for start, end, named in mentions if named == param
            ]
        for clause, around in clauses:
            if _RANGE_WORDS.search(clause) is None or _A_VALUE_OF_ITS_OWN.search(clause):
                continue
            named = _bounds_named(clause)
            if named is None or any(b is not None and not least <= b <= most for b in (named.lo, named.hi)):
                continue
            sent = _ranged(param, value, _filled(known.get(param), named))
            if sent is not _LEFT_OUT and sent == value:
                continue  # inside, or only just inside an exclusive bound where that means something else (`_ranged`)
            return param, named, _CONDITION.search(around) is not None
    return None


def _clause(
    message: str,
    start: int,
    end: int,
    mentions: Sequence[tuple[int, int, str]],
    ends: Sequence[tuple[int, int]],
    items: Sequence[int],
) -> tuple[str, str]:
    """The words of a refusal about the field mentioned at `start`..`end`, and the whole sentence(s) they lie in (read
    for a condition, wherever in the sentence it is: "When thinking is enabled, top_p must be ..."): what follows the
    mention up to the next field's mention, the next item of an error list (pydantic's `{'type': ..., 'loc': ...}`) or
    the sentence's end; the next sentence too where this one says the value is out of range but names no bound
    (OpenAI's "Invalid 'temperature': decimal above maximum value. Expected a value <= 2"); and where what follows names
    no bound, the words before the mention back to its sentence's start, when no other field is mentioned there
    (FastChat's "3.0 is greater than the maximum of 2 - 'temperature'")."""
    stop = min([s for s, _, _ in mentions if s >= end] + [i for i in items if i >= end] + [len(message)])
    sentence_ends = [s for s, _ in ends if end <= s < stop]
    upto = sentence_ends[0] if sentence_ends else stop
    if (
        sentence_ends
        and _RANGE_WORDS.search(message[end:upto]) is not None
        and _bounds_named(message[end:upto]) is None
    ):
        upto = sentence_ends[1] if len(sentence_ends) > 1 else stop
    after = message[end:upto]
    begins = max([e for _, e in ends if e <= start] + [i for i in items if i <= start] + [0])
    before = "" if any(begins <= s < start for s, _, _ in mentions) else message[begins:start]
    clause = after if _bounds_named(after) is not None else before + after
    sentence = message[begins : min([s for s, _ in ends if s >= upto] + [len(message)])]
    return clause, sentence


_LEFT_OUT = object()
"""`_ranged`'s answer for a value the request goes without."""


def _ranged(param: str, value: Any, known: _Range) -> Any:
    """What a request sends for `value` of a knob whose range the server named (`known`), judged for this value
    alone, as a first refusal of it would be (`_range_refused`): inside the range (exclusive bounds as named), the
    value itself; the knob's off value outside it, `_LEFT_OUT` (off is the server's default too); a value past an
    exclusive bound where just inside it means something else (a penalty at 0.01), the value itself, for the server to
    refuse; any other, the nearest value inside (`_brought_inside`)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or _admits(value, known):
        return value
    if value == _NEUTRAL.get(param):
        return _LEFT_OUT
    past_open = known.open_hi if known.hi is not None and value >= known.hi else known.open_lo
    if param not in _OPEN_NUDGED and past_open:
        return value
    return _brought_inside(value, known)


def _admits(value: float, known: _Range) -> bool:
    lo, hi, open_lo, open_hi = known
    above_lo = lo is None or value > lo or (value == lo and not open_lo)
    return above_lo and (hi is None or value < hi or (value == hi and not open_hi))


def _filled(known: _Range | None, named: _Range) -> _Range:
    """`known` with its sides that have no bound taken from `named` (its known sides kept: each refusal can add a side,
    never move one, so a server naming ever narrower ranges cannot keep a call resending); `known` itself where the
    two sides would leave nothing between them."""
    if known is None:
        return named
    lo, open_lo = (known.lo, known.open_lo) if known.lo is not None else (named.lo, named.open_lo)
    hi, open_hi = (known.hi, known.open_hi) if known.hi is not None else (named.hi, named.open_hi)
    if lo is not None and hi is not None and lo >= hi:
        return known
    return _Range(lo, hi, open_lo, open_hi)


def _brought_inside(value: float, known: _Range) -> float:
    """The value inside `known` nearest `value`: an inclusive bound itself; for an exclusive one the nearest value with
    two decimals inside it ("< 1.0": 0.99, "> 0": 0.01, "2.0001 (exclusive)": 2.0), or a quarter of the span inside
    where the range is narrower than that; an int asked stays an int where the value is whole."""
    lo, hi, open_lo, open_hi = known
    kept = value
    if hi is not None and not (value < hi or (value == hi and not open_hi)):
        kept = hi
        if open_hi:
            kept = round(ceil(hi * 100 - 1e-6) / 100 - _OPEN_STEP, 6)
            if lo is not None and not _admits(kept, known):
                kept = round(hi - min(_OPEN_STEP, (hi - lo) / 4), 6)
    elif lo is not None and not (value > lo or (value == lo and not open_lo)):
        kept = lo
        if open_lo:
            kept = round(floor(lo * 100 + 1e-6) / 100 + _OPEN_STEP, 6)
            if hi is not None and not _admits(kept, known):
                kept = round(lo + min(_OPEN_STEP, (hi - lo) / 4), 6)
    return int(kept) if isinstance(value, int) and float(kept).is_integer() else kept


def _bounds_named(sentence: str) -> _Range | None:
    """The range a refusal's sentence allows, each bound as named and whether it is exclusive ("(0, 1]", "> 0.0",
    "strictly positive"). None when it names none."""
    text = _GOT.sub(" ", sentence)
    if (between := _BETWEEN.search(text)) is not None:
        least, most = float(between["lo"]), float(between["hi"])
        if least < most:
            return _Range(least, most, between["open"] == "(", between["close"] in (")", "(exclusive)"))
    at_most, at_least = _AT_MOST.search(text), _AT_LEAST.search(text)
    rest = _AT_LEAST.sub(" ", _AT_MOST.sub(" ", text))
    required = _REQUIRED.search(rest)
    rest = rest[required.start() :] if required is not None else ""  # an exclusive bound only as a requirement
    below, above = _BELOW.search(rest), _ABOVE.search(rest)
    lo = float(at_least["n"]) if at_least else (0.0 if re.search(r"non-?negative", text, re.I) else None)
    hi = float(at_most["n"]) if at_most else None
    open_below = open_above = False
    if lo is None and (above is not None or _POSITIVE.search(rest) is not None):
        lo, open_below = (float(above["n"]) if above is not None else 0.0), True
    if hi is None and below is not None:
        hi, open_above = float(below["n"]), True
    if (lo is None and hi is None) or (lo is not None and hi is not None and lo >= hi):
        return None
    return _Range(lo, hi, open_below, open_above)


def _names_a_field(field: str, sent: Collection[str]) -> bool:
    """Whether a structured name is a field of the request, or a path into one (`response_format.strict`,
    `messages[0].role`), in its own spelling or in camelCase: not a server's word for its error ("validation_error")."""
    root = re.split(r"[.\[]", field, maxsplit=1)[0]
    snake = re.sub(r"(?<=[a-z0-9])([A-Z])", lambda letter: "_" + letter.group(1).lower(), root)
    return root in ("model", "messages") or root in sent or snake in sent


def _refuses_system_role(reply: HTTPReply) -> bool:
    return reply.status in (400, 422) and _NO_SYSTEM_ROLE.search(_server_message(reply)) is not None


def _without_system_role(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The conversation for a template with no system role: the system text opens the first user message."""
    system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
    rest = [m for m in messages if m["role"] != "system"]
    if not system:
        return rest
    if rest and rest[0]["role"] == "user":
        return [{"role": "user", "content": f"{system}\n\n{rest[0]['content']}"}, *rest[1:]]
    return [{"role": "user", "content": system}, *rest]


_SDK_EXTRAS = ("extra_body", "extra_headers", "extra_query")


def _sdk_extras(params: dict[str, Any], *, at_call: bool) -> tuple[dict[str, Any], dict[str, str], Mapping[str, Any]]:
    """The openai SDK's `extra_body`, `extra_headers` and `extra_query`, taken as the SDK takes them rather than sent
    as fields of those names (which vLLM ignores and OpenAI refuses: `extra_body={"chat_template_kwargs": ...}` would
    silently do nothing): `extra_body`'s fields merged into the params (over them, as the SDK does), and the headers
    and the query returned apart. A call's own headers or query raise InputError: they belong to
    the LM (one HTTP session and URL serve all its calls)."""
    if not any(name in params for name in _SDK_EXTRAS):
        return params, {}, {}
    rest = {k: v for k, v in params.items() if k not in _SDK_EXTRAS}
    for name in _SDK_EXTRAS:
        value = params.get(name)
        if value is not None and not isinstance(value, Mapping):
            raise InputError(f"{name} must be a dict, as the openai SDK takes it; got {type(value).__name__}")
    if at_call and (params.get("extra_headers") or params.get("extra_query")):
        raise InputError(
            "extra_headers and extra_query go to the LM, not to one call: OpenAICompatibleLM(..., "
            "default_headers={...}) or extra_headers={...}, and extra_query={...} or a query string in base_url"
        )
    body = params.get("extra_body") or {}
    nested = sorted(set(_SDK_EXTRAS).intersection(body))
    if nested:
        raise InputError(f"extra_body holds {', '.join(nested)}: pass it beside extra_body, not inside it")
    return {**rest, **body}, dict(params.get("extra_headers") or {}), params.get("extra_query") or {}


def _merged_query(query: str, extra: Mapping[str, Any]) -> str:
    """base_url's query string with `extra_query` merged in by key, extra_query's value winning (the SDK merges the
    two mappings): Azure's `?api-version=` given in both goes out once. base_url's other parts stay as written."""
    if not extra:
        return query
    kept = [part for part in query.split("&") if part and unquote_plus(part.partition("=")[0]) not in extra]
    return "&".join([*kept, urlencode(extra, doseq=True)])


_NUMBER_PARAMS = ("temperature", "top_p", "presence_penalty", "frequency_penalty", "repetition_penalty", "min_p")
"""Sampling params that are numbers in the OpenAI API's reference and the servers that extend it (vLLM, llama.cpp):
a string or bool there is the caller's typo, refused here rather than as a 400 mid-run."""


def _check_params(params: dict[str, Any]) -> None:
    reserved = sorted(_RESERVED_PARAMS.intersection(params))
    if reserved:
        raise InputError(f"OpenAICompatibleLM sets {', '.join(reserved)} itself; do not pass it as a sampling param")
    for name in _CAP_NAMES:
        value = params.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise InputError(f"{name} must be a positive integer, got {value!r}")
    for name in _NUMBER_PARAMS:
        value = params.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float) or not isfinite(value)):
            raise InputError(f"{name} must be a number, got {value!r}")
    seed = params.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise InputError(f"seed must be an integer, got {seed!r}")
    stop = params.get("stop")
    if stop is not None and not (
        isinstance(stop, str) or (isinstance(stop, list | tuple) and all(isinstance(s, str) for s in stop))
    ):
        raise InputError(f"stop must be a string or a list of strings, got {stop!r}")
    for name in ("n", "best_of"):
        if params.get(name, 1) != 1:
            raise InputError(
                f"{name}={params[name]!r}: rlmx reads one choice of each reply, while the server would generate and "
                f"bill {params[name]!r} (a budget counting one); leave {name} out"
            )


def _out_of_time(error: LMError, unwaited: float | None) -> LMError:
    """`error`, marked `out_of_time` and saying so (`unwaited_note`) when its call's next attempt was due after the
    run's time budget ends (`unwaited`: the wait not slept, seconds)."""
    if unwaited is not None:
        error.out_of_time = True
        error.args = (f"{error}{unwaited_note(unwaited)}", *error.args[1:])
    return error


def _error_body(reply: HTTPReply) -> Any:
    """An error reply's JSON body, where the reason is: a list of one object (Gemini's `[{"error": {...}}]`) is that
    object, and a gateway's wrapper around the provider's own error (OpenRouter's "Provider returned error") is the
    provider's error (`_upstream_error`)."""
    body = _one_object(reply.json_body())
    upstream = _upstream_error(body)
    return body if upstream is None else upstream


def _one_object(body: Any) -> Any:
    if isinstance(body, list) and len(body) == 1 and isinstance(body[0], dict):
        return body[0]
    return body


def _upstream_error(body: Any) -> dict[str, Any] | str | None:
    """The upstream provider's own error that a gateway wraps inside its error, else None: OpenRouter's
    `error.metadata.raw` (the provider's body as a JSON string, as an object, or its text), or an error object (or
    one as a JSON string) in the wrapper's `cause`, `error` or `details` (a Chinese gateway's "模型服务调用失败"
    with OpenAI's refusal in `error.cause`)."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None
    metadata = error.get("metadata")
    raw = metadata.get("raw") if isinstance(metadata, dict) else None
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError:
            return raw.strip() or None
    raw = _one_object(raw)
    if isinstance(raw, dict | str) and raw:
        return raw
    for key in _WRAPPED_ERROR_KEYS:
        value = error.get(key)
        if key == "details" and not isinstance(value, str):
            continue  # Azure's list of reasons beside its message: read as a list (`_listed_reasons`)
        inner = _one_object(_as_json(value))
        if isinstance(inner, dict) and any(isinstance(inner.get(k), dict | str) for k in ("error", "message")):
            return inner
    return None


_WRAPPED_ERROR_KEYS = ("cause", "error", "details")
"""Where a gateway's error holds the provider's own error object (`details`: only as JSON text), beside its own
words (`_upstream_error`)."""
_SENTENCE_KEYS = ("param", "detail", "cause", "details", "reason", "error")
"""Fields of an error that, holding a sentence rather than a field name, give the reason its `message` does not
(a one-api gateway's "Param Incorrect" with "max_tokens is too large: ... at most 131072 completion tokens" in
`param`): quoted with the message (`_body_message`)."""


def _as_json(value: Any) -> Any:
    """A JSON object or list written as a string, read; any other value as it is."""
    if isinstance(value, str) and value.lstrip().startswith(("{", "[")):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _is_sentence(value: Any) -> bool:
    """Whether an error's field holds words (a blank between them), not a field name, a code or JSON."""
    return isinstance(value, str) and not value.lstrip().startswith(("{", "[")) and _WORDS.search(value) is not None


_WORDS = re.compile(r"\w\s+\w")


def _server_message(reply: HTTPReply) -> str:
    """The server's own error message (`_body_message`). A provider's error a gateway wrapped is quoted with the
    gateway's words and the provider's name: "Provider returned error (OpenAI said: Unsupported parameter ...)"."""
    body = _one_object(reply.json_body())
    upstream = _upstream_error(body)
    if upstream is None:
        return _body_message(body, reply.status)
    error = body["error"]
    metadata = error.get("metadata")
    if not isinstance(error.get("message"), str) and not isinstance(metadata, dict):
        return _body_message(upstream, reply.status)  # an error wrapping another, with no words of its own
    gateway = error.get("message") if isinstance(error.get("message"), str) else "the provider failed"
    provider = metadata.get("provider_name") if isinstance(metadata, dict) else None
    who = provider.strip() if isinstance(provider, str) and provider.strip() else "the provider"
    return f"{gateway} ({who} said: {_body_message(upstream, reply.status)})"


def _body_message(body: Any, status: int) -> str:
    """An error body's own message when it has one (OpenAI's `error.message`, a bare `message`, or a validation
    error's `detail` list), else the body itself, else the status."""
    if isinstance(body, dict):
        error = body.get("error")
        message = error.get("message") if isinstance(error, dict) else body.get("message") or body.get("error_msg")
        message = message or (error if isinstance(error, str) else None)  # LM Studio, Ollama: {"error": "..."}
        message = _nested_message(message or (error if isinstance(error, dict) else None))
        # the reason in a list beside or instead of the message: Azure AI inference's `error.details`, a FastAPI
        # validation error's `detail`, Cloudflare's `errors`
        listed = _listed_reasons(error.get("details") if isinstance(error, dict) else None)
        listed = listed or _listed_reasons(body.get("detail")) or _listed_reasons(body.get("errors"))
        # the reason in words beside a bare message: a gateway's "Param Incorrect" with the sentence in `param`
        holder = error if isinstance(error, dict) else body
        listed = listed or _listed_reasons(holder.get("param"))  # Vercel's zod issues in `param`
        param = holder.get("param")
        param = param if isinstance(param, str) and param and not _is_sentence(param) else None
        if param is not None and isinstance(message, str) and message and param.removeprefix("body.") not in message:
            message = f"{message} (param: {param})"  # "Invalid input" naming no field: say which it was
        worded = [holder[key].strip() for key in _SENTENCE_KEYS if _is_sentence(holder.get(key))]
        listed = "; ".join(
            [*([listed] if listed else []), *(text for text in worded if text != message and text != listed)]
        )
        if isinstance(message, str) and message:
            return f"{message} ({listed})" if listed and listed != message else message  # (a list read twice)
        if listed:
            return listed
        detail = body.get("detail")
        if isinstance(detail, str) and detail:
            return detail
        return graphemes.head(json.dumps(body, ensure_ascii=False), 500)  # a provider's own words, as it wrote them
    if isinstance(body, str) and body.strip():
        page = _page_text(body)
        return graphemes.head(body.strip(), 500) if page is None else f"{HTML_PAGE}: {page}"
    return f"HTTP {status} with an empty body"


def _nested_message(message: Any) -> str | None:
    """A message that is itself an error: an object (Mistral's 422 puts pydantic's `{"detail": [...]}` in `message`;
    an `error` object holding only `detail`), a list of reasons, or either as a JSON string, read as one line; a
    plain text as it is; None when it says nothing readable."""
    if isinstance(message, str):
        if not message.lstrip().startswith(("{", "[")):
            return message or None
        try:
            return _nested_message(json.loads(message)) or message
        except json.JSONDecodeError:
            return message
    if isinstance(message, list):
        return _listed_reasons(message) or None
    if isinstance(message, dict):
        inner = next((message[key] for key in ("message", "msg", "detail", "error") if message.get(key)), None)
        return None if inner is None or inner is message else _nested_message(inner)
    return None


def _listed_reasons(items: Any) -> str:
    """A list of error objects as one line: each one's `loc` or `path` (a validation error's field: pydantic's, zod's)
    and `msg`/`message`."""
    if not isinstance(items, list):
        return ""
    said = []
    for item in items:
        if isinstance(item, dict):
            place = item.get("loc", item.get("path"))
            where = ".".join(str(part) for part in place) if isinstance(place, list) else str(place or "")
            text = item.get("msg") or item.get("message") or ""
            said.append(f"{where}: {text}" if where else str(text))
    return "; ".join(part for part in said if part)


HTML_PAGE = "an HTML page, not an API's reply"
_REFUSED_ACCESS = "the server or a proxy in front of it refused access: check the API key, and any login a proxy needs"
_GATEWAY_DOWN = (
    "a proxy or gateway in front of the model server got no valid reply from it: the model server is down, "
    "restarting or crashed"
)
_GATEWAY_TIMEOUT = "a proxy or gateway in front of the model server timed out waiting for its reply"
_PAGE_STATUS = {
    401: _REFUSED_ACCESS,
    403: _REFUSED_ACCESS,
    408: "the server or a proxy in front of it gave up waiting for the request",
    413: "the request is larger than the server, or a proxy in front of it, accepts (nginx's client_max_body_size): "
    "raise that limit, or send less text per call",
    502: _GATEWAY_DOWN,
    503: "the server, or a proxy in front of it, is unavailable for now: overloaded, starting, or down for maintenance",
    504: _GATEWAY_TIMEOUT,
    520: _GATEWAY_DOWN,  # 520-524: Cloudflare's own pages about the server behind it
    521: _GATEWAY_DOWN,
    522: _GATEWAY_TIMEOUT,
    523: _GATEWAY_DOWN,
    524: _GATEWAY_TIMEOUT,
}
"""What an HTML error page's status means, said after the page's text: a proxy or web server answered."""


def _what_the_page_means(status: int) -> str | None:
    """What to tell of an HTML error page: a plain web server at base_url (it takes no POST there: 405, 501) means
    base_url is not the API's root; other statuses mean what they say (a 404 has its own advice)."""
    if status in (405, 501) or status < 300:  # (a 2xx page: `_web_page`, a web app's own page at base_url)
        return "check that base_url is the root of an OpenAI-compatible API, usually ending in /v1"
    if status in _PAGE_STATUS:
        return _PAGE_STATUS[status]
    return "the server or a proxy in front of it failed" if status >= 500 else None


_HTML = re.compile(r"\s*<(?:!doctype\s+html|html|head|body|title)\b", re.IGNORECASE)
_JSON_START = re.compile(rb"(?:\xef\xbb\xbf)?[ \t\r\n]*[{\[]")
"""A body whose first character is that of a JSON object or array (after a UTF-8 BOM and blanks), in any charset
that keeps ASCII's bytes: it is no HTML page."""


_PASSING_PAGE = re.compile(
    r"\b5\d\d\b|gateway|unavailable|overload|maintenance|try again|timed? ?out|too many requests|rate limit",
    re.IGNORECASE,
)
"""Words of a proxy's page about a passing fault ("502 Bad Gateway"), which may come with a 200 too."""


def _stopped_here(completion: Completion, stop: Any) -> Completion:
    """The reply cut where the first of the caller's stop sequences begins, as a server applying `stop` would have
    cut it (the sequence itself left out, finish_reason "stop"): the server refused `stop` and it was left out
    of the request, so rlmx applies it to the text instead of handing back more than was asked for."""
    sequences = (
        [stop] if isinstance(stop, str) else [s for s in stop if isinstance(s, str)] if isinstance(stop, list) else []
    )
    found = [at for at in (completion.text.find(s) for s in sequences if s) if at >= 0]
    if not found:
        return completion
    return dataclasses.replace(completion, text=completion.text[: min(found)], finish_reason="stop")


def _web_page(reply: HTTPReply) -> bool:
    """Whether a success reply is a web page (an HTML document: a web app's index.html at base_url, a web server's
    bare `<html><body>OK</body></html>`), not an API's reply nor a proxy's page about a passing fault (which asking
    again may cure)."""
    if _JSON_START.match(reply.body):  # a page starts with markup (`_HTML`): a reply is not read twice to say so
        return False
    body = reply.json_body()
    if not isinstance(body, str) or re.search(r"<(?:head|body)\b", body, re.IGNORECASE) is None:
        return False
    page = _page_text(body)
    return page is not None and _PASSING_PAGE.search(page) is None


def _page_text(body: str) -> str | None:
    """An HTML error page's visible text on one line, cut to 300 characters (a web server or proxy answered, not
    the API), else None."""
    if not _HTML.match(body):
        return None
    from rlmx.documents.structured import visible_text  # only here: an error page

    title = _TITLE.search(body)  # a web app's page shows no text before its scripts run: its title says what it is
    text = " ".join(visible_text(body).split()) or (" ".join(visible_text(title.group(1)).split()) if title else "")
    return graphemes.head(text or "(no text)", 300)


_TITLE = re.compile(r"<title\b[^>]*>(.*?)</title\s*>", re.IGNORECASE | re.DOTALL)
