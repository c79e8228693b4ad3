"""PDF: the text of each page (pypdf, pure Python; the `pdf` extra). A list of page strings, page 1 at index 0."""

from __future__ import annotations

import contextlib
import io
import logging
import threading
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rlmx.documents import Document, plural, register, text_over_limit, unreadable
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
    """Each page's text; InputError when the file is encrypted with a password or cannot be read. Any other
    exception pypdf raises on a damaged file (zlib.error, AssertionError...) becomes one at `documents.load`."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(raw), strict=False)
        if reader.is_encrypted:
            locked = _locked(reader)
            if locked is not None:
                raise InputError(f"context file {path} is an encrypted PDF {locked}")
        pages = []
        used = 0
        for number, page in enumerate(reader.pages, 1):
            pages.append(_page_text(page))
            used += len(pages[-1].encode("utf-8", "surrogatepass"))
            over = text_over_limit(path, used, f"page {number:,} of {len(reader.pages):,}")
            if over is not None:
                raise over
    except InputError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError, RecursionError) as exc:
        raise _not_readable(path, raw, exc) from None
    return pages


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
