"""make_suite (family x lengths x n) and sizes measured in a named tokenizer (registered, or cl100k offline)."""

from __future__ import annotations

import importlib.util

import pytest

from rlmx.bench import generate, make_suite, manifest
from rlmx.bench.suite import count, generate_counted, register_tokenizer
from rlmx.errors import InputError


def test_make_suite_is_family_by_lengths_by_n() -> None:
    tasks = make_suite("sniah", lengths=[8192, 16384], n_per_length=3, seed=4)
    assert [(t.metadata["n_tokens"] // 1000, t.id.rsplit("-i", 1)[1]) for t in tasks] == [
        (8, "0"),
        (8, "1"),
        (8, "2"),
        (16, "0"),
        (16, "1"),
        (16, "2"),
    ]
    assert manifest(tasks[4]) == manifest(generate("sniah", seed=4, target_tokens=16384, index=1))
    with pytest.raises(InputError, match="n_per_length"):
        make_suite("sniah", lengths=[8192], n_per_length=0)


def _words(text: str) -> int:
    """A made-up tokenizer: one token per whitespace-separated word plus one per newline."""
    return len(text.split()) + text.count("\n")


def test_a_registered_tokenizer_sets_the_size_within_one_percent() -> None:
    register_tokenizer("words", _words)
    for family in ("sniah", "oolong", "docs"):
        task = generate_counted(family, seed=1, target_tokens=8192, index=1, tokenizer_name="words")
        assert task.metadata["tokenizer"] == "words" and task.params["tokenizer"] == "words"
        assert task.metadata["n_tokens"] == count(task.context, "words")
        assert abs(task.metadata["n_tokens"] - 8192) <= 82, family
        assert task.metadata["n_tokens_chars4"] > task.metadata["n_tokens"]  # words are longer than 4 chars
        again = generate_counted(family, seed=1, target_tokens=8192, index=1, tokenizer_name="words")
        assert again.metadata["sha256_context"] == task.metadata["sha256_context"]
    with pytest.raises(InputError, match="unknown tokenizer"):
        generate_counted("sniah", seed=1, target_tokens=8192, index=1, tokenizer_name="nope")
    with pytest.raises(InputError, match="other than"):
        register_tokenizer("chars4", _words)


@pytest.mark.skipif(importlib.util.find_spec("tiktoken") is None, reason="the bench extra (tiktoken) is not installed")
def test_cl100k_offline_targets() -> None:
    for family in ("sniah", "oolong"):
        task = make_suite(family, lengths=[16384], n_per_length=1, seed=2, tokenizer_name="cl100k")[0]
        assert abs(task.metadata["n_tokens"] - 16384) <= 164, family
        assert task.metadata["tokenizer"] == "cl100k"


def test_codeqa_sized_in_another_tokenizer_cuts_the_same_files() -> None:
    # codeqa draws its files by the size asked: a rescaled round must keep them, or the count never converges.
    register_tokenizer("words", _words)
    for source in ("stdlib", "procedural"):
        for index in range(3):
            task = generate_counted(
                "codeqa", seed=0, target_tokens=8192, index=index, tokenizer_name="words", source=source
            )
            assert abs(task.metadata["n_tokens"] - 8192) <= 82, (source, index)
    for index in range(3):
        task = generate_counted("codeqa", seed=0, target_tokens=8192, index=index, tokenizer_name="words")
        plain = generate("codeqa", seed=0, target_tokens=8192, index=index)
        assert task.metadata["files"][0] == plain.metadata["files"][0]  # the chars4 task's slice, cut shorter


@pytest.mark.skipif(importlib.util.find_spec("tiktoken") is None, reason="the bench extra (tiktoken) is not installed")
def test_cl100k_sized_codeqa() -> None:
    for task in make_suite("codeqa", lengths=[8192], n_per_length=2, seed=0, tokenizer_name="cl100k"):
        assert abs(task.metadata["n_tokens"] - 8192) <= 82 and task.id.endswith(("-cl100k-i0", "-cl100k-i1"))


def test_tasks_do_not_depend_on_the_hash_seed() -> None:
    """Same manifests in fresh interpreters with different PYTHONHASHSEED (no set order or hash() leaks in)."""
    import json
    import os
    import subprocess
    import sys

    script = (
        "import json; from rlmx.bench import generate\n"
        "cases = [('sniah', {'variant': 'distractor'}), ('oolong', {}), ('pairs', {}), ('docs', {}),"
        " ('codeqa', {'question_type': 'statement'}), ('codeqa', {'source': 'procedural'})]\n"
        "print(json.dumps([generate(f, seed=3, target_tokens=8192, index=2, **p).metadata['sha256_context']"
        " + generate(f, seed=3, target_tokens=8192, index=2, **p).metadata['sha256_answer'] for f, p in cases]))\n"
    )
    runs = []
    for seed in ("1", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        runs.append(json.loads(done.stdout))
    assert runs[0] == runs[1]
