"""Round 54 of the viewer: a trace with an unreadable line in the middle is read, with a note naming the line, by
every reader (the store, `rlmx view`'s HTTP route, `--html`, `rlmx traces --redact`); "expand all" opens child
RLMs however many sub-calls their cell made (a list of more than 20 starts closed and builds its rows lazily)."""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from rlmx import RLM, Budget
from rlmx.cli import main
from rlmx.lm import Message, ScriptedLM
from rlmx.viewer.server import ViewerServer
from rlmx.viewer.store import read_trace
from scripting import repl, router, turn_of
from viewer import test_browser

PAGE_LIMIT_S = test_browser.PAGE_LIMIT_S
browser = test_browser.browser
"""The real-browser fixture of test_browser (one browser; under RLMX_REQUIRE_BROWSER=1 its absence fails)."""


def _small_trace(folder: Path) -> Path:
    """A real two-turn run's trace (run_start ... run_end)."""
    lm = ScriptedLM([repl("print('CELL-OUT-54')"), "FINAL(ANSWER-54)"])
    result = RLM(lm, trace_dir=folder).completion("QUESTION-54", context="abc")
    assert result.trace_path is not None
    return result.trace_path


def _spoil(trace: Path, junk: dict[int, str]) -> int:
    """Put `junk[i]` in as line i (1-based, counted in the spoiled file); the number of good lines."""
    lines = trace.read_text(encoding="utf-8").splitlines(keepends=True)
    good = len(lines)
    for number in sorted(junk):
        lines.insert(number - 1, junk[number] + "\n")
    trace.write_text("".join(lines), encoding="utf-8")
    return good


@pytest.fixture()
def spoiled(tmp_path: Path) -> tuple[Path, int]:
    trace = _small_trace(tmp_path / "traces")
    good = _spoil(trace, {4: "WARNING: another writer was here", 7: "[1, 2, 3]"})
    return trace, good


def test_read_trace_skips_lines_that_are_not_json_objects_and_names_them(spoiled: tuple[Path, int]) -> None:
    trace, good = spoiled
    events = read_trace(trace)
    assert len(events) == good and events[-1]["type"] == "run_end" and events[-1]["answer"] == "ANSWER-54"
    assert events.skipped == 2 and events.skipped_lines == [4, 7]
    note = events.note()
    assert note is not None and "lines 4, 7" in note and "2 lines" in note


def test_the_note_names_the_first_few_lines_then_counts(tmp_path: Path) -> None:
    trace = _small_trace(tmp_path)
    good = _spoil(trace, {n: f"junk {n}" for n in range(2, 1002)})
    events = read_trace(trace)
    note = events.note()
    assert len(events) == good and events.skipped == 1000
    assert note is not None and "lines 2, 3, 4, 5, 6 and 995 more" in note and len(note) < 200
    assert read_trace(_small_trace(tmp_path / "clean")).note() is None


def test_a_file_whose_first_line_is_no_trace_is_still_refused(tmp_path: Path) -> None:
    trace = tmp_path / "x.jsonl"
    trace.write_text('{"type": "something"}\n{"v": "rlmx.trace/1", "type": "run_start"}\n')
    with pytest.raises(ValueError, match="not an rlmx trace"):
        read_trace(trace)


def test_the_http_route_serves_the_readable_events_and_the_note(spoiled: tuple[Path, int]) -> None:
    trace, good = spoiled
    server = ViewerServer(trace.parent)
    server.start()
    try:
        url = server.address + "api/traces/" + trace.name + "?token=" + server.token
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.status == 200
            events = json.loads(response.read())
    finally:
        server.shutdown()
        server.server_close()
    assert events[0]["type"] == "run_start" and events[good - 1]["type"] == "run_end"
    assert events[-1]["type"] == "viewer_note" and "lines 4, 7" in events[-1]["text"] and len(events) == good + 1


def test_view_html_writes_the_page_with_the_note(
    spoiled: tuple[Path, int], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trace, _ = spoiled
    target = tmp_path / "page.html"
    assert main(["view", str(trace), "--html", str(target)]) == 0
    page = target.read_text(encoding="utf-8")
    assert "ANSWER-54" in page and "lines 4, 7" in page
    assert "lines 4, 7" in capsys.readouterr().err


def test_redact_keeps_the_readable_events_and_says_which_lines_it_left_out(
    spoiled: tuple[Path, int], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trace, good = spoiled
    copy = tmp_path / "shared.jsonl"
    assert main(["traces", "--redact", str(trace), "--output", str(copy)]) == 0
    err = capsys.readouterr().err
    assert "lines 4, 7" in err and "2 unreadable line(s) left out" in err and f"({good} events" in err
    redacted = read_trace(copy)
    assert len(redacted) == good and redacted.skipped == 0
    assert "another writer" not in copy.read_text(encoding="utf-8")


# --- in a real browser -------------------------------------------------------------------------------------------


def _open(driver: Any, url: str) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(url)
    WebDriverWait(driver, PAGE_LIMIT_S).until(lambda d: d.find_element("tag name", "body").get_attribute("data-ready"))
    assert driver.find_element("tag name", "body").get_attribute("data-ready") == "1"


def _fan_out(folder: Path, children: int) -> Path:
    """A root cell that runs `children` child RLMs at once; each answers ANS-KIDnn."""

    def child(messages: list[Message]) -> str:
        found = re.search(r"KID\d\d", "\n".join(m["content"] for m in messages))
        assert found is not None
        return f"FINAL(ANS-{found.group(0)})" if turn_of(messages) > 1 else repl("print('child looks')")

    root = [repl(f"kids = rlm_query_batched([f'KID{{i:02d}}' for i in range({children})])"), "FINAL(done)"]
    lm = ScriptedLM(router(root=root, child=child, sub=lambda m: "ok"))
    rlm = RLM(lm, max_depth=2, budget=Budget(max_iterations=3, max_subcalls=200), trace_dir=folder)
    result = rlm.completion("fan out", context="c")
    assert result.status == "finished" and result.trace_path is not None
    return result.trace_path


@pytest.mark.slow
@pytest.mark.parametrize("children", [20, 21, 30])
def test_expand_all_opens_every_child_rlm_whatever_the_number_of_sub_calls(
    browser: Any, tmp_path: Path, children: int
) -> None:
    trace = _fan_out(tmp_path, children)
    server = ViewerServer(tmp_path)
    server.start()
    try:
        _open(browser, server.url_for(trace))
        browser.find_element("xpath", "//button[text()='expand all']").click()
        tree = browser.find_element("css selector", "#tree").text
        nodes = len(browser.find_elements("css selector", "#tree [data-node]"))
    finally:
        server.shutdown()
        server.server_close()
    shown = [i for i in range(children) if f"ANS-KID{i:02d}" in tree]
    assert shown == list(range(children)) and nodes == children + 1, (len(shown), nodes)


@pytest.mark.slow
def test_the_page_shows_a_spoiled_trace_with_its_note(browser: Any, spoiled: tuple[Path, int], tmp_path: Path) -> None:
    trace, _ = spoiled
    target = tmp_path / "page.html"
    assert main(["view", str(trace), "--html", str(target)]) == 0
    _open(browser, target.as_uri())
    body = browser.find_element("tag name", "body").text
    assert "ANSWER-54" in body and "QUESTION-54" in body
    assert "Skipped 2 lines that are not JSON objects (lines 4, 7)" in body


# --- the picker tells a damaged trace (session 24) ----------------------------------------------------------------


def test_the_picker_list_counts_the_unreadable_lines_of_its_newest_traces(spoiled: tuple[Path, int]) -> None:
    trace, _ = spoiled
    sound = _small_trace(trace.parent)
    server = ViewerServer(trace.parent)
    server.start()
    try:
        with urllib.request.urlopen(server.address + "api/traces?token=" + server.token, timeout=10) as response:
            listed = {row["name"]: row for row in json.loads(response.read())}
    finally:
        server.shutdown()
        server.server_close()
    assert listed[trace.name]["unreadable_lines"] == 2 and listed[sound.name]["unreadable_lines"] == 0


@pytest.mark.slow
def test_the_picker_page_marks_a_damaged_trace(browser: Any, spoiled: tuple[Path, int]) -> None:
    trace, _ = spoiled
    server = ViewerServer(trace.parent)
    server.start()
    try:
        _open(browser, server.url)
        marks = [row.text for row in browser.find_elements("css selector", ".trace-list .damaged")]
    finally:
        server.shutdown()
        server.server_close()
    assert marks == ["2 unreadable lines (not JSON objects): open it to see which"]
