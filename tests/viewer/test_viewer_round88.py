"""Round 88 of the viewer (audit 88v): sub-calls the sandbox's caps refuse are in the trace and listed at the top, the
way the budget's are, in one event per cell and kind, not one per call; every text the page draws from a trace shows
its text-direction controls as marks; `rlmx view` serves a trace whose file name is not UTF-8; a run id two traces
share names them and asks for a path."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from rlmx import RLM
from rlmx.commands.traces import resolve
from rlmx.errors import InputError
from rlmx.lm import ScriptedLM
from rlmx.viewer.server import ViewerServer
from scripting import repl, router
from viewer import test_browser

browser = test_browser.browser
serve = test_browser.serve
"""The real-browser fixtures of test_browser (one browser; under RLMX_REQUIRE_BROWSER=1 its absence fails)."""
_open = test_browser._open

CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
"""The text-direction controls the page shows as marks (viewer.js: BIDI)."""


def _run(folder: Path, cells: list[str], query: str = "q", **options: Any) -> Path:
    lm = ScriptedLM(router(root=[*map(repl, cells), repl("FINAL('done')")], sub=lambda m: "ok"))
    result = RLM(lm, trace_dir=folder, **options).completion(query, context="c")
    assert result.trace_path is not None
    return Path(result.trace_path)


def _records(trace: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in trace.read_text("utf-8").splitlines()]


def _refusals_seen(records: list[dict[str, Any]]) -> int:
    """How many sub-call errors the cells printed: each refused item prints one."""
    return sum(r["output"].count("sub-call refused") for r in records if r["type"] == "cell")


# --- 1. the sandbox's caps: every refusal is in the trace -----------------------------------------------------------

CAPS = [
    ("max_calls_per_cell", 2, ["print(llm_query_batched(['a']) + llm_query_batched(['b', 'c']))"]),
    ("max_calls_per_run", 2, ["print(llm_query_batched(['a', 'b']))", "print(llm_query('c'), llm_query('d'))"]),
    ("max_prompt_chars", 100, ["print(llm_query_batched(['short', 'x' * 500, 'y']))"]),
]


@pytest.mark.parametrize(("cap", "value", "cells"), CAPS, ids=[c[0] for c in CAPS])
def test_sub_calls_a_sandbox_cap_refuses_are_traced_with_the_cap_named(
    tmp_path: Path, cap: str, value: int, cells: list[str]
) -> None:
    records = _records(_run(tmp_path, cells, sandbox_options={cap: value}))
    refused = [r for r in records if r["type"] == "subcalls_refused"]
    seen = _refusals_seen(records)
    assert seen and sum(r["count"] for r in refused) == seen
    assert all(r["reason"].startswith(f"{cap}: ") and r["requested"] == "llm" for r in refused)
    cells_of = {r["cell_id"] for r in records if r["type"] == "cell_start"}
    assert {r["cell_id"] for r in refused} <= cells_of


def test_a_loop_of_refused_calls_is_a_few_events_with_the_whole_count(tmp_path: Path) -> None:
    # one call at a time past the cap: every one refused, the trace holds the first at once and the rest as one count
    code = "n = 0\nfor i in range(300):\n    try:\n        llm_query(f'item {i}')\n"
    code += "    except RuntimeError:\n        n += 1\nprint(n)"
    records = _records(_run(tmp_path, [code, code], sandbox_options={"max_calls_per_run": 5}))
    outputs = [r["output"].strip() for r in records if r["type"] == "cell"]
    assert outputs[:2] == ["295", "300"]
    refused = [r for r in records if r["type"] == "subcalls_refused"]
    assert [(r["cell_id"], r["count"]) for r in refused] == [("0/c1", 1), ("0/c1", 294), ("0/c2", 1), ("0/c2", 299)]
    # each cell's held count is traced before the cell's own end
    order = [(r["type"], r["cell_id"]) for r in records if r["type"] in ("subcalls_refused", "cell")]
    held = ("subcalls_refused", "0/c1"), ("subcalls_refused", "0/c2")
    assert order[:6] == [held[0], held[0], ("cell", "0/c1"), held[1], held[1], ("cell", "0/c2")]


def test_the_budgets_refusals_are_still_one_event_per_batch(tmp_path: Path) -> None:
    from rlmx import Budget

    code = "print(llm_query_batched(['a', 'b', 'c', 'd']))"
    records = _records(_run(tmp_path, [code], budget=Budget(max_subcalls=1)))
    refused = [r for r in records if r["type"] == "subcalls_refused"]
    assert [(r["count"], r["reason"].split(":")[0]) for r in refused] == [(3, "max_subcalls")]


def test_the_page_lists_cap_refusals_at_the_top(browser: Any, serve: Any, tmp_path: Path) -> None:
    trace = _run(tmp_path, [CAPS[0][2][0]], sandbox_options={"max_calls_per_cell": 2})
    _open(browser, serve(tmp_path).url_for(trace))
    issues = test_browser._text(browser, "#issues")
    assert "No errors" not in issues and "1 sub-call(s) refused: max_calls_per_cell" in issues
    browser.find_element("css selector", "#issues li a").click()
    assert "1 refused" in test_browser._text(browser, '[data-cell="0/c1"] > .head')
    assert "1 llm_query item(s) refused" in test_browser._text(browser, '[data-cell="0/c1"] .n-budget')


# --- 2. text-direction controls: shown as marks wherever a trace's text is drawn -----------------------------------

TRICK = 'access = "user\u202e \u2066# admin only\u2069 \u2066"'


def _raw_controls(driver: Any) -> list[str]:
    """Every text node and attribute value on the page (and the window's title) that holds a live text-direction
    control. rlmx's own isolate around "⟨code cell⟩" (withCellMarks) is no text of the trace's."""
    return list(
        driver.execute_script(
            """
            const controls = new RegExp("[" + arguments[0] + "]");
            const own = /\\u2066⟨code cell⟩\\u2069/g;
            const found = [];
            if (controls.test(document.title)) found.push("title: " + document.title);
            const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
            for (let t = walker.nextNode(); t; t = walker.nextNode()) {
              if (t.parentElement.closest("script")) continue;
              if (controls.test(t.nodeValue.replace(own, ""))) found.push(t.parentElement.className + ": " + t.data);
            }
            for (const el of document.body.querySelectorAll("*"))
              for (const a of el.attributes) if (controls.test(a.value)) found.push(el.tagName + "@" + a.name);
            return found;
            """,
            CONTROLS,
        )
    )


def test_direction_controls_show_as_marks_in_every_text_the_page_draws(
    browser: Any, serve: Any, tmp_path: Path
) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    # controls in the question (header, window title, session links and their tooltips), a cell's first line (its
    # collapsed row), a sub-call's prompt (its row's preview), the model's prose, a cell's output
    cells = [f"{TRICK}\nprint(access, llm_query(access))", "FINAL(access)"]
    replies = [f"Checking \u202eaccess\u202c first.\n{repl(cells[0])}", repl(cells[1])]
    lm = ScriptedLM(router(root=replies, sub=lambda m: "ok \u2067reply\u2069"))
    with RLM(lm, trace_dir=tmp_path).session(context="c") as session:
        session.ask("who has \u202eaccess\u202c?")
        trace = session.ask("and \u2066now\u2069?").trace_path
    assert trace is not None
    _open(browser, serve(tmp_path).url_for(Path(trace)))
    browser.execute_script("[...document.querySelectorAll('button')].find(b => b.textContent === 'expand all').click()")
    browser.execute_script("document.querySelectorAll('#tree .box:not(.open) > .head').forEach(h => h.click())")
    head = test_browser._text(browser, "#tree .box.cell .head code.firstline")
    assert "<U+202E>" in head and "<U+2066>" in head
    assert _raw_controls(browser) == []
    browser.find_element("id", "search").send_keys("access")
    WebDriverWait(browser, 10).until(lambda d: d.find_elements("css selector", "#results a.hit"))
    hits = [h.text for h in browser.find_elements("css selector", "#results a.hit")]
    assert any("code" in h and "<U+202E>" in h for h in hits), hits
    assert _raw_controls(browser) == []
    browser.find_element("css selector", "#results a.hit").click()  # the term marked in the drawn text
    assert browser.find_elements("css selector", "#tree mark")
    assert _raw_controls(browser) == []


# --- 3. a trace whose file name is not UTF-8 ------------------------------------------------------------------------

LATIN1 = b"20261205-120000-caf\xe9.jsonl"


def _latin1_trace(folder: Path) -> Path:
    trace = _run(folder, ["print(1)"], query="the Latin-1 question")
    target = Path(os.fsdecode(os.path.join(os.fsencode(folder), LATIN1)))
    trace.rename(target)
    return target


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as response:
        return bytes(response.read())


def test_the_url_of_a_trace_whose_name_is_not_utf8_quotes_its_bytes_and_serves_it(tmp_path: Path) -> None:
    trace = _latin1_trace(tmp_path)
    server = ViewerServer(tmp_path)
    server.start()
    try:
        url = server.url_for(trace)
        assert "?trace=20261205-120000-caf%E9.jsonl&" in url
        page = _get(url).decode()
        config = json.loads(page.split('<script id="rlmx-config" type="application/json">')[1].split("</script>")[0])
        assert config["trace"] == "20261205-120000-caf\\udce9.jsonl"  # as the listing names it
        base = url.split("?")[0]
        token = url.rsplit("token=", 1)[1]
        events = json.loads(_get(f"{base}{config['traceUrl']}?token={token}"))
        assert events[0]["query"] == "the Latin-1 question"
        listed = json.loads(_get(f"{base}api/traces?token={token}"))
        by_name = json.loads(_get(f"{base}api/traces/{urllib.parse.quote(listed[0]['name'])}?token={token}"))
        assert by_name == events
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("how", ["path", "number", "run id"])
def test_rlmx_view_serves_a_trace_whose_name_is_not_utf8(tmp_path: Path, how: str) -> None:
    trace = _latin1_trace(tmp_path)
    run_id = _records(Path(trace))[0]["run_id"]
    given = {"path": [str(trace)], "number": ["1"], "run id": [run_id]}[how]
    command = [sys.executable, "-m", "rlmx", "view", *given, "--trace-dir", str(tmp_path), "--port", "0"]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, cwd=tmp_path)
    try:
        assert process.stderr is not None
        line = process.stderr.readline().decode("utf-8", "replace")
    finally:
        process.terminate()
        _, rest = process.communicate(timeout=30)
    said = line + rest.decode("utf-8", "replace")
    assert "Traceback" not in said and "trace viewer at http://" in line, said
    assert "?trace=20261205-120000-caf%E9.jsonl&token=" in line


def test_the_page_opens_a_trace_whose_name_is_not_utf8(browser: Any, serve: Any, tmp_path: Path) -> None:
    trace = _latin1_trace(tmp_path)
    server = serve(tmp_path)
    _open(browser, server.url_for(trace))
    assert "the Latin-1 question" in test_browser._text(browser, "#summary .qtext")
    assert "caf\\udce9.jsonl" in test_browser._text(browser, "#nav")
    _open(browser, server.url)  # the picker's link to it opens it too
    browser.find_element("link text", "the Latin-1 question").click()
    _open(browser, browser.current_url)
    assert "the Latin-1 question" in test_browser._text(browser, "#summary .qtext")


# --- 4. one run id, two traces --------------------------------------------------------------------------------------


def test_a_whole_run_id_two_traces_share_names_them_and_asks_for_a_path(tmp_path: Path) -> None:
    trace = _run(tmp_path, [])
    copy = trace.with_name(trace.stem + "-copy.jsonl")
    shutil.copy(trace, copy)
    run_id = _records(trace)[0]["run_id"]
    for given in (run_id, run_id[:6]):
        with pytest.raises(InputError) as caught:
            resolve(given, tmp_path)
        said = str(caught.value)
        assert str(trace) in said and str(copy) in said
        assert "give more of the run id" not in said and "pass the file's path" in said
    assert resolve(str(copy), tmp_path) == copy


def test_a_run_id_start_two_runs_share_still_asks_for_more_of_it(tmp_path: Path) -> None:
    first, second = _run(tmp_path, []), _run(tmp_path, [])
    records = [_records(first)[0], _records(second)[0]]
    # rename one so that both run ids start alike: the start is then ambiguous, the whole id is not
    stem = records[0]["run_id"][:8]  # 8: a start of digits only is still read as a run id, not a number
    text = second.read_text("utf-8").replace(records[1]["run_id"], stem + records[1]["run_id"][8:])
    second.write_text(text, "utf-8")
    with pytest.raises(InputError) as caught:
        resolve(stem, tmp_path)
    said = str(caught.value)
    assert "give more of the run id" in said and str(first) in said and str(second) in said
