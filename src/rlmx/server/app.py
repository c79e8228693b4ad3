"""The HTTP side of `rlmx serve`: requests in, one RLM call out; a Result or events in, HTTP out.

Endpoints stay thin: `openai_compat` reads requests and writes OpenAI JSON, the RLM runs the completion, and this
module only wires them together, limits how many runs go at once, and cancels a run whose client has left (so an
abandoned request stops spending on LM calls and its sandbox workers are killed). It never runs cells itself.

    app = create_app(RLM(OpenAICompatibleLM("gpt-5-mini")), model_name="rlmx")
    uvicorn.run(app, host="127.0.0.1", port=8000)
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import dataclasses
import functools
import json
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from rlmx.budget import Budget
from rlmx.errors import InputError, RLMXError
from rlmx.result import Result
from rlmx.rlm import RLM
from rlmx.server import openai_compat
from rlmx.server.openai_compat import ChatCall, RequestError

RLMFactory = Callable[[Mapping[str, int | float]], RLM]
"""Gets a request's budget limits (validated; empty when it sent none) and returns the RLM to run it with."""


def create_app(rlm: RLM | RLMFactory, *, model_name: str = "rlmx", max_concurrent_runs: int = 4) -> Starlette:
    """An ASGI app serving `rlm` as the OpenAI-compatible model `model_name`.

    Routes: `POST /v1/chat/completions` (plain and `stream: true`), `GET /v1/models`, `GET /v1/models/{name}`,
    `GET /health`. Each request is its own completion of the same (reusable) RLM; with an RLM instance, a
    request's `rlmx` limits can only tighten its budget. Pass a factory instead to decide per request. Beyond
    `max_concurrent_runs` running completions, requests get a 429 at once rather than waiting in a queue.
    """
    if not isinstance(model_name, str) or not model_name.strip():
        raise InputError(f"model_name must be a non-empty string, not {model_name!r}")
    if isinstance(max_concurrent_runs, bool) or not isinstance(max_concurrent_runs, int) or max_concurrent_runs < 1:
        raise InputError(f"max_concurrent_runs must be an integer >= 1, not {max_concurrent_runs!r}")
    if isinstance(rlm, RLM):
        factory: RLMFactory = functools.partial(with_limits, rlm)
    elif callable(rlm):
        factory = rlm
    else:
        raise InputError(f"create_app needs an RLM or a function limits -> RLM, not {type(rlm).__name__}")
    app = Starlette(
        routes=[
            Route("/v1/chat/completions", chat_completions, methods=["POST"]),
            Route("/v1/models", list_models, methods=["GET"]),
            Route("/v1/models/{name:path}", get_model, methods=["GET"]),
            Route("/health", health, methods=["GET"]),
        ],
        exception_handlers={
            RequestError: _request_error,
            InputError: _input_error,
            HTTPException: _http_error,
            Exception: _unexpected_error,
        },
    )
    app.state.server = _Server(factory, model_name, _Slots(max_concurrent_runs), int(time.time()))
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
        models = [rlm.lm, rlm.sub_lm, *rlm.models.values(), *rlm.depth_lms.values()]
        unpriced = sorted({m.model for m in models if rlm.prices.lookup(m.model) is None})
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


@dataclass(frozen=True, slots=True)
class _Server:
    factory: RLMFactory
    model_name: str
    slots: _Slots
    created: int


class _Slots:
    """At most `limit` completions at once. There is no lock: every request runs on the server's one event loop,
    and claiming is a check and an increment with no await in between."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.running = 0

    def claim(self) -> Callable[[], None]:
        """Take a slot and return its release (safe to call more than once), or raise a 429 RequestError."""
        if self.running >= self.limit:
            raise RequestError(
                f"this rlmx server is already running {self.running} completions, its limit "
                f"(--max-concurrent-runs {self.limit}): retry when one has finished, or start the server with a "
                "higher --max-concurrent-runs",
                code="too_many_runs",
                status=429,
                kind="rate_limit_error",
            )
        self.running += 1
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                self.running -= 1

        return release


# --- endpoints ----------------------------------------------------------------------------------------


async def chat_completions(request: Request) -> Response:
    server: _Server = request.app.state.server
    call = openai_compat.parse(await _json_body(request))
    rlm = server.factory(call.limits)
    release = server.slots.claim()
    if call.stream:
        return await _streamed(rlm, call, server.model_name, release)
    try:
        work = rlm.acompletion(call.query, call.context, contexts=call.contexts, output=call.output)
        result = await _unless_disconnected(request.receive, work)
    finally:
        release()
    if result is None:
        return Response(status_code=499)  # the client left; nobody reads this
    if result.status == "error":
        raise openai_compat.failure(result)
    return JSONResponse(openai_compat.completion(result, model=server.model_name))


async def list_models(request: Request) -> Response:
    server: _Server = request.app.state.server
    return JSONResponse({"object": "list", "data": [_model(server)]})


async def get_model(request: Request) -> Response:
    server: _Server = request.app.state.server
    name = request.path_params["name"]
    if name != server.model_name:
        raise RequestError(
            f"model {name!r} is not served here; this server serves {server.model_name!r}",
            param="model",
            code="model_not_found",
            status=404,
        )
    return JSONResponse(_model(server))


async def health(request: Request) -> Response:
    server: _Server = request.app.state.server
    return JSONResponse({"status": "ok", "running": server.slots.running, "max_running": server.slots.limit})


def _model(server: _Server) -> dict[str, Any]:
    return {"id": server.model_name, "object": "model", "created": server.created, "owned_by": "rlmx"}


async def _json_body(request: Request) -> object:
    try:
        return json.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RequestError(
            f"the request body is not valid JSON ({exc}): send a JSON object like {openai_compat.EXAMPLE}",
            code="invalid_json",
        ) from None


# --- running ------------------------------------------------------------------------------------------


async def _unless_disconnected(receive: Receive, work: Coroutine[Any, Any, Result]) -> Result | None:
    """`work`'s Result, or None when the client left first; then the run is cancelled rather than left spending
    on an answer nobody will read."""
    run = asyncio.ensure_future(work)
    leaving = asyncio.ensure_future(_disconnected(receive))
    try:
        await asyncio.wait({run, leaving}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        leaving.cancel()
        if not run.done():
            run.cancel()
        await asyncio.gather(run, leaving, return_exceptions=True)
    return None if run.cancelled() else run.result()


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _streamed(rlm: RLM, call: ChatCall, model: str, release: Callable[[], None]) -> Response:
    """Start the run and take its first item here, so that bad input is still a plain 400, then stream the rest."""
    items = rlm.stream(call.query, call.context, contexts=call.contexts, output=call.output)
    try:
        first = await anext(items)
    except BaseException:
        release()
        await _aclose(items)
        raise
    chunks = openai_compat.stream_chunks(first, items, model=model, include_usage=call.include_usage)

    async def close() -> None:
        try:
            await chunks.aclose()
            await _aclose(items)  # closing the run's stream cancels the run if it is still going
        finally:
            release()

    return EventStream(chunks, close)


async def _aclose(items: AsyncIterator[Any]) -> None:
    # RLM.stream is typed as an AsyncIterator; it is an async generator, and only closing it ends the run at once.
    if isinstance(items, AsyncGenerator):
        await items.aclose()


class EventStream(StreamingResponse):
    """Server-Sent Events that end the run when the client leaves, even while nothing is being sent.

    Starlette's StreamingResponse notices a disconnect only when a send fails on ASGI 2.4 servers, and leaves its
    iterator open: a run sitting in a 30 s cell would go on spending. Here sending races `http.disconnect`, and
    `close` always runs afterwards, which cancels the run and frees its slot.
    """

    def __init__(self, chunks: AsyncIterator[str], close: Callable[[], Awaitable[None]]) -> None:
        super().__init__(
            chunks, media_type="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        )
        self._close = close

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        sending = asyncio.ensure_future(self._send_all(send))
        leaving = asyncio.ensure_future(_disconnected(receive))
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
    headers = {}
    if exc.status == 429:
        headers["Retry-After"] = "1"
    elif exc.status >= 500:
        headers["x-should-retry"] = "false"  # the OpenAI SDKs would otherwise rerun a whole RLM run, twice
    return JSONResponse(exc.body(), status_code=exc.status, headers=headers)


async def _input_error(request: Request, exc: Exception) -> Response:
    """The RLM refused the call before any LM spending (a bad context name or value, a bad schema)."""
    return JSONResponse(openai_compat.error_body(str(exc), kind="invalid_request_error"), status_code=400)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        message = f"no route {request.url.path}: this server serves POST /v1/chat/completions and GET /v1/models"
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
