"""PDF: the text of each page (pypdf, pure Python; the `pdf` extra). A list of page strings, page 1 at index 0."""

from __future__ import annotations

import contextlib
import functools
import io
import logging
import threading
import unicodedata
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from rlmx.documents import TEXT_LEFT, Document, plural, register, stopped, text_over_limit, unreadable
from rlmx.errors import InputError
from rlmx.extras import missing_extra


@register(".pdf")
def load_pdf(path: Path, raw: bytes) -> Document:
    """Pages as text. InputError when pypdf is missing, the file is not a readable PDF, it is encrypted with a
    password, its content streams cannot be decoded (damaged), or no page has a text layer (a scanned PDF)."""
    try:
        import pypdf  # noqa: F401
    except ImportError:
        raise InputError(f"context file {path} is a PDF: " + missing_extra("reading PDFs", "pdf")) from None
    logging.getLogger("pypdf").setLevel(logging.ERROR)  # malformed-but-readable files warn on every page
    with _decode_problems() as errors:
        pages = _pages(path, raw)
    if not pages:
        raise unreadable(path, "a PDF with no pages")
    if not any(text.strip() for text in pages):
        if errors:  # pypdf logs a stream it cannot decode and reads it as empty: that is damage, not a scan
            raise unreadable(path, "a damaged PDF: its page content could not be decoded", errors[0])
        raise unreadable(
            path,
            f"a PDF with no text layer on any of its {len(pages)} pages (scanned or image-only)",
            fix="run OCR on it first (e.g. `ocrmypdf in.pdf out.pdf`)",
        )
    empty = sum(1 for text in pages if not text.strip())
    why = "images, or content pypdf could not decode" if errors else "images"
    note = f", {empty} without text ({why})" if empty else ""
    chars = sum(len(text) for text in pages)
    return Document(pages, f"PDF, {plural(len(pages), 'page')}, {plural(chars, 'character')}{note}", pages=len(pages))


def _pages(path: Path, raw: bytes) -> list[str]:
    """Each page's text; InputError when the file is encrypted with a password, cannot be read, or its pages'
    content unpacks to more than `_Unpacked` allows (a decompression bomb). Any other exception pypdf raises on a
    damaged file (zlib.error, AssertionError...) becomes one at `documents.load`."""
    from pypdf import PdfReader, errors
    from pypdf.errors import PdfReadError

    limit_reached: Any = getattr(errors, "LimitReachedError", ())  # older pypdf has none
    unpacked = _Unpacked(path, raw)
    token = _UNPACKED.set(unpacked)
    try:
        with _pypdf_limits(unpacked.bound):
            reader = PdfReader(io.BytesIO(raw), strict=False)
            if reader.is_encrypted:
                locked = _locked(reader)
                if locked is not None:
                    raise InputError(f"context file {path} is an encrypted PDF {locked}")
            pages = []
            used = 0
            for number, page in enumerate(reader.pages, 1):
                unpacked.check()
                pages.append(_page_text(page))
                unpacked.check()  # pypdf logs and skips a form XObject that failed: the bound's error among them
                used += len(pages[-1].encode("utf-8", "surrogatepass"))
                over = text_over_limit(path, used, f"page {number:,} of {len(reader.pages):,}")
                if over is not None:
                    raise over
    except InputError:
        raise
    except limit_reached as exc:  # one of pypdf's own bounds, set no higher than ours (`_pypdf_limits`)
        raise unpacked.error(exc) from None
    except (PdfReadError, ValueError, KeyError, TypeError, OSError, RecursionError) as exc:
        raise _not_readable(path, raw, exc) from None
    finally:
        _UNPACKED.reset(token)
    return pages


_UNPACKED_PER_FILE_BYTE = 64
"""How many bytes a PDF's page content may unpack to per byte of the file: deflate packs content streams some 2 to
10 times, and a form (a letterhead) drawn on every page counts on each; past 64 it is a bomb (a 7 KB file whose 60
pages share one stream of 5 MB of spaces took pypdf 4 minutes)."""
_UNPACKED_PER_TEXT_BYTE = 64
"""How many bytes of page content per context byte left: pages take some 3 to 30 bytes of content per character."""
_UNPACKED_AT_LEAST = 4 * 1024 * 1024
"""What any PDF's page content may unpack to whatever its size (pypdf parses some 1 to 5 MB of it a second)."""
_MAX_UNPACKED = 256 * 1024 * 1024
"""The most a PDF's page content may unpack to whatever the limits (minutes of pypdf's parsing)."""


class _Unpacked:
    """The bytes of page content (content streams, form XObjects) pypdf has unpacked to extract one PDF's text,
    counted each time a stream is parsed (a stream every page shares is parsed for each), against `bound`."""

    def __init__(self, path: Path, raw: bytes) -> None:
        self.path = path
        left = TEXT_LEFT.get()
        by_file = _UNPACKED_PER_FILE_BYTE * len(raw)
        by_text = by_file if left is None else _UNPACKED_PER_TEXT_BYTE * max(left, 1)
        bound = max(_UNPACKED_AT_LEAST, min(by_file, by_text))
        if bound >= _MAX_UNPACKED:
            self.bound, self.why = _MAX_UNPACKED, f"the {_MAX_UNPACKED // 2**20} MiB rlmx unpacks from one PDF"
        elif bound == _UNPACKED_AT_LEAST:
            self.bound, self.why = bound, f"the {_UNPACKED_AT_LEAST // 2**20} MiB rlmx unpacks from any PDF"
        elif by_file <= by_text:
            self.bound, self.why = bound, f"{_UNPACKED_PER_FILE_BYTE} times the file's {len(raw):,} bytes"
        else:
            self.bound, self.why = bound, f"{_UNPACKED_PER_TEXT_BYTE} times the {left:,} context bytes left"
        self.used = 0
        self.failed: InputError | None = None

    def take(self, size: int) -> None:
        """Count a content stream of `size` bytes about to be parsed; raise this read's error (and again at every
        later stream: pypdf swallows a form's failure) past the bound, or once the reader's client has gone."""
        if self.failed is None:
            self.used += size
            self.failed = stopped(self.path) or (self.error() if self.used > self.bound else None)
        if self.failed is not None:
            raise self.failed

    def check(self) -> None:
        if self.failed is None:
            self.failed = stopped(self.path)
        if self.failed is not None:
            raise self.failed

    def error(self, limit: BaseException | None = None) -> InputError:
        why = f" ({type(limit).__name__}: {str(limit)[:200]})" if limit is not None else ""
        return InputError(
            f"context file {self.path} unpacks to more than {self.bound:,} bytes (a decompression bomb?): its pages' "
            f"content, a stream shared by many pages counted on each, passes {self.why}{why}. rlmx stops there; if "
            "it is a real document, convert it to text first (e.g. `pdftotext in.pdf out.txt`) and pass that"
        )


_UNPACKED: ContextVar[_Unpacked | None] = ContextVar("rlmx_pdf_unpacked", default=None)
"""The count of the PDF this thread (or task) is reading, if any: other users of pypdf in the process see no change."""
_METERING = threading.Lock()


def _meter_content_streams() -> None:
    """Make pypdf report every content stream it builds (and so is about to parse, for a page or a form) to the
    `_UNPACKED` count of the read under way. Installed once; a no-op outside `_pages`. pypdf has no hook of its own,
    and bounding only a page's /Contents misses forms, which text extraction runs up to 5,000 times a page."""
    from pypdf.generic import ContentStream

    with _METERING:
        if getattr(ContentStream.__init__, "_rlmx_metered", False):
            return
        build = ContentStream.__init__

        @functools.wraps(build)
        def metered(self: Any, *args: Any, **kwargs: Any) -> None:
            build(self, *args, **kwargs)
            unpacked = _UNPACKED.get()
            if unpacked is not None:
                unpacked.take(len(self.get_data() or b""))

        metered._rlmx_metered = True  # type: ignore[attr-defined]
        ContentStream.__init__ = metered  # type: ignore[method-assign]


_PYPDF_OUTPUT_LIMITS = (
    "zlib_maximum_output_length",
    "lzw_maximum_output_length",
    "run_length_maximum_output_length",
    "brotli_maximum_output_length",
    "array_based_stream_maximum_output_length",
    "stream_decoding_work_maximum_length",
)
"""pypdf's bounds on what one stream may unpack to (75 MB and more): lowered to this PDF's own bound, so that no
single stream unpacks, and then parses, past it before the count sees it."""


@contextlib.contextmanager
def _pypdf_limits(bound: int) -> Iterator[None]:
    """pypdf's per-stream output limits no higher than `bound` inside the block, for this thread only (its
    `apply_configuration` sets a context variable); a pypdf without one keeps its own."""
    import pypdf

    _meter_content_streams()
    apply = getattr(pypdf, "apply_configuration", None)
    if apply is None:
        yield
        return
    current = pypdf.get_configuration()
    lowered = {name: min(getattr(current, name), bound + 1) for name in _PYPDF_OUTPUT_LIMITS if hasattr(current, name)}
    with apply(**lowered):
        yield


_HEADER_WITHIN = 1024
"""Where a PDF's `%PDF-` header may start: readers (pypdf, Acrobat) allow bytes before it in the first KiB."""


def _not_readable(path: Path, raw: bytes, error: Exception) -> InputError:
    """What is wrong with a file pypdf could not read, and what to do: one that does not start as a PDF is another
    kind of file (or its start is lost); one that does is damaged, most often cut short by a download or a copy."""
    if b"%PDF-" not in raw[:_HEADER_WITHIN]:
        return unreadable(
            path,
            "not a readable PDF: it does not start as a PDF does (`%PDF-`), so it is another kind of file, or damaged",
            error,
            "if it is another kind of file, name it by its own suffix; if it is a PDF, download or export it again",
        )
    return unreadable(path, "not a readable PDF: damaged or truncated", error)


_DECODING = threading.local()
"""This thread's list of decoding problems while `_decode_problems` runs (another thread may read another PDF)."""


class _DecodeProblems(logging.Filter):
    """Keeps what pypdf's stream filters warn about (a stream that does not decompress is logged as a warning and
    read as empty) for the thread reading, and lets only errors on, as rlmx's pypdf log level always did."""

    def filter(self, record: logging.LogRecord) -> bool:
        found: list[str] | None = getattr(_DECODING, "messages", None)
        if found is not None:
            found.append(record.getMessage())
        return record.levelno >= logging.ERROR


_FILTER = _DecodeProblems()


@contextlib.contextmanager
def _decode_problems() -> Iterator[list[str]]:
    """The problems pypdf meets decoding content streams inside the block (their messages)."""
    logger = logging.getLogger("pypdf.filters")
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
    logger.setLevel(logging.WARNING)  # its warnings reach the filter, which drops them once recorded
    _DECODING.messages = []
    try:
        yield _DECODING.messages
    finally:
        _DECODING.messages = None


def _locked(reader: Any) -> str | None:
    """Why an encrypted PDF cannot be read, or None when it opens with the empty user password (many PDFs are
    encrypted only to restrict printing or copying)."""
    from pypdf.errors import DependencyError

    try:
        if reader.decrypt(""):
            return None
    except DependencyError:
        return "that needs the `cryptography` package to open (AES): pip install cryptography"
    except Exception as exc:  # an unsupported algorithm
        return f"that pypdf cannot open ({type(exc).__name__}: {exc}); decrypt it first (e.g. `qpdf --decrypt`)"
    return "that needs a password; decrypt it first (e.g. `qpdf --decrypt --password=... in.pdf out.pdf`)"


_LIGATURES = {code: unicodedata.normalize("NFKC", chr(code)) for code in range(0xFB00, 0xFB07)}
"""The Latin ligature characters (U+FB00-FB06: ff, fi, fl, ffi, ffl, long st, st) as their letters, as pdftotext
and PyMuPDF write them: "ﬁnancial" is not found by a search for "financial"."""


def _page_text(page: Any) -> str:
    """The page's text, ligatures as letters, then the values filled into its form fields (`name: value`, one a
    line): pypdf's text extraction leaves them out, though the page shows them."""
    text = str(page.extract_text() or "").translate(_LIGATURES)
    filled = [f"{name}: {value}" for name, value in _form_values(page) if value not in text]
    return "\n".join([text, *filled]) if filled else text


def _form_values(page: Any) -> list[tuple[str, str]]:
    """(field name, value) of each filled form field (an AcroForm widget with a /V) on the page."""
    values: list[tuple[str, str]] = []
    try:
        annotations = page.get("/Annots") or []
        for reference in annotations:
            widget = reference.get_object()
            if widget.get("/Subtype") != "/Widget":
                continue
            field = widget if "/V" in widget or "/Parent" not in widget else widget["/Parent"].get_object()
            value, name = field.get("/V"), field.get("/T") or widget.get("/T")
            if value is None or str(value).strip() in ("", "/Off"):
                continue
            values.append((str(name or "field"), str(value).lstrip("/")))
    except Exception:  # a malformed annotation: the page's text still stands
        return values
    return values
