"""One rule for every string that leaves rlmx (frames, context files, trace lines, HTTP bodies): a lone UTF-16
surrogate becomes U+FFFD, a surrogate pair the character it encodes, and encoding never raises."""

from __future__ import annotations

import json

import pytest

from rlmx.events import Event
from rlmx.sandbox import frames

HALF_EMOJI = "loved it \ud83d"


@pytest.mark.parametrize(
    ("text", "clean"),
    [
        ("plain", "plain"),
        ("\ud800", "\ufffd"),
        ("a\udc80b\ud800", "a\ufffdb\ufffd"),
        ("\ud83d\ude00 pair", "\U0001f600 pair"),
    ],
)
def test_encodable(text: str, clean: str) -> None:
    assert frames.encodable(text) == clean
    assert frames.utf8(text) == clean.encode("utf-8")


def test_frames_carry_lone_surrogates_as_replacement_characters() -> None:
    encoded = frames.encode({"t": "result", "stdout": HALF_EMOJI})
    assert frames.decode(encoded[frames.HEADER.size :])["stdout"] == "loved it \ufffd"
    line = frames.encode_line({"t": "result", "stdout": HALF_EMOJI})
    assert frames.decode_line(line)["stdout"] == "loved it \ufffd"


def test_a_frame_nested_too_deeply_is_a_protocol_error_not_a_crash() -> None:
    body = ("[" * 100_000 + "]" * 100_000).encode()
    with pytest.raises(frames.FrameProtocolError):
        frames.decode(b'{"t": "x", "v": ' + body + b"}")


def test_trace_lines_are_encodable() -> None:
    line = Event("lm_call", "run", "0", None, 0, {"response": HALF_EMOJI}).to_json()
    assert json.loads(line.encode("utf-8"))["response"] == "loved it \ufffd"


def test_http_bodies_are_encodable() -> None:
    pytest.importorskip("starlette")
    from rlmx.server.app import JSONResponse
    from rlmx.server.openai_compat import sse

    assert json.loads(JSONResponse({"content": HALF_EMOJI}).body)["content"] == "loved it \ufffd"
    assert sse({"content": HALF_EMOJI}).encode("utf-8").endswith(b'\xef\xbf\xbd"}\n\n')
