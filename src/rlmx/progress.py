"""The live view of a run: events in, text out, for the CLI's stderr and the server's stream.

Two forms, both reading events only (they never touch the engine):
- `Progress`: one line per event, plain text. Used when stderr is not a terminal, and for the server's stream.
- `LiveTree`: on a terminal, a tree of the run redrawn in place (rich `Live`): each RLM node with its turn and
  what it is doing (waiting for its LM, running a cell, with the cell's first line), the sub-calls in flight, and
  tokens, cost and elapsed time at the top. Lines that matter afterwards (cells, child RLMs, failures, the end)
  are printed above it and stay in the scrollback.

`progress_view(console)` picks the form.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal
from typing import Any, TextIO, TypeVar, cast

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from rlmx.events import BIDI_CONTROLS, Event, json_escaped, strict_json
from rlmx.sandbox import graphemes
from rlmx.sandbox.frames import encodable

_CONTROLS: dict[int, str] = {
    **{code: f"\\x{code:02x}" for code in (*range(0x20), *range(0x7F, 0xA0)) if chr(code) not in "\n\t"},
    **{code: f"\\u{code:04x}" for code in BIDI_CONTROLS},
}


def format_usd(amount: float) -> str:
    """An amount of money as rlmx shows it everywhere (the terminal's lines and live tree; the viewer's `fmtUsd`
    mirrors it): "$0" only for a free run; from a tenth of a cent four decimals ("$0.0104", "$0.0020"); below that two
    significant digits, so a tiny cost never reads as zero ("$0.0000045"); below a millionth of a dollar
    "<$0.000001". Rounded as JavaScript's toPrecision/toFixed round (the exact binary value, halves up), so both
    sides print the same text."""
    if amount == 0:
        return "$0"
    if amount < 0.000001:
        return "<$0.000001"
    exact = Decimal(amount)
    if amount < 0.001:
        return f"${Context(prec=2, rounding=ROUND_HALF_UP).plus(exact).normalize():f}"
    return f"${exact.quantize(Decimal('0.0001'), rounding=ROUND_HALF_UP):f}"


def clock(seconds: float) -> str:
    """`seconds` as the progress clock shows them, minutes:seconds to a tenth ("1:05.3"): rounded once, then split
    (119.96 s read "1:60.0")."""
    tenths = round(max(seconds, 0.0) * 10)
    minutes, tenths = divmod(tenths, 600)
    return f"{minutes}:{tenths // 10:02d}.{tenths % 10}"


def terminal_safe(text: str) -> str:
    """`text` with terminal control characters (C0 and C1 controls and DEL, except newline and tab) shown as
    `\\x1b`-style escapes, so text that came from a prompt, a question or a model cannot move the cursor, clear
    the screen or retitle the terminal it is printed to; and the bidirectional embeddings, overrides and isolates
    (`events.BIDI_CONTROLS`) as `\\u202e`-style escapes, so it cannot show its characters in another order than
    the one they have (CVE-2021-42574, "Trojan Source")."""
    return text if text.isprintable() else text.translate(_CONTROLS)


def json_text(value: Any, *, ascii_only: bool = False) -> str:
    """`value` as indented JSON for stdout, one line end included: valid UTF-8 whatever it holds (a lone surrogate,
    from a file or folder name that is not UTF-8, becomes U+FFFD, never a JSON escape strict parsers refuse);
    values JSON has no type for are written as str(), NaN and infinities as null (`events.strict_json`). C1 controls
    are escaped (`events.json_escaped`): on a terminal they would drive it. `ascii_only`: every other character as a
    JSON escape."""
    return json_escaped(encodable(strict_json(value, ensure_ascii=ascii_only, indent=2, default=str))) + "\n"


def write_json(value: Any, stream: TextIO | None = None) -> None:
    """Write `value` as `json_text` to `stream` (stdout by default). A stream whose encoding is not a Unicode one
    (PYTHONIOENCODING=latin-1, a cp1252 console) gets ASCII with JSON escapes: its codec's own escapes for what it
    cannot encode (`\\xe9`) are not JSON."""
    stream = stream if stream is not None else sys.stdout
    encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "").replace("_", "")
    stream.write(json_text(value, ascii_only=not encoding.startswith("utf")))


class StderrConsole(Console):
    """rlmx's console for what it says on stderr (progress, warnings, errors). When the reader of stderr goes away
    (`rlmx ask ... 2>&1 | head`), it falls silent instead of rich's default, SystemExit(1), which raised inside the
    run from an event's progress line and failed a run that was going well."""

    def __init__(self) -> None:
        super().__init__(stderr=True, soft_wrap=True)  # soft_wrap: never cut at 80 columns in a pipe or a file

    def on_broken_pipe(self) -> None:
        self.quiet = True
        discard_writes_to(sys.stderr)


_T = TypeVar("_T")


class OutputFailed(Exception):
    """Stdout could not take a command's output: closed (`>&-`) or failing (ENOSPC on a full disk, EIO). The CLI's
    `main` turns it into one line on stderr and exit 74; a reader that went away (`| head`) stays BrokenPipeError,
    141."""


class _Stdout:
    """sys.stdout as `StdoutConsole` writes to it: a write or flush that fails other than for a reader that went away
    raises OutputFailed (rich would let the OSError out as a traceback); everything else is sys.stdout's."""

    def __getattr__(self, name: str) -> Any:
        return getattr(sys.stdout, name)

    def write(self, text: str) -> int:
        return on_stdout(lambda out: out.write(text))

    def flush(self) -> None:
        on_stdout(lambda out: out.flush())


def on_stdout(step: Callable[[TextIO], _T]) -> _T:
    """`step(sys.stdout)`, a write of a command's output: OutputFailed when stdout cannot take it (closed at start,
    `>&-`; closed by the program; ENOSPC, EIO), BrokenPipeError as it came when its reader went away (`| head`)."""
    out = sys.stdout
    if out is None:  # Python's stdout when descriptor 1 was closed at start (`>&-`)
        raise OutputFailed("cannot write the output: stdout is closed")
    try:
        return step(out)
    except BrokenPipeError:
        raise
    except OSError as exc:
        discard_writes_to(out)  # what stays buffered must not fail again at the interpreter's exit
        raise OutputFailed(f"cannot write the output to stdout: {exc.strerror or exc}") from None
    except ValueError:  # "I/O operation on closed file"
        raise OutputFailed("cannot write the output: stdout is closed") from None


class StdoutConsole(Console):
    """rlmx's console for a command's output on stdout (`rlmx traces`' table). When its reader goes away (`rlmx
    traces | head`), BrokenPipeError reaches the CLI, which exits 141 as the README says, not rich's SystemExit(1);
    when stdout cannot take it (closed, a full disk), OutputFailed, exit 74."""

    def __init__(self) -> None:
        super().__init__(soft_wrap=True, file=cast(TextIO, _Stdout()))

    def on_broken_pipe(self) -> None:
        raise BrokenPipeError


def discard_writes_to(stream: TextIO) -> None:
    """Point `stream`'s descriptor at /dev/null, once its reader went away: later writes, and the interpreter's last
    flush, go nowhere instead of failing again ("Exception ignored ... BrokenPipeError")."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


def progress_view(console: Console) -> Progress:
    """The live tree when `console` is a terminal, else plain lines."""
    return LiveTree(console) if console.is_terminal else Progress(console)


class Progress:
    """Turns `Event`s into one line each, with the elapsed time of the run. Never redraws anything."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.started: float | None = None
        self.tokens_in = 0
        self.tokens_out = 0
        self.cost_usd = 0.0
        self.unpriced = 0  # billed calls with no known cost: counted as they come, the ledger's count at the end
        self.subcalls = 0
        self.failed_subcalls = 0
        self._cell_subcalls: dict[str, int] = {}
        # The root's error line, held until the next event: the root errs only as its run ends, and when the run's
        # stop reason quotes it, the command's own error line says it (once, with what to do), not this one too.
        self._held_error: tuple[Event, str, str] | None = None

    def __call__(self, event: Event) -> None:
        if self.started is None:
            self.started = event.ts
        if self._held_error is not None and event.type not in ("node_end", "run_end"):
            self._show_held_error()
        self._track(event, event.data)
        if self.shows(event):
            handler = getattr(self, f"_on_{event.type}", None)
            if handler is not None:
                handler(event, event.data)
        if event.type == "cell":
            self._cell_subcalls.pop(event.node_id, None)

    def shows(self, event: Event) -> bool:
        """Whether `event` gets a line (every event does here; the live tree prints fewer)."""
        return True

    def close(self) -> None:
        """Stop redrawing (nothing to do for plain lines); a root error line still held is shown."""
        self._show_held_error()

    def _track(self, event: Event, data: Mapping[str, Any]) -> None:
        if event.type in ("lm_call", "subcall_end", "lm_reply_rejected"):  # each billed request is in one of these
            self.tokens_in += int(data.get("input_tokens") or 0)
            self.tokens_out += int(data.get("output_tokens") or 0)
            self.cost_usd += float(data.get("cost_usd") or 0.0)
            # a billed call (it has tokens: a cache hit has none) whose cost is not known: the line says "+ unpriced"
            # from now on, not only at the run's end
            billed = int(data.get("input_tokens") or 0) + int(data.get("output_tokens") or 0)
            self.unpriced += "cost_usd" in data and data["cost_usd"] is None and billed > 0
        if event.type == "cell_start":
            self._cell_subcalls[event.node_id] = 0
        elif event.type == "subcall_start":
            self.subcalls += 1
            self._cell_subcalls[event.node_id] = self._cell_subcalls.get(event.node_id, 0) + 1
        elif event.type == "subcall_end" and not data.get("ok"):
            self.failed_subcalls += 1

    def line(self, event: Event, text: str, style: str = "", *, indent: int | None = None) -> None:
        elapsed = event.ts - (self.started or event.ts)
        line = Text()
        line.append(f"[{clock(elapsed)}] ", style="dim")
        line.append("  " * (event.depth if indent is None else indent) + terminal_safe(text), style=style)
        self.console.print(line, soft_wrap=True, highlight=False)

    def tokens(self) -> str:
        cost = f" · {format_usd(self.cost_usd)}" if self.cost_usd else ""
        if self.unpriced:
            cost += f" + {_plural(self.unpriced, 'unpriced call')}"
        return f"tokens {self.tokens_in:,} in / {self.tokens_out:,} out{cost}"

    def _on_run_start(self, event: Event, data: dict[str, Any]) -> None:
        contexts = ", ".join(f"{c['name']} ({c['type']}, {c['chars']:,} chars)" for c in data.get("contexts", []))
        models = f"root {data.get('root_model')}, sub {data.get('sub_model')}"
        self.line(event, f"start · {models} · max depth {data.get('max_depth')} · contexts: {contexts or 'none'}")

    def _on_node_start(self, event: Event, data: dict[str, Any]) -> None:
        if event.depth > 0:
            query = " ".join(str(data.get("query", "")).split())
            self.line(event, f"child RLM {event.node_id} starts: {graphemes.head(query, 80)}", "cyan")

    def _on_iteration(self, event: Event, data: dict[str, Any]) -> None:
        self.line(event, f"{_where(event)}turn {data.get('turn')} · asking the root LM")

    def _on_lm_call(self, event: Event, data: dict[str, Any]) -> None:
        tokens_in, tokens_out = int(data.get("input_tokens") or 0), int(data.get("output_tokens") or 0)
        usage = f", {tokens_in:,} in / {tokens_out:,} out" if tokens_in or tokens_out else ""
        self.line(
            event, f"{_where(event)}reply from {data.get('model')} ({data.get('seconds', 0):.1f} s{usage})", "dim"
        )

    def _on_no_code(self, event: Event, data: dict[str, Any]) -> None:
        self.line(event, f"{_where(event)}the reply had no code and no FINAL; asked again", "yellow")

    def _on_reply_overran(self, event: Event, data: dict[str, Any]) -> None:
        ignored = int(data.get("ignored_chars") or 0)
        self.line(event, f"{_where(event)}the reply went on past its turn; {ignored:,} characters not read", "yellow")

    def _on_cell(self, event: Event, data: dict[str, Any]) -> None:
        number = str(data.get("cell_id", "")).rpartition("c")[2]
        status = str(data.get("status"))
        subcalls = self._cell_subcalls.get(event.node_id, 0)
        parts = [f"{_where(event)}turn {data.get('turn')}", f"cell {number} {status} ({data.get('seconds', 0):.2f} s)"]
        if subcalls:
            parts.append(_plural(subcalls, "sub-call"))
        if data.get("finished"):
            parts.append("finished")
        if self.tokens_in or self.tokens_out:  # nothing spent yet (a guided root's first cell): say nothing
            parts.append(self.tokens())
        self.line(event, " · ".join(parts), "green" if status == "ok" else "red")

    def _on_subcall_start(self, event: Event, data: dict[str, Any]) -> None:
        if data.get("kind") == "rlm":
            what = "rlm_query -> child RLM"
        elif data.get("requested") == "rlm":
            what = "rlm_query -> plain sub-call (max depth reached)"
        else:
            what = "llm_query" + (f" ({data['model']})" if data.get("model") else "")
        self.line(
            event, f"-> {data.get('subcall_id')} {what} · {data.get('prompt_chars', 0):,} chars", indent=event.depth + 1
        )

    def _on_subcall_end(self, event: Event, data: dict[str, Any]) -> None:
        seconds = f"{data.get('seconds', 0):.1f} s"
        if data.get("ok"):
            usage = f", {data['input_tokens']:,} in / {data['output_tokens']:,} out" if "input_tokens" in data else ""
            self.line(event, f"<- {data.get('subcall_id')} ok ({seconds}{usage})", indent=event.depth + 1)
        else:
            error = graphemes.head(" ".join(str(data.get("text", "")).split()), 160)
            self.line(event, f"<- {data.get('subcall_id')} failed ({seconds}): {error}", "red", indent=event.depth + 1)

    def _on_tool_call(self, event: Event, data: dict[str, Any]) -> None:
        seconds = f"{data.get('seconds', 0):.2f} s"
        if data.get("ok"):
            self.line(event, f"tool {data.get('name')} ok ({seconds})", indent=event.depth + 1)
        else:
            error = graphemes.head(" ".join(str(data.get("result", "")).split()), 160)
            self.line(event, f"tool {data.get('name')} failed ({seconds}): {error}", "red", indent=event.depth + 1)

    def _on_setup(self, event: Event, data: dict[str, Any]) -> None:
        if data.get("status") != "ok":
            output = graphemes.tail(" ".join(str(data.get("output", "")).split()), 160)
            self.line(event, f"{_where(event)}setup code {data.get('status')}: {output}", "red")

    def _on_subcalls_refused(self, event: Event, data: dict[str, Any]) -> None:
        self.line(
            event,
            f"{_where(event)}{_plural(int(data.get('count') or 0), 'sub-call')} refused: {data.get('reason')}",
            "yellow",
            indent=event.depth + 1,
        )

    def _on_answer_rejected(self, event: Event, data: dict[str, Any]) -> None:
        problems = graphemes.head(" ".join(str(data.get("problems", "")).split()), 160)
        self.line(event, f"{_where(event)}the answer does not match the schema: {problems}", "yellow")

    def _on_final_request(self, event: Event, data: dict[str, Any]) -> None:
        self.line(event, f"{_where(event)}all turns used: asking for a final answer", "yellow")

    def _on_forced_extraction(self, event: Event, data: dict[str, Any]) -> None:
        self.line(event, f"{_where(event)}{data.get('reason')}: one last call asks for the answer", "yellow")

    def _on_error(self, event: Event, data: dict[str, Any]) -> None:
        message = graphemes.head(" ".join(str(data.get("message", "")).split()), 200)
        text = f"{_where(event)}{data.get('error_type')}: {message}"
        if event.depth == 0:
            self._show_held_error()
            self._held_error = (event, text, str(data.get("message") or ""))
        else:
            self.line(event, text, "red")

    def _show_held_error(self) -> None:
        if self._held_error is not None:
            event, text, _ = self._held_error
            self._held_error = None
            self.line(event, text, "red")

    def _on_node_end(self, event: Event, data: dict[str, Any]) -> None:
        if event.depth > 0:
            self.line(
                event,
                f"child RLM {event.node_id} {data.get('status')} in {data.get('seconds', 0):.1f} s "
                f"({_plural(int(data.get('iterations') or 0), 'turn')})",
                "cyan",
            )

    def _on_run_end(self, event: Event, data: dict[str, Any]) -> None:
        reason = self._reason(str(data.get("stop_reason")))  # before close(), which would show a held error
        self.close()
        total = data.get("usage")  # the ledger's totals: also what replies rejected or never answered were billed
        if isinstance(total, dict) and "input_tokens" in total:
            self.tokens_in = int(total.get("input_tokens") or 0)
            self.tokens_out = int(total.get("output_tokens") or 0)
            # cost_usd is null when a call had no price: the priced part, then, and say the rest is unpriced
            known = total.get("cost_usd")
            self.cost_usd = float(total.get("priced_cost_usd") or 0.0) if known is None else float(known)
            self.unpriced = int(total.get("unpriced_calls") or 0)
        status = str(data.get("status"))
        style = {"finished": "bold green", "budget_exhausted": "bold yellow"}.get(status, "bold red")
        failed = f" ({self.failed_subcalls:,} failed)" if self.failed_subcalls else ""
        turns = int(data.get("iterations") or 0)  # a run cut short counts the turn it was in
        # A run cut short inside a turn (Ctrl-C, a crash) did not finish that turn: say which turn it was in.
        cut_short = status in ("cancelled", "error") and turns > 0
        shown = f"stopped in turn {turns}" if cut_short else _plural(turns, "turn")
        self.line(
            event,
            f"{status} · {reason} · {shown} · {_plural(self.subcalls, 'sub-call')}{failed} · {self.tokens()}",
            style,
        )

    def _reason(self, stop_reason: str) -> str:
        """The run's stop reason, and the root's error line held until now: when the reason quotes that error, the
        line is dropped and the reason cut to what failed (`the root LM call failed`), since the command's error
        line, next, says it in full with what to do (an unreachable server's words were written three times)."""
        held, self._held_error = self._held_error, None
        said = held[2] if held is not None else ""
        if said and said in stop_reason:
            return stop_reason.replace(said, "").rstrip(" :;,") or "the error below"
        if held is not None:
            self._held_error = held
            self._show_held_error()
        return stop_reason


# --- the live tree ----------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Node:
    node_id: str
    depth: int
    query: str  # its first 50 characters, as shown
    started: float
    turn: int = 0
    doing: str = "starting its REPL"
    cell: str = ""
    in_flight: int = 0
    done: int = 0
    failed: int = 0
    status: str = ""
    seconds: float = 0.0


_LIVE_LINES = {
    "run_start",
    "node_start",
    "node_end",
    "cell",
    "no_code",
    "reply_overran",
    "setup",
    "subcalls_refused",
    "answer_rejected",
    "final_request",
    "forced_extraction",
    "error",
    "run_end",
}
_SHOWN_CHILDREN = 6


class LiveTree(Progress):
    """On a terminal: the run as a tree redrawn in place, with the lasting lines printed above it.

    Per-sub-call lines are not printed (a run can make thousands); the tree counts them, and a failed one still
    gets its line."""

    def __init__(self, console: Console, *, refresh_per_second: float = 8) -> None:
        super().__init__(console)
        self.nodes: dict[str, _Node] = {}
        self.in_flight = 0
        self.ended = False
        self._live = Live(self, console=console, refresh_per_second=refresh_per_second, transient=True)
        self._spinner = Spinner("dots", style="cyan")
        self._clock_started = time.monotonic()
        # rich redraws from its own thread: the state it reads changes only under this lock (never held while
        # printing, which takes rich's lock: holding both in turn is how a deadlock would start).
        self._state = threading.Lock()

    def __call__(self, event: Event) -> None:
        if not self._live.is_started and not self.ended:
            self._live.start()
        super().__call__(event)

    def shows(self, event: Event) -> bool:
        if event.type in ("subcall_end", "tool_call"):
            return not event.data.get("ok")
        return event.type in _LIVE_LINES

    def close(self) -> None:
        self.ended = True
        if self._live.is_started:
            self._live.stop()
        super().close()

    def _track(self, event: Event, data: Mapping[str, Any]) -> None:
        with self._state:
            super()._track(event, data)
            self._follow(event, data)

    def _follow(self, event: Event, data: Mapping[str, Any]) -> None:
        kind = event.type
        if kind == "node_start":
            # cut before escaping: a cut after it could split a shown escape ("\x1b" as "\x1")
            query = terminal_safe(graphemes.head(" ".join(str(data.get("query", "")).split()), 50))
            self.nodes[event.node_id] = _Node(event.node_id, event.depth, query, time.monotonic())
            return
        node = self.nodes.get(event.node_id)
        if node is None:
            return
        if kind == "sandbox_ready":
            node.doing = "ready"
        elif kind == "iteration":
            node.turn = int(data.get("turn") or 0)
            node.doing, node.cell = "waiting for its LM", ""
        elif kind == "final_request":
            node.doing, node.cell = "asking for the final answer (all turns used)", ""
        elif kind == "forced_extraction":
            node.doing, node.cell = "asking for the answer (a budget ran out)", ""
        elif kind == "cell_start":
            number = str(data.get("cell_id", "")).rpartition("c")[2]
            node.doing, node.cell = f"running cell {number}", terminal_safe(_first_line(str(data.get("code", ""))))
        elif kind == "cell":
            node.doing, node.cell = "cell done", ""
        elif kind == "subcall_start":
            node.in_flight += 1
            self.in_flight += 1
        elif kind == "subcall_end":
            node.in_flight -= 1
            self.in_flight -= 1
            node.done += 1
            node.failed += 0 if data.get("ok") else 1
        elif kind == "node_end":
            node.status = terminal_safe(str(data.get("status")))
            node.seconds = float(data.get("seconds") or 0.0)
            node.doing, node.cell = node.status, ""

    # rich calls this on every refresh, so the elapsed time and the spinner move while nothing happens.
    def __rich__(self) -> RenderableType:
        with self._state:
            return self._render()

    def _render(self) -> RenderableType:
        elapsed = time.monotonic() - self._clock_started
        head = Table.grid(padding=(0, 1))
        head.add_row(
            self._spinner,
            Text.assemble(
                ("rlmx ", "bold"),
                (clock(elapsed), "bold cyan"),
                f" · {self.tokens()} · ",
                (f"sub-calls {self.subcalls:,}", ""),
                (f" ({self.in_flight:,} in flight)" if self.in_flight else "", "bold"),
                (f" · {self.failed_subcalls:,} failed" if self.failed_subcalls else "", "red"),
            ),
        )
        root = next((n for n in self.nodes.values() if n.depth == 0), None)
        if root is None:
            return head
        tree = Tree(self._label(root, "root"), guide_style="dim")
        self._grow(tree, root.node_id)
        return Group(head, tree)

    def _grow(self, branch: Tree, parent_id: str) -> None:
        children = [n for n in self.nodes.values() if n.node_id.rpartition(".")[0] == parent_id]  # ids nest
        running = [n for n in children if not n.status]
        ended = [n for n in children if n.status]
        for child in running[:_SHOWN_CHILDREN]:
            self._grow(branch.add(self._label(child, f"child {child.node_id}")), child.node_id)
        hidden_running = len(running) - min(len(running), _SHOWN_CHILDREN)
        shown_ended = ended[-max(0, _SHOWN_CHILDREN - len(running)) :] if len(running) < _SHOWN_CHILDREN else []
        for child in shown_ended:
            branch.add(self._label(child, f"child {child.node_id}"))
        summary = []
        if hidden_running:
            summary.append(f"{hidden_running} more running")
        if len(ended) > len(shown_ended):
            summary.append(f"{len(ended) - len(shown_ended)} more ended")
        if summary:
            branch.add(Text(" · ".join(summary), style="dim"))

    def _label(self, node: _Node, name: str) -> Text:
        text = Text()
        text.append(name, style="bold" if node.depth == 0 else "cyan")
        if node.status:
            style = {"finished": "green", "budget_exhausted": "yellow"}.get(node.status, "red")
            text.append(f"  {node.status}", style=style)
            text.append(f" · {_plural(node.turn, 'turn')} · {node.seconds:.1f} s", style="dim")
            return text
        if node.turn:
            text.append(f"  turn {node.turn}", style="bold")
        text.append(f" · {node.doing}")
        if node.cell:
            text.append(f": {node.cell}", style="dim")
        if node.in_flight:
            text.append(f" · {node.in_flight:,} sub-call{'s' if node.in_flight != 1 else ''} in flight", style="yellow")
        if node.done:
            failed = f" ({node.failed} failed)" if node.failed else ""
            text.append(f" · {node.done:,} sub-call{'s' if node.done != 1 else ''} done{failed}", style="dim")
        if node.depth > 0 and node.query:
            text.append(f" · {node.query}", style="dim italic")
        return text


def _first_line(code: str) -> str:
    """The cell's first line that says what it does (not a comment, not an import)."""
    lines = [line.strip() for line in code.splitlines() if line.strip() and not line.strip().startswith("#")]
    doing = [line for line in lines if not line.startswith(("import ", "from "))]
    line = (doing or lines or [""])[0]
    return line if len(line) <= 60 else graphemes.head(line, 59) + "…"


def _where(event: Event) -> str:
    """Lines of a child RLM start with its node id (0.1, 0.1.2, ...); the root's have none."""
    return "" if event.depth == 0 else f"{event.node_id} "


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"
