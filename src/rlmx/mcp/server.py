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
import io
import json
import os
import re
import threading
import warnings
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TypeVar, cast

try:
    import anyio
    from mcp.server.mcpserver import Context, MCPServer
except ImportError as exc:  # say how to install it from the checkout, not a bare "No module named 'mcp'"
    from rlmx.extras import missing_extra

    raise ImportError(missing_extra("rlmx.mcp.server", "mcp", exc), name=exc.name) from None

from mcp.server.mcpserver.exceptions import ToolError
from mcp.shared.exceptions import MCPDeprecationWarning, MCPError
from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, ConfigDict, Field
from rich.console import Console

from rlmx import __version__
from rlmx.errors import InputError, RLMXError
from rlmx.events import Emit, Event
from rlmx.mcp.roots import Roots, file_uri_path
from rlmx.mcp.service import RLMService
from rlmx.progress import Progress
from rlmx.sandbox.frames import encodable

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
    """Limits for one call. Each can only lower the server's own limit, never raise it."""

    model_config = ConfigDict(extra="forbid")

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


@contextlib.contextmanager
def stdin_with_lone_surrogates_replaced() -> Iterator[None]:
    """While open, fd 0 is a pipe fed line by line from the real stdin through `replace_lone_surrogates` (a thread
    copies them), so the SDK's stdio transport reads only messages it can parse. EOF passes through."""
    source = os.dup(0)
    read, write = os.pipe()
    os.dup2(read, 0)
    os.close(read)

    def copy() -> None:
        with os.fdopen(source, "rb", buffering=0) as real, os.fdopen(write, "wb", buffering=0) as pipe:
            for line in iter(real.readline, b""):
                try:
                    pipe.write(replace_lone_surrogates(line))
                except BrokenPipeError:
                    return

    threading.Thread(target=copy, name="rlmx-mcp-stdin", daemon=True).start()
    yield


class LoneSurrogatesReplaced:
    """ASGI middleware for streamable HTTP: a POST's body, read whole, with `replace_lone_surrogates` applied before
    the SDK parses it, as stdio's lines are (the SDK answered such a request 400 "Parse error")."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        first: dict[str, Any] = {"type": "http.request", "body": b"", "more_body": False}
        while True:
            message = await receive()
            if message["type"] != "http.request":
                first = message  # the client went away: the app hears it
                break
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                first = {"type": "http.request", "body": replace_lone_surrogates(b"".join(chunks)), "more_body": False}
                break
        given = False

        async def replay() -> Any:
            nonlocal given
            if not given:
                given = True
                return first
            return await receive()

        await self.app(scope, replay, send)


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

    async def roots(self, ctx: Context) -> Roots:
        """--allow's folders; else the client's roots (none that exist here: every path is refused, never widened
        to another folder); else the folder the server started in, unless that is `/` or the home folder (where
        launchers start servers: Claude Desktop starts them in `/`), which would grant every file."""
        if self.allowed is not None:
            return self.allowed
        client = await _client_roots(ctx)
        if client is not None and client[0]:
            return Roots(client[0], "the client's MCP roots")
        if client is not None:
            listed = ", ".join(client[1][:5]) or "none"
            return Roots.none(
                f"the client granted no folder that exists on this machine (its MCP roots: {listed}); open the "
                "project's folder in the client, or start rlmx mcp with --allow PATH"
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


def build_server(service: RLMService, grant: Grant) -> MCPServer:
    """An MCPServer with the five rlmx tools. Bad input and refused paths come back as tool errors (is_error)."""
    readable = f"{grant.describe()} {_models(service)}"
    server = MCPServer("rlmx", version=__version__, instructions=f"{INSTRUCTIONS} {readable}")
    running = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=False, open_world_hint=True)
    local = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False)

    @server.tool(description=f"{ASK_DESCRIPTION} {readable}", annotations=running)
    async def rlm_ask(
        query: Query, ctx: Context, paths: Paths = None, text: Text = None, budget: BudgetArg = None
    ) -> dict[str, Any]:
        roots = await _refusing(grant.roots(ctx))
        reply = await _reporting(ctx, lambda emit: service.ask(roots, query, paths, text, _limits(budget), emit))
        return _as_tool_result(reply)

    @server.tool(description=f"{ESTIMATE_DESCRIPTION} {readable}", annotations=local)
    async def rlm_estimate(query: Query, ctx: Context, paths: Paths = None, text: Text = None) -> dict[str, Any]:
        roots = await _refusing(grant.roots(ctx))
        # Reading a large folder blocks: do it off the event loop, so progress and cancellation still flow.
        work = anyio.to_thread.run_sync(service.estimate, roots, query, paths, text)
        return await _refusing(work)

    @server.tool(description=f"{SESSION_START_DESCRIPTION} {readable}", annotations=local)
    async def rlm_session_start(ctx: Context, paths: Paths = None, text: Text = None) -> dict[str, Any]:
        roots = await _refusing(grant.roots(ctx))
        return await _refusing(service.session_start(roots, paths, text, owner=_client(ctx)))

    @server.tool(description=f"{SESSION_ASK_DESCRIPTION} {readable}", annotations=running)
    async def rlm_session_ask(
        session_id: SessionId,
        query: Query,
        ctx: Context,
        paths: Paths = None,
        text: Text = None,
        budget: BudgetArg = None,
    ) -> dict[str, Any]:
        roots = await _refusing(grant.roots(ctx))
        reply = await _reporting(
            ctx,
            lambda emit: service.session_ask(
                roots, session_id, query, paths, text, _limits(budget), emit, owner=_client(ctx)
            ),
        )
        return _as_tool_result(reply)

    @server.tool(description=SESSION_END_DESCRIPTION, annotations=local)
    async def rlm_session_end(session_id: SessionId, ctx: Context) -> dict[str, Any]:
        return await _refusing(service.session_end(session_id, owner=_client(ctx)))

    _inline_schema_references(server)
    return server


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


async def _client_roots(ctx: Context) -> tuple[list[Path], list[str]] | None:
    """The client's `file://` roots that exist here as folders, and every root it listed (its URIs); None when it
    offers no roots. An empty first list (none usable, or a roots/list that failed) is a grant of nothing, not an
    absence of one."""
    capabilities = ctx.client_capabilities
    if capabilities is None or capabilities.roots is None:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MCPDeprecationWarning)  # roots stay the way handshake clients grant
            listed = await ctx.session.list_roots()
    except Exception as exc:  # a client that offers roots and cannot list them has granted nothing readable
        return [], [f"its roots/list failed: {type(exc).__name__}: {str(exc)[:200]}"]
    folders: list[Path] = []
    for root in listed.roots:
        named = file_uri_path(str(root.uri))
        if named is not None and Path(named).is_dir():
            folders.append(Path(named).resolve())
    return folders, [str(root.uri) for root in listed.roots]
