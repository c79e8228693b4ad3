"""The Result of one completion: the answer, how the run ended, and what it cost."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, is_dataclass
from pathlib import Path
from typing import Any, Literal

from rlmx.budget import UsageReport
from rlmx.errors import RLMXError
from rlmx.events import strict_json

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
        """The Result as JSON values (`json.dumps` takes it as it is): `value` as JSON holds it (`json_value`: a
        pydantic model's fields under their aliases, as `answer` has them), `error` as its class name and text."""
        return {
            "answer": self.answer,
            "status": self.status,
            "stop_reason": self.stop_reason,
            "answer_source": self.answer_source,
            "iterations": self.iterations,
            "value": json_value(self.value),
            "usage": self.usage.to_dict(),
            "trace_path": str(self.trace_path) if self.trace_path else None,
            "run_id": self.run_id,
            "seconds": round(self.seconds, 4),
            "error": None if self.error is None else f"{type(self.error).__name__}: {self.error}",
        }


def json_value(value: Any) -> Any:
    """`value` as plain JSON values: a pydantic model as `model_dump(mode="json", by_alias=True)` gives it (the
    names `Result.answer` and the schema shown to the model use), a dataclass as its fields, a set or another
    object JSON has no form of as a list or its text, NaN and Infinity as None (RFC 8259 has no such numbers). A
    value that cannot be written even so (a key that is no text or number, a circular value) is its text."""
    if isinstance(value, str) or value is None:
        return value

    def as_json(part: Any) -> Any:  # json.dumps' `default`: asked only for what JSON has no form of
        if hasattr(part, "model_dump") and not isinstance(part, type):  # a pydantic model
            return part.model_dump(mode="json", by_alias=True)
        if is_dataclass(part) and not isinstance(part, type):
            return asdict(part)
        if isinstance(part, set | frozenset):
            return list(part)
        return str(part)

    try:
        return json.loads(strict_json(value, ensure_ascii=False, default=as_json))
    except (TypeError, ValueError, RecursionError):
        return str(value)
