"""Trace files on disk: find them, summarise them (from their first and last lines), read them.

A listing reads two lines of each trace, so it stays fast for hundreds of large ones; whether a trace's other lines
are all readable is checked on demand (`checked`, cached by size and mtime) for the traces a user is shown.

A trace is `<YYYYmmdd-HHMMSS>-<run_id>.jsonl` whose first line is an event of format `rlmx.trace/N`. Files that
are not traces are never listed, so pruning a folder never touches anything else in it.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from rlmx.sandbox.frames import escaped

_TAIL_BYTES = 65_536

ABANDONED_AFTER_SECONDS = 86_400
"""A trace without its run_end that nothing has written to for this long (a day) is a run that died (killed, a
crash, the machine off). Written to more recently, it may be a run still going: a cell or LM call can be silent
for hours, so it is never pruned."""


@dataclass(frozen=True, slots=True)
class TraceInfo:
    """One trace file, summarised. `status` is the run's ("finished", "budget_exhausted", "error"), or "running"
    when the file has no run_end yet (a run still going, or one that was killed).

    Status and query come from the first and last lines only. `unreadable_lines` is None until `checked` reads the
    whole file: then the count of lines that are not JSON objects (the lines opening the trace skips and names)."""

    name: str
    path: str
    bytes: int
    modified: float
    run_id: str
    started: str
    query: str
    status: str
    stop_reason: str
    seconds: float | None
    session_id: str | None
    session_turn: int | None
    unreadable_lines: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def is_live(self, now: float) -> bool:
        """True while the run may still be writing this trace: no run_end yet (status "running", as listed) and
        written to within ABANDONED_AFTER_SECONDS."""
        return self.status == "running" and now - self.modified < ABANDONED_AFTER_SECONDS


def _first_record(path: Path) -> dict[str, Any] | None:
    try:
        with path.open("rb") as handle:
            line = handle.readline(16 * 1024 * 1024)
    except OSError:
        return None
    try:
        record = json.loads(line.decode("utf-8", "replace"))  # one bad byte must not hide the trace
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(record, dict) or not str(record.get("v", "")).startswith("rlmx.trace/"):
        return None
    return record


def _is_redacted(value: Any) -> bool:
    """Whether `value` is a text `rlmx traces --redact` replaced: {"redacted": chars, "sha256": ...}."""
    return isinstance(value, dict) and isinstance(value.get("redacted"), int) and isinstance(value.get("sha256"), str)


def trace_kind(path: Path) -> str | None:
    """What `path` holds: "run" for a run's trace, "redacted" for a copy `rlmx traces --redact` wrote (its first
    event's query replaced by its size and sha256), None for anything else (missing, a folder, any other file).
    Goes by the first line, whatever the file's name: a trace saved as run.html is still a trace."""
    if not path.is_file():
        return None
    first = _first_record(path)
    if first is None:
        return None
    return "redacted" if _is_redacted(first.get("query")) else "run"


PAGE_TITLE = b"<title>rlmx trace</title>"
"""What the head of every page `rlmx view --html` writes holds (viewer/static/index.html)."""


def overwrite_problem(target: Path, trace: Path, *, redacted_copies: bool = False, pages: bool = False) -> str | None:
    """Why writing `target` (made from `trace`) would destroy something, or None when it would not: `target` is
    `trace` itself (by any path, a link included), another trace (`trace_kind`: a run's only record), or a
    non-empty file rlmx did not write (an example, a report, the user's notes). What may be written over: a missing
    or empty file, what is not a regular file (/dev/stdout, a pipe), with `redacted_copies` an earlier redacted copy
    and with `pages` an earlier viewer page (`PAGE_TITLE`): writing again is how each is redone."""
    try:
        if target.exists() and target.samefile(trace):
            return "is the trace itself"
    except OSError:  # the trace went meanwhile: nothing of it to protect
        pass
    kind = trace_kind(target)
    if kind == "run" or (kind == "redacted" and not redacted_copies):
        what = "a run's trace" if kind == "run" else "a redacted copy of a trace"
        return f"is {what} (its first line is an rlmx trace event)"
    if kind == "redacted" or not target.is_file():
        return None
    try:
        size = target.stat().st_size
        with target.open("rb") as handle:
            head = handle.read(2048)
    except OSError:
        return None  # unreadable here: the write will say why it fails, if it does
    if size == 0 or (pages and PAGE_TITLE in head):
        return None
    return f"is a file rlmx did not write ({size:,} bytes)"


def _last_line(path: Path, size: int) -> bytes:
    """The file's last non-blank line, whole however long it is (a run_end can carry a large value), read backwards
    from the end in chunks: traces can be large, and only their end is needed."""
    pieces: list[bytes] = []
    position = size
    with path.open("rb") as handle:
        while position > 0:
            start = max(0, position - _TAIL_BYTES)
            handle.seek(start)
            chunk = handle.read(position - start)
            position = start
            if not pieces:
                chunk = chunk.rstrip(b"\r\n\t ")  # the newline (and blank lines) after the last line
                if not chunk:
                    continue
            cut = chunk.rfind(b"\n")
            pieces.append(chunk[cut + 1 :])
            if cut >= 0:
                break
    return b"".join(reversed(pieces))


def _last_record(path: Path, size: int) -> dict[str, Any] | None:
    """The run_end event when the file ends with one."""
    try:
        line = _last_line(path, size)
    except OSError:
        return None
    try:
        record = json.loads(line.decode("utf-8", "replace"))  # one bad byte must not hide the trace
    except (ValueError, UnicodeDecodeError):
        return None  # a run still writing its last line
    return record if isinstance(record, dict) and record.get("type") == "run_end" else None


def _text(value: Any) -> str:
    """A trace's text field as a listing shows it: a redacted one (a copy `rlmx traces --redact` wrote) as the page
    shows it, "⟨redacted: N chars⟩", not as the dict it is stored as."""
    return f"⟨redacted: {value['redacted']:,} chars⟩" if _is_redacted(value) else str(value)


def trace_info(path: Path) -> TraceInfo | None:
    """The summary of one trace file, or None when the file is not an rlmx trace."""
    if path.suffix != ".jsonl" or not path.is_file():
        return None
    first = _first_record(path)
    if first is None:
        return None
    stat = path.stat()
    last = _last_record(path, stat.st_size)
    given = first.get("session")
    session: dict[str, Any] = given if isinstance(given, dict) else {}
    started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(first.get("ts") or stat.st_mtime)))
    return TraceInfo(
        name=escaped(path.name),  # a file name that is not UTF-8, as the same text everywhere it is shown
        path=str(path),
        bytes=stat.st_size,
        modified=stat.st_mtime,
        run_id=str(first.get("run_id", "")),
        started=started,
        query=_text(first.get("query", "")),
        status=str(last.get("status")) if last else "running",
        stop_reason=_text(last.get("stop_reason", "")) if last else "",
        seconds=float(last["seconds"]) if last and isinstance(last.get("seconds"), int | float) else None,
        session_id=str(session["id"]) if session.get("id") else None,
        session_turn=int(session["turn"]) if isinstance(session.get("turn"), int) else None,
    )


def list_traces(folder: Path) -> list[TraceInfo]:
    """The traces in `folder`, newest first ([] when the folder does not exist). Their lines between the first and
    the last are not read (`unreadable_lines` is None): `checked` reads them, for the traces shown."""
    try:
        entries = list(os.scandir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return []
    # Redacted copies are for sharing, not runs: they are never listed (nor picked by number).
    names = (e for e in entries if e.name.endswith(".jsonl") and not e.name.endswith(".redacted.jsonl"))
    infos = [trace_info(Path(e.path)) for e in names]
    return sorted((i for i in infos if i is not None), key=lambda i: (i.modified, i.name), reverse=True)


_NAMED_LINES = 5
"""How many unreadable line numbers a note names; the rest are counted (a file of junk gives one short note)."""

VIEWER_NOTE = "viewer_note"
"""The type of the one event `with_notes` adds for the page: not a run's event, a note of the reader's. Its `text`
is shown above the run as a warning."""


class TraceEvents(list[dict[str, Any]]):
    """The events of a trace (a list, as before), with the lines that were skipped because they were not JSON
    objects: a second writer's line, or a partial write followed by more writes. The rest is still a run."""

    __slots__ = ("skipped", "skipped_lines")

    def __init__(self) -> None:
        super().__init__()
        self.skipped = 0
        self.skipped_lines: list[int] = []  # the first _NAMED_LINES of them, 1-based

    def skip(self, number: int) -> None:
        self.skipped += 1
        if len(self.skipped_lines) < _NAMED_LINES:
            self.skipped_lines.append(number)

    def note(self) -> str | None:
        """What was skipped, in one bounded sentence (None when nothing was)."""
        if not self.skipped:
            return None
        named = ", ".join(map(str, self.skipped_lines))
        more = self.skipped - len(self.skipped_lines)
        where = f"line {named}" if self.skipped == 1 else f"lines {named}" + (f" and {more:,} more" if more else "")
        what = (
            "1 line that is not a JSON object"
            if self.skipped == 1
            else f"{self.skipped:,} lines that are not JSON objects"
        )
        return f"Skipped {what} ({where}): another program wrote into the trace, or a write was cut short."


def with_notes(events: TraceEvents) -> list[dict[str, Any]]:
    """The events for the viewer page: with a `VIEWER_NOTE` event at the end when lines were skipped (its `text`
    the note; `skipped`, how many; `skipped_lines`, the first line numbers, 1-based)."""
    note = events.note()
    if not note:
        return events
    return [
        *events,
        {"type": VIEWER_NOTE, "text": note, "skipped": events.skipped, "skipped_lines": events.skipped_lines},
    ]


_CHECKED: dict[tuple[str, int, float], int] = {}
"""Unreadable-line counts by (path, size, mtime): a long-lived viewer lists the same traces again and again."""

_CHECKED_MAX = 4_096


def checked(info: TraceInfo) -> TraceInfo:
    """`info` with `unreadable_lines` counted over the whole file (read_trace's rule), once per size and mtime. A
    file that cannot be read now keeps None (not checked): the listing said what it knew."""
    key = (info.path, info.bytes, info.modified)
    count = _CHECKED.get(key)
    if count is None:
        try:
            with Path(info.path).open(encoding="utf-8", errors="replace") as handle:
                count = parse_trace(handle.read()).skipped
        except OSError:
            return info
        if len(_CHECKED) >= _CHECKED_MAX:
            _CHECKED.clear()
        _CHECKED[key] = count
    return replace(info, unreadable_lines=count)


def parse_trace(text: str) -> TraceEvents:
    """The events of a trace's text. A line that is not a JSON object is skipped and counted (`.skipped`,
    `.note()`); a last line cut short (a run still writing) is skipped without a count."""
    events = TraceEvents()
    # Lines end at "\n" only: str.splitlines() also breaks at U+2028, U+2029 and U+0085, which JSON allows raw
    # inside a string (an older trace, or one another tool wrote, holds them so).
    lines = text.removesuffix("\n").split("\n")
    last = len(lines)
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            if number != last:
                events.skip(number)
            continue
        if isinstance(record, dict):
            events.append(record)
        else:
            events.skip(number)
    return events


def read_trace(path: Path) -> TraceEvents:
    """Every event of a trace file, as `parse_trace` reads them.

    Raises OSError when the file cannot be read, ValueError when it is not an rlmx trace."""
    with path.open(encoding="utf-8", errors="replace") as handle:
        events = parse_trace(handle.read())
    if not events or not str(events[0].get("v", "")).startswith("rlmx.trace/"):
        raise ValueError(f'{path} is not an rlmx trace (its first line has no "v": "rlmx.trace/...")')
    return events
