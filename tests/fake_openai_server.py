"""A real OpenAI-compatible HTTP server on 127.0.0.1 for tests and benchmarks: scripted replies, its own token
counts, latency, a limited number of slots, and each fault real servers show, on demand.

    with FakeOpenAIServer(Behaviour(text="hi")) as server:
        lm = OpenAICompatibleLM("m", base_url=server.base_url)
        server.script(Reply(status=500), fault.not_json())   # the next two requests fail, then `behaviour` answers

Replies come from the script (a queue of Reply, first in first out) and, when it is empty, from `behaviour`,
which builds a completion from the request: its text (fixed or computed from the prompt), cut at the request's
output cap the way real servers cut it, counted by the server's own tokenizer, optionally overbilled, under an
alias model name, or refused when the request carries a parameter the server rejects.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal

UsageMode = Literal["full", "none", "null_counts"]


def count_tokens(text: str, *, non_ascii_per_char: float = 1.0) -> int:
    """The server's tokenizer: 4 ASCII characters a token, `non_ascii_per_char` tokens per other character
    (1 is what cl100k/o200k-class tokenizers spend on common CJK; 2 or 3 models older or byte-level ones)."""
    other = sum(1 for ch in text if ord(ch) > 127)
    return int(other * non_ascii_per_char + 0.999) + (len(text) - other + 3) // 4


@dataclass
class Reply:
    """One scripted HTTP reply. `body`: a dict (sent as JSON), a str or bytes (sent as is), or None for the
    completion `behaviour` would build. `hang`: accept the request and never answer (until the server stops)."""

    status: int = 200
    body: dict[str, Any] | str | bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    hang: bool = False
    broken: bool = False
    """Announce the whole body, send half of it, and close the connection (a proxy or server dying mid-reply)."""
    reset: bool = False
    """Read the request, then (after `delay`) reset the connection (TCP RST) without a reply: a server killed while
    generating."""
    close_after: bool = False
    """Answer, then close the connection without a `Connection: close` header: a server whose keep-alive timer ran
    out just after the reply (HTTP/1.1 allows closing an idle connection at any time)."""


@dataclass
class Behaviour:
    """How the server answers when nothing is scripted."""

    text: str | Callable[[dict[str, Any]], str] = "hi"
    """The reply, or a function of the request body that returns it."""
    model: str | None = None
    """The model name the reply claims (an alias's target); None echoes the requested one."""
    usage: UsageMode = "full"
    """"full": counts reported; "none": no usage object; "null_counts": usage with null token counts."""
    non_ascii_per_char: float = 1.0
    overbill: float = 1.0
    """Output tokens billed = overbill x tokens produced (a server that bills past what it sent)."""
    ignore_cap: bool = False
    """Produce the whole text whatever max_tokens / max_completion_tokens says (and bill it)."""
    reject_param: str | None = None
    """A request carrying this parameter gets HTTP 400 the way OpenAI refuses max_tokens for reasoning models."""
    latency: float = 0.0
    cost: float | None = None
    """A provider-reported USD cost per call (OpenRouter style)."""
    route: Callable[[dict[str, Any]], Reply | None] | None = None
    """A function of the request body that answers some requests with a Reply of its own (an error for one
    kind of call, say), or returns None to let the fields above build the completion. The script goes first."""

    def tokens(self, text: str) -> int:
        return count_tokens(text, non_ascii_per_char=self.non_ascii_per_char)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    method: str = "POST"


@dataclass
class Billed:
    """What the server billed one request (the truth a budget is measured against)."""

    prompt_tokens: int
    completion_tokens: int

    @property
    def total(self) -> int:
        return self.prompt_tokens + self.completion_tokens


def completion_body(
    content: Any = "hi",
    *,
    model: str = "served-model",
    usage: dict[str, Any] | None = None,
    finish_reason: str | None = "stop",
    **message: Any,
) -> dict[str, Any]:
    """A chat.completion object; `message` adds fields to the message (reasoning_content, refusal, ...)."""
    body: dict[str, Any] = {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, **message},
                "finish_reason": finish_reason,
            }
        ],
    }
    if usage is not None:
        body["usage"] = usage
    return body


def usage(prompt: int | None, completion: int | None) -> dict[str, Any]:
    total = None if prompt is None or completion is None else prompt + completion
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": total}


def error_body(message: str, kind: str = "invalid_request_error", param: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": param, "code": None}}


FAST_RETRY = {"retry-after": "0", "retry-after-ms": "1"}
"""The SDK honours retry-after-ms, so retried tests do not wait its default backoff."""


class fault:
    """Replies real servers send that a client must survive."""

    @staticmethod
    def server_error(status: int = 500) -> Reply:
        return Reply(status, error_body("the server had an error", "server_error"), dict(FAST_RETRY))

    @staticmethod
    def rate_limited() -> Reply:
        return Reply(429, error_body("slow down", "rate_limit_error"), dict(FAST_RETRY))

    @staticmethod
    def not_json() -> Reply:
        return Reply(200, "<html><body>502 Bad Gateway (from a proxy)</body></html>", {"content-type": "text/html"})

    @staticmethod
    def content_parts(text: str, thinking: str = "Let me think.") -> Reply:
        parts = [
            {"type": "thinking", "thinking": [{"type": "text", "text": thinking}]},
            {"type": "text", "text": text},
        ]
        return Reply(body=completion_body(parts, usage=usage(30, 12)))

    @staticmethod
    def null_counts(text: str) -> Reply:
        return Reply(
            body=completion_body(text, usage={"prompt_tokens": 41, "completion_tokens": None, "total_tokens": 41})
        )

    @staticmethod
    def reasoning_only(reasoning: str = "Thinking it over...", finish_reason: str = "stop") -> Reply:
        body = completion_body(None, usage=usage(50, 200), finish_reason=finish_reason, reasoning_content=reasoning)
        return Reply(body=body)

    @staticmethod
    def length_no_text(content: str | None = "") -> Reply:
        return Reply(body=completion_body(content, usage=usage(50, 256), finish_reason="length"))

    @staticmethod
    def hang() -> Reply:
        return Reply(hang=True)


class FakeOpenAIServer:
    """`POST /v1/chat/completions` on 127.0.0.1 (a free port), one thread per connection, HTTP/1.1 keep-alive,
    TCP_NODELAY; a GET (a 303's result URL) gets the next scripted reply. `slots` limits how many requests are
    answered at once (others queue, as on a real server).

    Records every request (`requests`), what it billed (`billed`) and the most requests in flight at once.
    """

    def __init__(self, behaviour: Behaviour | None = None, *, slots: int | None = None) -> None:
        self.behaviour = behaviour or Behaviour()
        self.replies: deque[Reply] = deque()
        self.requests: list[Received] = []
        self.billed: list[Billed] = []
        self.max_in_flight = 0
        self._in_flight = 0
        self._lock = threading.Lock()
        self._slots = threading.Semaphore(slots) if slots else None
        self.stopping = threading.Event()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw) if raw else {}
                except json.JSONDecodeError:
                    body = {}
                received = Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                with owner._lock:
                    owner.requests.append(received)
                    reply = owner.replies.popleft() if owner.replies else None
                if reply is None and owner.behaviour.route is not None:
                    reply = owner.behaviour.route(body)
                owner._serve(self, received, reply)

            def do_GET(self) -> None:  # a result URL a 303 See Other points to: answered from the script
                received = Received(self.path, {k.lower(): v for k, v in self.headers.items()}, {}, "GET")
                with owner._lock:
                    owner.requests.append(received)
                    reply = owner.replies.popleft() if owner.replies else None
                owner._serve(self, received, reply)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    # --- control ------------------------------------------------------------------------------
    def script(self, *replies: Reply) -> None:
        """Queue replies for the next requests (then `behaviour` answers again)."""
        with self._lock:
            self.replies.extend(replies)

    def start(self) -> FakeOpenAIServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join()

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    @property
    def billed_tokens(self) -> int:
        return sum(b.total for b in self.billed)

    # --- answering ----------------------------------------------------------------------------
    def _serve(self, handler: BaseHTTPRequestHandler, received: Received, reply: Reply | None) -> None:
        if self._slots is not None:
            self._slots.acquire()
        with self._lock:
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            if reply is not None and reply.hang:
                self.stopping.wait()
                handler.close_connection = True
                return
            if reply is not None and reply.reset:
                time.sleep(reply.delay)  # the model worked on it this long first
                handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                handler.connection.close()
                handler.close_connection = True
                return
            status, body, headers = self._answer(received, reply)
            if reply is not None and reply.delay:
                time.sleep(reply.delay)
            elif self.behaviour.latency:
                time.sleep(self.behaviour.latency)
            data = (
                body
                if isinstance(body, bytes)
                else body.encode()
                if isinstance(body, str)
                else json.dumps(body).encode()
            )
            try:
                handler.send_response(status)
                headers = {"content-type": "application/json", **headers}
                for name, value in headers.items():
                    handler.send_header(name, value)
                handler.send_header("content-length", str(len(data)))
                handler.end_headers()
                if reply is not None and reply.broken:
                    handler.wfile.write(data[: len(data) // 2])
                    handler.wfile.flush()
                    handler.close_connection = True
                    handler.connection.shutdown(socket.SHUT_RDWR)
                    return
                handler.wfile.write(data)
                if reply is not None and reply.close_after:
                    handler.wfile.flush()
                    handler.close_connection = True
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout): nothing to answer
                handler.close_connection = True
        finally:
            with self._lock:
                self._in_flight -= 1
            if self._slots is not None:
                self._slots.release()

    def _answer(
        self, received: Received, reply: Reply | None
    ) -> tuple[int, dict[str, Any] | str | bytes, dict[str, str]]:
        if reply is not None and reply.body is not None:
            return reply.status, reply.body, reply.headers
        request = received.body
        behaviour = self.behaviour
        rejected = behaviour.reject_param
        if rejected is not None and rejected in request:
            other = "max_completion_tokens" if rejected == "max_tokens" else "max_tokens"
            message = f"Unsupported parameter: '{rejected}' is not supported with this model. Use '{other}' instead."
            return 400, error_body(message, param=rejected), {}
        text = behaviour.text(request) if callable(behaviour.text) else behaviour.text
        cap = request.get("max_completion_tokens", request.get("max_tokens"))
        produced = behaviour.tokens(text)
        finish = "stop"
        if isinstance(cap, int) and produced > cap and not behaviour.ignore_cap:
            text, produced, finish = self._cut(text, cap), cap, "length"
        messages = request.get("messages") or []
        prompt = sum(behaviour.tokens(str(m.get("content", ""))) + 3 for m in messages if isinstance(m, dict)) + 3
        billed = Billed(prompt, int(produced * behaviour.overbill))
        with self._lock:
            self.billed.append(billed)
        counts: dict[str, Any] | None
        if behaviour.usage == "none":
            counts = None
        elif behaviour.usage == "null_counts":
            counts = usage(billed.prompt_tokens, None)
        else:
            counts = usage(billed.prompt_tokens, billed.completion_tokens)
            if behaviour.cost is not None:
                counts["cost"] = behaviour.cost
        model = behaviour.model or str(request.get("model", "served-model"))
        return 200, completion_body(text, model=model, usage=counts, finish_reason=finish), {}

    def _cut(self, text: str, cap: int) -> str:
        """The longest prefix of `text` the server's tokenizer counts at most `cap` tokens."""
        low, high = 0, len(text)
        while low < high:
            middle = (low + high + 1) // 2
            if self.behaviour.tokens(text[:middle]) <= cap:
                low = middle
            else:
                high = middle - 1
        return text[:low]
