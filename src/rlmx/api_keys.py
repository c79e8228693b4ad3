"""An API key as a user gives it (pasted, read from a file, an environment variable) and as HTTP carries it.

What a copy or a key file brings along is dropped from the ends: blanks and line ends, invisible format characters
(a byte order mark from a file saved as "UTF-8 with BOM", a zero-width space copied from a web page) and one pair
of quotes around the whole (`"sk-..."` from a .env line, curly ones from a document). The same characters inside
the key are refused, naming the character and where it is: the server would only say the key is wrong, and the
key looks right when printed.
"""

from __future__ import annotations

import unicodedata

from rlmx.errors import InputError

_QUOTE_PAIRS = {'"': '"', "'": "'", "\u201c": "\u201d", "\u2018": "\u2019", "\u00ab": "\u00bb", "\u201e": "\u201c"}


def _blank(char: str) -> bool:
    """A blank or a character that shows nothing (a byte order mark, a zero-width space, a no-break space)."""
    return char.isspace() or unicodedata.category(char) in ("Cf", "Zs", "Zl", "Zp")


def trimmed_key(key: str) -> str:
    """`key` without the blanks, invisible marks and one pair of quotes around it."""
    start, end = 0, len(key)
    while start < end and _blank(key[start]):
        start += 1
    while end > start and _blank(key[end - 1]):
        end -= 1
    if end - start >= 2 and _QUOTE_PAIRS.get(key[start]) == key[end - 1]:
        return trimmed_key(key[start + 1 : end - 1])
    return key[start:end]


_CONTROL_NAMES = {
    0x00: "NULL",
    0x09: "CHARACTER TABULATION",
    0x0A: "LINE FEED",
    0x0B: "LINE TABULATION",
    0x0C: "FORM FEED",
    0x0D: "CARRIAGE RETURN",
    0x1B: "ESCAPE",
    0x7F: "DELETE",
    0x85: "NEXT LINE",
}
"""Unicode's names (aliases) of the control characters a key is likeliest to carry: unicodedata names none."""


def _shown(char: str) -> str:
    """`U+000A (LINE FEED)`: a character as the errors name it (`U+0001` for a control character with no name)."""
    name = _CONTROL_NAMES.get(ord(char)) or unicodedata.name(char, "")
    return f"U+{ord(char):04X}" + (f" ({name})" if name else "")


def checked_key(key: str, what: str) -> str:
    """`trimmed_key(key)`; raises InputError, naming `what` (where the key came from, e.g. "the API key in
    RLMX_API_KEY") and the character and its place (`U+000A (LINE FEED) at character 3 of 6`), for a key that still
    holds a control character (no HTTP header can carry one), an invisible mark, a space or a quote."""
    key = trimmed_key(key)
    for position, char in enumerate(key, 1):
        category = unicodedata.category(char)
        place = f"at character {position} of {len(key)}"
        if category == "Cc":
            raise InputError(
                f"{what} holds a control character, {_shown(char)}, {place}, which no HTTP header can carry (two "
                "lines, or a key and more, in one value?): give the key alone"
            )
        if category in ("Cf", "Zs", "Zl", "Zp", "Pi", "Pf") or char in "\"'":
            raise InputError(
                f"{what} holds {_shown(char)} {place}, which no key has: it came along with a copy or a key file; "
                "remove it and give the key itself"
            )
    return key
