"""The bytes of an ASCII `str`, read in place: no encoded copy.

CPython stores a "compact ASCII" string's characters, one byte each, right after the object's header, and those
bytes are also its UTF-8. A 40 MB context is written to the sandbox's file and hashed from that memory directly,
where encoding it (even 64 Ki characters at a time) costs a second pass over it and, on a VM, fresh pages to hold
the copies (benchmarks/vs_official/NOTES.md, change 17). Any other string, or another Python implementation, gets
None and the caller encodes as before.
"""

from __future__ import annotations

import sys
from typing import Any

MIN_CHARS = 1 << 20
"""Below this the encoded copy is cheap, and ctypes is not worth importing."""


def ascii_bytes(text: str) -> memoryview | None:
    """A read-only byte view of `text`'s characters when `text` is an exact `str`, ASCII, at least `MIN_CHARS`
    long and stored the compact way (CPython); else None. The view keeps `text` alive."""
    if sys.implementation.name != "cpython" or type(text) is not str or len(text) < MIN_CHARS or not text.isascii():
        return None
    import ctypes

    header = sys.getsizeof("") - 1  # the compact ASCII header; an empty string's size counts its one NUL byte
    array: Any = (ctypes.c_char * len(text)).from_address(id(text) + header)
    array.keep = text  # the view holds the array, the array holds the string
    view = memoryview(array).cast("B").toreadonly()
    # A layout this module does not know would show here: the first and last characters must be where expected.
    if view[0] != ord(text[0]) or view[-1] != ord(text[-1]) or view[len(view) // 2] != ord(text[len(text) // 2]):
        return None
    return view
