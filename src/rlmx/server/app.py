"""The HTTP side of `rlmx serve`: requests in, one RLM call out; a Result or events in, HTTP out.

Endpoints stay thin: `openai_compat` reads requests and writes OpenAI JSON, `body` reads and decodes bodies,
`admission` queues requests for a run slot, `runs` owns the running completions, and this module wires them
together. The order of a completion request is the point: check the key and the declared size, find a retried
run, read the body whole (under the body timeout; a big one only while one server-wide budget of bytes held by
requests not yet running has room), map it off the event loop when it is big or holds a file (files on a small
pool of their own), and only then wait for a run slot: only runs hold slots, so a slow or stalled upload holds
its connection (and its budget) until the body timeout, never a run slot; neither a flood of requests nor one huge
body or document stalls `/health` or other clients' requests, and a queued stream gets its keep-alives while it
waits.

    app = create_app(RLM(OpenAICompatibleLM("gpt-5-mini")), model_name="rlmx")
    uvicorn.run(app, host="127.0.0.1", port=8000)
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import copy
import dataclasses
import functools
import hashlib
import json
import logging
import math
import re
import threading
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response, StreamingResponse
from starlette.responses import JSONResponse as _JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.types import Message as ASGIMessage

from rlmx import documents
from rlmx.api_keys import checked_key, trimmed_key
from rlmx.budget import Budget
from rlmx.deadline import time_limit
from rlmx.errors import InputError, RLMXError
from rlmx.events import strict_json
from rlmx.http_access import Origins, allowed_host, allowed_origin, carries_key, key_bytes, refusal
from rlmx.lm.base import LM, Completion, Message, prompt_tokens
from rlmx.request_form import SLASHES_KEY, RequestForm
from rlmx.result import Result
from rlmx.rlm import RLM, _inputs
from rlmx.sandbox.frames import utf8
from rlmx.server import body as bodies
from rlmx.server import openai_compat
from rlmx.server.admission import Admission
from rlmx.server.openai_compat import ChatCall, RequestError, RunCancelled
from rlmx.server.runs import Reply, Run, Runs, WaitingKeys, new_run_id

RLMFactory = Callable[[Mapping[str, int | float]], RLM]
"""Gets a request's budget limits (validated; empty when it sent none) and returns the RLM to run it with."""

TRACE_HEADER = "X-Rlmx-Trace-Id"
REQUEST_ID_HEADER = "x-request-id"


class JSONResponse(_JSONResponse):
    """Starlette's JSON response, with lone surrogates made encodable (rlmx's one rule for text that leaves it)."""

    def render(self, content: Any) -> bytes:
        # NaN or Infinity (a FINAL value in a trace) as null: allow_nan=False alone failed the request with a 500
        return utf8(strict_json(content, ensure_ascii=False, indent=None, separators=(",", ":")))


KEEPALIVE = ": keep-alive\n\n"
FAREWELL_SECONDS = 1.0
"""The longest a stream's last events may wait to be sent at shutdown: a client that stopped reading (its socket
full) would hold them, and the server's end, forever."""
_TRACE_ID = re.compile(r"[0-9a-f]{6,64}")
FILE_READERS = 2
"""Threads that read attached files: a few slow PDFs take these, never the default pool's threads that every
request's preparation (and every run's reply parsing) needs."""
_file_readers = concurrent.futures.ThreadPoolExecutor(FILE_READERS, thread_name_prefix="rlmx-serve-files")
_access = logging.getLogger("uvicorn.access")
_log = logging.getLogger("uvicorn.error")


@dataclass(frozen=True, slots=True)
class ServerOptions:
    """How a server admits and answers requests. Seconds and bytes; see `rlmx serve --help` for each."""

    max_concurrent_runs: int = 4
    max_queued: int = 128
    queue_timeout: float = 120.0
    max_request_bytes: int = bodies.DEFAULT_MAX_REQUEST_BYTES
    body_timeout: float = bodies.DEFAULT_BODY_TIMEOUT
    """Seconds a request body may take to arrive whole, else a 408 (a slow upload holds no run slot meanwhile)."""
    keepalive: float = 15.0
    """Seconds of silence after which a stream gets an SSE comment; 0 turns keep-alives off."""
    idempotency_grace: float = 60.0
    """How long a keyed run outlives its last client, waiting for a retry to pick it up."""
    idempotency_keep: float = 600.0
    """How long a keyed run's answer is kept after it ends."""
    api_key: str | None = field(default=None, repr=False)
    """When set, every route but /health needs `Authorization: Bearer <api_key>`."""
    cors_origins: tuple[str, ...] = ()
    """Browser origins whose pages may call the API (`scheme://host[:port]`, `http://host:*` for any port, `*` for
    every one), a tuple or list even for one (a lone string is refused), kept as the Origin header writes them (lower
    case, no trailing slash). A request with another `Origin` (a web page's) gets 403, unless it is the server's own
    page."""
    loopback_only: bool = False
    """The server listens on a loopback address (`rlmx serve` sets it for its default --host 127.0.0.1): a request
    whose `Host` does not name this machine (localhost, 127.0.0.1, [::1]) then gets 421, against DNS rebinding."""
    allowed_hosts: tuple[str, ...] = ()
    """Host names a loopback server answers besides localhost, 127.0.0.1 and [::1] (--allow-host): those a reverse
    proxy on this machine forwards as `Host`, a tuple or list even for one; any other name gets 421
    (`loopback_only`)."""

    def __post_init__(self) -> None:
        for name in ("max_concurrent_runs", "max_request_bytes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InputError(f"{name} must be an integer >= 1, not {value!r}")
        if isinstance(self.max_queued, bool) or not isinstance(self.max_queued, int) or self.max_queued < 0:
            raise InputError(f"max_queued must be an integer >= 0, not {self.max_queued!r}")
        body_timeout = self.body_timeout
        if isinstance(body_timeout, bool) or not isinstance(body_timeout, int | float) or not 0 < body_timeout < 1e9:
            raise InputError(
                f"body_timeout must be a number of seconds more than 0 and below 1e9, not {body_timeout!r}"
            )
        for name in ("queue_timeout", "keepalive", "idempotency_grace", "idempotency_keep"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise InputError(f"{name} must be a number of seconds >= 0, not {value!r}")
        if self.api_key is not None and (not isinstance(self.api_key, str) or not trimmed_key(self.api_key)):
            raise InputError("api_key must be a non-empty string (or None for no authentication)")
        if self.api_key is not None:
            checked_key(self.api_key, "api_key")  # what no client can send, or no key holds
        # each checked and kept as its flag keeps it (--cors-origin, --allow-host): "https://app.example.com/" is
        # the Origin "https://app.example.com"; kept as given, it matched no browser's
        origins = _names(
            "cors_origins",
            self.cors_origins,
            "origins",
            lambda each: "*" if each.strip() == "*" else allowed_origin(each),
        )
        object.__setattr__(self, "cors_origins", origins)
        object.__setattr__(
            self, "allowed_hosts", _names("allowed_hosts", self.allowed_hosts, "host names", allowed_host)
        )


def _names(field: str, given: object, what: str, checked: Callable[[str], str]) -> tuple[str, ...]:
    """A ServerOptions field of names (`cors_origins`, `allowed_hosts`) as a tuple of each name `checked` makes it.
    One string is refused, not read letter by letter ("'h' is not an origin"; a host list "proxy.local" let in a
    Host "p"): the field holds several, as its flag is repeated. InputError for a bad one, saying why."""
    if isinstance(given, str | bytes) or not isinstance(given, tuple | list | frozenset | set):
        example = "('https://app.example.com',)" if field == "cors_origins" else "('rlmx.example.com',)"
        raise InputError(
            f"{field} must be a tuple or list of {what}, got {type(given).__name__}"
            + (f" (write {field}=({given!r},) for one)" if isinstance(given, str) else f", as {field}={example}")
        )
    names = []
    for name in given:
        if not isinstance(name, str):
            raise InputError(f"{field} must hold strings, not {name!r}")
        try:
            names.append(checked(name))
        except ValueError as exc:
            raise InputError(f"{field}: {exc}") from None
    return tuple(names)


def create_app(
    rlm: RLM | RLMFactory,
    *,
    model_name: str = "rlmx",
    max_concurrent_runs: int | None = None,
    options: ServerOptions | None = None,
) -> Starlette:
    """An ASGI app serving `rlm` as the OpenAI-compatible model `model_name`.

    Routes: `POST /v1/chat/completions` (plain and `stream: true`), `GET /v1/models`, `GET /v1/models/{name}`,
    `GET /v1/traces/{trace_id}`, `GET /view/{trace_id}` (the trace viewer page), `GET /health`. Each request is
    its own completion of the same (reusable) RLM;
    with an RLM instance, a request's `rlmx` limits can only tighten its budget. Pass a factory instead to decide
    per request. `options` sets the queue, the limits and authentication (`max_concurrent_runs` is a shortcut).
    Raises InputError for a bad option.
    """
    if not isinstance(model_name, str) or not model_name.strip():
        raise InputError(f"model_name must be a non-empty string, not {model_name!r}")
    options = options if options is not None else ServerOptions()
    if max_concurrent_runs is not None:
        options = dataclasses.replace(options, max_concurrent_runs=max_concurrent_runs)
    if isinstance(rlm, RLM):
        factory: RLMFactory = functools.partial(with_limits, rlm)
        trace_dir = rlm.trace_dir
    elif callable(rlm):
        factory, trace_dir = rlm, None
    else:
        raise InputError(f"create_app needs an RLM or a function limits -> RLM, not {type(rlm).__name__}")
    server = _Server(
        factory,
        model_name,
        options,
        Admission(options.max_concurrent_runs, max_queued=options.max_queued, queue_timeout=options.queue_timeout),
        Runs(grace=options.idempotency_grace, keep=options.idempotency_keep),
        bodies.WaitingBytes(bodies.WAITING_BYTES),
        WaitingKeys(),
        trace_dir,
        int(time.time()),
    )
    server.admission.on_close(server.waiting.close)  # a request waiting for room to read its body gets its 503 too

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        server.admission.close()  # queued requests get their 503; no run starts any more
        await server.runs.cancel_all()  # what the graceful shutdown did not finish is stopped, workers killed

    def closed() -> bool:
        return server.admission.closed

    # x-request-id outermost, so that refusals and CORS preflights carry it too; web pages are refused (Host, Origin)
    # before CORS answers their preflights, so a refused one gets rlmx's 403, not CORS's text/plain 400
    middleware = [
        Middleware(_RequestId),
        Middleware(RequestForm),  # /v1/chat/completions/ is served, not redirected with a bare 307
        Middleware(_Browsers, options=options, closed=closed),
        Middleware(_Auth, api_key=options.api_key, closed=closed),
    ]
    if options.cors_origins:
        middleware.insert(
            3,
            Middleware(
                _CORS,
                allow_origins=list(options.cors_origins),
                allow_methods=["GET", "POST", "OPTIONS"],
                # any request header: the openai JS SDK sends X-Stainless-* (and OpenAI-Organization/-Project),
                # whose preflight a fixed list refused, blocking every call from a browser page
                allow_headers=["*"],
                expose_headers=[TRACE_HEADER, REQUEST_ID_HEADER, "Retry-After"],
            ),
        )
    app = Starlette(
        routes=[
            Route("/v1/chat/completions", chat_completions, methods=["POST"]),
            Route("/v1/models", list_models, methods=["GET"]),
            Route("/v1/models/{name:path}", get_model, methods=["GET"]),
            Route("/v1/traces/{trace_id}", get_trace, methods=["GET"]),
            Route("/view/{trace_id}", view_trace, methods=["GET"]),
            Route("/health", health, methods=["GET"]),
            Route("/favicon.ico", no_icon, methods=["GET"]),
        ],
        middleware=middleware,
        exception_handlers={
            RequestError: _request_error,
            InputError: _input_error,
            HTTPException: _http_error,
            Exception: _unexpected_error,
        },
        lifespan=lifespan,
    )
    app.state.server = server
    return app


def with_limits(rlm: RLM, limits: Mapping[str, int | float]) -> RLM:
    """`rlm` under a request's limits. They only tighten its budget: a client may ask for less, never for more
    than the operator allowed. A USD limit needs prices for every model, as `RLM(budget=...)` does."""
    if not limits:
        return rlm
    changes: dict[str, Any] = {}
    for name, value in limits.items():
        current = getattr(rlm.budget, name)
        changes[name] = value if current is None else min(current, value)
    if "max_usd" in limits and rlm.budget.max_usd is None:
        unpriced = rlm.unpriced_models()
        if unpriced:
            raise RequestError(
                f"rlmx.max_usd cannot be enforced: this server knows no price for {', '.join(unpriced)}; "
                "limit rlmx.max_tokens instead",
                param="rlmx.max_usd",
            )
    budget: Budget = dataclasses.replace(rlm.budget, **changes)
    # RLM keeps no per-run state, so a shallow copy with another budget is an independent RLM sharing the LMs.
    limited = copy.copy(rlm)
    limited.budget = budget
    if budget.max_depth is not None:
        limited.max_depth = min(rlm.max_depth, budget.max_depth)
    return limited


def with_call_options(rlm: RLM, call: ChatCall) -> RLM:
    """`rlm` with a request's sampling params (sent with every LM call of the run) and its `max_tokens` (a
    tighter cap on each LM call's output). Returns `rlm` itself when the request sets neither."""
    if not call.sampling and call.max_tokens_per_call is None:
        return rlm
    changed = copy.copy(rlm)
    cap = None
    if call.max_tokens_per_call is not None:
        cap = min(rlm.budget.max_tokens_per_call, call.max_tokens_per_call)
        changed.budget = dataclasses.replace(rlm.budget, max_tokens_per_call=cap)
    wrap = functools.partial(SamplingLM, params=call.sampling, max_tokens=cap)
    changed.lm, changed.sub_lm = wrap(rlm.lm), wrap(rlm.sub_lm)
    changed.models = {name: wrap(lm) for name, lm in rlm.models.items()}
    changed.depth_lms = {depth: wrap(lm) for depth, lm in rlm.depth_lms.items()}
    return changed


class SamplingLM:
    """An LM whose every call also gets `params` (temperature, top_p, seed; a call's own params win) and at
    most `max_tokens` output tokens (the engine sends its own cap only when a spending limit is set)."""

    def __init__(self, inner: LM, *, params: Mapping[str, Any], max_tokens: int | None = None) -> None:
        self.inner = inner
        self.model = inner.model
        self.params = dict(params)
        self.max_tokens = max_tokens

    async def complete(self, messages: Sequence[Message], **params: Any) -> Completion:
        merged = {**self.params, **params}
        if self.max_tokens is not None:
            merged["max_tokens"] = min(merged.get("max_tokens", self.max_tokens), self.max_tokens)
        return await self.inner.complete(messages, **merged)

    async def count_tokens(self, messages: Sequence[Message]) -> int:
        return await prompt_tokens(self.inner, messages)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@dataclass(frozen=True, slots=True)
class _Server:
    factory: RLMFactory
    model_name: str
    options: ServerOptions
    admission: Admission
    runs: Runs
    waiting: bodies.WaitingBytes
    """The bytes of big bodies held by requests not yet running (read, or being read)."""
    waiting_keys: WaitingKeys
    """The run ids promised to keyed requests while they wait."""
    trace_dir: Path | None
    created: int


class _RequestId:
    """`x-request-id` on every response, as OpenAI's API sends it (the SDKs show it as `_request_id` and on their
    errors): the run's trace id when there is one, else a fresh id."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_id(message: ASGIMessage) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower(): value for name, value in headers}
                if REQUEST_ID_HEADER.encode() not in names:
                    trace = names.get(TRACE_HEADER.lower().encode())
                    headers.append((REQUEST_ID_HEADER.encode(), trace or f"req_{uuid.uuid4().hex}".encode()))
                    message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_id)


class _Browsers:
    """Web pages kept out (`rlmx.http_access.refusal`, as `rlmx mcp --http` keeps them out). A browser sends a
    cross-site POST with a text/plain body without asking first: a page the user opened could start runs on the
    model's key. A request whose `Origin` is neither one of `cors_origins` nor the server's own page gets 403; on a
    loopback bind (`loopback_only`), one whose `Host` does not name this machine (a name rebound to 127.0.0.1) gets
    421. Requests without `Origin` (SDKs, curl) are no browser's: they pass. The server's own page (an `Origin`
    naming the request's `Host`) passes only where that `Host` is checked or a key is asked for: on a wide bind
    without a key, a page whose name was pointed at this machine (DNS rebinding) has the server's own origin."""

    def __init__(self, app: ASGIApp, options: ServerOptions, closed: Callable[[], bool] = lambda: False) -> None:
        self.app = app
        self.origins = Origins(options.cors_origins)
        self.check_host = options.loopback_only
        self.allowed_hosts = options.allowed_hosts
        self.own_page = options.loopback_only or options.api_key is not None
        self.closed = closed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refused = refusal(
            scope,
            self.origins,
            check_host=self.check_host,
            command="rlmx serve",
            origin_flag="--cors-origin",
            allow_same_origin=self.own_page,
            allowed_hosts=self.allowed_hosts,
        )
        if refused is None:
            await self.app(scope, receive, send)
            return
        body = openai_compat.error_body(refused.message, kind="invalid_request_error", code=refused.code)
        answer = JSONResponse(body, status_code=refused.status, headers={"Connection": "close"})
        await _refuse_unread(answer, scope, receive, send, self.closed)


class _CORS(CORSMiddleware):
    """Starlette's CORS, with origins matched as --cors-origin takes them (`http://host:*`: any port; Starlette
    matched that literally), and a preflight it refuses (a method it does not allow) answered with a 403 in OpenAI's
    error shape instead of a text/plain 400."""

    def __init__(
        self,
        app: ASGIApp,
        allow_origins: Sequence[str],
        allow_methods: Sequence[str],
        allow_headers: Sequence[str],
        expose_headers: Sequence[str],
    ) -> None:
        super().__init__(
            app,
            allow_origins=allow_origins,
            allow_methods=allow_methods,
            allow_headers=allow_headers,
            expose_headers=expose_headers,
        )
        self._origins = Origins(allow_origins)

    def is_allowed_origin(self, origin: str) -> bool:
        return self._origins.allows(origin)

    def preflight_response(self, request_headers: Headers) -> Response:
        answer = super().preflight_response(request_headers)
        if answer.status_code < 400:
            return answer
        refused = bytes(answer.body).decode("latin-1").removeprefix("Disallowed CORS ")  # "method, headers"
        asked = request_headers.get("access-control-request-method", "")
        message = (
            f"CORS preflight refused: its {refused} is not allowed (it asked for {asked[:40]}); this server takes "
            "GET and POST from the origins given with --cors-origin"
        )
        headers = {name: value for name, value in answer.headers.items() if name not in _BODY_HEADERS}
        body = openai_compat.error_body(message, kind="invalid_request_error", code="cors_preflight_refused")
        return JSONResponse(body, status_code=403, headers=headers)


_BODY_HEADERS = frozenset({"content-length", "content-type"})


async def _refuse_unread(
    answer: Response, scope: Scope, receive: Receive, send: Send, closed: Callable[[], bool]
) -> None:
    """Send `answer` to a request refused before its body was read. The body is dropped first (a bounded amount), so
    that a client still sending sees the answer rather than a reset connection; not while the server stops."""
    inbox = bodies.Inbox(receive, expects_continue=_expects_continue(dict(scope["headers"]).get(b"expect")))
    await inbox.drain(bodies.DRAIN_BYTES, bodies.DRAIN_SECONDS, stop=closed)
    await answer(scope, inbox, send)


class _Auth:
    """`Authorization: Bearer <key>` on every route but /health and the viewer page, when the server has a key. The
    page holds no data: it fetches the trace with the key (given in the page URL's #key= fragment)."""

    def __init__(self, app: ASGIApp, api_key: str | None, closed: Callable[[], bool] = lambda: False) -> None:
        self.app = app
        self.closed = closed
        """Whether the server is shutting down (a refusal then drains no body)."""
        self.expected = None if api_key is None else key_bytes(api_key)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        open_paths = ("/health", "/favicon.ico")  # a browser asks for the icon itself, without the page's key
        if self.expected is None or scope["type"] != "http" or scope["path"] in open_paths or _is_viewer(scope):
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"authorization", b"")
        if carries_key(given, self.expected):
            await self.app(scope, receive, send)
            return
        # OpenAI's own words first: litellm and others sort errors by them ("Incorrect API key provided" is their
        # AuthenticationError; without it litellm raised BadRequestError for this 401)
        what = (
            "You didn't provide an API key (no API key was sent)"
            if not given
            else "Incorrect API key provided (the API key sent is not this server's)"
        )
        body = openai_compat.error_body(
            f"{what}: send `Authorization: Bearer <key>` with the key the server was started with "
            "(--server-api-key-env); OpenAI clients send their api_key so",
            kind="invalid_request_error",
            code="invalid_api_key",
        )
        headers = {"WWW-Authenticate": "Bearer", "Connection": "close"}
        await _refuse_unread(JSONResponse(body, status_code=401, headers=headers), scope, receive, send, self.closed)


# --- endpoints ----------------------------------------------------------------------------------------


async def chat_completions(request: Request) -> Response:
    server: _Server = request.app.state.server
    try:
        return await _chat_completion(request, server)
    except asyncio.CancelledError:
        # Only a server shutting down cancels a handler (uvicorn past its graceful deadline, a second Ctrl-C, the
        # loop's end): rlmx's 503 then, not uvicorn's text/plain 500 and a traceback in the operator's terminal.
        # A cancellation from anywhere else (an in-process client's timeout) goes on.
        if not server.admission.closed:
            raise
        _uncancel()
        return _error_response(openai_compat.shutting_down("this request was stopped before its answer"))


def _uncancel() -> None:
    """Take back the current task's cancellation, which the caller answers instead of propagating."""
    task = asyncio.current_task()
    if task is not None:
        task.uncancel()


async def _chat_completion(request: Request, server: _Server) -> Response:
    inbox = bodies.Inbox(request.receive, expects_continue=_expects_continue(request.headers.get("expect")))
    try:
        return await _completion_of(request, server, inbox)
    except RequestError as refused:
        if refused.status in _REFUSED_UNREAD:
            most = max(2 * server.options.max_request_bytes, bodies.DRAIN_BYTES)
            seconds = min(bodies.DRAIN_SECONDS, server.options.body_timeout)
            await inbox.drain(most, seconds, stop=lambda: server.admission.closed)
        raise


def _expects_continue(expect: str | bytes | None) -> bool:
    """Whether an `Expect` header asks for a 100 (Continue) before the body is sent."""
    if isinstance(expect, bytes):
        expect = expect.decode("latin-1")
    return expect is not None and expect.strip().lower() == "100-continue"


def _check_json_type(content_type: str | None) -> None:
    """RequestError 415 for a body declared as something other than JSON: `text/plain` and the form types are what a
    web page may POST to any address without a CORS preflight. A body with no Content-Type is read as JSON (a
    browser always names its body's type, or sends `Origin`, which `_Browsers` checks)."""
    if content_type is None:
        return
    media = content_type.partition(";")[0].strip().lower()
    if media == "application/json" or media.endswith("+json"):
        return
    raise RequestError(
        f"Content-Type {content_type[:100]!r} is not JSON: send the request body as JSON with `Content-Type: "
        "application/json` (OpenAI clients do; curl: -H 'Content-Type: application/json')",
        param="Content-Type",
        code="unsupported_media_type",
        status=415,
    )


_REFUSED_UNREAD = frozenset({413, 415, 429})
"""Refusals that may come before the request's body was read whole: its rest is drained so that the client sees
them (408 is not: that client stopped sending; nor a shutdown's 503, which must not wait)."""


async def _completion_of(request: Request, server: _Server, inbox: bodies.Inbox) -> Response:
    _check_json_type(request.headers.get("content-type"))
    bodies.content_codings(request.headers.get("content-encoding"))  # a 415 for one not decoded, before the body
    limit = server.options.max_request_bytes
    bodies.check_declared_size(dict(request.headers), limit)
    key = _idempotency_key(request)
    if key is not None and (run := server.runs.find(key)) is not None:
        return await _retry(request, server, inbox, run, key)
    # The body is read (and checked: a bad request gets its 4xx at once, however busy the server is) before the
    # wait for a run slot: only runs hold slots, so a slow or stalled upload holds none.
    try:
        pending, reply, fingerprint, held = await _read(request, server, inbox, key)
    except bodies.ClientLeft:
        _log_left(request, None, "while sending its body")
        return Response(status_code=499)
    # decided now: a waiting stream's headers name its run before the run exists (a keyed retry's, its twin's)
    try:
        run_id = new_run_id() if key is None else server.waiting_keys.enter(key)
        begin = asyncio.ensure_future(_begin(request, server, inbox, pending, fingerprint, key, run_id))
    except BaseException:
        held()
        raise
    if key is not None:
        begin.add_done_callback(lambda _: server.waiting_keys.leave(key))
    begin.add_done_callback(lambda _: held())  # its run started, or it was refused: it waits no more
    if not await _begun_within(begin, reply.stream, server.options.keepalive):
        return _waiting_stream(server, begin, reply, run_id, inbox)
    begun = begin.result()
    if isinstance(begun, Response):
        return begun
    run, fingerprint = begun
    return await _answer(request, inbox, server, run, fingerprint, key=key)


class _Pending:
    """A read request until its run starts: its body's (decoded) bytes, and its call while it has not had to wait.

    A request that must wait for a run slot drops `call` and keeps `raw` alone, mapped again once it has its slot:
    a parsed body can hold far more than its bytes (a context of 250 KB of `[{},{},...]` parses to about 6 MB of
    dicts: 100 such requests queued grew the server by 585 MiB, against 17 MiB for string contexts of the same
    size), while a queue of bytes holds what its clients sent (the big ones booked in the waiting bodies'
    budget, the small ones at most --max-queued times THREAD_THRESHOLD bytes)."""

    __slots__ = ("call", "raw")

    def __init__(self, call: ChatCall | None, raw: bytes) -> None:
        self.call = call
        self.raw = raw

    def take(self) -> tuple[ChatCall | None, bytes]:
        """(the call, if kept, and the body's bytes), after which this holds neither."""
        call, raw = self.call, self.raw
        self.call, self.raw = None, b""
        return call, raw


async def _read(
    request: Request, server: _Server, inbox: bodies.Inbox, key: str | None
) -> tuple[_Pending, Reply, str, bodies.Claim]:
    """The request's body read (`_raw`) and mapped (checked): (its call, or its bytes alone when it will wait for a
    slot, see `_Pending`; its reply; its fingerprint when it has an Idempotency-Key; its claim on the waiting bodies'
    budget, to give back once its run starts). Raises its 4xx, or ClientLeft (also when the client leaves while its
    body is decoded and mapped: what was made of it is dropped)."""
    claim = server.waiting.claim()
    try:
        raw = await _raw(request, server, inbox, claim)
        fingerprint = await inbox.unless_left(_fingerprint(raw)) if key is not None else ""
        call: ChatCall | None = await _parsed(raw, server.model_name, inbox)
        assert call is not None
        reply = Reply.of(call)  # shared: it allocates nothing among the parsed objects about to be dropped
        if not server.admission.free:
            # dropped before anything that outlives the parse is made: an object made while the parsed form is
            # held lands among its objects and pins their memory (1 MiB per waiting request) once they are freed
            call = None
        return _Pending(call, raw), reply, fingerprint, claim
    except BaseException:
        claim()
        raise


async def _raw(request: Request, server: _Server, inbox: bodies.Inbox, claim: bodies.Claim) -> bytes:
    """The request's body, read within --body-timeout (counted while the client sends, not while the body waits
    for room) under the waiting bodies' budget: a big body (declared over THREAD_THRESHOLD bytes, or past them) is
    read only while the budget has room, waited for at most --queue-timeout in all (see `_room`). A body whose
    Content-Encoding is gzip or deflate is decoded on worker threads, at most --max-request-bytes decoded (a 413
    past it), its decoded bytes booked as they are made, under the same budget (`bodies.decode_booked`). Raises its
    4xx, or ClientLeft."""
    options = server.options
    room = functools.partial(_room, server, inbox)
    declared = request.headers.get("content-length")  # a number: checked by `check_declared_size`
    codings = bodies.content_codings(request.headers.get("content-encoding"))  # checked before the body was read
    raw = await bodies.read_booked(
        inbox,
        claim,
        room,
        declared=None if declared is None else int(declared),
        limit=options.max_request_bytes,
        timeout=options.body_timeout,
        finish=not codings,
    )
    if not codings:
        return raw
    return await bodies.decode_booked(raw, codings, inbox, claim, room, limit=options.max_request_bytes)


async def _room(server: _Server, inbox: bodies.Inbox, claim: bodies.Claim) -> None:
    """Wait until `claim`'s reader may read more of its body, or raise the 429 a full queue or --queue-timeout
    gives (ClientLeft when the client leaves meanwhile, seen through `inbox`)."""
    admission = server.admission
    admission.check_open()
    if admission.queued + server.waiting.queued >= server.options.max_queued:  # only a request that waits counts
        raise _busy(
            server,
            f"this rlmx server has {admission.queued + server.waiting.queued} requests waiting, its queue's limit "
            f"(--max-queued {server.options.max_queued})",
        )
    loop = asyncio.get_running_loop()
    started = loop.time()
    waiting = asyncio.ensure_future(claim.room())
    watching = asyncio.ensure_future(inbox.leaving())
    try:
        await asyncio.wait(
            {waiting, watching},
            timeout=server.options.queue_timeout - claim.waited,
            return_when=asyncio.FIRST_COMPLETED,
        )
    finally:
        claim.waited += loop.time() - started
        for task in (waiting, watching):
            task.cancel()
        await asyncio.gather(waiting, watching, return_exceptions=True)
    if waiting.cancelled() or waiting.exception() is not None:
        if watching.done() and not watching.cancelled():
            raise bodies.ClientLeft
        if not waiting.cancelled():
            waiting.result()  # the shutdown's 503
        raise _no_room(server, claim, claim.size + inbox.kept)
    admission.check_open()


def _no_room(server: _Server, claim: bodies.Claim, received: int) -> RequestError:
    """The 429 of a body that waited --queue-timeout for room: what holds the room says when it frees, and what
    would help (bodies read whole leave as their runs start; uploads still arriving, at worst at --body-timeout)."""
    budget, options = server.waiting, server.options
    if budget.whole:
        frees, retry_after = "as their runs start", server.admission.retry_after()
        helps = "a higher --max-concurrent-runs"
    else:
        frees = f"once they arrive, or at most --body-timeout ({options.body_timeout:g} s)"
        retry_after = max(1, min(60, math.ceil(options.body_timeout)))
        helps = "a lower --body-timeout, if slow or stalled uploads hold it"
    error = RequestError(
        f"this request waited {options.queue_timeout:g} s (--queue-timeout) for room to read its body "
        f"({received:,} bytes received): the bodies of requests not yet running may hold {budget.cap:,} bytes in all, "
        f"held now by {budget.held - claim.size:,} bytes of other bodies, which free it {frees}: retry after the "
        f"Retry-After seconds, or start the server with {helps}",
        code="too_many_runs",
        status=429,
        kind="rate_limit_error",
    )
    error.headers["Retry-After"] = str(retry_after)
    return error


def _busy(server: _Server, what: str) -> RequestError:
    error = RequestError(
        f"{what}: retry after the Retry-After seconds, or start the server with a higher --max-concurrent-runs "
        "or --max-queued",
        code="too_many_runs",
        status=429,
        kind="rate_limit_error",
    )
    error.headers["Retry-After"] = str(server.admission.retry_after())
    return error


async def _begin(
    request: Request,
    server: _Server,
    inbox: bodies.Inbox,
    pending: _Pending,
    fingerprint: str,
    key: str | None,
    run_id: str,
) -> tuple[Run, str] | Response:
    """Wait for a run slot (the body is read), then start the run `run_id`: (the run, the body's fingerprint), or
    the 499 for a client that left (while it waited, or while its run was prepared: no run starts for a client
    known to be gone). A request that has to wait holds its body's bytes only, and is mapped again once it has
    its slot (see `_Pending`). Raises the request's refusal (a 4xx, or the 503 of a shutdown)."""
    release = server.admission.take_free()
    if release is None:
        pending.call = None  # it waits (a slot was taken since it was read): it holds its bytes alone
        release = await _admitted(server.admission, inbox)
    elif inbox.gone:
        release()
        release = None
    if release is None:
        _log_left(request, None, "while waiting for a run slot")
        return Response(status_code=499)
    started = False
    try:
        if key is not None and (run := server.runs.find(key)) is not None:  # a twin arrived while we waited
            return run, fingerprint
        call, raw = pending.take()
        if call is None:
            try:
                call = await _parsed(raw, server.model_name, inbox)
            except bodies.ClientLeft:
                _log_left(request, None, "while its body was mapped")
                return Response(status_code=499)
        del raw
        rlm = with_call_options(server.factory(call.limits), call)
        if answers_from_context_only(rlm):
            openai_compat.check_for_guided_root(call)  # a 400 before any run, as `rlmx ask` refuses it (exit 2)
        try:
            prepared, schema = await inbox.unless_left(_prepare(call, rlm.max_context_bytes))
        except bodies.ClientLeft:
            _log_left(request, None, "while its run was prepared")
            return Response(status_code=499)
        server.admission.check_open()  # admitted before the shutdown began, it still must not start a run now
        if key is not None and (run := server.runs.find(key)) is not None:  # a twin started while this one prepared
            return run, fingerprint
        if inbox.gone:  # the last look before any LM call
            _log_left(request, None, "before its run started")
            return Response(status_code=499)
        if key is not None:
            run_id = server.waiting_keys.claim(key, run_id)
        run = Run(Reply.of(call), key=key, fingerprint=fingerprint)
        listener = run.push
        server.runs.start(run, rlm._run(call.query, prepared, schema, listener=listener, run_id=run_id), release)
        started = True
    finally:
        if not started:  # every way out before the run holds it (its end releases it) frees the slot
            release()
    return run, fingerprint


async def _begun_within(begin: asyncio.Future[Any], stream: bool, every: float) -> bool:
    """Wait for `begin`; False instead once a streamed request has waited `every` seconds for it (0: never), so
    that its stream starts now, with keep-alives, rather than leave proxies a silent connection to cut."""
    try:
        while not begin.done():
            await asyncio.wait({begin}, timeout=every or None)
            if not begin.done() and stream:
                return False
        return True
    except asyncio.CancelledError:
        begin.cancel()  # the handler's cancellation (a shutdown) reaches the wait, which frees its slot
        await asyncio.gather(begin, return_exceptions=True)
        raise


def _waiting_stream(
    server: _Server, begin: asyncio.Future[Any], reply: Reply, run_id: str, inbox: bodies.Inbox
) -> Response:
    """The stream of a request still waiting for its run `run_id`: its headers now (naming that run), keep-alives
    while it waits, then the run's events; a refusal that comes now (the queue's 429, a shutdown's 503, a 400) is
    its error event."""
    leaving: list[Callable[[], None]] = []

    async def events() -> AsyncGenerator[str, None]:
        try:
            begun = await asyncio.shield(begin)
        except RequestError as refused:
            yield openai_compat.refusal_events(refused)
            return
        if isinstance(begun, Response):
            return  # the client left: nobody reads this
        run, fingerprint = begun
        if run.key is not None and fingerprint != run.fingerprint:
            yield openai_compat.refusal_events(_reused_key(run.key))
            return
        leaving.append(server.runs.watch(run))
        items = run.follow()
        try:
            first = await anext(items)
            chunks = openai_compat.stream_chunks(
                first,
                items,
                model=server.model_name,
                include_usage=reply.include_usage,
                structured=reply.structured,
            )
            try:
                async for text in chunks:
                    yield text
            finally:
                await chunks.aclose()
        except RequestError as refused:
            yield openai_compat.refusal_events(refused)
        except RunCancelled as stopped:
            yield openai_compat.sse(openai_compat.stream_error(stopped, run.run_id or run_id)) + openai_compat.sse(
                "[DONE]"
            )
        finally:
            await items.aclose()

    async def body() -> AsyncGenerator[str, None]:
        async for text in with_keepalive(events(), server.options.keepalive):
            yield text

    async def close() -> None:
        if not begin.done():
            begin.cancel()  # the client left, or the server stops: the wait ends, and frees its place
            await asyncio.gather(begin, return_exceptions=True)
        for leave in leaving:
            leave()

    def farewell() -> str | None:
        return openai_compat.shutdown_events(run_id) if server.admission.closed else None

    return EventStream(body(), close, headers={TRACE_HEADER: run_id}, farewell=farewell, leaving=inbox.leaving)


async def _parsed(raw: bytes, model: str, inbox: bodies.Inbox) -> ChatCall:
    """The request read as an RLM call. What can be slow is mapped on a worker thread, whatever the body's size: a
    big body (mapping a 29 MB message held the event loop, /health and every other client for a second), and any
    attached file (a 9 KB PDF can unpack to millions of characters: reading it held the loop for 10 s) on the
    file readers' own threads (six slow PDFs on the default pool held every other request's preparation). Raises
    ClientLeft when the client leaves while its body is decoded or mapped (its files read)."""
    decoding = bodies.decode(raw)  # a small body is decoded at once; a big one on a worker thread
    body = await (decoding if len(raw) < bodies.THREAD_THRESHOLD else inbox.unless_left(decoding))
    mapping = functools.partial(openai_compat.parse, body, model=model)
    if openai_compat.has_file_parts(body):
        return await _files_read(mapping, inbox)
    if len(raw) < bodies.THREAD_THRESHOLD:
        return mapping()
    return await inbox.unless_left(asyncio.to_thread(mapping))


async def _files_read(mapping: Callable[[], ChatCall], inbox: bodies.Inbox) -> ChatCall:
    """`mapping()` (a body with file parts) on a file reader's thread, for as long as its client stays: once it
    leaves (or this wait is cancelled) a read not yet begun never begins, and one under way stops at its next step
    (`documents.STOP`: a PDF's next content stream), so that a reader holds no slot for nobody. The documents' own
    bounds keep each step short (a PDF's unpacked content: `documents.pdf`)."""
    stop = threading.Event()

    def read() -> ChatCall:
        token = documents.STOP.set(stop)
        try:
            return mapping()
        finally:
            documents.STOP.reset(token)

    reading = asyncio.get_running_loop().run_in_executor(_file_readers, read)
    leaving = asyncio.ensure_future(inbox.leaving())
    try:
        racing: list[asyncio.Future[Any]] = [reading, leaving]
        await asyncio.wait(racing, return_when=asyncio.FIRST_COMPLETED)
        if not reading.done():
            raise bodies.ClientLeft("the client left while its files were read")
        return reading.result()
    finally:
        leaving.cancel()
        if not reading.done():
            stop.set()
            reading.cancel()  # still queued: never starts; under way: its outcome goes nowhere


async def _admitted(admission: Admission, inbox: bodies.Inbox) -> Callable[[], None] | None:
    """A run slot's release, or None when the client left while waiting for one (its place in the queue freed), or
    before (a slot that was free is given back): the wait races the client's `http.disconnect` (read ahead through
    `inbox`). Raises the admission's 429."""
    entering = asyncio.ensure_future(admission.enter())
    watching = asyncio.ensure_future(inbox.leaving())
    try:
        await asyncio.wait({entering, watching}, return_when=asyncio.FIRST_COMPLETED)
        # A free slot is won at once, before the watch has looked: a client known to be gone takes none
        if not entering.done() or inbox.gone:
            entering.cancel()
            await asyncio.gather(entering, return_exceptions=True)
            if not entering.cancelled() and entering.exception() is None:
                entering.result()()  # the slot came as the client left: hand it on
            return None
        return await entering
    finally:
        watching.cancel()
        await asyncio.gather(watching, return_exceptions=True)


def answers_from_context_only(rlm: RLM) -> bool:
    """Whether `rlm`'s root is the guided one, which only searches the context (a SamplingLM wraps it as `inner`)."""
    from rlmx.lm.guided import GuidedRoot

    return isinstance(getattr(rlm.lm, "inner", rlm.lm), GuidedRoot)


async def _retry(request: Request, server: _Server, inbox: bodies.Inbox, run: Run, key: str) -> Response:
    """A request whose Idempotency-Key names a known run: after checking it is the same request, follow it."""
    claim = server.waiting.claim()  # a retry's body is read under the same budget, then given back at once
    try:
        raw = await _raw(request, server, inbox, claim)
    except bodies.ClientLeft:
        return Response(status_code=499)
    finally:
        claim()
    return await _answer(request, inbox, server, run, await _fingerprint(raw), key=key)


async def _answer(
    request: Request, inbox: bodies.Inbox, server: _Server, run: Run, fingerprint: str, *, key: str | None
) -> Response:
    """The run's answer to this request, plain or streamed; a 499 when its client leaves first (the run is left:
    cancelled unless a keyed retry may still follow it)."""
    if key is not None and fingerprint != run.fingerprint:
        raise _reused_key(key)
    leave = server.runs.watch(run)
    if run.reply.stream:
        return await _streamed(request, server, run, leave, inbox)
    try:
        result = await _unless_disconnected(inbox, run.outcome())
    except (RequestError, InputError):
        raise
    except RunCancelled:  # the server's shutdown cancelled it: a 503 the SDKs may retry elsewhere
        stopped = openai_compat.shutting_down("the run was cancelled before it finished")
        if run.run_id is not None:
            stopped.headers[TRACE_HEADER] = run.run_id
        raise stopped from None
    except Exception as exc:  # the run crashed rather than report: still an answer that names its trace
        error = openai_compat.stream_error(exc, run.run_id or "-")["error"]
        crashed = RequestError(error["message"], code=error["code"], status=500, kind="server_error")
        if run.run_id is not None:
            crashed.headers[TRACE_HEADER] = run.run_id
        raise crashed from exc
    finally:
        leave()
    if result is None:
        _log_left(request, run, "before its answer")
        return Response(status_code=499)  # the client left; nobody reads this
    headers = {TRACE_HEADER: result.run_id}
    if result.status == "error":
        error = openai_compat.failure(result)
        error.headers.update(headers)
        raise error
    answer = openai_compat.completion(result, model=server.model_name, structured=run.reply.structured)
    return JSONResponse(answer, headers=headers)


def _reused_key(key: str) -> RequestError:
    return RequestError(
        f"Idempotency-Key {key!r} was already used for a different request body: use a new key for a new "
        "request (a retry must send the same body)",
        code="idempotency_key_reused",
        status=422,
    )


async def _prepare(call: ChatCall, max_context_bytes: int) -> tuple[Any, Any]:
    """The call's contexts checked and prepared, on a worker thread (a big context takes a while). Anything the
    preparation raises is about the request's data, so it is a 400."""
    try:
        return await asyncio.to_thread(_inputs, call.query, call.context, call.contexts, call.output, max_context_bytes)
    except RLMXError:
        raise
    except Exception as exc:  # whatever preparing the request's own data raised is about that data
        raise RequestError(f"the context could not be prepared: {type(exc).__name__}: {exc}") from None


async def _fingerprint(raw: bytes) -> str:
    """The request body's identity for an Idempotency-Key: SHA-256 of its JSON as it means it (sorted keys, no
    spacing), so a client that encodes the same request again (other spacing or key order: a job queue's retry, a
    second HTTP library) is the same request, as the IETF Idempotency-Key draft and Stripe compare parameters, not
    bytes; a body that is not JSON is its bytes. A big body's is made on a worker thread, its long strings hashed
    slice by slice (one json.dumps of a 29 MB string on the event loop held it for a quarter second)."""
    try:
        value = await bodies.decode(raw)
    except RequestError:
        value = _NOT_JSON
    if len(raw) >= bodies.THREAD_THRESHOLD:
        return await asyncio.to_thread(_fingerprint_of, raw, value)
    return _fingerprint_of(raw, value)


_NOT_JSON = object()
_LONG_STRING = 256 * 1024
"""Strings at least this long (characters) are fingerprinted by their own SHA-256, made slice by slice."""


def _fingerprint_of(raw: bytes, value: Any) -> str:
    if value is _NOT_JSON:
        return hashlib.sha256(raw).hexdigest()  # hashlib lets go of the GIL for big inputs
    canonical = json.dumps(_same_numbers(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def _string_digest(text: str) -> str:
    """What stands for a long string in a fingerprint: its length and SHA-256, fed slice by slice so that each C
    call is short (a NUL first, which no real string of that length and digest would share)."""
    digest = hashlib.sha256()
    for start in range(0, len(text), _LONG_STRING):
        digest.update(text[start : start + _LONG_STRING].encode("utf-8", "surrogatepass"))
    return f"\x00sha256:{len(text)}:{digest.hexdigest()}"


def _same_numbers(value: Any) -> Any:
    """`value` with each whole float written as the integer it is (`1.0` as `1`, `-0.0` as `0`), as RFC 8785's
    canonical JSON writes numbers: a client that parses a body and writes it again (a Node worker retrying what
    Python wrote) sends `1` for `1.0`, the same number. A long string stands as its digest (`_string_digest`)."""
    if isinstance(value, float):
        return int(value) if value.is_integer() and abs(value) <= 2**53 else value
    if isinstance(value, str) and len(value) >= _LONG_STRING:
        return _string_digest(value)
    if isinstance(value, dict):
        return {key: _same_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_same_numbers(item) for item in value]
    return value


def _idempotency_key(request: Request) -> str | None:
    key = request.headers.get("idempotency-key")
    if key is None:
        return None
    if not 0 < len(key) <= 255:
        raise RequestError(
            "Idempotency-Key must be 1 to 255 characters, e.g. a UUID", param="Idempotency-Key", code="invalid_header"
        )
    return key


async def list_models(request: Request) -> Response:
    server: _Server = request.app.state.server
    return JSONResponse({"object": "list", "data": [_model(server)]})


async def get_model(request: Request) -> Response:
    server: _Server = request.app.state.server
    name = request.path_params["name"]
    if name != server.model_name:
        raise RequestError(
            f"The model `{name}` does not exist: this server serves {server.model_name!r}",
            param="model",
            code="model_not_found",
            status=404,
        )
    return JSONResponse(_model(server))


async def get_trace(request: Request) -> Response:
    """A run's trace: a JSON list of its events so far, or the JSONL file itself with `?format=jsonl`. Lines that are
    not JSON objects are skipped and named in a last `viewer_note` event, as `rlmx view` shows them (the page at
    /view/{trace_id} shows it above the run); a last line still being written is skipped without a note."""
    from rlmx.viewer.store import parse_trace, with_notes  # late, as view_trace's page: the viewer's own module

    server: _Server = request.app.state.server
    trace_id = request.path_params["trace_id"]
    path = _trace_path(server, trace_id)
    if path is None:
        raise RequestError(
            f"no trace {trace_id!r} here: trace ids are the `rlmx.trace_id` of a response (or its "
            f"{TRACE_HEADER} header) from this server",
            param="trace_id",
            code="trace_not_found",
            status=404,
        )
    text = await asyncio.to_thread(path.read_text, encoding="utf-8", errors="replace")
    if request.query_params.get("format") == "jsonl":
        return Response(text, media_type="application/x-ndjson", headers={TRACE_HEADER: trace_id})
    events = await asyncio.to_thread(parse_trace, text)
    return JSONResponse(with_notes(events), headers={TRACE_HEADER: trace_id})


async def view_trace(request: Request) -> Response:
    """The trace viewer page (rlmx.viewer) for one run; the page fetches `GET /v1/traces/{trace_id}`, by a URL
    relative to its own (`../v1/traces/ID` from /view/ID), so that it works behind a reverse proxy that serves the
    server under a path prefix (nginx's `location /rlmx/ { proxy_pass http://127.0.0.1:8000/; }`), where an
    absolute /v1/... left the prefix and got the proxy's 404."""
    from rlmx.viewer import page

    trace_id = request.path_params["trace_id"]
    if _trace_path(request.app.state.server, trace_id) is None:
        raise RequestError(f"no trace {trace_id!r} here", param="trace_id", code="trace_not_found", status=404)
    # /view/ID/ is served too (RequestForm): the browser resolves against the URL it asked for, one level deeper
    # for each trailing slash
    up = "../" * (1 + int(request.scope.get(SLASHES_KEY, 0)))
    return HTMLResponse(page(trace_url=f"{up}v1/traces/{quote(trace_id, safe='')}"))


def _is_viewer(scope: Scope) -> bool:
    return scope["method"] == "GET" and str(scope["path"]).startswith("/view/")


def _trace_path(server: _Server, trace_id: str) -> Path | None:
    if not _TRACE_ID.fullmatch(trace_id):
        return None
    known = server.runs.trace_path(trace_id)
    if known is not None and known.is_file():
        return known
    if server.trace_dir is None:
        return None
    found = sorted(server.trace_dir.glob(f"*-{trace_id}.jsonl"))
    return found[-1] if found else None


async def no_icon(request: Request) -> Response:
    """The icon a browser asks for with the viewer page: none (204), so the console stays clean."""
    return Response(status_code=204)


async def health(request: Request) -> Response:
    server: _Server = request.app.state.server
    admission = server.admission
    counts = {
        "running": admission.running,
        "max_running": admission.limit,
        "queued": admission.queued + server.waiting.queued,  # waiting for a slot, or for room to read a body
    }
    if admission.closed:
        # The port stays open while the runs finish (`hold_open`): a load balancer's check must see the server go,
        # as a refused connection showed it before, and send it no more requests.
        stopping = openai_compat.shutting_down("it takes no new request")
        body = {"status": "shutting_down", **counts, **stopping.body()}
        return JSONResponse(body, status_code=503, headers=stopping.headers)
    return JSONResponse({"status": "ok", **counts})


def _model(server: _Server) -> dict[str, Any]:
    return {"id": server.model_name, "object": "model", "created": server.created, "owned_by": "rlmx"}


# --- running ------------------------------------------------------------------------------------------


async def _unless_disconnected(inbox: bodies.Inbox, work: Awaitable[Result]) -> Result | None:
    """`work`'s Result, or None when the client left first, or had left already (its disconnect read ahead at an
    earlier step counts: the caller then leaves the run)."""
    try:
        return await inbox.unless_left(work)
    except bodies.ClientLeft:
        return None


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


def _log_left(request: Request, run: Run | None, when: str) -> None:
    """An access-log line (status 499, as nginx logs it) for a request whose client left before its answer:
    uvicorn logs only requests that got a response."""
    client = request.client
    where = f"{client.host}:{client.port}" if client is not None else "-"
    version = request.scope.get("http_version", "1.1")
    _access.info('%s - "%s %s HTTP/%s" %d', where, request.method, request.url.path, version, 499)
    if run is not None and run.run_id is not None:
        _log.info("rlmx: the client left %s; run %s cancelled unless a retry picks it up", when, run.run_id)


async def _streamed(
    request: Request, server: _Server, run: Run, leave: Callable[[], None], inbox: bodies.Inbox
) -> Response:
    """Take the run's first item here, so that a run that cannot start is still a plain error, then stream."""
    items = run.follow()
    try:
        first = await anext(items)
    except BaseException:
        leave()
        await items.aclose()
        raise
    reply = run.reply
    chunks = openai_compat.stream_chunks(
        first, items, model=server.model_name, include_usage=reply.include_usage, structured=reply.structured
    )
    finished = False

    async def close() -> None:
        try:
            await chunks.aclose()
            await items.aclose()
        finally:
            leave()
            if not finished and not run.finished:
                _log_left(request, run, "during its stream")

    async def body() -> AsyncGenerator[str, None]:
        nonlocal finished
        async for text in with_keepalive(chunks, server.options.keepalive):
            yield text
        finished = True

    def farewell() -> str | None:
        """The stream's end when the server's shutdown cancels this handler: the error event and [DONE]."""
        return openai_compat.shutdown_events(first.run_id) if server.admission.closed else None

    return EventStream(body(), close, headers={TRACE_HEADER: first.run_id}, farewell=farewell, leaving=inbox.leaving)


async def with_keepalive(chunks: AsyncIterator[str], every: float) -> AsyncGenerator[str, None]:
    """`chunks`, with an SSE comment whenever `every` seconds pass without one (0: never), so that proxies and
    client read timeouts do not end a healthy run that is busy in a long cell or LM call."""
    pending: asyncio.Future[str] | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(anext(chunks))
            done, _ = await asyncio.wait({pending}, timeout=every or None)
            if not done:
                yield KEEPALIVE
                continue
            finished, pending = pending, None
            try:
                text = finished.result()
            except StopAsyncIteration:
                return
            yield text
    finally:
        if pending is not None:
            pending.cancel()
            await asyncio.gather(pending, return_exceptions=True)


class EventStream(StreamingResponse):
    """Server-Sent Events that end the run when the client leaves, even while nothing is being sent.

    Starlette's StreamingResponse notices a disconnect only when a send fails on ASGI 2.4 servers, and leaves its
    iterator open: a run sitting in a 30 s cell would go on spending. Here sending races `http.disconnect`, and
    `close` always runs afterwards, which leaves the run (cancelling it unless a retry may pick it up). When the
    server's shutdown cancels the handler itself, the stream still ends as rlmx ends one: with the events
    `farewell` gives (None: the cancellation goes on), never cut mid-body. `leaving` (the request's
    `Inbox.leaving`) is how the client's leaving is seen: a disconnect read ahead before the stream began counts.
    """

    def __init__(
        self,
        chunks: AsyncIterator[str],
        close: Callable[[], Awaitable[None]],
        headers: Mapping[str, str],
        farewell: Callable[[], str | None] = lambda: None,
        leaving: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        super().__init__(
            chunks,
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no", **headers},
        )
        self._close = close
        self._farewell = farewell
        self._leaving = leaving

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = ended = False

        async def tracked(message: ASGIMessage) -> None:
            nonlocal started, ended
            # set before sending: a send cancelled while it waits to drain has written its message already
            started = True
            ended = message["type"] == "http.response.body" and not message.get("more_body", False)
            await send(message)

        try:
            await self._stream(receive, tracked)
        except asyncio.CancelledError:
            farewell = self._farewell()
            if farewell is None:
                raise
            _uncancel()
            if not ended:
                await self._say_farewell(send, farewell, started=started)

    async def _say_farewell(self, send: Send, farewell: str, *, started: bool) -> None:
        """Send the stream's last events, for at most FAREWELL_SECONDS: dropped when the client is not reading, or
        when the server's end cancels them first (it logged a traceback)."""
        try:
            async with time_limit(FAREWELL_SECONDS):
                if not started:
                    await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
                await send({"type": "http.response.body", "body": farewell.encode(), "more_body": False})
        except (TimeoutError, OSError):
            pass  # the client stopped reading, or left: nobody is there to read them
        except asyncio.CancelledError:
            _uncancel()  # the loop's end: the handler has nothing left to do

    async def _stream(self, receive: Receive, send: Send) -> None:
        sending = asyncio.ensure_future(self._send_all(send))
        # the request's Inbox when given: a disconnect it read ahead while the request waited is not lost
        leaving = asyncio.ensure_future(self._leaving() if self._leaving is not None else _disconnected(receive))
        try:
            await asyncio.wait({sending, leaving}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sending.cancel()
            leaving.cancel()
            await asyncio.gather(sending, leaving, return_exceptions=True)
            await self._close()
        error = None if sending.cancelled() else sending.exception()
        if error is not None:
            raise error  # a bug in rendering: let the server log it

    async def _send_all(self, send: Send) -> None:
        with contextlib.suppress(OSError):  # what an ASGI 2.4 server raises on sending to a client that left
            await self.stream_response(send)


# --- errors -------------------------------------------------------------------------------------------


async def _request_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestError)
    return _error_response(exc)


def _error_response(exc: RequestError) -> Response:
    headers = dict(exc.headers)
    if exc.status in (408, 413, 429):
        # Refused before its body was read: close the connection so the server does not drain the rest of it.
        headers["Connection"] = "close"
    if exc.status == 429:
        headers.setdefault("Retry-After", "1")
    elif exc.status >= 500:
        # the OpenAI SDKs would otherwise rerun a whole RLM run, twice; a run the shutdown stopped may be retried
        headers.setdefault("x-should-retry", "false")
    return JSONResponse(exc.body(), status_code=exc.status, headers=headers)


async def _input_error(request: Request, exc: Exception) -> Response:
    """The RLM refused the call before any LM spending (a bad context name or value, a bad schema)."""
    return JSONResponse(openai_compat.error_body(str(exc), kind="invalid_request_error"), status_code=400)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        message = (
            f"no route {request.url.path}: this server serves POST /v1/chat/completions, GET /v1/models and "
            "GET /v1/traces/{trace_id}"
        )
    elif exc.status_code == 405:
        message = f"{request.method} is not allowed on {request.url.path}; see the OpenAI chat completions API"
    else:
        message = str(exc.detail)
    return JSONResponse(
        openai_compat.error_body(message, kind="invalid_request_error"),
        status_code=exc.status_code,
        headers=exc.headers,
    )


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    """A bug, or an error the RLM raised instead of reporting: a 500 that says so (the server logs the trace)."""
    what = f"{type(exc).__name__}: {exc}" if isinstance(exc, RLMXError) else "an internal error"
    return JSONResponse(
        openai_compat.error_body(
            f"the rlmx server failed with {what}; see its log, and report it if it happens again",
            kind="server_error",
        ),
        status_code=500,
        headers={"x-should-retry": "false"},
    )
