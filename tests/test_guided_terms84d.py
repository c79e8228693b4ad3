"""The guided root searches only what the question asks (audit 84, newcomer v01 and v03).

`rlmx serve` tells the root where a document went in a note after the question ("(The user attached the file
'notes.txt' (text, 120 characters); it is in `context`.)"); the guided root took the note's words, its numbers
among them, for names a passage had to hold, and answered NOT FOUND for a fact the file states. An instruction
beside the question ("Answer briefly.") and the context's own file name ("... in notes.txt?") did the same."""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from guided_stub import ask
from rlmx import RLM, Budget
from rlmx.lm import Message, ScriptedLM
from rlmx.lm.guided import GuidedRoot
from rlmx.lm.guided_cells import NOT_FOUND, question_only
from rlmx.prompts import host_note, host_notes
from rlmx.server import create_app
from rlmx.server.openai_compat import parse
from server.server_harness import uvicorn_server

NOTES = (
    "Meeting notes.\n"
    "The server password rotates every 90 days.\n"
    "The launch code is 7391-KESTREL.\n"
    "Bob leads the Friday meeting.\n"
)


def _reader(messages: list[Message]) -> str:
    return "7391-KESTREL"


def _guided() -> RLM:
    root = GuidedRoot(ScriptedLM(_reader))
    return RLM(root, sub_lm=root.reader, budget=Budget(cell_timeout=60))


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    app = create_app(_guided(), model_name="rlmx")
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn_server(app)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.01)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def _chat(url: str, body: dict[str, Any]) -> str:
    request = urllib.request.Request(
        f"{url}/v1/chat/completions",
        data=json.dumps({"model": "rlmx", **body}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return str(json.load(response)["choices"][0]["message"]["content"])


def _file_part(name: str, text: str) -> dict[str, Any]:
    data = base64.b64encode(text.encode()).decode()
    return {"type": "file", "file": {"filename": name, "file_data": f"data:text/plain;base64,{data}"}}


def test_a_file_part_sent_to_serve_is_searched_for_the_question_not_for_the_servers_note(served: str) -> None:
    content = [{"type": "text", "text": "What is the launch code?"}, _file_part("notes.txt", NOTES)]
    answer = _chat(served, {"messages": [{"role": "user", "content": content}]})
    assert answer.startswith("7391-KESTREL\n"), answer


def test_a_file_part_sent_as_its_own_message_after_the_question_is_searched_for_the_question(served: str) -> None:
    messages = [
        {"role": "user", "content": "What is the launch code?"},
        {"role": "user", "content": [_file_part("quarterly_notes_2024.txt", NOTES)]},
    ]
    assert _chat(served, {"messages": messages}).startswith("7391-KESTREL\n")


def test_a_document_pasted_under_the_question_is_searched_for_the_question(served: str) -> None:
    filler = "".join(f"Line {i} of the appendix lists nothing of note.\n" for i in range(600))
    text = f"What is the launch code?\n\n{filler}{NOTES}"
    assert len(text) > 20_000  # a pasted document, by the README's rule
    assert _chat(served, {"messages": [{"role": "user", "content": text}]}).startswith("7391-KESTREL\n")


def test_every_note_the_server_writes_reads_back_as_a_note() -> None:
    content = [{"type": "text", "text": "What is the launch code?"}, _file_part("my notes (v2).txt", NOTES)]
    call = parse({"model": "rlmx", "messages": [{"role": "user", "content": content}]})
    assert call.query != "What is the launch code?"  # an LM root is told where the file went
    assert host_notes(call.query) == ("What is the launch code?", ["my notes (v2).txt"])
    pasted = parse({"model": "rlmx", "messages": [{"role": "user", "content": "Who leads?\n\n" + NOTES * 400}]})
    assert host_notes(pasted.query) == ("Who leads?", [])
    with pytest.raises(ValueError):
        host_note("a remark that names no context variable")


@pytest.mark.parametrize(
    "question",
    [
        "What is the launch code? Answer briefly.",
        "What is the launch code? Reply with the code only.",
        "What is the launch code? Be concise.",
        "What is the launch code in notes.txt?",
        "What is the launch code in the file notes.txt? Just the code, please.",
    ],
)
def test_instructions_and_the_files_own_name_are_no_search_terms(tmp_path: Path, question: str) -> None:
    path = tmp_path / "notes.txt"
    path.write_text(NOTES, encoding="utf-8")  # as `rlmx ask QUESTION --context notes.txt` loads it
    answer = _guided().completion(question, context=path).answer
    assert answer.startswith("7391-KESTREL\n"), answer


def test_a_fact_the_text_lacks_stays_not_found_under_an_instruction(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text(NOTES, encoding="utf-8")
    answer = _guided().completion("What is the abort code of the Zephyr project? Answer briefly.", context=path)
    assert answer.answer == NOT_FOUND


def test_only_instructions_beside_a_question_are_dropped() -> None:
    assert question_only("List the users.") == "List the users."  # the request is the question
    assert question_only("Answer briefly.") == "Answer briefly."
    assert question_only("What is in notes.txt?", ["notes.txt"]) == "What is in notes.txt?"  # nothing else would stay
    assert question_only("Who leads the meeting? Keep it short.") == "Who leads the meeting?"
    assert question_only("What is the report about?", ["report"]) == "What is the report about?"  # a bare word


POEM = (
    "The Harbour Bell\n"
    "by Maren Holt (1931)\n\n"
    "The bell rings out at half past nine\n"
    "when fog comes rolling from the sea;\n"
    "the fishers count it, line by line,\n"
    "and steer their boats home to the quay.\n"
)


@pytest.mark.parametrize(
    ("question", "value", "line"),
    [
        ("Who wrote the poem?", "Maren Holt", 2),
        ("Who is the author of this poem?", "Maren Holt", 2),
        ("When was the poem written?", "1931", 2),
        ("What is the title of the poem?", "The Harbour Bell", 1),
        ("What is the poem called?", "The Harbour Bell", 1),
    ],
)
def test_a_works_title_and_byline_answer_who_wrote_it_when_and_its_title(question: str, value: str, line: int) -> None:
    assert ask(POEM, question).startswith(f"{value}\nFrom [line {line}] "), ask(POEM, question)


def test_a_byline_without_a_year_says_no_year_and_a_text_without_a_byline_names_no_author() -> None:
    undated = POEM.replace(" (1931)", "")
    assert ask(undated, "When was the poem written?") == NOT_FOUND
    assert ask(POEM.replace("by Maren Holt (1931)\n", ""), "Who wrote the poem?") == NOT_FOUND
    assert ask("Harbour rules\nby the sea wall no boats may moor.\n", "Who wrote the text?") == NOT_FOUND


SETTINGS = (
    "# settings for the tide tracker\n"
    "app:\n"
    "  title: tides\n"
    "  verbose_logging: true\n"
    "  debug: false\n"
    "server:\n"
    "  port: 8088\n"
)


@pytest.mark.parametrize(
    ("question", "verdict", "line"),
    [
        ("Is debug mode enabled?", "No", 5),
        ("Is debug turned off?", "Yes", 5),
        ("Is verbose logging on?", "Yes", 4),
        ("Is verbose logging disabled?", "No", 4),
    ],
)
def test_a_boolean_setting_answers_whether_it_is_on(question: str, verdict: str, line: int) -> None:
    assert ask(SETTINGS, question).startswith(f"{verdict}\nFrom [line {line}] "), ask(SETTINGS, question)


def test_a_flag_no_key_names_is_no_verdict() -> None:
    assert not ask(SETTINGS, "Is caching enabled?").startswith(("Yes", "No"))
    assert not ask(SETTINGS, "Is logging enabled?").startswith(("Yes", "No"))  # verbose_logging is more than it


WATCHED = SETTINGS + "  rivers:\n    - Glomma\n    - Tana\n"


def test_a_keys_block_list_answers_which_items_it_lists() -> None:
    assert ask(WATCHED, "Which rivers are listed?").startswith("Glomma, Tana\nFrom [line 8] rivers:")
    assert ask(WATCHED, "What rivers are in the config?").startswith("Glomma, Tana\n")


def test_a_condition_the_list_does_not_state_is_quoted_never_answered() -> None:
    answer = ask(WATCHED, "Which rivers are monitored?")
    assert answer.startswith("No short answer could be verified") and "Tana" in answer, answer
    assert ask(WATCHED, "Which lakes are monitored?") == NOT_FOUND


def test_a_word_for_the_answers_type_is_held_by_a_value_of_that_type_never_by_a_missing_subject() -> None:
    text = "The ferry left at dawn.\nTheir son went sailing east and never came to shore.\n"
    answer = ask(text, "Which direction did their son sail?", "east")
    assert answer.startswith("east\nFrom [line 2] "), answer
    assert ask(text, "Which direction did their daughter sail?", "east") == NOT_FOUND
