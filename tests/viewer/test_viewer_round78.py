"""Round 78 of the viewer, in a real browser: a trace whose events lack optional fields (an older or hand-made one)
shows them as unknown, never as "undefined" (a run_end without answer_source read "ANSWER from undefined")."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from viewer import test_browser

pytestmark = pytest.mark.slow  # a real browser: seconds per test

browser = test_browser.browser
serve = test_browser.serve
"""The real-browser fixtures of test_browser (one browser; under RLMX_REQUIRE_BROWSER=1 its absence fails)."""
_open = test_browser._open


def test_fields_an_older_trace_lacks_never_read_undefined(browser: Any, serve: Any, tmp_path: Path) -> None:
    # each event carries its type, node and ids, and not one of the fields a later format added
    events: list[dict[str, Any]] = [
        {"type": "run_start", "run_id": "bare78", "query": "what is in it?", "ts": 1.0},
        {"type": "node_start", "node_id": "0", "depth": 0},
        {"type": "iteration", "node_id": "0", "turn": 1},
        {"type": "lm_reply_rejected", "node_id": "0"},
        {"type": "answer_rejected", "node_id": "0"},
        {"type": "forced_extraction", "node_id": "0"},
        {"type": "cell_start", "node_id": "0", "cell_id": "0/c1"},
        {"type": "subcall_start", "node_id": "0", "subcall_id": "0/s1", "cell_id": "0/c1"},
        {"type": "subcall_end", "node_id": "0", "subcall_id": "0/s1", "ok": False},
        {"type": "tool_call", "node_id": "0", "cell_id": "0/c1", "ok": False},
        {"type": "cell_end", "node_id": "0", "cell_id": "0/c1", "status": "error"},
        {"type": "node_end", "node_id": "0", "status": "finished", "answer": "the answer"},
        {"type": "run_end", "answer": "the answer", "status": "finished"},
    ]
    trace = tmp_path / "bare78.jsonl"
    trace.write_text("".join(json.dumps({"v": "rlmx.trace/0", **e}) + "\n" for e in events), encoding="utf-8")
    _open(browser, serve(tmp_path).url_for(trace))
    for button in browser.find_elements("css selector", "details > summary"):
        browser.execute_script("arguments[0].parentElement.open = true", button)
    page = browser.find_element("tag name", "body").text
    assert "the answer" in page
    assert "undefined" not in page, [line for line in page.splitlines() if "undefined" in line]
