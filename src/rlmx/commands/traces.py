"""`rlmx traces`: list the traces of past runs, prune old ones, write a redacted copy to share.

rlmx traces                        # the newest traces, numbered (rlmx view 1 opens the newest)
rlmx traces --keep 50              # what pruning would delete; add --prune to delete it
rlmx traces --older-than 30 --prune
rlmx traces --redact TRACE         # ./NAME.redacted.jsonl: a copy without content fields (query, code, outputs,
                                   # prompts, replies); TRACE is a file, a number (1 = newest) or a run id
"""

from __future__ import annotations

import argparse
import os
import shlex
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from rlmx.commands.argtypes import count as _count
from rlmx.commands.argtypes import days as _days
from rlmx.commands.argtypes import file_text, folder_path
from rlmx.commands.argtypes import name as _name
from rlmx.errors import InputError
from rlmx.events import record_json, redact_event
from rlmx.progress import StdoutConsole, terminal_safe
from rlmx.sandbox import graphemes
from rlmx.sandbox.frames import escaped
from rlmx.viewer.store import TraceInfo, checked, list_traces, overwrite_problem, read_trace, trace_info

_STATUS_STYLE = {
    "finished": "green",
    "budget_exhausted": "yellow",
    "error": "red",
    "running": "dim",
    "cancelled": "magenta",
}


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        "traces",
        help="list, prune or redact the JSONL traces of past runs",
        description="List the traces of past runs (newest first), delete old ones, or write a copy of one without "
        "its text. Only files that are rlmx traces are ever listed or deleted.",
        epilog="A trace holds the query, the model's replies, the code it ran and that code's output, sub-call "
        "prompts and replies, and the answers: these may quote your context (a context itself appears only as its "
        "name, size and sha256). --redact writes a copy with those fields replaced by their size and sha256.",
    )
    parser.add_argument(
        "--trace-dir",
        metavar="DIR",
        type=folder_path,
        help="the traces folder (default: $XDG_STATE_HOME/rlmx/traces, or ~/.local/state/rlmx/traces)",
    )
    parser.add_argument("--limit", type=_count, default=20, metavar="N", help="list at most N traces (default: 20)")
    parser.add_argument("--json", action="store_true", help="print the list as JSON on stdout")
    prune = parser.add_argument_group("pruning (shows what would be deleted unless --prune is given)")
    prune.add_argument(
        "--keep",
        type=_count,
        metavar="N",
        help="keep the N newest traces, delete the others (with --older-than: "
        "only those of the others older than DAYS)",
    )
    prune.add_argument(
        "--older-than",
        type=_days,
        metavar="DAYS",
        help="delete traces last written more than DAYS days ago (with --keep: never one of the N newest)",
    )
    prune.add_argument("--prune", action="store_true", help="really delete what --keep / --older-than select")
    redact = parser.add_argument_group("sharing")
    redact.add_argument(
        "--redact",
        metavar="TRACE",
        type=_name,
        help="write a copy of TRACE (a file, a number from the list, 1 = newest, or a run id) without its text "
        "(content fields), to ./NAME.redacted.jsonl in the current folder unless --output says where",
    )
    redact.add_argument(
        "--output",
        "-o",
        metavar="FILE",
        type=file_text,
        help="where --redact writes (default: NAME.redacted.jsonl in the current folder; - for stdout)",
    )
    return parser


def trace_dir(args: argparse.Namespace, environ: Mapping[str, str]) -> Path:
    if args.trace_dir is not None:
        if Path(args.trace_dir).is_file():  # else it would be listed as a folder with no traces, and prune none
            raise InputError(f"--trace-dir {args.trace_dir} is a file, not a folder: give the folder the traces are in")
        return Path(args.trace_dir)
    from rlmx.commands.trace_folder import default_trace_dir

    return default_trace_dir(environ)


def folder_option(folder: Path) -> str:
    """` --trace-dir FOLDER` for a command this one suggests, unless FOLDER is the default: without it, the
    suggested `rlmx view 1` or `rlmx traces --prune` would act on the default folder's traces instead."""
    from rlmx.commands.trace_folder import default_trace_dir

    if folder.expanduser().absolute() == default_trace_dir(os.environ).absolute():
        return ""
    return f" --trace-dir {shlex.quote(str(folder))}"


def main(args: argparse.Namespace, environ: Mapping[str, str], err: Console) -> int:
    """Exit 0, or raise InputError (exit 2) for a bad request."""
    if args.redact is not None:
        if args.keep is not None or args.older_than is not None or args.prune:
            raise InputError("--redact writes one copy; run --keep / --older-than / --prune separately")
        return redact(resolve(args.redact, trace_dir(args, environ)), args.output, err)
    if args.output is not None:
        raise InputError("--output goes with --redact TRACE")
    folder = trace_dir(args, environ)
    traces = list_traces(folder)
    if args.keep is not None or args.older_than is not None:
        if args.json:
            raise InputError(
                "--json is for the list; --keep / --older-than print what they delete as text: drop --json"
            )
        return prune(folder, traces, args.keep, args.older_than, delete=args.prune, out=StdoutConsole(), err=err)
    if args.prune:
        raise InputError("--prune needs --keep N or --older-than DAYS (which traces to delete)")
    if args.json:
        from rlmx.cli import write_output_json  # late: cli imports this module

        # The listed ones are read whole (`unreadable_lines`): a damaged trace is not listed as a sound one.
        write_output_json([checked(t).to_dict() for t in traces[: args.limit]])
        return 0
    show_list(traces, folder, StdoutConsole(), limit=args.limit)
    return 0


_MIN_DIGIT_RUN_ID = 6
"""Digits in a TRACE argument that may name a run id's start rather than a number in the list."""


def resolve(spec: str, folder: Path) -> Path:
    """TRACE as given: a file, a number in the folder's list (1 = newest), or a run id (or its start). Run ids are
    hex, so one in sixteen starts with six digits: six digits or more that are no number in the list are read as
    a run id's start; fewer are always a number ("9" with five traces is an error, not a run id starting 9)."""
    path = Path(spec).expanduser()
    if path.is_file():
        if trace_info(path) is None:
            raise InputError(f"{spec} is not an rlmx trace (a .jsonl file written by rlmx)")
        return path
    traces = list_traces(folder)
    matches = [t for t in traces if t.run_id.startswith(spec) or t.name.startswith(spec)]
    if spec.isdigit():  # a number in the list; six digits or more that are not: the start of a (hex) run id
        number = int(spec)
        if 1 <= number <= len(traces):
            return Path(traces[number - 1].path)
        if len(spec) < _MIN_DIGIT_RUN_ID or not matches:
            raise InputError(
                f"there is no trace number {number}: {len(traces)} trace(s) in {folder} "
                f"(see `rlmx traces{folder_option(folder)}`)"
            )
    if len(matches) == 1:
        return Path(matches[0].path)
    if len(matches) > 1:
        raise InputError(_ambiguous(spec, matches))
    raise InputError(f"trace not found: {spec} (not a file, and no run id in {folder} starts with it)")


_NAMED_MATCHES = 5
"""How many of the traces a run id matches an error names; the rest are counted."""


def _ambiguous(spec: str, matches: Sequence[TraceInfo]) -> str:
    """Why `spec` picks no trace, naming the ones it matches and what picks one. More of the run id tells traces
    apart only when their run ids differ: copies of one trace (`cp RUN.jsonl RUN-copy.jsonl`) share the whole id, and
    only a path picks one of them."""
    paths = [shlex.quote(escaped(t.path)) for t in matches[:_NAMED_MATCHES]]
    more = len(matches) - len(paths)
    listed = ", ".join(paths) + (f" and {more:,} more" if more else "")
    one_run = len({t.run_id for t in matches}) == 1 and matches[0].run_id.startswith(spec)
    how = (
        "they are traces of one run: pass the file's path"
        if one_run
        else "give more of the run id, or pass the file's path"
    )
    return f"{spec!r} matches {len(matches):,} traces ({listed}); {how}, e.g. rlmx view {paths[0]}"


def show_list(traces: Sequence[TraceInfo], folder: Path, console: Console, *, limit: int) -> None:
    """The numbered list (1 is the newest), one line per trace, with the folder's total size. The rows shown are read
    whole (`checked`, not every trace in the folder: listing stays fast): one with lines that are not JSON objects
    says how many, as opening it does."""
    if not traces:
        console.print(f"No traces in {escape(str(folder))} yet.", highlight=False)
        return
    width = console.width if console.is_terminal else 160
    console.print(f"[dim]{'#':>3}  {'started':<19}  {'status':<16} {'time':>8} {'size':>8}  question[/dim]")
    damaged = 0
    for number, info in enumerate(map(checked, traces[:limit]), 1):
        seconds = f"{info.seconds:.1f} s" if info.seconds is not None else ""
        question = " ".join(info.query.split())
        if info.session_id:
            question = f"(session {info.session_id} · {info.session_turn}) {question}"
        room = max(20, width - 63)
        question = question if len(question) <= room else graphemes.head(question, room - 1) + "…"
        # Anyone's text (a client of `rlmx serve`, a pasted prompt): its control characters are shown, not obeyed
        # (after the cut, which could otherwise split a shown escape).
        question = escape(terminal_safe(question))
        if info.unreadable_lines:
            damaged += 1
            lines = f"{info.unreadable_lines:,} unreadable line{'s' if info.unreadable_lines != 1 else ''}"
            question = f"[yellow]({lines})[/] {question}"
        style = _STATUS_STYLE.get(info.status, "default")  # an empty one would make "[]...[/]", a markup error
        status = escape(f"{terminal_safe(info.status):<16}")
        console.print(
            f"{number:>3}  {info.started:<19}  [{style}]{status}[/] {seconds:>8} {_size(info.bytes):>8}  {question}",
            highlight=False,
            soft_wrap=True,
        )
    total = sum(t.bytes for t in traces)
    more = f" (the newest {limit} shown)" if len(traces) > limit else ""
    option = escape(folder_option(folder))
    console.print(
        f"{len(traces)} trace{'s' if len(traces) != 1 else ''}, {_size(total)}, in {escape(str(folder))}{more}. "
        f"Open one: rlmx view NUMBER{option}. Delete old ones: rlmx traces{option} --keep N --prune",
        highlight=False,
        soft_wrap=True,
        style="dim",
    )
    if damaged:
        console.print(
            f"{damaged} of them hold lines that are not JSON objects (another program wrote into the trace, or a "
            f"write was cut short): rlmx view NUMBER{option} names them and shows the rest of the run.",
            highlight=False,
            soft_wrap=True,
            style="yellow",
        )


def select_for_pruning(
    traces: Sequence[TraceInfo], keep: int | None, older_than_days: float | None, now: float | None = None
) -> tuple[list[TraceInfo], list[TraceInfo]]:
    """The traces (newest first in `traces`) that every rule given selects, as restic's and journald's keep rules
    combine (what any rule keeps is kept): beyond the `keep` newest AND older than `older_than_days`. Those to
    delete, and those kept because their run is still going (`TraceInfo.is_live`: deleting a trace while its run
    writes it loses the run's whole record)."""
    now = time.time() if now is None else now
    chosen: list[TraceInfo] = []
    live: list[TraceInfo] = []
    for index, info in enumerate(traces):
        if keep is None and older_than_days is None:
            break
        beyond = keep is None or index >= keep
        old = older_than_days is None or now - info.modified > older_than_days * 86_400
        if beyond and old:
            (live if info.is_live(now) else chosen).append(info)
    return chosen, live


def prune(
    folder: Path,
    traces: Sequence[TraceInfo],
    keep: int | None,
    older_than_days: float | None,
    *,
    delete: bool,
    out: Console,
    err: Console,
) -> int:
    """Delete (or, without `delete`, name) the traces `select_for_pruning` picks. The traces, one a line, are the
    answer, on `out` (stdout: `| wc -l` counts them); the totals, the hint and traces kept are diagnostics, on
    `err`."""
    chosen, live = select_for_pruning(traces, keep, older_than_days)
    for info in live:
        shown = escape(terminal_safe(f"{info.name} ({info.started})"))
        err.print(f"  keeping {shown}: its run is still going (no end yet, written to recently)", highlight=False)
    size = _size(sum(t.bytes for t in chosen))
    if not chosen:
        err.print(f"Nothing to delete: {len(traces)} trace(s) in {escape(str(folder))}.", highlight=False)
        return 0
    if not delete:
        # Every one to a pipe or file (a script reads them all); the first ten on a terminal.
        shown_count = 10 if out.is_terminal else len(chosen)
        for info in chosen[:shown_count]:
            state = "no end" if info.status == "running" else info.status  # a run that died without ending it
            shown = escape(terminal_safe(f"{info.name} ({info.started}, {state})"))
            out.print(f"  would delete {shown}", highlight=False, soft_wrap=True)
        if len(chosen) > shown_count:
            out.print(f"  ... and {len(chosen) - shown_count} more", highlight=False)
        err.print(
            f"{len(chosen)} of {len(traces)} traces ({size}) would be deleted. Run again with --prune to delete them.",
            highlight=False,
        )
        return 0
    failed = 0
    for info in chosen:
        try:
            Path(info.path).unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            failed += 1
            err.print(f"rlmx: could not delete {escape(info.path)}: {exc.strerror}", style="red", highlight=False)
            continue
        out.print(
            f"  deleted {escape(terminal_safe(f'{info.name} ({info.started})'))}", highlight=False, soft_wrap=True
        )
    err.print(
        f"Deleted {len(chosen) - failed} trace(s) ({size}); {len(traces) - len(chosen) + failed} left in "
        f"{escape(str(folder))}.",
        highlight=False,
    )
    return 0 if not failed else 4


def redact(path: Path, output: str | None, err: Console) -> int:
    """Write `path` with every content field replaced by its size and sha256 (see rlmx.events)."""
    try:
        events = read_trace(path)
    except FileNotFoundError:
        raise InputError(f"trace not found: {path}") from None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise InputError(str(exc)) from None
    lines = "".join(record_json(redact_event(e)) + "\n" for e in events)
    # A line that is not a JSON object has no fields to redact and may hold text: it is left out of the copy (not
    # copied as is), and the user is told how many and which, so the copy's shorter line count is no surprise.
    note = events.note()
    if note:
        err.print(f"rlmx: {escape(note)} Not in the redacted copy.", style="yellow", highlight=False)
    if output == "-":
        from rlmx.cli import write_output  # late: cli imports this module

        write_output(lines)
        return 0
    # Beside the user, not in the trace folder: a copy to share is not a run of its own.
    target = (Path(output).expanduser() if output else Path(f"{path.stem}.redacted.jsonl")).absolute()
    problem = overwrite_problem(target, path, redacted_copies=True)
    if problem is not None:  # a trace is a run's only record, a user's file theirs: the copy goes over neither
        raise InputError(
            f"{target} {problem}: the copy would be written over it; name another file with -o FILE (or remove it)"
        )
    try:
        target.write_text(lines, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write {target}: {exc.strerror}") from None
    left_out = f"; {events.skipped} unreadable line(s) left out" if events.skipped else ""
    err.print(
        f"rlmx: wrote {escape(str(target))} ({len(events)} events, text fields redacted{left_out})", highlight=False
    )
    return 0


def _size(count: int) -> str:
    value = float(count)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"
