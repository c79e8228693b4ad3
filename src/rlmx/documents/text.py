"""Bytes from outside (files, standard input, bytes contexts) as text, by one rule for every source: UTF-8, or
UTF-16 / UTF-32 when a byte order mark says so (Windows Notepad's "Unicode", PowerShell 5's pipes and redirects);
a UTF-8 BOM is dropped. Bytes that hold NULs and no BOM are text too when they read as such: UTF-16 / UTF-32
without a BOM (told by where the NULs sit), or UTF-8 with holes of NULs (logrotate's `copytruncate`, sparse files,
a log written after a crash). Anything else is refused with the reason, never guessed (Latin-1 would read any
bytes)."""

from __future__ import annotations

import codecs
import functools
import re
import unicodedata
from pathlib import Path
from typing import BinaryIO

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


def read_up_to(handle: BinaryIO, size: int) -> bytes:
    """Up to `size` bytes of an unbuffered file, fewer only at its end. One read() of a regular file may return
    less than asked: /proc and /sys files give one page (~4 KB) a call and say their size is 0, network and FUSE
    file systems may stop short; a single read cut /proc/self/smaps (31 KB) to its first 3.9 KB, silently."""
    pieces: list[bytes] = []
    got = 0
    while got < size:
        piece = handle.read(size - got)
        if not piece:
            break
        pieces.append(piece)
        got += len(piece)
    return b"".join(pieces)


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
    (0, b"\x93NUMPY", "a NumPy array (.npy)"),
)

_WIDE = ("utf-32-le", "utf-32-be", "utf-16-le", "utf-16-be")  # UTF-32's first: "a\0\0\0" is also UTF-16LE "a\0"
_CONTROLS = bytes([*range(1, 9), *range(14, 27), *range(28, 32), 127])
"""Controls that text does not hold (tab, LF, VT, FF, CR and ESC are text's own; NUL is counted apart)."""


@functools.cache  # built on the first BOM-less UTF-16/32 guess (some ms), not at every import
def _odd_wide() -> re.Pattern[str]:
    """What counts against UTF-16/32 reading as text: a control (C0 or C1, but text's own), in the BMP an unassigned,
    private use or surrogate code point (numbers, an int16 or float array, read as UTF-16 land there; text does
    not), a private use plane, or a run of NULs. Unassigned ones past the BMP are not counted: new emoji are there,
    newer than `unicodedata`. In UTF-8 a NUL alone is text's own (find -print0, /proc/*/environ)."""
    odd = {*_CONTROLS, *range(0x80, 0xA0)}
    odd.update(c for c in range(0x100, 0x10000) if unicodedata.category(chr(c)) in ("Cn", "Co", "Cs"))
    runs: list[list[int]] = []
    for code in sorted(odd):
        if runs and runs[-1][1] == code - 1:
            runs[-1][1] = code
        else:
            runs.append([code, code])
    body = "".join(re.escape(chr(a)) + (f"-{re.escape(chr(b))}" if b > a else "") for a, b in runs)
    return re.compile(f"[{body}\U000f0000-\U0010ffff]|\x00+")


_ASCII_TEXT = re.compile("[\t\n\r -~]")  # spaces, line ends, digits, Latin letters: what text in any script holds
_LATIN_TEXT = re.compile("[\t\n\r -~À-ÖØ-öø-ÿ]")  # the same and Latin-1's letters: "é" alone in UTF-16 is text
_CJK_ONLY = re.compile("[\u3000-\u30ff\u4e00-\u9fff\uac00-\ud7a3\uff01-\uff5e\x00]+")
"""UTF-16 Chinese or Japanese with no ASCII at all: its NULs are only those of U+3000, U+4E00 and the like."""
_WORD = 16
"""A reading this short (a word or two: "é", "ñandú") may be text with no ASCII in it; a longer one holds some."""
_BLANK = re.compile("[\t\n\r ]")
_NUL_RUNS = re.compile("\x00\x00+")  # with a literal head: several times faster than \x00{2,}
_NUL_RUNS_BYTES = re.compile(b"\x00\x00+")
_FIRST_TEXT = re.compile(rb"[^\x00]")
_NOT_TEXT = "it holds NUL bytes and does not read as text in UTF-8, UTF-16 or UTF-32"


class NotText(ValueError):
    """Bytes this rule does not read as text. `short`: "binary" or "not UTF-8" (or "not UTF-16", ...); str() adds
    the detail: where the first bad byte is, or why bytes holding NULs are not text."""

    def __init__(self, short: str, detail: str, kind: str | None = None) -> None:
        super().__init__(f"{short}: {detail}")
        self.short = short
        self.kind = kind
        """What its first bytes say it is ("a PDF"), when they say it."""


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
        raise NotText("binary", f"it is {kind}", kind)
    if not any(_prefix_decodes(head, codec) for codec in ("utf-8", *_WIDE)):
        raise NotText("binary", _NOT_TEXT)


def _wide_text(raw: bytes, codec: str) -> str | None:
    """`raw` strictly decoded by `codec` up to its last whole character, else None: a file cut short (`head -c`, an
    interrupted copy) ends in half a code unit or half a surrogate pair, and the encoding is known already."""
    try:
        return codecs.getincrementaldecoder(codec)().decode(raw, final=False)
    except UnicodeDecodeError:
        return None


def _wide_guesses(raw: bytes, first: int) -> tuple[list[str], list[str]]:
    """The BOM-less UTF-32/UTF-16 encodings that `raw` may be in, best first: sure ones and likely ones. Each byte
    order reads the first `HEAD` bytes after any leading hole strictly and is scored on what it reads: ASCII (spaces,
    line ends, digits, Latin letters: text in any script holds some, at least one in 256) and Latin-1's letters,
    less what `_odd_wide` counts (a msgpack read as UTF-16 has more of it than of ASCII). Both orders are
    scored alike: a character that puts a NUL where the other order's ASCII would (U+3000, U+4E00, the low half of
    an emoji) does not rule out the right order. Sure: ASCII is at least half of what it reads and a space or a line
    end is among it (tried before UTF-8); likely: some (after). A reading longer than a word with no ASCII is not
    text: an int16 array read as UTF-16 is all Latin-1 symbols or CJK, without a space or a line end."""
    start = first - first % 4  # `first`: the first byte that is not NUL; a writer's holes keep its alignment
    sample = raw[start : start + HEAD]
    odd = _odd_wide()
    scored: list[tuple[int, str, bool]] = []
    for codec in _WIDE:
        text = _wide_text(sample, codec)
        if not text:
            continue
        shown = len(text) - text.count("\x00")
        latin, bad = len(_LATIN_TEXT.findall(text)), len(odd.findall(text))
        if latin > bad and latin * 256 >= shown and (shown <= _WORD or _ASCII_TEXT.search(text)):
            # UTF-16 is sure only with a space or a line end: UTF-8 records a NUL ends ("x=1\0y=2\0", `seq 9 | tr '\n'
            # '\0'`) read as UTF-16 hold ASCII too ("1\0" is UTF-16LE's "1"); UTF-32 has no such twin
            sure = latin * 2 >= shown and ("32" in codec or _BLANK.search(text) is not None)
            scored.append((latin - bad, codec, sure))
        elif shown > _WORD and _CJK_ONLY.fullmatch(text):
            scored.append((0, codec, False))
    scored.sort(key=lambda entry: -entry[0])  # stable: UTF-32's first on a tie ("a\0\0\0" is UTF-16LE "a\0" too)
    return [codec for _, codec, sure in scored if sure], [codec for _, codec, sure in scored if not sure]


def _read_as(raw: bytes, codec: str) -> str | None:
    """`raw` decoded by `codec` when it reads as text: strictly valid (UTF-16/32 up to its last whole character: a
    cut file), and at most one odd character (a control; decoded from UTF-16/32, what `_odd_wide` counts) in a
    hundred that are not NUL. Each run of NULs (a hole) then becomes one NUL."""
    if codec == "utf-8":  # counted on the bytes, where a control is one byte: fast on a big log
        odd = len(raw) - len(raw.translate(None, _CONTROLS))
        if odd * 100 > len(raw) - raw.count(b"\x00"):
            return None
        try:
            return _NUL_RUNS_BYTES.sub(b"\x00", raw).decode("utf-8")
        except UnicodeDecodeError:
            return None
    text = _wide_text(raw, codec)
    if text is None:
        return None
    allowed = (len(text) - text.count("\x00")) // 100
    for seen, _ in enumerate(_odd_wide().finditer(text), 1):
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
        raise NotText("binary", f"it is {kind}", kind)
    first = _FIRST_TEXT.search(raw)
    if first is None:
        raise NotText("binary", "it holds only NUL bytes, no text")
    sure, likely = _wide_guesses(raw, first.start())
    # sure of UTF-16/32: UTF-8 would read it with a NUL after every letter ("I\0N\0F\0O"), never rightly
    for codec in (*sure, *likely) if sure else ("utf-8", *likely):
        text = _read_as(raw, codec)
        if text is not None:
            return text
    raise NotText("binary", _NOT_TEXT)


def decode_text(raw: bytes) -> str:
    """`raw` as text (see the module doc): every source (files, folder members, standard input, bytes values) gets
    this one rule. Raises NotText."""
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
        kind = _magic(raw)  # a PDF holds no NUL in its first bytes, only bytes UTF-8 has no place for
        if kind is not None:
            raise NotText("binary", f"it is {kind}", kind) from None
        raise NotText("not UTF-8", f"bad byte at position {exc.start}{_utf16_hint(raw)}") from None


def _utf16_hint(raw: bytes) -> str:
    """For bytes that are not UTF-8 and hold no NUL: UTF-16 with no ASCII in it (all CJK) holds no NUL either and is
    not told apart from Latin-1, GBK or EUC-KR reliably, so it is not guessed; the message says how to pass it."""
    if len(raw) % 2:
        return ""
    for codec, name in (("utf-16-le", "UTF-16LE"), ("utf-16-be", "UTF-16BE")):
        text = _wide_text(raw[:HEAD], codec)
        if text and len(text) > _WORD and _CJK_ONLY.fullmatch(text):
            return f"; if it is {name} without a byte order mark, add the mark or convert it (iconv -f {name} -t UTF-8)"
    return ""


def read_text(path: Path) -> str:
    """The text of the file at `path` by the rule. Raises OSError, NotText."""
    return decode_text(path.read_bytes())
