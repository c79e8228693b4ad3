"""Host-side caps on sub-calls from a REPL: calls per cell, calls per run, prompt characters per run.

They sit in the sandbox, in front of the engine's call handler, so a runaway or hostile cell is refused before
any LM is asked, whatever the tree-wide budget says. A refused item comes back to the cell as an error that
tells the model what to do instead; the worker is not ended for it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from rlmx.sandbox.base import CallHandler, RefusalRecorder, SubCall, SubCallResult


@dataclass(slots=True)
class CallCaps:
    max_calls_per_cell: int = 1_000
    max_calls_per_run: int = 10_000
    max_prompt_chars: int = 100_000_000
    calls_made: int = 0
    prompt_chars_sent: int = 0
    cell_calls: int = 0

    def new_cell(self) -> None:
        self.cell_calls = 0

    def new_run(self) -> None:
        """A new run in the same REPL (a session's next question): the per-run counts start again at 0."""
        self.calls_made = self.prompt_chars_sent = self.cell_calls = 0

    def admit(self, items: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[str]]:
        """The items within the caps (a prefix of `items`) and one refusal message for each of the rest. A batch
        larger than a whole cell may send is refused entire, before anything is spent (the worker refuses it too;
        this is for a forged call frame)."""
        admitted, refusals, _ = self._admit(items)
        return admitted, refusals

    def _admit(self, items: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[str], str]:
        """`admit`, and the cap that refused the rest ("" when none was), its setting named first."""
        if len(items) > self.max_calls_per_cell:
            whole = (
                f"sub-call refused: {len(items):,} prompts in one call is over the {self.max_calls_per_cell:,} "
                "sub-calls a cell may make. Send fewer, larger prompts."
            )
            cap = f"max_calls_per_cell: {len(items):,} prompts in one call, over the sandbox's cap per cell"
            return [], [whole] * len(items), f"{cap} ({self.max_calls_per_cell:,})"
        admitted: list[dict[str, Any]] = []
        refusals: list[str] = []
        cap = ""
        for item in items:
            chars = prompt_chars(item)
            refusal = None
            if self.cell_calls >= self.max_calls_per_cell:
                refusal = f"this cell already made {self.max_calls_per_cell:,} sub-calls (the per-cell cap)"
                cap = f"max_calls_per_cell: the sandbox's cap of {self.max_calls_per_cell:,} sub-calls per cell"
            elif self.calls_made >= self.max_calls_per_run:
                refusal = f"this REPL already made {self.max_calls_per_run:,} sub-calls (the per-run cap)"
                cap = f"max_calls_per_run: the sandbox's cap of {self.max_calls_per_run:,} sub-calls per run"
            elif self.prompt_chars_sent + chars > self.max_prompt_chars:
                refusal = (
                    f"sending {chars:,} more characters would pass the cap of {self.max_prompt_chars:,} prompt "
                    f"characters per run ({self.prompt_chars_sent:,} sent so far)"
                )
                cap = f"max_prompt_chars: the sandbox's cap of {self.max_prompt_chars:,} prompt characters per run"
            if refusal is not None or refusals:
                reason = refusal or "an earlier item of this batch was refused"
                refusals.append(f"sub-call refused: {reason}. Combine the results you have in code and finish.")
                continue
            self.cell_calls += 1
            self.calls_made += 1
            self.prompt_chars_sent += chars
            admitted.append(item)
        return admitted, refusals, cap

    async def serve(self, call: SubCall, handler: CallHandler) -> list[dict[str, Any]]:
        """Admit what fits, hand it to the engine's handler, and answer every item (in order) as a reply frame.
        A handler that records refusals (`RefusalRecorder`, the engine's) is told of the refused items, so the run's
        trace holds them as it holds the budget's refusals: a refusal the cell saw is never missing from it."""
        admitted, refusals, cap = self._admit(list(call.items))
        if refusals and isinstance(handler, RefusalRecorder):
            handler.refused(call, len(refusals), cap)
        results = await handler(SubCall(call.kind, tuple(admitted), call.model)) if admitted else []
        if len(results) != len(admitted):
            results = [*results, *[SubCallResult(False, error="no result")] * (len(admitted) - len(results))]
        return [r.to_frame() for r in results] + [SubCallResult(False, error=e).to_frame() for e in refusals]


def prompt_chars(item: dict[str, Any]) -> int:
    context = item.get("context")
    extra = 0 if context is None else len(context) if isinstance(context, str) else len(json.dumps(context))
    return len(str(item.get("prompt", ""))) + extra
