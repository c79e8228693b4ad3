"""`rlmx serve`: a big `file` part is decoded without holding the event loop (audit 78, server v01).

Its base64 was stripped of whitespace by one regex call and decoded by one binascii call over the whole string:
C calls that hold the GIL for seconds, so the file readers' own threads kept nobody else going, and /health and
every stream waited. It is now done slice by slice. The check below is about ordering, not speed: the event loop
must get turns all through the decode, not only before and after it.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import random
import re
import threading
import time
from typing import Any

import pytest

from rlmx.server import files
from rlmx.server.files import FileRefused, read_file_part


def _part(data: str, name: str = "log.txt") -> dict[str, Any]:
    return {"type": "file", "file": {"filename": name, "file_data": data}}


async def test_the_event_loop_runs_all_through_a_big_file_parts_decode() -> None:
    text = b"".join(b"2024-01-01 12:00:%02d INFO user%03d did a thing\n" % (i % 60, i % 997) for i in range(300_000))
    part = _part("data:text/plain;base64," + base64.b64encode(text).decode())
    # A decode holding the GIL for a whole quarter leaves that quarter blank every time; a machine busy with other
    # work can starve the loop's thread for one quarter now and then, so a quarter blank in each of 3 decodes fails.
    blanks = []
    for _ in range(3):
        blank, seconds = await _blank_quarters(part, text)
        if not blank:
            return
        blanks.append((blank, round(seconds, 2)))
    pytest.fail(f"the event loop did not run in these quarters of each decode (quarters, seconds): {blanks}")


async def _blank_quarters(part: dict[str, Any], text: bytes) -> tuple[list[int], float]:
    """The quarters of one decode of `part` (on a thread, as a file reader does) in which the event loop never ran."""
    ticks: list[float] = []
    span: list[float] = []
    done = threading.Event()

    def read() -> Any:
        span.append(time.perf_counter())
        try:
            return read_file_part(part)  # as a file reader thread does
        finally:
            span.append(time.perf_counter())
            done.set()

    async def tick() -> None:
        while not done.is_set():
            ticks.append(time.perf_counter())
            await asyncio.sleep(0.001)

    ticker = asyncio.ensure_future(tick())
    name, document = await asyncio.to_thread(read)
    await ticker
    assert name == "log.txt" and document.value == text.decode()
    start, end = span
    quarters = [start + (end - start) * k / 4 for k in range(5)]
    return [k for k in range(4) if not any(quarters[k] <= at < quarters[k + 1] for at in ticks)], end - start


_SPACE = re.compile(rb"[\t\n\f\r ]+")


def _whatwg(encoded: bytes) -> bytes | None:
    """WHATWG forgiving-base64, as the old one-piece code read it (None: refused)."""
    compact = _SPACE.sub(b"", encoded)
    if len(compact) % 4 == 0:
        compact = compact.removesuffix(b"=").removesuffix(b"=")
    if len(compact) % 4 == 1:
        return None
    try:
        return base64.b64decode(compact + b"=" * (-len(compact) % 4), validate=True)
    except binascii.Error:
        return None


@pytest.mark.parametrize("slice_size", [4, 8, 1024 * 1024])
def test_decoding_by_slices_reads_as_one_piece(monkeypatch: pytest.MonkeyPatch, slice_size: int) -> None:
    monkeypatch.setattr(files, "_SLICE", slice_size, raising=False)
    rng = random.Random(78)
    samples = [
        b"QQ==",
        b"QQ=",
        b"QQ",
        b"QUJDRA====",
        b"QQ==QQ==",
        b"=QQ=",
        b"Q",
        b"",
        b"QUJD\nQUJD\r\n",
        b"QU JD RA ==",
    ]
    for _ in range(3000):
        raw = bytes(rng.randrange(256) for _ in range(rng.randrange(40)))
        encoded = base64.b64encode(raw)[: rng.randrange(70)]
        cut = rng.randrange(len(encoded) + 1)
        noise = rng.choice([b"", b" ", b"\n", b"=", b"==", b"!", b"A"])
        samples.append(encoded[:cut] + noise + encoded[cut:] + rng.choice([b"", b"=", b"\n"]))
    for sample in samples:
        try:
            got: bytes | None = files._forgiving_base64(sample)
        except (binascii.Error, ValueError):
            got = None
        assert got == _whatwg(sample), sample


def test_a_percent_encoded_or_wrapped_file_part_is_still_read() -> None:
    text = "line one\nline two ünïcode\n" * 50
    wrapped = base64.encodebytes(text.encode()).decode()  # 76-character lines
    assert read_file_part(_part("data:text/plain;base64," + wrapped))[1].value == text
    escaped = base64.b64encode(text.encode()).decode().replace("+", "%2B").replace("/", "%2F")
    assert read_file_part(_part("data:;BASE64," + escaped))[1].value == text


@pytest.mark.parametrize(
    "data", ["data:text/plain;base64,QUJD\u00e9", "QUJD\u2028RA==", "data:text/plain;base64,QQ==QQ=="]
)
def test_base64_that_is_not_is_a_clear_refusal(data: str) -> None:
    with pytest.raises(FileRefused, match="not valid base64"):
        read_file_part(_part(data))
