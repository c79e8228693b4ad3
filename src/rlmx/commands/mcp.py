"""`rlmx mcp`: an RLM as tools for coding agents, over the Model Context Protocol (stdio, or streamable HTTP).

`rlmx.cli` registers the subcommand: `add_arguments(parser)` adds the MCP flags, and `run(args, environ, err)`
serves until the client closes stdin (stdio), Ctrl-C, SIGTERM or (stdio) SIGHUP. The model, limit, trace and sandbox
flags are the CLI's, shared with `rlmx ask`, and so is the model choice (flags, env vars, the embedded model as last
resort).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.text import Text

from rlmx.commands.serve import (
    STOP_MARGIN,
    add_connection_arguments,
    add_key_arguments,
    end_lifespan,
    graceful_deadline,
    hold_open,
    ignored_signals,
    positive_seconds,
    server_key,
    signals_kept_server,
)
from rlmx.commands.trace_folder import default_trace_dir, no_trace_folder_warning, usable_trace_dir
from rlmx.extras import missing_extra
from rlmx.http_access import (
    DEFAULT_HEADER_TIMEOUT,
    DEFAULT_MAX_CONNECTIONS,
    LOOPBACK_HOSTS,
    LOOPBACK_ORIGINS,
    Refusal,
    bounded_connections,
)

if TYPE_CHECKING:
    from rlmx.cli import Interrupts
    from rlmx.commands.serve import Stop
    from rlmx.mcp.roots import Roots
    from rlmx.mcp.server import BodyBounded, RLMXServer, ShutdownGate, StdinCopy
    from rlmx.mcp.service import RLMService


def add_arguments(parser: argparse.ArgumentParser) -> argparse._ArgumentGroup:
    """The MCP server's own flags, in a group it returns (the CLI adds the model, limit and sandbox ones)."""
    from rlmx.commands import argtypes
    from rlmx.commands.argtypes import seconds

    group = parser.add_argument_group("mcp")
    group.add_argument(
        "--allow",
        action="append",
        default=[],
        type=argtypes.folder_path,
        metavar="PATH",
        help="a folder the tools may read (repeatable). Without it: the client's MCP roots if it sends any, else "
        "the folder the server starts in. Anything else is refused",
    )
    group.add_argument(
        "--http",
        action="store_true",
        help="serve streamable HTTP at http://HOST:PORT/mcp instead of stdio",
    )
    group.add_argument(
        "--host", type=argtypes.host, default="127.0.0.1", help="with --http: address to listen on (default: 127.0.0.1)"
    )
    group.add_argument(
        "--port",
        type=argtypes.port,
        default=8000,
        help="with --http: port to listen on; 0 picks a free one (default: 8000)",
    )
    group.add_argument(
        "--allow-origin",
        action="append",
        default=[],
        type=argtypes.origin,
        metavar="ORIGIN",
        help="with --http: a browser origin (https://app.example, or http://host:* for any port) whose pages may "
        "call the server (repeatable). Requests from any other web page are refused (403) whatever --host is; "
        "pages on this machine (http://localhost:*, http://127.0.0.1:*, http://[::1]:*) and clients that send "
        "no Origin (CLIs, editors) are always served",
    )
    group.add_argument(
        "--max-request-bytes",
        type=argtypes.size,
        default=None,
        metavar="SIZE",
        help="with --http: largest request body, e.g. 64M; a bigger one gets HTTP 413 with a JSON-RPC error before "
        "it is held. A tool's `text` travels in the body, `paths` do not (default: 32M)",
    )
    group.add_argument(
        "--body-timeout",
        type=positive_seconds,
        default=None,
        metavar="S",
        help="with --http: longest a request body may take to arrive whole, else HTTP 408 with a JSON-RPC error "
        "(default: 60)",
    )
    group.add_argument(
        "--shutdown-timeout",
        type=seconds,
        default=None,
        metavar="S",
        help="with --http: on Ctrl-C, SIGTERM or SIGHUP, let running calls finish for S seconds; new ones are "
        "refused meanwhile, and each call still running then gets a JSON-RPC error saying the server is shutting "
        "down (default: 10, as for rlmx serve)",
    )
    add_connection_arguments(group, http_only=True)
    add_key_arguments(group, "every request (with --http)")
    return group


def _jsonrpc_refusal(refused: Refusal) -> bytes:
    """The JSON body of a connection-level refusal (a 503 past --max-connections, a 408 for a late request head): a
    JSON-RPC error with no id (the request was not read), as every refusal over --http is one. -32000 (the spec's
    first server-defined code) for the server's refusal, -32600 (invalid request) for the client's late head, as for
    a late body."""
    code = -32000 if refused.status >= 500 else -32600
    return json.dumps({"jsonrpc": "2.0", "id": None, "error": {"code": code, "message": refused.message}}).encode()


def run(args: argparse.Namespace, environ: Mapping[str, str], err: Console, interrupts: Interrupts) -> int:
    """Serve MCP until the client disconnects (stdio), Ctrl-C or SIGTERM, on the loop `interrupts` runs. Exit 0 (130
    after Ctrl-C); UsageError for bad flags."""
    from rlmx.cli import EXIT_INTERRUPTED, EXIT_OK, UsageError
    from rlmx.commands.serve import Stop
    from rlmx.mcp.roots import Roots  # no SDK import: flags are checked before the slow imports

    if (args.host != "127.0.0.1" or args.port != 8000) and not args.http:
        raise UsageError("--host and --port are for --http; over stdio the client starts the server itself")
    if args.allow_origin and not args.http:
        raise UsageError("--allow-origin is for --http; over stdio no web page can reach the server")
    for flag, given in (
        ("--allow-host", args.allow_host),
        ("--header-timeout", args.header_timeout is not None),
        ("--max-connections", args.max_connections is not None),
        ("--shutdown-timeout", args.shutdown_timeout is not None),
    ):
        if given and not args.http:
            raise UsageError(f"{flag} is for --http; over stdio there is no HTTP connection")
    if args.body_timeout is not None and not args.http:
        raise UsageError("--body-timeout is for --http (how long an HTTP request body may take to arrive)")
    if args.max_request_bytes is not None and not args.http:
        raise UsageError(
            "--max-request-bytes is for --http (the largest HTTP request body); over stdio only --max-context-bytes "
            "bounds what a call loads"
        )
    if (args.server_api_key is not None or args.server_api_key_env is not None) and not args.http:
        raise UsageError(
            "--server-api-key and --server-api-key-env are for --http; over stdio only the client that "
            "started the server can reach it"
        )
    key = server_key(args, environ) if args.http else None
    allowed = Roots.grant(args.allow, "--allow") if args.allow else None
    say = _sayer(err)
    try:
        from rlmx.mcp.server import stdin_with_lone_surrogates_replaced
    except ImportError as exc:
        raise UsageError(missing_extra("rlmx mcp", "mcp", exc)) from None
    if args.http:
        # Ctrl-C and SIGTERM go to uvicorn's graceful shutdown, from before the port accepts connections (as for
        # `rlmx serve`: a supervisor may stop the server as soon as its health check connects); then every session
        # ends, its REPL killed. Exit 130 after Ctrl-C, 0 after SIGTERM.
        with Stop() as stop:
            # Bind first: a port in use is a clear error before a model loads.
            sock = _bind(args.host, args.port, UsageError)
            try:
                service, server, trace_note = _prepare(args, environ, err, allowed)
            except BaseException:
                sock.close()
                raise
            port = sock.getsockname()[1]
            shown = f"[{args.host}]" if ":" in args.host else args.host
            say(f"rlmx: MCP over streamable HTTP at http://{shown}:{port}/mcp ({trace_note})")
            if key is None:
                say(_no_key_warning(args.host), "bold yellow")
            for sig in sorted(ignored_signals()):
                say(
                    f"rlmx: {signal.Signals(sig).name} is ignored, as it was when the server started: it will not "
                    "stop the server"
                )
            serving = _serve(
                server,
                service,
                sock,
                args.host,
                stop,
                None,
                tuple(args.allow_origin),
                key=key,
                max_request_bytes=args.max_request_bytes,
                body_timeout=args.body_timeout,
                allowed_hosts=tuple(args.allow_host),
                header_timeout=args.header_timeout,
                max_connections=args.max_connections,
                shutdown_timeout=args.shutdown_timeout,
            )
            interrupts.run(serving)
        say(f"rlmx: MCP server stopped{stop.why}")
        return EXIT_INTERRUPTED if stop.interrupted else EXIT_OK
    # SIGTERM (a supervisor's polite stop; what the MCP spec has a client send when closing stdin did not stop the
    # server, and Node's child.kill()) and SIGHUP (the terminal or ssh session the client ran in went away) end
    # serving as stdin's EOF does: running questions stopped, their traces closed with run_end, every REPL killed;
    # exit 0. By default they killed the process mid-run.
    with Terminated() as terminated:
        service, server, trace_note = _prepare(args, environ, err, allowed)
        say(f"rlmx: MCP over stdio (an MCP client starts this command; {trace_note})")
        # Ctrl-C cancels the serving task (its sessions' REPLs are killed) and exits 130, as for `rlmx ask`; under
        # anyio.run it hung, waiting at exit for the thread that reads stdin.
        interrupts.what = "the MCP server"
        interrupts.install()
        with stdin_with_lone_surrogates_replaced() as stdin:
            interrupts.run(_serve(server, service, None, args.host, None, stdin, terminated=terminated))
    if terminated.received:
        say(f"rlmx: MCP server stopped ({terminated.received})")
    return EXIT_OK


def _no_key_warning(host: str) -> str:
    """The one line `--http` without a key says at start-up: who can call its tools, and how to close that."""
    where, who = "", "any local process"
    if host not in LOOPBACK_HOSTS:
        where, who = f"listening on {host} with ", "anyone who can reach this port"
    return (
        f"rlmx: warning: {where}no authentication: {who}, rlmx's own sandboxes included (they reach this machine), "
        "can call these tools, spending the LM budget and reading the granted folders; require a key with "
        "--server-api-key-env VAR (or RLMX_SERVER_API_KEY) and give clients `Authorization: Bearer <key>`"
    )


class Terminated:
    """SIGTERM and SIGHUP for stdio `rlmx mcp`, from before the server starts until after it has stopped: each one,
    once the serving has started (`attach`), or at once if one came before, ends its stdin, as the client closing it
    does. Installed on the main thread only (Python runs handlers there), and not for a signal the process was
    started with ignored (`ignored_signals`: SIGHUP under nohup). `received`: the last one's name, "" before any."""

    SIGNALS = (signal.SIGTERM, signal.SIGHUP)

    def __init__(self) -> None:
        self.received = ""
        self._end: Callable[[], None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> Terminated:
        from rlmx.commands.serve import ignored_signals

        if threading.current_thread() is threading.main_thread():
            ignored = ignored_signals()
            for signum in self.SIGNALS:
                if signum not in ignored:
                    self._previous[signum] = signal.signal(signum, self._on_signal)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous if previous is not None else signal.SIG_DFL)

    def attach(self, loop: asyncio.AbstractEventLoop, end: Callable[[], None]) -> None:
        """Call `end` on `loop` for each signal from now on, and now if one came already."""
        self._loop, self._end = loop, end
        if self.received:
            end()

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.received = signal.Signals(signum).name
        if self._loop is not None and self._end is not None:
            self._loop.call_soon_threadsafe(self._end)


def _prepare(
    args: argparse.Namespace, environ: Mapping[str, str], err: Console, allowed: Roots | None
) -> tuple[RLMService, RLMXServer, str]:
    """The service and the MCP server the flags ask for, and where traces go (in words, for the start-up line)."""
    from rlmx.cli import _budget, _make_rlm, resolve_models
    from rlmx.mcp.server import Grant, build_server
    from rlmx.mcp.service import RLMService

    say = _sayer(err)
    budget = _budget(args)
    trace_dir = args.trace_dir if args.trace_dir is not None else default_trace_dir(environ)
    writable = usable_trace_dir(trace_dir, given=args.trace_dir is not None)
    root_lm, sub_lm, description = resolve_models(args, environ)
    rlm = _make_rlm(args, root_lm, sub_lm, budget, trace_dir, None, err)
    trace_note = f"traces in {trace_dir}"
    if not writable:
        rlm.trace_dir = None  # no call can pass another folder: each would fail on it
        trace_note = "no traces"
        say(no_trace_folder_warning(trace_dir, "serving without traces"), "bold yellow")
    service = RLMService(rlm)
    server = build_server(service, Grant(allowed, Path.cwd()))
    say(f"rlmx: model: {description}")
    say(
        "rlmx: readable folders: "
        + (allowed.describe() if allowed else f"the client's MCP roots, else {Path.cwd().resolve()}")
    )
    return service, server, trace_note


async def _serve(
    server: RLMXServer,
    service: RLMService,
    sock: socket.socket | None,
    host: str,
    stop: Stop | None,
    stdin: StdinCopy | None,
    origins: tuple[str, ...] = (),
    *,
    terminated: Terminated | None = None,
    key: str | None = None,
    max_request_bytes: int | None = None,
    body_timeout: float | None = None,
    allowed_hosts: tuple[str, ...] = (),
    header_timeout: float | None = None,
    max_connections: int | None = None,
    shutdown_timeout: float | None = None,
) -> None:
    """Serve over `sock` (streamable HTTP, stopped by `stop`'s signals) or stdio until done (stdin's EOF, or a
    SIGTERM `terminated` hears); then end every session, killing its REPL. `origins`: the browser origins
    --allow-origin adds to the loopback ones; `key`: the bearer key every HTTP request must carry (None: none);
    `max_request_bytes`: the largest HTTP request body in bytes (None: DEFAULT_MAX_REQUEST_BYTES, 32 MiB);
    `body_timeout`: the seconds it may take to arrive (None: DEFAULT_BODY_TIMEOUT, 60); `allowed_hosts`: the Host
    names (--allow-host) a loopback bind answers besides its own; `header_timeout`: the seconds a request head may
    take (None: DEFAULT_HEADER_TIMEOUT, 20); `max_connections`: open connections at most (None: 1000);
    `shutdown_timeout`: the seconds running requests get to finish once a signal stops the server (None: 10)."""
    import anyio

    try:
        if sock is None:
            if terminated is not None and stdin is not None:
                terminated.attach(asyncio.get_running_loop(), stdin.end)
            await server.run_stdio_async(stdin)
        else:
            import uvicorn
            from mcp.server.transport_security import TransportSecuritySettings

            from rlmx.mcp.server import (
                DEFAULT_BODY_TIMEOUT,
                DEFAULT_MAX_REQUEST_BYTES,
                BodyBounded,
                BrowsersChecked,
                CancelledWhenGone,
                InFlightIdsPerSession,
                KeyRequired,
                LoneSurrogatesReplaced,
                RefusalsAsJSONRPC,
                ShutdownGate,
            )
            from rlmx.request_form import RequestForm

            limit = max_request_bytes if max_request_bytes is not None else DEFAULT_MAX_REQUEST_BYTES
            # Host (on a loopback bind: a rebound name is 421) and Origin are BrowsersChecked's, the checks `rlmx
            # serve` makes too; the SDK's own (loopback binds only) would only repeat them. It still checks that a
            # POST's body is JSON. Its body limit is set above BodyBounded's, which refuses first, before the body
            # is held (the middlewares below read it whole): what reaches the SDK is the bounded body, rewritten.
            security = TransportSecuritySettings(enable_dns_rebinding_protection=False)
            sdk_app = server.streamable_http_app(
                host=host, transport_security=security, max_request_body_size=2 * limit
            )
            # A tool call whose client went away is cancelled (CancelledWhenGone sees the ids as the SDK does).
            gate = ShutdownGate(
                InFlightIdsPerSession(LoneSurrogatesReplaced(CancelledWhenGone(RefusalsAsJSONRPC(sdk_app, limit))))
            )
            bodies = BodyBounded(
                gate,
                limit,
                timeout=body_timeout if body_timeout is not None else DEFAULT_BODY_TIMEOUT,
            )
            inner: Any = bodies
            if key is not None:
                inner = KeyRequired(inner, key)
            # Bound wider, clients reach the server by names and addresses it cannot know: no Host check then.
            app: Any = BrowsersChecked(
                inner,
                (*LOOPBACK_ORIGINS, *origins),
                check_host=host in LOOPBACK_HOSTS,
                allowed_hosts=allowed_hosts,
            )
            app = RequestForm(app)  # POST /mcp/ served (not a bare 307); Application/JSON is JSON
            protocol = bounded_connections(
                header_timeout if header_timeout is not None else DEFAULT_HEADER_TIMEOUT,
                max_connections if max_connections is not None else DEFAULT_MAX_CONNECTIONS,
                shape=_jsonrpc_refusal,
            )
            grace = shutdown_timeout if shutdown_timeout is not None else DEFAULT_SHUTDOWN_TIMEOUT
            config = uvicorn.Config(
                app, log_level="warning", http=protocol, timeout_graceful_shutdown=graceful_deadline(STOP_MARGIN)
            )
            http = _graceful_server(config, gate, bodies, grace)
            if stop is not None:
                stop.attach(http)
            await http.serve(sockets=[sock])
    finally:
        started = _descendants(os.getpid())  # the REPL processes, before ending them
        with anyio.CancelScope(shield=True):
            await service.aclose()
            await _gone(started, REAPED_SECONDS)


DEFAULT_SHUTDOWN_TIMEOUT = 10.0
"""Seconds running requests get to finish once a signal stops `rlmx mcp --http` (--shutdown-timeout), as for `rlmx
serve`."""


def _graceful_server(config: Any, gate: ShutdownGate, bodies: BodyBounded, grace: float) -> Any:
    """A uvicorn server for `rlmx mcp --http` whose shutdown lets running requests finish: at once `gate` refuses
    new requests (503, -32000), the port and idle kept-alive connections still open for them to get that answer
    (`hold_open`, as for `rlmx serve`); the running ones get `grace` seconds (--shutdown-timeout; a second Ctrl-C
    ends it), then each still running is answered with -32000 "server shutting
    down" (`ShutdownGate.answer_running`, within STOP_MARGIN seconds whatever its client does) before the streams
    close, and so is each request whose body `bodies` is still reading (a 503, id null: `BodyBounded.stop_reading`);
    then uvicorn's own shutdown (the SDK's sessions end, their runs cancelled; after a second Ctrl-C, which uvicorn
    skips, `end_lifespan`). sse_starlette's drain, which ended every SSE stream at the signal (a running call's
    POST got an empty 200), is held off until then. A signal the server was started with ignored (a script's `rlmx
    mcp --http &` gets SIGINT so) stays ignored, as for `rlmx serve` (`signals_kept_server`)."""
    drain: Any = None  # sse_starlette's AppStatus, where the SDK streams through it
    try:
        from sse_starlette.sse import AppStatus

        drain = AppStatus
    except ImportError:  # an SDK without sse_starlette: nothing drains the streams early
        pass
    if drain is not None:
        drain.disable_automatic_graceful_drain()

    class Server(signals_kept_server()):  # type: ignore[misc]
        async def shutdown(self, sockets: Any = None) -> None:
            gate.close()
            await hold_open(self, lambda: gate.running > 0, grace)  # new requests get their 503 meanwhile
            for server in self.servers:
                server.close()  # no new connection from now on
            bodies.stop_reading(gate.MESSAGE)  # a body still arriving: its 503 (-32000) now, not uvicorn's 500 later
            await gate.answer_running(STOP_MARGIN)  # bounded: a client that stops reading does not hold the stop
            if drain is not None:
                drain.should_exit = True  # the GET streams end now (the POSTs are all answered)
            try:
                await super().shutdown(sockets)
            finally:
                if self.force_exit:
                    await end_lifespan(self)

    return Server(config)


REAPED_SECONDS = 2.0
"""How long a stopping server waits for the processes it started to leave the process table."""


async def _gone(pids: list[int], seconds: float) -> None:
    """Return once none of `pids` is in the process table any more, or after `seconds`. A REPL worker forked by its
    zygote is killed with it and then reaped by init, a moment later: the server exits after that, so that whoever
    started it (a client, a supervisor) finds none of its processes left when it has exited."""
    deadline = time.monotonic() + seconds
    while any(os.path.exists(f"/proc/{pid}") for pid in pids) and time.monotonic() < deadline:
        await asyncio.sleep(0.02)


def _descendants(pid: int) -> list[int]:
    """The processes below `pid`, found through /proc ([] where there is none: not Linux)."""
    children: dict[int, list[int]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                parent = int(stat.read().rsplit(b") ", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry))
    found: list[int] = []
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), ()):
            found.append(child)
            todo.append(child)
    return found


def _bind(host: str, port: int, error: type[Exception]) -> socket.socket:
    """A listening socket on host:port, or `error` saying why not (usually: the port is in use)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as exc:
        raise error(f"--host {host}: cannot resolve it ({exc.strerror})") from None
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(128)  # clients that connect before the server is up wait in the queue instead of being refused
    except OSError as exc:
        sock.close()
        raise error(f"cannot listen on {host}:{port} ({exc.strerror}): pass another --port (0: any free one)") from None
    return sock


def _sayer(err: Console) -> Callable[..., None]:
    def say(text: str, style: str = "") -> None:
        err.print(Text(text, style=style), soft_wrap=True, highlight=False)

    return say
