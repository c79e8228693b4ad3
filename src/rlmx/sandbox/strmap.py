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

A mapped string shows later writes to its file (a private mapping keeps only the mapper's own writes private),
so a file is mapped only when nobody but root can change it while the worker lives: owned by root, with no write
permission, and read by a worker that does not run as root (root host, separate uid). Elsewhere (a non-root host,
where the file belongs to the worker's own uid) it is decoded into the worker's own memory, as before. The text's
bytes are trusted to be ASCII: the host wrote them from an ASCII str, into a file only root can change.
"""

from __future__ import annotations

import ctypes
import mmap
import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# Bound at import, before any cell: a cell that patches os or ctypes must not steer a later load.
_open, _fstat, _close = os.open, os.fstat, os.close
_string_at, _memmove, _cast, _py_object, _c_void_p = (
    ctypes.string_at,
    ctypes.memmove,
    ctypes.cast,
    ctypes.py_object,
    ctypes.c_void_p,
)

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
    flags = getattr(sys, "abiflags", "")
    if "t" in flags or "d" in flags or sys.maxsize != 2**63 - 1:  # free-threaded and debug builds differ
        return None
    size = sys.getsizeof("") - 1
    probe = "".join(["y"] * 777)  # made at run time: not interned, not shared
    expected_hash = hash(probe)
    raw = _string_at(id(probe), size + 778)
    length = int.from_bytes(raw[16:24], sys.byteorder, signed=True)
    cached_hash = int.from_bytes(raw[24:32], sys.byteorder, signed=True)
    if size < 32 or length != 777 or cached_hash != expected_hash or raw[size:] != b"y" * 777 + b"\0":
        return None
    _template = (raw[:size], size)
    return _template


def mapped_str(path: str, runs_as: int) -> str | None:
    """The ASCII text of a laid-out context file at `path`, as a str over the file's mapped pages, for a worker
    that runs (after hardening) as uid `runs_as`; None when this interpreter or this file does not allow it (the
    caller then decodes the file)."""
    template = _header_template()
    if template is None:
        return None
    header, size = template
    fd = _open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        status = _fstat(fd)
        if status.st_uid != 0 or runs_as == 0 or status.st_mode & 0o222:
            return None  # a file the worker (or anyone but root) could change: decoded instead
        total = status.st_size
        chars = total - PREFIX_BYTES - 1
        if chars < 0:
            return None
        address = _libc().mmap(None, total, mmap.PROT_READ | mmap.PROT_WRITE, mmap.MAP_PRIVATE, fd, 0)
    finally:
        _close(fd)
    if address is None or address == _c_void_p(-1).value:
        return None
    if _string_at(address + total - 1, 1) != b"\0":
        _libc().munmap(_c_void_p(address), total)
        return None
    filled = bytearray(header)
    filled[0:8] = _NEVER_FREED.to_bytes(8, sys.byteorder)
    filled[16:24] = chars.to_bytes(8, sys.byteorder, signed=True)
    filled[24:32] = (-1).to_bytes(8, sys.byteorder, signed=True)  # hash not computed yet
    start = address + PREFIX_BYTES - size
    _memmove(start, bytes(filled), size)
    text: str = _cast(start, _py_object).value
    return text


_libc_handle: Any = None


def _libc() -> Any:
    global _libc_handle
    if _libc_handle is None:
        libc: Any = ctypes.CDLL(None, use_errno=True)
        libc.mmap.restype = ctypes.c_void_p
        libc.mmap.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long)
        libc.munmap.argtypes = (ctypes.c_void_p, ctypes.c_size_t)
        _libc_handle = libc
    return _libc_handle


def prepare() -> None:
    """Check the layout and open libc now: the worker calls this when it starts, before any cell runs (the host
    imports this module only for PREFIX_BYTES and needs neither)."""
    _header_template()
    _libc()
