"""`rlmx serve`: its flags and its run (one RLM behind an OpenAI-compatible HTTP API until interrupted).

`rlmx.cli` registers the subcommand: `add_arguments(parser)` adds the server's own flags, and `run(args, environ,
err)` starts it. The model, limit, trace and sandbox flags are the CLI's, shared with `rlmx ask`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import json
import signal
import socket
import threading
from collections.abc import Callable, Iterator, Mapping
from types import FrameType
from typing import TYPE_CHECKING, Any, cast

from rich.console import Console
from rich.text import Text

from rlmx.api_keys import checked_key, trimmed_key
from rlmx.blocking import answers_ctrl_c
from rlmx.commands.argtypes import count as _count
from rlmx.commands.argtypes import positive_int as _positive_int
from rlmx.commands.argtypes import seconds as _seconds
from rlmx.commands.trace_folder import default_trace_dir, no_trace_folder_warning, usable_trace_dir
from rlmx.errors import InputError
from rlmx.extras import missing_extra
from rlmx.http_access import (
    DEFAULT_HEADER_TIMEOUT,
    DEFAULT_MAX_CONNECTIONS,
    LOOPBACK_HOSTS,
    Refusal,
    allowed_host,
    bounded_connections,
    stop_keeping_alive,
)

if TYPE_CHECKING:
    import uvicorn

    from rlmx.blocking import LoopFactory
    from rlmx.cli import Interrupts
    from rlmx.server.app import ServerOptions

DEFAULT_MAX_REQUEST_BYTES = 32 * 1024 * 1024
DEFAULT_BODY_TIMEOUT = 60.0  # rlmx.server.body's, without importing the server extra


def allowed_host_arg(text: str) -> str:
    """An --allow-host value (`http_access.allowed_host`), as argparse takes it."""
    try:
        return allowed_host(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def positive_seconds(text: str) -> float:
    """A number of seconds more than 0 and less than a billion (`ServerOptions.body_timeout`'s range)."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value < _MOST_SECONDS:
        raise argparse.ArgumentTypeError(f"must be a number of seconds more than 0 and below 1e9, got {text!r}")
    return value


_MOST_SECONDS = 1e9


def add_arguments(parser: argparse.ArgumentParser) -> argparse._ArgumentGroup:
    """The flags of the server itself, in a group it returns (the CLI adds the model, limit and sandbox ones)."""
    from rlmx.commands import argtypes

    server = parser.add_argument_group("server")
    server.add_argument(
        "--host", type=argtypes.host, default="127.0.0.1", help="address to listen on (default: 127.0.0.1)"
    )
    server.add_argument(
        "--port", type=argtypes.port, default=8000, help="port to listen on; 0 picks a free one (default: 8000)"
    )
    server.add_argument(
        "--model-name",
        type=argtypes.model_name,
        default="rlmx",
        metavar="NAME",
        help="the model name /v1/models lists (default: rlmx)",
    )
    server.add_argument(
        "--max-concurrent-runs",
        type=_positive_int,
        default=4,
        metavar="N",
        help="completions running at once; further requests wait in the queue (default: 4)",
    )
    server.add_argument(
        "--max-queued",
        type=_count,
        default=128,
        metavar="N",
        help="requests waiting for a run slot; beyond them a request gets HTTP 429 (default: 128)",
    )
    server.add_argument(
        "--queue-timeout",
        type=_seconds,
        default=120.0,
        metavar="S",
        help="longest wait in the queue before HTTP 429 with a Retry-After (default: 120)",
    )
    server.add_argument(
        "--max-request-bytes",
        type=argtypes.size,
        default=DEFAULT_MAX_REQUEST_BYTES,
        metavar="SIZE",
        help="largest request body, e.g. 64M; larger ones get HTTP 413 before they are read (default: 32M)",
    )
    server.add_argument(
        "--body-timeout",
        type=positive_seconds,
        default=DEFAULT_BODY_TIMEOUT,
        metavar="S",
        help="longest a request body may take to arrive whole, else HTTP 408; a slow upload holds no run slot "
        "meanwhile (default: 60)",
    )
    server.add_argument(
        "--keepalive",
        type=_seconds,
        default=15.0,
        metavar="S",
        help="send an SSE comment on a stream after S silent seconds, for proxies and read timeouts; 0: off "
        "(default: 15)",
    )
    server.add_argument(
        "--shutdown-timeout",
        type=_seconds,
        default=10.0,
        metavar="S",
        help="on Ctrl-C, SIGTERM or SIGHUP, let running requests finish for S seconds, then cancel them (default: 10)",
    )
    add_connection_arguments(server, http_only=False)
    server.add_argument(
        "--cors-origin",
        action="append",
        default=[],
        type=argtypes.cors_origin,
        metavar="ORIGIN",
        help="let browser pages from ORIGIN (e.g. http://localhost:3000, or *) call the API; repeatable",
    )
    add_key_arguments(server, "every route but /health", aliases=("--api-key",))
    return server


def _openai_refusal(refused: Refusal) -> bytes:
    """The JSON body of a connection-level refusal (a 503 past --max-connections, a 408 for a late request head):
    an OpenAI error object, as every refusal of `rlmx serve` is (`openai_compat.error_body`'s shape, written here
    to spare its import; a 408 is the client's error, as the body timeout's is)."""
    kind = "server_error" if refused.status >= 500 else "invalid_request_error"
    error = {"message": refused.message, "type": kind, "param": None, "code": refused.code}
    return json.dumps({"error": error}).encode()


def add_connection_arguments(group: argparse._ArgumentGroup, *, http_only: bool) -> None:
    """--allow-host, --header-timeout and --max-connections in `group`, for `rlmx serve` and `rlmx mcp --http`.
    With `http_only` (mcp, whose stdio transport has no connection) each help says "with --http" and the defaults
    are None, so the command can tell a flag given without --http; it then applies DEFAULT_HEADER_TIMEOUT and
    DEFAULT_MAX_CONNECTIONS itself."""
    from rlmx.commands import argtypes

    lead = "with --http: " if http_only else ""
    group.add_argument(
        "--allow-host",
        action="append",
        default=[],
        type=allowed_host_arg,
        metavar="NAME",
        help=f"{lead}on a loopback --host, also answer requests whose Host is NAME (a reverse proxy on this machine "
        "that forwards its own Host, e.g. rlmx.example.com); other names get HTTP 421; repeatable",
    )
    group.add_argument(
        "--header-timeout",
        type=positive_seconds,
        default=None if http_only else DEFAULT_HEADER_TIMEOUT,
        metavar="S",
        help=f"{lead}longest a request's head (its request line and headers) may take to arrive whole, else HTTP 408 "
        "and the connection is closed (one that sent nothing is closed without a word) "
        f"(default: {DEFAULT_HEADER_TIMEOUT:g})",
    )
    group.add_argument(
        "--max-connections",
        type=argtypes.positive_int,
        default=None if http_only else DEFAULT_MAX_CONNECTIONS,
        metavar="N",
        help=f"{lead}open connections at most; one past them gets HTTP 503 and is closed "
        f"(default: {DEFAULT_MAX_CONNECTIONS})",
    )


def add_key_arguments(group: argparse._ArgumentGroup, guarded: str, aliases: tuple[str, ...] = ()) -> None:
    """--server-api-key-env VAR and --server-api-key KEY (with `aliases`), one or the other, in `group`: the key
    clients must send to reach `guarded` ("every route but /health"). `server_key` reads them."""
    from rlmx.commands import argtypes

    auth = group.add_mutually_exclusive_group()
    auth.add_argument(
        "--server-api-key-env",
        type=argtypes.env_var,
        metavar="VAR",
        help=f"require `Authorization: Bearer <key>` on {guarded}, with the key in env var VAR",
    )
    auth.add_argument(
        "--server-api-key",
        *aliases,
        dest="server_api_key",
        metavar="KEY",
        help="as --server-api-key-env, with the key itself (visible to other local users, and to rlmx's sandboxes, "
        "in `ps`); the env var RLMX_SERVER_API_KEY, when set, is the default. This is the key clients must send to "
        "this server, not the model's (that one comes from the environment, or --api-key-env VAR names it, as for "
        "ask)",
    )


def server_key(args: argparse.Namespace, environ: Mapping[str, str], flag: str = "--server-api-key") -> str | None:
    """The key clients must send (`add_key_arguments`' flags, else RLMX_SERVER_API_KEY), checked as the model keys
    are; None for none. `flag` names --server-api-key in errors. InputError (exit 2) for a key variable that is
    unset or empty (RLMX_SERVER_API_KEY set to "" or blanks included), or a key no header can hold."""
    key: str | None = args.server_api_key
    source = flag
    if key is None and args.server_api_key_env is None:
        # Set but empty is refused below, as blanks are: docker compose's `${KEY}` with KEY unset, and an env
        # file's `RLMX_SERVER_API_KEY=` line, give "" and would otherwise open the server without a word.
        key, source = environ.get("RLMX_SERVER_API_KEY"), "RLMX_SERVER_API_KEY"
    if args.server_api_key_env is not None:
        key, source = environ.get(args.server_api_key_env, ""), f"{args.server_api_key_env} (--server-api-key-env)"
        if not trimmed_key(key):
            raise InputError(f"--server-api-key-env {args.server_api_key_env}: that env var is unset or empty")
    if key is not None:  # checked as the model keys are, named by where it came from (not the option's field)
        if not trimmed_key(key):
            raise InputError(f"{source} is empty: give the key clients must send to this server")
        key = checked_key(key, f"the server key in {source}")
    return key


def options(args: argparse.Namespace, environ: Mapping[str, str]) -> ServerOptions:
    """The ServerOptions the flags ask for; InputError (exit 2) for a key variable that is unset or empty."""
    from rlmx.server.app import ServerOptions

    key = server_key(args, environ, "--server-api-key (alias --api-key)")
    return ServerOptions(
        max_concurrent_runs=args.max_concurrent_runs,
        max_queued=args.max_queued,
        queue_timeout=args.queue_timeout,
        max_request_bytes=args.max_request_bytes,
        body_timeout=args.body_timeout,
        keepalive=args.keepalive,
        api_key=key,
        cors_origins=tuple(args.cors_origin),
        loopback_only=args.host in LOOPBACK_HOSTS,
        allowed_hosts=tuple(args.allow_host),
    )


def bind(host: str, port: int) -> socket.socket:
    """A socket bound to host:port, or InputError (exit 2) saying why not (a port in use is the usual reason)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as exc:
        raise InputError(f"--host {host}: cannot resolve it ({exc.strerror})") from None
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise InputError(
                f"port {port} on {host} is already in use (another rlmx serve?): stop what listens there, or pass "
                "another --port (0 picks a free one)"
            ) from None
        raise InputError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.listen(2048)  # connections wait in the backlog from now on, even before uvicorn accepts them
    return sock


def run(args: argparse.Namespace, environ: Mapping[str, str], err: Console, interrupts: Interrupts) -> int:
    """`rlmx serve`: serve until Ctrl-C, SIGTERM or SIGHUP, then shut down within --shutdown-timeout seconds, on
    the loop `interrupts` runs (unarmed: `Stop` handles the signals).

    Exit 130 after Ctrl-C (SIGINT), as every rlmx command interrupted so; 0 after SIGTERM, the polite stop a
    supervisor (systemd, Docker, Kubernetes) sends, which is how a server is meant to end, and after SIGHUP (its
    terminal closed: an ssh or tmux session ending, or `kill -HUP`).
    """
    from rlmx.cli import EXIT_INTERRUPTED, EXIT_OK, _budget, _make_rlm, resolve_models

    try:
        import starlette  # noqa: F401  (rlmx.server's own check would name the module, not the command)
        import uvicorn
    except ImportError as exc:
        raise InputError(missing_extra("rlmx serve", "server", exc)) from None
    from rlmx.server import create_app
    from rlmx.server.app import answers_from_context_only

    server_options = options(args, environ)
    budget = _budget(args)
    trace_dir = args.trace_dir if args.trace_dir is not None else default_trace_dir(environ)
    # Checked now, as `rlmx mcp` does: found per request, it became a 400 telling the HTTP client to pass a flag.
    writable = usable_trace_dir(trace_dir, given=args.trace_dir is not None)
    root_lm, sub_lm, description = resolve_models(args, environ)
    rlm = _make_rlm(args, root_lm, sub_lm, budget, trace_dir, None, err)
    trace_note = f"traces in {trace_dir}"
    if not writable:
        rlm.trace_dir = None  # no request can pass another folder: each would fail on it
        trace_note = "no traces"
    app = create_app(rlm, model_name=args.model_name, options=server_options)
    sock = bind(args.host, args.port)
    port = sock.getsockname()[1]
    shown = f"[{args.host}]" if ":" in args.host else args.host
    say = _sayer(err)
    config = uvicorn.Config(
        app,
        log_level="info",
        timeout_graceful_shutdown=graceful_deadline(args.shutdown_timeout),
        timeout_keep_alive=30,
        http=bounded_connections(args.header_timeout, args.max_connections, shape=_openai_refusal),
    )
    with Stop() as stop:  # from before the address is announced: a user or a script may stop it at once
        try:
            say(f"rlmx: model: {description}")
            if not writable:
                say(no_trace_folder_warning(trace_dir, "serving without traces"), "bold yellow")
            for sig in sorted(ignored_signals()):
                say(
                    f"rlmx: {signal.Signals(sig).name} is ignored, as it was when the server started: it will not "
                    "stop the server"
                )
            say(
                f"rlmx: serving it as model {args.model_name!r}, running on http://{shown}:{port}/v1 "
                f"({args.max_concurrent_runs} runs at once, {args.max_queued} queued; {trace_note})"
            )
            if answers_from_context_only(rlm):
                say(
                    "rlmx: the guided root answers from a context only: send the document in each request's "
                    "`context` field (a request without one gets a 400)"
                )
            if server_options.api_key is None and args.host not in LOOPBACK_HOSTS:
                say(
                    f"rlmx: warning: listening on {args.host} with no authentication: anyone who can reach this "
                    "port can spend this server's LM budget and run code in its sandbox (see --server-api-key-env)",
                    "bold yellow",
                )
            server = _server(config, app, args.shutdown_timeout)
            stop.attach(server)
            interrupts.run(server.serve(sockets=[sock]), loop_factory(config))
        finally:
            sock.close()
    say(f"rlmx: server stopped{stop.why}")
    return EXIT_INTERRUPTED if stop.interrupted else EXIT_OK


def loop_factory(config: uvicorn.Config) -> LoopFactory | None:
    """The event loop uvicorn's own `Server.run` would serve on (uvloop when it is installed); None, asyncio's, for
    uvicorn before 0.36, which set an event loop policy instead."""
    choose = getattr(config, "get_loop_factory", None)
    return choose() if choose is not None else None


FORCED_STOP_WAIT = 1.0
"""Seconds a second Ctrl-C leaves for stopping the runs, and again for their requests to get their answers."""

STOP_MARGIN = 1.0
"""Seconds after --shutdown-timeout, when the runs still going are cancelled, for them to stop and for their
requests to get rlmx's answers, before uvicorn cancels whatever is left (a request still uploading)."""


def graceful_deadline(grace: float) -> int:
    """uvicorn's `timeout_graceful_shutdown` for runs given `grace` seconds (--shutdown-timeout): STOP_MARGIN more,
    unrounded (`max(1, round(S))` gave 2.5 s runs 2, and 0.3 s ones 1). uvicorn annotates it an int, but only hands
    it to asyncio's timeout, which takes any number of seconds."""
    return cast(int, grace + STOP_MARGIN)


def _server(config: Any, app: Any, grace: float) -> Any:
    """A uvicorn server whose shutdown answers every request itself, so none is left to uvicorn's cancelling (a
    text/plain 500 the SDKs retry, a stream cut mid-chunk, a traceback on the terminal). At once, a request waiting
    for a run slot gets its 503 and no new run starts; the runs still going get `grace` seconds (--shutdown-timeout)
    to finish, the port open meanwhile for new requests to get that 503 too (`hold_open`), and are then cancelled
    (at once on a second Ctrl-C, uvicorn's force exit), so that their clients get rlmx's 503, or a stream its error
    event and [DONE], within the STOP_MARGIN that `config`'s graceful deadline (`graceful_deadline`) leaves after
    what is left of `grace`."""
    state = app.state.server

    class Server(signals_kept_server()):  # type: ignore[misc]
        async def shutdown(self, sockets: Any = None) -> None:
            state.admission.close()
            stopping = asyncio.ensure_future(self._stop_runs())
            try:
                left = await hold_open(self, lambda: bool(self.server_state.tasks), grace)
                self.config.timeout_graceful_shutdown = graceful_deadline(left)  # the grace is not given twice
                await super().shutdown(sockets)
            finally:
                if self.force_exit:  # uvicorn waits neither for the requests nor for the app's shutdown: rlmx does
                    await asyncio.wait({stopping}, timeout=2 * FORCED_STOP_WAIT)
                    await end_lifespan(self)
                stopping.cancel()

        async def _stop_runs(self) -> None:
            """Cancel the runs once they have had `grace` seconds, or as soon as a second Ctrl-C forces the exit."""
            deadline = asyncio.get_running_loop().time() + grace
            while not self.force_exit and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.05)
            if not self.force_exit:
                await state.runs.cancel_all(timeout=STOP_MARGIN / 2)
                return
            await state.runs.cancel_all(timeout=FORCED_STOP_WAIT)
            handlers = set(self.server_state.tasks)  # each now sending its 503 or its stream's last events
            if handlers:
                await asyncio.wait(handlers, timeout=FORCED_STOP_WAIT)

    return Server(config)


async def hold_open(server: Any, busy: Callable[[], bool], grace: float) -> float:
    """The first part of a graceful shutdown, `rlmx serve`'s and `rlmx mcp --http`'s, before uvicorn's own: for
    `grace` seconds at most, while `busy()` and no second Ctrl-C forces the exit, the port stays open and idle
    kept-alive connections stay up, so that a request that comes meanwhile, on a new connection or a kept-alive one,
    gets the app's answer (its 503 "server shutting down"), its connection closed after (`stop_keeping_alive`).
    uvicorn's shutdown closes the port and the idle connections at once: such a request met "connection refused",
    or its kept-alive connection closed with no reply. Returns the seconds of `grace` left."""
    stop_keeping_alive(server.server_state)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + grace
    while busy() and not server.force_exit and loop.time() < deadline:
        await asyncio.sleep(0.05)
    return max(0.0, deadline - loop.time())


async def end_lifespan(server: Any) -> None:
    """The app's lifespan shutdown, which uvicorn skips after a forced exit (a second Ctrl-C): the app's lifespan
    task, cancelled with the loop instead, logged a traceback on the terminal (`rlmx serve`, and `rlmx mcp --http`,
    whose SDK session manager lives there). FORCED_STOP_WAIT seconds at most."""
    await asyncio.wait({asyncio.ensure_future(server.lifespan.shutdown())}, timeout=FORCED_STOP_WAIT)


def signals_kept_server() -> type[uvicorn.Server]:
    """uvicorn's Server, keeping ignored the signals this process was started with ignored (`ignored_signals`):
    uvicorn installs its SIGINT and SIGTERM handlers unconditionally (and restores what was there when it is done).
    `rlmx serve` and `rlmx mcp --http` serve through it."""
    import uvicorn

    class Server(uvicorn.Server):
        ignored = ignored_signals()

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            """uvicorn's handlers, except for a signal the process started with ignored."""
            with super().capture_signals():
                for sig in self.ignored:
                    signal.signal(sig, signal.SIG_IGN)
                yield

        @answers_ctrl_c
        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            if sig not in self.ignored:  # one that came in the instant before it was ignored again
                super().handle_exit(sig, frame)

    return Server


def ignored_signals() -> frozenset[int]:
    """The signals rlmx stops on that this process was started with ignored (SIG_IGN): SIGHUP under `nohup`, SIGINT
    in a shell's background job (`rlmx serve &` in a script). They stay ignored, as POSIX has daemons
    and background jobs do, and as Python leaves SIGINT: a terminal closing, or a Ctrl-C meant for the script's
    foreground command, must not stop the server. Empty off the main thread, where no handler is installed."""
    if threading.current_thread() is not threading.main_thread():
        return frozenset()
    return frozenset(sig for sig in Stop.SIGNALS if signal.getsignal(sig) is signal.SIG_IGN)


class Stop:
    """Ctrl-C (SIGINT), SIGTERM and SIGHUP for a uvicorn server, from before it starts until after it has stopped.

    Each signal is recorded and handed to uvicorn's graceful shutdown (one that comes before the server is
    attached makes it stop as soon as it has started), so the process never dies by a signal or an exception in
    the middle of starting: it ends normally, its sandboxes cleaned up, with `interrupted` saying which exit code
    is due (130 after Ctrl-C, 0 after SIGTERM or SIGHUP). uvicorn installs its own handlers for SIGINT and SIGTERM
    while it serves and raises the signals it caught again once it has shut down, which lands here; SIGHUP, which
    uvicorn leaves alone (its default kills the process, leaving clients a reset connection and the sandboxes'
    documents in /dev/shm), comes here all along. A second Ctrl-C makes uvicorn stop at once. A signal the process
    started with ignored (`ignored_signals`: nohup's SIGHUP, a background job's SIGINT) is left ignored.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

    def __init__(self) -> None:
        self.received: list[int] = []
        self._server: uvicorn.Server | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> Stop:
        # Python runs signal handlers on the main thread only; `main()` called on another one (inside a loop there)
        # serves until the process ends, as uvicorn does off the main thread.
        if threading.current_thread() is threading.main_thread():
            ignored = ignored_signals()
            self._previous = {sig: signal.signal(sig, self._on_signal) for sig in self.SIGNALS if sig not in ignored}
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def attach(self, server: uvicorn.Server) -> None:
        """Hand signals to `server` from now on (and at once, if one came already)."""
        self._server = server
        if self.received:
            server.should_exit = True

    @property
    def interrupted(self) -> bool:
        return signal.SIGINT in self.received

    @property
    def why(self) -> str:
        """ " (Ctrl-C)", " (SIGTERM)", " (SIGHUP)" or "" (it stopped on its own), for the closing line."""
        if not self.received:
            return ""
        return " (Ctrl-C)" if self.interrupted else f" ({signal.Signals(self.received[0]).name})"

    @answers_ctrl_c
    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.received.append(signum)
        if self._server is not None:
            self._server.handle_exit(signum, frame)


def _sayer(err: Console) -> Callable[..., None]:
    def say(text: str, style: str = "") -> None:
        # a terminal that went away (SIGHUP's usual cause: an ssh or tmux session closed) has no reader for the line
        with contextlib.suppress(OSError):
            err.print(Text(text, style=style), soft_wrap=True, highlight=False)

    return say
