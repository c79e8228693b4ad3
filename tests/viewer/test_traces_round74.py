"""Round 74 of traces: `rlmx view TRACE --html FILE` never writes over a trace (the trace itself, by any path, or
another: it overwrote the run's only record, exit 0), nor does `rlmx traces --redact -o FILE`; a redacted copy
holds no error text, so none of the context an error quotes (the stop reasons kept it)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from rlmx import RLM, LMServerError
from rlmx.cli import main
from rlmx.events import EVENTS
from rlmx.lm import Message, ScriptedLM
from rlmx.viewer.server import ViewerServer
from rlmx.viewer.store import list_traces, trace_kind
from scripting import repl, router

SECRET = "SECRET-ACCOUNT-99817"


def _trace(folder: Path, answer: str = "ANSWER-74") -> Path:
    result = RLM(ScriptedLM([repl("print('x')"), f"FINAL({answer})"]), trace_dir=folder).completion("q?", context="c")
    assert result.trace_path is not None
    return result.trace_path


def _refused(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("rlmx: error:") == 1
    return err


def test_html_is_refused_over_the_trace_itself_by_any_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trace = _trace(tmp_path / "traces")
    before = trace.read_bytes()
    link = tmp_path / "link.jsonl"
    link.symlink_to(trace)
    hard = tmp_path / "hard.html"
    os.link(trace, hard)
    for target in (trace, link, hard, Path(os.path.relpath(trace))):
        err = _refused(capsys, ["view", str(trace), "--html", str(target)])
        assert "is the trace itself" in err and f"--html {trace.stem}.html" in err
    assert trace.read_bytes() == before and list_traces(trace.parent)[0].path == str(trace)


def test_html_is_refused_over_any_other_trace_whatever_its_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "traces"
    trace, other = _trace(folder, "FIRST"), _trace(folder, "SECOND")
    saved_as_html = tmp_path / "kept.html"  # a trace copied under a page's name is still a trace
    shutil.copyfile(other, saved_as_html)
    redacted = tmp_path / "shared.redacted.jsonl"
    assert main(["traces", "--redact", str(other), "-o", str(redacted)]) == 0
    for target in (other, saved_as_html, redacted):
        before = target.read_bytes()
        err = _refused(capsys, ["view", str(trace), "--html", str(target)])
        assert "(its first line is an rlmx trace event)" in err and target.read_bytes() == before


def test_html_still_writes_a_new_page_and_replaces_an_old_one(tmp_path: Path) -> None:
    trace = _trace(tmp_path / "traces")
    page = tmp_path / "run.html"
    for _ in range(2):  # the second time over the page the first wrote
        assert main(["view", str(trace), "--html", str(page)]) == 0
        assert "ANSWER-74" in page.read_text(encoding="utf-8") and trace_kind(page) is None
    empty = tmp_path / "empty.jsonl"
    empty.touch()
    assert main(["view", str(trace), "--html", str(empty)]) == 0  # an empty file is no trace


def test_redact_output_is_refused_over_another_trace_and_may_redo_a_copy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "traces"
    trace, other = _trace(folder, "FIRST"), _trace(folder, "SECOND")
    before = other.read_bytes()
    err = _refused(capsys, ["traces", "--redact", str(trace), "-o", str(other)])
    assert "is a run's trace" in err and other.read_bytes() == before
    assert "is the trace itself" in _refused(capsys, ["traces", "--redact", str(trace), "-o", str(trace)])
    copy = tmp_path / "copy.redacted.jsonl"
    for _ in range(2):  # redacting again writes over the earlier copy
        assert main(["traces", "--redact", str(trace), "-o", str(copy)]) == 0
        assert trace_kind(copy) == "redacted"


def _redacted_text(trace: Path, tmp_path: Path) -> str:
    copy = tmp_path / "shared.redacted.jsonl"
    assert main(["traces", "--redact", str(trace), "-o", str(copy)]) == 0
    return copy.read_text(encoding="utf-8")


def test_redaction_removes_the_context_an_error_of_every_sub_call_quotes(tmp_path: Path) -> None:
    def sub(messages: list[Message]) -> Exception:
        return LMServerError(f"HTTP 400 invalid request: {messages[0]['content']}")

    code = "print(llm_query('look up ' + context))"
    lm = ScriptedLM(router(root=[repl(code), "FINAL(none)"], sub=sub))
    result = RLM(lm, trace_dir=tmp_path / "traces").completion("q?", context=SECRET)
    assert result.trace_path is not None and result.status == "error" and SECRET in result.stop_reason
    assert SECRET not in _redacted_text(result.trace_path, tmp_path)


def test_redaction_removes_the_context_a_root_lm_error_quotes(tmp_path: Path) -> None:
    lm = ScriptedLM([repl("print(1)"), LMServerError(f"HTTP 400: flagged input: {SECRET}")])
    result = RLM(lm, trace_dir=tmp_path / "traces").completion("q?", context=SECRET)
    assert result.trace_path is not None and SECRET in result.stop_reason
    assert SECRET not in _redacted_text(result.trace_path, tmp_path)


def test_a_custom_clients_error_is_redacted_too(tmp_path: Path) -> None:
    """A client's own exception (no rlmx error) ends the run with its text in the root's stop reason."""
    lm = ScriptedLM([repl("print(1)"), KeyError(f"no route for {SECRET}")])
    with pytest.raises(KeyError):
        RLM(lm, trace_dir=tmp_path / "traces").completion("q?", context=SECRET)
    (trace,) = (tmp_path / "traces").glob("*.jsonl")
    assert SECRET in trace.read_text(encoding="utf-8")
    assert SECRET not in _redacted_text(trace, tmp_path)


def test_the_stop_reasons_are_content_and_a_listing_shows_a_redacted_one_as_such(tmp_path: Path) -> None:
    assert EVENTS["node_end"].fields[1].name == "stop_reason" and EVENTS["node_end"].fields[1].content
    assert next(f for f in EVENTS["run_end"].fields if f.name == "stop_reason").content
    trace = _trace(tmp_path / "traces")
    shared = tmp_path / "shared"
    shared.mkdir()
    assert main(["traces", "--redact", str(trace), "-o", str(shared / "run.jsonl")]) == 0
    (listed,) = list_traces(shared)
    assert listed.query == "⟨redacted: 2 chars⟩" and listed.stop_reason.startswith("⟨redacted: ")


@pytest.mark.parametrize("gone", [BrokenPipeError(32, "Broken pipe"), ConnectionResetError(104, "reset by peer")])
def test_a_browser_gone_mid_reply_prints_no_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], gone: OSError
) -> None:
    """The viewer's terminal showed socketserver's traceback when a browser quit while a page was being sent."""
    server = ViewerServer(tmp_path)
    try:
        for error in (gone, ValueError("a real bug")):
            try:
                raise error
            except Exception:
                server.handle_error(None, ("127.0.0.1", 1))
            printed = capsys.readouterr().err
            assert ("Traceback" in printed) == isinstance(error, ValueError), printed
    finally:
        server.server_close()
