"""Depth >= 2 on every tier: a child RLM really gets its own REPL, whichever launcher runs the root."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from rlmx import RLM
from rlmx.lm import Message, ScriptedLM
from scripting import repl, router, turn_of

TIERS = ["subprocess", "isolated", "inprocess"]


def child(messages: list[Message]) -> str:
    if turn_of(messages) == 1:
        # A context passed by reference keeps its name (`docs`); one passed by value is `context`.
        return repl(
            "mine = 'child'\ndata = globals().get('context', globals().get('docs'))\n"
            "FINAL(f\"{type(data).__name__}:{len(data)}:{'root_only' in globals()}\")"
        )
    raise AssertionError("the child finishes in one turn")


@pytest.mark.parametrize("tier", TIERS)
async def test_depth_2_children_get_their_own_repl(tier: str, require_isolated: Callable[..., None]) -> None:
    if tier == "isolated":
        require_isolated()
    root = [
        repl(
            "root_only = 1\nby_value = rlm_query('count', context='five!')\nshared = rlm_query('count', context=docs)"
        ),
        repl("FINAL(f\"{by_value}|{shared}|{'mine' in globals()}\")"),
    ]
    lm = ScriptedLM(router(root=root, child=child))
    result = await RLM(lm, max_depth=2, sandbox=tier).acompletion("q", context="c", contexts={"docs": [1, 2]})
    assert result.answer == "str:5:False|list:2:False|False"
    assert result.usage.child_rlms == 2
