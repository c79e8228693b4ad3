"""Bytes from outside (files, standard input, bytes contexts) as text, by one rule for every source: UTF-8, or
UTF-16 / UTF-32 when a byte order mark says so (Windows Notepad's "Unicode", PowerShell 5's pipes and redirects);
a UTF-8 BOM is dropped. Bytes that hold NULs and no BOM are text too when they read as such: UTF-16 / UTF-32
without a BOM (told by where the NULs sit), or UTF-8 with holes of NULs (logrotate's `copytruncate`, sparse files,
a log written after a crash). Anything else is refused with the reason, never guessed (Latin-1 would read any
bytes)."""

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

HEAD = 8192
"""How much of a file is read before the rest, to refuse a binary early; also the sample that tells UTF-16/32."""

_MAGIC = (  # known binaries by their first bytes; some (tar, SQLite, a stored zip) are valid UTF-8, NULs and all
    (257, b"ustar", "a tar archive"),
    (0, b"SQLite format 3\x00", "an SQLite database"),
    (0, b"PK\x03\x04", "a zip archive"),
    (0, b"PK\x05\x06", "a zip archive"),
    (0, b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (0, b"\xff\xd8\xff", "a JPEG image"),
    (0, b"GIF87a", "a GIF image"),
    (0, b"GIF89a", "a GIF image"),
    (0, b"\x7fELF", "an ELF executable"),
    (0, b"\xca\xfe\xba\xbe", "a Java class or Mach-O file"),
    (0, b"\xcf\xfa\xed\xfe", "a Mach-O executable"),
    (0, b"\x00asm", "a WebAssembly module"),
    (0, b"\x1f\x8b", "gzip data"),
    (0, b"\xfd7zXZ\x00", "xz data"),
    (0, b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (0, b"\x28\xb5\x2f\xfd", "zstd data"),
    (0, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an OLE file (old Office, MSI)"),
    (0, b"%PDF-", "a PDF"),
)

_WIDE = ("utf-32-le", "utf-32-be", "utf-16-le", "utf-16-be")  # UTF-32's first: "a\0\0\0" is also UTF-16LE "a\0"
_CONTROLS = bytes([*range(1, 9), *range(14, 27), *range(28, 32), 127])
"""Controls that text does not hold (tab, LF, VT, FF, CR and ESC are text's own; NUL is counted apart)."""
_ODD_WIDE = re.compile(f"[{re.escape(_CONTROLS.decode('ascii'))}]|\x00+")
"""What counts against UTF-16/32 reading as text: a control, or a run of NULs (numbers, a float array, read as
UTF-16 are full of them; text is not). In UTF-8 a NUL alone is text's own (find -print0, /proc/*/environ)."""
_NUL_RUNS = re.compile("\x00\x00+")  # with a literal head: several times faster than \x00{2,}
_NUL_RUNS_BYTES = re.compile(b"\x00\x00+")
_FIRST_TEXT = re.compile(rb"[^\x00]")
_NOT_TEXT = "it holds NUL bytes and does not read as text in UTF-8, UTF-16 or UTF-32"


class NotText(ValueError):
    """Bytes this rule does not read as text. `short`: "binary" or "not UTF-8" (or "not UTF-16", ...); str() adds
    the detail: where the first bad byte is, or why bytes holding NULs are not text."""

    def __init__(self, short: str, detail: str) -> None:
        super().__init__(f"{short}: {detail}")
        self.short = short


def _magic(raw: bytes) -> str | None:
    for offset, magic, name in _MAGIC:
        if raw.startswith(magic, offset):
            return name
    return None


def _prefix_decodes(head: bytes, codec: str) -> bool:
    """Whether `head`, the start of some bytes, is valid in `codec` (a sequence cut at its end is fine)."""
    try:
        codecs.getincrementaldecoder(codec)().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return True


def refuse_binary(head: bytes) -> None:
    """Raise NotText("binary") when `head` (the first bytes, read before the rest) already shows that the whole is
    binary, whatever follows: it starts as a known binary format does, or it holds NULs and no byte order mark and
    is valid in none of UTF-8, UTF-16 and UTF-32. Anything the rest could still make text passes: the verdict is
    `decode_text`'s on the whole, never where the NULs start."""
    head = head[:HEAD]
    if b"\x00" not in head or any(head.startswith(mark) for mark, _, _ in _MARKS):
        return
    kind = _magic(head)
    if kind is not None:
        raise NotText("binary", f"it is {kind}")
    if not any(_prefix_decodes(head, codec) for codec in ("utf-8", *_WIDE)):
        raise NotText("binary", _NOT_TEXT)


def _narrow(units: list[bytes], big_endian: bool) -> int:
    """How many of `units` (UTF-16 or UTF-32 code units) hold a code point below 256: Latin text, digits, spaces
    and line ends, the NULs of which show where a BOM-less wide encoding puts them."""
    if big_endian:
        return sum(1 for unit in units if unit[-1] and not any(unit[:-1]))
    return sum(1 for unit in units if unit[0] and not any(unit[1:]))


def _wide_guesses(raw: bytes, first: int) -> tuple[list[str], list[str]]:
    """The BOM-less UTF-32/UTF-16 encodings the NULs of `raw` point to, sure ones and likely ones: in the first
    `HEAD` bytes after any leading hole, the code units below 256 (ASCII in that byte order) are at least half
    (sure) or an eighth (likely: Cyrillic, Greek or CJK text with spaces) of the units that are not all NUL, and
    those of the other byte order at most an eighth as many."""
    start = first - first % 4  # `first`: the first byte that is not NUL; a writer's holes keep its alignment
    sample = raw[start : start + HEAD]
    sure: list[str] = []
    likely: list[str] = []
    for codec in _WIDE:
        size = 4 if codec.startswith("utf-32") else 2
        units = [sample[i : i + size] for i in range(0, len(sample) - size + 1, size)]
        units = [unit for unit in units if any(unit)]  # a hole says nothing of the encoding
        big = codec.endswith("be")
        narrow, other = _narrow(units, big), _narrow(units, not big)
        if narrow and other * 8 <= narrow:
            if narrow * 2 >= len(units):
                sure.append(codec)
            elif narrow * 8 >= len(units):
                likely.append(codec)
    return sure, likely


def _read_as(raw: bytes, codec: str) -> str | None:
    """`raw` decoded by `codec` when it reads as text: strictly valid, and at most one odd character (a control;
    decoded from UTF-16/32, a run of NULs too: `_ODD_WIDE`) in a hundred that are not NUL. Each run of NULs (a
    hole) then becomes one NUL."""
    if codec == "utf-8":  # counted on the bytes, where a control is one byte: fast on a big log
        odd = len(raw) - len(raw.translate(None, _CONTROLS))
        if odd * 100 > len(raw) - raw.count(b"\x00"):
            return None
        try:
            return _NUL_RUNS_BYTES.sub(b"\x00", raw).decode("utf-8")
        except UnicodeDecodeError:
            return None
    try:
        text = raw.decode(codec)
    except UnicodeDecodeError:
        return None
    allowed = (len(text) - text.count("\x00")) // 100
    for seen, _ in enumerate(_ODD_WIDE.finditer(text), 1):
        if seen > allowed:  # stops early: a binary is not scanned to its end
            return None
    return _NUL_RUNS.sub("\x00", text)


def _decode_with_nuls(raw: bytes) -> str:
    """`raw`, holding NULs and no BOM, as text, else NotText("binary"). A hole keeps one NUL, not thousands: where
    it was stays visible and the model is not flooded (a hole can be as long as the log was); a single NUL (find
    -print0, /proc/*/environ) stays as it is. The verdict looks at all of `raw`, so where the NULs start does not
    change it."""
    kind = _magic(raw)
    if kind is not None:
        raise NotText("binary", f"it is {kind}")
    first = _FIRST_TEXT.search(raw)
    if first is None:
        raise NotText("binary", "it holds only NUL bytes, no text")
    sure, likely = _wide_guesses(raw, first.start())
    for codec in (*sure, "utf-8", *likely):
        text = _read_as(raw, codec)
        if text is not None:
            return text
    raise NotText("binary", _NOT_TEXT)


def decode_text(raw: bytes, *, refuse_nul: bool = True) -> str:
    """`raw` as text (see the module doc). Raises NotText. `refuse_nul` is no longer read: every source (files,
    folder members, standard input, bytes values) gets the one rule; it stays so that older callers still run."""
    for mark, codec, name in _MARKS:
        if raw.startswith(mark):
            try:
                return raw.decode(codec)  # the codec drops the mark
            except UnicodeDecodeError as exc:
                raise NotText(f"not {name}", f"its byte order mark says {name}, but byte {exc.start} is not") from None
    if b"\x00" in raw:
        return _decode_with_nuls(raw)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NotText("not UTF-8", f"bad byte at position {exc.start}") from None


def read_text(path: Path) -> str:
    """The text of the file at `path` by the rule. Raises OSError, NotText."""
    return decode_text(path.read_bytes())
