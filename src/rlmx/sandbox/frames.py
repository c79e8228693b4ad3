"""Length-prefixed JSON frames between the host and a REPL worker. Stdlib only: the worker imports it too.

A frame is a 4-byte big-endian length followed by that many bytes of UTF-8 JSON holding an object with a
string "t" (its type). Never pickle. The reader checks the length against its cap before reading the body.
Over stdio (the docker launcher) the same objects travel as JSON Lines, each line capped the same way.
"""

from __future__ import annotations

import json
import socket
import struct
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
)
RESERVED_NAMES = frozenset((*REPL_FUNCTIONS, "answer", "history"))
"""Names the REPL defines; a context may not take one."""
DEFAULT_MAX_FRAME_BYTES = 64 * 1024 * 1024
# Bound once: code in the worker that reassigns json.dumps must not break the worker's own channel.
_dumps = json.dumps
_loads = json.loads


class FrameProtocolError(Exception):
    """A frame was oversize, not JSON, or not an object with a string "t"."""


def encode(message: dict[str, Any], max_bytes: int = DEFAULT_MAX_FRAME_BYTES) -> bytes:
    body = _dumps(message, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
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
    if not isinstance(message, dict) or not isinstance(message.get("t"), str):
        raise FrameProtocolError("frame is not a JSON object with a string 't'")
    return message


def encode_line(message: dict[str, Any], max_bytes: int = DEFAULT_MAX_FRAME_BYTES) -> bytes:
    """JSON Lines, for stdio transports (containers, remote sandboxes): JSON escapes every newline in strings."""
    body = _dumps(message, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
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
