"""The frame codec (`rlmx.sandbox.frames.dumps` / `loads`): json.dumps' and json.loads' answers, from the C
accelerator the json module itself runs, so the REPL worker never imports json or re at start."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from typing import Any

import pytest

from rlmx.sandbox import frames

VALUES: list[Any] = [
    {"t": "call", "id": 7, "kind": "llm", "items": [{"prompt": "Who wrote it?"}], "model": None},
    {"t": "result", "stdout": "naïve café — 東京 🎉\n", "stderr": "", "error": None, "seconds": 0.000123},
    {"t": "x", "quote": 'a "b" \\ c', "controls": "\x00\x01\x1f\t\r\n\x7f", "line": "\u2028\u2029"},
    {"t": "x", "floats": [0.1, -0.0, 1e308, 5e-324, 1.0, 123456789.123456789, 2.5e-7]},
    {"t": "x", "specials": [math.inf, -math.inf]},
    {"t": "x", "ints": [0, -1, 2**63, -(2**100), True, False]},
    {3: "int key", 2.5: "float key", True: "bool key", None: "none key"},
    {"t": "x", "nested": [[[[{"a": [{}]}]]]], "empty": [[], {}, ""]},
    ["a", ("tuple", "becomes", "list")],
    "just a string",
    42,
    None,
]


@pytest.mark.parametrize("value", VALUES, ids=range(len(VALUES)))
def test_dumps_writes_what_json_dumps_writes(value: Any) -> None:
    assert frames.dumps(value) == json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@pytest.mark.parametrize("value", VALUES, ids=range(len(VALUES)))
def test_loads_reads_back_what_json_loads_reads(value: Any) -> None:
    text = json.dumps(value)
    assert repr(frames.loads(text)) == repr(json.loads(text))


def test_nan_round_trips_as_json_does() -> None:
    assert frames.dumps([math.nan]) == "[NaN]"
    assert math.isnan(frames.loads("[NaN]")[0])
    assert frames.loads("[Infinity, -Infinity]") == [math.inf, -math.inf]


def test_whitespace_around_a_document_is_allowed_and_nothing_else() -> None:
    assert frames.loads(' \n\t{"t": "x"}\r\n ') == {"t": "x"}
    with pytest.raises(ValueError, match="Extra data"):
        frames.loads('{"t": "x"} {"t": "y"}')
    with pytest.raises(ValueError, match="Extra data"):
        frames.loads('{"t": "x"}\x0b')  # str.strip() would take it; JSON does not


@pytest.mark.parametrize("text", ["", "   ", "{", '{"t": }', "[1,]", "nul", "'single'", "\ufeff{}", '{"a": "\\x"}'])
def test_malformed_json_is_a_value_error(text: str) -> None:
    with pytest.raises(ValueError):
        json.loads(text)
    with pytest.raises(ValueError):
        frames.loads(text)


def test_what_json_cannot_write_fails_as_it_does_and_a_later_value_is_unaffected() -> None:
    with pytest.raises(TypeError, match="Object of type set is not JSON serializable"):
        frames.dumps({"t": "x", "v": {1, 2}})
    with pytest.raises(TypeError, match="keys must be"):
        frames.dumps({("a", "b"): 1})
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(ValueError, match="Circular reference"):
        frames.dumps({"t": "x", "v": loop})
    shared = [1]
    assert frames.dumps({"a": shared, "b": shared}) == '{"a":[1],"b":[1]}'  # no stale marker from the failures


def test_a_frame_with_a_lone_surrogate_is_sent_with_a_replacement_character() -> None:
    body = frames.encode({"t": "result", "stdout": "cut \ud83d here"})[frames.HEADER.size :]
    assert frames.decode(body)["stdout"] == "cut \ufffd here"


def test_the_codec_is_bound_when_frames_is_loaded() -> None:
    """A cell that replaces json.dumps or json.loads does not reach the worker's own frames."""
    probe = (
        "import json\n"
        "json.dumps = json.loads = None\n"
        "from rlmx.sandbox import frames\n"
        "print(frames.dumps({'t': 'x'}), frames.loads('[1]'))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout == '{"t":"x"} [1]\n'


def test_frames_imports_neither_json_nor_re() -> None:
    """Loaded by path, as the worker loads it (the rlmx package itself imports both)."""
    probe = (
        "import sys\n"
        "code = compile(open(sys.argv[1]).read(), sys.argv[1], 'exec')\n"
        "exec(code, {'__name__': 'frames'})\n"
        "print(sorted({'json', 're'} & set(sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-S", "-c", probe, frames.__file__], capture_output=True, text=True, check=True
    )
    assert out.stdout == "[]\n"


def test_encodable_joins_pairs_and_replaces_lone_surrogates_as_the_regex_rule_does() -> None:
    """The rule, written with regexes as it was first: a pair becomes its character, a lone surrogate U+FFFD."""
    import random
    import re

    pair, lone = re.compile("[\ud800-\udbff][\udc00-\udfff]"), re.compile("[\ud800-\udfff]")

    def rule(text: str) -> str:
        joined = pair.sub(lambda m: chr(0x10000 + ((ord(m[0][0]) - 0xD800) << 10) + (ord(m[0][1]) - 0xDC00)), text)
        return lone.sub("\ufffd", joined)

    pieces = ["a", "é", "東", "\U0001f600", "\ud83d", "\ude00", "\udbff", "\udc00", "\ud800\udc00", " ", "\x00"]
    rng = random.Random(7)
    for _ in range(5_000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randrange(1, 12)))
        assert frames.encodable(text) == rule(text), ascii(text)
