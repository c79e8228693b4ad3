"""Text that is not plain, or not valid UTF-8, crossing rlmx's boundaries: JSON Lines files holding Unicode line
separators, bytes handed out of the REPL, half an emoji in a typed answer or a request body, a BOM, and terminal
control characters in text rlmx prints. Real runs (ScriptedLM, the default sandbox), the real CLI where the
trouble shows there."""

from __future__ import annotations

import asyncio
import io
import json
import os
import pty
import re
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from fake_openai_server import FakeOpenAIServer, Reply
from rlmx import RLM, Event
from rlmx.bench.external import load_tasks
from rlmx.commands.traces import show_list
from rlmx.context import prepare
from rlmx.errors import InputError, LMBadResponse, LMRequestError
from rlmx.lm import Message, ScriptedLM, guided_cells
from rlmx.lm.local import CUT_MARKER, _cut_middle
from rlmx.lm.openai import OpenAICompatibleLM
from rlmx.lm.openai_reply import parse_body, to_completion
from rlmx.progress import LiveTree, Progress, terminal_safe
from rlmx.prompts import forced_answer
from rlmx.sandbox import create_sandbox, graphemes
from rlmx.schema import parse_json_reply
from rlmx.tools import ToolBox
from rlmx.viewer.store import TraceInfo, read_trace
from scripting import answering_ok, cli_environ, repl, router, run_cli

SEPARATORS = "a\u2028b\u2029c\x85d"
"""Characters `str.splitlines()` breaks lines at, that JSON carries raw inside a string."""
LONE = re.compile("[\ud800-\udfff]")
HOSTILE = "who \x1b]0;PWNED\x07 \x1b[2J is it?"
"""A question that would retitle the terminal and clear the screen if printed raw."""


def traced_run(tmp_path: Path, query: str = "q", answer: str = SEPARATORS) -> Path:
    lm = ScriptedLM([repl(f"FINAL({answer!r})")])
    result = RLM(lm, trace_dir=tmp_path / "traces").completion(query, context="c")
    assert result.answer == answer and result.trace_path is not None
    return Path(result.trace_path)


def raw_separators(path: Path) -> int:
    """Rewrite the trace as a writer that leaves U+2028, U+2029 and U+0085 raw would have; its line count."""
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line]
    text = "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records)
    assert "\u2028" in text and "\x85" in text
    path.write_text(text, encoding="utf-8")
    return len(records)


# --- JSON Lines: one record a line, whatever its strings hold ----------------------------------------------------


def test_trace_lines_escape_unicode_line_separators(tmp_path: Path) -> None:
    path = traced_run(tmp_path, query="q\u2028?")
    text = path.read_text(encoding="utf-8")
    assert "\u2028" not in text and "\u2029" not in text and "\x85" not in text
    assert len(text.splitlines()) == text.count("\n")  # another tool's reader sees one record a line
    events = read_trace(path)
    assert events[0]["query"] == "q\u2028?" and events[-1]["answer"] == SEPARATORS


def test_traces_holding_raw_separators_still_read_whole(tmp_path: Path) -> None:
    path = traced_run(tmp_path)
    lines = raw_separators(path)
    assert len(read_trace(path)) == lines
    redacted = run_cli("traces", "--redact", str(path), "-o", "-", tmp_path=tmp_path)
    assert redacted.returncode == 0, redacted.stderr
    assert len(redacted.stdout.splitlines()) == lines
    page = run_cli("view", str(path), "--html", "page.html", tmp_path=tmp_path)
    assert page.returncode == 0, page.stderr


def test_the_server_returns_every_event_of_a_trace_with_raw_separators(tmp_path: Path) -> None:
    pytest.importorskip("starlette")
    from server.server_harness import post, start

    for served in start(tmp_path):
        question = {"messages": [{"role": "user", "content": "How long is the context?"}], "context": SEPARATORS}
        status, reply = post(f"{served.url}/v1/chat/completions", json.dumps(question).encode())
        assert status == 200, reply
        trace_id = reply["rlmx"]["trace_id"]
        (path,) = (tmp_path / "traces").glob(f"*-{trace_id}.jsonl")
        lines = raw_separators(path)  # the context's preview in the prompt holds them
        with urllib.request.urlopen(f"{served.url}/v1/traces/{trace_id}", timeout=10) as response:
            assert len(json.load(response)) == lines


def test_a_jsonl_context_and_a_tasks_file_may_hold_separators(tmp_path: Path) -> None:
    records = tmp_path / "rows.jsonl"
    records.write_bytes(
        json.dumps({"t": SEPARATORS}, ensure_ascii=False).encode() + b"\r\n" + json.dumps({"t": "two"}).encode() + b"\n"
    )
    lm = ScriptedLM([repl("FINAL([row['t'] for row in context])")])
    assert RLM(lm).completion("q", context=records).value == [SEPARATORS, "two"]

    tasks = tmp_path / "tasks.jsonl"
    task = {"family": "sniah", "context": "the code is 7", "query": "the code?\u2028", "answer": "7"}
    tasks.write_text(json.dumps(task, ensure_ascii=False) + "\n", encoding="utf-8")
    (loaded,) = load_tasks(tasks)
    assert loaded.query == "the code?\u2028"


# --- bytes out of the REPL -----------------------------------------------------------------------------------------

CHUNKED = (
    "import sys\n"
    "data = 'café – 日本 🙂'.encode() * 3\n"
    "for i in range(len(data)):\n"
    "    sys.stdout.buffer.write(data[i : i + 1])\n"
    "_ = sys.stdout.buffer.write(b'end \\xe2\\x82')"
)


@pytest.mark.parametrize("tier", ["subprocess", "inprocess"])
async def test_bytes_written_a_piece_at_a_time_arrive_as_their_text(
    tier: str, capsys: pytest.CaptureFixture[str]
) -> None:
    box = create_sandbox(tier)
    await box.start([prepare("context", "c")])
    try:
        result = await box.run_cell(CHUNKED, calls=answering_ok([]), timeout=10)
        assert result.stdout == "café – 日本 🙂" * 3 + "end \ufffd"  # a sequence left unfinished ends as U+FFFD
        assert (await box.run_cell("print('next')", calls=answering_ok([]), timeout=10)).stdout == "next\n"
    finally:
        await box.close()
    assert capsys.readouterr().out == ""  # nothing reached the host's own stdout


@pytest.mark.parametrize("tier", ["subprocess", "inprocess"])
@pytest.mark.parametrize(
    ("finish", "answer"),
    [
        ("FINAL('café'.encode())", "café"),
        ("FINAL(b'caf\\xe9 ok')", "caf\ufffd ok"),
        ("SUBMIT(answer=bytearray('café'.encode()))", "café"),
        ("answer['content'] = memoryview(b'ok')\nanswer['ready'] = True", "ok"),
    ],
)
def test_bytes_given_as_the_answer_are_their_utf8_text(tier: str, finish: str, answer: str) -> None:
    result = RLM(ScriptedLM([repl(finish)]), sandbox=tier).completion("q", context="c")
    assert answer in result.answer and "b'" not in result.answer


@pytest.mark.parametrize("tier", ["subprocess", "inprocess"])
def test_bytes_inside_values_and_prompts_cross_as_text(tier: str) -> None:
    prompts: list[str] = []

    def sub(messages: list[Message]) -> str:
        prompts.append(messages[0]["content"])
        return "ok"

    code = (
        "child = rlm_query('look', context='naïve'.encode())\n"
        "llm_query('café'.encode())\n"
        "FINAL([child, b'caf\\xc3\\xa9', {'k': bytearray(b'\\xff')}])"
    )
    lm = ScriptedLM(router(root=[repl(code)], child=lambda m: repl("FINAL(context)"), sub=sub))
    result = RLM(lm, sandbox=tier, max_depth=2).completion("q", context="c")
    assert result.value == ["naïve", "café", {"k": "\ufffd"}]
    assert prompts == ["café"]


# --- typed answers and the in-process tier: half an emoji becomes U+FFFD -------------------------------------------


def test_a_typed_answer_in_prose_json_holds_no_lone_surrogate() -> None:
    schema = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
    lm = ScriptedLM(['FINAL({"name": "half \\ud83d emoji"})'])
    result = RLM(lm).completion("q", context="c", output=schema)
    assert result.value == {"name": "half \ufffd emoji"}
    assert not LONE.search(result.answer) and json.loads(result.answer) == result.value


def test_json_read_from_a_reply_is_valid_unicode_keys_included() -> None:
    # a lone surrogate in a key is written as an escape, so two such keys stay two (U+FFFD could merge them)
    assert parse_json_reply('Here: {"\\udc00k": ["\\ud83d", "\\ud83d\\ude00"]}') == {"\\udc00k": ["\ufffd", "😀"]}
    assert parse_json_reply("{'a': ('\\ud83d',)}") == {"a": ("\ufffd",)}  # a Python literal
    assert parse_json_reply("[" * 100_000 + "]" * 100_000, default="none") == "none"


def test_inprocess_cells_cannot_write_past_rlmx_json_output(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    code = "import sys\nsys.stdout.buffer.write(b'LEAKED \\xff\\n')\nFINAL('half \\ud83d')"
    script.write_text(json.dumps([repl(code)]), encoding="utf-8")
    done = run_cli("ask", "q", "--sandbox", "inprocess", "--json", "--scripted", str(script), tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    assert shown["answer"] == "half \ufffd" and shown["value"] == "half \ufffd"


async def test_inprocess_final_values_hold_no_lone_surrogate() -> None:
    box = create_sandbox("inprocess")
    await box.start([prepare("context", "c")])
    try:
        result = await box.run_cell(
            "print('p \\ud83d')\n_ = FINAL({'\\udc00': ['half \\ud83d']})", calls=answering_ok([]), timeout=5
        )
    finally:
        await box.close()
    assert result.stdout == "p \ufffd\n"
    assert result.final == {"kind": "final", "value": {"\\udc00": ["half \ufffd"]}}  # a key: an escape


# --- what rlmx prints to a terminal ----------------------------------------------------------------------------


def test_terminal_safe_shows_control_characters() -> None:
    assert terminal_safe("a\x1b[2J\x07\x9b\x7f\r\tb\nc é") == "a\\x1b[2J\\x07\\x9b\\x7f\\x0d\tb\nc é"


def test_terminal_safe_shows_bidirectional_overrides_and_isolates_but_keeps_marks() -> None:
    # "Trojan Source" (CVE-2021-42574): RLO shows "admin" reversed; an isolate hides text's real order
    shown = terminal_safe("user\u202enimda\u202c is \u2067x\u2069, \u05e9\u05dc\u05d5\u05dd\u200f.")
    assert shown == "user\\u202enimda\\u202c is \\u2067x\\u2069, \u05e9\u05dc\u05d5\u05dd\u200f."


def hostile_child(tmp_path: Path) -> Path:
    script = tmp_path / "script.json"
    replies = [repl(f"FINAL(rlm_query({HOSTILE!r}, context='abc'))"), repl("FINAL('child done')")]
    script.write_text(json.dumps(replies), encoding="utf-8")
    return script


def test_progress_lines_show_escapes_not_control_sequences(tmp_path: Path) -> None:
    done = run_cli("ask", "q", "--scripted", str(hostile_child(tmp_path)), "--max-depth", "2", tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "\x1b" not in done.stderr and "\x07" not in done.stderr
    assert "who \\x1b]0;PWNED\\x07 \\x1b[2J is it?" in done.stderr


def test_the_live_tree_shows_escapes_not_control_sequences() -> None:
    out = io.StringIO()
    view = LiveTree(Console(file=out, width=200, force_terminal=True), refresh_per_second=50)
    replies = [repl(f"FINAL(rlm_query({HOSTILE!r}, context='abc'))"), repl("FINAL('child done')")]
    events: list[Event] = []

    def listen(event: Event) -> None:
        events.append(event)
        view(event)

    try:
        RLM(ScriptedLM(replies), max_depth=2, on_event=listen).completion("q", context="c")
    finally:
        view.close()
    assert any(e.type == "node_start" and e.depth == 1 for e in events)
    assert "\x1b]0;" not in out.getvalue() and "\x1b[2J" not in out.getvalue()
    assert "\\x1b[2J" in out.getvalue()


def test_the_traces_list_shows_escapes_not_control_sequences(tmp_path: Path) -> None:
    traced_run(tmp_path, query=HOSTILE, answer="x")
    listed = run_cli("traces", "--trace-dir", str(tmp_path / "traces"), tmp_path=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "\x1b" not in listed.stdout and "\x07" not in listed.stdout
    assert "who \\x1b]0;PWNED\\x07 \\x1b[2J is it?" in listed.stdout


# --- a BOM, and request bodies --------------------------------------------------------------------------------------


def test_a_bom_is_dropped_from_bytes_and_unregistered_files(tmp_path: Path) -> None:
    markup = tmp_path / "page.xml"
    markup.write_bytes(b"\xef\xbb\xbf<a>hi</a>\n")
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "one.srt").write_bytes(b"\xef\xbb\xbf1\n")
    contexts: dict[str, Any] = {"markup": markup, "notes": folder}
    lm = ScriptedLM([repl("FINAL([context[:1], markup[:1], notes['one.srt'][:1]])")])
    result = RLM(lm).completion("q", context=b'\xef\xbb\xbf{"a": 1}', contexts=contexts)
    assert result.value == ["{", "<", "1"]


def test_bytes_contexts_are_read_by_their_byte_order_mark_as_files_are() -> None:
    # Bytes were UTF-8 only: the same UTF-16 bytes loaded from a file and were refused as a bytes context.
    lm = ScriptedLM([repl("FINAL([context, notes])")])
    contexts: dict[str, Any] = {"notes": "Grüße 😀".encode("utf-32")}
    result = RLM(lm).completion("q", context="Grüße 😀".encode("utf-16"), contexts=contexts)
    assert result.value == ["Grüße 😀", "Grüße 😀"]
    with pytest.raises(InputError, match=r"context bytes are not text \(not UTF-8: bad byte at position 3\)"):
        RLM(lm).completion("q", context=b"caf\xe9")


def test_the_server_takes_a_bom_and_lone_surrogate_escapes(tmp_path: Path) -> None:
    pytest.importorskip("starlette")
    from rlmx.server import body as bodies
    from server.server_harness import post, start

    for served in start(tmp_path):
        url = f"{served.url}/v1/chat/completions"
        question = b'{"messages": [{"role": "user", "content": "How long is the context?"}], "context": '
        status, reply = post(url, b"\xef\xbb\xbf" + question + b'"four"}')
        assert status == 200 and reply["choices"][0]["message"]["content"] == "length 4", reply
        status, reply = post(url, question + b'"half \\ud83d"}')
        assert status == 200 and reply["choices"][0]["message"]["content"] == "length 6", reply
    raw = b'{"\\udc00k": [{"v": "a\\ud83d"}, "\\ud83d\\ude00", "\\udfff"]}'
    assert asyncio.run(bodies.decode(raw)) == {"\\udc00k": [{"v": "a\ufffd"}, "😀", "\ufffd"]}


@pytest.mark.parametrize("start", [b"", b"\xef\xbb\xbf"], ids=["plain", "bom"])
def test_a_request_bodys_bad_byte_is_named_where_it_is(start: bytes) -> None:
    # Counted from the start of a 256 KiB slice (and the BOM's end): a client looked for it in the wrong place.
    pytest.importorskip("starlette")
    from rlmx.server import body as bodies
    from rlmx.server.openai_compat import RequestError

    text = b'{"messages": [{"role": "user", "content": "' + b"x" * 400_000 + b'"}]}'
    at = len(start) + 300_082
    raw = start + text[: at - len(start)] + b"\xe9" + text[at - len(start) :]
    with pytest.raises(RequestError, match=f"byte 0xe9 in position {at}:"):
        asyncio.run(bodies.decode(raw))


def test_a_bom_is_dropped_from_a_context_piped_to_the_cli(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text(json.dumps([repl("FINAL(repr(context[:3]))")]), encoding="utf-8")
    done = run_cli("ask", "q", "--context", "-", "--scripted", str(script), tmp_path=tmp_path, stdin="\ufeffabc")
    assert (done.returncode, done.stdout.strip()) == (0, "'abc'"), done.stderr


def test_cli_errors_show_escapes_not_control_sequences(tmp_path: Path) -> None:
    done = run_cli("ask", "q", "--context", str(tmp_path / "missing \x1b[2J.txt"), tmp_path=tmp_path)
    assert done.returncode != 0 and "\x1b" not in done.stderr
    assert "missing \\x1b[2J.txt" in done.stderr


# --- third audit ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("tier", ["subprocess", "inprocess"])
def test_dict_keys_that_differ_only_in_lone_surrogates_stay_apart_across_frames(tier: str) -> None:
    # os.listdir() of a folder whose names are not UTF-8: two names, two keys, two values (U+FFFD merged them)
    code = "names = {'caf\\udce9.txt': 1, 'caf\\udcea.txt': 2, 'ok.txt': 3}\nFINAL(names)"
    result = RLM(ScriptedLM([repl(code)]), sandbox=tier).completion("q", context="c")
    assert result.value == {"caf\\udce9.txt": 1, "caf\\udcea.txt": 2, "ok.txt": 3}


def test_the_cells_stdout_takes_the_usual_text_stream_idioms() -> None:
    code = (
        "import io, sys\n"
        "sys.stdout.reconfigure(encoding='utf-8')\n"
        "print(sys.stdout.encoding, sys.stdout.errors, sys.stdout.writable())\n"
        "sys.stdout.writelines(['one ', 'two\\n'])\n"
        "wrapped = io.TextIOWrapper(sys.stdout.buffer, encoding='utf-8', write_through=True)\n"
        "wrapped.write('wrapped caf\\u00e9\\n')\n"
        "print('half \\ud800 dunder', file=sys.__stdout__, flush=True)"
    )
    lm = ScriptedLM([repl(code), repl("FINAL('done')")])
    assert RLM(lm).completion("q", context="c").answer == "done"
    shown = lm.calls[1][-1]["content"]
    assert "utf-8 replace True" in shown and "one two" in shown and "wrapped café" in shown
    assert "half \\ud800 dunder" in shown  # the process's own stdout writes the surrogate as an escape


def test_a_context_folders_files_that_are_not_utf8_are_named_as_such(tmp_path: Path) -> None:
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "Makefile").write_bytes("# Jos\u00e9\nall:\n".encode("latin-1"))
    (folder / "ok.md").write_text("fine", encoding="utf-8")
    (folder / "blob").write_bytes(b"\x00\x01")
    assert prepare("context", folder).skipped_files == ("Makefile (not UTF-8)", "blob (binary)")
    utf16 = tmp_path / "notes.txt"
    utf16.write_bytes("launch code".encode("utf-16-le"))  # no BOM: every other byte NUL, where UTF-16 puts them
    assert prepare("context", utf16).text == "launch code"


def test_a_utf8_question_under_a_c_locale_reaches_the_model_as_typed(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text(json.dumps([repl("FINAL('ok')")]), encoding="utf-8")
    c_locale = {"LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0", "PYTHONIOENCODING": ""}
    done = subprocess.run(
        [sys.executable, "-m", "rlmx.cli", "ask", "Wie groß ist der Code?".encode(), "--scripted", str(script)],
        capture_output=True,
        env=cli_environ(tmp_path, c_locale),
        cwd=tmp_path,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    (trace,) = (tmp_path / "state" / "rlmx" / "traces").glob("*.jsonl")
    assert read_trace(trace)[0]["query"] == "Wie groß ist der Code?"


def test_json_on_stdout_is_valid_utf8_whatever_the_paths_hold(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text(json.dumps([repl("FINAL('ok')")]), encoding="utf-8")
    odd = os.fsdecode(bytes(tmp_path) + b"/tr\xe9")  # a trace folder whose name is not UTF-8
    done = run_cli("ask", "q", "--scripted", str(script), "--trace-dir", odd, "--json", tmp_path=tmp_path)
    listed = run_cli("traces", "--trace-dir", odd, "--json", tmp_path=tmp_path)
    for proc in (done, listed):
        assert proc.returncode == 0, proc.stderr
        assert "\\udc" not in proc.stdout and "\ufffd" in proc.stdout
        json.loads(proc.stdout)


def test_an_answer_printed_to_a_terminal_cannot_drive_it(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text(json.dumps([repl("FINAL('x\\x1b]52;c;aGk=\\x07\\x1b[2J y')")]), encoding="utf-8")
    leader, follower = pty.openpty()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "rlmx.cli", "ask", "q", "--scripted", str(script), "-q"],
            stdout=follower,
            stderr=subprocess.PIPE,
            env=cli_environ(tmp_path),
            cwd=tmp_path,
            timeout=60,
        )
        shown = os.read(leader, 4096)
    finally:
        os.close(leader)
        os.close(follower)
    assert proc.returncode == 0, proc.stderr
    assert b"\x1b" not in shown and b"x\\x1b]52;c;aGk=\\x07\\x1b[2J y" in shown
    piped = run_cli("ask", "q", "--scripted", str(script), "-q", tmp_path=tmp_path)
    assert piped.stdout == "x\x1b]52;c;aGk=\x07\x1b[2J y\n"  # to a pipe, as it is


def test_json_of_an_answer_holding_c1_controls_cannot_drive_a_terminal(tmp_path: Path) -> None:
    # U+009B is CSI and U+009D OSC once a terminal decodes UTF-8 (VTE acts on them): JSON escapes only C0 itself
    answer = "x\x9b2J\x9d0;PWNED\x9c y"
    script = tmp_path / "script.json"
    script.write_text(json.dumps([repl(f"FINAL({answer!r})")]), encoding="utf-8")
    traces = tmp_path / "traces"
    done = run_cli("ask", "q", "--scripted", str(script), "--json", "--trace-dir", str(traces), tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    assert not any("\x80" <= c <= "\x9f" for c in done.stdout) and "\\u009b2J" in done.stdout
    assert json.loads(done.stdout)["answer"] == answer  # the same JSON
    (trace,) = traces.glob("*.jsonl")  # `cat`-ing a trace is as safe
    written = trace.read_text(encoding="utf-8")
    assert not any("\x80" <= c <= "\x9f" for c in written)
    assert answer in [json.loads(line).get("answer") for line in written.splitlines()]


def test_json_and_traces_of_an_answer_holding_bidirectional_controls_show_them_escaped(tmp_path: Path) -> None:
    answer = "access = 'user\u202e \u2066// admin\u2069 \u2066'"
    script = tmp_path / "script.json"
    script.write_text(json.dumps([repl(f"FINAL({answer!r})")]), encoding="utf-8")
    traces = tmp_path / "traces"
    done = run_cli("ask", "q", "--scripted", str(script), "--json", "--trace-dir", str(traces), tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "\u202e" not in done.stdout and "\\u202e" in done.stdout and "\\u2069" in done.stdout
    assert json.loads(done.stdout)["answer"] == answer  # the same JSON
    (trace,) = traces.glob("*.jsonl")
    written = trace.read_text(encoding="utf-8")
    assert "\u202e" not in written and "\u2066" not in written
    assert answer in [json.loads(line).get("answer") for line in written.splitlines()]


def test_a_task_file_holding_a_lone_surrogate_is_hashed_not_a_traceback() -> None:
    from rlmx.bench.task import sha256_text

    assert sha256_text("half \ud83d") == sha256_text("half \ufffd")
    assert sha256_text(["a", "half \ud83d"]) == sha256_text(["a", "half \ufffd"])


@pytest.mark.parametrize("encoding", ["latin-1", "cp1252", "ascii"])
def test_json_for_stdout_is_json_on_a_stream_that_is_not_unicode(encoding: str) -> None:
    # The stream's own codec wrote "caf\xe9" and "\U0001f600" for what it could not encode: not JSON escapes.
    from rlmx.progress import write_json

    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding=encoding, errors="backslashreplace")
    write_json({"answer": "café 😀 ｘ"}, stream)
    stream.flush()
    assert json.loads(raw.getvalue().decode("ascii")) == {"answer": "café 😀 ｘ"}


def test_json_lines_with_classic_mac_line_ends_load(tmp_path: Path) -> None:
    from rlmx.documents import load

    path = tmp_path / "records.jsonl"
    path.write_bytes(b'{"a": 1}\r{"a": 2}\r{"a": "x\\ry"}\r')
    assert load(path, 1 << 20).value == [{"a": 1}, {"a": 2}, {"a": "x\ry"}]


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be", "utf-32"])
def test_text_files_and_piped_text_marked_as_utf16_or_utf32_are_read(tmp_path: Path, codec: str) -> None:
    # Windows Notepad's "Unicode" and PowerShell 5's pipes write UTF-16 with a byte order mark: the mark says so,
    # and the file or the pipe was refused as binary (its NUL bytes) or "not UTF-8 (bad byte at position 0)".
    def encode(text: str) -> bytes:  # Python's utf-16 and utf-32 codecs write the mark; utf-16-be does not
        return ("\ufeff" + text).encode(codec) if codec.endswith("-be") else text.encode(codec)

    text = "Launch code: 7-ALPHA. Café 😀"
    encoded = encode(text)
    notes = tmp_path / "notes.txt"
    notes.write_bytes(encoded)
    assert prepare("context", notes).data == text.encode()
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.md").write_bytes(encoded)
    (folder / "b.csv").write_bytes(encode("x,y\r\n1,2\r\n"))
    loaded = prepare("context", folder)
    assert json.loads(loaded.text) == {"a.md": text, "b.csv": [{"x": "1", "y": "2"}]}
    script = tmp_path / "script.json"
    script.write_text(json.dumps([repl("FINAL(context)")]), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "rlmx.cli", "ask", "q", "--context", "-", "--scripted", str(script)],
        input=encoded,
        capture_output=True,
        env=cli_environ(tmp_path, None),
        cwd=tmp_path,
        timeout=60,
    )
    assert done.returncode == 0 and done.stdout.decode().strip() == text, done.stderr[-500:]


def test_a_byte_order_mark_that_does_not_fit_the_bytes_after_it_is_named() -> None:
    from rlmx.documents.text import NotText, decode_text

    with pytest.raises(NotText, match="its byte order mark says UTF-16, but byte 2 is not"):
        decode_text(b"\xff\xfe\x00\xdc")  # a lone low surrogate


FLAG, ACCENTED, FAMILY = "\U0001f1fa\U0001f1f8", "e\u0301", "\U0001f468\u200d\U0001f469\u200d\U0001f467"
"""🇺🇸 (two regional indicators), é written as e + a combining accent (NFD), a family (three emoji, two joiners)."""


def _whole(piece: str, unit: str) -> bool:
    """Whether `piece` (after its leading "x") is `unit` repeated: no unit split at either end."""
    body = piece.removeprefix("x")
    return len(body) % len(unit) == 0 and body == unit * (len(body) // len(unit))


@pytest.mark.parametrize("unit", [FLAG, ACCENTED, FAMILY, "\r\n", "\u1100\u1161\u11a8"])  # CR LF; 각 as jamo
def test_a_clipped_text_keeps_whole_characters_on_both_sides_of_the_cut(unit: str) -> None:
    from rlmx.events import clip

    for count in (2_500, 2_501, 2_503):
        text = "x" + unit * count
        head, _, tail = clip(text).partition("\n... [")
        tail = tail.split("] ...\n", 1)[1]
        # cut between two letters of a flag, every flag after it paired the wrong letters (🇸🇺 for 🇺🇸)
        assert _whole(head, unit) and _whole(tail, unit), (unit, count, head[-4:], tail[:4])
        assert len(head) <= 2_000 and len(tail) <= 2_000


def test_the_trace_and_a_context_preview_keep_whole_characters(tmp_path: Path) -> None:
    flags = "x" + FLAG * 2_500
    RLM(ScriptedLM([repl(f"FINAL({flags!r})")]), trace_dir=tmp_path).completion("q", context=ACCENTED * 1_000)
    events = read_trace(next(tmp_path.glob("*.jsonl")))
    answer = next(e["answer"] for e in events if e["type"] == "run_end")
    head, tail = answer.split("\n... [")[0], answer.split("] ...\n")[1]
    assert _whole(head, FLAG) and _whole(tail, FLAG)
    assert _whole(prepare("context", "x" + ACCENTED * 1_000).preview, ACCENTED)


@pytest.mark.parametrize("tier", ["subprocess", "inprocess"])
@pytest.mark.parametrize("unit", [FLAG, ACCENTED, FAMILY])
async def test_a_cells_output_cut_to_its_cap_keeps_whole_characters(tier: str, unit: str) -> None:
    # the model was shown half a flag and then 4,999 🇸🇺 for a column of 🇺🇸, or an "e" that was an "é"
    box = create_sandbox(tier)
    await box.start([prepare("context", "c")])
    try:
        for count in (15_000, 15_001):
            result = await box.run_cell(f"print('x' + {unit!r} * {count}, end='')", calls=answering_ok([]), timeout=30)
            head, _, rest = result.stdout.partition("\n... [")
            tail = rest.split("] ...\n", 1)[1]
            assert _whole(head, unit) and _whole(tail, unit), (count, head[-4:], tail[:4])
            assert int(rest.split(" characters cut]")[0].replace(",", "")) == 1 + count * len(unit) - len(head) - len(
                tail
            )
    finally:
        await box.close()


# --- every cut of a text shown to a model or a user falls between whole characters -----------------------------------

OPEN, CLOSE = "⟨", "⟩"
"""Around the repeated unit in the texts below; the shown side of a cut is found next to the mark it kept."""


def _event(kind: str, node_id: str = "0", **data: Any) -> Event:
    return Event(kind, "run", node_id, None, node_id.count("."), data)


ROOT_START = _event("node_start", query="q")


def _progress_line(*events: Event) -> str:
    out = io.StringIO()
    view = Progress(Console(file=out, width=100_000))
    for event in events:
        view(event)
    view.close()  # a root error line is held until the next event or the end
    return out.getvalue()


def _live_tree(*events: Event) -> str:
    view = LiveTree(Console(file=io.StringIO(), width=200, force_terminal=True), refresh_per_second=50)
    try:
        for event in events:
            view(event)
        out = io.StringIO()
        Console(file=out, width=100_000).print(view)
        return out.getvalue()
    finally:
        view.close()


def _listed(text: str) -> str:
    info = TraceInfo("t.jsonl", "t.jsonl", 1, 0.0, "r", "2026-01-01 00:00:00", text, "finished", "", 1.0, None, None)
    out = io.StringIO()
    show_list([info], Path("traces"), Console(file=out, width=200), limit=10)  # not a terminal: 97 characters
    return out.getvalue()


def _documented(text: str) -> str:
    def lookup(key: str) -> str:
        return key

    lookup.__doc__ = text
    return ToolBox([lookup], reserved=()).describe()


def _reply_error(text: str, **choice: Any) -> str:
    data = {"choices": [{"index": 0, "message": {"role": "assistant", "content": text}, **choice}]}
    with pytest.raises(LMBadResponse) as caught:
        to_completion(data, model="m", prompt_bound=0, cap=None)
    return str(caught.value)


def _bad_body(data: dict[str, Any]) -> str:
    with pytest.raises(LMBadResponse) as caught:
        to_completion(data, model="m", prompt_bound=0, cap=None)
    return str(caught.value)


def _not_json(text: str) -> str:
    with pytest.raises(LMBadResponse) as caught:
        parse_body(text.encode(), status=200, content_type="text/plain")
    return str(caught.value)


def _http_error(body: str | dict[str, Any]) -> str:
    async def call() -> str:
        with FakeOpenAIServer() as server:
            server.script(Reply(400, body))
            lm = OpenAICompatibleLM("m", server.base_url, api_key="k", max_retries=0)
            try:
                with pytest.raises(LMRequestError) as caught:
                    await lm.complete([{"role": "user", "content": "q"}])
            finally:
                await lm.aclose()
            return str(caught.value)

    return asyncio.run(call())


CUT_SITES: dict[str, Any] = {
    "forced answer's notes (tail)": lambda t: forced_answer("q", "a budget ran out", t),
    "child RLM line": lambda t: _progress_line(_event("node_start", "0.1", query=t)),
    "failed sub-call line": lambda t: _progress_line(_event("subcall_end", subcall_id="s", ok=False, text=t)),
    "failed tool line": lambda t: _progress_line(_event("tool_call", name="f", ok=False, result=t)),
    "failed setup line (tail)": lambda t: _progress_line(_event("setup", status="error", output=t)),
    "rejected answer line": lambda t: _progress_line(_event("answer_rejected", problems=t)),
    "error line": lambda t: _progress_line(_event("error", error_type="E", message=t)),
    "live tree cell": lambda t: _live_tree(ROOT_START, _event("cell_start", cell_id="c1", code=t)),
    "live tree child query": lambda t: _live_tree(ROOT_START, _event("node_start", "0.1", query=t)),
    "traces list": _listed,
    "tool docstring": _documented,
    "reply ended with an error": lambda t: _reply_error(t, finish_reason="stop", error={"message": "m"}),
    "reply ended early": lambda t: _reply_error(t, finish_reason="error"),
    "content-filtered reply (tail)": lambda t: _reply_error(t, finish_reason="content_filter"),
    "refusal": lambda t: _reply_error("", finish_reason="stop", message={"refusal": t}),
    "body's own message": lambda t: _bad_body({"message": t}),
    "blocked prompt": lambda t: _bad_body({"promptFeedback": {"blockReason": t}}),
    "body that is not JSON": _not_json,
    "error body as text": _http_error,
    "error body as JSON": lambda t: _http_error({"oops": t}),
    "error page": lambda t: _http_error(f"<html><body><p>{t}</p></body></html>"),
}
"""Where rlmx shortens a text it shows (to a model, in an error, on a terminal): each, given a long text, says what
it shows. "(tail)": the end of the text is kept."""


def _shown_run(shown: str, unit: str) -> str:
    """The run of `unit`'s characters that `shown` kept beside an OPEN (a head) or, without one, a CLOSE (a tail)."""
    shown = shown.replace("\\u200d", "\u200d")  # repr() writes the joiner as an escape
    assert (OPEN in shown) != (CLOSE in shown), "the text was not cut"
    chars = set(unit)
    if OPEN in shown:
        start = end = shown.index(OPEN) + 1
        while end < len(shown) and shown[end] in chars:
            end += 1
    else:
        start = end = shown.index(CLOSE)
        while start > 0 and shown[start - 1] in chars:
            start -= 1
    return shown[start:end]


@pytest.mark.parametrize("unit", [FLAG, ACCENTED, FAMILY])
@pytest.mark.parametrize("site", CUT_SITES)
def test_every_shortened_text_shows_whole_characters(site: str, unit: str) -> None:
    # A head cut after a flag's first letter showed a lone letter-box, a tail cut there turned a column of 🇺🇸 into
    # 🇸🇺; a cut left an "e" without its accent, or one person and a dangling joiner of a family.
    for pad in range(len(unit) + 1):  # one of these puts a code-point cut inside a unit
        text = "x" * pad + OPEN + unit * 1_500 + CLOSE + "x" * pad
        run = _shown_run(CUT_SITES[site](text), unit)
        assert run and run == unit * (len(run) // len(unit)), (pad, run[:6], run[-6:])


# --- cuts counted in tokens or pieces, made between whole characters (audit 29) ---------------------------------


class _ByteTokenizer:
    """A tokenizer whose tokens are UTF-8 bytes: every token edge may fall inside a character."""

    def tokenize(self, data: bytes, add_bos: bool = False, special: bool = False) -> list[int]:
        return list(data)

    def detokenize(self, tokens: list[int]) -> bytes:
        return bytes(tokens)


def _whole_pieces(text: str, pieces: list[str]) -> bool:
    """Each piece is a run of `text` that starts and ends between its grapheme clusters."""
    at = 0
    for piece in pieces:
        at = text.index(piece, at)
        if not (graphemes.is_boundary(text, at) and graphemes.is_boundary(text, at + len(piece))):
            return False
        at += len(piece)
    return True


def test_the_local_models_window_cut_keeps_whole_characters() -> None:
    # Cut by tokens, the kept head and tail showed half a flag (🇺🇸🇺 reads as 🇸🇺 after it) or an accent alone.
    text = "🇺🇸" * 60 + "Zoe\u0301 " * 30 + "👩\u200d👩\u200d👧" * 20
    for excess in range(5, 400, 7):
        cut = _cut_middle(_ByteTokenizer(), text, excess)
        head, marker, tail = cut.partition(CUT_MARKER)
        assert marker and len(cut) < len(text) + len(CUT_MARKER)
        assert _whole_pieces(text, [head, tail]), (excess, head[-4:], tail[:4])


def test_the_guided_roots_pieces_and_labels_keep_whole_characters() -> None:
    for sentence in ("🇺🇸" * 700, "e\u0301" * 700, "word\u0301 " * 300):
        pieces = guided_cells._pieces(sentence)
        assert len(pieces) > 1 and all(len(p) <= guided_cells.UNIT_CHARS for p in pieces)
        assert _whole_pieces(sentence, pieces)
    assert guided_cells._clipped("🇺🇸" * 30, 41) == "🇺🇸" * 20


def test_an_error_quoting_a_servers_text_cut_mid_emoji_prints(tmp_path: Path) -> None:
    # A 400's message, a refusal or a choice's error holding half an emoji's escape: print(error) raised
    # UnicodeEncodeError, and so did `rlmx bench report` over a record of it.
    assert str(LMBadResponse("refused: \ud83d", retryable=False)) == "refused: \ufffd"
    assert str(InputError("bad name caf\udce9")).encode("utf-8")

    said = _http_error({"error": {"message": "no \ud83d here", "type": "invalid_request_error"}})
    assert "no \ufffd here" in said
    said.encode("utf-8")


@pytest.mark.parametrize(
    "raw",
    [b'{"a": 1}', b'\xef\xbb\xbf{"a": 1}', b"\xef\xbb\xbf\xef\xbb\xbf{}", b"\xef\xbb\xbf", b"", '{"é": 1}'.encode()],
)
def test_a_reply_body_with_or_without_a_byte_order_mark_reads_as_utf_8_sig_reads_it(raw: bytes) -> None:
    """One leading BOM is dropped (a second is text), as JSON readers do; the rest decodes as UTF-8."""
    from rlmx.lm.body_text import body_text

    assert body_text(raw, "application/json") == raw.decode("utf-8-sig")
