"""Bytes from outside (files, standard input, bytes contexts) as text, by one rule for every source: UTF-8, or
UTF-16 / UTF-32 when a byte order mark says so (Windows Notepad's "Unicode", PowerShell 5's pipes and redirects);
a UTF-8 BOM is dropped. Anything else is refused with the reason, never guessed (Latin-1 would read any bytes)."""

from __future__ import annotations

import codecs
import re
from pathlib import Path

LINE_END = r"\r\n|\r(?!\n)|\n"
"""A line end as text from anywhere may write it: CRLF (one, even where a pattern backtracks), CR alone, LF. Not
str.splitlines(), which also ends lines at U+2028 and the like, that are text within a line."""
LINE_ENDS = re.compile(LINE_END)

_MARKS = (  # UTF-32's before UTF-16's: FF FE 00 00 begins with FF FE
    (codecs.BOM_UTF32_LE, "utf-32", "UTF-32"),
    (codecs.BOM_UTF32_BE, "utf-32", "UTF-32"),
    (codecs.BOM_UTF8, "utf-8-sig", "UTF-8"),
    (codecs.BOM_UTF16_LE, "utf-16", "UTF-16"),
    (codecs.BOM_UTF16_BE, "utf-16", "UTF-16"),
)


class NotText(ValueError):
    """Bytes this rule does not read as text. `short`: "binary" or "not UTF-8" (or "not UTF-16", ...); str() adds
    the detail: where the first bad byte is, or that NUL bytes were seen."""

    def __init__(self, short: str, detail: str) -> None:
        super().__init__(f"{short}: {detail}")
        self.short = short


def refuse_binary(head: bytes) -> None:
    """Raise NotText("binary") when `head` (the first 8 KiB, read before the rest) holds NUL bytes and does not
    start with a byte order mark: binary, or UTF-16 without one, where every other byte is NUL (and valid UTF-8)."""
    if b"\x00" in head[:8192] and not any(head.startswith(mark) for mark, _, _ in _MARKS):
        raise NotText("binary", "it holds NUL bytes: binary, or UTF-16/UTF-32 text without a byte order mark")


def decode_text(raw: bytes, *, refuse_nul: bool = True) -> str:
    """`raw` as text (see the module doc). `refuse_nul`: refuse binary as `refuse_binary` does. Raises NotText."""
    for mark, codec, name in _MARKS:
        if raw.startswith(mark):
            try:
                return raw.decode(codec)  # the codec drops the mark
            except UnicodeDecodeError as exc:
                raise NotText(f"not {name}", f"its byte order mark says {name}, but byte {exc.start} is not") from None
    if refuse_nul:
        refuse_binary(raw)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NotText("not UTF-8", f"bad byte at position {exc.start}") from None


def read_text(path: Path) -> str:
    """The text of the file at `path` by the rule (NUL bytes allowed: they are text's own). Raises OSError, NotText."""
    return decode_text(path.read_bytes(), refuse_nul=False)
