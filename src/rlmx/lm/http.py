"""The HTTP exchange under OpenAICompatibleLM: one JSON POST, retried the way the official SDK retries, over an
aiohttp session per event loop.

Why aiohttp and not the `openai` SDK: importing the SDK takes about 1.2 s (its generated types) and each call
spends about 5 ms of CPU building and wrapping pydantic models, while rlmx sends one plain JSON body and reads
the reply with its own checks (`rlmx.lm.openai_reply`). aiohttp costs about 0.65 ms of CPU a call (measured side
by side on loopback: SDK 4.6-4.9 ms, httpx2 2.2 ms, aiohttp 0.65 ms; benchmarks/vs_official/NOTES.md), which is
what makes 64 concurrent sub-calls cheap.

Retries (the SDK's documented policy, kept so behaviour does not change with the transport): 408, 409, 429 and
5xx replies, timeouts and connection errors are retried `max_retries` times; a server's `x-should-retry` header
overrides that decision; the wait is the server's `retry-after-ms` / `retry-after` (seconds or an HTTP date)
when it is between 0 and 60 s, else 0.5 s doubled per retry, at most 8 s, minus up to 25 % jitter.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import email.utils
import errno
import json
import math
import os
import random
import re
import socket
import ssl
import threading
import time
import urllib.parse
import urllib.request
import weakref
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, cast

import aiohttp
from aiohttp.http_exceptions import ContentEncodingError

from rlmx.deadline import time_limit
from rlmx.lm.base import may_resend, time_left
from rlmx.lm.body_text import body_text
from rlmx.sandbox.frames import utf8

NOT_RESENT = " (not sent again: the budget has no room for another request, and the server may have billed this one)"

INITIAL_RETRY_DELAY = 0.5
"""Seconds before the first retry when the server does not say (the openai SDK's figure)."""
MAX_RETRY_DELAY = 8.0
MAX_SERVER_RETRY_AFTER = 60.0
"""A server's Retry-After above this is ignored in favour of the exponential wait (as the SDK does)."""
RETRY_STATUSES = frozenset({408, 409, 429})


@dataclass(frozen=True, slots=True)
class HTTPReply:
    """A reply that came back (any status): `status`, lower-cased `headers`, the body as bytes."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    timed_out: int = 0
    """Earlier requests of the same call that were sent and got no whole reply (no reply in time, or one that broke
    off): possibly billed."""
    not_resent: bool = False
    """Retries were left, but the budget refused another request after this one (a gateway's timeout: possibly
    billed): the error must say so (`NOT_RESENT`), as a plain timeout's does."""
    unwaited: float | None = None
    """Retries were left, but the wait before the next one (the server's Retry-After, or back-off), in seconds, would
    end past the call's deadline (the run's time budget: `rlmx.lm.base.CALL_DEADLINE`), so it was not slept: the
    error must say so."""

    def json_body(self) -> Any:
        """The body as JSON, or the text itself when it is not JSON (for error messages); read as text the way a
        reply's body is (`body_text`: a gateway's error in GBK or Shift_JIS, labelled so, reads as written)."""
        text = body_text(self.body, self.headers.get("content-type", ""))
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return text


class TransportError(Exception):
    """No reply came back after the retries. `kind`: "timeout", "connection", "broken" (the last reply broke
    off) or "undecodable" (a reply came whole but its body could not be decoded as its Content-Encoding says: not
    sent again); `attempts` made, `unanswered` of them sent without a whole reply coming back (possibly billed);
    `not_resent`: retries were left but the budget refused another request (`may_resend`)."""

    def __init__(
        self,
        kind: str,
        detail: str,
        attempts: int,
        unanswered: int = 0,
        *,
        not_resent: bool = False,
        proxy: Proxy | None = None,
        unwaited: float | None = None,
    ) -> None:
        super().__init__(detail)
        self.kind, self.detail, self.attempts, self.unanswered = kind, detail, attempts, unanswered
        self.not_resent = not_resent
        self.unwaited = unwaited
        """Retries were left, but the wait before the next one (seconds) would end past the call's deadline (the
        run's time budget), so it was not slept (as `HTTPReply.unwaited`)."""
        self.proxy = proxy
        """The environment's proxy, when the failure was in reaching it (not the server behind it)."""


@dataclass(frozen=True, slots=True)
class Proxy:
    """A proxy the environment names: its URL and the variable that named it (`HTTP_PROXY`, `all_proxy`, ...)."""

    url: str
    variable: str
    unusable: bool = False
    """A scheme aiohttp cannot speak (SOCKS: `socks5://` from Clash or `ssh -D`): no request is tried through it."""

    @property
    def shown(self) -> str:
        """The URL without a user name or password it may carry, for messages."""
        parts = urllib.parse.urlsplit(self.url)
        if parts.username is None and parts.password is None:
            return self.url
        host = parts.hostname or ""
        return urllib.parse.urlunsplit(parts._replace(netloc=f"{host}:{parts.port}" if parts.port else host))


def should_retry(status: int, headers: Mapping[str, str]) -> bool:
    """Whether a reply with this status is worth another attempt; the server's `x-should-retry` decides first."""
    said = headers.get("x-should-retry", "").strip().lower()
    if said in ("true", "false"):
        return said == "true"
    return status in RETRY_STATUSES or status >= 500


def retry_delay(retry: int, headers: Mapping[str, str] | None = None) -> float:
    """Seconds to wait before retry number `retry` (0 for the first): the server's word when it is sane, else
    exponential backoff with jitter."""
    server = server_retry_after(headers or {})
    if server is not None and 0 <= server <= MAX_SERVER_RETRY_AFTER:
        return server
    return min(INITIAL_RETRY_DELAY * 2.0**retry, MAX_RETRY_DELAY) * (1 - 0.25 * random.random())


def unwaited_note(delay: float) -> str:
    """What an LM error adds when its call's next attempt was not waited for (`HTTPReply.unwaited`,
    `TransportError.unwaited`): it was due after the run's time budget ends."""
    return (
        f"; not retried: the next attempt was due in {delay:.3g} s, after the run's time budget (Budget.max_seconds) "
        "ends"
    )


async def _wait(delay: float) -> float | None:
    """Sleep `delay` seconds before a retry and return None; return `delay` at once, sleeping nothing, when the wait
    would end at or past the call's deadline (`rlmx.lm.base.time_left`): the retry could never be sent in time, and
    the run's time budget would go to sleeping while the reason (a 429's Retry-After) was lost."""
    left = time_left()
    if left is not None and delay >= left:
        return delay
    await asyncio.sleep(delay)
    return None


def waits_too_long(headers: Mapping[str, str]) -> bool:
    """Whether the reply asks for a wait longer than rlmx waits between attempts (`MAX_SERVER_RETRY_AFTER`): a
    per-minute rate limit saying `Retry-After: 120`. Not sent again before then: an early re-send only meets the same
    limit and counts against it (the error says the wait instead)."""
    wait = server_retry_after(headers)
    return wait is not None and wait > MAX_SERVER_RETRY_AFTER


def server_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds the server asks the client to wait (`retry-after-ms`, else `retry-after` in seconds or as an HTTP
    date); None when it says nothing readable (`1e999`, `nan` and other non-finite numbers included)."""
    milliseconds = headers.get("retry-after-ms")
    if milliseconds:
        try:
            wait = float(milliseconds) / 1000
            if math.isfinite(wait):
                return wait
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        wait = float(value)
        return wait if math.isfinite(wait) else None
    except ValueError:
        pass
    try:
        return email.utils.parsedate_to_datetime(value).timestamp() - time.time()
    except (TypeError, ValueError):
        return None


@cache
def _verified_tls() -> ssl.SSLContext:
    """The system's CA store, loaded once per process (about 50 ms), for https base URLs."""
    return ssl.create_default_context()


def tls_for(url: str) -> ssl.SSLContext | None:
    """The TLS context a URL needs: None for plain http (no CA store is loaded for a local server)."""
    return _verified_tls() if url.startswith("https://") else None


def proxy_for(url: str) -> Proxy | None:
    """The proxy the environment names for `url` (HTTP_PROXY / HTTPS_PROXY / ALL_PROXY, lower or upper case, the
    lower first as urllib reads them), or None when there is none or NO_PROXY exempts the host."""
    parts = urllib.parse.urlsplit(url)
    proxies = urllib.request.getproxies_environment()
    scheme = parts.scheme if proxies.get(parts.scheme) else "all"
    proxy = proxies.get(scheme)
    if not proxy or urllib.request.proxy_bypass(parts.hostname or ""):
        return None
    named = [f"{scheme}_proxy", f"{scheme.upper()}_PROXY"]
    variable = next((name for name in named if os.environ.get(name) == proxy), named[1])
    if "://" not in proxy:  # `proxy.corp:3128`, as curl and requests take it: an HTTP proxy
        proxy = "http://" + proxy
    return Proxy(proxy, variable, unusable=urllib.parse.urlsplit(proxy).scheme.lower() not in ("http", "https"))


@dataclass(slots=True)
class _LoopSession:
    session: aiohttp.ClientSession
    loop: asyncio.AbstractEventLoop
    closer: AsyncIterator[None]


async def _close_at_shutdown(session: aiohttp.ClientSession) -> AsyncIterator[None]:
    """Parks until its loop runs `shutdown_asyncgens()` (asyncio.run does), then closes the session on it."""
    try:
        yield
    finally:
        await session.close()


_ON_THE_LOOP = "_rlmx_http_sessions"
"""The attribute under which a loop holds the sessions posters opened on it, by poster id: they live and go with
the loop. A table in the poster held every loop a server made per request (and never closed), with its open
connections, for as long as the poster lived: 5 descriptors a request, without end."""


def _close_on_their_loops(loops: weakref.WeakSet[Any], poster: int, pinned: dict[int, _LoopSession]) -> None:
    """Close poster `poster`'s sessions, each on its own loop (the live `loops` it used, and the `pinned` ones of
    loops that take no attribute), from whatever thread drops the poster (a loop not running any more closes them
    at its shutdown_asyncgens, or has closed them already)."""
    held = [getattr(loop, _ON_THE_LOOP, {}).pop(poster, None) for loop in list(loops)]
    for bound in [bound for bound in held if bound is not None] + list(pinned.values()):
        if bound.session.closed or bound.loop.is_closed() or not bound.loop.is_running():
            continue
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            bound.loop.call_soon_threadsafe(_closing_task, bound)


def _closing_task(bound: _LoopSession) -> None:
    _closing.add(task := bound.loop.create_task(cast(Any, bound.closer).aclose()))
    task.add_done_callback(_closing.discard)


_closing: set[asyncio.Task[Any]] = set()
"""Closes in flight (a task the loop holds only weakly must be held somewhere until it ends)."""


class JSONPoster:
    """POSTs JSON to one URL with retries. Usable from any number of event loops and threads: each running loop
    gets its own session (a connection pool belongs to the loop that opened it), closed on that loop when it
    shuts down.

    `timeout`: seconds to wait for each read of a reply; `connect_timeout`: for the connection.
    Environment proxies (HTTP(S)_PROXY, ALL_PROXY, NO_PROXY) are honoured, as the SDK does; they are read once
    here, not per request (aiohttp's `trust_env` reads them and ~/.netrc on a thread for every request).
    """

    def __init__(
        self,
        url: str,
        headers: Mapping[str, str],
        *,
        timeout: float,
        connect_timeout: float,
        max_retries: int,
    ) -> None:
        self.url = url
        self.headers = {"content-type": "application/json", "accept": "application/json", **headers}
        self.timeout = aiohttp.ClientTimeout(total=None, connect=connect_timeout, sock_read=timeout)
        self.read_timeout, self.connect_timeout = timeout, connect_timeout
        self.max_retries = max_retries
        self.proxy = proxy_for(url)
        """The environment's proxy for `url` (None: connections go straight to the server)."""
        self._start_sessions()

    def _start_sessions(self) -> None:
        """The per-process, per-loop state: the TLS context and the (empty) table of sessions, opened lazily by
        `_session` on each loop that posts."""
        self._ssl: ssl.SSLContext | bool = tls_for(self.url) or True
        self._loops: weakref.WeakSet[Any] = weakref.WeakSet()  # the loops holding a session of ours (_ON_THE_LOOP)
        self._pinned: dict[int, _LoopSession] = {}  # by loop id, for a loop that takes no attribute
        self._lock = threading.Lock()
        # Dropped while its loops run on (an LM made per request in a server): each session is closed on its loop
        # then, not left open until that loop ends or for the garbage collector to warn about.
        weakref.finalize(self, _close_on_their_loops, self._loops, id(self), self._pinned)

    _PER_PROCESS = ("_ssl", "_loops", "_pinned", "_lock")

    def __getstate__(self) -> dict[str, Any]:
        """The poster's configuration without its sessions, lock and TLS context (none of which pickle, and a
        session belongs to the loop that opened it): a copy, or one sent to a worker process (an RLM given to a
        ProcessPoolExecutor), opens its own sessions on the loops it posts from, as any new loop does."""
        return {key: value for key, value in self.__dict__.items() if key not in self._PER_PROCESS}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._start_sessions()

    async def post(
        self, payload: Mapping[str, Any], *, final: Callable[[HTTPReply], bool] | None = None
    ) -> tuple[HTTPReply, int]:
        """Send `payload`; returns the last reply (which may be an error status after the retries) and how many
        attempts were made. Raises TransportError when no reply came back at all. `final` says of an error reply
        that retrying cannot cure it (a 500 saying the prompt is over the context window), beyond what the status
        says: it is returned at once. Given by the caller, who reads error bodies and knows what it sent."""
        if self.proxy is not None and self.proxy.unusable:  # every attempt would fail at it, and read as the server's
            raise TransportError("connection", "not an HTTP proxy", 0, proxy=self.proxy)
        body = utf8(json.dumps(payload, ensure_ascii=False, separators=(",", ":")))  # a lone surrogate: U+FFFD
        session = await self._session()
        attempt = timed_out = stale = 0
        while True:
            attempt += 1
            sent = _Sent()
            try:
                reply = await self._once(session, body, sent)
            except TimeoutError as exc:
                if not _no_connection(exc):
                    timed_out += 1
                    detail = f"no reply within {self.read_timeout:g} s"
                    if attempt > self.max_retries:
                        raise TransportError("timeout", detail, attempt, timed_out) from None
                    if (skipped := await _wait(retry_delay(attempt - 1))) is not None:
                        raise TransportError("timeout", detail, attempt, timed_out, unwaited=skipped) from None
                    if not await may_resend():  # asked just before sending: a cancelled wait holds no budget
                        raise TransportError("timeout", detail, attempt, timed_out, not_resent=True) from None
                    continue
                # no connection within connect_timeout (a firewall dropping the attempt, a wrong address, a full
                # backlog): nothing was sent, so nothing billed, and a longer read timeout would not help
                detail = (
                    f"{self._connects_to()}: no answer to the connection attempt within {self.connect_timeout:g} s "
                    "(a firewall dropping it, a wrong address, or nothing listening there)"
                )
                if attempt > self.max_retries:
                    raise TransportError("connection", detail, attempt, timed_out, proxy=self.proxy) from None
                if (skipped := await _wait(retry_delay(attempt - 1))) is not None:
                    raise TransportError(
                        "connection", detail, attempt, timed_out, proxy=self.proxy, unwaited=skipped
                    ) from None
                continue
            except aiohttp.ClientError as exc:
                if sent.unread(exc) and stale < STALE_RESENDS:
                    # a kept-alive connection the server had closed while it idled (HTTP/1.1 allows it; uvicorn
                    # does after 5 s): the request never reached it. Sent again at once on another connection, not
                    # counted as an attempt nor as one that may have been billed (as urllib3 and httpcore do).
                    stale += 1
                    attempt -= 1
                    continue
                undecodable = _undecodable(exc)
                if undecodable is not None:  # answered in full, maybe billed: a re-send decodes no better
                    raise TransportError("undecodable", undecodable, attempt, timed_out + 1) from None
                broke = _after_sending(exc)  # the request went out: the server may have billed it
                timed_out += broke
                kind = "broken" if broke else "connection"
                at_proxy = self.proxy if _at_the_proxy(exc, self.proxy) else None
                if attempt > self.max_retries:
                    raise TransportError(kind, _describe(exc), attempt, timed_out, proxy=at_proxy) from None
                if (skipped := await _wait(retry_delay(attempt - 1))) is not None:
                    raise TransportError(
                        kind, _describe(exc), attempt, timed_out, proxy=at_proxy, unwaited=skipped
                    ) from None
                if broke and not await may_resend():
                    raise TransportError(kind, _describe(exc), attempt, timed_out, not_resent=True) from None
                continue
            gave_up = reply.status in GATEWAY_TIMEOUTS  # a gateway stopped waiting; the model behind it did not
            timed_out += gave_up
            if (
                reply.status < 400
                or attempt > self.max_retries
                or not should_retry(reply.status, reply.headers)
                or out_of_quota(reply)
                or over_the_allowance(reply)
                or waits_too_long(reply.headers)
                or (final is not None and final(reply))
            ):
                return (dataclasses.replace(reply, timed_out=timed_out) if timed_out else reply), attempt
            skipped = await _wait(retry_delay(attempt - 1, reply.headers))
            if skipped is not None:  # the run's time budget ends first: the error says what was asked
                return dataclasses.replace(reply, timed_out=timed_out, unwaited=skipped), attempt
            if gave_up and not await may_resend():
                return dataclasses.replace(reply, timed_out=timed_out, not_resent=True), attempt

    def _connects_to(self) -> str:
        """host:port of what a connection is made to: the proxy when there is one, else the server."""
        parts = urllib.parse.urlsplit(self.proxy.url if self.proxy else self.url)
        return f"{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}"

    async def _once(self, session: aiohttp.ClientSession, body: bytes, sent: _Sent) -> HTTPReply:
        # Redirects are the reply, not followed: aiohttp would re-send a POST redirected by 301-303 as a GET (which
        # the server refuses with a 405 that hides the redirect), and a redirect elsewhere would carry the key there.
        # The one exception is a 303 See Other on the same origin: the request was taken and its result is to be
        # fetched there with a GET (Modal's web endpoints answer a request running past 150 s that way, and again
        # from the result URL while it still runs), as the SDK and `curl -L` do.
        async with session.post(
            self.url,
            data=body,
            headers=self.headers,
            ssl=self._ssl,
            proxy=self.proxy.url if self.proxy else None,
            allow_redirects=False,
            trace_request_ctx=sent,
        ) as reply:
            sent.answered = True
            result = await _read(reply)
        for _ in range(SEE_OTHER_HOPS):
            where = self._same_origin_result(result)
            if where is None:
                break
            async with session.get(
                where,
                headers=self.headers,
                ssl=self._ssl,
                proxy=self.proxy.url if self.proxy else None,
                allow_redirects=False,
            ) as reply:
                result = await _read(reply)
        return result

    def _same_origin_result(self, reply: HTTPReply) -> str | None:
        """The URL a 303 See Other points to, when it is on this poster's origin (scheme, host and port); else None."""
        if reply.status != 303 or not reply.headers.get("location"):
            return None
        target = urllib.parse.urljoin(self.url, reply.headers["location"])
        here, there = urllib.parse.urlsplit(self.url), urllib.parse.urlsplit(target)
        same = (here.scheme, here.hostname, here.port) == (there.scheme, there.hostname, there.port)
        return target if same else None

    def _table(self, loop: asyncio.AbstractEventLoop) -> tuple[dict[int, _LoopSession], int]:
        """Where this poster's session on `loop` is kept, and under which key: on the loop itself (`_ON_THE_LOOP`),
        or, for a loop that takes no attribute, in the poster (which then holds that loop while it lives)."""
        table = getattr(loop, _ON_THE_LOOP, None)
        if table is None:
            try:
                setattr(loop, _ON_THE_LOOP, table := {})
            except AttributeError:
                for key, old in list(self._pinned.items()):
                    if old.loop.is_closed():  # closed without shutdown_asyncgens: drop what it left
                        del self._pinned[key]
                return self._pinned, id(loop)
        return table, id(self)

    async def _session(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        with self._lock:
            table, key = self._table(loop)
            bound = table.get(key)
            if bound is not None and bound.loop is loop and not bound.session.closed:
                return bound.session
            session = aiohttp.ClientSession(
                timeout=self.timeout,
                connector=aiohttp.TCPConnector(limit=0, ssl=self._ssl),
                trace_configs=[_POOLED_CONNECTIONS],
            )
            closer = _close_at_shutdown(session)
            table[key] = _LoopSession(session, loop, closer)
            if table is not self._pinned:
                self._loops.add(loop)  # (weakly) for the poster's finalizer
        await anext(closer)  # starts it on this loop, which registers it for shutdown_asyncgens
        return session

    async def aclose(self) -> None:
        """Close the running loop's session now (a later post opens a new one)."""
        loop = asyncio.get_running_loop()
        with self._lock:
            table, key = self._table(loop)
            bound = table.pop(key, None)
        if bound is not None and bound.loop is loop:
            await cast(Any, bound.closer).aclose()


async def _read(reply: aiohttp.ClientResponse) -> HTTPReply:
    """The reply, read in pieces to the end of its body. A server may keep the connection open after the reply is
    whole (a gateway lingering after an event stream's `data: [DONE]`, earendil-works/pi#7954, or after a JSON
    value), sending keep-alive bytes: a piece of them alone (`_KEEP_ALIVE`) after a reply that is whole (`_whole`)
    ends the read, and so does a moment's quiet after `[DONE]` (`_AFTER_DONE`: a gateway that sends the usage
    after it, against the spec, is still read). Keep-alive bytes before the reply is whole hold the read open, as
    the SDK does (DeepSeek sends blank lines while a request waits to be scheduled): `Budget(max_seconds=...)`
    bounds them. When the reply breaks off after it said all it had to say, only its framing was lost (a proxy
    dropping the chunked terminator), and what came is the reply; else the break is raised (and the request sent
    again)."""
    pieces: list[bytes] = []  # joined once: a 40 MB reply is not copied twice
    tail = b""  # the last bytes read that carried data: a `[DONE]` line split between pieces is found
    unchecked = False  # data came since the reply was last found not whole
    # The connection, held here: aiohttp hands it back to its pool the moment the body ends, which may come in one
    # read with the keep-alive bytes that show the server lingers (and with bytes after the body, which the next
    # request on it would read as its reply). `reply.close()` no longer reaches it then; this does.
    held = reply.connection.protocol if reply.connection is not None else None
    try:
        async for piece in reply.content.iter_any():
            pieces.append(piece)
            if _KEEP_ALIVE.fullmatch(piece):
                if unchecked and _whole(b"".join(pieces)):
                    _drop(reply, held)  # the reply is whole; a connection the server lingers on is not used again
                    break
                unchecked = False
                continue
            unchecked = True
            split_done = b"[DONE]" in tail + piece[:8]
            if (split_done or b"[DONE]" in piece) and _STREAM_DONE.search(tail + piece):
                if not await _after_done(reply, pieces):
                    _drop(reply, held)  # what else it sends there is not for the next request on the pool
                break
            tail = (tail + piece)[-24:] if len(piece) < 24 else piece[-24:]
    except (aiohttp.ClientPayloadError, TimeoutError):  # broken off, or quiet (aiohttp's ServerTimeoutError)
        if not _whole(b"".join(pieces)):
            raise
    return HTTPReply(reply.status, {key.lower(): value for key, value in reply.headers.items()}, b"".join(pieces))


def _drop(reply: aiohttp.ClientResponse, held: asyncio.BaseProtocol | None) -> None:
    """Close the reply's connection so that no later request uses it, whether or not aiohttp has already put it
    back in its pool (a closed connection there is passed over)."""
    reply.close()
    if held is not None:
        held.close()  # type: ignore[attr-defined]  # aiohttp's ResponseHandler.close: closes its transport


_AFTER_DONE = 1.0
"""Seconds an event stream is read on after its `data: [DONE]`, for data a gateway sends after it (the usage, against
the spec: openai-openapi#240 puts it before): the rest of the connection, up to a moment's quiet or keep-alive."""


async def _after_done(reply: aiohttp.ClientResponse, pieces: list[bytes]) -> bool:
    """Read what comes after a stream's `[DONE]` into `pieces`, until the body ends (True), or keep-alive bytes come,
    or `_AFTER_DONE` seconds pass (a server that keeps the connection open without a word), or it breaks off."""
    with contextlib.suppress(TimeoutError, aiohttp.ClientPayloadError):
        async with time_limit(_AFTER_DONE):
            async for piece in reply.content.iter_any():
                if _KEEP_ALIVE.fullmatch(piece):
                    return False
                pieces.append(piece)
            return True
    return False


_KEEP_ALIVE = re.compile(rb"(?:[ \t\r\n]|:[^\n]*(?:\n|$))*")
"""A piece of a reply that holds nothing but keep-alive bytes: blank lines and whitespace, SSE comment lines (a line
that starts with a colon: the event-stream format's comments, WHATWG HTML section 9.2.6)."""
_STREAM_DONE = re.compile(rb"^data: ?\[DONE\][ \t\r]*$", re.MULTILINE)


def _whole(body: bytes) -> bool:
    """Whether a body whose connection broke off had already come whole: an event stream that reached `data: [DONE]`
    or sent both a finish_reason and the usage (the last events there are), or a JSON value that is complete."""
    if _STREAM_DONE.search(body):
        return True
    text = body.strip()
    if text.startswith((b"{", b"[")):
        try:
            json.loads(text)
        except ValueError:
            return False
        return True
    finished = counted = False
    for line in text.splitlines():
        chunk = _json_object(line.removeprefix(b"data:")) if line.startswith(b"data:") else None
        if chunk is None:
            continue
        counted = counted or bool(chunk.get("usage")) or "eval_count" in chunk  # Ollama's counts, beside no usage
        choices = chunk.get("choices")
        for choice in choices if isinstance(choices, list) else []:
            reason = choice.get("finish_reason") if isinstance(choice, dict) else None
            finished = finished or reason not in (None, "", "null")  # ai00 writes "null" while it streams
    return finished and counted


def _json_object(data: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(data)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


SEE_OTHER_HOPS = 32
"""Same-origin 303 See Other replies followed for one request (each a GET within the read timeout): a result URL
that still answers 303 after these is the reply."""
STALE_RESENDS = 8
"""Requests sent again at once, per call, after a pooled connection turned out closed before it took them: each such
connection is dropped, so this bounds only a pool of many stale ones."""


STALE_CLOSE_SECONDS = 0.05
"""How soon after a request went out on a pooled connection a close with no reply is the server's close of an idle
connection racing it (its FIN was on the way: one round trip), not a request taken and then dropped (a worker
killed mid-generation, which may have been billed and is counted so)."""


class _Sent:
    """One attempt's request, as aiohttp's tracing saw it: whether it went out on a kept-alive connection from the
    pool, when its headers were written, and whether a reply's status line came back."""

    __slots__ = ("answered", "headers_at", "on_pooled_connection")

    def __init__(self) -> None:
        self.on_pooled_connection = False
        self.headers_at: float | None = None
        self.answered = False

    def unread(self, exc: aiohttp.ClientError) -> bool:
        """Whether the request failed on a pooled connection the server had closed before reading it: writing it
        failed (the transport was closing), or the close came within STALE_CLOSE_SECONDS of it, with no reply."""
        if not self.on_pooled_connection or self.answered:
            return False
        if _failed_to_write(exc):
            return True
        quick = self.headers_at is not None and time.monotonic() - self.headers_at < STALE_CLOSE_SECONDS
        return quick and _closed(exc)


async def _on_pooled_connection(session: Any, context: Any, params: Any) -> None:
    if isinstance(context.trace_request_ctx, _Sent):
        context.trace_request_ctx.on_pooled_connection = True


async def _on_headers_sent(session: Any, context: Any, params: Any) -> None:
    if isinstance(context.trace_request_ctx, _Sent):
        context.trace_request_ctx.headers_at = time.monotonic()


_POOLED_CONNECTIONS = aiohttp.TraceConfig()
_POOLED_CONNECTIONS.on_connection_reuseconn.append(_on_pooled_connection)
_POOLED_CONNECTIONS.on_request_headers_sent.append(_on_headers_sent)


def _failed_to_write(exc: aiohttp.ClientError) -> bool:
    """The request could not be written whole: aiohttp's "Can not write request body", caused by a write to a
    transport that was closing (ClientConnectionResetError)."""
    cause: BaseException | None = exc.__cause__
    while cause is not None:
        if isinstance(cause, aiohttp.ClientConnectionResetError):
            return True
        cause = cause.__cause__
    return False


def _closed(exc: aiohttp.ClientError) -> bool:
    """The connection was closed or reset under the request: aiohttp's ServerDisconnectedError, a reset or a broken
    pipe."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, aiohttp.ServerDisconnectedError | ConnectionResetError | BrokenPipeError):
            return True
        if isinstance(cause, OSError) and cause.errno in (errno.ECONNRESET, errno.EPIPE):
            return True
        cause = cause.__cause__
    return False


_BROKEN_OFF = (aiohttp.ClientPayloadError, aiohttp.ServerDisconnectedError)
"""Failures after the request was sent: the reply broke off, or the server closed the connection without one."""
GATEWAY_TIMEOUTS = frozenset({504, 524})
"""A gateway's "I stopped waiting" (Cloudflare's 524 too): the model behind it may have run, and billed, to the end;
counted like a read timeout (possibly billed, re-sent only when the budget holds another request)."""


def _after_sending(exc: aiohttp.ClientError) -> bool:
    """Whether a failure came after the request may have reached the server: the reply broke off or could not be
    parsed (a proxy sending both Transfer-Encoding and Content-Length), or the connection was reset or closed while
    it was being sent or answered (only a failure to connect is before)."""
    if isinstance(exc, (*_BROKEN_OFF, aiohttp.ClientResponseError)):  # a reply came, broken or unreadable
        return True
    return isinstance(exc, aiohttp.ClientOSError) and not isinstance(exc, aiohttp.ClientConnectorError)


def _undecodable(exc: aiohttp.ClientError) -> str | None:
    """aiohttp's words when a reply's body could not be decoded as its Content-Encoding says (a proxy that
    decompressed the body and kept the header; `br` or `zstd` without the library that decodes it), else None."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ContentEncodingError):
            return cause.message
        cause = cause.__cause__
    return None


def out_of_quota(reply: HTTPReply) -> bool:
    """A 429 that is not a rate limit but an account without credit (OpenAI's `insufficient_quota`): no retry."""
    return reply.status == 429 and b"insufficient_quota" in reply.body


_ALONE_OVER_THE_ALLOWANCE = re.compile(rb"\bLimit:? \d+, Requested:? \d+", re.IGNORECASE)


def over_the_allowance(reply: HTTPReply) -> bool:
    """A 413 or 429 saying the request by itself is larger than a token allowance per minute or day (OpenAI's 429
    and Groq's 413 "Request too large for gpt-4o ... on tokens per min (TPM): Limit 30000, Requested 36278"): no
    passing rate limit, so no retry (waiting cannot cure it, only a smaller request). A passing limit names the
    tokens already used between the two ("Limit 30000, Used 29000, Requested 2000")."""
    return reply.status in (413, 429) and _ALONE_OVER_THE_ALLOWANCE.search(reply.body) is not None


_CONNECT_TIMEOUT: tuple[type[BaseException], ...] = tuple(
    kind for kind in [getattr(aiohttp, "ConnectionTimeoutError", None)] if isinstance(kind, type)
)
"""aiohttp's "no connection within the connect timeout" (3.10 on). pyproject allows 3.9, which has no such class:
naming it in an `except` turned every transport failure into an AttributeError there."""


def _no_connection(exc: TimeoutError) -> bool:
    """A timeout while connecting, not while waiting for the reply: aiohttp 3.10's ConnectionTimeoutError, or 3.9's
    ServerTimeoutError with its "Connection timeout to host ..." text."""
    if isinstance(exc, _CONNECT_TIMEOUT):
        return True
    return isinstance(exc, aiohttp.ServerTimeoutError) and str(exc).startswith("Connection timeout")


_AT_THE_PROXY = (aiohttp.ClientProxyConnectionError, aiohttp.ClientHttpProxyError)
"""Failures in reaching the environment's proxy, or refused by it (an https tunnel's CONNECT answered 407)."""


def _at_the_proxy(exc: aiohttp.ClientError, proxy: Proxy | None) -> bool:
    """Whether the failure was in reaching the environment's proxy: aiohttp's proxy errors, or a connection to the
    proxy's own host that failed (a proxy host name that does not resolve is a ClientConnectorDNSError, which
    names no proxy: it was blamed on the base URL)."""
    if proxy is None:
        return False
    if isinstance(exc, _AT_THE_PROXY):
        return True
    host = urllib.parse.urlsplit(proxy.url).hostname
    return isinstance(exc, aiohttp.ClientConnectorError) and host is not None and exc.host == host


def _describe(exc: aiohttp.ClientError) -> str:
    """What the error says, in the words of the layer that failed. A connection that was never made is named by
    host, port and the OS's reason (`127.0.0.1:9: Connection refused`), not aiohttp's text, which names an
    `ssl:default` context even for an http:// URL and repeats the address twice."""
    if isinstance(exc, aiohttp.ClientConnectorError) and not isinstance(exc, aiohttp.ClientSSLError):
        reason = _os_reason(exc.os_error)
        if reason:
            return f"{exc.host}:{exc.port}: {reason}"
    text = str(exc) or type(exc).__name__
    cause = exc.__cause__ or exc.__context__
    if cause is not None and str(cause) and str(cause) not in text:
        text += f" ({cause})"
    return text


def _os_reason(error: OSError) -> str:
    """An OSError as a reader says it: a host name that does not resolve, else the errno's own words
    (`Connection refused`, `Network is unreachable`); empty when it carries neither."""
    if isinstance(error, socket.gaierror):
        return f"the host name does not resolve ({error.strerror or error})"
    if error.errno is not None and error.errno > 0:
        return os.strerror(error.errno)
    return str(error)
