"""OpenAI's `{"type": "file"}` content parts, read as documents by rlmx's own readers (`rlmx.documents`).

A part sends the file itself as `file_data` (a `data:<type>;base64,...` URL, or bare base64) with its `filename`;
it is read as `rlmx ask` reads a file of that name: a PDF's pages (the `pdf` extra), a CSV's rows, JSON's value,
any other UTF-8 text as a string. A `file_id` names a file uploaded to OpenAI's Files API, which this server does
not keep: it is refused.
"""

from __future__ import annotations

import binascii
import re
import urllib.parse
from pathlib import Path
from typing import Any

from rlmx.documents import Document, loader_for, suffix_for, text_limit
from rlmx.documents.text import NotText, decode_text
from rlmx.errors import InputError

FILE_TEXT_LIMIT = 256 * 1024 * 1024
"""The most text one attached file may unpack to (a small PDF can hold a text bomb); the run's own context limit
still applies afterwards."""
FILE_TEXT_ADVICE = f"rlmx serve reads at most {FILE_TEXT_LIMIT // 2**20} MiB of text from one file; send a smaller file"

_SUFFIX_OF_TYPE = {
    "application/pdf": ".pdf",
    "application/json": ".json",
    "application/x-ndjson": ".jsonl",
    "text/csv": ".csv",
    "text/tab-separated-values": ".tsv",
    "text/html": ".html",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
}


class FileRefused(Exception):
    """A file part that cannot be read; the message says why and what to send instead."""

    def __init__(self, message: str, *, code: str = "invalid_file") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def is_file_part(part: object) -> bool:
    return isinstance(part, dict) and part.get("type") == "file"


def read_file_part(part: dict[str, Any]) -> tuple[str, Document]:
    """(the file's name, its document) for one `file` part. Raises FileRefused."""
    file = part.get("file")
    if not isinstance(file, dict):
        raise FileRefused('a file part needs "file": {"filename": "notes.txt", "file_data": "data:...;base64,..."}')
    data = file.get("file_data")
    if data is None and file.get("file_id") is not None:
        raise FileRefused(
            f"file_id {file.get('file_id')!r}: this server keeps no files (it has no /v1/files upload); send the "
            'file itself as "file_data", a data URL like "data:application/pdf;base64,...", with its "filename"',
            code="file_not_found",
        )
    if not isinstance(data, str) or not data:
        raise FileRefused('a file part needs "file_data": the file as a data URL, "data:<type>;base64,<data>"')
    media, raw = _decoded(data)
    name = file.get("filename")
    name = Path(name).name if isinstance(name, str) and Path(name).name else "file"
    return name, _document(_read_as(Path(name), media), raw)


def _read_as(path: Path, media: str) -> Path:
    """The name the file is read by: its own when its suffix names a reader; else, when the client declared a known
    media type, the name with that type's suffix ("Dr. Jones referral" sent as application/pdf is a PDF); else a
    text file's."""
    if loader_for(path) is not None:
        return path
    suffix = _SUFFIX_OF_TYPE.get(media)
    if suffix is not None:
        return Path(path.name + suffix)
    return path if path.suffix else path.with_suffix(".txt")


_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
_WHITESPACE = b"\t\n\f\r "
"""ASCII whitespace, which forgiving-base64 drops."""
_SPACES = tuple(_WHITESPACE[index : index + 1] for index in range(len(_WHITESPACE)))
_SLICE = 1024 * 1024
"""Characters per slice when a file's data is stripped and decoded: a multiple of 4 (whole base64 quanta), and small
enough that each C call takes about a millisecond, so the reading thread lets go of the GIL between slices and the
event loop (/health, other clients' streams) keeps running while a 30 MB part is decoded. One call over the whole
string held it for seconds."""


def _decoded(data: str) -> tuple[str, bytes]:
    """(media type, bytes) of a base64 data URL, or of bare base64 (media type ""), read as browsers read data URLs:
    `;base64` in any case, a percent-encoded body, line breaks and missing `=` padding allowed
    (`base64.encodebytes` and GNU `base64` wrap their lines)."""
    if _URL.match(data):
        raise FileRefused(
            f'"file_data" is a URL ({data[:80]!r}): rlmx serve does not fetch URLs; send the file\'s bytes as '
            '"file_data", a data URL like "data:application/pdf;base64,..."',
            code="unsupported_file_url",
        )
    media, encoded, kinds, url = "", data, [], data[:5].lower() == "data:"
    if url:
        header, comma, encoded = data[5:].partition(",")
        kinds = [kind.strip().lower() for kind in header.split(";")]
        if not comma or kinds[-1] != "base64":
            raise FileRefused('"file_data" must be a base64 data URL like "data:text/plain;base64,..."')
        media = kinds[0]
    try:
        # Fetch's data: URL processor percent-decodes the body first (`%2B` is `+`; `+` itself stays); base64 is
        # ASCII, so any other character is invalid (UnicodeEncodeError, a ValueError)
        ascii_data = urllib.parse.unquote_to_bytes(encoded) if url and "%" in encoded else _ascii(encoded)
        raw = _forgiving_base64(ascii_data)
    except (binascii.Error, ValueError):
        raise FileRefused('"file_data" is not valid base64') from None
    charset = (
        next((kind.partition("=")[2].strip('"') for kind in kinds[1:] if kind.startswith("charset=")), "")
        if media
        else ""
    )
    return media, _as_utf8(raw, charset)


def _as_utf8(raw: bytes, charset: str) -> bytes:
    """A text file's bytes in UTF-8, read in the charset its data URL declares (`;charset=windows-1252`), as a browser
    reads it; bytes not valid in that charset are a 400 that names it."""
    if charset in ("", "utf-8", "utf8", "us-ascii", "ascii"):
        return raw
    try:
        return raw.decode(charset).encode("utf-8")
    except LookupError:
        raise FileRefused(f'"file_data" declares charset {charset!r}, which is no known text encoding') from None
    except UnicodeDecodeError:
        raise FileRefused(f'"file_data" is not valid {charset} text, the charset its data URL declares') from None


def _ascii(text: str) -> bytes:
    """`text.encode("ascii")`, slice by slice (see _SLICE). Raises UnicodeEncodeError."""
    return b"".join(text[start : start + _SLICE].encode("ascii") for start in range(0, len(text), _SLICE))


def _forgiving_base64(encoded: bytes) -> bytes:
    """WHATWG's forgiving-base64 decode: ASCII whitespace dropped, the `=` padding optional, `=` nowhere else.
    Works slice by slice (see _SLICE). Raises binascii.Error."""
    compact = encoded
    if any(space in encoded for space in _SPACES):  # base64 in one line (most clients) has none: no copy
        compact = b"".join(
            encoded[start : start + _SLICE].translate(None, _WHITESPACE) for start in range(0, len(encoded), _SLICE)
        )
    if len(compact) % 4 == 0:
        compact = compact.removesuffix(b"=").removesuffix(b"=")
    if len(compact) % 4 == 1:
        raise binascii.Error("impossible base64 length")
    padding = compact.find(b"=")
    if padding >= 0 and compact[padding:].strip(b"="):  # `=` inside the data: each slice alone would pass it
        raise binascii.Error("padding before the end")
    compact += b"=" * (-len(compact) % 4)
    # strict: only the alphabet, each slice whole quanta; the last slice holds the last of the data and all the
    # padding, so that it is read as in one piece
    last = max((padding if padding >= 0 else len(compact)) - 1, 0) // _SLICE * _SLICE
    starts = range(0, last, _SLICE)
    pieces = [binascii.a2b_base64(compact[start : start + _SLICE], strict_mode=True) for start in starts]
    pieces.append(binascii.a2b_base64(compact[last:], strict_mode=True))
    return b"".join(pieces)


def _document(path: Path, raw: bytes) -> Document:
    """The file read by the loader for its suffix, as `rlmx ask` reads it; any other suffix as UTF-8 text."""
    loader = loader_for(path)  # the path names the file in messages only
    try:
        with text_limit(FILE_TEXT_LIMIT, FILE_TEXT_ADVICE):
            if loader is not None:
                return loader(path, raw)
            return Document(decode_text(raw), "text")
    except InputError as exc:
        raise FileRefused(str(exc)) from None
    except NotText as exc:
        named = suffix_for(exc.kind)
        if named is not None:
            raise FileRefused(f"file {path.name} is {exc}: send it with a filename ending in {named}") from None
        raise FileRefused(
            f"file {path.name} is not text ({exc}): send text, or a PDF, DOCX, CSV, JSON or HTML file"
        ) from None
