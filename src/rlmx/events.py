"""Events: the one record of what a run did. The JSONL trace, callbacks and the CLI's live view all read them.

Every event carries the run id, its node's id and parent id, and its depth, so a viewer can rebuild the tree.
Events hold no context content: contexts appear as name, size and sha256; long texts are clipped.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO

from rlmx.sandbox.frames import encodable

SCHEMA = "rlmx.trace/1"
TRACE_TEXT_CHARS = 4_000


@dataclass(frozen=True, slots=True)
class Event:
    type: str
    run_id: str
    node_id: str
    parent_id: str | None
    depth: int
    data: dict[str, Any] = field(default_factory=dict)
    ts: float = field(default_factory=time.time)

    def to_json(self) -> str:
        record = asdict(self)
        payload = record.pop("data")
        # Lone surrogates (a reply cut mid-emoji) become U+FFFD, as in every string leaving rlmx; never an error.
        return encodable(json.dumps({"v": SCHEMA, **record, **payload}, ensure_ascii=False, default=str))


Emit = Callable[[Event], None]


def clip(text: str, limit: int = TRACE_TEXT_CHARS) -> str:
    """Head and tail of a long text, with the count of characters cut, for traces and live views."""
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n... [{len(text) - 2 * half:,} characters cut] ...\n{text[-half:]}"


class TraceFile:
    """Appends events as JSON lines to one file per completion, flushing each line."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._handle: TextIO | None = path.open("w", encoding="utf-8")
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        with self._lock:
            if self._handle is not None:
                self._handle.write(event.to_json() + "\n")
                self._handle.flush()

    def close(self) -> None:
        with self._lock:
            if self._handle is not None:
                self._handle.close()
                self._handle = None


class Fanout:
    """One emit that hands each event to several subscribers; a failing subscriber never breaks the run."""

    def __init__(self, *subscribers: Emit | None) -> None:
        self.subscribers = [s for s in subscribers if s is not None]
        self.errors: list[str] = []

    def __call__(self, event: Event) -> None:
        for subscriber in self.subscribers:
            try:
                subscriber(event)
            except Exception as exc:  # a callback's bug must not end the run
                self.errors.append(f"{type(exc).__name__}: {exc}")
