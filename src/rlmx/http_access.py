"""Who may call rlmx's HTTP servers (`rlmx serve`, `rlmx mcp --http`): the checks both make, in one place.

A browser sends some requests to any address without asking the server first (a POST with a text/plain body is a
CORS "simple request"), and a page whose name an attacker points at 127.0.0.1 (DNS rebinding) is same-origin with a
loopback server. So a server refuses a request whose `Origin` it does not allow (403) and, on a loopback bind, one
whose `Host` does not name this machine (421). A request without `Origin` is no browser's (CLIs, SDKs, editors):
it passes. The bearer key, where a server has one, is checked the same way by both. Each server writes its own
refusal (OpenAI's error shape, or JSON-RPC's) from the `Refusal` given here. Plain ASGI scopes: no web framework.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from rlmx.api_keys import trimmed_key

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
"""The --host values only this machine can reach: on them, `Host` is checked."""

LOOPBACK_ORIGINS = ("http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*")
"""Pages on this machine, as origins (`rlmx mcp` serves them without --allow-origin)."""

_LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "[::1]"})


class Origins:
    """Browser origins allowed to call a server: exact ones ("https://app.example"), any port of one
    ("http://localhost:*"), or "*" (every origin). Compared without regard to case, as browsers write them."""

    def __init__(self, allowed: Iterable[str]) -> None:
        allowed = [origin.lower() for origin in allowed]
        self.every = "*" in allowed
        self._exact = frozenset(_without_default_port(o) for o in allowed if not o.endswith(":*"))
        self._any_port = tuple(o[:-1] for o in allowed if o.endswith(":*"))  # "http://localhost:"

    def allows(self, origin: str) -> bool:
        """Whether a browser's `Origin` is allowed. A scheme's default port is the same origin written with it or
        without (RFC 6454 6.1: browsers leave it out, `http://localhost`), and "any port" includes it."""
        origin = _without_default_port(origin.lower())
        if self.every or origin in self._exact:
            return True
        return any(origin == base[:-1] or _with_port_of(origin, base) for base in self._any_port)


_DEFAULT_PORTS = {"http": ":80", "https": ":443"}


def _with_port_of(origin: str, base: str) -> bool:
    """Whether `origin` is `base` ("http://localhost:") with a port number after it."""
    return origin.startswith(base) and origin[len(base) :].isdigit()


def _without_default_port(origin: str) -> str:
    """`origin` without an explicit port that is its scheme's default ("http://localhost:80" -> "http://localhost")."""
    scheme, _, _ = origin.partition("://")
    default = _DEFAULT_PORTS.get(scheme)
    return origin.removesuffix(default) if default is not None and origin.endswith(default) else origin


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a request is refused before it is served: its HTTP status, a short code and a message saying what to do."""

    status: int
    code: str
    message: str


def header(scope: Mapping[str, Any], name: bytes) -> str | None:
    """The first header `name` (lower case) of an ASGI HTTP scope, decoded as Latin-1; None when absent."""
    headers: Sequence[tuple[bytes, bytes]] = scope.get("headers", ())
    for key, value in headers:
        if key == name:
            return value.decode("latin-1")
    return None


def names_this_machine(host: str, allowed: Iterable[str] = ()) -> bool:
    """Whether a `Host` header names this machine by a loopback name (localhost, 127.0.0.1 or [::1]) or by one of
    `allowed` (--allow-host: the names a same-host reverse proxy forwards), with or without a port."""
    name = host_name(host)
    return name is not None and (name in _LOOPBACK_NAMES or name in {host_name(each) for each in allowed})


def host_name(host: str) -> str | None:
    """The name a `Host` header (or an --allow-host value) gives, lower case, its port and a final dot dropped;
    None for one whose port is not a number."""
    name = host.strip().lower()
    if ":" in name and not name.endswith("]"):  # a port follows
        name, _, port = name.rpartition(":")
        if not port.isdigit():
            return None
    return name.removesuffix(".") if name not in (".", "") else name


def allowed_host(text: str) -> str:
    """An --allow-host value: a host name or address as clients' `Host` headers give it (a port, if any, is
    ignored); ValueError for one with a scheme, a path, spaces, or nothing."""
    name = text.strip()
    if not name or any(c.isspace() for c in name) or "/" in name or host_name(name) is None:
        raise ValueError(
            f"{text!r} is not a host name: give the name clients (or a reverse proxy) send in Host, e.g. "
            "rlmx.example.com (no scheme, no path)"
        )
    return name


def allowed_origin(text: str) -> str:
    """An allowed browser origin (--cors-origin, --allow-origin, `ServerOptions.cors_origins`) as the Origin header
    writes it: scheme://host[:port] in lower case, a trailing slash dropped; port `*`: any. ValueError, saying what
    forms are accepted, for anything else: a path, no scheme, a host no browser sends (a space, a `$`, a name
    outside ASCII, which browsers send in its xn-- form), and a wildcard host (`https://*.example.com`: only the port
    may be `*`; accepted, it matched no Origin, and the 403's advice to add it changed nothing)."""
    given = text.strip().rstrip("/")
    wildcard = given.endswith(":*")
    try:
        parts = urlsplit(given[:-2] if wildcard else given)  # a bracketed host that is no IPv6 address raises
        parts.port  # noqa: B018 (a port that is no number raises)
        good = parts.scheme in ("http", "https") and bool(parts.hostname) and "@" not in parts.netloc
    except ValueError:
        parts, good = urlsplit(""), False
    forms = (
        "give scheme://host[:port], as https://app.example or http://localhost:5173 (http://host:* for any port), "
        "as the browser's Origin header names the page"
    )
    if good and "*" in (parts.hostname or ""):
        raise ValueError(
            f"{text!r} is not an origin: a wildcard host (a sub-domain pattern) is not supported, only a wildcard "
            f"port; {forms}, once for each sub-domain (https://app.example.com, https://admin.example.com)"
        )
    if not good or parts.path or parts.query or parts.fragment or not _origin_host(parts.netloc, parts.hostname):
        if not given.isascii():
            forms += " (a name outside ASCII in its xn-- form, as browsers send it)"
        raise ValueError(f"{text!r} is not an origin: {forms}")
    return given.lower()


_HOST_NAME = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?")
"""A host name as an Origin header carries it (ASCII letters, digits and hyphens, dots between labels; the
underscore too, which browsers pass in a name; a trailing dot, which a page loaded by its fully qualified name keeps
in its Origin)."""


def _origin_host(netloc: str, hostname: str | None) -> bool:
    """Whether `hostname` (urlsplit's, lower case) is a host a browser's Origin can name: an IP address (IPv6 in
    brackets in `netloc`) or an ASCII host name."""
    if not hostname:
        return False
    if "[" in netloc:
        try:
            ipaddress.IPv6Address(hostname)
        except ValueError:
            return False
        return True
    return _HOST_NAME.fullmatch(hostname) is not None


def same_origin(origin: str, host: str) -> bool:
    """Whether `origin` (a page) is the server's own, as the request's `Host` names it (scheme aside: behind a TLS
    proxy the page is https and the server plain http)."""
    try:
        authority = urlsplit(origin.strip()).netloc
    except ValueError:
        return False
    return bool(authority) and authority.lower() == host.strip().lower()


def refusal(
    scope: Mapping[str, Any],
    origins: Origins,
    *,
    check_host: bool,
    command: str,
    origin_flag: str,
    allow_same_origin: bool = False,
    allowed_hosts: Sequence[str] = (),
) -> Refusal | None:
    """Why a web page may not make this HTTP request, or None when it may (or it is no browser's).

    `check_host` (a loopback bind): a `Host` that is not localhost, 127.0.0.1, [::1] nor one of `allowed_hosts`
    (--allow-host) is a 421, first. An `Origin`
    that `origins` does not allow (nor, with `allow_same_origin`, the request's own `Host`) is a 403. `command` and
    `origin_flag` ("rlmx serve", "--cors-origin") go into the messages, which say how to let a client in."""
    host = header(scope, b"host")
    if check_host and host is not None and not names_this_machine(host, allowed_hosts):
        return Refusal(
            421,
            "misdirected_request",
            f"Misdirected request: Host {host[:200]} does not name this machine. This server listens on a loopback "
            "address, where a request for another name comes from a web page whose name was pointed at this "
            "machine (DNS rebinding). Call it as http://127.0.0.1:PORT or http://localhost:PORT. Behind a reverse "
            f"proxy on this machine that forwards its own Host (nginx's `proxy_set_header Host $host`), start "
            f"{command} with --allow-host NAME for that name (repeatable), or have the proxy send Host: 127.0.0.1",
        )
    origin = header(scope, b"origin")
    if origin is None or origins.allows(origin):
        return None
    if allow_same_origin and host is not None and same_origin(origin, host):
        return None
    return Refusal(
        403,
        "origin_not_allowed",
        f"Forbidden: Origin {origin[:200]} is not allowed (a web page may not call this server). To let a browser "
        f"client at that origin in, start {command} with {origin_flag} ORIGIN",
    )


def key_bytes(api_key: str) -> bytes:
    """The bytes a client must send for `api_key`: its own bytes (a key read from an environment variable that is not
    UTF-8 keeps its surrogate escapes), without the line end or quotes a key file brings (no header holds one)."""
    return os.fsencode(trimmed_key(api_key))


def carries_key(authorization: bytes, expected: bytes) -> bool:
    """Whether an `Authorization` header value is `Bearer <expected>` (the scheme in any case, RFC 7235), compared in
    constant time."""
    scheme, _, token = authorization.partition(b" ")
    return scheme.lower() == b"bearer" and hmac.compare_digest(token.strip(), expected)


DEFAULT_HEADER_TIMEOUT = 20.0
"""Seconds a connection may take to send a request head whole (--header-timeout), counted from its first byte (from
the connection's opening for its first request); nginx's `client_header_timeout` is 60, Apache's 20 to 40."""
DEFAULT_MAX_CONNECTIONS = 1000
"""Connections held open at most (--max-connections); one past it is answered 503 and closed at once."""


BUSY_MESSAGE = (
    "too many open connections: the server holds --max-connections {limit} open; retry after the Retry-After "
    "seconds, close idle keep-alive connections, or start the server with a higher --max-connections"
)
"""What a connection past --max-connections is told (`bounded_connections`' `shape` shapes it for each server)."""
LATE_HEAD_MESSAGE = (
    "the request head (request line and headers) did not arrive whole within {timeout:g} s (--header-timeout): "
    "send it at once, or start the server with a higher --header-timeout"
)
"""What a connection whose request head began and did not arrive whole in time is told, with its 408."""
MALFORMED_MESSAGE = (
    "Invalid HTTP request received: its request line, a header or its body's framing is malformed (a "
    "Content-Length that is no number, a chunk size that is not hexadecimal, a space in the path, a header line "
    "without a colon or too long, a request line that is not HTTP); send a well-formed HTTP/1.1 request"
)
"""What a connection is told whose request uvicorn's HTTP parser refused, with its 400."""
BUSY_LINGER = 1.0
"""Seconds a refused connection (past --max-connections, or its request malformed) stays half-closed, its bytes read
and dropped, before it is closed: closed at once with the request unread, the kernel answers the request's bytes
with a reset, and a client reading late loses the refusal for "connection reset". It no longer counts as open
meanwhile (it holds no request)."""

_REASONS = {400: b"Bad Request", 408: b"Request Timeout", 503: b"Service Unavailable"}


def stop_keeping_alive(server_state: Any) -> None:
    """Tell a stopping server's connections (`bounded_connections`' protocol, sharing uvicorn's `server_state`)
    that each is to close once its response is sent: it takes no next request. uvicorn's own shutdown closes idle
    connections at once instead (`hold_open` in rlmx.commands.serve keeps them, to answer their next request)."""
    server_state.rlmx_stopping = True


def _stopping(server_state: Any) -> bool:
    return bool(getattr(server_state, "rlmx_stopping", False))


def refusal_reply(refused: Refusal, shape: Callable[[Refusal], bytes] | None, headers: bytes = b"") -> bytes:
    """The whole HTTP/1.1 response a connection-level refusal writes (`refused`'s status, `connection: close`): its
    body is `shape`'s JSON (each server's error shape) or, without one, the message as plain text; extra `headers`
    are whole `name: value\r\n` lines. Each call gets a fresh `x-request-id` (req_ and 24 hex digits, as `rlmx
    serve` names its requests): one id per refusal, so that a client's report names the one it got."""
    body, kind = (refused.message.encode(), b"text/plain") if shape is None else (shape(refused), b"application/json")
    return (
        b"HTTP/1.1 %d %s\r\ncontent-type: %s; charset=utf-8\r\ncontent-length: %d\r\n%sx-request-id: req_%s\r\n"
        b"connection: close\r\n\r\n%s"
        % (refused.status, _REASONS[refused.status], kind, len(body), headers, os.urandom(12).hex().encode(), body)
    )


def bounded_connections(
    header_timeout: float, max_connections: int, shape: Callable[[Refusal], bytes] | None = None
) -> type[Any]:
    """uvicorn's HTTP protocol class (its `auto` one: httptools when installed, else h11) with two bounds uvicorn
    lacks (give it as `uvicorn.Config(http=...)`):

    - a request head must be whole within `header_timeout` seconds: from its opening for the first request, from
      the first byte of the next one on a kept-alive connection (idle between requests, uvicorn's
      `timeout_keep_alive` closes it). uvicorn arms no timer before a head is complete: a connection that sent
      nothing, or half a head, or a header line every 5 s, was held open for ever (slowloris). A connection that had
      begun a head is answered `408 Request Timeout` (code "request_timeout") and closed (RFC 9110 15.5.9; Apache's
      mod_reqtimeout does the same); one that sent nothing is closed without a word.
    - at most `max_connections` connections are open: one past it gets a 503 (code "too_many_connections") with
      `Retry-After: 1` and is closed as it opens, before it holds a file descriptor for long (uvicorn's
      `limit_concurrency` refuses only once a head is complete). A refused connection is not counted as open while
      it lingers (BUSY_LINGER) for its client to read the 503.

    A request uvicorn's parser refuses (h11's or httptools': a malformed request line, header or body framing, a
    head too large for h11) gets a 400 (code "invalid_http_request") in the same way, not uvicorn's bare text/plain
    one, which skipped the app and so had neither the server's error shape nor an `x-request-id`. Once the server
    is stopping (`stop_keeping_alive`), each connection closes after its response.

    `shape` makes each refusal's JSON body from a `Refusal` (an OpenAI error object for `rlmx serve`, a JSON-RPC
    error for `rlmx mcp --http`: each server's errors keep one shape); plain text without it. Every refusal carries
    its own `x-request-id` (`refusal_reply`).
    """
    from uvicorn.protocols.http.auto import AutoHTTPProtocol

    base: Any = AutoHTTPProtocol
    is_h11 = base.__name__ == "H11Protocol"  # else httptools' parser
    busy = Refusal(503, "too_many_connections", BUSY_MESSAGE.format(limit=max_connections))
    late = Refusal(408, "request_timeout", LATE_HEAD_MESSAGE.format(timeout=header_timeout))
    malformed = Refusal(400, "invalid_http_request", MALFORMED_MESSAGE)

    class BoundedConnection(base):  # type: ignore[misc]
        _head_timer: Any = None
        _awaiting: bool = True
        _seen: Any = None  # the request cycle that was current when the wait for a head began
        _begun: bool = False  # bytes of the awaited head have arrived

        _turned_away: bool = False
        _next_begun: bool = False  # httptools: a request head has begun and is not whole yet
        _refusal_due: bytes | None = None  # httptools: a 400 to write once the requests before it are answered

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            if len(self.connections) > max_connections:
                self._refuse(refusal_reply(busy, shape, b"retry-after: 1\r\n"))
                return
            self._awaiting, self._seen, self._begun = True, None, False
            self._arm()

        def _refuse(self, reply: bytes) -> None:
            """Write `reply` and end the connection: half-closed for BUSY_LINGER seconds, its bytes read and dropped
            meanwhile, then closed."""
            self._turned_away = True
            # not open for the bound: it holds no request, and a client that keeps its socket open for the
            # linger must not make the server refuse others while fewer than the bound are served
            self.connections.discard(self)
            self._disarm()
            self.transport.write(reply)
            if self.transport.can_write_eof():
                self.transport.write_eof()  # the reply is whole; the request's bytes are read and dropped meanwhile
                self.loop.call_later(BUSY_LINGER, self.transport.close)
            else:
                self.transport.close()

        def send_400_response(self, msg: str) -> None:
            """Where uvicorn (h11's protocol and httptools') answers a request its parser refused."""
            cycle, reply = self.cycle, refusal_reply(malformed, shape)
            if cycle is None or cycle.response_complete:
                if cycle is not None and cycle.more_body:
                    self.transport.close()  # the body of a request already answered: no second answer to it
                else:
                    self._refuse(reply)  # a new request's head
            elif cycle.more_body:  # the request's own body is malformed
                if cycle.response_started:
                    self.transport.close()  # its answer is on its way: a 400 inside it would garble it
                    return
                # its handler waits for a body that will not come: it hears its client gone and writes nothing
                cycle.disconnected = True
                cycle.message_event.set()
                self._refuse(reply)
            else:  # httptools: a malformed head pipelined behind whole requests not answered yet, which are first
                self._turned_away = True
                self._refusal_due = reply

        def data_received(self, data: bytes) -> None:
            if self._turned_away:
                return
            super().data_received(data)
            if self._turned_away:
                return
            if self.cycle is not None and _stopping(self.server_state):
                self.cycle.keep_alive = False  # a request begun while the server stops: its connection closes after
            if not self._awaiting:
                return
            if self.cycle is not self._seen:  # the head is whole: the body has its own bound (--body-timeout)
                self._awaiting = False
                self._disarm()
            else:
                self._begun = self._begun or bool(data)
                if self._head_timer is None:
                    self._arm()  # the next request's head has begun

        def on_message_begin(self) -> None:  # httptools' parser: the first byte of a request
            self._next_begun = True
            super().on_message_begin()

        def on_headers_complete(self) -> None:  # httptools' parser: a head is whole
            self._next_begun = False
            super().on_headers_complete()

        def on_response_complete(self) -> None:
            if self._refusal_due is not None:
                if self.cycle.response_complete:  # the last request before the malformed one
                    self._refuse(self._refusal_due)
                    return
                super().on_response_complete()  # the next pipelined one starts
                return
            if _stopping(self.server_state) and not self.transport.is_closing():
                self.transport.close()  # the server stops: this connection takes no next request
            before = self.cycle
            super().on_response_complete()
            if self.cycle is before:  # no pipelined head came whole with it: idle until one begins
                # Bytes of the next head that came while this response was sent (pipelining) sit in the parser:
                # no more bytes need come, so the wait is timed from now (it was never armed: no 408, and uvicorn's
                # keep-alive closed the connection 30 s later without a word).
                begun = self._head_pending()
                self._awaiting, self._seen, self._begun = True, before, begun
                if begun and not self.transport.is_closing():
                    self._arm()

        def _head_pending(self) -> bool:
            """Whether the parser holds the start of a request head not yet whole."""
            if is_h11:  # a new cycle began (their side IDLE), and bytes wait in h11's buffer: a head's
                import h11

                return self.conn.their_state is h11.IDLE and bool(self.conn.trailing_data[0])
            return self._next_begun

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            self._disarm()
            self._head_timer = self.loop.call_later(header_timeout, self._head_late, self._seen)

        def _disarm(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _head_late(self, seen: Any) -> None:
            self._head_timer = None
            if self._awaiting and self.cycle is seen and not self.transport.is_closing():
                if self._begun:
                    self.transport.write(refusal_reply(late, shape))
                self.transport.close()

    return BoundedConnection
