"""A PDF whose page content unpacks to far more than its file (one stream every page shares, a form drawn again
and again, a deflate bomb) is refused once the content pypdf would parse passes a bound, wherever it is loaded; a
read whose requester has gone stops; `rlmx serve` frees a file reader once its client leaves (audit 78, fault 4)."""

from __future__ import annotations

import asyncio
import threading
import time
import zlib
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pypdf")

from rlmx import documents
from rlmx.errors import InputError
from rlmx.server import app
from rlmx.server import body as bodies


def _pdf(objects: list[bytes]) -> bytes:
    """A PDF of `objects` (object 1 the catalog), with its cross-reference table."""
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    table = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, table)
    return bytes(out)


def _stream(content: bytes, extra: bytes = b"") -> bytes:
    packed = zlib.compress(content, 9)
    return b"<< /Length %d /Filter /FlateDecode %s>>\nstream\n" % (len(packed), extra) + packed + b"\nendstream"


FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"


def shared_stream_pdf(pages: int, padding: int) -> bytes:
    """`pages` pages whose /Contents are one stream: a line of text, then `padding` spaces."""
    kids = b" ".join(b"%d 0 R" % (5 + page) for page in range(pages))
    page = (
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 3 0 R "
        b"/Resources << /Font << /F1 4 0 R >> >> >>"
    )
    return _pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % pages,
            _stream(b"BT /F1 12 Tf 72 712 Td (Quarterly figures) Tj ET\n" + b" " * padding),
            FONT,
            *[page] * pages,
        ]
    )


def form_pdf(draws: int, padding: int) -> bytes:
    """One page that draws one form XObject `draws` times; the form holds text and `padding` spaces."""
    form = _stream(
        b"BT /F1 12 Tf 72 712 Td (Form text) Tj ET\n" + b" " * padding,
        b"/Type /XObject /Subtype /Form /BBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >> ",
    )
    return _pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [6 0 R] /Count 1 >>",
            _stream(b"BT /F1 12 Tf 72 700 Td (Page text) Tj ET\n" + b"/X1 Do\n" * draws),
            FONT,
            form,
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 3 0 R "
            b"/Resources << /Font << /F1 4 0 R >> /XObject << /X1 5 0 R >> >> >>",
        ]
    )


def _load(tmp_path: Path, raw: bytes, name: str = "bomb.pdf") -> documents.Document:
    path = tmp_path / name
    path.write_bytes(raw)
    return documents.load(path, 1 << 30)


def test_a_content_stream_every_page_shares_is_counted_on_each_page(tmp_path: Path) -> None:
    raw = shared_stream_pdf(pages=30, padding=1_000_000)  # some 3 KB, 30 MB of content to parse
    started = time.monotonic()
    with pytest.raises(InputError, match=r"unpacks to more than [\d,]+ bytes \(a decompression bomb\?\)") as caught:
        _load(tmp_path, raw)
    assert "pdftotext" in str(caught.value)
    assert time.monotonic() - started < 30


def test_a_form_drawn_over_and_over_is_counted_at_each_draw(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="a decompression bomb"):
        _load(tmp_path, form_pdf(draws=60, padding=100_000))  # 6 MB parsed for one page


def test_a_pdf_of_ordinary_size_still_loads(tmp_path: Path) -> None:
    document = _load(tmp_path, shared_stream_pdf(pages=3, padding=1000), "fine.pdf")
    assert document.value == ["Quarterly figures"] * 3
    assert _load(tmp_path, form_pdf(draws=2, padding=100), "form.pdf").value[0].count("Form text") == 2


def test_a_read_whose_requester_left_stops(tmp_path: Path) -> None:
    stop = threading.Event()
    stop.set()
    token = documents.STOP.set(stop)
    try:
        with pytest.raises(InputError, match="was stopped: the request it came with is gone"):
            _load(tmp_path, shared_stream_pdf(pages=2, padding=10), "left.pdf")
    finally:
        documents.STOP.reset(token)


class _LeavesOnceReadBegins:
    """An inbox whose client leaves once the file read has begun (whenever a reader thread is free for it: other
    tests may have left the two busy)."""

    def __init__(self) -> None:
        self.begun = asyncio.Event()

    async def leaving(self) -> None:
        await self.begun.wait()


async def test_serve_frees_a_file_reader_once_its_client_leaves() -> None:
    seen: list[bool] = []
    inbox = _LeavesOnceReadBegins()
    loop = asyncio.get_running_loop()

    def slow_read() -> Any:
        stop = documents.STOP.get()
        assert stop is not None
        loop.call_soon_threadsafe(inbox.begun.set)
        seen.append(stop.wait(60))  # a PDF's read checks the event at each content stream
        return None

    with pytest.raises(bodies.ClientLeft):
        await app._files_read(slow_read, inbox)  # type: ignore[arg-type]
    for _ in range(200):
        if seen:
            break
        await asyncio.sleep(0.05)
    assert seen == [True]  # told to stop, not left waiting out its 60 s
