"""The offline default, end to end, with the real embedded model (SmolLM2 on llama.cpp) and the guided root."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from rlmx import RLM
from rlmx.bench.niah import DEFAULT_NEEDLE, Needle, haystack
from scripting import missing_embedded_model

pytestmark = [pytest.mark.model, pytest.mark.slow]


if (_missing := missing_embedded_model()) is not None:
    pytest.skip(_missing, allow_module_level=True)

from rlmx.lm import GuidedRoot, LocalLM  # noqa: E402


@pytest.fixture(scope="module")
def local() -> Iterator[LocalLM]:
    lm = LocalLM()
    yield lm
    lm.close()


def test_rlmx_ask_answers_a_lookup_over_1mb_offline(tmp_path: Path) -> None:
    document = tmp_path / "report.txt"
    document.write_text(haystack(1_000_000, depth=0.37, seed=11))
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "RLMX_"))}
    environment["XDG_STATE_HOME"] = str(tmp_path / "state")
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "rlmx.cli",
            "ask",
            DEFAULT_NEEDLE.question,
            "--context",
            str(document),
            "--trace-dir",
            str(tmp_path / "traces"),
            "--json",
        ],
        capture_output=True,
        text=True,
        env=environment,
        timeout=600,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    result = json.loads(completed.stdout)
    assert result["answer"] == DEFAULT_NEEDLE.answer
    assert "small local model" in completed.stderr
    events = [json.loads(line) for line in Path(result["trace_path"]).read_text().splitlines()]
    cells = [e for e in events if e["type"] == "cell_start"]
    assert any("guided_answer(" in e["code"] for e in cells)
    sub_calls = [e for e in events if e["type"] == "subcall_end"]
    assert sub_calls and all(e["model"].startswith("local:") for e in sub_calls)
    assert result["usage"]["sub"]["calls"] == len(sub_calls)


CHARS_PER_TOKEN = 5.2  # measured: SmolLM2's tokenizer reads this filler at about 5.2 characters a token

NEEDLES = [
    Needle(
        "The password for the archive server is blue-falcon-19.",
        "What is the password for the archive server?",
        "blue-falcon-19",
    ),
    DEFAULT_NEEDLE,
    Needle(
        "The director of the Halden Observatory is Elena Varga.",
        "Who is the director of the Halden Observatory?",
        "Elena Varga",
    ),
]


@pytest.mark.parametrize(
    ("tokens", "needle"),
    [(10_000, NEEDLES[0]), (128_000, NEEDLES[1]), (1_000_000, NEEDLES[2])],
    ids=["10K", "128K", "1M"],
)
async def test_guided_root_finds_the_needle_beyond_the_model_window(
    local: LocalLM, tokens: int, needle: Needle
) -> None:
    text = haystack(int(tokens * CHARS_PER_TOKEN), needle, depth=0.71, seed=tokens)
    assert len(text) / CHARS_PER_TOKEN > local.n_ctx  # SmolLM2 alone could not even read this input
    result = await RLM(GuidedRoot(local), sub_lm=local).acompletion(needle.question, context=text)
    assert result.status == "finished"
    assert needle.answer.lower() in result.answer.lower()


async def test_guided_root_says_not_found_when_no_term_occurs(local: LocalLM) -> None:
    text = haystack(200_000, Needle("The ferry timetable changed in spring.", "", ""), seed=3)
    result = await RLM(GuidedRoot(local), sub_lm=local).acompletion(
        "What is the password for the archive server?", context=text
    )
    assert (result.answer, result.usage.sub.calls) == ("NOT FOUND", 0)


async def test_guided_root_rejects_invented_answers_when_the_fact_is_absent(local: LocalLM) -> None:
    decoy = Needle("The password policy was reviewed by the committee.", "", "")
    text = haystack(200_000, decoy, seed=5)
    result = await RLM(GuidedRoot(local), sub_lm=local).acompletion(
        "What is the password for the archive server?", context=text
    )
    assert result.usage.sub.calls >= 1
    assert result.answer == "NOT FOUND"
