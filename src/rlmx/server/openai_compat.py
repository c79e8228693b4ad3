"""The OpenAI chat.completions dialect: a request body in, one RLM call out; a Result or events in, OpenAI JSON out.

Pure values and functions, no HTTP and no running: `app.py` does the I/O. A request maps to an RLM call so:

* the query is the text of the last user message (or of the short user message just before it, when the last
  one is a file whose words ask nothing); when the last one holds only `file` parts, the last user message with
  words, or without one the rest of the conversation (its system messages), and the files are the context;
* the context is the request's extra `context` (any JSON value) and/or `contexts` (name -> value) field; without
  them, the text of the earlier system and user messages (joined by blank lines) is the context, and a
  conversation with assistant or tool turns, or with named participants, is a labelled transcript of all its
  other turns instead (`user (alice): ...`);
* with an explicit context, system messages are instructions: they go before the query; the other earlier turns
  (user, assistant, tool) are the transcript `contexts["conversation"]`, so that no message is dropped;
* a message over 20,000 characters holds a pasted document (see `pasted`; a message's text parts are its
  paragraphs there): its asking words stay where the message goes, and the document goes to the context (from
  the last user message: the context, or `contexts["pasted"]` beside one; from a system message:
  `contexts["system"]`); a name the request's own contexts use gets a number (`pasted_2`). System messages over
  20,000 characters together are documents from the longest down, until the rest is 10,000 or less;
* an extra `rlmx` field carries budget limits (`max_iterations`, `max_seconds`, `max_tokens`, `max_usd`,
  `max_depth`), and `response_format` of type `json_schema` becomes the RLM's `output` schema;
* `temperature`, `top_p` and `seed` go to every LM call; `max_tokens` / `max_completion_tokens` cap each call's
  output; what an RLM cannot honour (`tool_choice` required, `stop`, `logprobs`, penalties, `logit_bias`, `n` > 1,
  `modalities` other than text, `audio`, `web_search_options`, `prediction`) is refused, and a `model` other than
  the served one is a 404.

Bad input raises RequestError, which carries the HTTP status and the OpenAI-style error body; its message always
says what to send instead.
"""

from __future__ import annotations

import difflib
import io
import json
import math
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from rich.console import Console

from rlmx.documents import holds_no_text
from rlmx.errors import LMBadResponse, LMConnectionError, LMError, LMRateLimited, LMServerError, LMTimeout
from rlmx.events import Event
from rlmx.progress import Progress
from rlmx.prompts import host_note
from rlmx.result import Result
from rlmx.sandbox.frames import encodable, escaped
from rlmx.server.files import FileRefused, is_file_part, read_file_part
from rlmx.server.pasted import PASTED_CHARS as PASTED_CHARS  # the rule's size, for callers of this module
from rlmx.server.pasted import SHORT as INSTRUCTION_CHARS
from rlmx.server.pasted import Pasted, asks
from rlmx.server.pasted import split as split_pasted

ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
CONTEXT_ROLES = frozenset({"system", "developer", "user"})
INT_LIMITS = ("max_iterations", "max_tokens", "max_depth")
NUMBER_LIMITS = ("max_seconds", "max_usd")
LIMITS = INT_LIMITS + NUMBER_LIMITS
EXAMPLE = '{"model": "rlmx", "messages": [{"role": "user", "content": "your question"}]}'


class RequestError(Exception):
    """A request the server will not run. `status` is the HTTP status; `body()` is OpenAI's error shape."""

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = "invalid_request",
        status: int = 400,
        kind: str = "invalid_request_error",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code
        self.status = status
        self.kind = kind
        self.headers: dict[str, str] = {}
        """Extra response headers (Retry-After, X-Rlmx-Trace-Id)."""

    def body(self) -> dict[str, Any]:
        return error_body(self.message, kind=self.kind, param=self.param, code=self.code)


def error_body(message: str, *, kind: str, param: str | None = None, code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


@dataclass(frozen=True, slots=True)
class ChatCall:
    """One chat.completions request, read as an RLM call."""

    query: str
    context: Any = None
    contexts: dict[str, Any] | None = None
    output: dict[str, Any] | None = None
    """A JSON Schema the answer must match (from `response_format`)."""
    stream: bool = False
    include_usage: bool = False
    limits: dict[str, int | float] = field(default_factory=dict)
    """Budget limits asked for in the request's `rlmx` field, validated; the app decides how they apply."""
    sampling: dict[str, int | float] = field(default_factory=dict)
    """`temperature`, `top_p` and `seed` as sent: every LM call of the run gets them."""
    max_tokens_per_call: int | None = None
    """`max_tokens` / `max_completion_tokens`: a cap on each LM call's output tokens (it can only tighten)."""


# --- requests -----------------------------------------------------------------------------------------


def parse(body: object, *, model: str | None = None) -> ChatCall:
    """Read a decoded chat.completions body, or raise RequestError saying what is wrong and what to send.

    `model` is the served model name: a request naming another one gets OpenAI's 404 `model_not_found`.
    """
    if not isinstance(body, dict):
        raise RequestError(f"the request body must be a JSON object like {EXAMPLE}, not {_json_type(body)}")
    _refuse_misspelt_rlmx_fields(body)
    if model is not None:
        _check_model(body, model)
    messages = _messages(body)
    texts = [_message_text(i, m) for i, m in enumerate(messages)]
    users = [i for i, (role, _) in enumerate(texts) if role == "user"]
    if not users:
        raise RequestError(
            'no user message: the last {"role": "user", "content": "..."} message is the question to answer',
            param="messages",
            code="missing_user_message",
        )
    last = users[-1]
    if not texts[last][1].strip() and not _holds_files(messages[last]):
        raise RequestError("the last user message is empty: put the question there", param=f"messages[{last}].content")
    query, context, contexts = _query_and_contexts(messages, texts, last, *_explicit_contexts(body))
    query, context, contexts = _with_files(messages, query, context, contexts)
    stream = _optional(body, "stream", bool, "true or false") or False
    options = _optional(body, "stream_options", dict, 'an object like {"include_usage": true}') or {}
    include_usage = _optional(options, "include_usage", bool, "true or false", prefix="stream_options.") or False
    if body.get("n") is not None:
        _number(body["n"], "n", "1 (an RLM run gives one answer; send several requests for several)", fits=_is_one)
    _refuse_unsupported(body)
    return ChatCall(
        query=query,
        context=context,
        contexts=contexts,
        output=_output_schema(body),
        stream=stream,
        include_usage=include_usage and stream,
        limits=_limits(body),
        sampling=_sampling(body),
        max_tokens_per_call=_max_tokens(body),
    )


RLMX_FIELDS = ("context", "contexts", "rlmx")
"""The request fields rlmx adds to OpenAI's."""
OPENAI_FIELDS = frozenset(
    {
        "model", "messages", "stream", "stream_options", "n", "temperature", "top_p", "seed", "max_tokens",
        "max_completion_tokens", "tools", "tool_choice", "function_call", "functions", "parallel_tool_calls", "stop",
        "presence_penalty", "frequency_penalty", "logit_bias", "logprobs", "top_logprobs", "response_format",
        "user", "metadata", "store", "service_tier", "reasoning_effort", "modalities", "audio",
        "web_search_options", "prediction", "verbosity", "safety_identifier", "prompt_cache_key",
    }
)  # fmt: skip
"""OpenAI's own chat.completions fields: never taken for a misspelt rlmx field."""


def _refuse_misspelt_rlmx_fields(body: dict[str, Any]) -> None:
    """A 400 for a field that is a near miss of rlmx's own (`contxt`, `Context`, `contexts_`): ignored, as other
    unknown fields are (clients add their own, like `num_keep`), the run went ahead with no context at all."""
    for key in body:
        if key in RLMX_FIELDS or key in OPENAI_FIELDS or not isinstance(key, str):
            continue
        meant = _rlmx_field_meant(key)
        if meant is not None:
            raise RequestError(
                f"unknown field {key!r} (did you mean {meant}?): rlmx reads {', '.join(RLMX_FIELDS)} beside "
                "OpenAI's own fields",
                param=key,
                code="unknown_parameter",
            )


def _rlmx_field_meant(key: str) -> str | None:
    folded = key.lower().strip("_- ")
    if folded in ("ctx", "ctxs"):
        return "context"
    close = difflib.get_close_matches(folded, RLMX_FIELDS, n=1, cutoff=0.75)
    return close[0] if close else None


def _query_and_contexts(
    messages: list[dict[str, Any]],
    texts: list[tuple[str, str]],
    last: int,
    context: Any,
    contexts: dict[str, Any] | None,
) -> tuple[str, Any, dict[str, Any] | None]:
    """Where each message goes: the message that asks (the last user message, or the one just before a file sent
    on its own) is the query; every other one reaches the run too, in the context or (system messages beside a
    context sent apart, or before a file sent on its own after a chat's turns) in the root prompt. A message that
    holds a pasted document keeps only its asking words where it goes; the document goes to a context variable."""
    worded = _worded_user(texts, last)
    if worded is None:  # only files came from the user: the rest of the conversation says what to do with them
        asked, pasted, answered, query = None, None, {last}, ""
    else:
        asked, pasted = _question(messages, texts, worded)
        answered = {asked, worded, last}
        query = texts[asked][1] if pasted is None else pasted.asking
    # a file sent on its own after a chat's answered turns is what it asks about: those turns go along whole
    chat_before_file = asked is None and _is_chat(messages, texts, answered)
    if context is None and contexts is None and not chat_before_file:
        context = _earlier_as_context(messages, texts, answered)
        if asked is None:
            query, context = context or "", None
    else:
        instructions, contexts = _instructions(messages, texts[:last], contexts)
        query = "\n\n".join(part for part in [*instructions, query] if part)
        contexts = _with_conversation(messages, texts, answered, contexts)
    if pasted is not None:  # a document pasted with the question: it is read in the REPL, not sent every turn
        if context is None:
            context, name = pasted.document, "context"
        else:
            contexts, name = _with_context(contexts, "pasted", pasted.document)
        query = f"{query}\n\n{_pasted_note(pasted, name, 'user')}"
    return query, context, contexts


def _worded_user(texts: list[tuple[str, str]], last: int) -> int | None:
    """The user message whose words ask: the last one, or, when it holds only files (an attachment sent as its own
    message after the question), the user message with words just before them; None when there is none (a
    question before an assistant or tool turn was answered there: it does not ask about a later file)."""
    index = last
    while index >= 0 and texts[index][0] == "user" and not texts[index][1].strip():
        index -= 1
    return index if index >= 0 and texts[index][0] == "user" else None


def _holds_files(message: dict[str, Any]) -> bool:
    content = message.get("content")
    return isinstance(content, list) and any(is_file_part(part) for part in content)


def has_file_parts(body: object) -> bool:
    """Whether a request body attaches any file (reading one can be slow: a small PDF can unpack to millions of
    characters)."""
    messages = body.get("messages") if isinstance(body, dict) else None
    return isinstance(messages, list) and any(isinstance(m, dict) and _holds_files(m) for m in messages)


def _question(messages: list[dict[str, Any]], texts: list[tuple[str, str]], last: int) -> tuple[int, Pasted | None]:
    """Which message asks (its index), and the document pasted with it: the last user message, unless it is a
    document whose words do not ask while the user message just before it is short and asks (or the document has
    no words apart at all): a file sent as its own message after the question (khoj, LibreChat), which would
    otherwise be the root's query, or give it the file's last line."""
    pasted = split_pasted(_pasted_text(messages[last], texts[last][1]), must_ask=True)
    if pasted is None or pasted.asks or last == 0:
        return last, pasted
    role, before = texts[last - 1]
    short = role == "user" and bool(before.strip()) and len(before) <= INSTRUCTION_CHARS
    if short and (asks(before) or pasted.where == "none"):
        return last - 1, Pasted(before.strip(), texts[last][1], "below", asks=True)
    return last, pasted


def _earlier_as_context(messages: list[dict[str, Any]], texts: list[tuple[str, str]], answered: set[int]) -> str | None:
    """The context when none is sent apart: the earlier system and user messages, or, for a conversation with
    assistant or tool turns (a chat UI's follow-up, an agent loop's tool result) or named participants (a group
    chat), a transcript of all the turns but the `answered` ones (the question, and a file sent after it)."""
    if _is_chat(messages, texts, answered):
        return _transcript(messages, texts, skip=lambda i, role: i in answered) or None
    earlier = [text for role, text in texts[: min(answered)] if role in CONTEXT_ROLES and text.strip()]
    return "\n\n".join(earlier) if earlier else None


def _is_chat(messages: list[dict[str, Any]], texts: list[tuple[str, str]], answered: set[int]) -> bool:
    """Whether the messages besides the `answered` ones hold assistant or tool turns, or named participants."""
    others = [i for i in range(len(texts)) if i not in answered]
    return any(texts[i][0] not in CONTEXT_ROLES or _name(messages[i]) for i in others)


def _instructions(
    messages: list[dict[str, Any]], earlier: list[tuple[str, str]], contexts: dict[str, Any] | None
) -> tuple[list[str], dict[str, Any] | None]:
    """Beside a context sent apart, system messages are instructions for the root (the documents came
    separately). One that holds a document (a RAG app's retrieved passages, an attached file: see `_documents`)
    keeps its asking words; the document goes to `contexts["system"]`, read in the REPL rather than sent with
    every root turn."""
    systems = [(i, text) for i, (role, text) in enumerate(earlier) if role == "system" and text.strip()]
    documents = _documents([text for _, text in systems])
    instructions = []
    for number, (index, text) in enumerate(systems):
        if number not in documents:
            instructions.append(text.strip())
            continue
        pasted = split_pasted(_pasted_text(messages[index], text), must_ask=False, over=0)
        assert pasted is not None  # over=0: any text is taken apart
        contexts, name = _with_context(contexts, "system", pasted.document)
        instructions.append("\n\n".join(part for part in (pasted.asking, _pasted_note(pasted, name, "system")) if part))
    return instructions, contexts


def _documents(systems: list[str]) -> set[int]:
    """Which system messages hold documents: none while they are PASTED_CHARS or less together; else the longest
    ones (each over INSTRUCTION_CHARS) until the rest is PASTED_CHARS // 2 or less. So one file per system message
    goes to the REPL, and a long persona or rule set beside retrieved passages stays with the root."""
    left = sum(len(text) for text in systems)
    if left <= PASTED_CHARS:
        return set()
    documents = set()
    for index in sorted(range(len(systems)), key=lambda i: -len(systems[i])):
        if left <= PASTED_CHARS // 2 or len(systems[index]) <= INSTRUCTION_CHARS:
            break
        documents.add(index)
        left -= len(systems[index])
    return documents


def _with_conversation(
    messages: list[dict[str, Any]], texts: list[tuple[str, str]], answered: set[int], contexts: dict[str, Any] | None
) -> dict[str, Any] | None:
    """Beside a context sent apart, the turns that are neither the query (`answered`) nor instructions (earlier
    user messages, assistant and tool turns) as a transcript in `contexts["conversation"]`: none is dropped."""
    transcript = _transcript(messages, texts, skip=lambda i, role: i in answered or role == "system")
    if not transcript:
        return contexts
    return _with_context(contexts, "conversation", transcript)[0]


def _transcript(messages: list[dict[str, Any]], texts: list[tuple[str, str]], skip: Callable[[int, str], bool]) -> str:
    """The role-labelled turns (`user: ...`, `tool (weather): ...`) of the messages `skip` leaves, one paragraph
    each."""
    turns = [_turn(messages[i], role, text) for i, (role, text) in enumerate(texts) if not skip(i, role)]
    return "\n\n".join(turn for turn in turns if turn)


def _with_context(contexts: dict[str, Any] | None, name: str, value: Any) -> tuple[dict[str, Any], str]:
    """`contexts` with `value` added under `name`, or `name_2`, `name_3`... when the request's own contexts (or an
    earlier document) already use it; and the name it got."""
    taken = contexts or {}
    free, number = name, 1
    while free in taken:
        number += 1
        free = f"{name}_{number}"
    return {**taken, free: value}, free


def _pasted_note(pasted: Pasted, name: str, who: Literal["user", "system"]) -> str:
    """The words that tell the root where a pasted document went: a host note (`prompts.host_note`), which a root
    that searches the question's words (the guided root) leaves out."""
    size = f"{len(pasted.document):,} characters"
    if who == "system":
        if pasted.where == "none":
            return host_note(f"The system message is a document of {size}; it is in `{name}`.")
        if pasted.where == "with":
            return host_note(
                f"The system message holds a document of {size}; all of it, these words too, is in `{name}`."
            )
        return host_note(
            f"The system message came with a document {_WHERE[pasted.where]} these words; it is in `{name}`."
        )
    if pasted.where == "none":
        return host_note(
            f"The user pasted a document of {size} with no question apart from it; these are its first and last "
            f"lines, and all of it is in `{name}`."
        )
    if pasted.where == "with":
        return host_note(
            f"The user pasted a document of {size} with these words; all of it, these words too, is in `{name}`."
        )
    return host_note(f"The user pasted a document {_WHERE[pasted.where]} this question; it is in `{name}`.")


_WHERE = {"above": "above", "below": "below", "around": "between the parts of"}


def check_for_guided_root(call: ChatCall) -> None:
    """Refuse, as `rlmx ask` does (exit 2), what the guided root cannot do, before any run: answer without a
    context, or with only empty ones (it searches the context, so every run would spend its reads on NOT FOUND;
    a root LM that writes its own code may answer from the question alone), or match a `response_format` schema
    (it answers in plain text, so the run would fail after its work was spent)."""
    if call.output is not None:
        raise RequestError(
            "response_format json_schema needs a model that writes its own code, and this server's root is the "
            "guided one (rlmx writes the code; the answer is plain text): leave response_format out and ask for "
            "the format in the question, or serve a model that writes code (rlmx serve --model NAME --base-url URL)",
            param="response_format",
            code="unsupported_parameter",
        )
    given = {"context": call.context} if call.context is not None else {}
    given.update({f"contexts.{name}": value for name, value in (call.contexts or {}).items()})
    how = (
        "send the document in the request's `context` field (a string, a list or an object; with the OpenAI SDKs "
        '`extra_body={"context": text}`), several as `contexts` ({"name": value, ...}), or as system or user '
        "messages before the question"
    )
    if not given:
        raise RequestError(
            "no context: this server's root is the guided one (rlmx writes the code and the model reads what it "
            f"finds), which answers only from a context, and the request has none; {how}",
            param="context",
            code="missing_context",
        )
    if all(holds_no_text(value) for value in given.values()):
        raise RequestError(
            f"the context is empty ({', '.join(given)}): there is nothing to search; {how}",
            param=next(iter(given)),
            code="empty_context",
        )


def _check_model(body: dict[str, Any], served: str) -> None:
    name = body.get("model")
    if name is None:
        return  # curl users may leave it out; there is only one model here
    if not isinstance(name, str):
        raise RequestError(f"model must be a string, the served model {served!r}", param="model")
    if name != served:
        raise RequestError(
            f"The model `{name}` does not exist: this rlmx server serves one model, {served!r}; send model={served!r}",
            param="model",
            code="model_not_found",
            status=404,
        )


def _refuse_unsupported(body: dict[str, Any]) -> None:
    """Parameters an RLM cannot honour: refused with why, rather than silently ignored."""
    tools = body.get("tools")
    if tools is not None and not isinstance(tools, list):
        raise RequestError(f"tools must be a list of tools, not {_json_type(tools)}", param="tools")
    for name, choice in (("tool_choice", body.get("tool_choice")), ("function_call", body.get("function_call"))):
        if choice is None or choice in ("auto", "none"):
            continue
        raise RequestError(
            f"{name} {json.dumps(choice)} cannot be honoured: an rlmx run answers in text and never calls the "
            f'client\'s tools; leave {name} out (or "auto") and give the data as `context` instead',
            param=name,
            code="unsupported_parameter",
        )
    stop = body.get("stop")
    if stop not in (None, [], ""):
        raise RequestError(
            "stop sequences are not supported: the RLM's LM calls write code and need their whole replies, so a "
            "stop sequence would cut them; leave `stop` out and ask for the answer's format in the question",
            param="stop",
            code="unsupported_parameter",
        )
    for name in ("presence_penalty", "frequency_penalty", "logit_bias"):
        value = body.get(name)
        if name != "logit_bias" and value is not None:
            value = _number(value, name, "a number from -2 to 2 (and only 0 is supported)")
        if value not in (None, 0, {}):
            raise RequestError(
                f"{name} is not supported: it changes token sampling in ways the RLM's code-writing calls do not "
                f"survive, and it is not passed on; leave {name} out (temperature, top_p and seed are passed on)",
                param=name,
                code="unsupported_parameter",
            )
    _refuse_other_outputs(body)
    if body.get("logprobs") not in (None, False) or body.get("top_logprobs") is not None:
        param = "logprobs" if body.get("logprobs") not in (None, False) else "top_logprobs"
        raise RequestError(
            f"{param} is not supported: an RLM answer is put together from many LM calls and code, so it has no "
            "token log-probabilities; leave logprobs out",
            param=param,
            code="unsupported_parameter",
        )


OTHER_OUTPUTS = {
    "audio": "an rlmx answer is text only, with no audio",
    "web_search_options": "an rlmx run searches its context, never the web",
    "prediction": "an rlmx answer is put together from many LM calls and code, so no predicted output can be reused",
}
"""Parameters that ask for an answer rlmx cannot give, and why. None of the usual clients (the OpenAI SDKs,
LangChain, LiteLLM) sends them unless its user sets them, so refusing them breaks no default."""


def _refuse_other_outputs(body: dict[str, Any]) -> None:
    """Refuse what asks for another kind of answer than text (audio, a web search, a predicted output): accepted,
    the client would read an empty `message.audio` or an answer it believes searched, far from the cause."""
    modalities = body.get("modalities")
    if modalities is not None:
        if not isinstance(modalities, list) or not all(isinstance(kind, str) for kind in modalities):
            raise RequestError(
                f'modalities must be a list like ["text"], not {json.dumps(modalities)}', param="modalities"
            )
        if any(kind != "text" for kind in modalities):
            raise RequestError(
                f"modalities {json.dumps(modalities)} cannot be honoured: an rlmx answer is text only; leave "
                'modalities out, or send ["text"]',
                param="modalities",
                code="unsupported_parameter",
            )
    for name, why in OTHER_OUTPUTS.items():
        if body.get(name) is not None:
            raise RequestError(
                f"{name} is not supported: {why}; leave {name} out", param=name, code="unsupported_parameter"
            )


def _sampling(body: dict[str, Any]) -> dict[str, int | float]:
    sampling: dict[str, int | float] = {}
    for name, low, high in (("temperature", 0.0, 2.0), ("top_p", 0.0, 1.0)):
        value = body.get(name)
        if value is not None:
            wanted = f"a number from {low:g} to {high:g}"
            sampling[name] = _number(value, name, wanted, fits=_between(low, high))
    if body.get("seed") is not None:
        sampling["seed"] = _number(body["seed"], "seed", "a whole number", whole=True)
    return sampling


def _max_tokens(body: dict[str, Any]) -> int | None:
    caps = []
    for name in ("max_tokens", "max_completion_tokens"):
        value = body.get(name)
        if value is not None:
            caps.append(int(_number(value, name, "a whole number >= 1", whole=True, fits=_at_least_one)))
    return min(caps) if caps else None


def _messages(body: dict[str, Any]) -> list[dict[str, Any]]:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise RequestError(
            f"messages must be a non-empty list of messages, like {EXAMPLE}", param="messages", code="invalid_messages"
        )
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            raise RequestError(
                f'messages[{index}] must be an object like {{"role": "user", "content": "..."}}, '
                f"not {_json_type(message)}",
                param=f"messages[{index}]",
            )
        if message.get("role") not in ROLES:
            raise RequestError(
                f"messages[{index}].role must be one of {', '.join(sorted(ROLES))}, not {message.get('role')!r}",
                param=f"messages[{index}].role",
            )
        _check_fields(f"messages[{index}]", message)
    return messages


CALL_SHAPE = '{"id": "call_1", "type": "function", "function": {"name": "...", "arguments": "{...}"}}'


def _check_fields(where: str, message: dict[str, Any]) -> None:
    """A 400 naming the first optional field of a message (beside role and content, checked apart) that is not of
    OpenAI's type: left unread, the turn it belongs to was dropped or mangled (a `tool_calls` string made the
    assistant turn vanish, a `name` of 5 lost the participant, `arguments` sent as an object became a Python repr).
    null is as good as absent; fields OpenAI does not define are left alone, as clients add their own."""
    for name in ("name", "tool_call_id", "refusal"):
        _string(message.get(name), f"{where}.{name}", optional=True)
    audio = message.get("audio")
    if audio is not None:
        _string(_object(audio, f"{where}.audio", 'an object like {"id": "audio_..."}').get("id"), f"{where}.audio.id")
    if message.get("function_call") is not None:
        _only_on_an_assistant_turn(where, message, "function_call")
        _function(message["function_call"], f"{where}.function_call")
    calls = message.get("tool_calls")
    if calls is None:
        return
    _only_on_an_assistant_turn(where, message)
    if not isinstance(calls, list):
        raise RequestError(
            f"{where}.tool_calls must be a list of tool calls like [{CALL_SHAPE}], not {_json_type(calls)}",
            param=f"{where}.tool_calls",
        )
    for number, call in enumerate(calls):
        _tool_call(call, f"{where}.tool_calls[{number}]")


def _only_on_an_assistant_turn(where: str, message: dict[str, Any], field: str = "tool_calls") -> None:
    """A 400 for calls on a turn of another role: only an assistant's calls reach the transcript, so a user turn's
    were dropped without a word. An empty list is as good as absent."""
    if message.get("role") != "assistant" and message.get(field) != []:
        raise RequestError(
            f"{where}.{field} belongs on an assistant message (the model's calls), not a {message.get('role')} "
            f"message; move the calls to the assistant turn that made them, or drop {field}",
            param=f"{where}.{field}",
        )


def _tool_call(call: object, where: str) -> None:
    """One entry of an assistant turn's `tool_calls`: a function call, or a custom tool's (its `input` text)."""
    call = _object(call, where, f"a tool call like {CALL_SHAPE}")
    _string(call.get("id"), f"{where}.id", optional=True)
    kind = call.get("type", "function")
    if kind == "custom":
        custom = _object(call.get("custom"), f"{where}.custom", 'an object like {"name": "...", "input": "..."}')
        _string(custom.get("name"), f"{where}.custom.name")
        _string(custom.get("input"), f"{where}.custom.input")
    elif kind == "function":
        _function(call.get("function"), f"{where}.function")
    else:
        raise RequestError(
            f'{where}.type must be "function" or "custom", not {json.dumps(kind)}', param=f"{where}.type"
        )


def _function(value: object, where: str) -> None:
    """A call's `function` (or a turn's legacy `function_call`): its name, and its arguments as a JSON string."""
    function = _object(value, where, 'an object like {"name": "...", "arguments": "{...}"}')
    _string(function.get("name"), f"{where}.name")
    _string(function.get("arguments"), f"{where}.arguments", optional=True, wanted="a string (the arguments as JSON)")


def _object(value: object, param: str, wanted: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise RequestError(f"{param} must be {wanted}, not {_json_type(value)}", param=param)
    return value


def _string(value: object, param: str, *, optional: bool = False, wanted: str = "a string") -> None:
    if not isinstance(value, str) and not (optional and value is None):
        shown = "missing" if value is None else f"{_json_type(value)} {json.dumps(value)[:80]}"
        raise RequestError(f"{param} must be {wanted}, not {shown}", param=param)


def _turn(message: dict[str, Any], role: str, text: str) -> str:
    """One turn of a transcript: `role: text`, with the participant's name (`user (alice): ...`), an assistant's
    tool calls and a tool's name written out."""
    name = _name(message)
    if role == "tool":
        name = name or str(message.get("tool_call_id") or "result")
    label = f"{role} ({name})" if name else role
    said = "\n".join(part for part in (text.strip(), *_calls(message)) if part)
    return f"{label}: {said}" if said else ""


def _calls(message: dict[str, Any]) -> list[str]:
    """An assistant turn's calls (checked by `_check_fields`), each as `[called name(arguments)]`: its tool calls,
    custom tools' with their input, and the legacy `function_call`, which was left out (a turn of only that
    vanished)."""
    if message.get("role") != "assistant":
        return []
    calls = [
        call["custom"] if call.get("type") == "custom" else call["function"] for call in message.get("tool_calls") or ()
    ]
    if message.get("function_call") is not None:
        calls.append(message["function_call"])
    return [f"[called {call['name']}({call.get('arguments', call.get('input')) or ''})]" for call in calls]


def _name(message: dict[str, Any]) -> str | None:
    """The message's `name`: which participant of its role wrote it (a group chat's users, a tool)."""
    name = message.get("name")
    return name.strip() if isinstance(name, str) and name.strip() else None


def _message_text(index: int, message: dict[str, Any]) -> tuple[str, str]:
    """(role, text) of one message; content is a string, a list of text parts, or null. An assistant turn's
    refusal (its `refusal` field, or refusal parts) is its text; `file` parts are read apart (`_with_files`)."""
    role = "system" if message["role"] == "developer" else str(message["role"])
    content = message.get("content")
    param = f"messages[{index}].content"
    if content is not None and not isinstance(content, str | list):
        raise RequestError(f"{param} must be a string or a list of text parts, not {_json_type(content)}", param=param)
    if isinstance(content, list):
        for number, part in enumerate(content):
            if _part_text(part, role) is None and not is_file_part(part):
                raise RequestError(_part_refused(f"{param}[{number}]", role), param=f"{param}[{number}]")
    if isinstance(content, list):
        text = "\n".join(said for part in content if (said := _part_text(part, role)) is not None)
    else:
        text = content or ""
    refusal = message.get("refusal") if role == "assistant" else None
    if isinstance(refusal, str) and refusal.strip() and refusal.strip() not in text:
        text = "\n".join(part for part in (text, refusal) if part)  # the turn the model declined still happened
    return role, text


def _part_text(part: object, role: str) -> str | None:
    """The text of a text part, or of an assistant's refusal part; None for any other part."""
    if not isinstance(part, dict):
        return None
    if part.get("type") == "text" and isinstance(part.get("text"), str):
        return str(part["text"])
    if role == "assistant" and part.get("type") == "refusal" and isinstance(part.get("refusal"), str):
        return str(part["refusal"])
    return None


def _part_refused(where: str, role: str) -> str:
    if role == "assistant":
        return f'{where} must be a text or refusal part like {{"type": "text", "text": "..."}}'
    return (
        f'{where} must be a text part like {{"type": "text", "text": "..."}} or a file part like {{"type": "file", '
        '"file": {"filename": "notes.txt", "file_data": "data:text/plain;base64,..."}}: rlmx serves text and '
        "documents only"
    )


def _pasted_text(message: dict[str, Any], text: str) -> str:
    """The text in which a pasted document is looked for: a message's text parts (checked by `_message_text`) are
    its paragraphs, the clearest border there is between a file and the question sent with it."""
    content = message.get("content")
    if not isinstance(content, list):
        return text
    role = str(message.get("role"))
    return "\n\n".join(said for part in content if (said := _part_text(part, role)) is not None)


def _with_files(
    messages: list[dict[str, Any]], query: str, context: Any, contexts: dict[str, Any] | None
) -> tuple[str, Any, dict[str, Any] | None]:
    """The documents of the messages' `file` parts added as contexts (`context` when it is free, else `file`,
    `file_2`...), each named in a note after the query, as a pasted document is."""
    notes = []
    for index, message in enumerate(messages):
        content = message.get("content")
        for number, part in enumerate(content if isinstance(content, list) else ()):
            if not is_file_part(part):
                continue
            param = f"messages[{index}].content[{number}]"
            try:
                filename, document = read_file_part(part)
            except FileRefused as exc:
                raise RequestError(f"{param}: {exc.message}", param=param, code=exc.code) from None
            if context is None and contexts is None:
                context, name = document.value, "context"
            else:
                contexts, name = _with_context(contexts, "file", document.value)
            notes.append(host_note(f"The user attached the file {filename!r} ({document.shape}); it is in `{name}`."))
    return "\n\n".join(part for part in [query, *notes] if part), context, contexts


def _explicit_contexts(body: dict[str, Any]) -> tuple[Any, dict[str, Any] | None]:
    context = body.get("context")
    contexts = body.get("contexts")
    if contexts is not None and not isinstance(contexts, dict):
        raise RequestError(
            'contexts must be an object of name -> value, like {"docs": "...", "table": [...]}, '
            f"not {_json_type(contexts)}; for a single value send `context` instead",
            param="contexts",
        )
    _check_document(context, "context")
    for name, value in (contexts or {}).items():
        if value is None:
            raise RequestError(f"contexts.{name} is null: send a string, a list or an object", param=f"contexts.{name}")
        _check_document(value, f"contexts.{name}")
    return context, contexts


def _check_document(value: object, param: str) -> None:
    """A context is a document: text, a list or an object. A lone number or boolean is almost always a client bug
    (a field sent in the wrong place), so it is refused rather than given to the model as a one-value context."""
    if value is None or isinstance(value, str | list | dict):
        return
    raise RequestError(
        f"{param} must be a string, a list or an object (the document to read), not {_json_type(value)} "
        f"{json.dumps(value)}: put a single value inside a list or a string",
        param=param,
    )


def _limits(body: dict[str, Any]) -> dict[str, int | float]:
    raw = _optional(body, "rlmx", dict, 'an object like {"max_iterations": 5, "max_seconds": 60}') or {}
    limits: dict[str, int | float] = {}
    for name, value in raw.items():
        param = f"rlmx.{name}"
        if name not in LIMITS:
            raise RequestError(f"unknown budget limit {param}: the known ones are {', '.join(LIMITS)}", param=param)
        if value is None:
            continue
        if name in INT_LIMITS:
            limits[name] = _number(value, param, "a whole number >= 1", whole=True, fits=_at_least_one)
        else:
            limits[name] = _number(value, param, "a positive number", fits=lambda v: 0 < v < math.inf)
    return limits


def _output_schema(body: dict[str, Any]) -> dict[str, Any] | None:
    shape = '{"type": "json_schema", "json_schema": {"name": "...", "schema": {...}}}'
    response_format = _optional(body, "response_format", dict, f"an object like {shape}")
    if response_format is None or response_format.get("type") == "text":
        return None
    if response_format.get("type") == "json_object":  # OpenAI's JSON mode: any JSON object
        return {"type": "object"}
    if response_format.get("type") != "json_schema":
        raise RequestError(
            f"response_format {json.dumps(response_format.get('type'))} is not supported: send {shape} "
            "to get an answer that matches a schema",
            param="response_format",
        )
    spec = response_format.get("json_schema")
    schema = spec.get("schema") if isinstance(spec, dict) else None
    if not isinstance(schema, dict):
        raise RequestError(
            f"response_format.json_schema.schema must be a JSON Schema object: send {shape}", param="response_format"
        )
    return schema


def _number(
    value: object, param: str, wanted: str, *, whole: bool = False, fits: Callable[[float], bool] = lambda v: True
) -> int | float:
    """`value` when it is a JSON number (a whole one when `whole`) for which `fits` holds, else a 400 saying
    "`param` must be `wanted`". The one check of every numeric field: JSON's true and false are no numbers, though
    Python's bool is an int (`"n": true` ran as n = 1, `"presence_penalty": false` passed as 0)."""
    kind = int if whole else int | float
    if isinstance(value, bool) or not isinstance(value, kind) or not fits(value):
        raise RequestError(f"{param} must be {wanted}, not {json.dumps(value)}", param=param)
    return value


def _is_one(value: float) -> bool:
    return value == 1


def _at_least_one(value: float) -> bool:
    return value >= 1


def _between(low: float, high: float) -> Callable[[float], bool]:
    return lambda value: low <= value <= high


def _optional(body: Mapping[str, Any], name: str, kind: type[Any], wanted: str, *, prefix: str = "") -> Any:
    value = body.get(name)
    if value is not None and not isinstance(value, kind):
        raise RequestError(f"{prefix}{name} must be {wanted}, not {json.dumps(value)}", param=f"{prefix}{name}")
    return value


def _json_type(value: object) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")


# --- responses ----------------------------------------------------------------------------------------


def finish_reason(result: Result) -> Literal["stop", "length"]:
    """ "stop" for a finished run; "length" when a budget ran out (the answer is the best one so far)."""
    return "stop" if result.status == "finished" else "length"


def usage(result: Result) -> dict[str, int]:
    report = result.usage
    return {
        "prompt_tokens": report.input_tokens,
        "completion_tokens": report.output_tokens,
        "total_tokens": report.input_tokens + report.output_tokens,
    }


def run_info(result: Result) -> dict[str, Any]:
    """The `rlmx` field: how the run ended and where its trace is, beyond what OpenAI's shape can say."""
    return {
        "status": result.status,
        "stop_reason": result.stop_reason,
        "answer_source": result.answer_source,
        "iterations": result.iterations,
        "run_id": result.run_id,
        "trace_id": result.run_id,
        "seconds": round(result.seconds, 3),
        "cost_usd": result.usage.total.known_cost_usd,
        "unpriced_calls": result.usage.total.unpriced_calls,
        "trace_path": None if result.trace_path is None else escaped(str(result.trace_path)),
    }


def content(result: Result, *, structured: bool) -> str:
    """The answer as `message.content`. With a `response_format` (`structured`), a run whose budget ran out before
    an answer matched the schema gives "" (its `finish_reason` is "length"), as OpenAI's structured outputs never
    give JSON that breaks the schema: clients parse `content` without checking `finish_reason`. The rejected
    answer stays in the run's trace; the Python API keeps it as `result.answer` (with `result.value` None)."""
    if structured and result.status != "finished" and result.value is None:
        return ""
    return result.answer


def completion(result: Result, *, model: str, created: int | None = None, structured: bool = False) -> dict[str, Any]:
    """A `chat.completion` object for a run that did not fail; `structured`: the request had a `response_format`
    schema (see `content`)."""
    return {
        "id": f"chatcmpl-{result.run_id}",
        "object": "chat.completion",
        "created": int(time.time()) if created is None else created,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content(result, structured=structured), "refusal": None},
                "finish_reason": finish_reason(result),
                "logprobs": None,
            }
        ],
        "usage": usage(result),
        "rlmx": run_info(result),
    }


def failure(result: Result) -> RequestError:
    """The error for a run that ended in an error, saying what failed and where to look: 500 when asking again may
    help (the model's server unreachable, slow, failing, rate-limited, or answering with something that is no chat
    completion, such as a proxy's HTML 502 page), 424 Failed Dependency when it cannot (the model's server refused
    the call: a 4xx, a refusal, a blocked prompt, another API's shape at that address): only the OpenAI SDKs read
    `x-should-retry`, and the AI SDK, LlamaIndex and DSPy (litellm) re-run every 5xx, each a whole run spent failing
    the same way."""
    trace = f"; its trace is {escaped(str(result.trace_path))}" if result.trace_path is not None else ""
    error = result.error
    status = 500
    if isinstance(error, LMConnectionError | LMTimeout | LMServerError | LMRateLimited):
        advice = "check that the server's model is reachable (rlmx serve --model/--base-url) and retry"
    elif isinstance(error, LMBadResponse) and _passing(error):
        advice = "the server's model (or a proxy before it) failed to answer; retry, and see its log if it goes on"
    elif isinstance(error, LMError):
        advice = "the server's model refused or failed the call; see the message above and the server's log"
        status = 424
    else:
        advice = "retry, and report it with the trace if it happens again"
    return RequestError(
        f"the RLM run failed: {result.stop_reason}{trace}; {advice}",
        code="rlm_run_failed",
        status=status,
        kind="server_error",
    )


def _passing(error: LMBadResponse) -> bool:
    """Whether an unusable reply is of a kind that passes (a body that is not JSON, a cut stream, an empty reply),
    so that asking again later may help: the LM says so (`retryable`), or it gave up sending the call again after
    such replies (`transient`). A refusal, a blocked prompt or another API's shape comes back the same when asked
    again."""
    return error.retryable or error.transient


def chunk(
    chunk_id: str,
    *,
    model: str,
    created: int,
    delta: dict[str, Any] | None = None,
    finish: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}]
    return {
        "id": chunk_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": choices,
        **extra,
    }


def sse(data: Mapping[str, Any] | str) -> str:
    """One Server-Sent Event; `[DONE]` is sent as is, as OpenAI does. U+2028, U+2029 and U+0085 in the JSON are
    escaped: valid there, but line ends to readers that split a stream with str.splitlines (httpx's iter_lines,
    httpx-sse#34), which then lost the chunk's text (dify#39008 escapes them too)."""
    payload = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False, default=str)
    for char, escape in _LINE_ENDS_IN_JSON:
        payload = payload.replace(char, escape)  # the same string back when it holds none
    return encodable(f"data: {payload}\n\n")  # a lone surrogate must not break the stream


_LINE_ENDS_IN_JSON = (("\u2028", "\\u2028"), ("\u2029", "\\u2029"), ("\x85", "\\u0085"))


class ProgressText:
    """The CLI's progress lines for one run, captured instead of printed: one reasoning delta per event that
    `rlmx ask` would show, so a chat UI shows the same live view as the terminal."""

    def __init__(self) -> None:
        self._buffer = io.StringIO()
        self._progress = Progress(Console(file=self._buffer, force_terminal=False, no_color=True, width=10_000))

    def __call__(self, event: Event) -> str:
        self._progress(event)
        text = self._buffer.getvalue()
        self._buffer.seek(0)
        self._buffer.truncate()
        return text


async def stream_chunks(
    first: Event | Result,
    rest: AsyncIterator[Event | Result],
    *,
    model: str,
    include_usage: bool,
    structured: bool = False,
) -> AsyncGenerator[str, None]:
    """The SSE body of a streamed run: progress as `delta.reasoning_content`, the answer as `delta.content`, the
    `finish_reason` chunk (with the `rlmx` field), the usage chunk when asked for, then `[DONE]`.

    `first` is the run's first item, already taken by the caller so that bad input is a 400 before any byte of a
    200 is sent. A failed run ends in an `error` event instead, which the OpenAI SDK raises as an APIError.
    """
    created = int(time.time())
    chunk_id = f"chatcmpl-{first.run_id}"
    none = {"usage": None} if include_usage else {}

    def piece(delta: dict[str, Any] | None = None, finish: str | None = None, **extra: Any) -> str:
        return sse(chunk(chunk_id, model=model, created=created, delta=delta, finish=finish, **{**none, **extra}))

    yield piece({"role": "assistant", "content": ""})
    progress = ProgressText()
    item = first
    try:
        while not isinstance(item, Result):
            text = progress(item)
            if text:
                yield piece({"reasoning_content": text})
            item = await anext(rest)
    except Exception as exc:
        yield sse(stream_error(exc, first.run_id))
        yield sse("[DONE]")
        return
    result = item
    if result.status == "error":
        yield sse({**failure(result).body(), "rlmx": run_info(result)})
        yield sse("[DONE]")
        return
    answer = content(result, structured=structured)
    if answer:
        yield piece({"content": answer})
    yield piece({}, finish_reason(result), rlmx=run_info(result))
    if include_usage:
        yield piece(usage=usage(result))
    yield sse("[DONE]")


class RunCancelled(Exception):
    """A run stopped before it ended (the server is shutting down): what its readers get instead of a Result."""


SHUTTING_DOWN = "the server is shutting down; retry (against another instance, or once it is back)"


def shutting_down(what: str) -> RequestError:
    """The 503 `server_shutting_down` for a request the server's shutdown ends before its answer (`what` says how
    far it got), which the OpenAI SDKs may retry (elsewhere, or once the server is back)."""
    error = RequestError(f"{what}: {SHUTTING_DOWN}", code="server_shutting_down", status=503, kind="server_error")
    error.headers["x-should-retry"] = "true"
    return error


def shutdown_events(run_id: str) -> str:
    """The end of a stream whose handler the server's shutdown stopped: its error event and [DONE]."""
    stopped = RunCancelled(f"the run was cancelled before it finished: {SHUTTING_DOWN}")
    return sse(stream_error(stopped, run_id)) + sse("[DONE]")


def refusal_events(error: RequestError) -> str:
    """The end of a stream whose request was refused after its headers went out (it waited for a run slot with
    keep-alives): the error the plain request would have got as its body, as an `error` event, and [DONE]. Its
    headers went out before the refusal, so a Retry-After it would have carried is said in the message instead."""
    body = error.body()
    wait = error.headers.get("Retry-After")
    if wait is not None:
        said = body["error"]["message"]
        named = f"{wait} seconds"
        body["error"]["message"] = (
            said.replace("the Retry-After seconds", named)
            if "the Retry-After seconds" in said
            else f"{said}; retry after {wait} seconds"
        )
    return sse(body) + sse("[DONE]")


def stream_error(exc: BaseException, run_id: str) -> dict[str, Any]:
    """The `error` event of a stream whose run raised instead of returning a Result (a bug, a crash, or a run
    cancelled by the server's shutdown)."""
    if isinstance(exc, RunCancelled):
        return {**error_body(str(exc), kind="server_error", code="server_shutting_down"), "rlmx": {"trace_id": run_id}}
    message = (
        f"the RLM run {run_id} failed with {type(exc).__name__}: {exc}; its trace id is {run_id}; "
        "retry, and report it with the trace if it happens again"
    )
    return {**error_body(message, kind="server_error", code="rlm_run_failed"), "rlmx": {"trace_id": run_id}}
