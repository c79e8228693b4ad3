"""OpenAICompatibleLM: the LM protocol over any OpenAI-compatible chat-completions server (OpenAI, OpenRouter,
vLLM, llama.cpp, Ollama, Azure, gateways, ...), and the one place where openai SDK errors become rlmx errors.

Three things here are about real servers rather than the protocol:

* Event loops. An HTTP client's connection pool belongs to the event loop that opened it, and the sync API runs
  each call on a fresh loop (`asyncio.run`). So the LM keeps one client per running loop, made on first use and
  closed on that same loop when the loop shuts down; no client outlives its loop.
* The output cap's name. Servers disagree on `max_tokens` vs `max_completion_tokens` (reasoning models behind
  OpenAI, Azure and gateways reject `max_tokens`; older servers know only `max_tokens`). The LM sends one, and
  when a 400 says that parameter is unsupported it resends once with the other name and remembers the choice.
* Replies. The raw body goes to `rlmx.lm.openai_reply`, which checks every field; the SDK's lenient parsing is
  not used.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import json
import os
import re
import ssl
import threading
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, cast

import openai
from openai import AsyncOpenAI
from openai.resources.chat.completions import AsyncCompletions
from openai.types.chat import ChatCompletionMessageParam

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
from rlmx.lm.base import Completion, Message
from rlmx.lm.openai_reply import parse_body, to_completion

LOCAL_API_KEY = "not-needed"
"""Sent to servers given by base_url when no key is given: local servers ignore it, the SDK insists on one."""

DEFAULT_TIMEOUT = 120.0
"""Seconds to wait for a reply (read timeout) before the attempt fails and is retried."""
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_MAX_RETRIES = 2
"""Retries after the first attempt (429, 5xx, timeouts, connection errors, bodies that are not JSON)."""
OPENAI_URL = "https://api.openai.com/v1"

_RESERVED_PARAMS = frozenset({"model", "messages", "stream"})
_CAP_NAMES = ("max_tokens", "max_completion_tokens")
_OTHER_CAP = {"max_tokens": "max_completion_tokens", "max_completion_tokens": "max_tokens"}
_UNSUPPORTED = re.compile(
    r"unsupported|not supported|unrecognized|unknown|not allowed|not permitted|extra (inputs|fields)|"
    r"invalid (request )?(argument|param)|no longer supported|deprecated|use '?max_",
    re.IGNORECASE,
)
_BAD_BODY_BACKOFF = 0.25
"""Seconds before re-asking after a body that was not JSON, doubled each time."""


@cache
def _tls_context() -> ssl.SSLContext | None:
    """The HTTP library's default TLS context, built once: loading the CA bundle takes about 0.3 s, and every
    event loop (every sync `completion()` call) gets its own client. None leaves the library's default."""
    for name in ("httpx2", "httpx"):  # openai 3.x uses httpx2, 1.x and 2.x httpx
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        create = getattr(module, "create_ssl_context", None)
        if callable(create):
            context = create()
            return context if isinstance(context, ssl.SSLContext) else None
    return None


@cache
def _sdk_keywords() -> frozenset[str]:
    """The keyword arguments `chat.completions.create` takes; any other param travels in `extra_body`."""
    return frozenset(inspect.signature(AsyncCompletions.create).parameters) - {"self"}


@dataclass(slots=True)
class _LoopClient:
    """A client bound to one event loop, and the async generator that closes it when that loop shuts down."""

    client: AsyncOpenAI
    loop: asyncio.AbstractEventLoop
    closer: AsyncIterator[None]


async def _close_at_shutdown(client: AsyncOpenAI) -> AsyncIterator[None]:
    """Parks until its loop runs `shutdown_asyncgens()` (asyncio.run does), then closes the client on that loop."""
    try:
        yield
    finally:
        await client.close()


class OpenAICompatibleLM:
    """Calls `POST {base_url}/chat/completions` through the official `openai` SDK.

    Waiting: each attempt may take `timeout` seconds (120 by default; connecting, 10) and the SDK retries
    408/409/429/5xx, timeouts and connection errors `max_retries` times (2 by default) with exponential backoff,
    honouring the server's Retry-After; a body that is not JSON is retried the same number of times. What still
    fails is raised as an rlmx LMError. So a server that accepts and never answers fails a call after about
    (1 + max_retries) * timeout = 6 minutes; set `Budget(max_seconds=...)` to bound a whole run.

    `**params` are default sampling params (temperature, max_tokens, ...); a call's own params win over them.
    Params the SDK does not know (top_k, min_p, ...) are sent as extra body fields, for servers that accept them.
    An output cap (`max_tokens` or `max_completion_tokens`) is sent under the name the server accepts (see the
    module docstring). The LM may be used from any number of event loops and threads.

        lm = OpenAICompatibleLM("gpt-4o-mini")                                  # OPENAI_API_KEY from the env
        lm = OpenAICompatibleLM("qwen2.5", base_url="http://127.0.0.1:8000/v1", temperature=0.0)
    """

    def __init__(
        self,
        model: str,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        max_retries: int = DEFAULT_MAX_RETRIES,
        timeout: float = DEFAULT_TIMEOUT,
        **params: Any,
    ) -> None:
        if not isinstance(model, str) or not model:
            raise InputError("OpenAICompatibleLM needs a model name, e.g. 'gpt-4o-mini'")
        if base_url is not None and not base_url.startswith(("http://", "https://")):
            raise InputError(f"base_url must start with http:// or https://, got {base_url!r}")
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise InputError(f"max_retries must be a non-negative integer, got {max_retries!r}")
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
            raise InputError(f"timeout must be a positive number of seconds, got {timeout!r}")
        _check_params(params)
        if api_key is None:
            if base_url is None:
                api_key = os.environ.get("OPENAI_API_KEY")
                if not api_key:
                    raise InputError(
                        "No API key for the OpenAI API: set OPENAI_API_KEY, or pass api_key "
                        "(on the command line: --api-key-env NAME_OF_THE_VARIABLE_HOLDING_IT)"
                    )
            else:
                api_key = LOCAL_API_KEY
        self.model = model
        self.params = params
        self.api_key = api_key
        self.max_retries = max_retries
        self.timeout = float(timeout)
        url = base_url or os.environ.get("OPENAI_BASE_URL") or OPENAI_URL
        self.base_url = url if url.endswith("/") else url + "/"
        # OpenAI's own API takes max_completion_tokens for every model; elsewhere max_tokens is the widely known
        # name. Either guess is corrected by the server's first 400 that names the parameter.
        self.cap_param = "max_completion_tokens" if self.base_url.startswith(OPENAI_URL) else "max_tokens"
        self.unsupported_params: set[str] = set()
        """Sampling params the server refused with a 400 naming them; left out of later requests."""
        self._clients: dict[int, _LoopClient] = {}
        self._lock = threading.Lock()

    async def complete(self, messages: Sequence[Message], **params: Any) -> Completion:
        """One chat completion. Raises LMError subclasses (LMBadResponse for unusable replies) after retries."""
        _check_params(params)
        sent = cast(list[ChatCompletionMessageParam], [{"role": m["role"], "content": m["content"]} for m in messages])
        merged = {**self.params, **params}
        caps = [cap for cap in (merged.pop(name, None) for name in _CAP_NAMES) if cap is not None]
        cap = min(caps) if caps else None
        client = await self._client()
        for attempt in range(self.max_retries + 1):
            raw = await self._post(client, sent, merged, cap)
            try:
                data = parse_body(raw.content, status=raw.status_code, content_type=raw.headers.get("content-type", ""))
            except LMBadResponse as exc:
                if attempt == self.max_retries:
                    raise LMBadResponse(
                        f"{self.model} at {self.base_url}: {exc} (after {attempt + 1} attempts)", retryable=False
                    ) from None
                await asyncio.sleep(_BAD_BODY_BACKOFF * 2**attempt)
                continue
            try:
                return to_completion(data, model=self.model, messages=messages, cap=cap)
            except LMBadResponse as exc:
                raise LMBadResponse(
                    f"{self.model} at {self.base_url}: {exc}", retryable=exc.retryable, usage=exc.usage
                ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    async def _post(
        self, client: AsyncOpenAI, sent: list[ChatCompletionMessageParam], merged: dict[str, Any], cap: int | None
    ) -> Any:
        """Send the request (the SDK retries transport faults). When a 400 says a parameter it carried is not
        supported, resend without it: the output cap under its other name (once; a cap is never dropped), any
        other sampling param left out (reasoning models refuse temperature, stop, ...). Both are remembered for
        later calls. Returns the SDK's raw response (status, headers, body bytes)."""
        renamed = False
        while True:
            name = self.cap_param
            request = {k: v for k, v in merged.items() if k not in self.unsupported_params}
            if cap is not None:
                request[name] = cap
            known = _sdk_keywords()
            kwargs = {k: v for k, v in request.items() if k in known}
            extra = {k: v for k, v in request.items() if k not in known}
            if extra:
                kwargs["extra_body"] = {**extra, **kwargs.get("extra_body", {})}
            try:
                return await client.chat.completions.with_raw_response.create(model=self.model, messages=sent, **kwargs)
            except openai.APIStatusError as exc:
                if cap is not None and not renamed and _rejects(exc, name):
                    self.cap_param, renamed = _OTHER_CAP[name], True
                    continue
                refused = next((p for p in request if p not in _CAP_NAMES and _rejects(exc, p)), None)
                if refused is not None:
                    self.unsupported_params.add(refused)
                    continue
                raise self._error(exc) from exc
            except openai.OpenAIError as exc:
                raise self._error(exc) from exc

    async def _client(self) -> AsyncOpenAI:
        """The client of the running event loop, made on first use; it is closed when that loop shuts down."""
        loop = asyncio.get_running_loop()
        with self._lock:
            for key, old in list(self._clients.items()):
                if old.loop.is_closed():  # a loop closed without shutdown_asyncgens: drop what it left
                    del self._clients[key]
            bound = self._clients.get(id(loop))
            if bound is not None and bound.loop is loop and not bound.client.is_closed():
                return bound.client
            client = AsyncOpenAI(
                api_key=self.api_key,
                base_url=self.base_url,
                max_retries=self.max_retries,
                timeout=openai.Timeout(self.timeout, connect=min(self.timeout, DEFAULT_CONNECT_TIMEOUT)),
                # The SDK's default wrapper schedules its own close on whatever loop runs at garbage collection;
                # this plain client is closed by _close_at_shutdown on its own loop instead.
                http_client=openai.DefaultAsyncHttpxClient(**_tls(self.base_url)),
            )
            closer = _close_at_shutdown(client)
            self._clients[id(loop)] = _LoopClient(client, loop, closer)
        await anext(closer)  # starts it on this loop, which registers it for shutdown_asyncgens
        return client

    async def aclose(self) -> None:
        """Close the client of the running event loop now (a later call opens a new one)."""
        loop = asyncio.get_running_loop()
        with self._lock:
            bound = self._clients.pop(id(loop), None)
        if bound is not None and bound.loop is loop:
            await cast(Any, bound.closer).aclose()

    def _error(self, exc: openai.OpenAIError) -> LMError:
        """The rlmx LMError for an SDK error raised after the SDK's retries."""
        if isinstance(exc, openai.APITimeoutError):
            return LMTimeout(
                f"{self.model} at {self.base_url} did not answer within {self.timeout:g} s "
                f"({self.max_retries + 1} attempts); pass timeout= for slow models"
            )
        if isinstance(exc, openai.APIConnectionError):
            return LMConnectionError(
                f"cannot connect to {self.base_url}: the server is unreachable (is it running?): {exc.message}"
            )
        if isinstance(exc, openai.RateLimitError):
            return LMRateLimited(
                f"{self.base_url} rate-limited model {self.model} (HTTP 429, after retries): {_server_message(exc)}"
            )
        if isinstance(exc, openai.APIStatusError):
            detail = f"HTTP {exc.status_code} from {self.base_url} for model {self.model}: {_server_message(exc)}"
            if exc.status_code >= 500:
                return LMServerError(f"server error, after retries: {detail}")
            return LMRequestError(f"request rejected: {detail}")
        return LMError(f"{self.model} at {self.base_url} failed: {exc}")


@cache
def _no_ca_context() -> ssl.SSLContext:
    """A verifying TLS context with no CA loaded (under a millisecond, against ~50-500 ms for the bundle): for
    plain-HTTP base URLs, which never use TLS; an https redirect would fail verification, never pass unchecked."""
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


def _tls(base_url: str) -> dict[str, Any]:
    if base_url.startswith("http://"):
        return {"verify": _no_ca_context()}
    context = _tls_context()
    return {} if context is None else {"verify": context}


def _rejects(exc: openai.APIStatusError, name: str) -> bool:
    """Whether a 400/422 says the parameter `name` itself is not accepted (not that its value is too large)."""
    if exc.status_code not in (400, 422):
        return False
    message = _server_message(exc)
    body = exc.body if isinstance(exc.body, dict) else {}
    error = body.get("error") if isinstance(body.get("error"), dict) else body
    param = error.get("param") if isinstance(error, dict) else None
    named = param == name or re.search(rf"\b{re.escape(name)}\b", message) is not None
    return named and _UNSUPPORTED.search(message) is not None


def _check_params(params: dict[str, Any]) -> None:
    reserved = sorted(_RESERVED_PARAMS.intersection(params))
    if reserved:
        raise InputError(f"OpenAICompatibleLM sets {', '.join(reserved)} itself; do not pass it as a sampling param")
    for name in _CAP_NAMES:
        value = params.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise InputError(f"{name} must be a positive integer, got {value!r}")


def _server_message(exc: openai.APIStatusError) -> str:
    """The server's own error message when its body has one (OpenAI's `error.message`, a bare `message`, or a
    validation error's `detail` list), else the body itself, else the SDK's summary."""
    body = exc.body
    if isinstance(body, dict):
        error = body.get("error")
        message = error.get("message") if isinstance(error, dict) else body.get("message")
        if isinstance(message, str) and message:
            return message
        detail = body.get("detail")
        if isinstance(detail, list):  # FastAPI/pydantic validation errors: [{"loc": [...], "msg": ...}]
            return "; ".join(
                f"{'.'.join(str(part) for part in item.get('loc', []))}: {item.get('msg', '')}"
                for item in detail
                if isinstance(item, dict)
            )
        if isinstance(detail, str) and detail:
            return detail
        return json.dumps(body)[:500]
    if isinstance(body, str) and body:
        return body
    return exc.message
