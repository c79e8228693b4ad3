"""Request bodies: read under a size limit, decoded to JSON off the event loop, checked for what JSON allows but
nothing downstream can carry (non-finite numbers, very deep nesting). A UTF-8 BOM before the JSON is dropped, and
a lone surrogate escape in a string ("\\ud83d", half an emoji) becomes U+FFFD: rlmx's rule for text
(`frames.valid_strings`), never an error.

Reading never holds more than the limit: a declared Content-Length over it is refused before any byte is read,
and a chunked body is refused as soon as it passes the limit. Bodies of requests not running yet share one
budget, booked as their bytes arrive (`WaitingBytes`). A body must arrive within the server's body timeout (a 408
otherwise: a slow or stalled upload holds its connection for that long, never more). Decoding a large body
runs on a worker thread, so `/health` and other clients' streams keep flowing while it is parsed.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import json
import math
import re
import zlib
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from starlette.types import Message, Receive

from rlmx.deadline import time_limit
from rlmx.sandbox.frames import valid_strings
from rlmx.server.openai_compat import EXAMPLE, RequestError, shutting_down

DEFAULT_MAX_REQUEST_BYTES = 32 * 1024 * 1024
MAX_NESTING = 128
"""Deepest JSON nesting accepted. Deeper values break recursive code later (traces, the sandbox's transport)."""
THREAD_THRESHOLD = 256 * 1024
"""Bodies at least this big (bytes) are decoded on a worker thread; smaller ones cost less than the hop."""
WAITING_BYTES = 8 * 1024 * 1024
"""The most body bytes that requests not yet running may hold together, server-wide, counting bodies over
THREAD_THRESHOLD bytes (held, read and mapped, a body costs about three times its size): so that a queue of long
documents holds little memory however long it is, the rest of a body is read only while there is room."""
DRAIN_BYTES = 64 * 1024 * 1024
"""The least a refused request's unread body may be read and dropped (twice --max-request-bytes when more)."""
DRAIN_SECONDS = 10.0
"""The longest a refused request's unread body is read and dropped so that its client sees the refusal."""
DRAIN_QUIET = 0.5
"""Seconds without a byte after which that draining stops."""
LOOK_AHEAD = 64 * 1024
"""Body bytes read ahead, unbooked, while a request waits, to see its client leave (`Inbox.leaving`)."""
DEFAULT_BODY_TIMEOUT = 60.0
"""Seconds a request body may take to arrive whole (counted while the server reads it)."""

T = TypeVar("T")

_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_CONTAINERS = frozenset({dict, list})  # what json.loads makes; exact types are cheaper to test than isinstance
_NUMBER_SHAPE = bytes(
    ord("0") if char in b"0123456789" else ord("e") if char in b"eE" else char if char == ord("+") else ord(" ")
    for char in range(256)
)
"""A byte table that keeps only the shape of numbers: digits become 0, e/E become e, + stays, all else a space."""


class ClientLeft(Exception):
    """The client disconnected before its body was read whole."""


class Inbox:
    """A request's ASGI `receive`, able to read ahead to see a client leave (`leaving`) while its request waits: for
    room to read the rest of its body, for its body to be decoded and mapped, for a run slot, for its run's answer.
    So a client that gives up at any of those steps is seen (`left`, `gone`) and its place freed. Use it as the
    request's `receive` afterwards: what was read ahead comes first. A receive under way when a read-ahead is
    cancelled is kept for the next call, and its message (a disconnect above all) goes to exactly one reader, so no
    message is lost or read twice. This is the one place that knows a client has gone: every step asks it."""

    def __init__(self, receive: Receive, *, expects_continue: bool = False) -> None:
        self._receive = receive
        self.expects_continue = expects_continue
        """The client sent `Expect: 100-continue`: it sends its body only once asked (the first receive asks)."""
        self.received = False
        """Whether any of the body (or the client's leaving) was received."""
        self._kept: deque[Message] = deque()
        self._kept_bytes = 0
        self._pending: asyncio.Future[Message] | None = None
        self._gone = asyncio.Event()
        self.ended = False
        """Whether the body's last message has arrived (read ahead, or taken)."""
        self.left = False
        """Whether the client's `http.disconnect` was taken (see `gone`, which also looks at a receive under way)."""

    @property
    def kept(self) -> int:
        """Body bytes read ahead and not yet taken."""
        return self._kept_bytes

    @property
    def gone(self) -> bool:
        """Whether the client is known to have left: its disconnect taken, or already in the answer of a read-ahead
        that nobody has taken yet (a receive under way between two waits). Never waits."""
        pending = self._pending
        if (
            not self.left
            and pending is not None
            and pending.done()
            and not pending.cancelled()
            and pending.exception() is None
            and pending.result()["type"] == "http.disconnect"
        ):
            self._pending = None
            self._seen(pending.result())
        return self.left

    async def leaving(self) -> None:
        """Return once the client leaves. Reads ahead at most LOOK_AHEAD bytes of the body (and one message) to see
        it: a client that leaves with little of its body unsent is seen at once, one whose unread body fills its
        socket once that body is read."""
        while not self.gone and (self.ended or self._kept_bytes < LOOK_AHEAD):
            message = await self._next()
            if message is not None and message["type"] != "http.disconnect":
                self._kept.append(message)
                self._kept_bytes += len(message.get("body", b""))
        await self._gone.wait()  # set once any reader sees the client leave; else only cancellation ends this wait

    async def unless_left(self, work: Awaitable[T]) -> T:
        """`work`'s result, unless the client leaves before it is done: then ClientLeft, and `work` is cancelled (a
        coroutine not begun never begins; a worker thread's result goes nowhere). A result that comes as the client
        leaves is dropped too: nobody is there to take it. The cancellation of the caller cancels `work`."""
        doing = asyncio.ensure_future(work)
        watching = asyncio.ensure_future(self.leaving())
        try:
            if not self.gone:
                await asyncio.wait({doing, watching}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (doing, watching):
                task.cancel()
            await asyncio.gather(doing, watching, return_exceptions=True)
        if self.gone or doing.cancelled():
            raise ClientLeft
        return doing.result()

    async def _next(self) -> Message | None:
        """The client's next message, or None when another reader (a read-ahead and a receive can wait together)
        took it first."""
        pending = self._pending
        if pending is None:
            pending = self._pending = asyncio.ensure_future(self._receive())
        try:
            message = await asyncio.shield(pending)
        except asyncio.CancelledError:
            if pending.cancelled() and self._pending is pending:
                self._pending = None
            raise  # a receive still under way is kept in `_pending` for the next reader
        except BaseException:
            if self._pending is pending:
                self._pending = None
            raise
        if self._pending is not pending:
            return None
        self._pending = None
        self._seen(message)
        return message

    def _seen(self, message: Message) -> None:
        self.received = True
        if message["type"] == "http.disconnect":
            self.left = True
            self._gone.set()
        elif not message.get("more_body", False):
            self.ended = True

    async def __call__(self) -> Message:
        while True:
            if self._kept:
                message = self._kept.popleft()
                self._kept_bytes -= len(message.get("body", b""))
                return message
            if self.gone:
                return {"type": "http.disconnect"}
            taken = await self._next()
            if taken is not None:
                return taken

    async def drain(self, most: int, seconds: float, stop: Callable[[], bool] = lambda: False) -> None:
        """Read and drop the rest of the body of a request refused before it was read (at most `most` bytes, for at
        most `seconds`), so that the refusal reaches the client: a server that closes the connection with bytes
        unread resets it (RFC 9112 9.6), and a client still sending (httpx's async transport, openai-node) then
        sees a connection error instead of the 413 or 429. A client that sends nothing for DRAIN_QUIET seconds is
        not waited for (it stalled, or waits for the answer first), nor one that sent `Expect: 100-continue` and
        nothing yet (asking would invite the body it waits to be asked for: RFC 9110 10.1.1); draining ends too once
        `stop()` (the server is shutting down)."""
        if self.expects_continue and not self.received:
            return
        dropped = 0
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds
        with contextlib.suppress(TimeoutError):
            while not self.ended and not self.left and dropped < most and not stop():
                async with time_limit(min(DRAIN_QUIET, end - loop.time())):
                    message = await self()
                dropped += len(message.get("body", b""))


_NOT_STARTED = "this request was waiting for room to read its body and did not start"


class WaitingBytes:
    """The one server-wide budget of body bytes held by requests that are not running yet (see WAITING_BYTES).
    Bytes are booked as they arrive (`Claim.add`) by big bodies (declared over THREAD_THRESHOLD bytes, or, of unknown
    size, once past them, counted whole): a big body's reader asks for more only while the budget has room
    (`Claim.may_read`, else it waits in `Claim.room`, leaving the rest of its body unread in the client's socket),
    and its bytes stay booked until its run starts or it is refused. A stalled upload so holds only what it sent.

    So that readers cannot all stall half-way in a full budget, one reader at a time may read past it (the
    "overdraft": the first in line, and only while no body read whole holds room: those leave as their runs start).
    The budget therefore holds at most its cap, plus one body, plus one unbooked message per reader (what it got
    before it had to wait). Waiters are served in order, so a big body is not passed for ever by small ones. The
    budget is apart from the run slots: reading a body never holds one."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.held = 0
        self.whole = 0
        """Bytes held by bodies read whole (they wait for a run slot)."""
        self.closed = False
        """Set by `close`: the server is shutting down, and no body waits for room any more."""
        self._over: Claim | None = None
        self._waiters: deque[tuple[Claim, asyncio.Future[None]]] = deque()

    @property
    def queued(self) -> int:
        """Requests waiting for room to read the rest of their bodies."""
        return len(self._waiters)

    def claim(self) -> Claim:
        """A new body's share of the budget (none booked yet)."""
        return Claim(self)

    def close(self) -> None:
        """The server is shutting down: every request waiting for room gets its 503 now, and so does every later one
        (as `Admission.close` does for those waiting for a run slot)."""
        self.closed = True
        while self._waiters:
            _, waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(shutting_down(_NOT_STARTED))

    def _may_read(self, claim: Claim) -> bool:
        return claim is self._over or self.held < self.cap

    def _wake(self) -> None:
        while self._waiters:
            claim, waiter = self._waiters[0]
            if not waiter.done():
                if not self._may_read(claim):
                    if self._over is not None or self.whole:
                        return
                    self._over = claim  # every holder is part-read: the first in line may read past the cap
                waiter.set_result(None)
            self._waiters.popleft()


class Claim:
    """One body's bytes in a WaitingBytes: booked as they arrive (`add`), marked whole when the body is read
    (`finish`), given back all at once by a call (once; later calls do nothing)."""

    def __init__(self, budget: WaitingBytes) -> None:
        self._budget = budget
        self.size = 0
        self.whole = False
        self.waited = 0.0
        """Seconds this body has waited for room so far (its --queue-timeout counts them all)."""

    def add(self, size: int) -> None:
        """Book `size` more bytes, already read or decoded (negative: bytes given back, as a decoded body's compressed
        form is dropped)."""
        self.size += size
        self._budget.held += size
        if self.whole:
            self._budget.whole += size

    def may_read(self) -> bool:
        """Whether the body's reader may ask for more now, without waiting in line."""
        budget = self._budget
        return self is budget._over or (not budget._waiters and budget.held < budget.cap)

    async def room(self) -> None:
        """Wait in line until this body's reader may ask for more (cancel the wait to give up); the 503 of a
        shutdown."""
        budget = self._budget
        if budget.closed:
            raise shutting_down(_NOT_STARTED)
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (self, waiter)
        budget._waiters.append(entry)
        budget._wake()
        try:
            await waiter
        except BaseException:
            with contextlib.suppress(ValueError):
                budget._waiters.remove(entry)
            budget._wake()  # a body leaving the head of the line may let the next ones in
            raise

    def finish(self) -> None:
        """The body is read whole: its bytes wait for its run, and it needs the overdraft no more."""
        budget = self._budget
        self.whole = True
        budget.whole += self.size
        if budget._over is self:
            budget._over = None
        budget._wake()

    def __call__(self) -> None:
        budget = self._budget
        size, self.size = self.size, 0
        budget.held -= size
        if self.whole:
            budget.whole -= size
        if budget._over is self:
            budget._over = None
        budget._wake()


def too_large(limit: int, size: int | None = None, *, decoded: str | None = None) -> RequestError:
    """The 413 of a body over `limit` bytes: `size` when its Content-Length said so; `decoded`, the coding it was
    sent in when its decoded bytes passed the limit."""
    got = f" ({size:,} bytes)" if size is not None else ""
    if decoded is not None:
        got = f" once its {decoded} Content-Encoding is decoded (the limit counts the decoded bytes)"
    return RequestError(
        f"the request body is larger than this server's limit of {limit:,} bytes{got}: send a smaller context, "
        "or start the server with a higher --max-request-bytes",
        code="request_too_large",
        status=413,
    )


def check_declared_size(headers: dict[str, str], limit: int) -> None:
    """Refuse a body whose Content-Length is over `limit` before reading any of it."""
    declared = headers.get("content-length")
    if declared is None:
        return
    try:
        size = int(declared)
    except ValueError:
        raise RequestError(f"Content-Length {declared!r} is not a number", code="invalid_request") from None
    if size > limit:
        raise too_large(limit, size)


@contextlib.asynccontextmanager
async def deadline(seconds: float, timeout: float) -> AsyncIterator[None]:
    """A 408 RequestError when the body read inside has not arrived within `seconds` (what is left of the server's
    body `timeout`, which the message names)."""
    try:
        async with time_limit(max(seconds, 0.0)):
            yield
    except TimeoutError:
        raise RequestError(
            f"the request body did not arrive within {timeout:g} s (--body-timeout): send the whole body at once, "
            "or start the server with a higher --body-timeout for very slow uploads",
            code="request_timeout",
            status=408,
        ) from None


RoomWait = Callable[[Claim], Awaitable[None]]
"""Waits until a body's reader may ask for more (`Claim.room`, with the server's queue rules around it)."""


async def read_booked(
    inbox: Receive,
    claim: Claim,
    room: RoomWait,
    *,
    declared: int | None,
    limit: int,
    timeout: float,
    finish: bool = True,
) -> bytes:
    """The whole body, its bytes booked in `claim` as they arrive (and `claim.finish()`ed, unless `finish=False`:
    its decoding, `decode_booked`, is still to come) when it is big: declared over THREAD_THRESHOLD bytes, or, of
    unknown size, once past them (all it read so far, then the rest). A big body is read only while the budget has
    room (else `room(claim)` first). The body must arrive within `timeout` seconds, counted while waiting for the
    client only: a 408 RequestError past it, a 413 once more than `limit` bytes arrive; ClientLeft if the client
    goes. `room`'s refusals pass through."""
    loop = asyncio.get_running_loop()
    big = declared is not None and declared > THREAD_THRESHOLD
    chunks: list[bytes] = []
    size = 0
    left = timeout
    while True:
        if (big or claim.size) and not claim.may_read():
            await room(claim)
        started = loop.time()
        async with deadline(left, timeout):
            message = await inbox()
        left -= loop.time() - started
        if message["type"] == "http.disconnect":
            raise ClientLeft
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        chunks.append(chunk)
        if big or size > THREAD_THRESHOLD:
            claim.add(size - claim.size)
        if not message.get("more_body", False):
            if finish:
                claim.finish()
            return b"".join(chunks)


DECODED_CODINGS = ("gzip", "x-gzip", "deflate")
"""The Content-Encoding codings a request body may come in (besides `identity`, which changes nothing)."""
MAX_CODINGS = 4
"""The most codings one body may be stacked in; each layer is bounded by --max-request-bytes, this bounds the work."""


def content_codings(header: str | None) -> list[str]:
    """The codings a Content-Encoding header lists, lower case, in the order they were applied, `identity` left out
    ([] for none). A 415 RequestError for one this server does not decode (`br`, `zstd`, `compress`), naming it and
    what it takes, before any of the body is read (RFC 9110 §15.5.16): the body is not read as if it were plain."""
    if header is None:
        return []
    codings = [coding.strip().lower() for coding in header.split(",")]
    codings = [coding for coding in codings if coding and coding != "identity"]
    unknown = [coding for coding in codings if coding not in DECODED_CODINGS]
    if unknown or len(codings) > MAX_CODINGS:
        what = f"the coding {unknown[0][:40]!r}" if unknown else f"{len(codings)} codings"
        raise RequestError(
            f"Content-Encoding {header[:100]!r}: this server does not decode {what}: send the body uncompressed, or "
            f"compressed once with gzip or deflate (`Content-Encoding: gzip`)",
            param="Content-Encoding",
            code="unsupported_content_encoding",
            status=415,
        )
    return codings


DECODE_STEP = 1024 * 1024
"""The most decoded bytes one step of a `Decoding` makes (a few milliseconds of inflating): between two steps they
are booked in the waiting bodies' budget, and the next step waits for room as a plain body's next read does."""


def decoded(body: bytes, codings: list[str], limit: int) -> bytes:
    """`body` with its content `codings` undone, all at once (see `Decoding`). CPU-bound: call it on a worker
    thread, or use `decode_booked`, which books the decoded bytes as they are made."""
    work = Decoding(body, codings, limit)
    while not work.done:
        work.step()
    return work.result


class Decoding:
    """A body's content `codings` (`content_codings`) undone, the last applied first, a step at a time (`step`, at
    most DECODE_STEP decoded bytes), so that the bytes it makes can be booked, and room waited for, as they are
    made. Each layer is stopped once past `limit` bytes (--max-request-bytes, counted after decoding): a 413
    RequestError then, so that a small body that inflates to gigabytes (a zip bomb) holds at most `limit` + 1 bytes.
    A 400 RequestError when the bytes are not what the coding says. gzip is read as `gzip -d` and Python's
    `gzip.decompress` read it: every member of a multi-member file, zero bytes after a member skipped (padding, as
    tape and block devices add); deflate as browsers read it (zlib-wrapped, RFC 9110 §8.4.1.2, or raw deflate,
    which some clients send)."""

    def __init__(self, body: bytes, codings: list[str], limit: int) -> None:
        self._layers = list(reversed(codings))
        self._limit = limit
        self._data = body
        self._parts: list[bytes] = []
        self._size = 0
        self.made = 0
        """Decoded bytes made so far, every layer's counted (an inner layer's input is held until it is done)."""
        self.result = body
        """The decoded body, once `done`."""
        self._inflater = self._first_inflater()

    @property
    def done(self) -> bool:
        return not self._layers

    def _first_inflater(self) -> Any:
        if not self._layers:
            return None
        body = self._data
        raw_deflate = self._layers[0] == "deflate" and not (
            len(body) >= 2 and body[0] & 0x0F == 8 and (body[0] << 8 | body[1]) % 31 == 0
        )
        self._wbits = 31 if self._layers[0] != "deflate" else -15 if raw_deflate else 15
        return zlib.decompressobj(self._wbits)

    def step(self) -> None:
        """Make at most DECODE_STEP more decoded bytes (a layer's end may make none). CPU-bound: a few ms."""
        coding = self._layers[0]
        try:
            if self._inflater.eof:
                self._next_member(coding)
                return
            most = min(DECODE_STEP, self._limit + 1 - self._size)
            piece = self._inflater.decompress(self._data, most)
            self._data = self._inflater.unconsumed_tail
            self._parts.append(piece)
            self._size += len(piece)
            self.made += len(piece)
            if self._size > self._limit:
                raise too_large(self._limit, decoded=coding)
            if not self._inflater.eof and not self._data and len(piece) < most:
                raise zlib.error("the data ends before its end of stream")
        except zlib.error as exc:
            raise RequestError(
                f"the request body is not valid {coding} data ({exc}), as its Content-Encoding says: send it "
                f"compressed with {coding}, or uncompressed without Content-Encoding",
                param="Content-Encoding",
                code="invalid_content_encoding",
            ) from None

    def _next_member(self, coding: str) -> None:
        """The stream just ended: gzip's next member follows (zero padding skipped, as `gzip.decompress` does), or
        the layer is done (a deflate stream stands alone: bytes after it are a 400)."""
        data = self._inflater.unused_data
        if self._wbits == 31:
            data = data.lstrip(b"\0")
            if data:
                self._data = data
                self._inflater = zlib.decompressobj(self._wbits)
                return
        if data:
            raise RequestError(
                f"the request body has {len(data):,} bytes after its {coding} stream's end: send one {coding} stream",
                param="Content-Encoding",
                code="invalid_content_encoding",
            )
        self._data = b"".join(self._parts)
        self._parts, self._size = [], 0
        self._layers.pop(0)
        self.result = self._data
        self._inflater = self._first_inflater()


async def decode_booked(
    body: bytes, codings: list[str], inbox: Inbox | None, claim: Claim, room: RoomWait, *, limit: int
) -> bytes:
    """`body` with its content `codings` undone on worker threads (`Decoding`, a step at a time), its decoded bytes
    booked in `claim` as they are made, as a body's bytes are as they arrive (`read_booked`, called with
    `finish=False`): once they pass THREAD_THRESHOLD, and the next step waits for room (`room(claim)`) while the
    budget has none, so a small compressed body holds no more room than the plain body it stands for. Once done,
    `claim` holds the decoded body's bytes (none when it is under THREAD_THRESHOLD: a small body is not booked) and
    is `finish()`ed. Its 400, its 413, `room`'s refusals, and ClientLeft when the client leaves (seen through
    `inbox`, when given) pass through. `rlmx serve` and `rlmx mcp --http` decode bodies so."""
    work = Decoding(body, codings, limit)
    booked = claim.size  # the compressed body's bytes, when it was big
    while not work.done:
        if claim.size and not claim.may_read():
            await room(claim)
        stepping = asyncio.to_thread(work.step)
        await (stepping if inbox is None else inbox.unless_left(stepping))
        if work.made > THREAD_THRESHOLD:
            claim.add(booked + work.made - claim.size)
    plain = work.result
    claim.add((len(plain) if len(plain) > THREAD_THRESHOLD else 0) - claim.size)  # the compressed forms are dropped
    claim.finish()
    return plain


async def decode(body: bytes) -> object:
    """The JSON value of `body`, checked (see `check`); big bodies are decoded on a worker thread."""
    if len(body) >= THREAD_THRESHOLD:
        return await asyncio.to_thread(_decode, body)
    return _decode(body)


def _decode(body: bytes) -> object:
    try:
        value = json.loads(_utf8(body), parse_constant=_no_constant)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RequestError(
            f"the request body is not valid JSON ({exc}): send a JSON object like {EXAMPLE}", code="invalid_json"
        ) from None
    except RecursionError:
        raise _too_deep() from None
    except ValueError as exc:  # an integer longer than Python converts (sys.get_int_max_str_digits)
        raise RequestError(
            f"the request body holds a number json cannot read ({exc}): send very long numbers as strings",
            code="invalid_number",
        ) from None
    check(value, numbers=_may_overflow(body))
    return valid_strings(value) if _may_hold_surrogates(body) else value  # nesting was bounded by check()


def _utf8(body: bytes) -> str:
    """`body.decode()`, slice by slice so that the GIL is let go between slices (UnicodeDecodeError as usual). A
    BOM is dropped: some clients (PowerShell, .NET) start a UTF-8 body with one."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    step = 256 * 1024
    try:
        parts = [decoder.decode(body[start : start + step]) for start in range(0, len(body), step)]
        parts.append(decoder.decode(b"", final=True))
    except UnicodeDecodeError:
        # Its position counts from the slice (and the BOM's end): the whole body read once names the byte where a
        # client looks for it. Only when there is a bad byte: the GIL is held for this one pass.
        body.decode("utf-8")
        raise
    return "".join(parts)


def _may_hold_surrogates(body: bytes) -> bool:
    """Whether a string in `body` may hold a lone surrogate: only a \\uD8xx-\\uDFxx escape makes one (raw UTF-8
    cannot)."""
    return _any_slice(body, lambda part: _SURROGATE_ESCAPE.search(part) is not None, overlap=6)


def _may_overflow(body: bytes) -> bool:
    """Whether a number in `body` may overflow a float: that needs an exponent of 3+ digits or 300+ digits in a
    row. Checked on the numbers' shape (a translate, then substring searches)."""

    def test(part: bytes) -> bool:
        shape = part.translate(_NUMBER_SHAPE)
        return b"e000" in shape or b"e+000" in shape or b"0" * 300 in shape

    return _any_slice(body, test, overlap=300)


def _any_slice(body: bytes, test: Callable[[bytes], bool], *, overlap: int) -> bool:
    """`test` on 256 KiB slices of `body` (overlapping by `overlap` bytes): each C call is short, so the thread
    doing this lets go of the GIL between slices and the event loop keeps running."""
    step = 256 * 1024
    return any(test(body[start : start + step + overlap]) for start in range(0, len(body), step))


def _no_constant(name: str) -> Any:
    raise RequestError(
        f"the request body holds {name}, which is not a JSON number: send finite numbers (or strings)",
        code="invalid_json",
    )


def _too_deep() -> RequestError:
    return RequestError(
        f"the request body nests JSON more than {MAX_NESTING} levels deep: flatten the context, or send it as a "
        "string and parse it in the REPL",
        code="invalid_json",
    )


def check(value: object, *, numbers: bool = True) -> None:
    """Refuse what JSON allows but rlmx cannot carry: nesting past MAX_NESTING and numbers that overflow to
    infinity (1e400). The number scan is skipped when the raw body showed none could be there (`numbers=False`:
    no big exponent or long digit run), so a big ordinary body costs one pass over its containers. The message
    names the top-level field (or message) where the bad value was found."""
    _check_nesting(value)
    if not numbers:
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "messages" and isinstance(item, list):
                for index, message in enumerate(item):
                    _check_numbers(message, f"messages[{index}]")
            else:
                _check_numbers(item, str(key))
    else:
        _check_numbers(value, "the request body")


def _check_nesting(value: object) -> None:
    """Level by level over containers only: cheap for wide values, and never recursive."""
    level: list[Any] = [value] if isinstance(value, dict | list) else []
    depth = 0
    while level:
        depth += 1
        if depth > MAX_NESTING:
            raise _too_deep()
        below: list[Any] = []
        for item in level:
            children = item.values() if isinstance(item, dict) else item
            below.extend([child for child in children if type(child) in _CONTAINERS])
        level = below


def _check_numbers(value: object, where: str) -> None:
    stack: list[object] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, float):
            if not math.isfinite(item):
                raise RequestError(
                    f"{where} holds a number too large for a 64-bit float (it overflows to infinity): send it "
                    "as a string, or a smaller number",
                    param=where,
                    code="invalid_number",
                )
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
