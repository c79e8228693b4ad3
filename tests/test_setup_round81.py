"""setup_code that binds a context's name at run time, out of sight of the static check (`exec`, `globals().update`,
setattr on the module), is refused before any LM call as one written `context = ...` is (audit 81 kinds v03): the
first prompt describes the run's context, so the model must not read the setup's value under its name."""

from __future__ import annotations

import pytest

from rlmx import RLM, Budget
from rlmx.errors import InputError
from rlmx.lm import ScriptedLM
from scripting import repl

UPDATE = "shared = {'context': 'zz', 'lang': 'en'}\nglobals().update(shared)"
EXEC = "exec(\"context = 'zz'\")"
# the worker's namespace is its __main__ module's (in process, __main__ is the host's, so no context is touched there)
SETATTR = "import sys\nsetattr(sys.modules[__name__], 'context', 'zz')"


@pytest.mark.parametrize(
    ("setup", "sandbox"),
    [(UPDATE, "inprocess"), (UPDATE, "subprocess"), (EXEC, "inprocess"), (EXEC, "subprocess"), (SETATTR, "subprocess")],
)
def test_setup_rebinding_a_context_at_run_time_is_refused(setup: str, sandbox: str) -> None:
    lm = ScriptedLM([repl("FINAL(len(context))")])
    with pytest.raises(InputError, match="setup_code binds context"):
        RLM(lm, setup_code=setup, sandbox=sandbox, budget=Budget(max_iterations=1)).completion("q", context="abcd")
    assert lm.calls == []


def test_setup_reading_or_deleting_a_context_is_fine() -> None:
    # reading it, and a `del` (rlmx puts the loaded data back): the model reads the run's context either way
    lm = ScriptedLM([repl("FINAL(len(context) + size)")])
    setup = "size = len(context)\nglobals().pop('context')"
    result = RLM(lm, setup_code=setup, budget=Budget(max_iterations=1)).completion("q", context="abcd")
    assert result.answer == "8"
