"""LM clients behind one protocol. Heavy or optional clients are imported on first use."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rlmx.lm.base import LM, Completion, Message, Usage
from rlmx.lm.scripted import ScriptedLM

if TYPE_CHECKING:
    from rlmx.lm.guided import GuidedRoot
    from rlmx.lm.local import LocalLM
    from rlmx.lm.openai import OpenAICompatibleLM

__all__ = ["LM", "Completion", "GuidedRoot", "LocalLM", "Message", "OpenAICompatibleLM", "ScriptedLM", "Usage"]

_LAZY = {
    "OpenAICompatibleLM": "rlmx.lm.openai",
    "LocalLM": "rlmx.lm.local",
    "GuidedRoot": "rlmx.lm.guided",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'rlmx.lm' has no attribute {name!r}")
