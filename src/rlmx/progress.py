"""The live view of a run: turns Events into one line each, for the CLI's stderr and the server's stream.

Reads events only; it never touches the engine. Plain lines (no colour, no live updates) when not on a terminal.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.status import Status
from rich.text import Text

from rlmx.events import Event


class Progress:
    """The live view: turns `Event`s into one stderr line each (plain lines when stderr is not a terminal)."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.live = console.is_terminal
        self.started: float | None = None
        self.tokens_in = 0
        self.tokens_out = 0
        self.cost_usd = 0.0
        self.subcalls = 0
        self._cell_subcalls: dict[str, int] = {}
        self._spinner: Status | None = None
        self._waiting_for = ""

    def __call__(self, event: Event) -> None:
        if self.started is None:
            self.started = event.ts
        handler = getattr(self, f"_on_{event.type}", None)
        if handler is not None:
            handler(event, event.data)
        if self.live and self._waiting_for and event.type != "run_end":
            self._spin(f"{self._waiting_for} · {self.tokens()}")

    def close(self) -> None:
        if self._spinner is not None:
            self._spinner.stop()
            self._spinner = None

    def line(self, event: Event, text: str, style: str = "", *, indent: int | None = None) -> None:
        elapsed = event.ts - (self.started or event.ts)
        minutes, seconds = divmod(elapsed, 60)
        line = Text()
        line.append(f"[{int(minutes)}:{seconds:04.1f}] ", style="dim")
        line.append("  " * (event.depth if indent is None else indent) + text, style=style)
        self.console.print(line, soft_wrap=True, highlight=False)

    def _spin(self, text: str) -> None:
        if self._spinner is None:
            self._spinner = self.console.status(text)
            self._spinner.start()
        else:
            self._spinner.update(text)

    def tokens(self) -> str:
        cost = f" · ${self.cost_usd:.4f}" if self.cost_usd else ""
        return f"tokens {self.tokens_in:,} in / {self.tokens_out:,} out{cost}"

    def _count(self, data: Mapping[str, Any]) -> None:
        self.tokens_in += int(data.get("input_tokens") or 0)
        self.tokens_out += int(data.get("output_tokens") or 0)
        self.cost_usd += float(data.get("cost_usd") or 0.0)

    def _on_run_start(self, event: Event, data: dict[str, Any]) -> None:
        contexts = ", ".join(f"{c['name']} ({c['type']}, {c['chars']:,} chars)" for c in data.get("contexts", []))
        models = f"root {data.get('root_model')}, sub {data.get('sub_model')}"
        self.line(event, f"start · {models} · max depth {data.get('max_depth')} · contexts: {contexts or 'none'}")

    def _on_node_start(self, event: Event, data: dict[str, Any]) -> None:
        if event.depth > 0:
            query = " ".join(str(data.get("query", "")).split())
            self.line(event, f"child RLM {event.node_id} starts: {query[:80]}", "cyan")

    def _on_iteration(self, event: Event, data: dict[str, Any]) -> None:
        if self.live:
            self._waiting_for = f"{_where(event)}turn {data.get('turn')} · waiting for the root LM"
        else:
            self.line(event, f"{_where(event)}turn {data.get('turn')} · asking the root LM")

    def _on_lm_call(self, event: Event, data: dict[str, Any]) -> None:
        self._count(data)
        self.line(
            event,
            f"{_where(event)}reply from {data.get('model')} ({data.get('seconds', 0):.1f} s, "
            f"{data.get('input_tokens', 0):,} in / {data.get('output_tokens', 0):,} out)",
            "dim",
        )

    def _on_no_code(self, event: Event, data: dict[str, Any]) -> None:
        self.line(event, f"{_where(event)}the reply had no code and no FINAL; asked again", "yellow")

    def _on_cell_start(self, event: Event, data: dict[str, Any]) -> None:
        self._cell_subcalls[event.node_id] = 0
        self._waiting_for = f"running cell {data.get('cell_id')}"

    def _on_cell(self, event: Event, data: dict[str, Any]) -> None:
        number = str(data.get("cell_id", "")).rpartition("c")[2]
        status = str(data.get("status"))
        subcalls = self._cell_subcalls.pop(event.node_id, 0)
        parts = [f"{_where(event)}turn {data.get('turn')}", f"cell {number} {status} ({data.get('seconds', 0):.2f} s)"]
        if subcalls:
            parts.append(_plural(subcalls, "sub-call"))
        if data.get("finished"):
            parts.append("finished")
        parts.append(self.tokens())
        self.line(event, " · ".join(parts), "green" if status == "ok" else "red")

    def _on_subcall_start(self, event: Event, data: dict[str, Any]) -> None:
        self.subcalls += 1
        self._cell_subcalls[event.node_id] = self._cell_subcalls.get(event.node_id, 0) + 1
        if data.get("kind") == "rlm":
            what = "rlm_query -> child RLM"
        elif data.get("requested") == "rlm":
            what = "rlm_query -> plain sub-call (max depth reached)"
        else:
            what = "llm_query" + (f" ({data['model']})" if data.get("model") else "")
        self.line(
            event, f"-> {data.get('subcall_id')} {what} · {data.get('prompt_chars', 0):,} chars", indent=event.depth + 1
        )
        self._waiting_for = f"waiting for sub-calls ({self.subcalls:,} so far)"

    def _on_subcall_end(self, event: Event, data: dict[str, Any]) -> None:
        self._count(data)
        seconds = f"{data.get('seconds', 0):.1f} s"
        if data.get("ok"):
            usage = f", {data['input_tokens']:,} in / {data['output_tokens']:,} out" if "input_tokens" in data else ""
            self.line(event, f"<- {data.get('subcall_id')} ok ({seconds}{usage})", indent=event.depth + 1)
        else:
            error = " ".join(str(data.get("text", "")).split())[:160]
            self.line(event, f"<- {data.get('subcall_id')} failed ({seconds}): {error}", "red", indent=event.depth + 1)

    def _on_final_request(self, event: Event, data: dict[str, Any]) -> None:
        self.line(event, f"{_where(event)}all turns used: asking for a final answer", "yellow")

    def _on_node_end(self, event: Event, data: dict[str, Any]) -> None:
        if event.depth > 0:
            self.line(
                event,
                f"child RLM {event.node_id} {data.get('status')} in {data.get('seconds', 0):.1f} s "
                f"({_plural(int(data.get('iterations') or 0), 'turn')})",
                "cyan",
            )

    def _on_run_end(self, event: Event, data: dict[str, Any]) -> None:
        self.close()
        status = str(data.get("status"))
        style = {"finished": "bold green", "budget_exhausted": "bold yellow"}.get(status, "bold red")
        self.line(
            event,
            f"{status} · {data.get('stop_reason')} · {_plural(int(data.get('iterations') or 0), 'turn')} · "
            f"{_plural(self.subcalls, 'sub-call')} · {self.tokens()}",
            style,
        )


def _where(event: Event) -> str:
    """Lines of a child RLM start with its node id (0.1, 0.1.2, ...); the root's have none."""
    return "" if event.depth == 0 else f"{event.node_id} "


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"
