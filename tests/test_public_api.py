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


def test_a_price_given_under_a_near_name_is_named_when_a_usd_budget_refuses_the_model() -> None:
    # "no price is known for Qwen/Qwen3-8B" said nothing of the price given as `qwen-3-8b`. (Case and a provider's
    # prefix are no near name: `qwen3-8b` prices Qwen/Qwen3-8B, test_kinds_round82.)
    import pytest

    from rlmx import RLM, Budget, InputError
    from rlmx.lm import OpenAICompatibleLM

    lm = OpenAICompatibleLM("Qwen/Qwen3-8B", base_url="http://127.0.0.1:9/v1", api_key="x")
    for near in ("qwen-3-8b", "QWEN/QWEN3-8-B", "Qwen/Qwen3-8-b"):
        with pytest.raises(InputError) as refused:
            RLM(lm, budget=Budget(max_usd=1.0), prices={near: (0.1, 0.2), "far-away-model": (1.0, 2.0)})
        said = str(refused.value)
        assert f"prices names {near!r}, no model of this run (did you mean prices={{'Qwen/Qwen3-8B': ...}}?)" in said
        assert "far-away-model" not in said and "Budget.max_usd is set" in said and "--price" in said


def test_an_on_event_callback_that_raises_is_reported_once_per_run() -> None:
    # Every error went into a list nothing read: a callback that failed at each event showed nothing at all.
    import warnings

    from rlmx import RLM
    from rlmx.lm import ScriptedLM

    def show_text(event: object) -> None:
        raise KeyError("text")

    rlm = RLM(ScriptedLM(['```repl\nFINAL("done")\n```'] * 2), on_event=show_text)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")  # Python's own: a message seen once is not shown again
        answers = [rlm.completion("q", context="abc").answer for _ in range(2)]
    said = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    assert answers == ["done", "done"]  # the run goes on
    assert len(said) == 2, said  # one per run, not one per event
    assert all("event callback" in text and "show_text raised KeyError: 'text'" in text for text in said)


def test_workspace_dir_is_refused_up_front_as_a_context_or_tool_name_and_still_set_for_files(tmp_path: object) -> None:
    # The REPL's `workspace_dir` (the files= folder) silently replaced a context so named, and a tool so named failed
    # as a SetupError blaming setup_code.
    from pathlib import Path

    import pytest

    from rlmx import RLM, InputError
    from rlmx.lm import ScriptedLM

    assert isinstance(tmp_path, Path)
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    read_it = '```repl\nimport os\nFINAL(open(os.path.join(workspace_dir, "notes.txt")).read())\n```'
    for files in ((), (notes,)):
        rlm = RLM(ScriptedLM([read_it]), files=files)
        with pytest.raises(InputError, match=r"context name 'workspace_dir' is taken by a REPL"):
            rlm.completion("q", contexts={"workspace_dir": "mine"})
        with pytest.raises(InputError, match=r"context name 'workspace_dir' is taken by a REPL"):
            rlm.session(contexts={"workspace_dir": "mine"})

    def workspace_dir() -> str:
        """Where my files are."""
        return "/data"

    with pytest.raises(InputError, match=r"tools: 'workspace_dir' is a name rlmx defines in the REPL"):
        RLM(ScriptedLM([read_it]), tools=[workspace_dir])
    assert RLM(ScriptedLM([read_it]), files=[notes]).completion("q", context="abc").answer == "hello"
