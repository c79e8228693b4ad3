"""`rlmx serve` end to end: a real uvicorn server in a thread, the official openai clients, ScriptedLM replies."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam

from rlmx import RLM, Budget
from rlmx.cli import build_parser
from rlmx.lm import ScriptedLM
from rlmx.server import create_app, with_limits
from rlmx.server.app import ServerOptions
from rlmx.server.openai_compat import RequestError
from scripting import repl, worker_pidfile
from server.server_harness import MODEL, SLEEP, Served, ask, ended, post, start, started


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    yield from start(tmp_path)


# --- plain completions --------------------------------------------------------------------------------


def test_plain_completion_answers_with_usage_and_run_info(served: Served) -> None:
    with served.client() as client:
        response = client.chat.completions.create(
            model=MODEL, messages=ask("How long is the context?"), extra_body={"context": "hello world"}
        )
        as_list = client.chat.completions.create(
            model=MODEL, messages=ask("How long is the context?"), extra_body={"context": [1, 2, 3]}
        )
    choice = response.choices[0]
    assert (choice.message.content, choice.finish_reason, response.model) == ("length 11", "stop", MODEL)
    assert as_list.choices[0].message.content == "length 3"
    usage = response.usage
    assert usage is not None and usage.prompt_tokens > 0 and usage.completion_tokens > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    info = (response.model_extra or {})["rlmx"]
    assert (info["status"], info["iterations"], info["stop_reason"]) == ("finished", 1, "finished by final")
    assert Path(info["trace_path"]).is_file() and response.id == f"chatcmpl-{info['run_id']}"
    assert info["cost_usd"] == 0.0 and info["unpriced_calls"] == 0


def test_the_cost_of_a_run_that_called_a_model_with_no_price_is_null_not_zero() -> None:
    # a paid call to a model rlmx cannot price was reported as "cost_usd": 0.0 in every reply's rlmx field
    from rlmx.server.openai_compat import run_info

    result = RLM(ScriptedLM([repl("FINAL('ok')")], model="a-model-with-no-price")).completion("q", context="c")
    assert result.usage.total.unpriced_calls == 1
    assert run_info(result)["cost_usd"] is None and run_info(result)["unpriced_calls"] == 1


def test_a_trace_folder_name_that_is_not_utf8_is_reported_with_escapes(tmp_path: Path) -> None:
    folder = tmp_path / os.fsdecode(b"caf\xe9")  # a Latin-1 name: a lone surrogate in Python
    folder.mkdir()
    for served in start(folder):
        with served.client() as client:
            response = client.chat.completions.create(
                model=MODEL, messages=ask("How long?"), extra_body={"context": "ab"}
            )
        reported = (response.model_extra or {})["rlmx"]["trace_path"]
        assert "caf\\udce9" in reported and "\ufffd" not in reported
        trace_id = (response.model_extra or {})["rlmx"]["trace_id"]
        with urllib.request.urlopen(f"{served.url}/v1/traces/{trace_id}", timeout=10) as fetched:
            assert fetched.status == 200 and fetched.read()  # fetched by its id


def test_named_contexts_become_variables(served: Served) -> None:
    with served.client() as client:
        response = client.chat.completions.create(
            model=MODEL,
            messages=ask("How big are docs and notes?"),
            extra_body={"contexts": {"docs": "abcd", "notes": [{"a": 1}, {"b": 2}]}},
        )
    assert response.choices[0].message.content == "4 2"


def test_earlier_messages_become_the_context(served: Served) -> None:
    messages: list[ChatCompletionMessageParam] = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": "hello"}, {"type": "text", "text": "world"}]},
        {"role": "user", "content": "How long is the context?"},
    ]
    with served.client() as client:
        response = client.chat.completions.create(model=MODEL, messages=messages)
    assert response.choices[0].message.content == f"length {len('Be brief.') + 2 + len('hello') + 1 + len('world')}"


@pytest.mark.parametrize(
    ("field", "meant"),
    [("contxt", "context"), ("Context", "context"), ("contexts_", "contexts"), ("ctx", "context"), ("RLMX", "rlmx")],
)
def test_a_misspelt_rlmx_field_is_refused_with_the_field_it_meant(field: str, meant: str) -> None:
    # Unknown fields were dropped in silence: a misspelt `context` ran the question with no context, a 200.
    from rlmx.server.openai_compat import parse

    with pytest.raises(RequestError) as refused:
        parse({"messages": ask("Which user posted most?"), field: [{"user": "ann"}]})
    assert refused.value.status == 400 and refused.value.param == field
    assert f"unknown field {field!r} (did you mean {meant}?)" in refused.value.message


def test_a_misspelt_field_with_an_invisible_character_is_shown_with_it() -> None:
    # "context\u200b" was refused as "unknown field context (did you mean context?)": nothing to act on
    from rlmx.server.openai_compat import parse

    with pytest.raises(RequestError) as refused:
        parse({"messages": ask("Which user posted most?"), "context\u200b": "ann"})
    assert "unknown field 'context\\u200b' (did you mean context?)" in refused.value.message


def test_fields_other_clients_add_are_still_let_through() -> None:
    from rlmx.server.openai_compat import parse

    extras = {"num_keep": 5, "top_k": 40, "enable_thinking": False, "chat_template_kwargs": {}, "user": "u1"}
    call = parse({"messages": ask("q"), "context": "the manual", **extras})
    assert call.context == "the manual"


def test_a_conversations_assistant_and_tool_turns_reach_the_run_as_a_transcript() -> None:
    # A chat UI's follow-up and an agent loop's tool result: the assistant's answer and the tool's data were dropped
    # and the run answered without them (a 200, no word).
    from rlmx.server.openai_compat import parse

    body = {
        "messages": [
            {"role": "system", "content": "Use tools when needed."},
            {"role": "user", "content": "What is the weather in Oslo?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "weather", "arguments": "{}"}}],
            },
            {"role": "tool", "tool_call_id": "c1", "name": "weather", "content": "Oslo: -3°C, snow"},
            {"role": "assistant", "content": "It is -3°C and snowing."},
            {"role": "user", "content": "What did you tell me?"},
        ]
    }
    call = parse(body)
    assert call.query == "What did you tell me?"
    assert call.context == (
        "system: Use tools when needed.\n\nuser: What is the weather in Oslo?\n\nassistant: [called weather({})]\n\n"
        "tool (weather): Oslo: -3°C, snow\n\nassistant: It is -3°C and snowing."
    )
    explicit = parse({**body, "context": "the manual"})
    assert explicit.context == "the manual" and explicit.contexts is not None
    assert "tool (weather): Oslo" in explicit.contexts["conversation"]


def test_an_assistant_turns_refusal_is_kept_in_the_conversation() -> None:
    # An assistant turn that declined (`refusal`, content null) vanished from the transcript, and one sent as a
    # refusal part made the whole request a 400 about documents.
    from rlmx.server.openai_compat import parse

    declined = "I cannot share passwords."
    for assistant in (
        {"role": "assistant", "content": None, "refusal": declined},
        {"role": "assistant", "content": [{"type": "refusal", "refusal": declined}]},
        {"role": "assistant", "content": "", "refusal": declined},
    ):
        body = {"messages": [{"role": "user", "content": "List the passwords."}, assistant, ask("Why?")[0]]}
        assert parse(body).context == f"user: List the passwords.\n\nassistant: {declined}"
        explicit = parse({**body, "context": "the manual"})
        assert explicit.contexts is not None and f"assistant: {declined}" in explicit.contexts["conversation"]
    with pytest.raises(RequestError) as user_refusal:  # a refusal is the assistant's; a user part must be text
        parse({"messages": [{"role": "user", "content": [{"type": "refusal", "refusal": "no"}]}]})
    assert user_refusal.value.param == "messages[0].content[0]"


def _file_part(filename: str | None, data: bytes, media: str) -> dict[str, Any]:
    import base64

    file: dict[str, Any] = {"file_data": f"data:{media};base64,{base64.b64encode(data).decode()}"}
    if filename is not None:
        file["filename"] = filename
    return {"type": "file", "file": file}


def test_an_attached_file_part_is_read_as_a_document_into_the_context() -> None:
    # OpenAI's `{"type": "file"}` part (file_data) is how its clients attach a document: it was a 400.
    from rlmx.server.openai_compat import parse

    notes = _file_part("notes.txt", b"Manual.\nThe door code is 4471.\n", "text/plain")
    table = _file_part(None, b"room,code\nA,1\nB,2\n", "text/csv")
    asked = {"type": "text", "text": "What is the door code?"}
    call = parse({"messages": [{"role": "user", "content": [asked, notes, table]}]})
    assert call.context == "Manual.\nThe door code is 4471.\n"
    assert call.contexts == {"file": [{"room": "A", "code": "1"}, {"room": "B", "code": "2"}]}
    assert call.query.startswith("What is the door code?")
    assert "'notes.txt'" in call.query and "`context`" in call.query and "`file`" in call.query
    beside = parse({"messages": [{"role": "user", "content": [asked, notes]}], "context": "the manual"})
    assert beside.context == "the manual" and beside.contexts == {"file": "Manual.\nThe door code is 4471.\n"}


def test_a_file_part_the_server_cannot_read_is_a_400_that_says_what_to_send() -> None:
    from rlmx.server.openai_compat import parse

    def refused(part: dict[str, Any]) -> RequestError:
        text = {"type": "text", "text": "Summarise it."}
        with pytest.raises(RequestError) as raised:
            parse({"messages": [{"role": "user", "content": [text, part]}]})
        assert raised.value.status == 400 and raised.value.param == "messages[0].content[1]"
        return raised.value

    by_id = refused({"type": "file", "file": {"file_id": "file-abc123"}})
    assert "keeps no files" in by_id.message and "file_data" in by_id.message
    assert "PDF" in refused(_file_part(None, b"not a pdf", "application/pdf")).message  # read as the PDF it claims
    assert "not text" in refused(_file_part("blob.bin", b"\x00\x01\x02", "application/octet-stream")).message
    assert (
        "base64" in refused({"type": "file", "file": {"filename": "a.txt", "file_data": "data:text/plain,x"}}).message
    )


def test_file_data_is_decoded_as_browsers_decode_a_data_url() -> None:
    # Wrapped base64 (what base64.encodebytes and GNU base64 write), unpadded base64 and ";BASE64" were 400s.
    import base64

    from rlmx.server.openai_compat import parse

    text = b"The door code is 4471. " * 20
    plain = base64.b64encode(text).decode()
    forms = {
        "lf-wrapped": f"data:text/plain;base64,{base64.encodebytes(text).decode()}",
        "crlf-wrapped": "data:text/plain;base64," + "\r\n".join(plain[i : i + 64] for i in range(0, len(plain), 64)),
        "unpadded": "data:text/plain;base64," + base64.b64encode(text[:-1]).decode().rstrip("="),
        "capitals": f"DATA:text/plain;BASE64,{plain}",
        "bare, spaced": " ".join(plain[i : i + 10] for i in range(0, len(plain), 10)),
    }
    for form, data in forms.items():
        part = {"type": "file", "file": {"filename": "notes.txt", "file_data": data}}
        call = parse({"messages": [{"role": "user", "content": [{"type": "text", "text": "Code?"}, part]}]})
        assert call.context in (text.decode(), text[:-1].decode()), form


def test_a_percent_encoded_data_url_is_decoded_as_a_browser_decodes_it() -> None:
    # A data URL that went through encodeURIComponent (a form field, a query string) was "not valid base64":
    # browsers and Python's urllib percent-decode a data URL's body before its base64.
    import base64
    import urllib.parse

    from rlmx.server.openai_compat import parse

    text = b"Code 4471 >> ?????."  # its base64 holds '+', '/' and '='
    encoded = base64.b64encode(text).decode()
    assert {"+", "/", "="} <= set(encoded)
    for data in (
        "data:text/plain;base64," + urllib.parse.quote(encoded, safe=""),
        "data:text/plain;base64," + encoded.replace("+", "%2b").replace("/", "%2f"),  # any case, as URLs allow
        "data:text/plain;base64," + encoded.replace("=", "%3D"),
    ):
        part = {"type": "file", "file": {"filename": "notes.txt", "file_data": data}}
        call = parse({"messages": [{"role": "user", "content": [{"type": "text", "text": "Code?"}, part]}]})
        assert call.context == text.decode(), data


@pytest.mark.parametrize("charset", ["windows-1252", "iso-8859-15", "shift_jis", "utf-16-le"])
def test_a_text_files_declared_charset_is_how_it_is_read(charset: str) -> None:
    # the charset a data URL declares was dropped: every non-UTF-8 text file was a 400 "not UTF-8 text"
    import base64

    from rlmx.server.openai_compat import parse

    text = "Café 4471" if charset != "shift_jis" else "コード 4471"
    data = f"data:text/plain;charset={charset};base64," + base64.b64encode(text.encode(charset)).decode()
    part = {"type": "file", "file": {"filename": "notes.txt", "file_data": data}}
    call = parse({"messages": [{"role": "user", "content": [{"type": "text", "text": "Code?"}, part]}]})
    assert call.context == text


def test_a_url_in_file_data_is_a_400_that_says_urls_are_not_fetched() -> None:
    from rlmx.server.openai_compat import parse

    for url in ("https://example.com/report.pdf", "http://10.0.0.1/a.txt", "s3://bucket/key.pdf"):
        part = {"type": "file", "file": {"filename": "report.pdf", "file_data": url}}
        with pytest.raises(RequestError) as raised:
            parse({"messages": [{"role": "user", "content": [{"type": "text", "text": "Summarise it."}, part]}]})
        assert "does not fetch URLs" in raised.value.message and "data:application/pdf;base64" in raised.value.message


def test_a_file_whose_name_has_no_known_suffix_is_read_by_its_declared_type() -> None:
    # "Dr. Jones referral" or "rooms.2024" has a suffix no reader knows: the declared type was never looked at.
    from rlmx.server.openai_compat import parse

    def read(filename: str, data: bytes, media: str) -> Any:
        part = _file_part(filename, data, media)
        return parse({"messages": [{"role": "user", "content": [{"type": "text", "text": "Which?"}, part]}]}).context

    assert read("rooms.2024", b"room,code\nA,1\n", "text/csv") == [{"room": "A", "code": "1"}]
    assert read("Dr. Jones referral", b'{"patient": "K. Lee"}', "application/json") == {"patient": "K. Lee"}
    assert read("Minutes 12.03.2026", b"plain words", "text/plain") == "plain words"  # no reader: text, as before
    assert read("codes.csv", b"room,code\nB,2\n", "text/plain") == [{"room": "B", "code": "2"}]  # a known name wins


def test_a_user_message_holding_only_a_file_is_the_document_of_the_conversations_question() -> None:
    # A file sent as its own message was "the last user message is empty": a 400 for every such client.
    from rlmx.server.openai_compat import parse

    manual = _file_part("manual.txt", b"The door code is 4471.\n", "text/plain")
    attached = {"role": "user", "content": [manual]}
    after_question = parse({"messages": [{"role": "user", "content": "What is the door code?"}, attached]})
    assert after_question.query.startswith("What is the door code?") and "'manual.txt'" in after_question.query
    assert after_question.context == "The door code is 4471.\n" and after_question.contexts is None
    instructed = parse({"messages": [{"role": "system", "content": "Give the door code from the manual."}, attached]})
    assert instructed.query.startswith("Give the door code from the manual.")
    assert instructed.context == "The door code is 4471.\n"
    beside = parse({"messages": [{"role": "system", "content": "Give the door code."}, attached], "context": "x"})
    assert beside.query.startswith("Give the door code.") and beside.contexts == {"file": "The door code is 4471.\n"}
    alone = parse({"messages": [attached]})
    assert alone.context == "The door code is 4471.\n" and alone.query.startswith("(The user attached the file")
    with pytest.raises(RequestError, match="the last user message is empty"):
        parse(
            {
                "messages": [
                    {"role": "user", "content": "What?"},
                    {"role": "user", "content": [{"type": "text", "text": " "}]},
                ]
            }
        )


def test_a_file_sent_alone_after_an_answered_question_is_what_that_turn_asks_about() -> None:
    # The question the assistant had answered became the query about a new file, and the transcript passed along
    # lost it (only "assistant: ..." was left).
    from rlmx.server.openai_compat import parse

    report = _file_part("q3.txt", b"Revenue rose 12% to $4.1M.\n", "text/plain")
    answered = [
        {"role": "user", "content": "What is the capital of France?"},
        {"role": "assistant", "content": "The capital of France is Paris."},
    ]
    call = parse({"messages": [*answered, {"role": "user", "content": [report]}]})
    assert call.query.startswith("(The user attached the file 'q3.txt'") and "France" not in call.query
    assert call.context is None and call.contexts == {
        "conversation": "user: What is the capital of France?\n\nassistant: The capital of France is Paris.",
        "file": "Revenue rose 12% to $4.1M.\n",
    }
    instructed = parse(
        {"messages": [{"role": "system", "content": "Be brief."}, *answered, {"role": "user", "content": [report]}]}
    )
    assert instructed.query.startswith("Be brief.\n\n(The user attached the file 'q3.txt'")
    with_words = [
        *answered,
        {"role": "user", "content": "And what does this report say?"},
        {"role": "user", "content": [report]},
    ]
    asked = parse({"messages": with_words})  # new words sent just before the file still ask about it
    assert asked.query.startswith("And what does this report say?") and "'q3.txt'" in asked.query
    assert "capital of France?" in asked.context and "Paris" in asked.context


def test_a_document_pasted_above_the_question_goes_to_the_context() -> None:
    # Sent whole as the query, a 1 MB log was in every root prompt: 241k tokens each.
    from rlmx.server.openai_compat import PASTED_CHARS, parse

    log = "\n".join(f"12:00:{i % 60:02d} worker-{i % 7} ok" for i in range(PASTED_CHARS // 10))
    call = parse({"messages": [{"role": "user", "content": f"{log}\n\nHow many workers logged?"}]})
    assert call.query.startswith("How many workers logged?") and len(call.query) < 200
    assert call.context == log
    beside = parse({"messages": [{"role": "user", "content": f"{log}\n\nHow many?"}], "context": "manual"})
    assert beside.context == "manual" and beside.contexts == {"pasted": log}
    first = parse({"messages": [{"role": "user", "content": f"Summarize the log below:\n\n{log}"}]})
    assert first.query.startswith("Summarize the log below:") and first.context == log
    short = parse({"messages": [{"role": "user", "content": "A short question?"}]})
    assert short.query == "A short question?" and short.context is None


@pytest.mark.parametrize("line_end", ["\r\n", "\r"], ids=["crlf", "cr"])
@pytest.mark.parametrize(
    "question",
    [
        "这份报告里有几个错误？",
        "كم عدد الأخطاء؟",
        "请总结下面的日志：",
        "How many errors?",
        "Summarize the log{}in bullets:",
    ],
)
def test_a_pasted_documents_question_is_found_whatever_its_script_and_line_ends(question: str, line_end: str) -> None:
    # A question ending in a full-width or Arabic question mark, or a paste with Windows line ends, stayed in the
    # context, and the document's last line was taken for the question.
    from rlmx.server.openai_compat import PASTED_CHARS, parse

    log = line_end.join(f"12:00:{i % 60:02d} worker-{i % 7} ok" for i in range(PASTED_CHARS // 10))
    question = question.format(line_end)  # one of two lines
    for content in (f"{question}{line_end * 2}{log}", f"{log}{line_end * 2}{question}"):
        call = parse({"messages": [{"role": "user", "content": content}]})
        assert call.query.startswith(question) and call.context == log  # the document keeps its own line ends


def test_earlier_user_messages_beside_a_context_sent_apart_reach_the_run() -> None:
    # Two user turns in a row plus `context`: the first one ("the code is 4471") was in neither the root prompt nor
    # the REPL, and the run answered without it.
    from rlmx.server.openai_compat import parse

    messages = [
        {"role": "system", "content": "Answer briefly."},
        {"role": "user", "content": "Note for later: the locker code is 8812."},
        {"role": "user", "content": "What is the locker code?"},
    ]
    call = parse({"messages": messages, "context": "The manual."})
    assert call.query == "Answer briefly.\n\nWhat is the locker code?"  # the system message is an instruction
    assert call.context == "The manual."
    assert call.contexts == {"conversation": "user: Note for later: the locker code is 8812."}
    # a client's own context of that name keeps its value; the turns get the next free name
    mine = parse({"messages": messages, "contexts": {"conversation": "my own"}})
    assert mine.contexts == {
        "conversation": "my own",
        "conversation_2": "user: Note for later: the locker code is 8812.",
    }


def test_a_system_message_holding_a_document_is_read_in_the_repl_not_sent_every_turn() -> None:
    # A RAG app's 338 KB of retrieved passages in the system prompt, beside `context`, was joined to the query and
    # sent with every root turn.
    from rlmx.server.openai_compat import PASTED_CHARS, parse

    passages = "\n\n".join(
        f"Passage {i}: parcel {i} left the depot at {i % 24:02d}:00." for i in range(PASTED_CHARS // 20)
    )
    question = [{"role": "user", "content": "When did parcel 17 leave?"}]
    system = {"role": "system", "content": f"Use these retrieved passages:\n\n{passages}"}
    call = parse({"messages": [system, *question], "context": "notes"})
    assert call.contexts == {"system": passages} and call.context == "notes"
    assert call.query.startswith("Use these retrieved passages:") and call.query.endswith("When did parcel 17 leave?")
    assert "`system`" in call.query and len(call.query) < 300
    bare = parse({"messages": [{"role": "system", "content": passages}, *question], "context": "notes"})
    assert bare.contexts == {"system": passages} and len(bare.query) < 300  # no instruction in it: all of it
    pasted = {"role": "user", "content": f"{passages}\n\nWhen did parcel 17 leave?"}  # a user's paste as well
    both = parse({"messages": [system, pasted], "context": "notes", "contexts": {"pasted": "mine"}})
    assert both.contexts == {"pasted": "mine", "system": passages, "pasted_2": passages}
    assert "`pasted_2`" in both.query and len(both.query) < 500
    # one attached file per system message: each is short of the limit, together they are far over it
    files = [{"role": "system", "content": passages[: PASTED_CHARS // 2]} for _ in range(3)]
    rules = {"role": "system", "content": "Cite the passage numbers."}
    split = parse({"messages": [rules, *files, *question], "context": "notes"})
    assert split.contexts is not None and sorted(split.contexts) == ["system", "system_2", "system_3"]
    assert split.query.startswith("Cite the passage numbers.") and len(split.query) < 600


PASTED = "\n\n".join(f"Item {i}. The board reviewed line {i} of the budget and kept it." for i in range(400))
"""A document of about 26,000 characters whose first and last paragraphs ask nothing."""


@pytest.mark.parametrize(
    ("content", "question"),
    [
        (f"Summarize this document.\n\n{PASTED}\n\nThe meeting closed at 17:05.", "Summarize this document."),
        (f"Translate the following into French\n\n{PASTED}", "Translate the following into French"),
        (f"Please list the lines the board kept\n\n{PASTED}", "Please list the lines the board kept"),
        (
            f"**Explain** the budget below in three bullets.\n\n{PASTED}",
            "**Explain** the budget below in three bullets.",
        ),
        (f"请总结这份文件。\n\n{PASTED}", "请总结这份文件。"),
        (f"この文書を要約してください。\n\n{PASTED}", "この文書を要約してください。"),
        (f"Minutes, 3 May\n\n{PASTED}\n\nSummarize the above.", "Summarize the above."),
        (f"{PASTED}\n\nTL;DR", "TL;DR"),
        (f"{PASTED}\n\nwhich lines did the board keep", "which lines did the board keep"),
        (f"Board minutes\n\n{PASTED}\n\nWhat did the board keep?", "What did the board keep?"),
        (f"Here are the minutes:\n\n{PASTED}\n\nWhat changed?", "Here are the minutes:\n\nWhat changed?"),
        (f"{PASTED}\n\nThe meeting closed at 17:05.", "The meeting closed at 17:05."),  # nothing asks: the last
    ],
    ids=[
        "instruction-first",
        "translate-first",
        "please-first",
        "markdown-first",
        "chinese-first",
        "japanese-first",
        "instruction-last",
        "tldr-last",
        "question-without-mark-last",
        "title-first-question-last",
        "both-ends-ask",
        "nothing-asks",
    ],
)
def test_the_words_that_ask_about_a_pasted_document_are_the_question(content: str, question: str) -> None:
    # "Summarize this document." + a 36 KB document: the document's last line was taken for the question, and the
    # instruction was left in the context.
    from rlmx.server.openai_compat import parse

    call = parse({"messages": [{"role": "user", "content": content}]})
    assert call.query.split("\n\n(The user pasted a document")[0] == question
    assert isinstance(call.context, str) and "Item 200." in call.context and question not in call.context


STOCK = "\n".join(f"SKU-{i:05d};shelf {i % 40};{(i * 37) % 120} units" for i in range(1200))
"""An inventory export of about 33,000 characters: one record a line, no blank line, none of them asking."""
LAST_RECORD = STOCK.rsplit("\n", 1)[1]
ORDERS = "\n\n".join(f"Order {i}: {i % 9 + 1} crates of apples for the {i % 5} o'clock van." for i in range(420))
"""A list of about 24,000 characters, one paragraph per order; its own last line asks nothing."""


def asked(call: Any) -> str:
    """What the root is told the user asked: the query before the note on where the document went."""
    return str(call.query).split("\n\n(The user pasted a document")[0]


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (f"Stock export, week 12\n\n{STOCK}\nWhich shelf holds the most units?", ["Which shelf holds the most units?"]),
        (
            [
                {"type": "text", "text": f"Stock export\n\n{STOCK}"},
                {"type": "text", "text": "welches Regal ist am vollsten"},
            ],
            ["welches Regal ist am vollsten"],
        ),
        (f"Haz un resumen de estos pedidos.\n\n{ORDERS}", ["Haz un resumen de estos pedidos."]),
        (f"Fass die Bestellungen kurz zusammen\n\n{ORDERS}", ["Fass die Bestellungen kurz zusammen"]),
        (f"Перечисли заказы на пять ящиков.\n\n{ORDERS}", ["Перечисли заказы на пять ящиков."]),
        (f"주문 목록을 정리해 줘\n\n{ORDERS}", ["주문 목록을 정리해 줘"]),
        (f"注文を一覧にして。\n\n{ORDERS}", ["注文を一覧にして。"]),
        (
            f"Fais la liste des commandes de neuf caisses\n\n{ORDERS}\n\nEnd of the order list.",
            ["Fais la liste des commandes de neuf caisses"],
        ),
        (f"Stokta kalmayanları listele\n\n{STOCK}\n\nExported 1,200 records.", ["Stokta kalmayanları listele"]),
        (f"Main points, briefly.\n\n{ORDERS}", ["Main points, briefly."]),
        (
            f"Context: I plan the van routes.\n\nTask: find the orders of nine crates.\n\nFormat: one line each.\n\n"
            f"{ORDERS}",
            ["Context: I plan the van routes.", "Task: find the orders of nine crates.", "Format: one line each."],
        ),
    ],
    ids=[
        "question-on-the-line-after-a-table",
        "question-as-its-own-text-part",
        "spanish",
        "german-no-mark",
        "russian",
        "korean-casual",
        "japanese-casual",
        "french-above-a-closing-line",
        "turkish-above-a-table",
        "terse",
        "three-paragraph-template",
    ],
)
def test_the_asking_words_beside_a_document_are_found_in_any_shape_and_language(
    content: str | list[dict[str, str]], words: list[str]
) -> None:
    # A question on the line after a CSV, or in its own text part, an instruction in Spanish, Russian or casual
    # Japanese, a terse one, or one of three paragraphs: the root was given the document's title or last line.
    from rlmx.server.openai_compat import parse

    call = parse({"messages": [{"role": "user", "content": content}]})
    assert all(word in asked(call) for word in words), call.query[:500]
    assert len(call.query) < 1_000
    document = call.context
    assert isinstance(document, str) and ("Order 419:" in document or LAST_RECORD in document)
    assert ("Order 0:" in document or "SKU-00000" in document) and ("Order 200:" in document or "SKU-00600" in document)


def test_a_documents_own_last_entry_is_never_taken_for_the_question() -> None:
    # An FAQ ending in its own question, under "Translate this FAQ": its last entry was cut out of the document and
    # shown to the root as something the user asked.
    from rlmx.server.openai_compat import parse

    faq = "\n\n".join(f"Q: Does van {i} run on Sundays?\nA: Only in December." for i in range(400))
    faq += "\n\nQ: Can I change a delivery address after ordering?"
    call = parse({"messages": [{"role": "user", "content": f"Make this FAQ sound friendlier.\n\n{faq}"}]})
    assert asked(call) == "Make this FAQ sound friendlier." and call.context == faq
    # A file of JSON ends in its closing brackets, which stay the document's; the question after it is the query.
    data = json.dumps({"orders": [{"id": i, "crates": i % 9} for i in range(900)]}, indent=2)
    call = parse({"messages": [{"role": "user", "content": f"{data}\n\nHow many orders have 8 crates?"}]})
    assert asked(call) == "How many orders have 8 crates?" and call.context == data
    # Prose: nothing tells its own closing question from the user's, so the message stays whole in the REPL.
    essay = "\n\n".join(
        f"{word} the harbour grew, the town {word.lower()} changed its trades. " * 12 for word in "ABCDEFGHIJ" * 4
    )
    prose = f"Traduis cet essai en anglais.\n\n{essay}\n\nWhat will the harbour become?"
    call = parse({"messages": [{"role": "user", "content": prose}]})
    assert "Traduis cet essai en anglais." in asked(call) and len(call.query) < 1_000
    assert call.context == prose  # the essay's own last question included


def test_a_file_sent_as_its_own_message_after_the_question_is_the_document() -> None:
    # [question, file]: the 47 KB one-line file was the root's query (sent every turn) and the question went to the
    # context; a log's last line was taken for the question.
    from rlmx.server.openai_compat import parse

    question = {"role": "user", "content": "Which version does the lock file I attach pin?"}
    lock = json.dumps(
        {"lockfileVersion": 3, "packages": {f"node_modules/p{i}": {"version": "1.0.0"} for i in range(900)}}
    )
    log = "\n\n".join(f"06:{i % 60:02d} van {i % 12} left the depot" for i in range(1200))
    for document in (lock, log):
        call = parse({"messages": [question, {"role": "user", "content": document}]})
        assert asked(call) == question["content"] and call.context == document
        beside = parse({"messages": [question, {"role": "user", "content": document}], "context": "depot notes"})
        assert beside.contexts == {"pasted": document} and beside.query.startswith(question["content"])
    # A file with no question anywhere is never the query whole: its first and last lines stand for it.
    alone = parse({"messages": [{"role": "user", "content": lock}]})
    assert len(alone.query) < 1_000 and alone.context == lock
    # A short message before a file whose own words ask is an earlier turn, as before.
    note = {"role": "user", "content": "Hi there"}
    own = parse({"messages": [note, {"role": "user", "content": f"{log}\n\nWhen did van 3 leave last?"}]})
    assert asked(own) == "When did van 3 leave last?" and own.context == "Hi there" and own.contexts == {"pasted": log}


def test_a_long_rules_system_prompt_stays_with_the_root_beside_retrieved_passages() -> None:
    # A 6 KB persona of rules beside a RAG system message, over 20,000 together: the whole rule set went to
    # contexts["system"], and the root was told only that "the system message is a document".
    from rlmx.server.openai_compat import parse

    rules = "You are Bruno, the depot's dispatcher.\n\n" + "\n\n".join(
        f"Rule {i}: reply in Italian, name the van, and never promise a time before 6 o'clock." for i in range(70)
    )
    passages = "Retrieved passages:\n\n" + ORDERS
    body = {
        "messages": [
            {"role": "system", "content": rules},
            {"role": "system", "content": passages},
            {"role": "user", "content": "Which van takes order 17?"},
        ],
        "context": "depot notes",
    }
    assert 5_000 < len(rules) < 10_000
    call = parse(body)
    assert call.contexts == {"system": ORDERS} and call.context == "depot notes"
    assert rules in call.query and call.query.endswith("Which van takes order 17?")
    assert "Retrieved passages:" in call.query and len(call.query) < len(rules) + 500


def test_the_names_of_a_group_chats_participants_reach_the_run() -> None:
    # `name` tells users apart (Discord bots, AutoGen group chats): it was dropped, and "who said it?" had no answer.
    from rlmx.server.openai_compat import parse

    messages = [
        {"role": "user", "name": "dora", "content": "I can drive the morning van."},
        {"role": "user", "name": "emil", "content": "I'll take the evening one."},
        {"role": "user", "name": "fritz", "content": "Who drives in the morning?"},
    ]
    call = parse({"messages": messages})
    assert call.query == "Who drives in the morning?"
    assert call.context == "user (dora): I can drive the morning van.\n\nuser (emil): I'll take the evening one."
    beside = parse(
        {"messages": [*messages[:2], {"role": "assistant", "content": "Noted."}, messages[2]], "context": "x"}
    )
    assert beside.contexts is not None
    assert beside.contexts["conversation"].startswith("user (dora): I can drive the morning van.\n\nuser (emil):")


def test_request_limits_tighten_the_budget(served: Served) -> None:
    with served.client() as client:
        response = client.chat.completions.create(
            model=MODEL, messages=ask("Never finish"), extra_body={"rlmx": {"max_iterations": 1}}
        )
    info = (response.model_extra or {})["rlmx"]
    assert response.choices[0].finish_reason == "length"
    assert (info["status"], info["iterations"]) == ("budget_exhausted", 1)


def test_json_schema_response_format_types_the_answer(served: Served) -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    with served.client() as client:
        response = client.chat.completions.create(
            model=MODEL,
            messages=ask("Count as JSON"),
            response_format={"type": "json_schema", "json_schema": {"name": "count", "schema": schema}},
            extra_body={"context": "abc"},
        )
    assert json.loads(response.choices[0].message.content or "") == {"n": 3}


def test_json_mode_asks_for_a_json_object(served: Served) -> None:
    with served.client() as client:
        response = client.chat.completions.create(
            model=MODEL,
            messages=ask("Count as JSON"),
            response_format={"type": "json_object"},
            extra_body={"context": "abc"},
        )
    assert json.loads(response.choices[0].message.content or "") == {"n": 3}


def test_request_limits_can_only_tighten_the_servers() -> None:
    rlm = RLM(ScriptedLM(["x"]), max_depth=3, budget=Budget(max_iterations=5))
    limited = with_limits(rlm, {"max_iterations": 50, "max_seconds": 3, "max_depth": 2})
    assert (limited.budget.max_iterations, limited.budget.max_seconds, limited.max_depth) == (5, 3, 2)
    assert (rlm.budget.max_iterations, rlm.budget.max_seconds, rlm.max_depth) == (5, None, 3)
    assert with_limits(rlm, {}) is rlm
    with pytest.raises(RequestError, match="no price for mystery") as raised:
        with_limits(RLM(ScriptedLM(["x"], model="mystery")), {"max_usd": 1.0})
    assert raised.value.param == "rlmx.max_usd"


# --- streaming ----------------------------------------------------------------------------------------


def test_stream_sends_progress_then_the_answer_then_usage(served: Served) -> None:
    with served.client() as client:
        stream = client.chat.completions.create(
            model=MODEL,
            messages=ask("Count in two turns"),
            stream=True,
            stream_options={"include_usage": True},
        )
        with stream:
            chunks = list(stream)
    kinds = []
    for chunk in chunks:
        delta = chunk.choices[0].delta if chunk.choices else None
        if delta is not None and (delta.model_extra or {}).get("reasoning_content"):
            kinds.append("reasoning")
        elif delta is not None and delta.content:
            kinds.append("content")
    assert kinds[-1] == "content" and kinds.count("content") == 1 and kinds.count("reasoning") >= 4
    reasoning = "".join((c.choices[0].delta.model_extra or {}).get("reasoning_content", "") for c in chunks[:-3])
    assert "turn 1" in reasoning and "turn 2" in reasoning and "cell 2 ok" in reasoning and "finished" in reasoning
    answer = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert answer == "42"
    finish, last = chunks[-2], chunks[-1]
    assert finish.choices[0].finish_reason == "stop" and (finish.model_extra or {})["rlmx"]["status"] == "finished"
    assert last.choices == [] and last.usage is not None and last.usage.total_tokens > 0
    assert len({c.id for c in chunks}) == 1


def test_stream_ends_with_done_on_the_wire(served: Served) -> None:
    body = {"model": MODEL, "messages": ask("How long is the context?"), "stream": True, "context": "abc"}
    headers = {"Content-Type": "application/json"}
    request = urllib.request.Request(
        f"{served.url}/v1/chat/completions", data=json.dumps(body).encode(), headers=headers
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.headers["Content-Type"].startswith("text/event-stream")
        events = [line for line in response.read().decode().split("\n\n") if line]
    assert all(event.startswith("data: ") for event in events) and events[-1] == "data: [DONE]"
    last_chunk = json.loads(events[-2].removeprefix("data: "))
    assert last_chunk["choices"][0]["finish_reason"] == "stop" and "usage" not in last_chunk


async def test_async_stream_reports_a_budget_stop_as_length(served: Served) -> None:
    async with served.async_client() as client:
        stream = await client.chat.completions.create(
            model=MODEL, messages=ask("Never finish"), stream=True, extra_body={"rlmx": {"max_iterations": 2}}
        )
        finishes = [c.choices[0].finish_reason async for c in stream if c.choices and c.choices[0].finish_reason]
    assert finishes == ["length"]


async def test_client_disconnect_cancels_the_run_and_kills_the_worker(served: Served, tmp_path: Path) -> None:
    pidfile = worker_pidfile()
    async with served.async_client() as client:
        stream = await client.chat.completions.create(model=MODEL, messages=ask(f"{SLEEP}{pidfile}"), stream=True)
        async for chunk in stream:
            if chunk.choices and (chunk.choices[0].delta.model_extra or {}).get("reasoning_content"):
                break
        worker = await started(pidfile)
        await stream.close()
    await ended(served, worker)
    types = [event.type for event in served.events]
    assert "cell_start" in types  # the cell was stopped, not run to its end: it ends "cancelled" in the events
    assert [e.data["status"] for e in served.events if e.type == "cell"] == ["cancelled"]
    assert [e.data["status"] for e in served.events if e.type == "run_end"] == ["cancelled"]  # ended, not finished
    assert len(served.lm.calls) == 1


async def test_client_leaving_a_plain_request_cancels_the_run(served: Served, tmp_path: Path) -> None:
    pidfile = worker_pidfile()
    async with served.async_client() as client:
        request = asyncio.create_task(client.chat.completions.create(model=MODEL, messages=ask(f"{SLEEP}{pidfile}")))
        worker = await started(pidfile)
        request.cancel()
        with pytest.raises(asyncio.CancelledError):
            await request
    await ended(served, worker)
    assert [e.data["status"] for e in served.events if e.type == "run_end"] == ["cancelled"]


# --- errors -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_options", "param"),
    [
        ({"messages": [{"role": "assistant", "content": "hi"}]}, "messages"),
        ({"messages": []}, "messages"),
        ({"messages": ask("q"), "extra_body": {"rlmx": {"max_iterations": 0}}}, "rlmx.max_iterations"),
        ({"messages": ask("q"), "extra_body": {"rlmx": {"max_seconds": "soon"}}}, "rlmx.max_seconds"),
        ({"messages": ask("q"), "extra_body": {"rlmx": {"max_turns": 3}}}, "rlmx.max_turns"),
        ({"messages": ask("q"), "extra_body": {"contexts": "not an object"}}, "contexts"),
        ({"messages": ask("q"), "extra_body": {"contexts": {"not a name": "x"}}}, None),
        ({"messages": ask("q"), "stream": "yes"}, "stream"),
        ({"messages": ask("q"), "response_format": {"type": "xml"}}, "response_format"),
        ({"messages": ask("q"), "n": 2}, "n"),
        ({"messages": ask("q"), "stream": True, "extra_body": {"contexts": {"llm_query": "x"}}}, None),
        (
            {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]},
            "messages[0].content[0]",
        ),
    ],
)
def test_bad_requests_are_openai_style_400s(served: Served, request_options: dict[str, Any], param: str | None) -> None:
    with served.client() as client, pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(model=MODEL, **request_options)
    error = raised.value.body
    assert isinstance(error, dict) and error["type"] == "invalid_request_error" and error["param"] == param
    assert len(error["message"]) > 20
    assert served.health()["running"] == 0 and served.lm.calls == []


def test_malformed_json_is_a_400(served: Served) -> None:
    status, body = post(f"{served.url}/v1/chat/completions", b'{"model": "rlmx-test", "messages": [')
    assert status == 400 and body["error"]["code"] == "invalid_json" and "JSON object" in body["error"]["message"]
    status, body = post(f"{served.url}/v1/chat/completions", b"[1, 2]")
    assert status == 400 and body["error"]["type"] == "invalid_request_error"


def test_a_failed_run_is_a_500_that_is_not_retried(served: Served) -> None:
    with served.client(max_retries=2) as client, pytest.raises(openai.InternalServerError) as raised:
        client.chat.completions.create(model=MODEL, messages=ask("Fail"))
    assert "the scripted LM is down" in raised.value.message and "--base-url" in raised.value.message
    assert len(served.lm.calls) == 1  # x-should-retry: false kept the SDK from running it again
    with served.client() as client, pytest.raises(openai.APIError, match="the scripted LM is down"):
        for _ in client.chat.completions.create(model=MODEL, messages=ask("Fail"), stream=True):
            pass


async def test_runs_beyond_the_limit_get_a_429(tmp_path: Path) -> None:
    for served in start(tmp_path, options=ServerOptions(max_concurrent_runs=1, max_queued=0)):
        pidfile = worker_pidfile()
        async with served.async_client() as client:
            stream = await client.chat.completions.create(model=MODEL, messages=ask(f"{SLEEP}{pidfile}"), stream=True)
            async with stream:
                await started(pidfile)
                with pytest.raises(openai.RateLimitError) as raised:
                    await client.chat.completions.create(model=MODEL, messages=ask("How long is the context?"))
        assert "--max-concurrent-runs 1" in raised.value.message
        await ended(served, int(pidfile.read_text()))
        assert served.health()["max_running"] == 1


# --- models, health, routes ---------------------------------------------------------------------------


def test_models_and_health(served: Served) -> None:
    with served.client() as client:
        assert [m.id for m in client.models.list()] == [MODEL]
        assert client.models.retrieve(MODEL).owned_by == "rlmx"
        with pytest.raises(openai.NotFoundError):
            client.models.retrieve("gpt-4o")
    assert served.health() == {"status": "ok", "running": 0, "max_running": 4, "queued": 0}
    status, body = post(f"{served.url}/v1/completions", b"{}")
    assert status == 404 and "/v1/chat/completions" in body["error"]["message"]


def test_create_app_rejects_bad_options() -> None:
    lm = ScriptedLM(["x"])
    with pytest.raises(ValueError, match="max_concurrent_runs"):
        create_app(RLM(lm), max_concurrent_runs=0)
    with pytest.raises(ValueError, match="model_name"):
        create_app(RLM(lm), model_name=" ")


# --- the command line ---------------------------------------------------------------------------------


def test_serve_help_lists_server_model_and_limit_flags() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "rlmx.cli", "serve", "--help"], capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 0, proc.stderr
    for flag in ("--host", "--port", "--model-name", "--max-concurrent-runs", "--model", "--max-iterations"):
        assert flag in proc.stdout
    args = build_parser().parse_args(["serve", "--port", "0", "--max-seconds", "5"])
    assert (args.host, args.port, args.model_name, args.max_concurrent_runs) == ("127.0.0.1", 0, "rlmx", 4)


def test_rlmx_serve_answers_an_openai_client(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text(json.dumps([repl("FINAL('served ' + str(len(context)))")]), encoding="utf-8")
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "RLMX_"))}
    command = [sys.executable, "-m", "rlmx.cli", "serve", "--port", "0", "--scripted", str(script), "--model-name", "m"]
    command += ["--trace-dir", str(tmp_path / "traces")]
    with subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=environ) as proc:
        assert proc.stderr is not None
        try:
            url = None
            for line in proc.stderr:
                found = re.search(r"running on (http://127\.0\.0\.1:\d+)", line)
                if found:
                    url = found.group(1)
                    break
            assert url is not None, "rlmx serve did not start"
            with openai.OpenAI(base_url=f"{url}/v1", api_key="x", max_retries=0) as client:
                response = client.chat.completions.create(
                    model="m", messages=ask("How long?"), extra_body={"context": "12345"}
                )
            assert response.choices[0].message.content == "served 5"
        finally:
            proc.send_signal(signal.SIGINT)
            proc.stderr.read()
            assert proc.wait(timeout=10) == 130  # Ctrl-C, as the README's exit codes say


# --- clients that leave before their run, and bad requests on a busy server -------------------------------------


def _raw_post(served: Served, body: bytes, *, declared: int | None = None) -> socket.socket:
    """A POST sent by hand on its own connection (its body possibly cut short); the caller closes it."""
    host, port = served.url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)))
    head = (
        f"POST /v1/chat/completions HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {served.api_key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {declared if declared is not None else len(body)}\r\n\r\n"
    )
    sock.sendall(head.encode() + body)
    return sock


async def _health_settles(served: Served, **expected: int) -> dict[str, Any]:
    for _ in range(100):
        health = served.health()
        if all(health[name] == value for name, value in expected.items()):
            return health
        await asyncio.sleep(0.05)
    raise AssertionError(f"health stayed {health}, expected {expected}")


async def test_a_client_that_leaves_mid_upload_gives_its_run_slot_back(tmp_path: Path) -> None:
    # Four cut uploads on a 4-slot server left it answering only 429s until restarted.
    for served in start(tmp_path, options=ServerOptions(max_concurrent_runs=1, queue_timeout=2)):
        big = json.dumps({"model": MODEL, "messages": ask("How long is the context?"), "context": "x" * 600_000})
        for _ in range(2):
            _raw_post(served, big.encode()[:300_000], declared=len(big)).close()
            await _health_settles(served, running=0, queued=0)
        with served.client() as client:
            answer = client.chat.completions.create(model=MODEL, messages=ask("How long is the context?"))
        assert answer.choices[0].message.content is not None


async def test_a_client_that_leaves_while_queued_frees_its_place(tmp_path: Path) -> None:
    options = ServerOptions(max_concurrent_runs=1, max_queued=1, queue_timeout=30)
    for served in start(tmp_path, options=options):
        pidfile = worker_pidfile()
        async with served.async_client() as client:
            stream = await client.chat.completions.create(model=MODEL, messages=ask(f"{SLEEP}{pidfile}"), stream=True)
            async with stream:
                await started(pidfile)
                waiting = json.dumps({"model": MODEL, "messages": ask("How long is the context?")}).encode()
                queued = _raw_post(served, waiting)
                await _health_settles(served, running=1, queued=1)
                queued.close()  # its client gave up (an SDK timeout)
                await _health_settles(served, running=1, queued=0)
                with pytest.raises(openai.NotFoundError):  # checked at once, though every slot is busy
                    await client.chat.completions.create(model="no-such-model", messages=ask("How long?"))
        await ended(served, int(pidfile.read_text()))
