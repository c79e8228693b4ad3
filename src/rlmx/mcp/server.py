"""The MCP side of `rlmx mcp`: tools over the official `mcp` SDK (MCPServer), calling `RLMService`.

Each tool call that runs an RLM runs it in its own asyncio task, and the call waits for it while sending MCP
progress notifications. When the client cancels the call (`notifications/cancelled`) or goes away, the SDK cancels
the waiting handler; the handler then cancels the run's task once and waits for it to finish under a shield, so
the engine's own cleanup (LM calls stopped, sandbox workers killed) runs to its end before the call is dropped.

    server = build_server(RLMService(rlm), Grant(allowed=None, default=Path.cwd()))
    await server.run_stdio_async()
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import difflib
import functools
import io
import itertools
import json
import math
import os
import re
import select
import sys
import threading
import uuid
import warnings
from collections.abc import Awaitable, Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path, PureWindowsPath
from typing import TYPE_CHECKING, Annotated, Any, Self, TypeVar, cast

try:
    import anyio
    from mcp.server.mcpserver import Context, MCPServer
except ImportError as exc:  # say how to install it from the checkout, not a bare "No module named 'mcp'"
    from rlmx.extras import ExtraMissing

    raise ExtraMissing("rlmx.mcp.server", "mcp", exc) from None

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.stdio import stdio_server
from mcp.shared.dispatcher import coerce_request_id
from mcp.shared.exceptions import MCPDeprecationWarning, MCPError, NoBackChannelError
from mcp.shared.message import ServerMessageMetadata, SessionMessage
from mcp_types import (
    INVALID_PARAMS,
    INVALID_REQUEST,
    PARSE_ERROR,
    CallToolResult,
    ErrorData,
    GetPromptResult,
    InputRequiredResult,
    JSONRPCError,
    JSONRPCRequest,
    JSONRPCResponse,
    ListRootsRequest,
    RequestId,
    TextContent,
    ToolAnnotations,
    jsonrpc_message_adapter,
)
from mcp_types.version import is_version_at_least
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from rich.console import Console

from rlmx import __version__
from rlmx.deadline import time_limit
from rlmx.errors import InputError, RLMXError
from rlmx.events import Emit, Event
from rlmx.http_access import LOOPBACK_ORIGINS, Origins, carries_key, key_bytes, refusal
from rlmx.mcp.roots import Roots, file_uri_path
from rlmx.mcp.service import LIMIT_NAMES, RLMService, limit_meant
from rlmx.progress import Progress
from rlmx.sandbox.frames import encodable

if TYPE_CHECKING:
    from mcp.shared._stream_protocols import ReadStream, WriteStream

    from rlmx.server.body import Claim
    from rlmx.server.openai_compat import RequestError

T = TypeVar("T")

INSTRUCTIONS = """\
rlmx answers questions over files, folders or texts too large for your context window: a Recursive Language Model
keeps the content in a sandboxed Python REPL and reads it with code and sub-model calls; only the answer comes
back. Use rlm_estimate first for a large folder to see its size and a cost forecast; rlm_ask for one question;
rlm_session_start / rlm_session_ask / rlm_session_end for several questions over the same content (the REPL and
its variables persist). Paths must lie inside the folders the user granted; other paths are refused."""

ASK_DESCRIPTION = """\
Answer a question over files, folders or a text that are too big (or too many) to read yourself: logs, dumps, \
codebases, document sets. The content is loaded into a sandboxed REPL, never into a prompt; a model writes code \
that searches and splits it and asks sub-models about the pieces. Returns the answer with status ("finished", \
"budget_exhausted": the best answer so far, or "error"), stop_reason, usage (tokens, cost_usd) and trace_id / \
trace_path (a JSONL record of the run). Give either `paths` (files or folders inside the granted roots; folders \
are read recursively, binary files skipped) or `text`. Ask a precise, self-contained question; say what form \
the answer should take. Runs take seconds to minutes; progress is reported while it runs, and cancelling the \
call stops it."""

ESTIMATE_DESCRIPTION = """\
Before spending: the size of the given paths or text (characters, estimated tokens, files read and skipped) and \
a low/high token and USD range for one rlm_ask with the server's models and budget. A forecast, not a \
measurement; nothing is run and no model is called."""

SESSION_START_DESCRIPTION = """\
Open a multi-question session over paths or a text (or none: questions may bring their own). Returns a \
session_id. The session keeps one REPL across its questions, so variables computed for one question (counts, \
parsed records, indexes) are still there for the next, and `history` holds the earlier questions and answers. \
End it with rlm_session_end; it holds a live process until then."""

SESSION_ASK_DESCRIPTION = """\
Ask the next question in a session (see rlm_session_start). Optional `paths` or `text` add a context variable \
(context_1, context_2, ...). Returns what rlm_ask returns, plus session_id and turn. One question at a time per \
session; cancelling a question ends its session."""

SESSION_END_DESCRIPTION = "End a session and kill its REPL. Returns how many questions it answered."

Query = Annotated[str, Field(description="The question, self-contained (the RLM does not see your conversation).")]
Paths = Annotated[
    list[str] | None,
    Field(
        description="Files or folders to answer over, absolute or relative to the first granted root. Must lie "
        "inside the granted roots (symlinks are resolved first). Leave out when giving `text`.",
    ),
]
Text = Annotated[str | None, Field(description="The content itself, when it is not in a file. Leave out with `paths`.")]
SessionId = Annotated[str, Field(description="The session_id rlm_session_start returned.")]


class CallBudget(BaseModel):
    """Limits for one call. Each can only lower the server's own limit, never raise it. Strict: `true` is no
    number (lax pydantic read it as 1: a one-turn run, a $1 limit), as `rlmx serve` refuses it."""

    model_config = ConfigDict(extra="forbid", strict=True)

    max_iterations: int | None = Field(None, ge=1, description="Root turns (each: one model reply and its code).")
    max_seconds: float | None = Field(None, gt=0, description="Wall-clock limit of the whole run, in seconds.")
    max_tokens: int | None = Field(None, ge=1, description="Tokens of all model calls together (input + output).")
    max_subcalls: int | None = Field(None, ge=1, description="Sub-model calls (llm_query / rlm_query).")
    max_usd: float | None = Field(None, gt=0, description="Spending limit in USD (needs priced models).")


BudgetArg = Annotated[
    CallBudget | None,
    Field(description="Optional limits for this call; they only tighten the server's limits (see rlm_estimate)."),
]


# A JSON string escape of a lone UTF-16 surrogate ("\ud83d" with no low half after it): the SDK's pydantic parser
# refuses the whole message, so the client waits for an answer that never comes. Escaped backslashes are matched
# first, so "\\ud83d" (a backslash, then text) is left alone; a well-formed pair is kept.
_SURROGATE_ESCAPE = re.compile(
    rb"\\\\|\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}|\\u[dD][89a-fA-F][0-9a-fA-F]{2}"
)


def replace_lone_surrogates(line: bytes) -> bytes:
    """`line` (one JSON-RPC message) with each lone-surrogate escape made U+FFFD's, the project's rule for such text
    (`frames.encodable`); anything else is unchanged."""
    if b"\\u" not in line:
        return line
    return _SURROGATE_ESCAPE.sub(lambda m: b"\\ufffd" if len(m.group()) == 6 else m.group(), line)


_STAND_INS_KEPT = 4096
"""Stand-ins `LoneSurrogateIds` keeps at most, the oldest dropped first: a backstop, as each is dropped when its reply
is written or its request cancelled (a client can leave requests unanswered for good, e.g. by ending a session)."""


def _one_stdio() -> Hashable:
    return _STDIO


_STDIO = "stdio"
"""The exchange of a message read without one named: the process's one stdio connection."""


class LoneSurrogateIds:
    """Request ids holding a lone-surrogate escape ("id-\\ud83d"), kept as the client wrote them: the SDK cannot
    read such an id (and `replace_lone_surrogates` would change it to U+FFFD, so a client matching ids exactly never
    found its reply). `marked` puts an ASCII stand-in in the request's place before the SDK reads it; `restored`
    writes a reply to it with the client's own escape, byte for byte its JSON, so the client's parser gets back the
    id it sent. A `notifications/cancelled` naming such an id names its stand-in, looked up in the exchange the
    cancel came in (the stdio connection; the HTTP session, or the POST): independent clients reuse ids, so another
    client's request with the same id is not the one cancelled. A stand-in is dropped when its reply is written or
    its request cancelled (a cancelled request gets no reply), the oldest past `limit` too."""

    def __init__(self, limit: int = _STAND_INS_KEPT) -> None:
        self._prefix = f"rlmx-lone-surrogate-id-{uuid.uuid4().hex}-"
        self._prefix_bytes = self._prefix.encode()
        self._count = itertools.count()
        self._limit = limit
        # stand-in -> (its exchange, the id's JSON as the client wrote it: ASCII, \\u escapes); oldest first
        self._given: dict[str, tuple[Hashable, str]] = {}
        self._named: dict[tuple[Hashable, str], str] = {}  # (exchange, client's id JSON) -> its latest stand-in
        self._lock = threading.Lock()

    def __len__(self) -> int:
        """How many stand-ins are kept (requests in flight)."""
        return len(self._given)

    def marked(self, line: bytes, exchange: Callable[[], Hashable] = _one_stdio) -> bytes:
        """`line` with each lone-surrogate request id made its stand-in (a batch's, member by member); any other line
        unchanged, byte for byte (parsed only when it holds an escape and an id). `exchange()`: the key of the
        exchange `line` came in, asked only for a line that is parsed."""
        if b"\\u" not in line or (b'"id"' not in line and b'"requestId"' not in line):
            return line
        try:
            message = json.loads(line)
        except ValueError:
            return line
        key = exchange()
        if isinstance(message, dict):
            changed = self._mark(message, key)
        elif isinstance(message, list):
            changed = any([self._mark(item, key) for item in message if isinstance(item, dict)])  # every member
        else:
            return line
        if not changed:
            return line
        return json.dumps(message, separators=(",", ":")).encode() + b"\n"

    def _mark(self, message: dict[str, Any], exchange: Hashable) -> bool:
        """Whether `message` (one request or notification, changed in place) got a stand-in: for its own id, or for
        the `requestId` it names. A response (no "method") gets none: the SDK answers nothing to it."""
        if "method" not in message:
            return False
        method = message["method"]
        request_id = message.get("id")
        if isinstance(request_id, str) and _lone_surrogates(request_id):
            message["id"] = self._give(exchange, json.dumps(request_id))
            return True
        params = message.get("params")
        named = params.get("requestId") if isinstance(params, dict) else None
        if not isinstance(named, str) or not _lone_surrogates(named):
            return False
        with self._lock:
            found = self._named.get((exchange, json.dumps(named)))
            if found is not None and method == "notifications/cancelled":
                self._drop(found)  # no reply comes for a cancelled request
        if found is None:
            return False
        assert isinstance(params, dict)
        params["requestId"] = found
        return True

    def _give(self, exchange: Hashable, written: str) -> str:
        stand_in = f"{self._prefix}{next(self._count)}"
        with self._lock:
            self._given[stand_in] = (exchange, written)
            self._named[(exchange, written)] = stand_in
            if len(self._given) > self._limit:
                self._drop(next(iter(self._given)))
        return stand_in

    def _drop(self, stand_in: str) -> str | None:
        """Forget `stand_in` (the lock held); the client's id it stood for, or None if it was not kept. An earlier
        stand-in for the same id, still kept (a second request with that id was refused: `_InFlightIds`), is the one
        a cancel names again."""
        found = self._given.pop(stand_in, None)
        if found is None:
            return None
        if self._named.get(found) == stand_in:
            earlier = next((given for given, kept in reversed(self._given.items()) if kept == found), None)
            if earlier is None:
                del self._named[found]
            else:
                self._named[found] = earlier
        return found[1]

    def stood_for(self, request_id: RequestId) -> tuple[Hashable, str] | None:
        """What stand-in `request_id` stands for: its exchange and the client's own id (its JSON); None for any other
        id."""
        if not isinstance(request_id, str) or not request_id.startswith(self._prefix):
            return None
        with self._lock:
            return self._given.get(request_id)

    def restored(self, item: SessionMessage) -> SessionMessage:
        """`item` itself, or, when it answers a stand-in, the same reply written with the client's own id."""
        request_id = getattr(item.message, "id", None)
        if not isinstance(request_id, str) or not request_id.startswith(self._prefix):
            return item
        with self._lock:
            given = self._drop(request_id)
        if given is None:
            return item
        text = item.message.model_dump_json(by_alias=True, exclude_unset=True)
        text = text.replace(json.dumps(request_id), given, 1)
        return SessionMessage(cast(Any, _Written(text)), item.metadata)

    def given_in(self, body: bytes) -> dict[bytes, bytes]:
        """For an HTTP body `marked` gave stand-ins: each stand-in's JSON -> the client's own id's JSON, to write
        into the reply (`_IdsRestoredHTTP`); {} for any other body (one search for the prefix)."""
        if self._prefix_bytes not in body:
            return {}
        with self._lock:
            return {
                json.dumps(stand_in).encode(): given.encode()
                for stand_in, (_, given) in self._given.items()
                if json.dumps(stand_in).encode() in body
            }

    def forget(self, stand_ins: Iterable[bytes]) -> None:
        """Drop stand-ins (their JSON, from `given_in`) whose exchange is over: an HTTP POST's reply is written."""
        with self._lock:
            for stand_in in stand_ins:
                self._drop(json.loads(stand_in))


class _Written:
    """A message already written as JSON: what the stdio writer sends of it (`model_dump_json`) is that text."""

    def __init__(self, text: str) -> None:
        self._text = text

    def model_dump_json(self, **_: Any) -> str:
        return self._text


def _lone_surrogates(text: str) -> bool:
    if text.isascii():
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


LONE_SURROGATE_IDS = LoneSurrogateIds()
"""The server process's stand-ins, each kept with the exchange that made it (the stdio connection, an HTTP session or
POST)."""


class _WriteStreamOver:
    """A transport's write stream passed through: a subclass changes `send` alone (closing and the context manager
    are the wrapped stream's)."""

    def __init__(self, stream: WriteStream[SessionMessage]) -> None:
        self._stream = stream

    async def send(self, item: SessionMessage, /) -> None:
        await self._stream.send(item)

    async def aclose(self) -> None:
        await self._stream.aclose()

    async def __aenter__(self) -> Self:
        await self._stream.__aenter__()
        return self

    async def __aexit__(self, *exc: Any) -> bool | None:
        return await self._stream.__aexit__(*exc)


class _IdsRestored(_WriteStreamOver):
    """The transport's write stream, sending each reply to a stand-in id with the client's own id
    (`LoneSurrogateIds.restored`)."""

    def __init__(self, stream: WriteStream[SessionMessage], ids: LoneSurrogateIds) -> None:
        super().__init__(stream)
        self._ids = ids

    async def send(self, item: SessionMessage, /) -> None:
        await self._stream.send(self._ids.restored(item))


def roots_answer_as_uris(line: bytes) -> bytes:
    """`line` with the plain paths in a 2026-07-28 client's roots answer (`inputResponses["rlmx-roots"]`) made
    file:// URIs: Cursor lists roots as `/Users/me/project`, and the SDK, which wants URIs there, refused the whole
    call with its union's other members' errors (-32602 about CreateMessageResult) before rlmx saw the answer. The
    handshake's roots/list reads plain paths itself (`_ListedRoots`). Any other line is unchanged, byte for byte."""
    if f'"{ROOTS_INPUT}"'.encode() not in line:
        return line
    try:
        message = json.loads(line)
        roots = message["params"]["inputResponses"][ROOTS_INPUT]["roots"]
    except (ValueError, KeyError, TypeError):
        return line
    changed = False
    for root in roots if isinstance(roots, list) else ():
        uri = root.get("uri") if isinstance(root, dict) else None
        as_uri = _path_as_uri(uri) if isinstance(uri, str) else None
        if as_uri is not None:
            root["uri"], changed = as_uri, True
    if not changed:
        return line
    return json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


# An "id" member and the start of its value: a string or an integer (no fraction, no exponent) is a usable request id.
_ID_MEMBER = re.compile(rb'"id"\s*:\s*')
_USABLE_ID_START = re.compile(rb'"|-?[0-9]+(?![0-9.eE])')


def bad_ids_unreadable(line: bytes) -> bytes:
    """`line` (one JSON-RPC message), made unreadable to the SDK when it is a request whose id is not a string or an
    integer (null, a fraction, true, an object): the SDK read it as a notification, dropping the id, and the client
    waited for good. Without its "jsonrpc" member the SDK refuses it, so `replies_to_unreadable` answers it, id null.
    Any other line is unchanged, byte for byte; only a line with such an "id" member somewhere is parsed here."""
    start = line.find(b'"id"')
    while start != -1:
        member = _ID_MEMBER.match(line, start)
        if member is not None and not _USABLE_ID_START.match(line, member.end()):
            break
        start = line.find(b'"id"', start + 4)
    else:
        return line
    try:
        message = json.loads(line)
    except ValueError:
        return line
    if not _has_unusable_id(message):
        return line
    message.pop("jsonrpc", None)
    return json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def _has_unusable_id(value: Any) -> bool:
    """Whether `value` is a request (a method and an id) whose id is neither a string nor an integer."""
    if not isinstance(value, dict) or "method" not in value or "id" not in value:
        return False
    request_id = value["id"]
    return not isinstance(request_id, str | int) or isinstance(request_id, bool)


def _path_as_uri(uri: str) -> str | None:
    """The file:// URI of `uri` when it is a plain absolute path (POSIX, or `C:\\project`), else None."""
    if re.match(r"[A-Za-z]:[\\/]", uri):
        return PureWindowsPath(uri).as_uri()
    if os.path.isabs(uri):
        return Path(uri).as_uri()
    return None


_STDIN_BLOCK = 1 << 20
"""Bytes asked of stdin per read: a 40 MB argument arrives in some 40 reads (unbuffered readline read it one byte per
system call, 36 s, and every message behind it waited)."""


class StdinCopy:
    """The thread that copies the real stdin into the pipe the SDK reads as fd 0 (see
    `stdin_with_lone_surrogates_replaced`), and the pipe's write end, which `end` closes early."""

    def __init__(self, source: int, write: int) -> None:
        self._source = source
        self._write: int | None = write
        self._lock = threading.Lock()
        key = ("stdio", id(self))
        self._exchange: Callable[[], Hashable] = lambda: key  # this connection's lone-surrogate ids

    def start(self) -> None:
        threading.Thread(target=self._copy, name="rlmx-mcp-stdin", daemon=True).start()

    def end(self) -> None:
        """EOF for the SDK's reader now, whatever the client still sends: the server is done (stdout broke, or it
        was stopped). The SDK reads stdin in a thread that cannot be cancelled, and waits for it before it ends, so
        a client whose reader died while its stdin stays open kept the server, and its REPLs, alive for good. The
        pipe's write end becomes /dev/null: the copying thread's later writes go nowhere, its fd never reused."""
        with self._lock:
            if self._write is None:
                return
            null = os.open(os.devnull, os.O_WRONLY | os.O_CLOEXEC)
            try:
                os.dup2(null, self._write, inheritable=False)
            finally:
                os.close(null)

    def _copy(self) -> None:
        assert self._write is not None
        try:
            # buffered: it writes a long line whole, whatever the pipe takes; closefd=False: `_closed` closes it
            with os.fdopen(self._write, "wb", closefd=False) as pipe:
                for line in lines_of(lambda: os.read(self._source, _STDIN_BLOCK)):
                    pipe.write(readable_message(line, self._exchange))
                    pipe.flush()
        except BrokenPipeError:  # the server stopped reading
            pass
        finally:
            self._closed()

    def _closed(self) -> None:
        with self._lock:
            if self._write is not None:
                os.close(self._write)
                self._write = None
            os.close(self._source)


@contextlib.contextmanager
def stdin_with_lone_surrogates_replaced() -> Iterator[StdinCopy]:
    """While open, fd 0 is a pipe fed line by line from the real stdin through `replace_lone_surrogates` (a thread
    copies them), so the SDK's stdio transport reads only messages it can parse. EOF passes through; `end()` on
    what it yields gives EOF at once."""
    source = os.dup(0)
    read, write = os.pipe()
    os.dup2(read, 0)
    os.close(read)
    copy = StdinCopy(source, write)
    copy.start()
    yield copy


_UTF8_BOM = b"\xef\xbb\xbf"


def readable_message(message: bytes, exchange: Callable[[], Hashable] = _one_stdio) -> bytes:
    """One JSON-RPC message as the client sent it (a stdio line, an HTTP POST's body) made one the SDK reads, the
    same for both transports: a leading UTF-8 BOM (some Windows tools write one; JSON text never begins with it, RFC
    8259 §8.1) dropped, a lone-surrogate request id given its stand-in (`LONE_SURROGATE_IDS`; the reply gets the id
    back; `exchange()` keys the connection or session it came in), any other lone surrogate made U+FFFD, a roots
    answer's plain paths made URIs, and a request whose id is not a string or an integer made unreadable
    (`bad_ids_unreadable`)."""
    message = replace_lone_surrogates(LONE_SURROGATE_IDS.marked(message.removeprefix(_UTF8_BOM), exchange))
    return bad_ids_unreadable(roots_answer_as_uris(message))


def lines_of(read: Callable[[], bytes]) -> Iterator[bytes]:
    """The lines (each with its newline; the last one, at EOF, maybe without) in the blocks `read()` returns until it
    returns b"", however the blocks cut them: a line, an escape or a UTF-8 sequence split between two reads comes out
    whole."""
    pending: list[bytes] = []
    while block := read():
        start = 0
        while (end := block.find(b"\n", start)) != -1:
            pending.append(block[start : end + 1])
            yield b"".join(pending)
            pending.clear()
            start = end + 1
        if start < len(block):
            pending.append(block[start:])
    if pending:
        yield b"".join(pending)


class LoneSurrogatesReplaced:
    """ASGI middleware for streamable HTTP: a POST's body, read whole, made `readable_message` before the SDK parses
    it, as stdio's lines are (the SDK answered a lone surrogate or a UTF-8 BOM 400 "Parse error", dropped a request
    with a null id, and a lone-surrogate id came back as U+FFFD); a reply to a stand-in id is written with the
    client's own id. A body that is no JSON-RPC message is answered by `replies_to_unreadable`, as over stdio, not
    with the SDK's -32602 and pydantic's dump of its union; one that is not UTF-8 gets a parse error saying so."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return
        first = await _whole_request(receive)  # a disconnect instead: the client went away, the app hears it
        if first["type"] == "http.request":
            body = readable_message(first["body"], lambda: _http_exchange(scope))
            first = {"type": "http.request", "body": body, "more_body": False}
        stand_ins = LONE_SURROGATE_IDS.given_in(first.get("body", b""))
        if stand_ins:
            send = _IdsRestoredHTTP(send, stand_ins)
        refused: dict[str, Any] | None = None  # the start of the SDK's 400 reply, held until its body is seen

        async def answering_unreadable(message: dict[str, Any]) -> None:
            nonlocal refused
            if message["type"] == "http.response.start" and message["status"] == 400:
                refused = message
                return
            if refused is not None and message["type"] == "http.response.body":
                start, refused = refused, None
                replaced = _unreadable_body_answer(first.get("body", b""), message.get("body", b""))
                if replaced is not None:
                    headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
                    start = {**start, "headers": [*headers, (b"content-length", str(len(replaced)).encode())]}
                    message = {"type": "http.response.body", "body": replaced, "more_body": False}
                await send(start)
            await send(message)

        replay = _replaying(first, receive)

        try:
            await self.app(scope, replay, answering_unreadable)
        finally:
            if stand_ins:
                LONE_SURROGATE_IDS.forget(stand_ins)


class CancelledWhenGone:
    """ASGI middleware for streamable HTTP: a `tools/call` whose client goes away before its answer (the connection
    dropped, the POST's SSE stream closed: an agent killed, an editor closed) is cancelled as a
    `notifications/cancelled` from the client would cancel it: the run stops (no further LM calls, its REPL worker
    killed; a session question ends its session). With the initialize handshake the SDK runs the call in the MCP
    session's task, which outlives the POST that carries its answer, and no DELETE comes from a client that died:
    the run went on spending for an answer nobody could receive, as there is no event store to resume the stream
    from. The cancel goes through the SDK's own path: a POST of the notification into the same MCP session. Clients
    of the single-exchange protocol need none of this (their call ends with its POST)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        session = _header(scope, b"mcp-session-id")
        if scope["type"] != "http" or scope.get("method") != "POST" or session is None:
            await self.app(scope, receive, send)
            return
        first = await _whole_request(receive)  # a disconnect instead: gone before the body came, nothing dispatched
        request_id = _tool_call_id(first.get("body", b""))
        given = False
        gone = False
        answered = False

        async def replay() -> Any:
            nonlocal given, gone
            if not given:
                given = True
                return first
            message = await receive()
            if message["type"] == "http.disconnect" and not answered:
                gone = True
            return message

        async def watching(message: dict[str, Any]) -> None:
            nonlocal answered, gone
            if message["type"] == "http.response.body" and not answered and request_id is not None:
                answered = _answers(message.get("body", b""), request_id)
            try:
                await send(message)
            except OSError:  # the client is gone (ASGI 2.4 servers raise OSError then)
                gone = True
                raise

        try:
            await self.app(scope, replay, watching)
        finally:
            if request_id is not None and gone and not answered:
                with anyio.CancelScope(shield=True):
                    await self._cancel(scope, request_id)

    async def _cancel(self, scope: dict[str, Any], request_id: str | int) -> None:
        """Send the SDK, in the MCP session of `scope`'s POST, the client's `notifications/cancelled` for
        `request_id`, as if the client had sent it (its answer, 202, goes nowhere)."""
        notification = {
            "jsonrpc": "2.0",
            "method": "notifications/cancelled",
            "params": {"requestId": request_id, "reason": "the client went away before the answer"},
        }
        body = json.dumps(notification).encode()
        headers = [(k, v) for k, v in scope.get("headers", []) if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def discard(message: dict[str, Any]) -> None:
            return None

        with contextlib.suppress(Exception):  # a session ended meanwhile (404): its calls were cancelled with it
            await self.app({**scope, "headers": headers}, receive, discard)


class InFlightIdsPerSession:
    """ASGI middleware for streamable HTTP: a POSTed request whose id is in flight in its MCP session (a request of
    that session with that id not answered yet) is refused with -32600 and not run, as over stdio (`_InFlightIds`).
    The SDK files each POST's answer stream under its request id alone: a second request with an id in flight took
    the first one's stream, whose client then waited for ever for an answer that was thrown away (and a cancel for
    that id named the wrong run). An id is in flight from its POST's arrival until that POST's response ends; 4 and
    "4" are one id (`coerce_request_id`). Place it outside `LoneSurrogatesReplaced`, which gives each lone-surrogate
    id a stand-in of its own."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._in_flight: dict[bytes, set[Hashable]] = {}

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        session = _header(scope, b"mcp-session-id")
        if scope["type"] != "http" or scope.get("method") != "POST" or session is None:
            await self.app(scope, receive, send)
            return
        first = await _whole_request(receive)
        if first["type"] != "http.request":
            return  # the client left before its body came: nobody is left to answer

        replay = _replaying(first, receive)

        body = first.get("body", b"")
        if len(body) < _PARSED_AT_ONCE:
            request_id = _posted_request_id(body)
        else:  # a long document's tool call: parsed off the event loop, as the SDK's own reading of it is
            request_id = await anyio.to_thread.run_sync(_posted_request_id, body)
        del body
        if request_id is None:
            await self.app(scope, replay, send)
            return
        key = coerce_request_id(request_id)
        ids = self._in_flight.setdefault(session, set())
        if key in ids:
            await _refuse_in_flight(request_id, send)
            return
        ids.add(key)
        try:
            await self.app(scope, replay, send)
        finally:
            ids.discard(key)
            if not ids:
                self._in_flight.pop(session, None)


class ShutdownGate:
    """ASGI middleware for streamable HTTP: what a stopping `rlmx mcp --http` does with requests (SIGTERM, Ctrl-C),
    as `rlmx serve --shutdown-timeout` does. Once `close()` is called, a new JSON-RPC request (a POST with a method
    and an id) or GET stream gets HTTP 503 with a -32000 error that says the server is shutting down; notifications
    and the client's own replies (roots it is asked for) still pass, for the calls still running. Once `running`
    is 0, or the grace is over (`hold_open` in rlmx.commands.serve waits), `answer_running()` answers each one still
    running with that -32000 error, with its id (an SSE event on a stream already open, else a 503), ends its
    response and stops its handler, before the transport's streams close. Without this, sse_starlette ended every
    stream at the signal and the SDK's own shutdown error could not be written: a call's POST ended as HTTP 200
    with an empty body, no result and no error."""

    MESSAGE = "server shutting down: the request was not answered before the server stopped; retry it later"

    def __init__(self, app: Any) -> None:
        self.app = app
        self.closing = False
        self._running: set[_Running] = set()

    def close(self) -> None:
        """Refuse new requests from now on."""
        self.closing = True

    @property
    def running(self) -> int:
        """Requests being answered now."""
        return len(self._running)

    async def answer_running(self, seconds: float) -> None:
        """Answer each request still running with the shutting-down error, and stop its handler, all at once, in
        `seconds` at most (a client that reads nothing does not hold the shutdown: `_Running.refuse`)."""
        async with anyio.create_task_group() as answering:
            for each in list(self._running):
                answering.start_soon(each.refuse, self.MESSAGE, seconds)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        method = scope.get("method") if scope["type"] == "http" else None
        if method == "GET" and self.closing:
            await _refuse_shutting_down(send, self.MESSAGE)
            return
        if method != "POST":
            await self.app(scope, receive, send)
            return
        first = await _whole_request(receive)
        if first["type"] != "http.request":
            return  # the client left before its body came: nobody is left to answer
        body = first.get("body", b"")
        if len(body) < _PARSED_AT_ONCE:
            request_id = _posted_request_id(body)
        else:
            request_id = await anyio.to_thread.run_sync(_posted_request_id, body)
        del body
        replay = _replaying(first, receive)
        if request_id is None:
            await self.app(scope, replay, send)
            return
        if self.closing:
            error = {"code": SHUTTING_DOWN_CODE, "message": self.MESSAGE}
            reply = json.dumps({"jsonrpc": "2.0", "id": request_id, "error": error}).encode()
            headers = [(b"content-type", b"application/json"), (b"content-length", str(len(reply)).encode())]
            headers += [(b"retry-after", b"1"), (b"connection", b"close")]
            await send({"type": "http.response.start", "status": 503, "headers": headers})
            await send({"type": "http.response.body", "body": reply, "more_body": False})
            return
        running = _Running(request_id, send)
        self._running.add(running)
        try:
            with running.scope:
                await self.app(scope, replay, running.send)
        finally:
            self._running.discard(running)


SHUTTING_DOWN_CODE = -32000
"""The JSON-RPC code of every shutdown refusal (the spec's first server-defined one), as README says."""


async def _refuse_shutting_down(send: Any, message: str) -> None:
    """The 503 (a JSON-RPC -32000 error, id null, `Retry-After: 1`, the connection closed) of a request the stopping
    server will not answer, whose id is unknown (a GET stream, a body not read whole)."""
    headers = [(b"retry-after", b"1"), (b"connection", b"close")]
    await _refuse_http(503, message, send, headers, code=SHUTTING_DOWN_CODE)


class _Running:
    """One request `ShutdownGate` lets through: its id, its response as far as it was sent, and the cancel scope its
    handler runs in.

    No lock is held across a write: a write waits for as long as its client reads nothing (uvicorn's flow control),
    and a lock held there made `refuse`, and so the whole shutdown, wait for ever on one client that stopped reading
    (audit 87: only SIGKILL ended the server). `refuse` instead waits for the handler's write in progress at most
    its `seconds`, as it bounds its own writes."""

    def __init__(self, request_id: str | int, send: Any) -> None:
        self.request_id = request_id
        self._send = send
        self.scope = anyio.CancelScope()
        self.started = False
        self.stream = False  # its response is an SSE stream
        self.ended = False
        self._writing = 0  # the handler's writes in progress (uvicorn writes a message whole or not at all)
        self._written: anyio.Event | None = None  # set when the handler's writes in progress are done

    async def send(self, message: dict[str, Any]) -> None:
        if self.ended:
            return  # answered by the shutdown: the handler's late writes go nowhere
        if message["type"] == "http.response.start":
            self.started = True
            kind = next((v for k, v in message.get("headers", []) if k.lower() == b"content-type"), b"")
            self.stream = bytes(kind).lower().startswith(b"text/event-stream")
        elif message["type"] == "http.response.body" and not message.get("more_body"):
            self.ended = True
        self._writing += 1
        try:
            await self._send(message)
        finally:
            self._writing -= 1
            if not self._writing and self._written is not None:
                self._written.set()

    async def refuse(self, text: str, seconds: float) -> None:
        """Answer with a -32000 `text` error (an SSE event on an open stream, else a 503) and stop the handler,
        within `seconds`: a client that reads nothing keeps its response as far as it was written (the handler's
        write then in progress, and this one, are given up)."""
        error = {"code": SHUTTING_DOWN_CODE, "message": text}
        reply = json.dumps({"jsonrpc": "2.0", "id": self.request_id, "error": error})
        try:
            with anyio.move_on_after(seconds), contextlib.suppress(OSError):  # OSError: the client went away
                answered = self.ended  # answered whole, or its last write is in progress
                self.ended = True  # from now on the handler's writes go nowhere
                while self._writing:  # the handler's message being written goes first, whole
                    self._written = anyio.Event()
                    await self._written.wait()
                if answered:
                    return
                if self.stream:
                    event = b"event: message\r\ndata: " + reply.encode() + b"\r\n\r\n"
                    await self._send({"type": "http.response.body", "body": event, "more_body": False})
                elif not self.started:
                    body = reply.encode()
                    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
                    await self._send({"type": "http.response.start", "status": 503, "headers": headers})
                    await self._send({"type": "http.response.body", "body": body, "more_body": False})
                else:  # a JSON answer begun and not ended: end it (the SDK writes its answers whole)
                    await self._send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            self.scope.cancel()  # also ends a write of the handler's that is still waiting for its client


_PARSED_AT_ONCE = 256 * 1024
"""Bodies shorter than this (bytes) are parsed on the event loop; longer ones on a worker thread."""


def _posted_request_id(body: bytes) -> str | int | None:
    """The id of the JSON-RPC request `body` is (one message with a method and an id), else None."""
    try:
        message = json.loads(body)
    except ValueError:
        return None
    if not isinstance(message, dict) or not isinstance(message.get("method"), str):
        return None
    request_id = message.get("id")
    return request_id if isinstance(request_id, str | int) and not isinstance(request_id, bool) else None


async def _refuse_in_flight(request_id: str | int, send: Any) -> None:
    """The answer (HTTP 200, JSON) to a request whose id is in flight in its session: its -32600, with its id."""
    given = json.dumps(request_id)  # ASCII: a lone-surrogate id is written escaped
    given = given if len(given) <= 40 else given[:37] + "..."
    error = {"code": INVALID_REQUEST, "message": ID_IN_FLIGHT.format(given)}
    body = json.dumps({"jsonrpc": "2.0", "id": request_id, "error": error}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


def _header(scope: dict[str, Any], name: bytes) -> bytes | None:
    """The value of header `name` (lower case, as ASGI gives names), or None."""
    return next((bytes(value) for key, value in scope.get("headers", ()) if key == name), None)


def _replaying(first: dict[str, Any], receive: Any) -> Callable[[], Awaitable[Any]]:
    """An ASGI receive that gives `first` (the request's body, already read to check it) once, then the client's own
    messages (a disconnect among them)."""
    given = False

    async def replay() -> Any:
        nonlocal given
        if not given:
            given = True
            return first
        return await receive()

    return replay


def _tool_call_id(body: bytes) -> str | int | None:
    """The id of the `tools/call` request `body` is (one JSON-RPC message), else None: only a tool call runs long
    enough to be worth stopping, and a cancel may not name an `initialize`."""
    if b"tools/call" not in body:
        return None
    try:
        message = json.loads(body)
    except ValueError:
        return None
    if not isinstance(message, dict) or message.get("method") != "tools/call":
        return None
    request_id = message.get("id")
    return request_id if isinstance(request_id, str | int) and not isinstance(request_id, bool) else None


def _answers(body: bytes, request_id: str | int) -> bool:
    """Whether an HTTP body chunk (SSE events, or the JSON reply) holds the reply (result or error) to `request_id`."""
    lines = [line[5:] for line in body.splitlines() if line.startswith(b"data:")] or [body]
    for line in lines:
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if not isinstance(message, dict) or ("result" not in message and "error" not in message):
            continue
        replied = message.get("id")
        if isinstance(replied, str | int) and coerce_request_id(replied) == coerce_request_id(request_id):
            return True
    return False


DEFAULT_MAX_REQUEST_BYTES = 32 * 1024 * 1024
"""The largest request body `rlmx mcp --http` takes by default (--max-request-bytes), as `rlmx serve`'s."""
DRAIN_BYTES = 64 * 1024 * 1024
"""The least a refused request's unread body may be read and dropped (twice the body limit when more), as `rlmx
serve` drains it (`rlmx.server.body`)."""
DRAIN_SECONDS = 10.0
"""The longest a refused request's unread body is read and dropped so that its client sees the refusal."""
DRAIN_QUIET = 0.5
"""Seconds without a byte after which that draining stops (the client stalled, or waits for the answer first)."""


def body_too_large(max_bytes: int, declared: int | None = None) -> str:
    """The message of the 413 for a request body over `max_bytes` (--max-request-bytes); `declared`: its
    Content-Length, when it gave one."""
    size = f" ({declared:,} bytes declared)" if declared is not None else ""
    return (
        f"Request body too large{size}: this rlmx mcp server takes HTTP request bodies of at most {max_bytes:,} "
        "bytes (--max-request-bytes). Give files and folders as `paths`, which the server reads itself from the "
        "granted folders (up to --max-context-bytes), rather than their content as `text`; or add a higher "
        "--max-request-bytes SIZE (e.g. 200M) to the server's arguments"
    )


DEFAULT_BODY_TIMEOUT = 60.0
"""Seconds a request body may take to arrive whole by default (--body-timeout), as for `rlmx serve`."""


class BodyBounded:
    """ASGI middleware for streamable HTTP, in front of everything that reads a request's body: a body over
    `max_bytes` (--max-request-bytes) gets 413 with a JSON-RPC error (`body_too_large`) before more than `max_bytes`
    of it is held. A Content-Length over the limit is refused before any byte is read; a body of unknown size
    (chunked) as soon as the bytes counted pass it. The rest of a refused body is read and dropped (at most
    max(2 * `max_bytes`, DRAIN_BYTES) bytes, for at most DRAIN_SECONDS) after the refusal is written and before the
    response ends, so that a client still sending sees the answer rather than a reset connection. A body within the
    limit goes on whole, as one `http.request` message.

    As `rlmx serve` reads bodies (`rlmx.server.body`, whose budget and decoder these are): a body must arrive within
    `timeout` seconds (--body-timeout; counted while waiting for the client), else 408 and the connection closed;
    the bodies being read share one server-wide budget (`WAITING_BYTES`, 8 MiB; one body at a time may read past
    it), booked as their bytes arrive, and the rest of a big one (over 256 KiB) is read only while it has room, else
    it waits, unread, at most twice `timeout` seconds (so a body behind a stalled one gets its turn once that one's
    408 comes), then 429 with Retry-After. A body leaves the budget when it is
    handed on. A gzip or deflate body (Content-Encoding) is decoded, its decoded bytes booked as they are made and
    counted against `max_bytes`; another coding gets 415 naming it, a body that is not what its coding says 400.

    rlmx's own middlewares read a POST's body whole (`LoneSurrogatesReplaced`), so the SDK's limit (4 MiB, with a
    text/plain 413 its client reports as "Server returned an error response") saw only bodies already in memory: one
    400 MiB POST grew the server by 400 MiB (audit 81). Without a time bound or a shared budget, 6 uploads that sent
    30 MiB each and stalled held 179 MiB for as long as they stayed (review 81b)."""

    def __init__(
        self, app: Any, max_bytes: int = DEFAULT_MAX_REQUEST_BYTES, *, timeout: float = DEFAULT_BODY_TIMEOUT
    ) -> None:
        from rlmx.server.body import WAITING_BYTES, WaitingBytes  # only for --http: stdio starts without it

        self.app = app
        self.max_bytes = max_bytes
        self.timeout = timeout
        self.budget = WaitingBytes(WAITING_BYTES)
        self.stopped = False
        """Set by `stop_reading`: the server is stopping, and no more body is read."""
        self._reading: set[anyio.CancelScope] = set()

    def stop_reading(self, message: str) -> None:
        """The stopping server will answer no request whose body is not in yet: each one being read (or drained
        after a refusal) stops now, the first answered with a 503 whose JSON-RPC error (-32000, id null: the
        request was not read) says `message`, and so is every later one. Without it a body still arriving was
        cut by uvicorn's graceful deadline: a text/plain 500, which the SDKs retry, and a traceback in the log."""
        self.stopped, self.stopped_message = True, message
        for reading in list(self._reading):
            reading.cancel()

    stopped_message = ""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.stopped:
            await _refuse_shutting_down(send, self.stopped_message)
            return
        from rlmx.server import body as bodies
        from rlmx.server.openai_compat import RequestError

        declared = _declared_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(scope, receive, send, 413, body_too_large(self.max_bytes, declared), received=False)
            return
        coding = _header(scope, b"content-encoding")
        claim = self.budget.claim()
        got = False
        coded = ""  # the coding being undone, once the body is read

        async def receiving() -> Any:
            nonlocal got
            got = True
            return await receive()

        reading = anyio.CancelScope()  # what `stop_reading` cancels: only the reading, no answer being written
        self._reading.add(reading)
        try:
            with reading:
                codings = bodies.content_codings(None if coding is None else coding.decode("latin-1"))
                body = await bodies.read_booked(
                    receiving,
                    claim,
                    self._room,
                    declared=declared,
                    limit=self.max_bytes,
                    timeout=self.timeout,
                    finish=False,
                )
                if codings:
                    coded = ", ".join(codings)
                    body = await bodies.decode_booked(body, codings, None, claim, self._room, limit=self.max_bytes)
                    # what goes on is the decoded body: the headers say so
                    kept = [(k, v) for k, v in scope["headers"] if k not in (b"content-encoding", b"content-length")]
                    scope = {**scope, "headers": [*kept, (b"content-length", str(len(body)).encode())]}
        except bodies.ClientLeft:
            claim()
            return  # the client left before its body came: nobody is left to answer (the SDK logged a traceback)
        except RequestError as error:
            claim()
            await self._refused(scope, receive, send, error, declared, received=got, coded=coded)
            return
        else:
            claim()  # handed on: the bytes are the request's now (or dropped: the server stops)
            if reading.cancelled_caught:  # `stop_reading`
                with contextlib.suppress(OSError):
                    await _refuse_shutting_down(send, self.stopped_message)
                return
            first: dict[str, Any] = {"type": "http.request", "body": body, "more_body": False}
        finally:
            self._reading.discard(reading)
        del body

        replay = _replaying(first, receive)
        await self.app(scope, replay, send)

    async def _room(self, claim: Claim) -> None:
        """Wait (at most twice `timeout` seconds in all) until `claim`'s body may read more; a 429 past that."""
        from rlmx.server.openai_compat import RequestError

        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            async with time_limit(max(0.0, 2 * self.timeout - claim.waited)):
                await claim.room()
        except TimeoutError:
            error = RequestError(
                f"Too Many Requests: this request waited {2 * self.timeout:g} s for room to read its body: the bodies "
                f"being read may hold {self.budget.cap:,} bytes in all, held now by other uploads, which free it "
                f"once they arrive, or at most --body-timeout ({self.timeout:g} s): retry after the Retry-After "
                "seconds, or give files and folders as `paths` rather than their content as `text`",
                status=429,
            )
            error.headers["Retry-After"] = str(max(1, min(60, math.ceil(self.timeout))))
            raise error from None
        finally:
            claim.waited += loop.time() - started

    async def _refused(
        self,
        scope: dict[str, Any],
        receive: Any,
        send: Any,
        error: RequestError,
        declared: int | None,
        *,
        received: bool,
        coded: str,
    ) -> None:
        """The JSON-RPC refusal of a body `rlmx.server.body` refused (`error`, its RequestError); `coded`: the
        Content-Encoding being undone when it came ("" while the body was read)."""
        message: str = error.message
        if error.status == 413 and coded:
            message = body_too_large(self.max_bytes).replace(
                "Request body too large", f"Request body too large once its {coded} Content-Encoding is decoded", 1
            )
        elif error.status == 413:
            message = body_too_large(self.max_bytes, declared)
        elif error.status == 408:
            message = (
                f"Request Timeout: the request body did not arrive within {self.timeout:g} s (--body-timeout): send "
                "the whole body at once, or add a higher --body-timeout S to the server's arguments"
            )
            await _refuse_http(408, message, send, [(b"connection", b"close")])
            return
        headers = [(name.lower().encode(), value.encode()) for name, value in error.headers.items()]
        if error.status in (413, 415, 429):  # refused before the body was read whole: its rest is drained
            await self._refuse(scope, receive, send, error.status, message, received=received, headers=headers)
            return
        await _refuse_http(error.status, message, send, headers)

    async def _refuse(
        self,
        scope: dict[str, Any],
        receive: Any,
        send: Any,
        status: int,
        message: str,
        *,
        received: bool,
        headers: Iterable[tuple[bytes, bytes]] = (),
    ) -> None:
        expect = (_header(scope, b"expect") or b"").strip().lower()
        drain = None
        if received or expect != b"100-continue":  # asking for it would invite the body the client waits to send
            drain = functools.partial(self._drain, receive, max(2 * self.max_bytes, DRAIN_BYTES))
        await _refuse_http(status, message, send, [(b"connection", b"close"), *headers], drain)

    async def _drain(self, receive: Any, most: int) -> None:
        """`_drain`, ended early by `stop_reading` (the refusal's response then ends at once)."""
        if self.stopped:
            return
        draining = anyio.CancelScope()
        self._reading.add(draining)
        try:
            with draining:
                await _drain(receive, most)
        finally:
            self._reading.discard(draining)


async def _drain(receive: Any, most: int) -> None:
    """Read and drop what is left of a refused request's body: at most `most` bytes, for at most DRAIN_SECONDS, and
    no longer than DRAIN_QUIET seconds without a byte."""
    dropped = 0
    end = anyio.current_time() + DRAIN_SECONDS
    while dropped < most:
        with anyio.move_on_after(max(0.0, min(DRAIN_QUIET, end - anyio.current_time()))) as waited:
            message = await receive()
        if waited.cancelled_caught or message["type"] != "http.request" or not message.get("more_body"):
            return
        dropped += len(message.get("body", b""))


def _declared_length(scope: dict[str, Any]) -> int | None:
    """The request's Content-Length as a number; None without one (the server refuses one that is not a number)."""
    value = _header(scope, b"content-length")
    try:
        return None if value is None else int(value)
    except ValueError:
        return None


class RefusalsAsJSONRPC:
    """ASGI middleware around the SDK's streamable HTTP app: each of its refusals that is not JSON (its text/plain
    400 "Invalid Content-Type header" for a body not declared as JSON, its 413 "Request body too large", Starlette's
    404 for another path) is answered with a JSON-RPC error (id null) that says what to send instead, as rlmx's own
    refusals on this transport are; the SDK's client reported the text ones as -32603 "Server returned an error
    response". A body not declared as JSON gets 415 (as `rlmx serve` answers it). The SDK's JSON refusals stand."""

    def __init__(self, app: Any, max_bytes: int = DEFAULT_MAX_REQUEST_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        held: dict[str, Any] | None = None  # the start of a refusal that is not JSON, until its body is read
        text: list[bytes] = []

        async def as_jsonrpc(message: dict[str, Any]) -> None:
            nonlocal held
            if message["type"] == "http.response.start" and message["status"] >= 400:
                media = dict(message.get("headers", [])).get(b"content-type", b"")
                if not media.lower().startswith(b"application/json"):
                    held = message
                    return
            if held is not None and message["type"] == "http.response.body":
                text.append(message.get("body", b""))
                if message.get("more_body"):
                    return
                status, reason = self._refusal(scope, held["status"], b"".join(text))
                kept = [
                    (k, v) for k, v in held.get("headers", []) if k.lower() not in (b"content-type", b"content-length")
                ]
                held = None
                await _refuse_http(status, reason, send, kept)
                return
            await send(message)

        await self.app(scope, receive, as_jsonrpc)

    def _refusal(self, scope: dict[str, Any], status: int, said: bytes) -> tuple[int, str]:
        """The status and JSON-RPC error message for the SDK's plain refusal `said` with `status`."""
        words = said.decode("utf-8", "replace").strip()
        if words == "Invalid Content-Type header":
            given = _header(scope, b"content-type")
            sent = "with no Content-Type" if given is None else f"as Content-Type {given.decode('latin-1')[:100]!r}"
            return 415, (
                f"Unsupported Media Type: the body was sent {sent}, not JSON: send the JSON-RPC message with "
                "`Content-Type: application/json` (curl: -H 'Content-Type: application/json')"
            )
        if status == 413:
            return 413, body_too_large(self.max_bytes)
        if status == 404 and not words.startswith("{"):
            return 404, f"Not Found: {scope.get('path', '')!r} is no endpoint of this server; MCP is served at /mcp"
        phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
        return status, f"{phrase}: {words}" if words and words != phrase else phrase


async def _whole_request(receive: Any) -> dict[str, Any]:
    """An ASGI request's body read whole, as one `http.request` message the app can be given in place of its
    pieces; or the message that came instead (`http.disconnect`: the client went away first)."""
    chunks: list[bytes] = []
    while True:
        message: dict[str, Any] = await receive()
        if message["type"] != "http.request":
            return message
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return {"type": "http.request", "body": b"".join(chunks), "more_body": False}


def _http_exchange(scope: dict[str, Any]) -> Hashable:
    """The exchange an HTTP POST belongs to for its lone-surrogate ids: its MCP session (Mcp-Session-Id), where a
    later POST may cancel its requests; else the POST alone."""
    for name, value in scope.get("headers", ()):
        if name == b"mcp-session-id":  # ASGI names are lower case
            return ("mcp-session", bytes(value))
    return ("post", object())


class _IdsRestoredHTTP:
    """An HTTP reply's ASGI send, writing each stand-in id (`LoneSurrogateIds.given_in`) as the client's own id: what
    `_IdsRestored` does on stdio. The SDK writes a reply whole in one body message (one SSE event, or the JSON
    answer); a start with a Content-Length is held until its body is seen, to give the new length."""

    def __init__(self, send: Any, stand_ins: dict[bytes, bytes]) -> None:
        self._send = send
        self._stand_ins = stand_ins
        self._start: dict[str, Any] | None = None

    async def __call__(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            if any(name.lower() == b"content-length" for name, _ in message.get("headers", [])):
                self._start = message
                return
        elif message["type"] == "http.response.body":
            body = message.get("body", b"")
            for stand_in, given in self._stand_ins.items():
                body = body.replace(stand_in, given)
            message = {**message, "body": body}
            if self._start is not None:
                start, self._start = self._start, None
                headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
                await self._send({**start, "headers": [*headers, (b"content-length", str(len(body)).encode())]})
        await self._send(message)


class BrowsersChecked:
    """ASGI middleware for streamable HTTP, in front of the SDK's app whatever the bind address.

    Origin (the spec: servers MUST validate it, against DNS rebinding): a request whose Origin is not allowed gets
    403 and a JSON-RPC error; the SDK checked it only on a loopback bind, so `--host 0.0.0.0` let any web page the
    user opened call the tools. A request without Origin (CLI and editor clients; browsers send it on every POST)
    passes. `allowed`: exact origins ("https://app.example") or any port ("http://localhost:*"). With `check_host`
    (a loopback bind), a Host that does not name this machine (a rebound name) gets 421. The checks are
    `rlmx.http_access`'s, which `rlmx serve` makes too.

    Last-Event-ID on a GET: there is no event store, so nothing can be replayed; the SDK answered 500 and the
    reconnecting client (TypeScript SDK: VS Code, Claude Code, Cursor) lost its stream. The header is dropped, and
    the client gets a fresh stream, as the spec allows (the server MAY replay)."""

    def __init__(
        self,
        app: Any,
        allowed: tuple[str, ...] = LOOPBACK_ORIGINS,
        *,
        check_host: bool = False,
        allowed_hosts: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self.origins = Origins(allowed)
        self.check_host = check_host
        self.allowed_hosts = allowed_hosts

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refused = refusal(
            scope,
            self.origins,
            check_host=self.check_host,
            command="rlmx mcp --http",
            origin_flag="--allow-origin",
            allowed_hosts=self.allowed_hosts,
        )
        if refused is not None:
            await _refuse_http(refused.status, encodable(refused.message), send)
            return
        headers: list[tuple[bytes, bytes]] = scope.get("headers", [])
        if scope.get("method") == "GET" and any(name == b"last-event-id" for name, _ in headers):
            kept = [(name, value) for name, value in headers if name != b"last-event-id"]
            scope = {**scope, "headers": kept}
        await self.app(scope, receive, send)


class KeyRequired:
    """ASGI middleware: every HTTP request must carry `Authorization: Bearer <api_key>` (--server-api-key-env), else
    401 with a JSON-RPC error. The default sandbox tier reaches 127.0.0.1: without a key, a cell of any question
    could call this server's own tools and read the granted folders."""

    def __init__(self, app: Any, api_key: str) -> None:
        self.app = app
        self._expected = key_bytes(api_key)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers", [])).get(b"authorization", b"")
        if carries_key(given, self._expected):
            await self.app(scope, receive, send)
            return
        what = "no API key was sent" if not given else "the API key sent is not this server's"
        message = (
            f"Unauthorized: {what}. Send `Authorization: Bearer <key>` with the key the server was started with "
            "(--server-api-key-env VAR, or RLMX_SERVER_API_KEY): give it as a header in the MCP client's "
            "configuration for this server"
        )
        await _refuse_http(401, message, send, [(b"www-authenticate", b"Bearer")])


async def _refuse_http(
    status: int,
    message: str,
    send: Any,
    headers: Iterable[tuple[bytes, bytes]] = (),
    then: Callable[[], Awaitable[None]] | None = None,
    code: int = INVALID_REQUEST,
) -> None:
    """An HTTP refusal with a JSON-RPC error (id null; `code`, -32600 unless given) as its body, before the SDK sees
    the request. `then`, when given, is awaited once the whole body is written and before the response ends (the
    server reads no more of the request after that): a client reading while it sends has the refusal meanwhile."""
    body = _error_reply(None, code, message).model_dump_json(by_alias=True, exclude_unset=True).encode()
    start = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *headers]
    await send({"type": "http.response.start", "status": status, "headers": start})
    await send({"type": "http.response.body", "body": body, "more_body": then is not None})
    if then is not None:
        await then()
        await send({"type": "http.response.body", "body": b"", "more_body": False})


_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def not_utf8(body: bytes) -> str | None:
    """What makes `body` (a message that failed to parse) not UTF-8 text, as a client can act on it; None when it is
    UTF-8. A NUL byte, which JSON text never holds raw, is UTF-16's (or UTF-32's) zero half of an ASCII character."""
    if body.startswith(_UTF16_BOMS):
        return "the body is UTF-16 (it starts with a UTF-16 byte order mark), not UTF-8"
    nul = body.find(b"\x00")
    if nul != -1:
        return f"the body holds a NUL byte (byte {nul}), as UTF-16 or UTF-32 text does, not UTF-8 JSON"
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as error:
        return f"the body is not valid UTF-8 ({error}); if it is Latin-1 or another charset, re-encode it"
    return None


def _unreadable_body_answer(body: bytes, answer: bytes) -> bytes | None:
    """The JSON-RPC error(s) `replies_to_unreadable` gives a POST body, when `answer` is the SDK's 400 for a body that
    is JSON but no message (-32602 "Validation error"); else None, the SDK's answer standing. Several replies (a
    batch) go out as a JSON array; a batch with nothing to answer still gets one error: HTTP needs a reply. The SDK's
    parse error for a body that is not UTF-8 ("expected value at line 1 column 1") is made one naming the encoding."""
    if b'"code":-32700' in answer:
        problem = not_utf8(body)
        if problem is None:
            return None
        reply = _error_reply(None, PARSE_ERROR, f"Parse error: {problem}; send the JSON-RPC message as UTF-8")
        return reply.model_dump_json(by_alias=True, exclude_unset=True).encode()
    if b"Validation error" not in answer or b'"code":-32602' not in answer:
        return None
    try:
        jsonrpc_message_adapter.validate_json(body, by_name=False)
    except ValidationError as error:
        replies = replies_to_unreadable(error, notifications_answered=True) or [
            _error_reply(None, INVALID_REQUEST, NO_BATCHES)
        ]
    else:
        return None
    dumped = [reply.model_dump(by_alias=True, exclude_unset=True, mode="json") for reply in replies]
    return json.dumps(dumped[0] if len(dumped) == 1 else dumped, ensure_ascii=False, separators=(",", ":")).encode()


@dataclass(frozen=True, slots=True)
class Grant:
    """Where paths may come from: `allowed` (from --allow) when given, else the client's MCP roots when it offers
    some, else `default` (the folder the server started in)."""

    allowed: Roots | None
    default: Path

    def describe(self) -> str:
        """Which folders are readable, in words, for the tools' descriptions."""
        if self.allowed is not None:
            return f"Readable folders: {', '.join(str(f) for f in self.allowed.folders)}."
        if _too_wide(self.default):
            return "Readable folders: the client's MCP roots (none else: the server was started without --allow)."
        return f"Readable folders: the client's MCP roots, or else {self.default.resolve()}."

    async def roots(self, ctx: Context) -> Roots | InputRequiredResult:
        """--allow's folders; else the client's roots (none that exist here: every path is refused, never widened
        to another folder); else the folder the server started in, unless that is `/` or the home folder (where
        launchers start servers: Claude Desktop starts them in `/`), which would grant every file. A client of the
        2026-07-28 protocol is asked for its roots with the InputRequiredResult returned (see `_client_roots`)."""
        if self.allowed is not None:
            return self.allowed
        client = await _client_roots(ctx)
        if isinstance(client, InputRequiredResult):
            return client
        if client is not None and client.failure is not None:
            return Roots.none(
                f"the client offers MCP roots, but {client.failure}; start rlmx mcp with --allow PATH, or pass the "
                "text itself"
            )
        if client is not None and client.folders:
            return Roots(client.folders, "the client's MCP roots")
        if client is not None:
            listed = ", ".join(client.listed[:5]) or "none"
            return Roots.none(
                f"the client granted no folder (nor file) that exists on this machine (its MCP roots: {listed}); "
                "open the project's folder in the client, or start rlmx mcp with --allow PATH"
            )
        if _too_wide(self.default):
            return Roots.none(
                f"no folder is granted: the server was started in {self.default.resolve()} without --allow, and "
                'does not grant that whole tree by itself; add --allow PATH to its arguments (args: ["mcp", '
                '"--allow", "/path/to/project"] in the client\'s MCP configuration), or pass the text itself'
            )
        return Roots([self.default.resolve()], "the folder the server started in")


def _too_wide(folder: Path) -> bool:
    """Whether `folder` is the file system's root or the user's home folder: never granted implicitly."""
    resolved = folder.resolve()
    try:
        home = Path.home().resolve()
    except (RuntimeError, KeyError):  # no home known
        home = None
    return resolved == Path(resolved.anchor) or resolved == home


CLIENT_ADDED_ARGUMENTS = frozenset({"toolCallId", "tool_call_description"})
"""Argument keys some MCP clients add to every call themselves (n8n's toolCallId, cyanheads/mcp-ts-core#453): the
model never wrote them and cannot leave them out, so they are ignored, as are keys starting with `_` (`_meta`)."""


class RLMXServer(MCPServer):
    """The SDK's MCPServer, told to answer where it kept silent: unknown tool arguments are refused (the SDK dropped
    them, and a misplaced budget limit went unapplied); over stdio, each line that is not a JSON-RPC message gets its
    JSON-RPC error (the SDK dropped it, and the client waited for good); bad request params say what is wrong."""

    def __init__(self, name: str, **settings: Any) -> None:
        super().__init__(name, middleware=[_detailed_invalid_params], **settings)
        self._argument_names: dict[str, tuple[str, ...]] = {}

    def close_argument_schemas(self) -> None:
        """Every tool's input schema says `additionalProperties: false`, as `call_tool` enforces."""
        for tool in self._tool_manager.list_tools():
            tool.parameters["additionalProperties"] = False
            self._argument_names[tool.name] = tuple(tool.parameters.get("properties", {}))

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        """The SDK's, but an unknown tool is -32602 (Invalid params), as the spec's tools page says (the SDK made it
        a tool result with isError, which a client cannot tell from a tool that ran and failed); unknown arguments
        and bad ones come back as tool errors saying what to fix."""
        if self._tool_manager.get_tool(name) is None:
            raise MCPError(INVALID_PARAMS, self._unknown_tool(name))
        known = self._argument_names.get(name)
        if known is not None:
            _refuse_unknown_arguments(name, arguments, known)
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            if not isinstance(exc.__cause__, ValidationError):
                raise
            problems = _argument_problems(exc.__cause__, self._argument_model(name))
            raise ToolError(encodable(f"bad arguments for {name}: {problems}")) from None

    async def get_prompt(
        self, name: str, arguments: dict[str, Any] | None = None, context: Context[Any, Any] | None = None
    ) -> GetPromptResult | InputRequiredResult:
        """The SDK's, but an unknown name is -32602 (Invalid params), as the spec says: the SDK answered code 0."""
        if self._prompt_manager.get_prompt(name) is None:
            known = ", ".join(p.name for p in self._prompt_manager.list_prompts())
            listed = f"its prompts: {known}" if known else "this server has no prompts (use its tools)"
            raise MCPError(INVALID_PARAMS, encodable(f"Unknown prompt: {name[:200]}; {listed}"))
        return await super().get_prompt(name, arguments, context)

    def _unknown_tool(self, name: str) -> str:
        """ "Unknown tool: NAME", then the tools there are and the one NAME may mean."""
        tools = [tool.name for tool in self._tool_manager.list_tools()]
        close = difflib.get_close_matches(name, tools, n=1)
        meant = f" (did you mean {close[0]}?)" if close else ""
        return encodable(f"Unknown tool: {name[:200]}{meant}; this server's tools: {', '.join(tools)}")

    def _argument_model(self, tool: str) -> type[BaseModel] | None:
        found = self._tool_manager.get_tool(tool)
        return found.fn_metadata.arg_model if found is not None else None

    async def run_stdio_async(self, stdin: StdinCopy | None = None) -> None:
        """Serve over stdin and stdout as the SDK does, answering the lines it cannot read, until stdin ends or
        stdout breaks. A client that stops reading stdout (its reader died, or it closed the pipe) can hear nothing
        more: the server stops at once (its calls cancelled, their REPLs killed) and ends quietly, as on stdin's
        EOF, with one line on stderr. `stdin`: the copy of stdin that fd 0 is, ended with the serving so that the
        SDK's reader, which the SDK waits for, sees EOF."""
        lowlevel = self._lowlevel_server
        # The SDK points fd 1 at stderr while serving and writes through a private copy: watch a copy of the real
        # stdout taken before, so that a reader gone while nothing is written (an idle session, a long silent
        # cell) is noticed too, not at the next write only.
        wire = _stdout_copy()
        try:
            async with anyio.create_task_group() as serving:
                if wire is not None:
                    serving.start_soon(_raise_when_unread, wire)
                async with stdio_server() as (read_stream, sdk_write_stream):
                    write_stream = _IdsRestored(sdk_write_stream, LONE_SURROGATE_IDS)
                    in_flight = _InFlightIds(LONE_SURROGATE_IDS)
                    messages = _AnsweringUnreadable(read_stream, write_stream, in_flight)
                    answers = _Settling(write_stream, in_flight)
                    try:
                        await lowlevel.run(messages, answers, lowlevel.create_initialization_options())
                    finally:
                        if stdin is not None:
                            stdin.end()
                serving.cancel_scope.cancel()  # stdin ended: the watcher's work is done
        except* BrokenPipeError:
            with contextlib.suppress(OSError):
                print("rlmx: the client stopped reading stdout; stopping", file=sys.stderr, flush=True)
        finally:
            if wire is not None:
                os.close(wire)


STDOUT_CHECK_SECONDS = 0.5
"""How often a stdio server looks whether its stdout still has a reader."""


def _stdout_copy() -> int | None:
    """A copy of fd 1 (not inherited by children) to watch, or None where it cannot be watched (no poll())."""
    if not hasattr(select, "poll"):
        return None
    try:
        return os.dup(1)
    except OSError:
        return None


def reader_gone(fd: int) -> bool:
    """Whether nothing can read what is written to `fd` any more: a pipe whose read end is closed reports POLLERR, a
    socket whose peer closed POLLHUP (a terminal hung up too); a file, /dev/null or a pipe with its reader reports
    none of them."""
    poller = select.poll()
    poller.register(fd, 0)  # no event asked: POLLERR, POLLHUP and POLLNVAL are reported whatever is asked
    return any(events & (select.POLLERR | select.POLLHUP | select.POLLNVAL) for _, events in poller.poll(0))


async def _raise_when_unread(fd: int) -> None:
    """BrokenPipeError once `fd`'s reader is gone, as a write to it would raise: the serving stops that way."""
    while not reader_gone(fd):
        await anyio.sleep(STDOUT_CHECK_SECONDS)
    raise BrokenPipeError(f"fd {fd} has no reader any more")


def _refuse_unknown_arguments(tool: str, arguments: dict[str, Any], known: tuple[str, ...]) -> None:
    """ToolError naming each argument `tool` does not take, and where it may belong; nothing has run yet."""
    unknown = [key for key in arguments if key not in known and not _client_added(key)]
    if not unknown:
        return
    named = "; ".join(_where_it_belongs(key, known) for key in unknown)
    raise ToolError(
        encodable(f"unknown argument{'s' if len(unknown) > 1 else ''} {named}. {tool} takes: {', '.join(known)}")
    )


def _client_added(key: str) -> bool:
    return key.startswith("_") or key in CLIENT_ADDED_ARGUMENTS


def _where_it_belongs(key: str, known: tuple[str, ...]) -> str:
    """`key`, an argument `known` does not hold, with the one it likely means. Among the budget's limits, which all
    share `max_`, the meaning decides (`limit_meant`: `max_turns` is max_iterations, never max_usd); beside
    `budget`, a limit, even misspelt, is sent into it."""
    meant = limit_meant(key)
    if "budget" in known and meant is not None:
        return f'{key} (a limit: give it inside budget, as {{"budget": {{"{meant}": ...}}}})'
    if known and set(known) <= set(LIMIT_NAMES):
        return f"{key} (did you mean {meant}?)" if meant in known else key
    close = difflib.get_close_matches(key, known, n=1)
    return f"{key} (did you mean {close[0]}?)" if close else key


def _argument_problems(error: ValidationError, model: type[BaseModel] | None) -> str:
    """Each bad argument, however deep (budget.max_iteration), as one readable "where: what to fix"; pydantic's own
    text carries [type=...] tags and a URL an agent cannot act on."""
    return "; ".join(_argument_problem(problem, model) for problem in error.errors(include_url=False)[:5])


def _argument_problem(problem: Any, model: type[BaseModel] | None) -> str:
    where = ".".join(str(part) for part in problem["loc"])
    kind = problem["type"]
    if kind == "extra_forbidden":
        known = _field_names(model, problem["loc"][:-1])
        hint = _where_it_belongs(str(problem["loc"][-1]), known)
        inside = "".join(f"{part}." for part in problem["loc"][:-1])
        return f"unknown argument {inside}{hint}; {inside.rstrip('.') or 'it'} takes: {', '.join(known)}"
    if kind == "list_type":
        return f"{where}: expected a list, as {json.dumps([problem['input']])[:200]}"
    return f"{where}: {problem['msg']} (got {json.dumps(problem['input'], default=repr)[:200]})"


def _field_names(model: type[BaseModel] | None, loc: tuple[Any, ...]) -> tuple[str, ...]:
    """The field names of the pydantic model found at `loc` inside `model` (Optional unwrapped), or () if none."""
    for part in loc:
        field = model.model_fields.get(str(part)) if model is not None else None
        if field is None:
            return ()
        candidates = [field.annotation, *getattr(field.annotation, "__args__", ())]
        model = next((c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None)
    return tuple(model.model_fields) if model is not None else ()


def _problems(error: ValidationError) -> str:
    """What a validation error found wrong, one "where: what" each (the first five)."""
    return "; ".join(f"{'.'.join(str(part) for part in e['loc'])}: {e['msg']}" for e in error.errors()[:5])


def _roots_problem(error: ValidationError) -> str:
    """`_problems`, unless the client's answer to the roots request is what failed: the SDK tries it as each kind of
    answer (roots, sampling, elicitation) and lists the others' missing fields, which tell the client nothing. Plain
    absolute paths are made URIs before that (`roots_answer_as_uris`); what is left is told in the roots' terms."""
    errors = [found for found in error.errors() if ROOTS_INPUT in found["loc"]]
    if not errors:
        return _problems(error)
    given = next((repr(found["input"])[:200] for found in errors if found["loc"][-1] == "uri"), None)
    return encodable(
        f'inputResponses.{ROOTS_INPUT}: the answer to roots/list must be {{"roots": [{{"uri": "file:///abs/path", '
        '"name": "..."}]}: each root a file:// URI (or an absolute path) of a folder or file'
        + (f" (got {given})" if given else "")
    )


async def _detailed_invalid_params(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
    """The SDK's -32602 "Invalid request parameters", with what is wrong: it said no more, for a request before
    initialize as for `arguments` given as a list."""
    try:
        return await call_next(ctx)
    except ValidationError as exc:
        raise MCPError(INVALID_PARAMS, encodable(f"Invalid request parameters: {_roots_problem(exc)}")) from None
    except MCPError as exc:
        generic = exc.error.code == INVALID_PARAMS and exc.error.message == "Invalid request parameters"
        if generic and not exc.error.data and ctx.session.client_params is None:  # the SDK's gate before initialize
            raise MCPError(
                INVALID_PARAMS,
                f"Invalid request parameters: {encodable(ctx.method)} came before initialize; send initialize "
                "first (then notifications/initialized)",
            ) from None
        raise


ID_IN_FLIGHT = (
    'Invalid Request: request id {} is already in flight: a request with that id is not answered yet (4 and "4" '
    "are one id to this server). Give each request in flight an id of its own, so that a cancel names one request"
)


class _InFlightIds:
    """The ids of the requests read and not yet settled (answered, or cancelled and so never answered), as the SDK
    files them: `coerce_request_id` makes 4 and "4" one id, and a second request with an id in flight took the
    first one's place, so a cancel stopped the wrong one. A lone-surrogate id counts as the client wrote it (each
    of its requests gets a stand-in of its own)."""

    def __init__(self, stand_ins: LoneSurrogateIds) -> None:
        self._stand_ins = stand_ins
        self._ids: set[Hashable] = set()

    def _key(self, request_id: RequestId) -> Hashable:
        stood_for = self._stand_ins.stood_for(request_id)
        return coerce_request_id(request_id) if stood_for is None else ("lone-surrogate-id", stood_for)

    def take(self, request_id: RequestId) -> bool:
        """Whether `request_id` was free; it is in flight now."""
        key = self._key(request_id)
        if key in self._ids:
            return False
        self._ids.add(key)
        return True

    def settle(self, request_id: RequestId) -> None:
        self._ids.discard(self._key(request_id))


def _id_in_flight(request_id: RequestId, stand_ins: LoneSurrogateIds) -> JSONRPCError:
    """The refusal of a request whose id is in flight, sent with the id it gave."""
    stood_for = stand_ins.stood_for(request_id)
    given = stood_for[1] if stood_for is not None else json.dumps(request_id, ensure_ascii=False)
    given = given if len(given) <= 40 else given[:37] + "..."
    return _error_reply(request_id, INVALID_REQUEST, encodable(ID_IN_FLIGHT.format(given)))


class _Settling(_WriteStreamOver):
    """The stdio transport's write stream, settling each request in flight (`_InFlightIds`) as its reply goes out."""

    def __init__(self, stream: WriteStream[SessionMessage], in_flight: _InFlightIds) -> None:
        super().__init__(stream)
        self._in_flight = in_flight

    async def send(self, item: SessionMessage, /) -> None:
        message = item.message
        if isinstance(message, JSONRPCResponse | JSONRPCError) and message.id is not None:
            self._in_flight.settle(message.id)
        await self._stream.send(item)


def _settled_unanswered(item: SessionMessage, settle: Callable[[], None]) -> SessionMessage:
    """`item` (a request) carrying a hook the SDK runs when the request settles with no reply (it was cancelled):
    `settle()`, then any hook it had."""
    metadata = item.metadata
    if metadata is not None and not isinstance(metadata, ServerMessageMetadata):
        return item
    previous = metadata.on_request_unanswered if metadata is not None else None

    async def unanswered() -> None:
        settle()
        if previous is not None:
            await previous()

    if metadata is None:
        return SessionMessage(item.message, ServerMessageMetadata(on_request_unanswered=unanswered))
    return SessionMessage(item.message, dataclasses.replace(metadata, on_request_unanswered=unanswered))


class _AnsweringUnreadable:
    """The stdio transport's read stream, less the lines it could not read as a JSON-RPC message (it passes on their
    parse error, which the SDK only logs): each gets its JSON-RPC error reply on `replies` instead. So does a
    request whose id is already in flight (`_InFlightIds`): the SDK took it in the first one's place."""

    def __init__(
        self,
        messages: ReadStream[SessionMessage | Exception],
        replies: WriteStream[SessionMessage],
        in_flight: _InFlightIds | None = None,
    ) -> None:
        self._messages = messages
        self._replies = replies
        self._in_flight = in_flight

    @property
    def last_context(self) -> Any:
        """The sender's context of the last message, as the SDK's own stream keeps it."""
        return getattr(self._messages, "last_context", None)

    async def receive(self) -> SessionMessage | Exception:
        while True:
            item = await self._messages.receive()
            if isinstance(item, Exception):
                await self._reply(replies_to_unreadable(item))
                continue
            request = item.message
            if self._in_flight is None or not isinstance(request, JSONRPCRequest):
                return item
            if self._in_flight.take(request.id):
                return _settled_unanswered(item, functools.partial(self._in_flight.settle, request.id))
            await self._reply([_id_in_flight(request.id, LONE_SURROGATE_IDS)])

    async def _reply(self, replies: list[JSONRPCError]) -> None:
        for reply in replies:
            with contextlib.suppress(anyio.ClosedResourceError, anyio.BrokenResourceError):
                await self._replies.send(SessionMessage(reply))

    async def aclose(self) -> None:
        await self._messages.aclose()

    def __aiter__(self) -> _AnsweringUnreadable:
        return self

    async def __anext__(self) -> SessionMessage | Exception:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    async def __aenter__(self) -> _AnsweringUnreadable:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


NOT_A_MESSAGE = (
    'Invalid Request: not a JSON-RPC 2.0 message (an object with "jsonrpc": "2.0" and a "method", or the '
    '"result" or "error" of a request)'
)
BAD_ID = (
    'Invalid Request: the "id" {} is not a string or an integer; give each request a string or integer id '
    '(or leave "id" out of a notification)'
)
NO_BATCHES = "Invalid Request: batches (JSON arrays) are not supported; send each message by itself"
PARAMS_BY_POSITION = (
    "Invalid params: {} got its params as an array (by position); MCP's params are an object of named members "
    '(as {{"name": ..., "arguments": {{...}}}} for tools/call): send them as an object, or leave "params" out'
)


def replies_to_unreadable(error: Exception, *, notifications_answered: bool = False) -> list[JSONRPCError]:
    """The JSON-RPC error replies for a line the stdio transport could not read as a message (`error`: the SDK's
    ValidationError for it). Not JSON: a parse error. A batch: an Invalid Request for each request in it, with its
    id, so the client's wait for each ends. A request whose id is not a string or an integer: an Invalid Request
    saying so, id null (MCP ids are strings or integers, never null). A JSON-RPC 2.0 request whose params are an
    array (by position, which JSON-RPC allows and MCP does not): Invalid params, saying MCP's are an object; such a
    notification gets no reply (JSON-RPC answers no notification), unless `notifications_answered` (an HTTP body
    must get one: id null). Any other JSON: an Invalid Request, with the id it gave, if it did. Over HTTP a body the
    SDK cannot read gets the same replies."""
    problems = error.errors() if isinstance(error, ValidationError) else []
    if not problems or problems[0]["type"] == "json_invalid":
        line = problems[0]["input"] if problems else None
        if isinstance(line, str) and not line.strip():
            return []  # a blank line: nothing to answer
        detail = problems[0]["msg"] if problems else f"{type(error).__name__}"
        return [_error_reply(None, PARSE_ERROR, f"Parse error: {detail}; send one JSON-RPC message per line")]
    value = _unreadable_value(problems)
    if isinstance(value, list):
        if not value:
            return [_error_reply(None, INVALID_REQUEST, NO_BATCHES)]
        return [_error_reply(_request_id(item), INVALID_REQUEST, NO_BATCHES) for item in value if _answerable(item)]
    if _has_unusable_id(value):
        given = json.dumps(value["id"], ensure_ascii=False)
        given = given if len(given) <= 40 else given[:37] + "..."
        return [_error_reply(None, INVALID_REQUEST, encodable(BAD_ID.format(given)))]
    if _params_by_position(value):
        if "id" not in value and not notifications_answered:
            return []
        message = PARAMS_BY_POSITION.format(json.dumps(value["method"], ensure_ascii=False)[:200])
        return [_error_reply(_request_id(value), INVALID_PARAMS, encodable(message))]
    return [_error_reply(_request_id(value), INVALID_REQUEST, NOT_A_MESSAGE)]


def _params_by_position(value: Any) -> bool:
    """Whether `value` is a JSON-RPC 2.0 request or notification whose params are an array: JSON-RPC 2.0 (params
    by position), but not MCP, whose params are always an object."""
    return (
        isinstance(value, dict)
        and value.get("jsonrpc") == "2.0"
        and isinstance(value.get("method"), str)
        and isinstance(value.get("params"), list)
    )


def _unreadable_value(problems: list[Any]) -> Any:
    """The JSON value that is not a message, from pydantic's problems with it: a union member that wanted an object
    (`model_type`) or missed a member of it (`missing`) names the value as a whole."""
    for problem in problems:
        depth = len(problem["loc"])
        if (problem["type"] == "model_type" and depth == 1) or (problem["type"] == "missing" and depth == 2):
            return problem["input"]
    return None


def _request_id(value: Any) -> str | int | None:
    """The id of what looks like a request (a method and an id), else None: JSON-RPC's id for "not known"."""
    if not isinstance(value, dict) or "method" not in value:
        return None
    request_id = value.get("id")
    return request_id if isinstance(request_id, str | int) and not isinstance(request_id, bool) else None


def _answerable(item: Any) -> bool:
    """Whether a batch member gets a reply: a request does, and so does anything that is no message at all; a
    notification and a response (an object without a method, with a result or an error) do not."""
    if not isinstance(item, dict):
        return True
    if "method" in item:
        return "id" in item
    return not ("result" in item or "error" in item)


def _error_reply(request_id: str | int | None, code: int, message: str) -> JSONRPCError:
    return JSONRPCError(jsonrpc="2.0", id=request_id, error=ErrorData(code=code, message=message))


def build_server(service: RLMService, grant: Grant) -> RLMXServer:
    """An MCPServer with the five rlmx tools. Bad input and refused paths come back as tool errors (is_error)."""
    readable = f"{grant.describe()} {_models(service)}"
    # WARNING: the SDK logs each refused call at INFO on stderr (a box per call, audit 81), which the client also
    # gets as a tool error saying what to fix
    server = RLMXServer("rlmx", version=__version__, instructions=f"{INSTRUCTIONS} {readable}", log_level="WARNING")
    # Each tool's hints say what it does (MCP ToolAnnotations): clients auto-approve read-only tools and retry
    # idempotent ones on a timeout, so a retried rlm_session_start must not be told safe (each call opens a session).
    asking = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=False, open_world_hint=True)
    estimating = ToolAnnotations(
        read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
    )
    opening = ToolAnnotations(
        read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=False
    )
    # a question adds a turn to its session (history, REPL variables): an update, additive
    continuing = ToolAnnotations(
        read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True
    )
    ending = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=False)

    @server.tool(description=f"{ASK_DESCRIPTION} {readable}", annotations=asking)
    async def rlm_ask(
        query: Query, ctx: Context, paths: Paths = None, text: Text = None, budget: BudgetArg = None
    ) -> dict[str, Any]:
        roots = await _roots_for(grant, ctx, paths)
        if isinstance(roots, InputRequiredResult):
            return _asking(roots)
        reply = await _reporting(ctx, lambda emit: service.ask(roots, query, paths, text, _limits(budget), emit))
        return _as_tool_result(reply)

    @server.tool(description=f"{ESTIMATE_DESCRIPTION} {readable}", annotations=estimating)
    async def rlm_estimate(query: Query, ctx: Context, paths: Paths = None, text: Text = None) -> dict[str, Any]:
        roots = await _roots_for(grant, ctx, paths)
        if isinstance(roots, InputRequiredResult):
            return _asking(roots)
        # Reading a large folder blocks: do it off the event loop, so progress and cancellation still flow.
        work = anyio.to_thread.run_sync(service.estimate, roots, query, paths, text)
        return await _refusing(work)

    @server.tool(description=f"{SESSION_START_DESCRIPTION} {readable}", annotations=opening)
    async def rlm_session_start(ctx: Context, paths: Paths = None, text: Text = None) -> dict[str, Any]:
        roots = await _roots_for(grant, ctx, paths)
        if isinstance(roots, InputRequiredResult):
            return _asking(roots)
        return await _refusing(service.session_start(roots, paths, text, owner=_client(ctx)))

    @server.tool(description=f"{SESSION_ASK_DESCRIPTION} {readable}", annotations=continuing)
    async def rlm_session_ask(
        session_id: SessionId,
        query: Query,
        ctx: Context,
        paths: Paths = None,
        text: Text = None,
        budget: BudgetArg = None,
    ) -> dict[str, Any]:
        roots = await _roots_for(grant, ctx, paths)
        if isinstance(roots, InputRequiredResult):
            return _asking(roots)
        reply = await _reporting(
            ctx,
            lambda emit: service.session_ask(
                roots, session_id, query, paths, text, _limits(budget), emit, owner=_client(ctx)
            ),
        )
        return _as_tool_result(reply)

    @server.tool(description=SESSION_END_DESCRIPTION, annotations=ending)
    async def rlm_session_end(session_id: SessionId, ctx: Context) -> dict[str, Any]:
        return await _refusing(service.session_end(session_id, owner=_client(ctx)))

    _inline_schema_references(server)
    server.close_argument_schemas()
    return server


async def _roots_for(grant: Grant, ctx: Context, paths: list[str] | None) -> Roots | InputRequiredResult:
    """The folders a call's paths are checked against, or the request for the client's roots that the tool returns
    instead of running (2026-07-28 clients; they call again with the roots). A call without paths reads no folder,
    so nothing is asked of the client: a client that is slow to answer roots/list, or never does, must not hold up
    a text-only call."""
    if not paths:
        return Roots.none("the call gave no paths")
    return await _refusing(grant.roots(ctx))


def _asking(request: InputRequiredResult) -> dict[str, Any]:
    """`request` as a tool's value: the SDK passes an InputRequiredResult through as is (the tools stay annotated
    `dict` for their output schema)."""
    return cast(dict[str, Any], request)


def _client(ctx: Context) -> object | None:
    """The owner of the rlm sessions a call opens: the client's connection when it is an HTTP MCP session (one
    object for all its requests, gone when the client is; `ctx.session` is made anew for each request). None (any
    caller's) over stdio, where the process has one client, and for clients of the single-exchange protocol,
    whose every request is a connection of its own. The SDK keeps the connection as `_connection`."""
    connection = getattr(ctx.session, "_connection", None)
    return connection if getattr(connection, "session_id", None) else None


def _inline_schema_references(server: MCPServer) -> None:
    """Tool input schemas without `$ref`/`$defs` (the budget's object written in place): Gemini CLI, Copilot CLI
    and autogen fail on, or drop, references, while every client reads a schema written out whole."""
    for tool in server._tool_manager.list_tools():
        definitions = tool.parameters.pop("$defs", None)
        if definitions:
            tool.parameters = _dereferenced(tool.parameters, definitions)


def _dereferenced(schema: Any, definitions: dict[str, Any]) -> Any:
    if isinstance(schema, dict):
        reference = schema.get("$ref")
        if isinstance(reference, str) and reference.startswith("#/$defs/"):
            target = _dereferenced(definitions[reference.removeprefix("#/$defs/")], definitions)
            rest = {k: _dereferenced(v, definitions) for k, v in schema.items() if k != "$ref"}
            return {**target, **rest}
        return {k: _dereferenced(v, definitions) for k, v in schema.items()}
    if isinstance(schema, list):
        return [_dereferenced(item, definitions) for item in schema]
    return schema


def _models(service: RLMService) -> str:
    """The configured models in a sentence, so an agent knows what kind of question pays off."""
    root, sub = service.rlm.lm.model, service.rlm.sub_lm.model
    if root.startswith("guided-root"):
        return (
            f"Model: {sub}, driven by a fixed search recipe: it finds facts stated in the content (lookups), it does "
            "not plan analyses."
        )
    return f"Models: {root} writes the code" + ("." if sub == root else f", {sub} answers the sub-calls.")


def _limits(budget: CallBudget | None) -> dict[str, Any]:
    return {} if budget is None else budget.model_dump(exclude_none=True)


async def _refusing(work: Awaitable[T]) -> T:
    """`work`'s value; InputError (bad input, nothing spent) and other rlmx errors become a tool error. What goes
    back is text any client can take (`sendable`): a file name that is not UTF-8 (surrogate-escaped by the OS
    calls) made the SDK's writer fail, and the server exit."""
    try:
        return sendable(await work)
    except InputError as exc:
        raise ToolError(encodable(str(exc))) from None
    except RLMXError as exc:
        raise ToolError(encodable(f"{type(exc).__name__}: {exc}")) from None


def sendable(value: T) -> T:
    """`value` with every string in it (dict keys included) `encodable`: lone surrogates as U+FFFD."""
    if isinstance(value, str):
        return cast(T, encodable(value))
    if isinstance(value, dict):
        return cast(T, {sendable(k): sendable(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return cast(T, type(value)(sendable(v) for v in value))
    return value


def _as_tool_result(reply: dict[str, Any]) -> dict[str, Any]:
    """A run that ended in error is a tool error (`isError`), its reply kept as the structured content: clients act
    on the flag (an agent would read an empty answer as "nothing found")."""
    if reply.get("status") != "error":
        return reply
    text = json.dumps(reply, ensure_ascii=False, indent=2)
    # The SDK passes a CallToolResult through as is; the tools stay annotated `dict` for their output schema.
    return cast(
        dict[str, Any],
        CallToolResult(content=[TextContent(type="text", text=text)], structured_content=reply, is_error=True),
    )


async def _reporting(ctx: Context, start: Callable[[Emit], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
    """Run `start(listener)` in its own task, turning its events into progress notifications until it ends.

    A cancelled call (client cancellation, disconnect, shutdown) cancels the task once and waits for its cleanup
    under a shield: anyio re-cancels every await inside a cancelled scope, which would cut the cleanup short."""
    loop = asyncio.get_running_loop()
    loop_thread = threading.get_ident()
    events: asyncio.Queue[Event] = asyncio.Queue()

    def listen(event: Event) -> None:
        if threading.get_ident() == loop_thread:
            events.put_nowait(event)
        else:
            loop.call_soon_threadsafe(events.put_nowait, event)

    run = asyncio.ensure_future(_refusing(start(listen)))
    lines = ProgressLines()
    waiter: asyncio.Future[Event] | None = None
    try:
        while not run.done():
            waiter = asyncio.ensure_future(events.get())
            await asyncio.wait({waiter, run}, return_when=asyncio.FIRST_COMPLETED)
            if waiter.done():
                await _progress(ctx, lines, waiter.result())
            else:
                waiter.cancel()
        while not events.empty():  # the run's last events (its end) came with its result
            await _progress(ctx, lines, events.get_nowait())
        return run.result()
    finally:
        if waiter is not None:
            waiter.cancel()
        if not run.done():
            run.cancel()
            with anyio.CancelScope(shield=True):
                await asyncio.gather(run, return_exceptions=True)


async def _progress(ctx: Context, lines: ProgressLines, event: Event) -> None:
    line = lines(event)
    if not line:
        return
    # A client that is gone gets no progress; the cancellation that follows ends the run.
    with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError, MCPError, OSError):
        await ctx.report_progress(lines.count, None, encodable(line))


class ProgressLines:
    """The progress lines `rlmx ask` prints on stderr, one string per event that has one."""

    def __init__(self) -> None:
        self._buffer = io.StringIO()
        self._progress = Progress(Console(file=self._buffer, force_terminal=False, no_color=True, width=10_000))
        self.count = 0

    def __call__(self, event: Event) -> str:
        self._progress(event)
        text = self._buffer.getvalue().strip()
        self._buffer.seek(0)
        self._buffer.truncate()
        if text:
            self.count += 1
        return text


CLIENT_ANSWER_SECONDS = 5.0
"""How long the server waits for the client to answer a request of its own (roots/list): some clients advertise
roots and never answer, and the tool call waited with them, for good."""


@dataclass(frozen=True, slots=True)
class _ClientRoots:
    folders: list[Path]
    """Its roots that exist here: folders, or single files."""
    listed: list[str]
    """Every root it listed (their URIs)."""
    failure: str | None = None
    """Why it listed nothing: its roots/list failed, or went unanswered."""


ROOTS_INPUT = "rlmx-roots"
"""The key of the roots/list request in an InputRequiredResult, and of the client's answer when it calls again."""


async def _client_roots(ctx: Context) -> _ClientRoots | InputRequiredResult | None:
    """The client's roots; None when it offers none. No folder (none usable, or a roots/list that failed or got no
    answer in CLIENT_ANSWER_SECONDS) is a grant of nothing, not an absence of one. A client of the 2026-07-28
    protocol, where the server sends no request of its own, is asked the protocol's way: the call returns an
    InputRequiredResult holding the roots/list request, and the client calls again with its answer."""
    capabilities = ctx.client_capabilities
    if capabilities is None or capabilities.roots is None:
        return None
    if _single_exchange(ctx):
        answer = (ctx.input_responses or {}).get(ROOTS_INPUT)
        if answer is None:
            return InputRequiredResult(input_requests={ROOTS_INPUT: ListRootsRequest()})
        try:
            return _granted(_ListedRoots.model_validate(answer.model_dump(mode="json", by_alias=True)))
        except ValidationError as exc:
            return _ClientRoots([], [], f"its roots/list answer is not a list of roots ({_problems(exc)})")
    try:
        with anyio.fail_after(CLIENT_ANSWER_SECONDS), warnings.catch_warnings():
            warnings.simplefilter("ignore", MCPDeprecationWarning)  # roots stay the way handshake clients grant
            # Read with a looser shape than the SDK's (which requires file:// URIs): Cursor lists plain paths.
            listed = await ctx.session.send_request(ListRootsRequest(), _ListedRoots)
    except TimeoutError:
        return _ClientRoots([], [], f"it did not answer the server's roots/list request in {CLIENT_ANSWER_SECONDS:g} s")
    except ValidationError as exc:
        return _ClientRoots([], [], f"its roots/list answer is not a list of roots ({_problems(exc)})")
    except NoBackChannelError:
        return _ClientRoots([], [], "this connection cannot carry the server's roots/list request to it")
    except Exception as exc:  # a client that offers roots and cannot list them has granted nothing readable
        return _ClientRoots([], [], f"its roots/list failed: {str(exc)[:200] or type(exc).__name__}")
    return _granted(listed)


def _single_exchange(ctx: Context) -> bool:
    """Whether the call comes over the 2026-07-28 protocol, whose server sends no request of its own."""
    version = ctx.protocol_version
    return version is not None and is_version_at_least(version, SINGLE_EXCHANGE_VERSION)


SINGLE_EXCHANGE_VERSION = "2026-07-28"


def _granted(listed: _ListedRoots) -> _ClientRoots:
    """What the listed roots grant here."""
    granted: list[Path] = []
    for root in listed.roots:
        named = root_path(root.uri)
        # a root that is one file (an editor opened on a single file) grants that file
        if named is not None and Path(named).exists():
            granted.append(Path(named).resolve())
    return _ClientRoots(granted, [root.uri for root in listed.roots])


class _ListedRoot(BaseModel):
    model_config = ConfigDict(extra="allow")
    uri: str
    name: str | None = None


class _ListedRoots(BaseModel):
    """A roots/list result as clients send it: the spec's `file://` URIs, or plain absolute paths (Cursor)."""

    model_config = ConfigDict(extra="allow")
    roots: list[_ListedRoot]


def root_path(uri: str) -> str | None:
    """The local folder a listed root names: a `file://` URI's path, or an absolute path given as it is (Cursor
    lists `/Users/me/project`, or `C:\\project` on Windows); None for anything else."""
    if ":" in uri.partition("/")[0] and not re.match(r"[A-Za-z]:[\\/]", uri):  # a scheme: only file:// names a path
        return file_uri_path(uri)
    return uri if os.path.isabs(uri) or re.match(r"[A-Za-z]:[\\/]", uri) else None
