"""Round 77: the limits a run's REPLs share, and what a cell's last value may do to its result.

* A run's child RLMs fork their workers from the run's zygote, under the run's uid: one RLIMIT_NPROC count covers
  them all. A batch of children waits for places (`max_live_children` per level) instead of losing children to
  "the REPL worker did not start: eof.", and a worker the limit stops from starting says which limit and options.
* `memory_limit_bytes` bounds the run's REPLs together, its child RLMs' included: past it the largest is ended.
* A `FINAL(x)` written last, whose `repr` raises, finishes a cell recorded as ok (the echo fails alone).
"""

from __future__ import annotations

import json
import os
import re
import sys

import pytest

from rlmx import RLM
from rlmx.lm import ScriptedLM
from rlmx.sandbox.caps import CallCaps
from scripting import repl, router, turn_of

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the process tiers' limits are Linux's")


def _cell_output(events: list, cell_id: str) -> str:
    return next(e.data["output"] for e in events if e.type == "cell" and e.data["cell_id"] == cell_id)


@pytest.mark.skipif(os.geteuid() != 0, reason="RLIMIT_NPROC applies under the separate uid of a root host")
def test_a_large_batch_of_child_rlms_all_start() -> None:
    # 40 children whose cells overlap, against a per-REPL limit of 24: together they need several times that.
    def child(messages: list) -> str:
        if turn_of(messages) == 1:
            return repl("import time\ntime.sleep(0.5)\nprint('worked')")
        return repl("FINAL('child-ok')")

    root = [
        repl(
            "import collections, json\nr = rlm_query_batched(['part'] * 40)\nprint(json.dumps(collections.Counter(r)))"
        ),
        repl("FINAL('done')"),
    ]
    events: list = []
    rlm = RLM(
        ScriptedLM(router(root=root, child=child)),
        max_depth=2,
        on_event=events.append,
        sandbox_options={"max_processes": 24},
    )
    rlm.completion("q", context="c")
    assert json.loads(_cell_output(events, "0/c1")) == {"child-ok": 40}


@pytest.mark.skipif(os.geteuid() != 0, reason="RLIMIT_NPROC applies under the separate uid of a root host")
def test_a_worker_the_process_limit_stops_names_the_limit() -> None:
    rlm = RLM(
        ScriptedLM(router(root=[repl("FINAL('x')")])),
        sandbox_options={"max_processes": 1},
    )
    result = rlm.completion("q", context="c")
    assert result.status == "error"
    assert "RLIMIT_NPROC 1" in result.stop_reason
    assert "max_processes" in result.stop_reason and "max_live_children" in result.stop_reason
    assert "eof" not in result.stop_reason


def test_max_live_children_is_checked() -> None:
    from rlmx.errors import InputError
    from rlmx.sandbox.subprocess import SubprocessSandbox

    with pytest.raises(InputError, match="max_live_children"):
        SubprocessSandbox(max_live_children=0)
    assert SubprocessSandbox(max_processes=10, max_live_children=3).tree_processes() == 40


def test_the_memory_bound_covers_the_child_rlms_together() -> None:
    def child(messages: list) -> str:
        if turn_of(messages) == 1:
            return repl(
                "import time\nb = bytearray(300 << 20)\nfor i in range(0, len(b), 4096): b[i] = 1\n"
                "time.sleep(2)\nprint('held')"
            )
        return repl("FINAL('child-ok')")

    root = [repl("r = rlm_query_batched(['q'] * 4)\nprint('ran')"), repl("FINAL('done')")]
    events: list = []
    rlm = RLM(
        ScriptedLM(router(root=root, child=child)),
        max_depth=2,
        on_event=events.append,
        sandbox_options={"memory_limit_bytes": 512 << 20},
    )
    rlm.completion("q", context="c")
    children = [e.data["output"] for e in events if e.type == "cell" and re.fullmatch(r"0\.\d+/c1", e.data["cell_id"])]
    ended = [out for out in children if out.startswith("REPL restarted")]
    assert len(children) == 4
    assert len(ended) >= 3, children  # 300 MiB each: one fits under 512 MiB, two do not
    assert all("memory_limit_bytes" in out and "child RLMs" in out for out in ended), ended


def test_a_final_whose_repr_raises_finishes_an_ok_cell() -> None:
    cell = "class S(str):\n    def __repr__(self): raise RuntimeError('no repr')\nFINAL(S('hello'))"
    events: list = []
    rlm = RLM(ScriptedLM(router(root=[repl(cell), repl("FINAL('fallback')")])), on_event=events.append)
    result = rlm.completion("q", context="c")
    first = next(e.data for e in events if e.type == "cell")
    assert result.answer == "hello"
    assert first["finished"] and first["status"] == "ok"
    assert "its repr raised RuntimeError: no repr" in first["output"]
    assert "Traceback" not in first["output"]


def test_a_last_value_whose_repr_raises_is_shown_as_a_note() -> None:
    cell = "class T:\n    def __repr__(self): raise ValueError('bad')\nT()"
    events: list = []
    rlm = RLM(ScriptedLM(router(root=[repl(cell), repl("FINAL('done')")])), on_event=events.append)
    rlm.completion("q", context="c")
    first = next(e.data for e in events if e.type == "cell")
    assert first["status"] == "ok"
    assert "<T object: its repr raised ValueError: bad>" in first["output"]


def test_call_caps_count_each_run_from_zero() -> None:
    caps = CallCaps(max_calls_per_cell=10, max_calls_per_run=2, max_prompt_chars=100)
    assert caps.admit([{"prompt": "x" * 60}])[1] == []
    assert caps.admit([{"prompt": "y"}, {"prompt": "z"}])[1]  # the third call passes the run's cap
    caps.new_run()
    admitted, refused = caps.admit([{"prompt": "x" * 60}, {"prompt": "y"}])
    assert len(admitted) == 2 and refused == []
