"""Length-prefixed JSON frames between the host and a REPL worker. Stdlib only: the worker imports it too.

A frame is a 4-byte big-endian length followed by that many bytes of UTF-8 JSON holding an object with a
string "t" (its type). Never pickle. The reader checks the length against its cap before reading the body.
Over stdio (the docker launcher) the same objects travel as JSON Lines, each line capped the same way.
"""

from __future__ import annotations

import _codecs
import struct
import sys

# Every sandbox start waits for the worker's imports, so this module takes JSON from the C accelerator `_json`
# (what `json` itself runs) and surrogates to the C codec functions in `_codecs`: `json` and `re` cost the worker
# ~6 ms (benchmarks/vs_official/NOTES.md, change 21). The output is json.dumps' byte for byte
# (tests/test_frames_codec.py).
try:
    import _json
except ImportError:  # an interpreter without the accelerator: the stdlib module then
    _json = None  # type: ignore[assignment]

TYPE_CHECKING = False  # not typing's: the worker imports this module, and `typing` costs it 4 ms at every start
if TYPE_CHECKING:
    import socket
    from typing import Any

HEADER = struct.Struct(">I")
REPL_FUNCTIONS = (
    "llm_query",
    "llm_query_batched",
    "rlm_query",
    "rlm_query_batched",
    "FINAL",
    "FINAL_VAR",
    "SUBMIT",
    "SHOW_VARS",
    "call_tool",
)
RESERVED_NAMES = frozenset((*REPL_FUNCTIONS, "answer", "history", "workspace_dir"))
"""Names the REPL defines (`workspace_dir`: the files= folder, rlmx.workspace); a context or tool may not take one."""
DEFAULT_MAX_FRAME_BYTES = 64 * 1024 * 1024
MAX_NESTING = 256
"""The deepest nesting of lists and dicts a value may have to cross the boundary (a context, FINAL's value, a
child's context). JSON's recursive coders overflow the stack far deeper than real data ever nests."""


def _not_serializable(value: object) -> object:
    raise TypeError(f"Object of type {value.__class__.__name__} is not JSON serializable")


LONGEST_INT_DIGITS: int = sys.int_info.default_max_str_digits
"""The most digits an int may have to cross the boundary (4,300): Python's default limit on converting between int
and text (CVE-2020-10735). Either side reads numbers under it, whatever limit the other process has set."""
_LONGEST_INT = 10**LONGEST_INT_DIGITS
_SAFE_DIGITS = 640
"""The fewest digits `sys.set_int_max_str_digits` may allow: int() of this many works under any limit a cell sets."""


def int_too_long(value: int) -> str | None:
    """Why int `value` may not cross the boundary as a number (more than LONGEST_INT_DIGITS digits), else None."""
    if value.bit_length() <= 14_000 or abs(value) < _LONGEST_INT:  # 2**14000 < 10**4300: most ints stop at once
        return None
    return (
        f"an int of more than {LONGEST_INT_DIGITS:,} digits (Python's default limit for int-to-text conversion) cannot "
        "be sent as a number; send its text instead: sys.set_int_max_str_digits(0), then str(n)"
    )


def _int_of_digits(text: str) -> int:
    """int(text) for a JSON integer of up to LONGEST_INT_DIGITS digits whatever limit this process has set (a cell
    may lower it to 640); a longer one raises ValueError, as int() does under the default limit."""
    digits = text.removeprefix("-")
    if len(digits) > LONGEST_INT_DIGITS:
        raise ValueError(f"an int of {len(digits):,} digits is over the {LONGEST_INT_DIGITS:,} a frame may carry")
    value = 0
    for start in range(0, len(digits), _SAFE_DIGITS):
        chunk = digits[start : start + _SAFE_DIGITS]
        value = value * 10 ** len(chunk) + int(chunk)
    return -value if len(digits) < len(text) else value


_CONSTANTS = {"-Infinity": float("-inf"), "Infinity": float("inf"), "NaN": float("nan")}
_WHITESPACE = " \t\n\r"


class _ScannerSettings:
    """What `_json.make_scanner` reads off a json.JSONDecoder: the defaults of `json.loads`."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int: Any = int
    parse_constant = _CONSTANTS.__getitem__


class _LongIntSettings(_ScannerSettings):
    """The same, with ints read whatever limit the process has set on int-to-text conversion (`_int_of_digits`)."""

    parse_int = staticmethod(_int_of_digits)


_MAKE_ENCODER: Any = getattr(_json, "make_encoder", None)
_ENCODE_STRING: Any = getattr(_json, "encode_basestring", None)
"""Bound once, like the codec itself: a cell that patches `_json` must not break the worker's channel."""


def _c_dumps(value: Any) -> str:
    """json.dumps(value, ensure_ascii=False, separators=(",", ":")), from the C encoder json.dumps itself uses. A
    fresh encoder per call, as json.dumps makes: its circular-reference markers stay behind when a value fails."""
    encode = _MAKE_ENCODER({}, _not_serializable, _ENCODE_STRING, None, ":", ",", False, False, True)
    chunks = encode(value, 0)
    return chunks if isinstance(chunks, str) else "".join(chunks)


_scan: Any = None
"""The C scanner, made once: it calls back into no Python code (int, float and the constants are C), so no call
can run inside another, and it keeps nothing between calls."""


def _c_loads(text: str) -> Any:
    """json.loads(text) for a str, from the C scanner json.loads itself uses. Raises ValueError."""
    global _scan
    if _scan is None:
        _scan = _json.make_scanner(_ScannerSettings())  # type: ignore[arg-type]  # reads these attributes only
    try:
        return _scanned(_scan, text)
    except ValueError:  # perhaps an int over a limit a cell lowered (sys.set_int_max_str_digits): read it as under the
        # default one. A scanner of its own, made now: it calls Python code, which the shared one must never do.
        return _scanned(_json.make_scanner(_LongIntSettings()), text)  # type: ignore[arg-type]


def _scanned(scan: Any, text: str) -> Any:
    start = len(text) - len(text.lstrip(_WHITESPACE))
    try:
        value, end = scan(text, start)
    except StopIteration as stop:
        raise ValueError(f"Expecting value: char {stop.value}") from None
    except ImportError:  # the scanner imports json.decoder for its error; a hardened worker may not reach it
        raise ValueError("malformed JSON") from None
    if text[end:].strip(_WHITESPACE):
        raise ValueError(f"Extra data: char {end}")
    return value


def _bind_codec() -> tuple[Any, Any]:
    """The C codec when it gives json's own answers here, else json's functions. Bound once: code in the worker
    that reassigns json.dumps must not break the worker's own channel."""
    if _json is not None:
        try:
            if _c_dumps({"t": ["é", 1.5, None, True]}) == '{"t":["é",1.5,null,true]}' and _c_loads(' {"a":[1]} ') == {
                "a": [1]
            }:
                return _c_dumps, _c_loads
        except (TypeError, ValueError, AttributeError):
            pass
    import json

    def dumps(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))

    return dumps, json.loads


_dumps, _loads = _bind_codec()


class FrameProtocolError(Exception):
    """A frame was oversize, not JSON, or not an object with a string "t"."""


class UnreadFrame(FrameProtocolError):
    """A whole frame, taken off the channel, that could not be decoded for want of memory (MemoryError).
    `call_id`: the call it answers when it is a reply (read off its first bytes, `unread`), else None; `size` in
    bytes."""

    def __init__(self, call_id: int | None, size: int) -> None:
        super().__init__(f"a frame of {size:,} bytes did not fit in the memory left")
        self.call_id = call_id
        self.size = size


_REPLY_HEAD = b'{"t":"reply","id":'
"""How every reply frame's body begins (the host's `send_reply`, written by `dumps`)."""


def unread(body: bytes | bytearray | memoryview, start: int = 0) -> UnreadFrame:
    """The UnreadFrame for frame body `body[start:]`, its call id read off its head without decoding the rest."""
    head = bytes(body[start : start + len(_REPLY_HEAD) + 24])
    digits = head.removeprefix(_REPLY_HEAD).partition(b",")[0] if head.startswith(_REPLY_HEAD) else b""
    return UnreadFrame(int(digits) if digits.isdigit() else None, len(body) - start)


def encodable(text: str) -> str:
    """`text` made valid Unicode: each lone UTF-16 surrogate (from `json.loads` of text cut in half an emoji, or a
    `surrogateescape` decode) becomes U+FFFD, and a surrogate pair becomes the character it encodes.

    The one rule for every string that leaves the process (frames, context files, trace lines, HTTP bodies): it is
    made encodable here, never an exception for the caller. Costs one failed encode only when there is a surrogate.
    """
    if text.isascii():  # most text, known without a pass over it (CPython keeps the flag)
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # Through UTF-16 with the C codec functions themselves: a pair becomes one code unit pair and decodes to its
        # character, a lone surrogate decodes to U+FFFD. No codec lookup and no import (a hardened worker may not
        # be able to import one, and a cell may have broken imports), so this never raises.
        units = _codecs.utf_16_le_encode(text, "surrogatepass")[0]
        return str(_codecs.utf_16_le_decode(units, "replace", True)[0])
    return text


def escaped(text: str) -> str:
    """`text` made valid Unicode with each lone surrogate written as a backslash escape ("caf\\udce9.txt"; a pair
    becomes its character): for names, dict keys and file names, where U+FFFD could make two of them one and lose a
    value. Never raises."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        try:  # escaped bytes that are UTF-8 (a file name read under a C locale): the name they spell
            return text.encode("utf-8", "surrogateescape").decode("utf-8")
        except UnicodeError:
            pass
        units = _codecs.utf_16_le_encode(text, "surrogatepass")[0]
        joined = str(_codecs.utf_16_le_decode(units, "surrogatepass", True)[0])
        return joined.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def valid_strings(value: Any) -> Any:
    """`value` (what json.loads or ast.literal_eval makes) with every string in it made valid Unicode: values by
    `encodable`, dict keys by `escaped` (two keys stay two); containers are rebuilt (tuples stay tuples), other
    values kept."""
    # Loops, not comprehensions: each comprehension is a frame of its own, and a value json.loads could build just
    # under the recursion limit must not pass it here.
    if isinstance(value, str):
        return encodable(value)
    if isinstance(value, dict):
        fixed = {}
        for key, item in value.items():
            fixed[escaped(key) if isinstance(key, str) else key] = valid_strings(item)
        return fixed
    if isinstance(value, list | tuple):
        items = []
        for item in value:
            items.append(valid_strings(item))
        return items if isinstance(value, list) else tuple(items)
    return value


def utf8(text: str) -> bytes:
    """`text` as UTF-8 bytes, lone surrogates replaced (see `encodable`). Never raises."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return encodable(text).encode("utf-8")


_LEAVE = object()


def nesting_problem(value: Any, limit: int = MAX_NESTING) -> str | None:
    """Why `value` cannot cross as JSON because of its shape, or None: lists, tuples and dicts nested deeper than
    `limit`, or one that holds itself. Iterative, so it never raises RecursionError; linear in the value's size."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    on_path: set[int] = set()
    while stack:
        item, depth = stack.pop()
        if item is _LEAVE:
            on_path.discard(depth)  # for a leave marker, `depth` holds the container's id
            continue
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        ident = id(item)
        if ident in on_path:
            return "it contains itself (a circular reference)"
        if depth > limit:
            return f"it is nested more than {limit} levels deep"
        on_path.add(ident)
        stack.append((_LEAVE, ident))
        stack.extend((child, depth + 1) for child in children if isinstance(child, list | tuple | dict))
    return None


def dumps(value: Any) -> str:
    """`json.dumps(value, ensure_ascii=False, separators=(",", ":"))`, bound when this module loaded (see
    `_bind_codec`). Raises TypeError, ValueError or RecursionError as json.dumps does."""
    text: str = _dumps(value)
    return text


def loads(text: str) -> Any:
    """`json.loads(text)`, bound when this module loaded. Raises ValueError (json.JSONDecodeError is one) or
    RecursionError."""
    return _loads(text)


def _body(message: dict[str, Any]) -> bytes:
    try:
        text = dumps(message)
        try:
            return text.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates: U+FFFD in strings, escapes in dict keys (two keys stay two)
            return dumps(valid_strings(message)).encode("utf-8")
    except (TypeError, ValueError, RecursionError) as exc:
        raise FrameProtocolError(f"the message cannot be sent as JSON: {type(exc).__name__}: {exc}") from None


def encode(message: dict[str, Any], max_bytes: int = DEFAULT_MAX_FRAME_BYTES) -> bytes:
    body = _body(message)
    if len(body) > max_bytes:
        raise FrameProtocolError(f"frame of {len(body):,} bytes is over the {max_bytes:,}-byte cap")
    return HEADER.pack(len(body)) + body


def check_length(length: int, max_bytes: int) -> None:
    if length > max_bytes:
        raise FrameProtocolError(f"frame announces {length:,} bytes, over the {max_bytes:,}-byte cap")


def decode(body: bytes) -> dict[str, Any]:
    try:
        message = _loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise FrameProtocolError(f"frame is not UTF-8 JSON: {exc}") from None
    except RecursionError:
        raise FrameProtocolError("frame nests JSON too deeply") from None
    if not isinstance(message, dict) or not isinstance(message.get("t"), str):
        raise FrameProtocolError("frame is not a JSON object with a string 't'")
    return message


def encode_line(message: dict[str, Any], max_bytes: int = DEFAULT_MAX_FRAME_BYTES) -> bytes:
    """JSON Lines, for stdio transports (containers, remote sandboxes): JSON escapes every newline in strings."""
    body = _body(message)
    if len(body) >= max_bytes:
        raise FrameProtocolError(f"line of {len(body):,} bytes is over the {max_bytes:,}-byte cap")
    return body + b"\n"


def decode_line(line: bytes, max_bytes: int = DEFAULT_MAX_FRAME_BYTES) -> dict[str, Any]:
    if len(line) > max_bytes or not line.endswith(b"\n"):
        raise FrameProtocolError(f"a line over the {max_bytes:,}-byte cap, or cut short")
    return decode(line[:-1])


def _recv_exactly(sock: socket.socket, size: int) -> bytes:
    chunks = []
    remaining = size
    while remaining:
        chunk = sock.recv(min(remaining, 1 << 20))
        if not chunk:
            raise EOFError("peer closed the frame channel")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def recv_blocking(sock: socket.socket, max_bytes: int = DEFAULT_MAX_FRAME_BYTES) -> dict[str, Any]:
    (length,) = HEADER.unpack(_recv_exactly(sock, HEADER.size))
    check_length(length, max_bytes)
    return decode(_recv_exactly(sock, length))


def send_blocking(sock: socket.socket, message: dict[str, Any], max_bytes: int = DEFAULT_MAX_FRAME_BYTES) -> None:
    sock.sendall(encode(message, max_bytes))
