"""GuidedRoot: a root that writes the REPL cells itself, for models too small to write code.

It is a strategy, labeled as one, not an imitation of an LM: its cells come from `guided_cells.py` and run in
the normal REPL under the normal engine (budgets, events, trace). The sub-LM does the reading through
`llm_query_batched`; the cells keep only answers found verbatim in the text the sub-LM read.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Sequence
from typing import Any

from rlmx import prompts
from rlmx.lm import guided_cells
from rlmx.lm.base import LM, Completion, Message, Usage

_LIBRARY = inspect.getsource(guided_cells).replace("from __future__ import annotations\n", "")


class GuidedRoot:
    """Root "LM" that probes the context, searches it with terms from the query, asks `sub_lm` (through the
    REPL's `llm_query_batched`) about the best windows, verifies candidates against the text and finishes.

        rlm = RLM(GuidedRoot(local), sub_lm=local)

    `window_chars` is the size of each text window sent to the sub-LM; `max_windows` bounds the sub-calls.
    It answers lookups ("what is X", "who did Y"); it does not plan multi-step analyses.
    """

    def __init__(self, sub_lm: LM, *, window_chars: int = 3000, max_windows: int = 4) -> None:
        self.sub_lm = sub_lm
        self.window_chars = window_chars
        self.max_windows = max_windows
        self.model = f"guided-root(reader={sub_lm.model})"

    async def complete(self, messages: Sequence[Message], **params: Any) -> Completion:
        turn = 1 + sum(1 for m in messages if m["role"] == "assistant")
        query = prompts.query_from(messages)
        if turn == 1:
            text = self._probe()
        elif turn == 2:
            text = self._search(query)
        else:
            text = (
                "The guided search did not finish cleanly; answering with what it found.\n"
                + "```repl\nFINAL(answer.get('content') or 'NOT FOUND')\n```"
            )
        return Completion(text=text, usage=Usage(0, 0, 0.0), model=self.model)

    def _probe(self) -> str:
        return (
            "Guided root (rlmx writes this code; no LM does): load the search helpers and probe the context.\n"
            "```repl\n"
            f"{_LIBRARY}\n"
            "_guided_vars = {k: v for k, v in list(globals().items())\n"
            "                if not k.startswith('_') and k != 'answer' and isinstance(v, (str, list, dict))}\n"
            "_guided_text = collect_text(_guided_vars)\n"
            "for _name, _value in _guided_vars.items():\n"
            "    print(f'{_name}: {type(_value).__name__}, {len(_value):,} items/chars')\n"
            "print(f'searchable text: {len(_guided_text):,} characters')\n"
            "```"
        )

    def _search(self, query: str) -> str:
        return (
            "Guided root: search the context for the query's terms, read the best windows with the sub-LM, "
            "keep only answers found verbatim in the text they came from.\n"
            "```repl\n"
            f"_guided = guided_answer(_guided_text, {json.dumps(query)}, llm_query_batched,\n"
            f"                        window_chars={self.window_chars}, max_windows={self.max_windows})\n"
            "print(_guided['report'])\n"
            "answer['content'] = _guided['answer']\n"
            "FINAL(_guided['answer'])\n"
            "```"
        )
