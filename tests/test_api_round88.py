"""Audit 88 (a newcomer's path): two ways a run's outcome was misreported.

* The guided root (the offline default) given no context, or only blank ones, through the Python API answered
  "NOT FOUND" with status finished: it read as "the text does not say" when there was no text. `rlmx ask` and
  `rlmx serve` refused the same inputs; `RLM.completion`, `stream` and sessions now do too, before any LM call.
* Ctrl-C while the first root call could not be stopped (llama.cpp loading the embedded model) ended `rlmx ask`
  by its 0.8 s watchdog before the run had ended: the trace it named had no `run_end`, so `rlmx traces` listed the
  run as running (and kept it from --prune for a day). The watchdog now ends every open trace as cancelled.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from rlmx import RLM, InputError
from rlmx.lm import GuidedRoot, ScriptedLM


def _guided() -> tuple[RLM, ScriptedLM]:
    reader = ScriptedLM(["NOT FOUND"] * 20)
    return RLM(GuidedRoot(reader)), reader


@pytest.mark.parametrize(
    ("context", "contexts"),
    [
        (None, None),
        ("", None),
        ("  \n\t ", None),
        ([], None),
        ({}, None),
        ([[], "", None], None),
        (None, {"notes": " "}),
    ],
)
def test_the_guided_root_refuses_a_run_with_nothing_to_search(context: object, contexts: dict | None) -> None:
    rlm, reader = _guided()
    with pytest.raises(InputError, match="guided root"):
        rlm.completion("What is the launch code?", context, contexts=contexts)
    assert reader.calls == []  # refused before the reader was asked anything


def test_an_empty_file_is_nothing_to_search_either(tmp_path: Path) -> None:
    empty = tmp_path / "notes.txt"
    empty.write_text("\n\n")
    rlm, _ = _guided()
    with pytest.raises(InputError, match="the context is empty"):
        rlm.completion("Who signed it?", empty)


def test_stream_and_sessions_refuse_it_too() -> None:
    rlm, reader = _guided()
    with pytest.raises(InputError, match="guided root"):
        list(rlm.stream("What is the launch code?"))
    with rlm.session() as session, pytest.raises(InputError, match="guided root"):
        session.ask("What is the launch code?")
    assert reader.calls == []


def test_a_session_question_that_brings_its_own_context_is_answered() -> None:
    rlm, _ = _guided()
    with rlm.session() as session:
        result = session.ask("What is the launch code?", context="The launch code is 7391-KESTREL.")
    assert result.status == "finished"


def test_one_blank_context_beside_a_real_one_is_searched() -> None:
    rlm, _ = _guided()
    result = rlm.completion("What is the code?", contexts={"a": "", "b": "The code is 42."})
    assert result.status == "finished"


def test_a_model_that_writes_code_may_still_answer_without_a_context() -> None:
    result = RLM(ScriptedLM(["```repl\nFINAL('4')\n```"])).completion("What is 2 + 2?")
    assert result.answer == "4"


_STUCK_FIRST_CALL = textwrap.dedent(
    """
    import sys, threading, time, os, signal
    from pathlib import Path
    from rlmx import RLM
    from rlmx.cli import Interrupts
    from rlmx.lm import ScriptedLM

    class LoadingModel(ScriptedLM):
        async def complete(self, messages, **params):
            time.sleep(20)  # blocks the loop and cannot be cancelled, as llama.cpp loading a model
            return await super().complete(messages, **params)

    interrupts = Interrupts(time.monotonic())
    interrupts.install()
    threading.Timer(1.5, os.kill, (os.getpid(), signal.SIGINT)).start()
    rlm = RLM(LoadingModel(["```repl\\nFINAL('x')\\n```"]), trace_dir=Path(sys.argv[1]))
    interrupts.run(rlm.acompletion("What is it?", context="some text"))
    """
)


def test_ctrl_c_while_the_first_call_cannot_stop_still_ends_the_trace(tmp_path: Path) -> None:
    script = tmp_path / "stuck.py"
    script.write_text(_STUCK_FIRST_CALL)
    traces = tmp_path / "traces"
    done = subprocess.run(
        [sys.executable, str(script), str(traces)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 130, done.stderr
    (trace,) = traces.glob("*.jsonl")
    records = [json.loads(line) for line in trace.read_text().splitlines()]
    assert records[-1]["type"] == "run_end"
    assert records[-1]["status"] == "cancelled"
    assert [record["type"] for record in records].count("run_end") == 1
