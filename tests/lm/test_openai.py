"""OpenAICompatibleLM against a real OpenAI-compatible HTTP server on 127.0.0.1 (never the network)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from rlmx.errors import InputError, LMConnectionError, LMRateLimited, LMRequestError, LMServerError, LMTimeout
from rlmx.lm.base import LM, Message
from rlmx.lm.openai import OpenAICompatibleLM

# The SDK ignores `retry-after: 0` (it only honours delays > 0) and falls back to ~0.5 s of backoff;
# `retry-after-ms: 1` is honoured, so retried tests stay fast.
FAST_RETRY = {"retry-after": "0", "retry-after-ms": "1"}
MESSAGES: list[Message] = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Say hi."},
]


def completion_body(
    text: str = "hi", *, model: str = "served-model", usage: dict[str, Any] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
    }
    if usage is not None:
        body["usage"] = usage
    return body


def error_body(message: str, kind: str = "invalid_request_error") -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


@dataclass
class Reply:
    status: int = 200
    body: dict[str, Any] | str = field(default_factory=completion_body)
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


class FakeServer:
    """Answers POST /v1/chat/completions from a queue of Replies (a default completion when it is empty)."""

    def __init__(self) -> None:
        self.replies: deque[Reply] = deque()
        self.requests: list[Received] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                with server._lock:
                    server.requests.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                    reply = server.replies.popleft() if server.replies else Reply()
                if self.path != "/v1/chat/completions":
                    reply = Reply(404, error_body(f"no route {self.path}"))
                if reply.delay:
                    time.sleep(reply.delay)
                payload = (reply.body if isinstance(reply.body, str) else json.dumps(reply.body)).encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(payload)))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout test)
                    pass

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = False  # server_close() joins the handler threads: nothing outlives a test
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.01,), daemon=True)

    def script(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join()


@pytest.fixture
def server() -> Iterator[FakeServer]:
    fake = FakeServer()
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
async def make_lm() -> AsyncIterator[Any]:
    made: list[OpenAICompatibleLM] = []

    def make(*args: Any, **kwargs: Any) -> OpenAICompatibleLM:
        lm = OpenAICompatibleLM(*args, **kwargs)
        made.append(lm)
        return lm

    yield make
    for lm in made:
        await lm.aclose()


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_plain_call_returns_text_usage_and_sends_merged_params(server: FakeServer, make_lm: Any) -> None:
    server.script(Reply(body=completion_body("hello there", usage=usage(12, 3))))
    lm = make_lm("my-model", server.base_url, temperature=0.2, max_tokens=50, top_k=5)

    completion = await lm.complete(MESSAGES, max_tokens=7)

    assert isinstance(lm, LM)
    assert completion.text == "hello there"
    assert completion.model == "served-model"
    assert (completion.usage.input_tokens, completion.usage.output_tokens) == (12, 3)
    assert completion.usage.cost_usd is None
    [request] = server.requests
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == "Bearer not-needed"
    assert request.body["model"] == "my-model"
    assert request.body["messages"] == MESSAGES
    assert request.body["temperature"] == 0.2
    assert request.body["max_tokens"] == 7  # the call's own param wins over the default
    assert request.body["top_k"] == 5  # unknown to the SDK: sent as an extra body field
    assert "stream" not in request.body or request.body["stream"] is False


async def test_explicit_api_key_is_sent(server: FakeServer, make_lm: Any) -> None:
    lm = make_lm("m", server.base_url, api_key="sk-local-123")
    await lm.complete(MESSAGES)
    assert server.requests[0].headers["authorization"] == "Bearer sk-local-123"


async def test_rate_limit_is_retried_then_succeeds(server: FakeServer, make_lm: Any) -> None:
    server.script(Reply(429, error_body("slow down", "rate_limit_error"), FAST_RETRY), Reply())
    lm = make_lm("m", server.base_url, max_retries=2)

    completion = await lm.complete(MESSAGES)

    assert completion.text == "hi"
    assert len(server.requests) == 2


async def test_rate_limit_after_all_retries_raises_lm_rate_limited(server: FakeServer, make_lm: Any) -> None:
    server.script(*[Reply(429, error_body("slow down", "rate_limit_error"), FAST_RETRY)] * 3)
    lm = make_lm("m", server.base_url, max_retries=1)

    with pytest.raises(LMRateLimited, match="slow down"):
        await lm.complete(MESSAGES)
    assert len(server.requests) == 2


async def test_server_errors_are_retried_then_succeed(server: FakeServer, make_lm: Any) -> None:
    server.script(Reply(500, error_body("boom", "server_error"), FAST_RETRY))
    server.script(Reply(500, error_body("boom", "server_error"), FAST_RETRY))
    server.script(Reply(body=completion_body("third time lucky")))
    lm = make_lm("m", server.base_url, max_retries=2)

    completion = await lm.complete(MESSAGES)

    assert completion.text == "third time lucky"
    assert len(server.requests) == 3


async def test_server_errors_after_all_retries_raise_lm_server_error(server: FakeServer, make_lm: Any) -> None:
    server.script(*[Reply(503, error_body("overloaded", "server_error"), FAST_RETRY)] * 3)
    lm = make_lm("m", server.base_url, max_retries=2)

    with pytest.raises(LMServerError, match=r"503.*overloaded"):
        await lm.complete(MESSAGES)
    assert len(server.requests) == 3


async def test_bad_request_is_not_retried(server: FakeServer, make_lm: Any) -> None:
    server.script(Reply(400, error_body("max_tokens is too large")), Reply())
    lm = make_lm("m", server.base_url, max_retries=3)

    with pytest.raises(LMRequestError, match=r"HTTP 400.*max_tokens is too large") as caught:
        await lm.complete(MESSAGES)
    assert caught.value.__cause__ is not None
    assert len(server.requests) == 1


async def test_unreachable_server_raises_lm_connection_error_quickly(make_lm: Any) -> None:
    port = closed_port()
    lm = make_lm("m", f"http://127.0.0.1:{port}/v1", max_retries=0)

    started = time.monotonic()
    with pytest.raises(LMConnectionError, match=rf"127\.0\.0\.1:{port}.*unreachable"):
        await lm.complete(MESSAGES)
    assert time.monotonic() - started < 5


async def test_slow_server_raises_lm_timeout(server: FakeServer, make_lm: Any) -> None:
    server.script(Reply(delay=0.5))
    lm = make_lm("m", server.base_url, max_retries=0, timeout=0.1)

    with pytest.raises(LMTimeout):
        await lm.complete(MESSAGES)


def test_missing_api_key_without_base_url_raises_input_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(InputError, match="OPENAI_API_KEY") as caught:
        OpenAICompatibleLM("gpt-4o-mini")
    assert "--api-key-env" in str(caught.value)


async def test_api_key_is_read_from_the_environment_at_construction(
    monkeypatch: pytest.MonkeyPatch, make_lm: Any
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    lm = make_lm("gpt-4o-mini")
    monkeypatch.delenv("OPENAI_API_KEY")
    assert lm._client.api_key == "sk-from-env"


@pytest.mark.parametrize("bad", ["localhost:8000/v1", "ftp://example.com/v1", ""])
def test_base_url_without_http_scheme_raises_input_error(bad: str) -> None:
    with pytest.raises(InputError, match="http://"):
        OpenAICompatibleLM("m", bad)


async def test_provider_cost_lands_in_usage(server: FakeServer, make_lm: Any) -> None:
    server.script(Reply(body=completion_body(usage={**usage(100, 20), "cost": 0.00042})))
    lm = make_lm("m", server.base_url)

    completion = await lm.complete(MESSAGES)

    assert completion.usage.cost_usd == pytest.approx(0.00042)
    assert completion.usage.total_tokens == 120


async def test_missing_usage_is_estimated(server: FakeServer, make_lm: Any) -> None:
    server.script(Reply(body=completion_body("x" * 40, model="")))
    lm = make_lm("asked-model", server.base_url)

    completion = await lm.complete(MESSAGES)

    assert completion.usage.output_tokens == 10
    assert completion.usage.input_tokens > 0
    assert completion.model == "asked-model"


def usage(prompt: int, completion: int) -> dict[str, Any]:
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
