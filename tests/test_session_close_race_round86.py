"""A question waiting for a sync session's loop while another thread ends the session (CI5 of session 37: the
waiting question got the loop runner's RuntimeError "this rlmx object is closed" where a question asked after the
close gets InputError "this session is closed"). Either way it is now the session's InputError."""

from __future__ import annotations

import pytest

from rlmx import RLM, InputError
from rlmx.lm import ScriptedLM
from scripting import repl


def _asked_past_the_check(monkeypatch: pytest.MonkeyPatch, take_the_runner: bool) -> str:
    session = RLM(ScriptedLM([repl("FINAL('x')")]), sandbox="inprocess").session(context="c")
    session.__enter__()
    runner = session._runner
    assert runner is not None
    monkeypatch.setattr(session, "_check_free", lambda: None)  # it passed just before the close began
    session._close_now()  # what another thread's `with` block does first, then the loop's close
    runner.close()
    if take_the_runner:
        session._runner = None
    with pytest.raises(InputError) as caught:
        session.ask("a question that waited")
    return str(caught.value)


@pytest.mark.parametrize("take_the_runner", [False, True], ids=["runner closed", "runner taken"])
def test_a_question_caught_by_another_threads_close_is_told_the_session_is_closed(
    monkeypatch: pytest.MonkeyPatch, take_the_runner: bool
) -> None:
    assert _asked_past_the_check(monkeypatch, take_the_runner).startswith("this session is closed")
