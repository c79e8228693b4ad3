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


def checked_key(key: str, what: str) -> str:
    """`trimmed_key(key)`; raises InputError, naming `what` (e.g. "the API key"), for a key that still holds a
    control character (no HTTP header can carry one), an invisible mark, a space or a quote."""
    key = trimmed_key(key)
    for position, char in enumerate(key, 1):
        if ord(char) < 32 or ord(char) == 127:
            raise InputError(
                f"{what} holds a control character (a line break or a NUL inside it?); pass the key itself (on the "
                "command line: --api-key-env NAME_OF_THE_VARIABLE_HOLDING_IT)"
            )
        category = unicodedata.category(char)
        if category in ("Cf", "Zs", "Zl", "Zp", "Pi", "Pf") or char in "\"'":
            name = unicodedata.name(char, "an unnamed character")
            raise InputError(
                f"{what} holds U+{ord(char):04X} ({name}) at character {position} of {len(key)}, which no key has: "
                "it came along with a copy or a key file; remove it and give the key itself"
            )
    return key
