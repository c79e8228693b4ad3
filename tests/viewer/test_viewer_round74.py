"""Round 74 of the viewer, in a real browser: every content field of every event type of the format is on the page
once its boxes are open, and search finds it and opens the boxes down to it (a sub-call's reasoning was neither);
a cell run by the last-turn request's or the forced extraction's reply sits under that reply's box, not under the
last numbered turn; a duration is rounded once, then split into minutes (119.6 s read "1 min 60 s")."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rlmx import RLM, Budget
from rlmx.events import EVENTS, SCHEMA, check_record
from rlmx.lm import Message, ScriptedLM
from rlmx.prompts import FORCED_SYSTEM
from scripting import repl
from viewer import test_browser

pytestmark = pytest.mark.slow  # a real browser: seconds per test

browser = test_browser.browser
serve = test_browser.serve
"""The real-browser fixtures of test_browser (one browser; under RLMX_REQUIRE_BROWSER=1 its absence fails)."""
_open = test_browser._open

RUN_ID = "round74every"

# The skeleton of a run that holds every event type once or more: (type, node id, the event's fields that are not
# content). `every_field_trace` fills each content field of the format with a text of its own.
_ROOT, _CHILD = "0", "0.1"
_USAGE = {"input_tokens": 10, "output_tokens": 5, "cost_usd": None}
_SKELETON: list[tuple[str, str, dict[str, Any]]] = [
    (
        "run_start",
        _ROOT,
        {
            "contexts": [{"name": "context", "type": "str", "chars": 20}],
            "root_model": "root-m",
            "sub_model": "sub-m",
            "max_depth": 2,
            "sandbox": "subprocess",
            "budget": {},
            "prompt_version": "1",
        },
    ),
    ("node_start", _ROOT, {"contexts": []}),
    ("sandbox_ready", _ROOT, {"protections": {"tier": "subprocess"}, "contexts_sha256": {}}),
    ("setup", _ROOT, {"status": "ok", "seconds": 0.1}),
    ("iteration", _ROOT, {"turn": 1}),
    (
        "lm_call",
        _ROOT,
        {"role": "root", "model": "root-m", **_USAGE, "seconds": 0.5, "finish_reason": "stop", "usage_estimated": True},
    ),
    ("lm_reply_rejected", _ROOT, {"role": "root", "model": "root-m", "retried": True}),
    ("no_code", _ROOT, {}),
    ("reply_overran", _ROOT, {"ignored_chars": 5}),
    ("cell_skipped", _ROOT, {"reason": "cut at the output cap"}),
    ("answer_rejected", _ROOT, {"source": "prose"}),
    ("cell_start", _ROOT, {"cell_id": "0/c1", "turn": 1}),
    (
        "subcall_start",
        _ROOT,
        {"subcall_id": "0/s1", "cell_id": "0/c1", "kind": "llm", "requested": "llm", "model": None, "prompt_chars": 9},
    ),
    ("lm_reply_rejected", _ROOT, {"role": "sub", "model": "sub-m", "retried": False}),
    (
        "subcall_end",
        _ROOT,
        {
            "subcall_id": "0/s1",
            "kind": "llm",
            "ok": True,
            "seconds": 0.2,
            "model": "sub-m",
            **_USAGE,
            "finish_reason": "length",
            "usage_estimated": True,
        },
    ),
    ("subcall_cached", _ROOT, {"cell_id": "0/c1", "model": "sub-m", "source": "memory", "saved_tokens": 15}),
    ("tool_call", _ROOT, {"cell_id": "0/c1", "name": "lookup", "ok": True, "seconds": 0.01}),
    ("subcalls_refused", _ROOT, {"cell_id": "0/c1", "requested": "llm", "count": 2, "reason": "max_subcalls"}),
    (
        "subcall_start",
        _ROOT,
        {
            "subcall_id": "0/s2",
            "cell_id": "0/c1",
            "child_id": _CHILD,
            "kind": "rlm",
            "requested": "rlm",
            "model": None,
            "prompt_chars": 9,
        },
    ),
    ("node_start", _CHILD, {"contexts": []}),
    ("sandbox_ready", _CHILD, {"protections": {"tier": "subprocess"}, "contexts_sha256": {}}),
    ("iteration", _CHILD, {"turn": 1}),
    ("lm_call", _CHILD, {"role": "root", "model": "root-m", **_USAGE, "seconds": 0.5}),
    ("cell_start", _CHILD, {"cell_id": "0.1/c1", "turn": 1}),
    (
        "cell",
        _CHILD,
        {"cell_id": "0.1/c1", "turn": 1, "status": "ok", "truncated_chars": 0, "finished": True, "seconds": 0.1},
    ),
    ("node_end", _CHILD, {"status": "finished", "iterations": 1, "source": "final", "seconds": 1.0}),
    ("subcall_end", _ROOT, {"subcall_id": "0/s2", "kind": "rlm", "ok": True, "seconds": 1.0}),
    (
        "cell",
        _ROOT,
        {"cell_id": "0/c1", "turn": 1, "status": "error", "truncated_chars": 0, "finished": False, "seconds": 1.5},
    ),
    ("error", _ROOT, {"error_type": "LMServerError"}),
    ("final_request", _ROOT, {}),
    ("lm_call", _ROOT, {"role": "root", "model": "root-m", **_USAGE, "seconds": 0.5}),
    ("cell_start", _ROOT, {"cell_id": "0/c2", "turn": 1}),  # the engine gives it the last numbered turn
    (
        "cell",
        _ROOT,
        {"cell_id": "0/c2", "turn": 1, "status": "ok", "truncated_chars": 0, "finished": False, "seconds": 0.1},
    ),
    ("forced_extraction", _ROOT, {"reason": "max_tokens: spent"}),
    ("lm_call", _ROOT, {"role": "root", "model": "root-m", **_USAGE, "seconds": 0.5}),
    ("cell_start", _ROOT, {"cell_id": "0/c3", "turn": 1}),
    (
        "cell",
        _ROOT,
        {"cell_id": "0/c3", "turn": 1, "status": "ok", "truncated_chars": 0, "finished": False, "seconds": 0.1},
    ),
    ("node_end", _ROOT, {"status": "error", "iterations": 1, "source": "none", "seconds": 119.0}),
    (
        "run_end",
        _ROOT,
        {
            "status": "error",
            "answer_source": "none",
            "iterations": 1,
            "usage": {"input_tokens": 50, "output_tokens": 25, "calls": 5, "cost_usd": None},
            "trace_path": None,
            "seconds": 119.6,
        },
    ),
]


def every_field_trace(folder: Path) -> tuple[Path, dict[str, str]]:
    """A trace holding every event type of the format, each content field (rlmx.events: `content=True`) of each event
    filled with a word of its own; returns the file and {word: "type.field"}. A field the format marks as content
    later is filled (and so checked) without a change here."""
    words: dict[str, str] = {}
    records: list[dict[str, Any]] = []
    for number, (type_, node_id, fields) in enumerate(_SKELETON):
        depth = node_id.count(".")
        record = {
            "v": SCHEMA,
            "type": type_,
            "run_id": RUN_ID,
            "node_id": node_id,
            "parent_id": None if depth == 0 else node_id.rsplit(".", 1)[0],
            "depth": depth,
            "ts": 1_780_000_000.0 + number,
            **fields,
        }
        for spec in EVENTS[type_].fields:
            if spec.content:
                word = f"zqx{len(words):03d}qz"
                words[word] = f"{type_}.{spec.name}"
                record[spec.name] = [{"role": "user", "content": word}] if spec.type == "array" else word
        records.append(record)
    assert {r["type"] for r in records} == set(EVENTS), "the skeleton must hold every event type of the format"
    assert [p for r in records for p in check_record(r)] == []
    path = folder / f"20260601-000000-{RUN_ID}.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path, words


_EXPAND_EVERYTHING = """
for (let round = 0; round < 30; round++) {  // open every box and every "show all", until nothing changes
  let changed = 0;
  for (const head of document.querySelectorAll('#tree .box:not(.open) > .head')) { head.click(); changed++; }
  for (const more of document.querySelectorAll('#main button.more')) { more.click(); changed++; }
  if (!changed) break;
}
return document.getElementById('main').innerText;
"""


def test_every_content_field_of_every_event_type_is_on_the_page(browser: Any, serve: Any, tmp_path: Path) -> None:
    trace, words = every_field_trace(tmp_path)
    _open(browser, serve(tmp_path).url_for(trace))
    shown = browser.execute_script(_EXPAND_EVERYTHING)
    assert [words[w] for w in words if w not in shown] == []
    assert "subcall_end.reasoning" in words.values() and "node_end.stop_reason" in words.values()
    # A sub-call's finish_reason and estimated tokens are said, as a turn's are.
    sub_call = browser.find_element("css selector", '[data-subcall="0/s1"]').text
    assert "cut at max tokens" in sub_call and "tokens estimated" in sub_call and "finish_reason: length" in sub_call


_FIND = """
const box = document.getElementById('search');
box.value = arguments[0];
box.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter' }));  // search now, then follow the first hit
const count = document.getElementById('search-count').textContent;
const hits = document.querySelectorAll('#results a.hit').length;
const marks = [...document.querySelectorAll('#summary mark, #tree mark')]
  .filter((m) => m.getClientRects().length > 0).map((m) => m.textContent);
return [count, hits, marks];
"""


def test_search_finds_every_content_field_and_opens_the_boxes_down_to_it(
    browser: Any, serve: Any, tmp_path: Path
) -> None:
    trace, words = every_field_trace(tmp_path)
    url = serve(tmp_path).url_for(trace)
    missed: dict[str, Any] = {}
    for word, where in words.items():
        _open(browser, url)  # closed again: following the hit must open what holds it
        count, hits, marks = browser.execute_script(_FIND, word)
        if not hits or word not in marks:
            missed[where] = (count, hits, marks)
    assert missed == {}


def test_the_messages_sent_to_the_model_are_counted_apart(browser: Any, serve: Any, tmp_path: Path) -> None:
    """They repeat the question and cell outputs: a term is counted where it lives, and its copies after."""
    trace, words = every_field_trace(tmp_path)
    message = next(w for w, where in words.items() if where == "lm_call.new_messages")
    _open(browser, serve(tmp_path).url_for(trace))
    count, hits, marks = browser.execute_script(_FIND, message)
    assert (count, hits, marks) == (f"0 matches for “{message}”", 1, [message])
    assert browser.find_element("id", "search-copies").text == "and 1 in the messages sent to the model"


_TURN_CELLS = """
const out = {};
for (const t of document.querySelectorAll('#tree .box.turn')) {
  const node = t.closest('.box.node').dataset.node;
  const name = node + ' ' + t.querySelector(':scope > .head .name').textContent;
  out[name] = [...t.querySelectorAll(':scope > .body > .box.cell')].map((c) => c.dataset.cell);
}
return out;
"""


def test_a_cell_sits_under_the_turn_whose_reply_wrote_it(browser: Any, serve: Any, tmp_path: Path) -> None:
    trace, _ = every_field_trace(tmp_path)
    _open(browser, serve(tmp_path).url_for(trace))
    browser.execute_script(_EXPAND_EVERYTHING)
    assert browser.execute_script(_TURN_CELLS) == {
        "0 turn 1": ["0/c1"],
        "0 last-turn request": ["0/c2"],
        "0 forced extraction": ["0/c3"],
        "0.1 turn 1": ["0.1/c1"],
    }


def _last_turn_and_forced_runs(folder: Path) -> None:
    """Real runs: every turn used, the last-turn request's reply a code block (cell 0/c3); and a token budget spent,
    the forced extraction's reply a code block."""
    replies = [repl("print('TURN-1')"), repl("print('TURN-2')"), repl("print('LAST-TURN-CELL')")]
    result = RLM(ScriptedLM(replies), budget=Budget(max_iterations=2), trace_dir=folder).completion("q?", context="c")
    assert result.trace_path is not None and '"type": "final_request"' in result.trace_path.read_text("utf-8")

    def root(messages: list[Message]) -> str:
        if messages[0]["content"] == FORCED_SYSTEM:
            return repl("print('FORCED-CELL')\nFINAL('forced')")
        return repl("print('a turn')")

    # An input-token budget that three turns fit and a fourth does not; the compact forced call (about 100) does.
    probe = RLM(ScriptedLM(root), budget=Budget(max_iterations=4), trace_dir=folder / "probe").completion("q", "c")
    assert probe.trace_path is not None
    events = map(json.loads, probe.trace_path.read_text("utf-8").splitlines())
    calls = [e["input_tokens"] for e in events if e["type"] == "lm_call"]
    assert calls[3] > 300
    budget = Budget(max_input_tokens=sum(calls[:3]) + 300)
    result = RLM(ScriptedLM(root), budget=budget, trace_dir=folder).completion("q", context="c")
    assert result.answer_source == "forced_extraction"


_CELL_TURNS = """
const out = {};
for (const c of document.querySelectorAll('#tree .box.cell')) {
  const turn = c.closest('.box.turn').querySelector(':scope > .head .name').textContent;
  out[c.querySelector('pre.code').textContent.trim()] = turn;
}
return out;
"""


def test_in_real_runs_the_last_calls_cells_sit_under_their_replies(browser: Any, serve: Any, tmp_path: Path) -> None:
    _last_turn_and_forced_runs(tmp_path)
    server = serve(tmp_path)
    placed: dict[str, str] = {}
    for trace in sorted(tmp_path.glob("*.jsonl")):
        _open(browser, server.url_for(trace))
        browser.execute_script(_EXPAND_EVERYTHING)
        placed.update(browser.execute_script(_CELL_TURNS))
    assert placed["print('TURN-1')"] == "turn 1" and placed["print('TURN-2')"] == "turn 2"
    assert placed["print('LAST-TURN-CELL')"] == "last-turn request"
    assert placed["print('FORCED-CELL')\nFINAL('forced')"] == "forced extraction"


def test_a_duration_is_rounded_once_then_split(browser: Any, serve: Any, tmp_path: Path) -> None:
    trace, _ = every_field_trace(tmp_path)  # its run took 119.6 s
    server = serve(tmp_path)
    _open(browser, server.url_for(trace))
    assert browser.find_element("css selector", '[data-stat="time"] .v').text == "2 min 0 s"
    seconds = [None, 0.0004, 0.9996, 1.04, 59.94, 59.96, 60, 119.4, 119.6, 3599.4, 3599.6, 3725.2, 90061]
    assert browser.execute_script("return arguments[0].map(fmtSec)", seconds) == [
        "–",
        "0 ms",
        "1.0 s",
        "1.0 s",
        "59.9 s",
        "1 min 0 s",
        "1 min 0 s",
        "1 min 59 s",
        "2 min 0 s",
        "59 min 59 s",
        "1 h 0 min 0 s",
        "1 h 2 min 5 s",
        "25 h 1 min 1 s",
    ]
    _open(browser, server.url)  # the picker's time column
    assert "2 min 0 s" in browser.find_element("css selector", ".trace-list tbody tr").text
