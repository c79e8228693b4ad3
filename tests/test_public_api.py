from __future__ import annotations

import rlmx
import rlmx.lm


def test_exported_members_are_the_contract() -> None:
    assert {"RLM", "Budget", "Result", "InputError", "RLMXError"} <= set(rlmx.__all__)
    for name in rlmx.__all__:
        assert hasattr(rlmx, name), name


def test_lm_exports_resolve() -> None:
    from rlmx.lm import LM, OpenAICompatibleLM, ScriptedLM

    assert isinstance(ScriptedLM(["x"]), LM)
    assert OpenAICompatibleLM.__name__ == "OpenAICompatibleLM"
    assert {"LM", "ScriptedLM", "OpenAICompatibleLM", "LocalLM", "GuidedRoot"} <= set(rlmx.lm.__all__)


def test_budget_defaults() -> None:
    budget = rlmx.Budget()
    assert (budget.max_iterations, budget.cell_timeout, budget.max_seconds) == (30, 60.0, None)


def test_an_async_on_event_callback_is_refused_up_front() -> None:
    import pytest

    from rlmx import RLM, InputError
    from rlmx.lm import ScriptedLM

    async def record(event: object) -> None:
        pass

    with pytest.raises(InputError, match="on_event must be a plain function"):
        RLM(ScriptedLM(["x"]), on_event=record)  # type: ignore[arg-type]
