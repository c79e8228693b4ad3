"""The Result of one completion: the answer, how the run ended, and what it cost."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from rlmx.budget import UsageReport
from rlmx.errors import RLMXError

Status = Literal["finished", "budget_exhausted", "error"]


@dataclass(frozen=True, slots=True)
class Result:
    """`answer` is always text (never the model's code). `status` is "finished", "budget_exhausted" or "error";
    `stop_reason` says why in words; `answer_source` says where the answer came from (FINAL, the answer dict,
    SUBMIT, prose, the last-turn request, the partial answer buffer, or none)."""

    answer: str
    status: Status
    stop_reason: str
    iterations: int
    usage: UsageReport
    trace_path: Path | None
    answer_source: str
    value: Any = None
    run_id: str = ""
    seconds: float = 0.0
    error: RLMXError | None = None
    """The LM or sandbox failure that ended the run (status "error", or a failed last-turn request)."""

    @property
    def ok(self) -> bool:
        return self.status == "finished"

    def to_dict(self) -> dict[str, Any]:
        return {
            "answer": self.answer,
            "status": self.status,
            "stop_reason": self.stop_reason,
            "answer_source": self.answer_source,
            "iterations": self.iterations,
            "value": self.value,
            "usage": self.usage.to_dict(),
            "trace_path": str(self.trace_path) if self.trace_path else None,
            "run_id": self.run_id,
            "seconds": round(self.seconds, 4),
            "error": None if self.error is None else f"{type(self.error).__name__}: {self.error}",
        }
