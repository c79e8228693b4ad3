"""Documents as context: a registry of loaders by file suffix, each turning a file into its natural Python shape.

    .pdf                      -> list of page texts (str), one per page, in order (needs the `pdf` extra: pypdf)
    .json                     -> the parsed value
    .jsonl .ndjson            -> list of parsed lines
    .csv .tsv                 -> list of dicts (header -> cell text)
    .html .htm .xhtml         -> the visible text (scripts and styles dropped)
    .docx                     -> the text as Word shows it: page headers, paragraphs and tables, notes, footers
                                 (needs the `docx` extra: python-docx)
    .txt .md .rst .log ...    -> str (any other UTF-8 text file too)

`load(path, max_bytes)` reads one file (regular files only, at most `max_bytes`, refused before reading when it is
bigger; a text format's file refused from its first bytes when they show it is binary) and returns a Document.
Every failure is an InputError naming the file and what to do: an unsupported binary file, text that is not UTF-8,
malformed JSON/CSV, an encrypted PDF, a PDF with no text layer (scanned), a damaged or truncated file (`unreadable`
words every one).
"""

from __future__ import annotations

import functools
import os
import stat
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rlmx.documents.text import HEAD, NotText, read_up_to, refuse_binary
from rlmx.errors import InputError


@dataclass(frozen=True, slots=True)
class Document:
    """One loaded file. `value` is str, list or dict (JSON values only); `shape` says what it is for the prompt
    ("58 PDF pages", "1,204 CSV rows", "text")."""

    value: Any
    shape: str
    pages: int | None = None
    """PDF pages (None for other files)."""


def holds_no_text(value: Any) -> bool:
    """No text anywhere in a loaded value: None, whitespace, or lists and dicts of such (a number, a boolean or a
    dict key is text: `{"left-pad": {}}` lists a dependency). Iterative, so a deep value is walked like any other."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if item.strip():
                return False
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
        elif item is not None:
            return False
    return True


def plural(count: int, noun: str) -> str:
    """`count noun` for a context's description: "1 page", "58 pages", "1,204 rows"."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


Loader = Callable[[Path, bytes], Document]
"""A loader: the file's path (for messages) and its bytes -> Document. Raises InputError."""

LOADERS: dict[str, Loader] = {}

TEXT_FORMATS: set[str] = set()
"""Suffixes whose loader reads the file as text (`register(..., text=True)`): `load` checks such a file's first
bytes for a binary before it reads the rest, as a file of any other suffix is checked."""


def register(*suffixes: str, text: bool = False) -> Callable[[Loader], Loader]:
    """Register a loader for file suffixes (lower case, with the dot): `@register(".csv", text=True)`. `text`: the
    loader reads the bytes as text (`not_text`), so a binary file under that suffix is refused from its head."""

    def add(loader: Loader) -> Loader:
        for suffix in suffixes:
            LOADERS[suffix.lower()] = loader
            if text:
                TEXT_FORMATS.add(suffix.lower())
            else:  # a loader registered again for a suffix: it may read bytes no text check may refuse
                TEXT_FORMATS.discard(suffix.lower())
        return loader

    return add


_REPAIR = {
    ".pdf": "download or export it again, or repair it (e.g. `qpdf in.pdf out.pdf`)",
    ".docx": "open it in Word and save it again, or download or export it again",
}
"""What to do with a damaged file of a suffix; `_REPAIR_ANY` for the others."""
_REPAIR_ANY = "open it and save it again, or convert it to text first"


def unreadable(path: Path, what: str, why: BaseException | str | None = None, fix: str | None = None) -> InputError:
    """The one wording of a document rlmx cannot read: "context file <path> is <what> (<why>); <fix>". `what` says
    what is wrong ("not a readable PDF: damaged or truncated"), `why` is the library's own word (an exception as
    "Type: message", at most 200 characters of it), `fix` what to do, by default the repair advice for the file's
    suffix (`_REPAIR`)."""
    if isinstance(why, BaseException):
        why = f"{type(why).__name__}: {why}"
    detail = f" ({why[:200]})" if why else ""
    advice = fix or _REPAIR.get(path.suffix.lower(), _REPAIR_ANY)
    return InputError(f"context file {path} is {what}{detail}; {advice}")


def not_text(path: Path, error: NotText) -> InputError:
    """The error for a text format's file that is not text (`error` from `documents.text`): what it is, and what to
    do (name a PDF *.pdf, else convert it)."""
    advice = not_text_advice(error.kind, "convert it to UTF-8 first")
    return InputError(f"context file {path} is not UTF-8 text ({error}); {advice}")


def _guarded(loader: Loader) -> Loader:
    """`loader` with every failure an InputError naming the file: a library's own failure on a damaged file (pypdf's
    NotImplementedError or RecursionError, zlib.error...) too. Every caller gets its loaders from `loader_for`
    (`load`, `rlmx serve`'s file parts, `rlmx mcp`'s granted folders), so each gets this boundary."""

    @functools.wraps(loader)
    def load_guarded(path: Path, raw: bytes) -> Document:
        try:
            return loader(path, raw)
        except InputError:
            raise
        except Exception as exc:
            raise unreadable(path, f"damaged or not a readable {path.suffix.lower()} file", exc) from None

    return load_guarded


def loader_for(path: Path) -> Loader | None:
    """The registered loader for `path`'s suffix, or None (then a UTF-8 text file loads as str). Guarded: any
    failure in it is an InputError naming the file (`_guarded`)."""
    loader = LOADERS.get(path.suffix.lower())
    return None if loader is None else _guarded(loader)


_SUFFIX_OF = {"a PDF": ".pdf"}
"""Formats a file's first bytes name (`text.NotText.kind`) that a loader reads under this suffix."""


def suffix_for(kind: str | None) -> str | None:
    """The suffix under which rlmx reads a file of `kind` ("a PDF" -> ".pdf"), or None."""
    return _SUFFIX_OF.get(kind or "")


def not_text_advice(kind: str | None, otherwise: str) -> str:
    """What to do with a file that is not text: name it as the document it is (`kind`, from its first bytes), when
    rlmx reads that kind, else `otherwise`."""
    named = suffix_for(kind)
    return f"name it *{named}, and rlmx reads it as one" if named else otherwise


def supported() -> str:
    """The registered suffixes, for error messages."""
    return ", ".join(sorted(LOADERS))


TooBig = Callable[[Path, int, int], InputError]
"""The error for a file over its limit: (path, its size in bytes, the bytes left) -> InputError."""


def read_regular(
    path: Path, max_bytes: int, too_big: TooBig | None = None, head: Callable[[bytes], None] | None = None
) -> bytes:
    """The bytes of a regular file, at most `max_bytes`. Opened non-blocking and checked with fstat before any read,
    so a FIFO or device is refused without blocking. InputError when it is bigger (`too_big` names the limit that
    holds, by default the contexts' `max_context_bytes`), unreadable or not regular. `head`, when given, sees the
    first `text.HEAD` bytes before the rest is read, and raises to refuse the file (a binary under a text suffix:
    a 300 MB one took 1 GB and 4 s to refuse whole)."""
    too_big = too_big or _too_big
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise InputError(f"cannot read context file {path}: {exc.strerror}") from None
    with os.fdopen(fd, "rb", buffering=0) as handle:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise InputError(f"context {path} is not a regular file; rlmx reads only regular files and folders")
        if info.st_size > max_bytes:
            raise too_big(path, info.st_size, max_bytes)
        try:
            first = b""
            if head is not None:
                first = read_up_to(handle, HEAD)
                head(first)
            raw = first + read_up_to(handle, max_bytes + 1 - len(first))
        except OSError as exc:
            raise InputError(f"cannot read context file {path}: {exc.strerror}") from None
    if len(raw) > max_bytes:
        raise too_big(path, len(raw), max_bytes)
    return raw


def _too_big(path: Path, size: int, max_bytes: int) -> InputError:
    return InputError(
        f"context file {path} is {size:,} bytes, over the {max_bytes:,} context bytes left for this call; "
        f"{ASK_LIMIT_ADVICE}"
    )


TEXT_LEFT: ContextVar[int | None] = ContextVar("rlmx_document_text_left", default=None)
"""Context bytes left for the document `load` is loading: a loader that extracts text (a PDF's pages) stops as soon
as it holds more, instead of extracting a whole text bomb (an 88 KB PDF with 14.7 MB of text took 13 s) first."""

ASK_LIMIT_ADVICE = (
    "pass a smaller file, or raise the limit with RLM(max_context_bytes=...) (rlmx ask: --max-context-bytes)"
)
LIMIT_ADVICE: ContextVar[str] = ContextVar("rlmx_document_limit_advice", default=ASK_LIMIT_ADVICE)
"""What the reader of a document can do when its text is over `TEXT_LEFT`: the limit is the caller's (a Python
caller's `max_context_bytes`, `rlmx serve`'s per-file bound, `rlmx mcp`'s per-call read), so is the advice."""


@contextmanager
def text_limit(left: int, advice: str = ASK_LIMIT_ADVICE) -> Iterator[None]:
    """While loading documents: at most `left` UTF-8 bytes of extracted text each; a refusal ends with `advice`."""
    left_token, advice_token = TEXT_LEFT.set(left), LIMIT_ADVICE.set(advice)
    try:
        yield
    finally:
        LIMIT_ADVICE.reset(advice_token)
        TEXT_LEFT.reset(left_token)


def text_over_limit(path: Path, used: int, where: str) -> InputError | None:
    """The error for text extracted so far (`used` UTF-8 bytes, up to `where`) past what is left, else None."""
    left = TEXT_LEFT.get()
    if left is None or used <= left:
        return None
    return InputError(
        f"context file {path} holds more text than the {left:,} context bytes left for this call (over it by "
        f"{where}); {LIMIT_ADVICE.get()}"
    )


STOP: ContextVar[threading.Event | None] = ContextVar("rlmx_document_stop", default=None)
"""Set while a document is read for a client that may go away (`rlmx serve`'s file parts): once the event is set, a
loader that can take long (a PDF's pages) stops at its next step with `stopped`'s error instead of reading on for
nobody, holding a reader thread."""


def stopped(path: Path) -> InputError | None:
    """The error that ends reading `path` once `STOP` is set, else None."""
    stop = STOP.get()
    if stop is None or not stop.is_set():
        return None
    return InputError(f"reading context file {path} was stopped: the request it came with is gone")


def load(path: Path, max_bytes: int) -> Document:
    """Load one document by its suffix's loader. InputError for anything that cannot be loaded (see module doc)."""
    loader = loader_for(path)
    if loader is None:
        raise InputError(f"context file {path}: no loader for {path.suffix or 'files without a suffix'!r}")
    sniff = functools.partial(_text_head, path) if path.suffix.lower() in TEXT_FORMATS else None
    raw = read_regular(path, max_bytes, head=sniff)
    with text_limit(max_bytes):
        return loader(path, raw)  # guarded: any failure is an InputError (`_guarded`)


def _text_head(path: Path, head: bytes) -> None:
    """Refuse a text format's file whose first bytes already show it is binary, as `not_text` words it."""
    try:
        refuse_binary(head)
    except NotText as exc:
        raise not_text(path, exc) from None


def hidden(name: str) -> bool:
    """Whether a folder's entry (one name, not a path) is hidden: a dot-file or dot-folder (`.env`, `.git/`,
    `.venv/`). The one rule for every folder rlmx reads (`rlmx ask --context DIR`, the Python API, `rlmx mcp`'s
    granted folders): skipped and reported as "hidden", never sent, as a user listing the folder expects. A hidden
    file or folder named directly as a context is still read: the user asked for it (not through `rlmx mcp`, where
    the client picks the path: `Roots.check` refuses it)."""
    return name.startswith(".")


def describe(documents: dict[str, Document]) -> str:
    """The structure line of the first prompt: each file with its shape (first 20 files)."""
    shown = [f"{name}: {doc.shape}" for name, doc in list(documents.items())[:20]]
    more = f"; and {len(documents) - 20} more files" if len(documents) > 20 else ""
    return "; ".join(shown) + more


# The loaders register themselves on import.
from rlmx.documents import docx, pdf, structured  # noqa: E402, F401
