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
