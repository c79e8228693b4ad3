"""The offline default, end to end, with the real embedded model (SmolLM2 on llama.cpp) and the guided root:
the README's example, needles beyond the model's window, and real public texts (Debian packages, skipped when
they are not installed)."""

from __future__ import annotations

import gzip
import json
import os
import re
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


def guided(local: LocalLM) -> RLM:
    """The offline default as `rlmx ask` builds it: the guided root, and the model as its short-reply reader."""
    root = GuidedRoot(local)
    return RLM(root, sub_lm=root.reader)


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
    answer, source = result["answer"].split("\n", 1)
    assert answer == DEFAULT_NEEDLE.answer
    assert source.startswith("From [line ")
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
    result = await guided(local).acompletion(needle.question, context=text)
    assert result.status == "finished"
    first = result.answer.split("\n")[0]
    # the verified short answer, or (when the two readings disagree) the quoted unit that holds it
    assert first.lower() == needle.answer.lower() or (
        first.startswith("No short answer could be verified") and needle.sentence in result.answer
    )


def test_the_readme_example_answers_in_one_command(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parents[1] / "examples" / "aurora_report.txt"
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "RLMX_"))}
    environment["XDG_STATE_HOME"] = str(tmp_path / "state")
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "rlmx.cli",
            "ask",
            "What is the launch code for the Aurora project?",
            "--context",
            str(example),
        ],
        capture_output=True,
        text=True,
        env=environment,
        timeout=600,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.split("\n")[0] == "7391-KESTREL"


JARGON = Path("/usr/share/doc/jargon-text/jargon.txt.gz")


@pytest.fixture(scope="module")
def jargon(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not JARGON.is_file():
        pytest.skip("the jargon-text Debian package is not installed (apt-get install jargon-text)")
    path = tmp_path_factory.mktemp("jargon") / "jargon.txt"
    path.write_bytes(gzip.decompress(JARGON.read_bytes()))
    return path


async def test_a_real_glossary_lookup_is_answered_with_its_entry(local: LocalLM, jargon: Path) -> None:
    result = await guided(local).acompletion("What is the Camel Book the nickname for?", context=jargon)
    assert result.status == "finished"
    assert "Programming Perl" in result.answer  # the short answer, or the quoted entry that holds it
    assert "entry 'Camel Book'" in result.answer


async def test_a_fact_absent_from_a_real_text_is_not_found(local: LocalLM, jargon: Path) -> None:
    result = await guided(local).acompletion("What is the price of a bitcoin?", context=jargon)
    assert (result.answer, result.usage.sub.calls) == ("NOT FOUND", 0)


async def test_a_count_over_a_real_text_is_exact_and_says_what_it_counted(local: LocalLM, jargon: Path) -> None:
    text = jargon.read_text()
    expected = sum(1 for h in dict.fromkeys(re.findall(r"(?m)^   :([^:\n]+):", text)) if h[0] in "Qq")
    result = await guided(local).acompletion("How many entries begin with Q?", context=jargon)
    count, counted = result.answer.split("\n", 1)
    assert (count, result.usage.sub.calls) == (str(expected), 0)
    assert counted.startswith("Counted: entries whose name begins with 'Q'")


async def test_guided_root_says_not_found_when_no_term_occurs(local: LocalLM) -> None:
    text = haystack(200_000, Needle("The ferry timetable changed in spring.", "", ""), seed=3)
    result = await guided(local).acompletion("What is the password for the archive server?", context=text)
    assert (result.answer, result.usage.sub.calls) == ("NOT FOUND", 0)


async def test_a_decoy_that_shares_one_word_is_not_an_answer(local: LocalLM) -> None:
    decoy = Needle("The password policy was reviewed by the committee.", "", "")
    text = haystack(200_000, decoy, seed=5)
    result = await guided(local).acompletion("What is the password for the archive server?", context=text)
    assert result.answer == "NOT FOUND"  # "password" alone covers too little of the question to be read


async def test_a_decoy_that_shares_every_word_is_quoted_never_answered(local: LocalLM) -> None:
    decoy = Needle("The archive server password was changed by the committee last spring.", "", "")
    text = haystack(200_000, decoy, seed=5)
    result = await guided(local).acompletion("What is the password for the archive server?", context=text)
    assert result.usage.sub.calls == 2  # the best unit, read in two wordings
    first = result.answer.split("\n")[0]
    assert first in ("NOT FOUND", "No short answer could be verified. The best matching passages:") or (
        first.lower() in decoy.sentence.lower()  # a phrase of the decoy, quoted with it: never an invented code
        and decoy.sentence in result.answer
    )


def ask(tmp_path: Path, question: str, *args: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "RLMX_"))}
    environment["XDG_STATE_HOME"] = str(tmp_path / "state")
    return subprocess.run(
        [sys.executable, "-m", "rlmx.cli", "ask", question, *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=600,
        check=False,
    )


@pytest.mark.parametrize("suffix", [".csv", ".tsv"])
def test_a_small_table_is_answered_from_the_matching_row_only(tmp_path: Path, suffix: str) -> None:
    table = tmp_path / f"team{suffix}"
    rows = [
        ["name", "role", "team"],
        ["Maria Lindqvist", "goalkeeper", "Blue Herons"],
        ["Tom Berg", "striker", "Blue Herons"],
    ]
    table.write_text("\n".join(("\t" if suffix == ".tsv" else ",").join(r) for r in rows) + "\n")
    completed = ask(tmp_path, "Who is the goalkeeper of the Blue Herons?", "-c", str(table), "--sandbox", "inprocess")
    assert completed.returncode == 0, completed.stderr
    first, rest = completed.stdout.split("\n", 1)
    assert first in ("Maria Lindqvist", "No short answer could be verified. The best matching passages:")
    assert rest.split("\n")[0].endswith(
        "[record 1 (Maria Lindqvist)] name: Maria Lindqvist; role: goalkeeper; team: Blue Herons"
    )


def test_no_subcall_budget_ends_as_budget_exhausted_with_the_evidence(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parents[1] / "examples" / "aurora_report.txt"
    completed = ask(
        tmp_path, "What is the launch code for the Aurora project?", "-c", str(example), "--max-subcalls", "0"
    )
    assert completed.returncode == 3, completed.stderr
    assert completed.stdout.startswith("No short answer could be verified (the budget refused the reading)")
    assert "7391-KESTREL" in completed.stdout and "Traceback" not in completed.stderr
