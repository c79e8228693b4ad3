"""The one place where what an OpenAI-compatible server sends becomes a Completion.

Servers differ: `content` may be a string, null, or a list of parts (text, thinking, refusal); reasoning may come
as `reasoning_content`, `reasoning`, thinking parts or a leading `<think>` block; `usage` may be missing or hold
null counts. Every field is type-checked here. A body that is not a chat completion, or a reply with no text,
raises LMBadResponse (with the billed usage when known); nothing malformed travels further into the engine.
Such an error is worth asking again unless the server's own words say it would be said again (`error_kind`, read
for error statuses too); a stream is read as the whole reply it adds up to, in every shape a whole reply comes in.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from typing import Any, Literal

from rlmx.documents.text import LINE_ENDS
from rlmx.errors import LMBadResponse
from rlmx.lm.base import CAP_REACHED, CONTENT_FILTERED, Completion, Usage, token_bound
from rlmx.lm.body_text import body_text
from rlmx.lm.prices import MEDIA
from rlmx.protocol import split_thoughts_counted, without_stray_open
from rlmx.sandbox import graphemes
from rlmx.sandbox.frames import encodable

_TEXT_PARTS = frozenset({"text", "output_text"})
_REASONING_PARTS = frozenset({"thinking", "reasoning", "reasoning_text", "reasoning_content"})
_REASONING_FIELDS = ("reasoning_content", "reasoning", "thinking")
_IMAGE_PARTS = frozenset({"image_url", "image", "output_image"})
"""Content part types that carry an image: a generated one makes the reply's output priced as media."""
_INTERRUPTED = frozenset({"error", "insufficient_system_resource", "abort", "aborted", "cancelled", "network_error"})
"""finish_reason values meaning the server broke off the reply (OpenRouter's "error", DeepSeek's
"insufficient_system_resource", vLLM's "abort"): the text is partial, the call worth one more try."""
_SHOWN = 300
"""Characters of a malformed body quoted in the error."""

ErrorKind = Literal["address", "access", "request"]
CHECK_THE_ADDRESS = (
    "check that base_url is the API's root, usually ending in /v1, and that the model name is one the server serves"
)
"""The advice for an error that says the request went to no API or named no model the server has (a 404 at a wrong
base_url, LM Studio's HTTP 200 "Unexpected endpoint or method")."""
# Each kind of error asking again does not cure, by the words servers use for it (in the message, or in the error's
# type or code). Words of a passing fault are read first: "rate limit for this API key" is no bad key.
_PASSING = re.compile(
    r"rate[ _-]?limit|too many requests|overload|capacity|temporar|try again|retry|timed? ?out|timeout|unavailable|"
    r"busy|disconnect|interrupt|abort|cancel|internal[ _](?:server[ _])?error|server[ _]error|connection|upstream",
    re.IGNORECASE,
)
_WRONG_ADDRESS = re.compile(
    r"unexpected endpoint|(?:unknown|invalid|unsupported) (?:endpoint|route|path|url)\b|could not route|"
    r"\bno (?:such |matching )?(?:route|endpoint|handler|path)\b|cannot (?:post|get) /|method not allowed|"
    r"(?:page|path|endpoint|route|url) not found|^\W*(?:404\W*)?not found\W*$|not_found|"
    r"\bmodel\b[^.]{0,80}?(?:not found|does not exist|no such)|(?:unknown|invalid|no such) model",
    re.IGNORECASE | re.MULTILINE,  # a whole line: a message, type or code (`_error_words`)
)
_NO_ACCESS = re.compile(
    r"unauthori[sz]ed|unauthenticated|authenticat|forbidden|permission|access denied|api[ _-]?key|credential|"
    r"invalid[ _](?:token|key)|login fail|quota|insufficient[ _](?:balance|credit|funds)|billing|payment",
    re.IGNORECASE,
)
_INVALID_REQUEST = re.compile(
    r"invalid[ _](?:request|argument|param|value|json|body|input)|bad[ _]?request|validation|unsupported|"
    r"not supported|unrecognized|unknown (?:param|field|name|argument)|extra (?:inputs|fields)|"
    r"missing (?:required|field)|context[ _]length|maximum context|too long|must be",
    re.IGNORECASE,
)
_PASSING_STATUSES = frozenset({408, 409, 425, 429})


def error_kind(error: Any) -> ErrorKind | None:
    """What a server's error (its text, or an error object: message, type and code read) says is wrong, when it is
    something asking again cannot cure: "address" (a path, endpoint or method the server does not serve, or a model
    it does not have: base_url or the model name is off), "access" (the key, the account or its credit), "request"
    (the request itself is invalid); None for an error that may pass (overload, a timeout, a provider failing
    mid-reply) or that says nothing known. The one reading of an error's words, whatever its HTTP status."""
    words = _error_words(error)
    status = _error_status(error)
    if _PASSING.search(words) or (status is not None and (status in _PASSING_STATUSES or status >= 500)):
        return None
    if _WRONG_ADDRESS.search(words):
        return "address"
    if _NO_ACCESS.search(words):
        return "access"
    if _INVALID_REQUEST.search(words) or (status is not None and 400 <= status < 500):
        return "request"
    return None


def _error_words(error: Any) -> str:
    """An error's words on lines of their own: a string, or an object's message, type and code (nested once)."""
    if isinstance(error, str):
        return error.strip()
    if not isinstance(error, dict):
        return ""
    names = ("message", "msg", "detail", "status_msg", "error_msg", "type", "error_type", "code", "error")
    said = [
        _error_words(error[name]) if isinstance(error.get(name), dict) else str(error.get(name) or "") for name in names
    ]
    return "\n".join(part for part in said if part)


_POLICY_REFUSAL = re.compile(
    r"content[ _]?(?:management |filtering )?polic|content[ _]?filter|usage polic|responsibleaipolicyviolation"
    r"|\binvalid_prompt\b|data_inspection_failed|content exists risk|considered (?:as )?high risk"
    r"|inappropriate content|requires moderation|moderation (?:flagged|blocked|refused)"
    r"|\b(?:input|prompt|content|message|text|output)s? (?:was|were|has been|have been|is|are) "
    r"(?:flagged|blocked|filtered)\b|\brequest (?:was|has been|is) flagged\b|敏感内容|不安全",
    re.IGNORECASE,
)
"""A server's words (or code) for a content filter or moderation that refused the prompt or the reply: Azure's
`content_filter` / ResponsibleAIPolicyViolation, OpenAI's `invalid_prompt` ("flagged as potentially violating our
usage policy"), OpenRouter's moderation ("Your input was flagged for ..."), DeepSeek's "Content Exists Risk", Kimi's
"considered high risk", DashScope's `data_inspection_failed`, Zhipu's 1301 (不安全或敏感内容), LiteLLM's
ContentPolicyViolationError."""


def withheld_by_policy(error: Any) -> bool:
    """Whether a server's error (its text, or an error object: message, type, code and Azure's `innererror`) says a
    content filter or moderation refused the prompt or the reply: the LM works and withholds this answer
    (`LMBadResponse.withheld`), whatever the HTTP status it came with. Only an API's JSON error object counts: a
    body that is not JSON (an HTML page, plain text) comes from something in front of the API, such as a web
    filter's block page "blocked due to your organization's content filtering policy", which no model ever saw,
    and is a failure to reach the LM (audit 84b V03: taken for the model's filter, a run whose every sub-call was
    blocked finished)."""
    if not isinstance(error, dict):
        return False
    words = _error_words(error)
    inner = error.get("innererror", error.get("inner_error"))
    words += "\n" + _error_words(inner) if isinstance(inner, dict) else ""
    nested = error.get("error")
    if isinstance(nested, dict) and isinstance(nested.get("innererror"), dict):
        words += "\n" + _error_words(nested["innererror"])
    return _POLICY_REFUSAL.search(words) is not None


def _error_status(error: Any) -> int | None:
    """The HTTP status an error object names as its `code` or `status` (OpenRouter, vLLM, Azure), else None."""
    for name in ("code", "status", "status_code", "statusCode"):
        value = _count(error.get(name)) if isinstance(error, dict) else None
        if value is not None and 400 <= value < 600:
            return value
    return None


def _advised(said: str, kind: ErrorKind | None) -> str:
    """A server's error as quoted, with the advice its kind has (a wrong address: CHECK_THE_ADDRESS)."""
    return f"{said} ({CHECK_THE_ADDRESS})" if kind == "address" else said


def parse_body(raw: bytes, *, status: int, content_type: str) -> dict[str, Any]:
    """A response body as a JSON object, or LMBadResponse (retryable: the server sent something else).

    A server-sent-events stream (some proxies stream even when asked not to) is joined into one completion.
    """
    if "text/event-stream" in content_type or raw.lstrip().removeprefix(_UTF8_BOM).startswith(b"data:"):
        joined = _join_stream(raw)
        if joined is not None:
            return joined
    try:
        data = _first_json_value(raw, content_type)
    except json.JSONDecodeError:
        lines = _json_lines(raw, content_type)
        if lines is not None:  # chat chunks without SSE framing are a stream; another API's lines are named
            joined = _join_stream(lines, framing="JSON lines (one object a line, not SSE)")
            if joined is not None:
                return joined
        # Cut as text, not bytes: a byte cut can split a UTF-8 sequence (shown as U+FFFD). At most 4 bytes a code
        # point, so this slice decodes to more than _SHOWN whole ones.
        shown = graphemes.head(raw[: 4 * _SHOWN + 64].decode("utf-8", "replace"), _SHOWN)
        raise LMBadResponse(
            f"the server sent a body that is not JSON (HTTP {status}, content-type {content_type or 'none'}): "
            f"{shown!r}",
            retryable=True,
        ) from None
    if isinstance(data, list) and data and all(isinstance(item, dict) for item in data):
        # a JSON array of objects: chat chunks (a stream sent as one array), or another API's reply (TGI's and
        # Hugging Face's `[{"generated_text"}]`, Gemini's streamGenerateContent without alt=sse)
        joined = _join_stream(data, framing="a JSON array")
        if joined is not None:
            return joined
    if not isinstance(data, dict):
        raise LMBadResponse(f"the server sent JSON {type(data).__name__}, not a chat completion object", retryable=True)
    return data


def _json_lines(raw: bytes, content_type: str) -> list[Any] | None:
    """The objects of a JSON-lines body (NDJSON: one JSON object a line, as Ollama's native API streams, or a
    proxy that strips a chat stream's `data:` framing), else None. Read only for a body that is not one JSON
    value."""
    objects: list[Any] = []
    for line in LINE_ENDS.split(body_text(raw, content_type)):
        if not line.strip() or line.startswith(":") or line.strip() == "[DONE]":
            continue  # a keep-alive comment or the end marker a stripped SSE stream keeps
        try:
            value = json.loads(line)
        except json.JSONDecodeError:
            return None
        if not isinstance(value, dict):
            return None
        objects.append(value)
    return objects if len(objects) > 1 else None


_UTF8_BOM = b"\xef\xbb\xbf"


def _first_json_value(raw: bytes, content_type: str = "") -> Any:
    """The JSON value a body starts with (text as `body_text` reads it); what follows the value is ignored when it is
    only padding or a stray end-of-stream line (`data: [DONE]`, NUL bytes) that some proxies append. Raises
    json.JSONDecodeError."""
    text = body_text(raw, content_type)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        try:
            value, end = json.JSONDecoder().raw_decode(text.lstrip())
        except json.JSONDecodeError:
            raise exc from None
        rest = text.lstrip()[end:].strip(" \t\r\n\x00")
        if rest and rest not in ("data: [DONE]", "[DONE]"):
            raise exc from None
        return value


def _events(raw: bytes) -> list[str | tuple[str, str]]:
    """The data of each server-sent event of `raw`, and as ("error", text) the data of an event typed `error`
    (`event: error`, as SSE names an event's type) and llama.cpp's `error:` lines. SSE joins an event's `data:` lines
    with newlines (a JSON chunk may span several); servers that leave out the blank line between events put one
    chunk on each line, so lines whose join is not JSON stay events of their own."""
    events: list[str | tuple[str, str]] = []
    lines: list[str] = []
    kind = ""  # the event's type, from its `event:` line: kept until the blank line that ends the event

    def flush() -> None:
        nonlocal kind
        joined = "\n".join(lines)
        if kind == "error" and lines:
            events.append(("error", joined))
        elif len(lines) > 1 and not _is_json(joined):
            events.extend(lines)
        elif lines:
            events.append(joined)
        lines.clear()
        kind = ""

    # The event-stream grammar (WHATWG HTML, "Parsing an event stream"): one leading BOM is ignored, and a line ends
    # in CRLF, LF or CR alone (LINE_ENDS: U+2028 in a delta is text).
    for line in LINE_ENDS.split(raw.decode("utf-8", "replace").removeprefix("\ufeff")):
        if line.startswith("data:"):
            lines.append(line[6:] if line.startswith("data: ") else line[5:])
        elif line.startswith("error:"):
            flush()
            events.append(("error", line[6:]))
        elif line.startswith("event:"):
            kind = line[6:].strip()
        elif not line.strip():
            flush()
    flush()
    return events


UNFINISHED_STREAM = "event stream ended before the reply did (no finish_reason, no [DONE])"
"""What a joined stream says as its `error` (this very object) when it ended without saying it was done."""


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except json.JSONDecodeError:
        return False
    return True


def _chunk_usage(chunk: dict[str, Any]) -> Any:
    """A chunk's usage, where servers put it: top level, Groq's `x_groq.usage`, Moonshot's `choices[0].usage`, or
    Ollama's own counts beside the choices (`_loose_counts`)."""
    if chunk.get("usage"):
        return chunk["usage"]
    vendor = chunk.get("x_groq")
    if isinstance(vendor, dict) and vendor.get("usage"):
        return vendor["usage"]
    choices = chunk.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], dict) and choices[0].get("usage"):
        return choices[0]["usage"]
    return _loose_counts(chunk)


_OLLAMA_COUNTS = ("prompt_eval_count", "eval_count")
"""Ollama's own names for the prompt's and the reply's counts."""


def _loose_counts(body: dict[str, Any]) -> dict[str, Any] | None:
    """Ollama's counts at the top of a reply or of its last chunk, with no `usage` object (Ollama-to-OpenAI adapters
    that pass its fields through): read as a usage object, else the call would be booked at its bounds."""
    if "eval_count" not in body and "prompt_eval_count" not in body:
        return None
    return {name: body[name] for name in _OLLAMA_COUNTS if name in body}


def _reported_usage(data: dict[str, Any]) -> Any:
    """A whole reply's usage: its `usage` object, or Ollama's counts at its top (`_loose_counts`)."""
    usage = data.get("usage")
    return usage or _loose_counts(data) or usage


def _join_stream(raw: bytes | list[Any], *, framing: str = "an event stream") -> dict[str, Any] | None:
    """The chat.completion that a stream of chat.completion.chunk events adds up to; None if it is not one. `raw`
    is a server-sent-events body, or the chunks already parsed (JSON lines, a JSON array: `framing` names which).
    A stream of another API's events or objects (`_foreign_shape`) and no chat chunk raises LMBadResponse, not
    retryable: the same address sends the same shape again."""
    pieces = _Pieces()
    foreign: str | None = None
    chat = False
    finish: Any = None
    usage: Any = None
    model: Any = None
    tier: Any = None
    error: Any = None
    failed: Any = None
    seen = done = interleaved = False
    taken: list[dict[str, Any]] = []
    numbered: set[Any] = set()
    last: Any = None
    for data in _events(raw) if isinstance(raw, bytes) else raw:
        if isinstance(data, dict):  # parsed already
            chunk = data
        elif isinstance(data, tuple):  # an event typed `error`, or llama.cpp's `error` field of its own
            said = _json_or_text(data[1])
            if isinstance(said, dict) and "error" in said:  # {"error": {...}} or {"type": "error", "error": ...}
                said = said["error"]
            error = _said_error(said) or error
            continue
        elif data.strip() == "[DONE]":
            done = True
            continue
        elif not data.lstrip().startswith(("{", "[")):
            # No chunk: a keep-alive sent as data (an empty `data:`, a relayed `: OPENROUTER PROCESSING`, `""`).
            # A stream of nothing else is still no reply (`seen` stays False).
            continue
        else:
            try:
                chunk = json.loads(data)
            except json.JSONDecodeError:  # a chunk garbled or cut: the reply cannot be trusted
                return None
            if not isinstance(chunk, dict):
                return None
        seen = True
        if "choices" in chunk:
            chat = True
        elif foreign is None:  # only a chunk without choices is looked at: a chat stream's cost stays the same
            foreign = _foreign_shape(chunk)
        # OpenRouter: a provider failed mid-stream (the usage so far still counts); vLLM: an error object as a chunk
        error = _said_error(chunk.get("error")) or (chunk if chunk.get("object") == "error" else None) or error
        model = model or chunk.get("model")
        tier = chunk.get("service_tier") or tier  # the tier billed: every chunk says it, or the last one
        usage = _chunk_usage(chunk) or usage
        for choice in _reply_choices(chunk.get("choices")):
            taken.append(choice)
            index = choice.get("index")
            if not isinstance(index, int | str) or not _says_something(choice):  # a closing chunk is no turn
                continue
            interleaved = interleaved or (index in numbered and index != last)
            last = index
            numbered.add(index)
    if interleaved:
        # A chunk's only choice is the reply's whatever its index (TGI numbers tokens, always upwards); an index
        # that comes back after another means several choices take turns (a gateway's own `n`): only the first
        # choice is the reply, the one numbered 0 (or the lowest number, when none is 0).
        first = min(numbered, key=lambda index: (str(index) != "0", int(index) if str(index).isdigit() else 1 << 30))
        taken = [choice for choice in taken if choice.get("index") in (first, str(first), None)]
    for choice in taken:
        pieces.add(choice)
        finish = _finish_reason(choice.get("finish_reason")) or finish
        failed = _said_error(choice.get("error")) or failed  # the choice's own error, as a whole reply's
    if not seen:
        return None
    if foreign is not None and not chat and error is None:  # an error the stream stated is its answer
        raise _not_chat(foreign, framing)
    if not chat and not isinstance(raw, bytes):
        # JSON lines or an array of objects that are no chat chunks: not a stream rlmx knows, unless one says an
        # error (Google's `[{"error": {...}}]`), which is then the reply's
        return None if error is None else {"choices": [], "error": error}
    if error is None and finish is None and not done:
        error = UNFINISHED_STREAM
    reply: dict[str, Any] = {"index": 0, "message": pieces.message(), "finish_reason": finish}
    if failed is not None:
        reply["error"] = failed
    joined = {"model": model, "choices": [reply], "usage": usage}
    if tier is not None:
        joined["service_tier"] = tier
    return {**joined, "error": error} if error is not None else joined


def _says_something(choice: dict[str, Any]) -> bool:
    """Whether a streamed choice carries any of the reply (text, reasoning, a tool call), not only its end."""
    delta = choice.get("delta")
    if isinstance(delta, dict):
        return any(value not in (None, "", [], {}) for name, value in delta.items() if name != "role")
    return bool(choice.get("text") or choice.get("message"))


def _joined(pieces: list[str]) -> str:
    """A stream's pieces of one text, joined; or the last piece, when each piece holds all the text so far
    (DashScope's `incremental_output=false`, relayed as OpenAI chunks by gateways, one-api#856): three or more
    non-empty pieces each extending the one before, the last of `_CUMULATIVE_AT_LEAST` characters or more and not
    one character repeated, which an incremental stream of real text does not write."""
    said = [piece for piece in pieces if piece]
    if (
        len(said) >= 3
        and len(said[-1]) >= _CUMULATIVE_AT_LEAST
        and len(set(said[-1])) > 2  # "=", "==", "===": a rule drawn in tokens, not the same text resent
        and all(len(later) > len(earlier) and later.startswith(earlier) for earlier, later in itertools.pairwise(said))
    ):
        return said[-1]
    return "".join(pieces)


_CUMULATIVE_AT_LEAST = 8
"""Characters a stream's last piece holds at least before the pieces are read as cumulative: a short real reply
whose tokens happen to extend each other ("a", "ab", "abc") is joined as sent."""


class _Pieces:
    """What a stream's choices say, piece by piece, as the one message `_to_completion` reads."""

    def __init__(self) -> None:
        self.text: list[str] = []
        self.thinking: list[str] = []
        """The thinking parts of `content`: one source of reasoning (`_reasonings`)."""
        self.fields: dict[str, list[str]] = {}
        """Each reasoning field's own pieces (`reasoning_content`, `reasoning`, ...): a source each."""
        self.refusal: list[str] = []
        self.details: list[str] = []
        """OpenRouter's `reasoning_details` texts: the reasoning when no other field holds it."""
        self.transcript: list[str] = []
        """An audio reply's `audio.transcript`: the text when no content came."""
        self.audio = False
        self.images: list[Any] = []
        """OpenRouter's `delta.images`: generated images, which make the reply's output priced as media."""
        self.tools: list[dict[str, Any]] = []
        """Tool calls by their `index`, joined across deltas as a whole message's `tool_calls` are."""
        self.placed: dict[int, int] = {}
        """A server's `index` reused for a new call (every call sent as index 0) -> where that call is in `tools`."""
        self.function: dict[str, str] = {}
        """The legacy `function_call`, joined across deltas."""

    def clear(self) -> None:
        for pieces in (self.text, self.thinking, self.refusal, self.details, self.transcript):
            pieces.clear()
        self.fields.clear()
        self.images.clear()
        self.tools.clear()
        self.placed.clear()
        self.function.clear()
        self.audio = False

    def add(self, choice: dict[str, Any]) -> None:
        """One chunk's choice: its `delta`; a whole `message` (some servers send the text so far in each event,
        read afresh); a text-completion choice's `text` (as `_to_completion` reads one)."""
        delta: dict[str, Any] = choice["delta"] if isinstance(choice.get("delta"), dict) else {}
        if not delta and isinstance(choice.get("message"), dict):
            self.clear()
            delta = choice["message"]
        elif not delta and isinstance(choice.get("text"), str):
            delta = {"content": choice["text"]}
        content = delta.get("content")
        if content is not None:
            parts, thinking, refused = _content(content)
            self.text.extend(parts)
            self.thinking.extend(thinking)
            self.refusal.extend(refused)
            if isinstance(content, list):  # a generated image as a content part: priced as `images` are
                self.images.extend(_media_parts(content, _IMAGE_PARTS))
        for name in _REASONING_FIELDS:
            piece = delta.get(name)
            if isinstance(piece, str):
                self.fields.setdefault(name, []).append(piece)
        if isinstance(delta.get("refusal"), str):  # a refusal streams in pieces, as content does
            self.refusal.append(delta["refusal"])
        self.details.extend(_detail_texts(delta.get("reasoning_details")))
        audio = delta.get("audio")
        if isinstance(audio, dict):
            self.audio = True
            if isinstance(audio.get("transcript"), str):
                self.transcript.append(audio["transcript"])
        images = delta.get("images")
        if isinstance(images, list):
            self.images.extend(images)
        elif isinstance(images, dict):
            self.images.append(images)
        if isinstance(delta.get("tool_calls"), list):
            self._add_tool_calls(delta["tool_calls"])
        called = delta.get("function_call")
        if isinstance(called, dict):
            _join_call(self.function, called)

    def _add_tool_calls(self, calls: list[Any]) -> None:
        """Pieces of tool calls, each to the call its `index` names (one without an index: the last call). A piece
        starts a new call, whatever its index says, when it carries an id other than that call's, or a name while
        that call already has a name and arguments: Gemini's gateways send every call whole with no index and an
        empty id, or each as index 0 (hermes-agent#62937)."""
        for call in calls:
            if not isinstance(call, dict):
                continue
            said = call.get("index")
            server_index = said if isinstance(said, int) and not isinstance(said, bool) and said >= 0 else None
            last = max(len(self.tools) - 1, 0)
            index = last if server_index is None else self.placed.get(server_index, server_index)
            while len(self.tools) <= index:
                self.tools.append({})
            tool = self.tools[index]
            named = call.get("id")
            named = named if isinstance(named, str) and named else None
            function = call.get("function")
            name = function.get("name") if isinstance(function, dict) else None
            name = name if isinstance(name, str) and name else None
            # another id starts a call when it comes with a name or after whole arguments (a gateway minting an id
            # for every delta of one call does not split it)
            other = named is not None and tool.get("id", named) != named and (name is not None or _whole(tool))
            if other or (name is not None and _called(tool, name)):
                index = len(self.tools)  # a call of its own, at the end; later pieces of its index go to it
                if server_index is not None:
                    self.placed[server_index] = index
                tool = {}
                self.tools.append(tool)
            if named is not None and not tool.get("id"):  # the call's first id stands
                tool["id"] = named
            if isinstance(call.get("type"), str) and call["type"]:
                tool["type"] = call["type"]
            if isinstance(function, dict):
                _join_call(tool.setdefault("function", {}), function)

    def _reasoning(self) -> str:
        """Each source joined on its own across the chunks (never interleaved), then read as a whole reply's are
        (`_reasonings`): vLLM's same text under two field names, in one chunk or each in chunks of its own, once."""
        fields = [_joined(pieces) for pieces in self.fields.values()]
        return "\n".join(_reasonings([_joined(self.thinking)], fields))

    def message(self) -> dict[str, Any]:
        # content null, not "", beside a transcript: as an audio reply sends it whole
        content = _joined(self.text) if self.text or not self.transcript else None
        message: dict[str, Any] = {"role": "assistant", "content": content}
        reasoning = self._reasoning()
        if reasoning:
            message["reasoning_content"] = reasoning
        if "".join(self.refusal).strip():
            message["refusal"] = "".join(self.refusal)
        if self.details:
            message["reasoning_details"] = [{"type": "reasoning.text", "text": "".join(self.details)}]
        if self.transcript:
            message["audio"] = {"transcript": "".join(self.transcript)}
        elif self.audio:  # audio data without a transcript: still a reply that carries audio
            message["audio"] = {"transcript": None}
        if self.images:
            message["images"] = list(self.images)
        if any(self.tools):
            message["tool_calls"] = [
                {"type": "function", **tool, "function": {"name": "", "arguments": "", **_mended(tool.get("function"))}}
                for tool in self.tools
                if tool
            ]
        if self.function:
            message["function_call"] = _mended(self.function)
        return message


def _called(tool: dict[str, Any], name: str) -> bool:
    """Whether a piece carrying the function `name` starts a call after `tool`: the tool has a name and arguments,
    and another name or arguments already whole (a server repeating the name in every delta sends them in parts)."""
    had = tool.get("function", {})
    if not had.get("name") or not had.get("arguments"):
        return False
    return had["name"] != name or _whole(tool)


def _whole(tool: dict[str, Any]) -> bool:
    """Whether a call's arguments so far are a whole JSON object (parsed only when they end as one could)."""
    arguments = tool.get("function", {}).get("arguments", "")
    return arguments.rstrip().endswith("}") and _is_json(arguments)


def _mended(function: dict[str, str] | None) -> dict[str, str]:
    """A joined call's name and arguments made valid text, as joined text is (`encodable`): a JS gateway may split
    a surrogate pair's two escapes between deltas."""
    return {key: encodable(value) for key, value in (function or {}).items()}


def _join_call(joined: dict[str, str], piece: dict[str, Any]) -> None:
    """One delta's piece of a function call into the call joined so far: `arguments` are concatenated; a `name`
    repeated whole in every delta (some servers do) is kept once, one sent in pieces is joined."""
    for key in ("name", "arguments"):
        value = piece.get(key)
        if not isinstance(value, str) or not value:
            continue
        had = joined.get(key, "")
        joined[key] = had if key == "name" and had.endswith(value) else had + value


def _reasonings(parts: list[str], fields: list[str], blocks: tuple[str, ...] | list[str] = ()) -> list[str]:
    """The reasoning texts of a reply, each source read once: the thinking parts of `content`, each reasoning field
    (`_REASONING_FIELDS`) and the `<think>` blocks of the text, every source one text. A source that only repeats
    another (the same words, a start of them, or words within them) is left out: servers send the same reasoning
    under two fields (vLLM since PR #27752), as a `<think>` block and `reasoning_content` (DeepSeek-R1 templates on
    some vLLM versions), or as a Magistral thinking part and a field. Whole and streamed replies go through here."""
    return _distinct(["\n".join(p for p in parts if p.strip()), *fields, "\n".join(b for b in blocks if b.strip())])


def _distinct(texts: list[str]) -> list[str]:
    """`texts` without the empty ones and those that repeat another (the same words, a start of them, or words
    within them)."""
    kept: list[int] = []
    for index in sorted((i for i, t in enumerate(texts) if t.strip()), key=lambda i: -len(texts[i])):
        said = " ".join(texts[index].split())
        if not any(said in " ".join(texts[other].split()) for other in kept):
            kept.append(index)
    return [texts[index] for index in sorted(kept)]  # in their first order


def _detail_texts(details: Any) -> list[str]:
    """The readable reasoning of OpenRouter's `reasoning_details`: `reasoning.text` items' `text` and
    `reasoning.summary` items' `summary` (`reasoning.encrypted` items hold opaque `data`, no text)."""
    if not isinstance(details, list):
        return []
    texts: list[str] = []
    for item in details:
        if not isinstance(item, dict) or item.get("type") == "reasoning.encrypted":
            continue
        said = next((item[key] for key in ("text", "summary") if isinstance(item.get(key), str)), None)
        if said is None and isinstance(item.get("summary"), list):  # a list of summary parts
            said = "".join(p if isinstance(p, str) else _part_text(p.get("text"), 0) for p in item["summary"] if p)
        if said:
            texts.append(said)
    return texts


def _reply_choices(choices: Any) -> list[dict[str, Any]]:
    """The choices of a chunk that belong to the reply: rlmx asks for one (it refuses n > 1), so a chunk's only
    choice is the reply's whatever its `index` says (TGI 1.4 numbered them per token; null, or none at all), unless
    indices come back in turns (`_join_stream` then keeps index 0); of several in one chunk, those with index 0 (or
    none)."""
    objects = [choice for choice in choices if isinstance(choice, dict)] if isinstance(choices, list) else []
    return objects if len(objects) == 1 else [choice for choice in objects if choice.get("index", 0) == 0]


def _first_choice(choices: list[Any]) -> Any:
    """The reply's choice of a whole body: rlmx asks for one (it refuses n > 1), so the first, unless a server sent
    several (LiteLLM's emulated `n`), where it is the one numbered 0 (the list's order is not promised), as
    `_reply_choices` reads a stream's."""
    if len(choices) > 1:
        for choice in choices:
            if isinstance(choice, dict) and choice.get("index", 0) in (0, "0"):
                return choice
    return choices[0]


def _said_error(error: Any) -> Any:
    """`error` when it says something, else None: a good reply may carry an empty error object beside it
    (`{"message": "", "type": "", "code": null}` or `{}`, LiteLLM and MiniMax; BerriAI/litellm#18407)."""
    if isinstance(error, dict):
        return error if any(value not in (None, "", [], {}) for value in error.values()) else None
    if isinstance(error, str):
        return error if error.strip() else None
    return error if error not in (None, False, [], {}) else None


def _json_or_text(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text.strip()


def _error_message(error: Any) -> Any:
    """What an error object says: its `message`, else its `error` text, else the object itself."""
    if not isinstance(error, dict):
        return error
    said = error.get("message") or error.get("error")
    return said if isinstance(said, str) and said.strip() else error


def to_completion(data: dict[str, Any], *, model: str, prompt_bound: int, cap: int | None) -> Completion:
    """`_to_completion`; a body rejected as malformed still carries the usage it reported, so what the server
    billed is booked; one that reports none but holds generated text (a stream that broke off or ended in an
    error chunk, a reply beside an error) is booked at its upper bound, as a reply that timed out is."""
    try:
        return _to_completion(data, model=model, prompt_bound=prompt_bound, cap=cap)
    except LMBadResponse as exc:
        replied = data.get("model")
        exc.served = replied if isinstance(replied, str) and replied else None  # priced as a reply's would be
        reported = _reported_usage(data)
        if exc.usage is not None:
            raise
        generated = _generated_text(data)
        if not isinstance(reported, dict) and not generated:
            raise
        usage = _usage(reported, prompt_bound=prompt_bound, seen=generated, cap=cap)
        raise LMBadResponse(
            str(exc), retryable=exc.retryable, usage=usage, served=exc.served, withheld=exc.withheld
        ) from None


def _generated_text(data: dict[str, Any]) -> str:
    """The text of the first choice of a body, whatever else is wrong with it ("" when it holds none)."""
    choices = data.get("choices")
    choice = choices[0] if isinstance(choices, list) and choices and isinstance(choices[0], dict) else {}
    message = choice.get("message") if isinstance(choice.get("message"), dict) else choice.get("delta")
    content = message.get("content") if isinstance(message, dict) else choice.get("text")
    try:
        parts, reasoning, _ = _content(content)
    except LMBadResponse:
        return ""
    return "".join(parts + reasoning)


def _cap_spent_yet_stopped(finish_reason: str | None, usage: Usage, cap: int | None) -> bool:
    """Whether a reply said to have ended by itself ("stop", or no reason) spent, by the server's own count, every
    output token the cap allowed: a gateway that reports every end as "stop" hid a cut."""
    ended = finish_reason is None or finish_reason.lower() in ("stop", "end_turn", "eos")
    # exactly the cap (one more: an end-of-sequence token some servers count): a count above it means the server did
    # not hold to the cap (vLLM-Omni), or counted reasoning the cap did not bound, so nothing was cut there
    return ended and cap is not None and cap > 0 and not usage.estimated and cap <= usage.output_tokens <= cap + 1


def _to_completion(data: dict[str, Any], *, model: str, prompt_bound: int, cap: int | None) -> Completion:
    """Text, reasoning, usage and finish reason of a chat-completion body.

    `model` is the model asked for (used when the body names none); `prompt_bound` (what admission reserved for
    the prompt: `LM.count_tokens`, structured fields included) and `cap` (the output-token cap sent, if any) bound
    the usage when the server reports none. Raises LMBadResponse when the body is not a
    chat completion or holds no answer text.
    """
    error = _said_error(data.get("error"))
    if error is UNFINISHED_STREAM:  # rlmx's own finding, not the server's word; asked again, it may end
        raise LMBadResponse(f"the server's {UNFINISHED_STREAM}: a proxy in between may have cut it", retryable=True)
    if isinstance(error, str) or (error is None and data.get("object") == "error"):
        # the body is the error: vLLM's error object (sent with HTTP 200 by some proxies), LM Studio's
        # {"error": "Unexpected endpoint or method. ..."}, Express or NestJS's {"message", "error", "statusCode"}
        error = data
    if error is not None:  # with or without choices: what came with an error is not a finished reply
        kind = error_kind(error)  # LM Studio's "Unexpected endpoint or method" is said again if asked again
        said = _advised(str(_error_message(error)), kind)
        if withheld_by_policy(error):  # a filter's refusal sent as 200 (OpenRouter's moderation): the same again
            raise LMBadResponse(
                f"the server's content filter refused the request (HTTP 200 with an error): {said}",
                retryable=False,
                withheld=True,
            )
        raise LMBadResponse(f"the server answered HTTP 200 with an error: {said}", retryable=kind is None)
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices:
        blocked = _prompt_blocked(data)
        if blocked is not None:  # asked again, the same prompt is blocked again
            raise LMBadResponse(
                f"the server's content filter blocked the prompt ({blocked})", retryable=False, withheld=True
            )
        foreign = _foreign_shape(data)
        if foreign is not None:  # base_url leads to another API: the same body comes back if asked again
            raise _not_chat(foreign, "a reply")
        said = _said(data)
        kind = error_kind(said)  # FastAPI's {"detail": "Not Found"}, MiniMax's "login fail"
        raise LMBadResponse(
            f"the server's reply has no choices for model {model!r}"
            + (f"; it says: {_advised(said, kind)}" if said else ""),
            retryable=kind is None,
        )
    choice = _object(_first_choice(choices), "choices[0]")
    if "message" not in choice and isinstance(choice.get("text"), str):  # a text-completion shaped choice
        choice = {**choice, "message": {"content": choice["text"]}}
    elif "message" not in choice and isinstance(choice.get("delta"), dict):  # one whole chunk, sent unstreamed
        choice = {**choice, "message": choice["delta"]}
    # a null or absent message is an empty one: Gemini's content-filtered candidate (its finish_reason says why)
    message = {} if choice.get("message") is None else _object(choice["message"], "choices[0].message")
    finish_reason = _finish_reason(choice.get("finish_reason"))
    text, parts, refusal = _content(message.get("content"))
    audio = message.get("audio")  # a model asked for audio too: the text is the audio's transcript
    if not text and isinstance(audio, dict) and isinstance(audio.get("transcript"), str):
        text = [audio["transcript"]]
    fields = [extra for name in _REASONING_FIELDS if isinstance(extra := message.get(name), str) and extra.strip()]
    if not fields:  # OpenRouter: [{"type": "reasoning.text", "text": ...}, {"type": "reasoning.summary", ...}]
        fields = ["\n".join(_detail_texts(message.get("reasoning_details")))]  # one source
    reasoning = [*parts, *fields]
    refused = _optional_str(message.get("refusal"), "message.refusal")
    if refused:
        refusal.append(refused)
    # Joined, then made valid: a stream may split a surrogate pair's two JSON escapes between chunks (JS gateways).
    said = encodable("".join(text))
    if any(part.strip() for part in reasoning):  # the reasoning came apart: a think tag left at the start is stray
        said = without_stray_open(said, reasoning)
    answer, thoughts, overran = split_thoughts_counted(said)
    if _repeats(answer, reasoning):  # a server sent the reasoning again as content (oMLX, on a cut reply)
        answer = ""
    thought = encodable("\n".join(_reasonings(parts, fields, thoughts))) or None
    media_seen = frozenset(kind for kind, field in (("image", "images"), ("audio", "audio")) if message.get(field))
    if "image" not in media_seen and _media_parts(message.get("content"), _IMAGE_PARTS):
        media_seen |= {"image"}  # a generated image as a content part (LiteLLM's Gemini image models)
    calls = message.get("tool_calls") or message.get("function_call")
    usage = _usage(
        _reported_usage(data),
        prompt_bound=prompt_bound,
        seen=answer + (thought or "") + _calls_text(calls),  # a tool call's arguments are output tokens too
        cap=cap,
        media_seen=media_seen,
        model=str(data.get("model") or model),
    )
    if _cap_spent_yet_stopped(finish_reason, usage, cap):
        # LiteLLM's Ollama adapter (litellm#25825) and Responses bridge report "stop" for a reply cut at the cap:
        # the reported count says it was cut, so it is read as one (an open block does not run).
        finish_reason = "length"
    replied = data.get("model")
    served = replied if isinstance(replied, str) and replied else model
    failed = _said_error(choice.get("error"))  # OpenRouter: the provider behind it failed ({code, message})
    if failed is not None:
        kind = error_kind(failed)
        raise LMBadResponse(
            f"the server ended the reply with an error (finish_reason {finish_reason!r}) after "
            f"{graphemes.head(answer, 80)!r}: {_advised(str(_error_message(failed)), kind)}",
            retryable=kind is None,
            usage=usage,
        )
    if not answer.strip():
        bare = Completion(text="", usage=usage, model=served, finish_reason=finish_reason, reasoning=thought)
        _no_text(bare, refusal, calls, cap)
    if finish_reason is not None and finish_reason.lower() in _INTERRUPTED:
        raise LMBadResponse(
            f"the server ended the reply early (finish_reason {finish_reason!r}) after {graphemes.head(answer, 80)!r}",
            retryable=True,
            usage=usage,
        )
    reply = Completion(
        text=answer, usage=usage, model=served, finish_reason=finish_reason, reasoning=thought, overran_chars=overran
    )
    if finish_reason is not None and finish_reason.lower() in CONTENT_FILTERED:
        # Cut part-way: no answer for a sub-call, and not asked again (the filter would trip again). A root node
        # still acts on it as on a reply cut at the cap (`reached_cap`: a block left open does not run).
        raise LMBadResponse(
            f"{_stopped_by(finish_reason)} stopped the reply part-way (finish_reason {finish_reason!r}) after "
            f"{graphemes.tail(answer, 80)!r}: the text is incomplete",
            retryable=False,
            usage=usage,
            reasoning_only=reply,
            withheld=True,  # the LM answered; the filter withheld the rest (a root acts on `reasoning_only`)
        )
    return reply


def _calls_text(calls: Any) -> str:
    """The names and arguments of a message's `tool_calls` (or legacy `function_call`): what the model wrote in
    them, counted as output when the server reports no count."""
    said: list[str] = []
    for call in calls if isinstance(calls, list) else [calls]:
        function = call.get("function", call) if isinstance(call, dict) else None
        if isinstance(function, dict):
            for key in ("name", "arguments"):
                value = function.get(key)
                said.append(value if isinstance(value, str) else json.dumps(value) if value is not None else "")
    return "".join(said)


def _repeats(answer: str, reasoning: list[str]) -> bool:
    """Whether the answer text only repeats the reasoning (the same words, whitespace aside), as servers that
    re-send truncated thinking as `content` do (oMLX #2457, #2606): it is then reasoning, not an answer."""
    if not any(reasoning):  # most replies: no pass over the answer's text
        return False
    said = " ".join(answer.split())
    return bool(said) and any(said == " ".join(r.split()) for r in (*reasoning, "".join(reasoning)))


def _stopped_by(finish_reason: str) -> str:
    """Who a safety stop's finish_reason names: the model itself for "refusal", else a filter or guardrail."""
    return "the model refused and" if finish_reason.lower() == "refusal" else "the server's content filter"


def _prompt_blocked(data: dict[str, Any]) -> str | None:
    """Why a reply without choices says the prompt itself was blocked, if it does: Gemini's
    `promptFeedback.blockReason` (passed through by gateways, either case style), Azure's `prompt_filter_results`
    with a category `filtered`; else None."""
    feedback = data.get("promptFeedback", data.get("prompt_feedback"))
    if isinstance(feedback, dict):
        reason = feedback.get("blockReason", feedback.get("block_reason"))
        if isinstance(reason, str) and reason.strip():
            return f"blockReason {graphemes.head(reason.strip(), 80)}"
    review = data.get("base_resp")  # MiniMax's content review: 1026 (the input) or 1027 (the output) "new_sensitive"
    if isinstance(review, dict) and review.get("status_code") in (1026, 1027):
        said = review.get("status_msg")
        return f"MiniMax {review['status_code']}" + (f": {graphemes.head(said, 80)}" if isinstance(said, str) else "")
    results = data.get("prompt_filter_results")
    for result in results if isinstance(results, list) else ():
        categories = result.get("content_filter_results") if isinstance(result, dict) else None
        for name, verdict in categories.items() if isinstance(categories, dict) else ():
            if isinstance(verdict, dict) and verdict.get("filtered") is True:
                return f"{graphemes.head(name, 40)}, severity {verdict.get('severity', 'not given')}"
    return None


_ANTHROPIC_EVENTS = frozenset(
    {
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    }
)
"""Anthropic's stream events (not `ping`: Claude's OpenAI-compatible endpoint and gateways send it in chat streams)."""
_COHERE_EVENTS = frozenset(
    {
        "message-start",
        "content-start",
        "content-delta",
        "content-end",
        "message-end",
        "tool-plan-delta",
        "tool-call-start",
        "tool-call-delta",
        "tool-call-end",
        "citation-start",
        "citation-end",
        "stream-start",
        "text-generation",
        "stream-end",
    }  # the last three: Cohere v1's `event_type`
)
_OPENAI_ROOT = (
    "base_url must be the server's OpenAI-compatible root, the one /chat/completions is under (usually ending in "
    "/v1: http://host:11434/v1 for Ollama, http://host:8000/v1 for vLLM)"
)
_WHERE = {
    "Ollama's native API": " (Ollama's /api routes are not it)",
    "Google Gemini's generateContent API": " (Gemini's is https://generativelanguage.googleapis.com/v1beta/openai/)",
    "Cohere's chat API": " (Cohere's is https://api.cohere.ai/compatibility/v1)",
    "Anthropic's Messages API": " (Anthropic's is https://api.anthropic.com/v1/)",
    "Hugging Face TGI's /generate API": " (TGI's Messages API is http://host/v1)",
}
"""Where a provider whose own shape came keeps its OpenAI-compatible API."""


def _foreign_shape(body: dict[str, Any]) -> str | None:
    """The API whose reply (a whole body, or one event or line of a stream) `body` is, when it is a known one that
    is not OpenAI's chat completions: a base_url that leads to a provider's native API, or a gateway route that
    answers in another API's shape (ollama/ollama#7236, langflow-ai/langflow#2885). None for anything else (an
    error body, an unknown shape). Read only for a body or chunk without `choices`."""
    kind = body.get("type")
    named = kind if isinstance(kind, str) else ""
    output = body.get("output")
    items = isinstance(output, list) and output and all(isinstance(item, dict) and "type" in item for item in output)
    if body.get("object") == "response" or named.startswith("response.") or items:
        return "the OpenAI Responses API"  # `output[]` items, or its stream's `response.*` events
    content = body.get("content")
    if named in _ANTHROPIC_EVENTS or (isinstance(content, list) and (named == "message" or "stop_reason" in body)):
        return "Anthropic's Messages API"
    if named == "completion" and isinstance(body.get("completion"), str):
        return "Anthropic's legacy Text Completions API"
    message = body.get("message")
    if "done" in body and (isinstance(message, dict) or isinstance(body.get("response"), str)):
        return "Ollama's native API"  # /api/chat's `message`, /api/generate's `response`; `done` on every line
    if named in _COHERE_EVENTS or body.get("event_type") in _COHERE_EVENTS:
        return "Cohere's chat API"
    if isinstance(message, dict) and isinstance(message.get("content"), list):  # Cohere v2's `message.content[]`
        return "Cohere's chat API"
    if isinstance(body.get("text"), str) and "generation_id" in body:  # Cohere v1
        return "Cohere's chat API"
    if isinstance(body.get("candidates"), list):
        return "Google Gemini's generateContent API"
    if "generated_text" in body or isinstance(body.get("token"), dict):  # /generate, /generate_stream
        return "Hugging Face TGI's /generate API"
    if isinstance(output, dict) and isinstance(output.get("message"), dict):
        return "Amazon Bedrock's Converse API"
    if isinstance(content, str) and isinstance(body.get("stop"), bool):
        return "llama.cpp's native /completion API"
    return None


def _not_chat(shape: str, framing: str) -> LMBadResponse:
    """The error for a reply in another API's shape: what came, and the base_url that fixes it. Not retryable."""
    return LMBadResponse(
        f"the server sent {framing} in the shape of {shape}, not OpenAI's chat completions (chat.completion or "
        f"chat.completion.chunk objects): {_OPENAI_ROOT}{_WHERE.get(shape, '')}; not sent again, as the same "
        "address answers in the same shape",
        retryable=False,
    )


def _said(data: dict[str, Any]) -> str:
    """What a body without choices says about itself: a message under the names servers use for one (MiniMax's
    `base_resp.status_msg`, `error_msg`, FastAPI's `detail`, `message`, `msg`), else nothing."""
    for holder in (data, data.get("base_resp")):
        if isinstance(holder, dict):
            for name in ("status_msg", "error_msg", "detail", "message", "msg"):
                value = holder.get(name)
                if isinstance(value, str) and value.strip():
                    return graphemes.head(value.strip(), _SHOWN)
    errors = data.get("errors")  # Cloudflare's envelope: {"success": false, "errors": [{"code", "message"}]}
    if isinstance(errors, list):
        said = "; ".join(str(e.get("message")) for e in errors if isinstance(e, dict) and e.get("message"))
        return graphemes.head(said, _SHOWN)
    return ""


def _no_text(reply: Completion, refusal: list[str], tool_calls: Any, cap: int | None) -> None:
    """A reply without answer text (`reply`, read) is never a success when the server says why there is none. One
    that only reasoned carries itself on the error (`reasoning_only`), for a root node to tell its model."""
    finish_reason, thought, usage = reply.finish_reason, reply.reasoning, reply.usage
    spent = f" ({usage.output_tokens:,} output tokens billed)"
    if finish_reason is not None and finish_reason.lower() in CAP_REACHED:
        where = "on reasoning" if thought else "before any text"
        limit = f"its output cap of {cap:,} tokens" if cap is not None else "its output-token limit"
        raise LMBadResponse(
            f"the model spent {limit} {where} and wrote no answer{spent}: raise Budget.max_tokens_per_call "
            "(or the LM's max_tokens), or lower its reasoning effort",
            retryable=False,
            usage=usage,
            reasoning_only=reply if thought else None,
        )
    if refusal:
        said = graphemes.head(" ".join(refusal), _SHOWN)
        raise LMBadResponse(f"the model refused: {said}", retryable=False, usage=usage, withheld=True)
    if finish_reason is not None and finish_reason.lower() in CONTENT_FILTERED:
        raise LMBadResponse(
            f"{_stopped_by(finish_reason)} withheld the reply (finish_reason {finish_reason!r}){spent}",
            retryable=False,
            usage=usage,
            withheld=True,
        )
    if tool_calls:
        raise LMBadResponse(
            "the model answered with a tool call, which rlmx does not use; it needs a text reply",
            retryable=True,
            usage=usage,
        )
    if thought:
        raise LMBadResponse(
            f"the model only reasoned and wrote no answer text{spent}",
            retryable=True,
            usage=usage,
            reasoning_only=reply,
        )
    raise LMBadResponse(
        f"the server sent an empty reply (finish_reason {finish_reason!r}){spent}", retryable=True, usage=usage
    )


def _content(content: Any) -> tuple[list[str], list[str], list[str]]:
    """Text, reasoning and refusal pieces of `message.content` (a string, null, or a list of parts)."""
    if content is None:
        return [], [], []
    if isinstance(content, str):
        return [content], [], []
    if isinstance(content, dict):  # one part on its own
        content = [content]
    if not isinstance(content, list):
        raise LMBadResponse(
            f"message.content is {type(content).__name__}; expected a string, null or a list of parts",
            retryable=True,
        )
    text: list[str] = []
    reasoning: list[str] = []
    refusal: list[str] = []
    for index, part in enumerate(content):
        if isinstance(part, str):  # a few servers send bare strings as parts
            text.append(part)
            continue
        part = _object(part, f"message.content[{index}]")
        kind = part.get("type")
        if kind in _TEXT_PARTS or (kind is None and isinstance(part.get("text"), str)):  # an untyped {"text": ...}
            text.append(_part_text(part.get("text"), index))
        elif kind in _REASONING_PARTS:  # under its own type's name, "text", or a "summary" list (Databricks)
            said = next((part[key] for key in (kind, "text", "summary") if part.get(key) is not None), None)
            reasoning.append(_part_text(said, index))
        elif kind == "refusal":
            refusal.append(_part_text(part.get("refusal"), index))
        # other parts (images, audio, citations) carry no answer text
    return text, reasoning, refusal


def _media_parts(content: Any, kinds: frozenset[str]) -> list[Any]:
    """The parts of a list `content` whose type is one of `kinds` (none for a string or anything else)."""
    if not isinstance(content, list):
        return []
    return [part for part in content if isinstance(part, dict) and part.get("type") in kinds]


def _part_text(value: Any, index: int) -> str:
    """A part's text: a string, a list of nested parts holding text (Magistral's thinking parts), or an object
    with the text under "value" (Azure's annotated text)."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, dict) and isinstance(value.get("value", value.get("text")), str):
        return str(value.get("value", value.get("text")))
    if isinstance(value, list):
        return "".join(_part_text(item.get("text") if isinstance(item, dict) else item, index) for item in value)
    raise LMBadResponse(f"message.content[{index}] holds {type(value).__name__}, not text", retryable=True)


def _usage(
    raw: Any,
    *,
    prompt_bound: int,
    seen: str,
    cap: int | None,
    media_seen: frozenset[str] = frozenset(),
    model: str = "",
) -> Usage:
    """Reported counts; each one missing, null or not a count is replaced by its upper bound and flagged.

    The prompt's bound is the one admission reserved (`count_tokens`: the messages, and `tools` or a
    `response_format` schema, which providers bill as prompt too). The reply's is the cap sent when
    there was one (a server keeps to it, and reasoning it never showed may have spent all of it; the visible
    text's bytes can be several times its tokens), else the UTF-8 bytes of what came back. A count of 0 for a
    prompt, or for a reply that has text, is a count the server did not make (LocalAI), read as missing. Reported
    counts are read the way each provider means them: output tokens at least `total_tokens - prompt_tokens`
    (reasoning counted only in the total, as some gateways do), input tokens with the cache counts under
    Anthropic's names (`cache_read_input_tokens`, `cache_creation_input_tokens`) added, whichever key the prompt's
    count comes under (`_prompt_count`), and the cost with OpenRouter's `cost_details.upstream_inference_cost` (a
    bring-your-own-key call, where `cost` is the fee alone). `model` (the one that answered) tells xAI's counts,
    whose `reasoning_tokens` come on top of `completion_tokens` (`_output_count`).
    """
    reply_bound = cap if cap is not None else token_bound(seen) + 1  # + the end-of-turn token
    if not isinstance(raw, dict):
        return Usage(prompt_bound, reply_bound, None, estimated=True, unreported_output_media=_ALL_MEDIA)
    plain = _plain_usage(raw)
    prompt = _count(raw.get("prompt_tokens")) if plain else _prompt_count(raw)
    reply = _count(raw.get("completion_tokens")) if plain else _first_count(raw, _REPLY_NAMES)
    completion = reply
    total = _count(raw.get("total_tokens")) if plain else _first_count(raw, _TOTAL_NAMES)
    if not prompt:  # no prompt is 0 tokens: LocalAI and OpenVINO GenAI report 0s for counts not made
        prompt = None
        total = total or None
    if seen and not reply and not (total and prompt is not None and total > prompt):
        reply = None  # nor is a reply with text (the total may still say what it was)
    if reply is not None and prompt is not None and total is not None and total > prompt + reply:
        reply = total - prompt
    elif reply is None and prompt is not None and total is not None and total > prompt:
        reply = total - prompt  # the total says what the missing count was
    elif prompt is None and reply is not None and total is not None and total > reply:
        prompt = total - reply
    elif total is not None and prompt is None and reply is None:
        # only the sum is readable: split it output first (up to the reply's bound), as output is the dearer token at
        # every listed price, so the cost booked is an upper bound of the bill
        reply = min(reply_bound, total)
        prompt = total - reply
    if plain:  # no cache, media, reasoning or cost field to read: what the general reading below gives for them
        return Usage(
            input_tokens=prompt_bound if prompt is None else prompt,
            output_tokens=reply_bound if reply is None else reply,
            estimated=prompt is None or reply is None,
            unreported_output_media=_ALL_MEDIA,
        )
    details = raw.get("completion_tokens_details")
    if reply is not None and completion is not None:
        reply = _output_count(raw, details, completion, reply, prompt, total, model)
    return Usage(
        input_tokens=prompt_bound if prompt is None else prompt,
        output_tokens=reply_bound if reply is None else reply,
        cost_usd=_cost(raw),
        estimated=prompt is None or reply is None,
        cache_read_tokens=0 if prompt is None else min(_cached(raw, _CACHE_READ), prompt),
        cache_write_tokens=0 if prompt is None else min(_cached(raw, _CACHE_WRITE), prompt),
        cache_write_1h_tokens=0 if prompt is None else min(_cached(raw, _CACHE_WRITE_1H), _cached(raw, _CACHE_WRITE)),
        audio_input_tokens=min(
            _cached(raw, ("prompt_tokens_details.audio_tokens",)), prompt_bound if prompt is None else prompt
        ),
        audio_output_tokens=min(
            _cached(raw, ("completion_tokens_details.audio_tokens",)), reply_bound if reply is None else reply
        ),
        image_output_tokens=min(
            _cached(raw, ("completion_tokens_details.image_tokens",)), reply_bound if reply is None else reply
        ),
        unreported_output_media=_unreported_media(details, reply, media_seen),
    )


_PLAIN_COUNTS = frozenset({"prompt_tokens", "completion_tokens", "total_tokens"})
_ALL_MEDIA = frozenset(MEDIA)


def _plain_usage(raw: dict[str, Any]) -> bool:
    """Whether a usage object holds nothing but OpenAI's three counts (other fields null): what llama.cpp, vLLM and
    most local servers send. `_usage` then skips the walk over cache, media, reasoning and cost fields, which finds
    none of them (about a quarter of reading a reply, on every LM call)."""
    return raw.keys() <= _PLAIN_COUNTS or all(value is None or key in _PLAIN_COUNTS for key, value in raw.items())


# The names each count comes under, OpenAI's first; the first one holding a count is read, so a usage that gives a
# count under two names (Open WebUI sends `prompt_tokens` and `input_tokens` alike) is not counted twice. Anthropic's
# and the Responses API's names; Ollama's (`prompt_eval_count`, `eval_count`: its own API, and Open WebUI's usage for
# an Ollama model); camelCase from JS gateways (InsForge/InsForge#480: `promptTokens`; Bedrock's `inputTokens`).
_PROMPT_NAMES = ("prompt_tokens", "input_tokens", "prompt_eval_count", "promptTokens", "inputTokens")
_REPLY_NAMES = ("completion_tokens", "output_tokens", "eval_count", "completionTokens", "outputTokens")
_TOTAL_NAMES = ("total_tokens", "totalTokens")


def _first_count(raw: dict[str, Any], names: tuple[str, ...]) -> int | None:
    """The count under the first of `names` that holds one (null, absent or no count: the next is read)."""
    for name in names:
        count = _count(raw.get(name))
        if count is not None:
            return count
    return None


_ANTHROPIC_CACHE = ("cache_read_input_tokens", "cache_creation_input_tokens")
"""Cache counts under Anthropic's names: beside its `input_tokens`, which counts only the uncached input."""
_XAI_USAGE = ("num_sources_used", "cost_in_usd_ticks")
"""Fields only xAI's usage has: its `reasoning_tokens` come on top of `completion_tokens` (its docs: "counted
separately from completion_tokens, but ... in the total_tokens"; sonami-tech/omni-llm-provider#49)."""
_PERPLEXITY_USAGE = ("citation_tokens", "num_search_queries")
"""Fields only Perplexity's usage has: its top-level `reasoning_tokens` (sonar-deep-research) come on top of
`completion_tokens`, and its `total_tokens` counts neither them nor `citation_tokens` (billed as lines of their own
on its pricing page; the shape in vercel/ai's @ai-sdk/perplexity fixtures)."""


def _prompt_count(raw: dict[str, Any]) -> int | None:
    """The prompt's whole count: `prompt_tokens` (or another of `_PROMPT_NAMES`) with the cache counts it leaves out
    added.

    The shape says which those are. Counts under Anthropic's names are beside the prompt's count, never in it:
    Anthropic's own `input_tokens`, and a Claude gateway's `prompt_tokens` that is that same uncached input
    (nagobot#85: 13,780 uncached beside 10,869 read; read as included, a call was booked at 56% of its input).
    LiteLLM puts the reads and the writes into `prompt_tokens` and says so the OpenAI way too
    (`prompt_tokens_details.cached_tokens` equal to the read count; its tests hold `prompt_tokens > cached_tokens`):
    those reads are in it then, and the writes too when its `total_tokens` is prompt plus completion, as LiteLLM
    sums it (else they stay beside it: the larger reading where a gateway does not say). OpenAI's
    `prompt_tokens_details.cached_tokens`, DeepSeek's `prompt_cache_hit_tokens` and Moonshot's `cached_tokens` are
    part of the prompt's count, unless they outnumber it (Helicone's rule: then they cannot be). Perplexity's
    `citation_tokens` (the search results a sonar model read, billed at the input rate) are beside it.
    """
    prompt = _first_count(raw, _PROMPT_NAMES)
    if prompt is None:
        return None
    read, written = (_count(raw.get(name)) or 0 for name in _ANTHROPIC_CACHE)
    if read or written:
        included = read and _cached(raw, ("prompt_tokens_details.cached_tokens",)) == read and prompt > read
        if not included:
            return prompt + written + read
        # LiteLLM's `calculate_usage` adds the writes too (`prompt_tokens += cache_creation_input_tokens`, then the
        # reads) and sums `total_tokens` from prompt and completion: a total that says so marks its shape
        completion = _count(raw.get("completion_tokens"))
        summed = completion is not None and _count(raw.get("total_tokens")) == prompt + completion
        return prompt if summed and prompt >= read + written else prompt + written
    cached = _cached(raw, _CACHE_READ) + _cached(raw, _CACHE_WRITE)
    return (prompt + cached if cached > prompt else prompt) + (_count(raw.get("citation_tokens")) or 0)


def _output_count(
    raw: dict[str, Any], details: Any, completion: int, reply: int, prompt: int | None, total: int | None, model: str
) -> int:
    """The output's count with `completion_tokens_details.reasoning_tokens` (or a top-level `reasoning_tokens`) read
    the way the shape says: part of `completion_tokens` (OpenAI's meaning) when the total says the completion count
    is all the output, or on top of it: xAI's or Perplexity's usage (`_XAI_USAGE`, `_PERPLEXITY_USAGE`, or a Grok
    model), a reasoning count larger than the completion's, or a
    usage whose total does not say (none given, or no prompt count): the larger reading, which a budget can hold.
    `reply` is the output read so far (the total may have raised it); never less is returned."""
    reasoning = _count(details.get("reasoning_tokens")) if isinstance(details, dict) else None
    # Perplexity and SGLang put it at the top of usage: Perplexity's (sonar-deep-research) beside completion_tokens,
    # SGLang's within them; the rule below tells the two apart
    reasoning = reasoning or _count(raw.get("reasoning_tokens"))
    if not reasoning:
        return reply
    beside = any(name in raw for name in (*_XAI_USAGE, *_PERPLEXITY_USAGE)) or "grok" in model.lower()
    # the total holds the output: the prompt counted with the cache counts added to it or without
    said = _first_count(raw, _PROMPT_NAMES)
    stated = total is not None and total - reply in {prompt, said} - {None}
    if beside or reasoning > completion or not stated:
        return max(reply, completion + reasoning)
    return reply


def _unreported_media(details: Any, reply: int | None, media_seen: frozenset[str]) -> frozenset[str]:
    """The kinds of MEDIA whose output-token count `completion_tokens_details` leaves out: a gateway that drops the
    breakdown (or one kind of it) has not said that none of the output was images or audio. Counts that already add
    up to the whole output (`text_tokens` equal to it, as LiteLLM reports a text-only reply) leave none out, unless
    the reply carries a medium (`media_seen`: images, audio) its counts do not name (LiteLLM before PR #16912 filed
    Gemini's image tokens as text)."""
    given = details if isinstance(details, dict) else {}
    counted = {kind: _count(given.get(f"{kind}_tokens")) for kind in (*MEDIA, "text", "reasoning")}
    uncounted = any(counted.get(kind) is None for kind in media_seen)
    whole = reply is not None and reply > 0 and counted["text"] is not None and not uncounted
    if whole and sum(n or 0 for n in counted.values()) >= reply:  # type: ignore[operator]
        return frozenset()
    return frozenset(kind for kind in MEDIA if counted[kind] is None)


# Where providers report the prompt tokens read from or written to their prompt cache (all part of the prompt's
# count): Anthropic and LiteLLM at the top, OpenAI (and OpenRouter's writes) in prompt_tokens_details, DeepSeek's
# hits, Moonshot's.
_CACHE_READ = (
    "cache_read_input_tokens",
    "prompt_tokens_details.cached_tokens",
    "prompt_cache_hit_tokens",
    "cached_tokens",  # Moonshot's older replies: at the top of usage
)
_CACHE_WRITE = (
    "cache_creation_input_tokens",
    "prompt_tokens_details.cache_write_tokens",
    "prompt_tokens_details.cache_creation_tokens",  # LiteLLM's
)
_CACHE_WRITE_1H = ("cache_creation.ephemeral_1h_input_tokens",)
"""Of the writes, Anthropic's kept for an hour (`cache_control` with `ttl: "1h"`), billed at their own rate."""


def _cached(raw: dict[str, Any], paths: tuple[str, ...]) -> int:
    """The first count found at `paths` (dotted: a field of an object), 0 when none is."""
    for path in paths:
        value: Any = raw
        for name in path.split("."):
            value = value.get(name) if isinstance(value, dict) else None
        count = _count(value)
        if count is not None:
            return count
    return 0


def _cost(raw: dict[str, Any]) -> float | None:
    """The provider's own USD cost of the call, when it reports one: `cost` as a number, or as an object with its
    `total_cost` (Perplexity), OpenRouter's `cost_details.upstream_inference_cost`, and xAI's `cost_in_usd_ticks`
    (USD x 1e10, the exact charge, server-side tool calls included).

    OpenRouter's `cost` is what it charged: on a bring-your-own-key call (`is_byok: true`) only its fee, the
    upstream cost being billed to the user's own key besides; otherwise the whole charge, which the upstream cost
    repeats (adding the two booked every call twice). Without `is_byok`, an upstream cost more than twice `cost`
    marks a fee (about 5% of it), so the two are added; else the larger is the charge. A BYOK reply without the
    upstream cost does not say what the call cost: None, so the price table prices it (the fee is left out)."""
    reported = raw.get("cost")
    cost = _dollars(reported.get("total_cost") if isinstance(reported, dict) else reported)
    ticks = _dollars(raw.get("cost_in_usd_ticks"))
    if cost is None and ticks is not None:
        cost = ticks / 1e10
    details = raw.get("cost_details")
    upstream = _dollars(details.get("upstream_inference_cost")) if isinstance(details, dict) else None
    byok = raw.get("is_byok")
    if upstream is None:
        return None if byok is True else cost
    if byok is True or (byok is None and (cost is None or upstream > 2 * cost)):
        return upstream + (cost or 0.0)
    return max(upstream, cost or 0.0)


_DECIMAL = re.compile(r"\s*(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?\s*")


def _dollars(value: Any) -> float | None:
    """A cost as servers write one: a finite non-negative number, or one written in a string (some gateways quote
    their numbers, `"cost": "0.30"`: read as no cost, the run booked its price table's far lower figure and its USD
    budget stopped binding, audit 80); None for anything else."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    if isinstance(value, str) and not (value.isascii() and _DECIMAL.fullmatch(value)):
        return None
    try:
        dollars = float(value)
    except OverflowError:  # an int of hundreds of digits
        return None
    return dollars if math.isfinite(dollars) and dollars >= 0 else None


def _count(value: Any) -> int | None:
    """A token count as servers write one: an int, a whole float, or digits in a string (some gateways quote
    their numbers); None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return int(value.strip())
    if isinstance(value, int) and value >= 0:
        return value
    if isinstance(value, float) and value.is_integer() and value >= 0:
        return int(value)
    return None


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise LMBadResponse(f"{where} is {type(value).__name__}, not an object", retryable=True)
    return value


def _finish_reason(value: Any) -> str | None:
    """A choice's finish_reason; None for none, and for "null", "none" or "" written as a string (ai00_server streams
    "null" in every chunk until the last: a stream broken off after one was no finished reply)."""
    reason = _optional_str(value, "finish_reason")
    return None if reason is None or reason.strip().lower() in ("", "null", "none") else reason


def _optional_str(value: Any, where: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise LMBadResponse(f"{where} is {type(value).__name__}, not a string", retryable=True)
