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
import os
from collections.abc import Iterable, Mapping, Sequence
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
        self._exact = frozenset(o for o in allowed if not o.endswith(":*"))
        self._any_port = tuple(o[:-1] for o in allowed if o.endswith(":*"))  # "http://localhost:"

    def allows(self, origin: str) -> bool:
        origin = origin.lower()
        if self.every or origin in self._exact:
            return True
        return any(origin.startswith(base) and origin[len(base) :].isdigit() for base in self._any_port)


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


def names_this_machine(host: str) -> bool:
    """Whether a `Host` header names this machine by a loopback name: localhost, 127.0.0.1 or [::1], with or
    without a port."""
    name = host.strip().lower()
    if ":" in name and not name.endswith("]"):  # a port follows
        name, _, port = name.rpartition(":")
        if not port.isdigit():
            return False
    return name in _LOOPBACK_NAMES


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
) -> Refusal | None:
    """Why a web page may not make this HTTP request, or None when it may (or it is no browser's).

    `check_host` (a loopback bind): a `Host` that is not localhost, 127.0.0.1 or [::1] is a 421, first. An `Origin`
    that `origins` does not allow (nor, with `allow_same_origin`, the request's own `Host`) is a 403. `command` and
    `origin_flag` ("rlmx serve", "--cors-origin") go into the messages, which say how to let a client in."""
    host = header(scope, b"host")
    if check_host and host is not None and not names_this_machine(host):
        return Refusal(
            421,
            "misdirected_request",
            f"Misdirected request: Host {host[:200]} does not name this machine. This server listens on a loopback "
            "address, where a request for another name comes from a web page whose name was pointed at this "
            "machine (DNS rebinding). Call it as http://127.0.0.1:PORT or http://localhost:PORT; to be reached by "
            f"other names, start {command} with --host set to an address they reach",
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
