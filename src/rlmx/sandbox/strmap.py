"""A large ASCII context as a `str` laid over its mapped file: the worker neither decodes nor copies it.

Stdlib only, loaded by the worker by path (like frames.py); the host imports it for `PREFIX_BYTES`.

CPython keeps a compact ASCII string as a fixed header followed by its characters, one byte each, and a NUL. The
host writes such a context's file as `PREFIX_BYTES` zero bytes, the characters (`rlmx.strbuffer`) and a NUL. The
worker maps the file copy-on-write and writes a string header into the prefix, just before the characters, so
the mapped pages are the string's own storage: loading 40 MB costs a mapping instead of a 40 MB decode into fresh
memory (15-100 ms on the benchmark's VM, benchmarks/vs_official/NOTES.md change 17), and the zygote and every
worker it forks share the file's pages instead of each holding a copy.

The header is copied from a real string made here, after checking at run time that this interpreter lays strings
out as expected (length and hash where CPython 3.11-3.13 keep them, characters right after the header). Its
reference count is set so high that it never reaches zero (immortal from 3.12 on): the string is never freed,
so the mapping is never unmapped under it. Any other interpreter, a failed check or a malformed file gives None,
and the caller decodes the file as usual.
"""

from __future__ import annotations

import mmap
import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

PREFIX_BYTES = 4096
"""Zero bytes before a laid-out context's characters: room for the string header, and one page, so writing the
header copies only the first page of the mapping."""

_NEVER_FREED = 0xFFFFFFFF  # the immortal reference count of CPython 3.12+ on 64-bit; in 3.11 four billion references
_template: tuple[bytes, int] | None = None
_checked = False


def _header_template() -> tuple[bytes, int] | None:
    """A compact ASCII string's header as this interpreter writes it, and its size; None when the layout is not
    the one this module knows (another implementation or version, a free-threaded or debug build)."""
    global _template, _checked
    if _checked:
        return _template
    _checked = True
    if sys.implementation.name != "cpython" or not (3, 11) <= sys.version_info[:2] <= (3, 13):
        return None
    if "t" in getattr(sys, "abiflags", "") or sys.maxsize != 2**63 - 1:
        return None
    import ctypes

    size = sys.getsizeof("") - 1
    probe = "".join(["y"] * 777)  # made at run time: not interned, not shared
    expected_hash = hash(probe)
    raw = ctypes.string_at(id(probe), size + 778)
    length = int.from_bytes(raw[16:24], sys.byteorder, signed=True)
    cached_hash = int.from_bytes(raw[24:32], sys.byteorder, signed=True)
    if size < 32 or length != 777 or cached_hash != expected_hash or raw[size:] != b"y" * 777 + b"\0":
        return None
    _template = (raw[:size], size)
    return _template


def mapped_str(path: str) -> str | None:
    """The ASCII text of a laid-out context file at `path`, as a str over the file's mapped pages; None when this
    interpreter or this file does not allow it (the caller then decodes the file)."""
    template = _header_template()
    if template is None:
        return None
    header, size = template
    import ctypes

    libc: Any = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long)
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        total = os.fstat(fd).st_size
        chars = total - PREFIX_BYTES - 1
        if chars < 0:
            return None
        address = libc.mmap(None, total, mmap.PROT_READ | mmap.PROT_WRITE, mmap.MAP_PRIVATE, fd, 0)
    finally:
        os.close(fd)
    if address is None or address == ctypes.c_void_p(-1).value:
        return None
    if ctypes.string_at(address + total - 1, 1) != b"\0":
        libc.munmap(ctypes.c_void_p(address), ctypes.c_size_t(total))
        return None
    filled = bytearray(header)
    filled[0:8] = _NEVER_FREED.to_bytes(8, sys.byteorder)
    filled[16:24] = chars.to_bytes(8, sys.byteorder, signed=True)
    filled[24:32] = (-1).to_bytes(8, sys.byteorder, signed=True)  # hash not computed yet
    start = address + PREFIX_BYTES - size
    ctypes.memmove(start, bytes(filled), size)
    text: str = ctypes.cast(start, ctypes.py_object).value
    return text
