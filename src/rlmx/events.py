"""Events: the one record of what a run did. The JSONL trace, callbacks, the CLI's live view, the server's stream
and the trace viewer all read them.

Every event carries the format version, its type, the run id, its node's id and parent id, its depth and a
timestamp, so a viewer can rebuild the tree. `EVENTS` below is the trace format: every event type and every
field, with its JSON type and what it holds. It is the one place the format is written down: the engine's events
are checked against it by the tests, `docs/trace-format.md` is generated from it (`python -m rlmx.events`), and
the viewer's list of event types must match it.

What a trace holds. No field holds a context as such: a context appears as its name, type, size and sha256.
But a trace is not free of context content. The fields marked "content" (the query, the model's messages and
replies, the code of each cell and its output, sub-call prompts and replies, answers, error messages and the stop
reasons built from them) may quote the context: the first prompt shows a short preview of each context, a cell's
output is whatever the model's code printed, and a sub-call's prompt usually carries an excerpt of the context.
Long texts are clipped (head and tail kept), so a trace of a large context holds excerpts of it; a small context
can appear whole.
`redact_event` replaces every content field with its size and sha256 (`rlmx traces --redact` writes such a copy)
for a trace that can be shared without its text.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import math
import os
import re
import threading
import time
import warnings
import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field, is_dataclass, replace
from pathlib import Path
from typing import Any, TextIO

from rlmx.sandbox.frames import encodable
from rlmx.sandbox.graphemes import head, tail

TRACE_FORMAT_VERSION = 1
SCHEMA = f"rlmx.trace/{TRACE_FORMAT_VERSION}"
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

    def to_record(self) -> dict[str, Any]:
        """The event as one trace record: the common fields, then the event's own fields at the top level."""
        record = asdict(self)
        payload = record.pop("data")
        return {"v": SCHEMA, **record, **payload}

    def to_json(self) -> str:
        """The event as one trace line (without its newline): see `record_json`."""
        return record_json(self.to_record())


def record_json(record: Mapping[str, Any]) -> str:
    """`record` as one JSON Lines line (without its newline): UTF-8-encodable, lone surrogates as U+FFFD (a reply cut
    mid-emoji; never an error), with `json_escaped` characters escaped, NaN and infinities as null (`strict_json`)."""
    return json_escaped(encodable(strict_json(record, ensure_ascii=False, default=str)))


NOT_FINITE = "Out of range float values"
"""How json.dumps(allow_nan=False) begins its refusal of NaN and Infinity."""


def strict_json(value: Any, **options: Any) -> str:
    """`json.dumps(value, **options)` as RFC 8259 has it: NaN, Infinity and -Infinity, which JSON has no form for
    (Python writes `NaN`, which JSON.parse and every strict reader refuse), written as null, as JavaScript's
    JSON.stringify writes them. A value without them costs one dump, as before."""
    try:
        return json.dumps(value, allow_nan=False, **options)
    except ValueError as exc:
        if not str(exc).startswith(NOT_FINITE):
            raise
    return json.dumps(_finite(value), allow_nan=False, **options)


def _finite(value: Any) -> Any:
    """`value` with every float that is not finite as None (a dict key: its text, as json.dumps writes float keys)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {
            (str(key) if isinstance(key, float) and not math.isfinite(key) else key): _finite(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


BIDI_CONTROLS = (*range(0x202A, 0x202F), *range(0x2066, 0x206A))
"""Unicode's explicit bidirectional embeddings, overrides and isolates (LRE, RLE, PDF, LRO, RLO; LRI, RLI, FSI,
PDI: UAX #9 section 2). Text holding them can be shown in another order than the one it has (CVE-2021-42574,
"Trojan Source"). The implicit marks (LRM, RLM, ALM), common in right-to-left text, are not among them."""

_ESCAPED = re.compile("[\x80-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def json_escaped(text: str) -> str:
    """JSON text with U+2028, U+2029, the C1 controls (U+0080-U+009F, U+0085 among them) and the bidirectional
    controls (`BIDI_CONTROLS`) written as `\\u` escapes, the same JSON: readers that split lines with
    `str.splitlines()` or at JavaScript's line terminators see one record a line, and a terminal shown the text
    cannot be driven by it (VTE terminals act on C1 CSI and OSC) nor show it reordered. These characters can only
    stand inside JSON strings, so escaping them keeps the JSON valid."""
    return text if text.isascii() else _ESCAPED.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


Emit = Callable[[Event], None]


def clip(text: str, limit: int = TRACE_TEXT_CHARS) -> str:
    """Head and tail of a long text, with the count of characters cut, for traces and live views. The cuts fall
    between whole characters as a reader sees them (`graphemes`: never between a letter and its accent, inside a
    flag or an emoji sequence), so each side holds at most `limit // 2` code points."""
    if len(text) <= limit:
        return text
    start, end = head(text, limit // 2), tail(text, limit // 2)
    return f"{start}\n... [{len(text) - len(start) - len(end):,} characters cut] ...\n{end}"


def clip_value(value: Any, limit: int = TRACE_TEXT_CHARS) -> Any:
    """A FINAL/SUBMIT value as a trace holds it: its JSON value while that is short, else that JSON as `clip`ped
    text. A value can be a whole context (`FINAL(context)`) or a list of thousands of records: a trace never holds
    a context as such, and its last line (the run_end) stays small enough to read. A typed value (`output=` a
    pydantic model or a dataclass) is its fields, as `model_dump(mode="json")` gives them, not its repr."""
    if isinstance(value, str):
        return clip(value, limit)
    converted = False

    def as_json(part: Any) -> Any:  # json.dumps' `default`: asked only for what JSON has no form of
        nonlocal converted
        converted = True
        if hasattr(part, "model_dump") and not isinstance(part, type):  # a pydantic model
            return part.model_dump(mode="json")
        if is_dataclass(part) and not isinstance(part, type):
            return asdict(part)
        return str(part)

    text = strict_json(value, ensure_ascii=False, default=as_json)
    if len(text) > limit:
        return clip(text, limit)
    return json.loads(text) if converted else value


# --- the format ---------------------------------------------------------------------------------------------

JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
    "string|null": (str, type(None)),
    "any": (object,),
}


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One field of an event. `type` is a key of JSON_TYPES; `content` marks text that may quote the context."""

    name: str
    type: str
    doc: str
    required: bool = True
    content: bool = False


@dataclass(frozen=True, slots=True)
class EventSpec:
    type: str
    doc: str
    fields: tuple[FieldSpec, ...] = ()


_CONTEXT_SUMMARIES = (
    "each context's summary: name, kind, type, chars, bytes, skipped_files (each a file and why it was skipped: "
    "content, as a reason may quote the file, e.g. a key given twice; `--redact` replaces each entry)"
)
_CELL_TURN = (
    "the numbered turn (`iteration`) whose reply wrote it; a cell of the last-turn request or the forced extraction "
    "(no `iteration` of their own) carries the turn count reached before them"
)


def _f(name: str, type_: str, doc: str, *, required: bool = True, content: bool = False) -> FieldSpec:
    return FieldSpec(name, type_, doc, required, content)


COMMON_FIELDS: tuple[FieldSpec, ...] = (
    _f("v", "string", f'the format version, "{SCHEMA}"'),
    _f("type", "string", "the event type (below)"),
    _f("run_id", "string", "one completion (one trace file)"),
    _f("node_id", "string", 'the RLM node: "0" is the root, "0.1" its first child RLM, "0.1.2" a grandchild'),
    _f("parent_id", "string|null", "the parent node's id (null for the root)"),
    _f("depth", "integer", "the node's depth (0 for the root)"),
    _f("ts", "number", "Unix time in seconds"),
)

_USAGE = (
    _f("input_tokens", "integer", "prompt tokens"),
    _f("output_tokens", "integer", "reply tokens"),
    _f("cost_usd", "any", "USD cost (number), or null when the model has no price"),
)
_REPLY_NOTES = (
    _f(
        "finish_reason",
        "string|null",
        'why the reply ended ("stop", "length", ...), as the server said',
        required=False,
    ),
    _f(
        "reasoning",
        "string",
        "the model's reasoning, when the server returns it (clipped)",
        required=False,
        content=True,
    ),
    _f(
        "usage_estimated",
        "boolean",
        "true when the server reported no token counts and rlmx estimated them",
        required=False,
    ),
)

STOP_REASON = "why, in words; an LM's or the REPL's error message when one ended it (which may quote the prompt)"
"""A stop reason is content: it is built from error text (`every sub-call failed: HTTP 400 ...: <the prompt>`)."""

EVENTS: dict[str, EventSpec] = {
    spec.type: spec
    for spec in (
        EventSpec(
            "run_start",
            "the completion starts (emitted once, by the root)",
            (
                _f("query", "string", "the question (clipped)", content=True),
                _f("contexts", "array", _CONTEXT_SUMMARIES),
                _f("root_model", "string", "the model that writes the root's code"),
                _f("sub_model", "string", "the model that answers llm_query"),
                _f("max_depth", "integer", "recursion depth limit"),
                _f("sandbox", "string", "the sandbox tier"),
                _f("budget", "object", "every Budget limit (null when unset)"),
                _f("prompt_version", "string", "the version of rlmx's prompts"),
                _f(
                    "session",
                    "object",
                    "for a session's question: {id, turn, new_contexts}; traces of one session share the id",
                    required=False,
                ),
            ),
        ),
        EventSpec(
            "node_start",
            "an RLM node starts (the root, or a child RLM started by rlm_query)",
            (
                _f(
                    "query",
                    "string",
                    "the node's query: the question, or the prompt of rlm_query (clipped)",
                    content=True,
                ),
                _f("contexts", "array", "the node's context summaries (as in run_start)"),
            ),
        ),
        EventSpec(
            "sandbox_ready",
            "the node's REPL is running",
            (
                _f("protections", "object", "what the sandbox applied: tier, namespaces, seccomp, Landlock, limits"),
                _f(
                    "contexts_sha256",
                    "object",
                    "context name -> sha256 of its UTF-8 (hashed in the background while the REPL starts)",
                ),
            ),
        ),
        EventSpec("iteration", "a turn begins: the node's LM is asked for code", (_f("turn", "integer", "1-based"),)),
        EventSpec(
            "lm_call",
            "the node's LM replied (a turn, the last-turn request, or the forced extraction)",
            (
                _f("role", "string", '"root" (the node\'s own LM; also for child RLMs)'),
                _f("model", "string", "the model that replied"),
                _f(
                    "new_messages",
                    "array",
                    "the messages added since the node's previous call, [{role, content}], each clipped to 2,000 "
                    "characters; the first holds a short preview of each context",
                    content=True,
                ),
                _f(
                    "response",
                    "string",
                    "the reply, whole (a guided root's library turn: its code is in the cell_start only)",
                    content=True,
                ),
                *_USAGE,
                _f("seconds", "number", "wall time of the call"),
                *_REPLY_NOTES,
            ),
        ),
        EventSpec(
            "lm_reply_rejected",
            "an LM answered with no usable completion (no text, not a chat completion); it may be asked once more",
            (
                _f("role", "string", '"root" or "sub"'),
                _f("model", "string", "the model asked"),
                _f("error", "string", "what was wrong with the reply", content=True),
                _f("retried", "boolean", "whether the call is asked once more"),
                # what the server billed for the rejected reply is in no other event: a node's totals add it
                *(FieldSpec(f.name, f.type, f"{f.doc} billed for it", False, f.content) for f in _USAGE),
            ),
        ),
        EventSpec("no_code", "the reply had no code and no FINAL: the model is told so"),
        EventSpec(
            "reply_overran",
            "the reply went on past the end of the model's turn (an end-of-turn token, then a turn the model made up): "
            "what came after was not read, and the model is told so",
            (_f("ignored_chars", "integer", "characters after the end of the model's turn"),),
        ),
        EventSpec(
            "cell_skipped",
            "the reply's last block did not run: the reply stopped at its output cap inside it, so it was cut short",
            (_f("reason", "string", "why it did not run"),),
        ),
        EventSpec(
            "cell_start",
            "a code cell starts",
            (
                _f("cell_id", "string", '"<node_id>/c<n>"'),
                _f("turn", "integer", _CELL_TURN),
                _f(
                    "code",
                    "string",
                    "the cell's code, whole; a text rlmx itself writes into every run's cell (the offline default's "
                    "guided library) is one comment line in its place, naming it, its size and its sha256",
                    content=True,
                ),
            ),
        ),
        EventSpec(
            "cell",
            "a code cell ended",
            (
                _f("cell_id", "string", "as in cell_start"),
                _f("turn", "integer", _CELL_TURN),
                _f(
                    "status",
                    "string",
                    '"ok", "error" (an exception), "timeout" (soft), "restarted" (hard kill), "cancelled" (the run '
                    "was stopped)",
                ),
                _f("output", "string", "what the model reads back: stdout, stderr, error (cut)", content=True),
                _f("truncated_chars", "integer", "characters cut from stdout and stderr"),
                _f("finished", "boolean", "the cell finished the node (FINAL, SUBMIT, answer ready)"),
                _f("seconds", "number", "wall time of the cell, its sub-calls included"),
            ),
        ),
        EventSpec(
            "subcall_start",
            "a cell's llm_query / rlm_query item starts",
            (
                _f("subcall_id", "string", '"<node_id>/s<n>"'),
                _f("cell_id", "string", "the cell that made it"),
                _f("child_id", "string", "the child RLM's node id, when kind is rlm", required=False),
                _f("kind", "string", '"llm" (a plain sub-LM call) or "rlm" (a child RLM)'),
                _f("requested", "string", '"llm" or "rlm": what the code asked for (rlm becomes llm at max depth)'),
                _f("model", "string|null", "the model name the code asked for, if any"),
                _f("prompt", "string", "the prompt (clipped to 2,000 characters)", content=True),
                _f("prompt_chars", "integer", "the prompt's full length"),
            ),
        ),
        EventSpec(
            "subcall_end",
            "a sub-call ended",
            (
                _f("subcall_id", "string", "as in subcall_start"),
                _f("kind", "string", "as in subcall_start"),
                _f("ok", "boolean", "false when it failed (LM error, budget, bad model name, child error)"),
                _f("text", "string", "the reply, or the error (clipped to 2,000 characters)", content=True),
                _f("seconds", "number", "wall time"),
                _f("model", "string", "the model that replied (plain sub-calls that got a reply)", required=False),
                *(FieldSpec(f.name, f.type, f.doc, False, f.content) for f in _USAGE),
                *_REPLY_NOTES,
            ),
        ),
        EventSpec(
            "subcall_cached",
            "a plain sub-call was answered from the run's cache (an identical request): no LM call, nothing spent",
            (
                _f("cell_id", "string", "the cell that made it"),
                _f("model", "string", "the model whose earlier reply was reused"),
                _f("source", "string", '"memory", "in_flight" (the same request still running) or "disk"'),
                _f("saved_tokens", "integer", "tokens the reused reply cost when it was made"),
            ),
        ),
        EventSpec(
            "tool_call",
            "a cell called a host tool (RLM(tools=...)); it ran in the host, not the sandbox",
            (
                _f("cell_id", "string", "the cell that called it"),
                _f("name", "string", "the tool's name"),
                _f("arguments", "string", "the arguments as JSON (clipped to 2,000 characters)", content=True),
                _f("ok", "boolean", "false when the tool raised, was refused (max_tool_calls) or got bad arguments"),
                _f("result", "string", "the result as JSON, or the error (clipped to 2,000 characters)", content=True),
                _f("seconds", "number", "wall time"),
            ),
        ),
        EventSpec(
            "setup",
            "the host tools' stubs and RLM(setup_code=...) ran in a REPL before its first cell (again after a restart)",
            (
                _f("status", "string", '"ok", or how the setup cell failed ("error", "timeout", ...)'),
                _f("output", "string", "what the setup cell printed or raised (clipped)", content=True),
                _f("seconds", "number", "wall time"),
            ),
        ),
        EventSpec(
            "subcalls_refused",
            "the budget or the sandbox's caps (max_calls_per_cell, max_calls_per_run, max_prompt_chars) refused "
            "sub-calls of a cell: they never start. The first refusal of a kind in a cell is one event; the later ones "
            "of that kind and cell are counted in one more event as the cell ends",
            (
                _f("cell_id", "string", "the cell that asked"),
                _f("requested", "string", '"llm", "rlm" or "tool"'),
                _f("count", "integer", "items refused"),
                _f("reason", "string", "why (the budget or cap, its setting named first)"),
            ),
        ),
        EventSpec(
            "answer_rejected",
            "a finish was not taken: it did not match the output schema, or it was written in prose before the "
            "model saw its code's output or in a reply cut short (at the output cap, by a content filter); the "
            "problems go back to the model",
            (
                _f("source", "string", "how the model finished (final, submit, answer, ...)"),
                _f("problems", "string", "what did not match", content=True),
            ),
        ),
        EventSpec("final_request", "every turn was used: one last call asks for the answer"),
        EventSpec(
            "forced_extraction",
            "a budget ran out: one compact last call asks for the answer",
            (_f("reason", "string", "the budget that ran out"),),
        ),
        EventSpec(
            "error",
            "an LM or sandbox failure ended the node (or its last-turn request)",
            (
                _f("error_type", "string", "the exception class"),
                _f("message", "string", "the error message", content=True),
            ),
        ),
        EventSpec(
            "node_end",
            "an RLM node ended",
            (
                _f("status", "string", '"finished", "budget_exhausted", "error" or "cancelled" (the run was stopped)'),
                _f("stop_reason", "string", STOP_REASON, content=True),
                _f("iterations", "integer", "turns used"),
                _f("answer", "string", "the node's answer (clipped)", content=True),
                _f("source", "string", "where the answer came from (final, answer_buffer, forced_extraction, ...)"),
                _f("seconds", "number", "wall time of the node"),
            ),
        ),
        EventSpec(
            "run_end",
            'the completion ended (the Result; also written for a run cut short, with status "cancelled")',
            (
                _f("answer", "string", "the answer (clipped)", content=True),
                _f("status", "string", '"finished", "budget_exhausted", "error" or "cancelled" (interrupted)'),
                _f("stop_reason", "string", STOP_REASON, content=True),
                _f("answer_source", "string", "where the answer came from"),
                _f("iterations", "integer", "the root's turns"),
                _f(
                    "value",
                    "any",
                    "the typed value given to FINAL / SUBMIT (when its JSON is long: that JSON, clipped)",
                    content=True,
                ),
                _f(
                    "usage",
                    "object",
                    "tokens, calls and USD: total, root, sub, by_depth, by_model, subcalls, child_rlms",
                ),
                _f("trace_path", "string|null", "this file"),
                _f("seconds", "number", "wall time of the run"),
                _f("error", "string|null", "the failure that ended the run", content=True),
            ),
        ),
    )
}


def check_record(record: Mapping[str, Any]) -> list[str]:
    """What in one trace record breaks the format: [] when it conforms. Unknown fields are problems too."""
    spec = EVENTS.get(str(record.get("type")))
    if spec is None:
        return [f"unknown event type {record.get('type')!r}"]
    problems: list[str] = []
    fields = {f.name: f for f in (*COMMON_FIELDS, *spec.fields)}
    for name, value in record.items():
        known = fields.get(name)
        if known is None:
            problems.append(f"{spec.type}: field {name!r} is not in the format")
        elif not _has_type(value, known.type):
            problems.append(f"{spec.type}.{name}: {type(value).__name__} is not {known.type}")
    problems += [
        f"{spec.type}: required field {name!r} is missing"
        for name, f in fields.items()
        if f.required and name not in record
    ]
    if record.get("v") != SCHEMA:
        problems.append(f"{spec.type}: v is {record.get('v')!r}, not {SCHEMA!r}")
    return problems


def _has_type(value: Any, type_name: str) -> bool:
    if type_name in ("integer", "number") and isinstance(value, bool):
        return False
    return isinstance(value, JSON_TYPES[type_name])


def redact_event(record: Mapping[str, Any]) -> dict[str, Any]:
    """The record with every content field replaced by {"redacted": chars, "sha256": ...}: its shape, sizes,
    timings, tokens and statuses stay; its text goes. Unknown event types are redacted whole except the common
    fields. In the context summaries, each skipped file's reason goes too (`_CONTEXT_SUMMARIES`)."""
    spec = EVENTS.get(str(record.get("type")))
    common = {f.name for f in COMMON_FIELDS}
    content = {f.name for f in spec.fields if f.content} if spec is not None else set(record) - common
    redacted = {name: _redacted(value) if name in content else value for name, value in record.items()}
    if spec is not None and isinstance(redacted.get("contexts"), list):
        redacted["contexts"] = [_without_skip_reasons(summary) for summary in redacted["contexts"]]
    return redacted


def _without_skip_reasons(summary: Any) -> Any:
    if not isinstance(summary, dict) or not isinstance(summary.get("skipped_files"), list):
        return summary
    return {**summary, "skipped_files": [_redacted(entry) for entry in summary["skipped_files"]]}


def _redacted(value: Any) -> Any:
    if value is None:
        return None
    text = value if isinstance(value, str) else strict_json(value, ensure_ascii=False, default=str)
    return {"redacted": len(text), "sha256": hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()}


def format_markdown() -> str:
    """docs/trace-format.md: the format as tables, generated from EVENTS."""
    lines = [
        "# The rlmx trace format",
        "",
        f"Version `{SCHEMA}` (`rlmx.events.TRACE_FORMAT_VERSION = {TRACE_FORMAT_VERSION}`). Generated from "
        "`src/rlmx/events.py` by `python -m rlmx.events`; a test fails when this file, the engine's events or the "
        "viewer drift from it.",
        "",
        "A trace is a JSON Lines file, one event per line, written as the run goes (each line flushed). Every "
        "line has the common fields and its event's own fields at the top level. Fields marked **content** may "
        "quote the context (see below); `rlmx traces --redact` replaces them with their size and sha256.",
        "",
        "## What a trace holds",
        "",
        " ".join((__doc__ or "").split("What a trace holds.")[1].split()),
        "",
        "## Common fields",
        "",
        *_table(COMMON_FIELDS),
    ]
    for spec in EVENTS.values():
        lines += ["", f"## `{spec.type}`", "", spec.doc[0].upper() + spec.doc[1:] + "."]
        if spec.fields:
            lines += ["", *_table(spec.fields)]
    return "\n".join(lines) + "\n"


def _table(fields: Iterable[FieldSpec]) -> list[str]:
    rows = ["| Field | Type | Holds |", "|---|---|---|"]
    for f in fields:
        notes = ("" if f.required else " (optional)") + (" **content**" if f.content else "")
        rows.append(f"| `{f.name}` | {f.type.replace('|', ' or ')} | {f.doc.replace('|', '/')}{notes} |")
    return rows


# --- sinks --------------------------------------------------------------------------------------------------


def make_private_folders(folder: Path) -> None:
    """Create `folder` and its missing parents for the owner alone (0700). Folders that exist keep their mode:
    they are the user's."""
    missing = [f for f in (folder, *folder.parents) if not f.exists()]
    for each in reversed(missing):
        with contextlib.suppress(FileExistsError):  # made meanwhile by another run
            each.mkdir(mode=0o700)


def create_private_file(path: Path) -> int:
    """Open `path` for writing, created or emptied, with mode 0600, whatever the umask or the mode an old file had: a
    trace or a cache holds a run's context and prompts, and on a root host a sandbox runs as another uid that
    can read whatever the folder lets it. Returns the descriptor."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    with contextlib.suppress(PermissionError):  # a shared file another user owns keeps its owner's choice
        os.fchmod(fd, 0o600)
    return fd


def keep_private(path: Path) -> None:
    """Leave `path` its owner's alone (0600), created empty if missing, its content kept (a file appended to, an
    SQLite database, one an older rlmx wrote 0644). A file another user owns keeps its owner's choice."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600))
    with contextlib.suppress(PermissionError):
        path.chmod(0o600)


_BY_REFERENCE: dict[str, str] = {}
"""{text: the comment line a trace file writes in its place}: texts rlmx itself puts whole into a cell of every run
(`write_by_reference`)."""


def write_by_reference(text: str, name: str) -> str:
    """Have every trace file write `text`, wherever a cell's code holds it, as one Python comment naming it (`name`,
    e.g. "rlmx 0.1.0 guided library"), its size and its sha256; returns that line. For texts rlmx itself writes,
    the same in every run and had again from rlmx of that version: the guided library was 364,520 of a ~390 KB
    trace for a one-line question (audit 85 v03). Events handed to callbacks keep the code whole."""
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    line = f"# [{name}: {len(text):,} characters, sha256 {digest}; written by reference, not into the trace]"
    _BY_REFERENCE[text] = line
    return line


def by_reference(code: str) -> str:
    """`code` as a trace file holds it: each text given to `write_by_reference` replaced by its line."""
    for text, line in _BY_REFERENCE.items():
        if text in code:
            code = code.replace(text, line)
    return code


class TraceFile:
    """Appends events as JSON lines to one file per completion, flushing each line. The file is its owner's
    alone (0600), and so is a folder this creates for it (0700): a trace quotes the run's context. A cell's code
    is written with rlmx's own long texts by reference (`write_by_reference`)."""

    def __init__(self, path: Path) -> None:
        make_private_folders(path.parent)
        self.path = path
        fd = create_private_file(path)
        self._handle: TextIO | None = os.fdopen(fd, "w", encoding="utf-8")
        self._lock = threading.Lock()
        self.ended = False
        """Whether its `run_end` is written."""
        self.end_if_abandoned: Callable[[], Event] | None = None
        """The `run_end` to write when the process must exit before the run ends (`end_abandoned_traces`)."""
        _OPEN_TRACES.add(self)

    def __call__(self, event: Event) -> None:
        code = event.data.get("code") if event.type == "cell_start" else None
        if isinstance(code, str) and _BY_REFERENCE and (written := by_reference(code)) != code:
            event = replace(event, data={**event.data, "code": written})
        with self._lock:
            self._write(event)

    def _write(self, event: Event) -> None:
        if self._handle is not None and not self.ended:
            self._handle.write(event.to_json() + "\n")
            self._handle.flush()
            self.ended = event.type == "run_end"

    def close(self) -> None:
        with self._lock:
            if self._handle is not None:
                self._handle.close()
                self._handle = None
        _OPEN_TRACES.discard(self)

    def abandon(self, wait: float) -> None:
        """Write the run's `end_if_abandoned` (when its `run_end` is not written yet) and close the file, waiting
        at most `wait` seconds for a write in progress: called where the process ends at once, maybe on the
        thread that holds the lock (a signal handler), which must not wait for itself."""
        if not self._lock.acquire(timeout=wait):
            return
        try:
            make = self.end_if_abandoned
            if make is not None and not self.ended:
                with contextlib.suppress(Exception):  # a half-made ending must not stop the exit
                    self._write(make())
            if self._handle is not None:
                with contextlib.suppress(OSError):
                    self._handle.close()
                self._handle = None
        finally:
            self._lock.release()


_OPEN_TRACES: weakref.WeakSet[TraceFile] = weakref.WeakSet()


def end_abandoned_traces(wait: float = 0.3) -> None:
    """Close every trace still open in this process with its run's `run_end` ("cancelled"), for a process that must
    exit now (`rlmx ask`'s Ctrl-C watchdog: llama.cpp loading a model cannot be stopped, and the run would end after
    the process): without it the trace had no `run_end`, and `rlmx traces` listed the run as running for a day."""
    for trace in list(_OPEN_TRACES):
        trace.abandon(wait)


class Fanout:
    """One emit that hands each event to several subscribers; a failing subscriber never breaks the run."""

    def __init__(self, *subscribers: Emit | None) -> None:
        self.subscribers = [s for s in subscribers if s is not None]
        self.errors: list[str] = []
        self._reported: set[int] = set()
        """The subscribers (by index) whose first error was reported: one warning each per run, not per event."""

    def __call__(self, event: Event) -> None:
        for index, subscriber in enumerate(self.subscribers):
            try:
                subscriber(event)
            except asyncio.CancelledError as exc:
                if _being_cancelled():  # the run's own cancellation, met inside the callback (a nested call)
                    raise
                self._failed(index, subscriber, exc, event)  # raised by the callback itself: its bug, like any
            except Exception as exc:  # a callback's bug must not end the run, nor go unsaid (it did)
                self._failed(index, subscriber, exc, event)

    def _failed(self, index: int, subscriber: Emit, exc: BaseException, event: Event) -> None:
        self.errors.append(f"{type(exc).__name__}: {exc}")
        if index not in self._reported:
            self._reported.add(index)
            _warn_of_failing_subscriber(subscriber, exc, event)


def _being_cancelled() -> bool:
    """Whether the task running now (if any) has a cancellation pending: a CancelledError a callback let through
    is then the task's own, never a callback's bug. A CancelledError a sync callback raised of itself, at a sub-call
    event, ended the task that serves the worker's call: the worker waited for a reply until its hard time limit."""
    try:
        task = asyncio.current_task()
    except RuntimeError:
        return False
    return task is not None and task.cancelling() > 0


def _warn_of_failing_subscriber(subscriber: Emit, exc: BaseException, event: Event) -> None:
    """A RuntimeWarning (on stderr by default) naming the callback, its error and where; the run id makes each
    run's warning its own, so Python's once-per-message filter still shows the next run's."""
    name = getattr(subscriber, "__qualname__", None) or type(subscriber).__qualname__
    with contextlib.suppress(Warning):  # a filter that makes warnings errors must not end the run either
        warnings.warn(
            f"rlmx: the event callback {name} raised {type(exc).__name__}: {exc} at a {event.type} event of "
            f"run {event.run_id}; the run goes on, and the callback's further errors in this run are not reported",
            RuntimeWarning,
            stacklevel=2,
        )


if __name__ == "__main__":
    print(format_markdown(), end="")
