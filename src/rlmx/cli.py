"""The `rlmx` command line: flags and env vars in, one RLM call out, live progress on stderr.

This is the only module of rlmx that reads environment variables: it resolves flags and env into explicit
objects (LM instances, a Budget, a trace folder) and hands them to the library. The answer goes to stdout;
everything else (progress, the model in use, the trace path, errors) goes to stderr.

Exit codes: 0 finished · 2 usage or input error · 3 a budget ran out (the best answer is still printed) ·
4 the run ended in an error · 5 the LM failed (unreachable server, timeout, rejected request, a model file that
does not load, every sub-call failed) · 130 interrupted (Ctrl-C; a second Ctrl-C quits at once).
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import builtins
import contextlib
import difflib
import io
import json
import keyword
import os
import re
import shlex
import signal
import sys
import threading
import time
import unicodedata
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, Literal, TextIO, TypeVar, cast

from rich.console import Console
from rich.text import Text

from rlmx import __version__, _quiet_start
from rlmx.api_keys import checked_key, trimmed_key
from rlmx.blocking import answers_ctrl_c
from rlmx.budget import MAX_CELL_TIMEOUT, Budget
from rlmx.commands import bench as bench_command
from rlmx.commands import mcp as mcp_command
from rlmx.commands import serve as serve_command
from rlmx.commands import traces as traces_command
from rlmx.commands import view as view_command
from rlmx.commands.argtypes import count as _non_negative_int
from rlmx.commands.argtypes import env_var, file_text, folder_path, user_path, user_path_text
from rlmx.commands.argtypes import positive_int as _positive_int
from rlmx.commands.argtypes import positive_number as _positive_number
from rlmx.commands.argtypes import size as _size
from rlmx.commands.trace_folder import default_trace_dir, no_trace_folder_warning, usable_trace_dir
from rlmx.context import DEFAULT_MAX_CONTEXT_BYTES, module_named, prompt_text, read_files
from rlmx.documents.text import NotText, decode_text, read_text, read_up_to
from rlmx.errors import InputError, LMConnectionError, LMError, LMTimeout, RLMXError
from rlmx.events import Event
from rlmx.extras import missing_extra
from rlmx.lm.base import DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT, LM
from rlmx.missing_path import missing_path
from rlmx.progress import (
    OutputFailed,
    Progress,
    StderrConsole,
    discard_writes_to,
    on_stdout,
    progress_view,
    terminal_safe,
    write_json,
)
from rlmx.result import Result
from rlmx.sandbox import LAUNCHERS
from rlmx.sandbox.frames import RESERVED_NAMES
from rlmx.schema import OutputSchema, SchemaMismatch

if TYPE_CHECKING:
    from rlmx.blocking import LoopFactory
    from rlmx.lm.local import LocalLM
    from rlmx.rlm import RLM

T = TypeVar("T")

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_BUDGET = 3
EXIT_ERROR = 4
EXIT_LM = 5
EXIT_INTERRUPTED = 130
EXIT_PIPE = 141
"""128 + SIGPIPE: what a shell shows for a program whose output's reader went away (`yes | head`)."""
EXIT_OUTPUT = 74
"""sysexits' EX_IOERR: stdout could not take the output (closed with `>&-`, a full disk); the run is in its trace."""

DEFAULT_OPENAI_MODEL = "gpt-5-mini"
DEFAULT_MAX_DEPTH = 1
"""RLM's own default: rlm_query is a plain sub-call unless --max-depth says otherwise."""
EXIT_CODES_HELP = (
    "Exit codes: 0 finished, 2 usage error, 3 budget exhausted (answer still printed), 4 run error, "
    "5 the LM failed (unreachable, a model file that does not load, every sub-call failed), 130 interrupted "
    "(Ctrl-C stops the run; a second Ctrl-C quits at once), 141 the reader of its output went away (| head), 74 "
    "stdout could not be written (closed, a full disk)."
)
STRONGER_MODEL_HINT = "A stronger model is one flag away: --model NAME --base-url URL (or set RLMX_MODEL)."
_EXIT_FOR_STATUS = {"finished": EXIT_OK, "budget_exhausted": EXIT_BUDGET, "error": EXIT_ERROR}


class UsageError(Exception):
    """A bad flag, file or env var: printed as `rlmx: error: ...`, exit code 2."""


# --- arguments ----------------------------------------------------------------------------------------


def _cell_seconds(text: str) -> float:
    """--cell-timeout: a positive number of seconds up to MAX_CELL_TIMEOUT (the REPL's timer takes no more; above
    it every cell failed with OverflowError, audit 82 V01), refused here with the flag's name."""
    value = _positive_number(text)
    if value > MAX_CELL_TIMEOUT:
        raise argparse.ArgumentTypeError(
            f"must be at most {MAX_CELL_TIMEOUT:g} seconds (about 31 years: the REPL's timer takes no more), got {text}"
        )
    return value


def _price(text: str) -> tuple[str, tuple[float, float]]:
    """`MODEL=INPUT,OUTPUT`: a model's list price in USD per million input and output tokens."""
    model, _, numbers = text.rpartition("=")
    parts = numbers.split(",")
    try:
        if not model or len(parts) != 2:
            raise ValueError
        price = (float(parts[0]), float(parts[1]))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected MODEL=INPUT,OUTPUT in USD per million tokens (e.g. my-model=0.25,2.0), got {text!r}"
        ) from None
    if not all(0 <= p < float("inf") for p in price):
        raise argparse.ArgumentTypeError(
            f"prices must be finite numbers, 0 or more (USD per million tokens), got {text!r}"
        )
    return model, price


def _single_dash_slip(parser: argparse.ArgumentParser, args: Sequence[str], *, leading: bool = False) -> str:
    """The error for a long flag written with one dash (`-help`, `-context FILE`, a habit from Go's and Java's tools),
    or "" when there is none. argparse reads `-help` as `-h` given the value `elp` ("ignored explicit argument
    'elp'") and `-context` as an unknown word. Only words whose two-dash form is one of `parser`'s flags count, up to
    a `--`; `leading`: only the flags before the first word that is not one (the top level's, before COMMAND)."""
    flags = [flag for action in parser._actions for flag in action.option_strings if flag.startswith("--")]
    leading = leading or any(isinstance(action, argparse._SubParsersAction) for action in parser._actions)
    for arg in args:
        if arg == "--" or (leading and not arg.startswith("-")):
            break
        name = arg.split("=", 1)[0]
        if len(name) <= 2 or name[0] != "-" or name[1] == "-":
            continue
        if "-" + name in flags:
            return f"{name}: a long flag takes two dashes: -{arg}"
        # a misspelt one (`-contxt`) would be read as a short flag given the rest (`-c ontxt`): not a file name
        close = difflib.get_close_matches("-" + name, flags, n=1, cutoff=0.8) if name[1:].isalpha() else []
        if close:
            return f"{name}: unknown flag (did you mean {close[0]}?)"
    return ""


class _TopParser(argparse.ArgumentParser):
    """The `rlmx` parser: its own flags written with one dash (`rlmx -help`) are named as such (`_single_dash_slip`)."""

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        given = sys.argv[1:] if args is None else args
        slip = _single_dash_slip(self, given, leading=True) or self._unknown_command(given)
        if slip:
            self.error(slip)
        return super().parse_known_args(args, namespace)

    def _unknown_command(self, args: Sequence[str]) -> str:
        """The error for a first word that is no command, with the one it is close to (`rlmx askk` -> ask) or,
        for a question given with no command, the command that takes one; "" when it is a command."""
        commands = next((a.choices for a in self._actions if isinstance(a.choices, dict)), None)
        word = next((arg for arg in args if not arg.startswith("-")), None)
        if not commands or word is None or word in commands:
            return ""
        known = ", ".join(commands)
        close = difflib.get_close_matches(word, list(commands), n=1, cutoff=0.6)
        if close:
            return f"argument COMMAND: invalid choice: {word!r} (did you mean {close[0]!r}? choose from {known})"
        if len(word.split()) > 1:
            return f"argument COMMAND: {word!r} is no command: to ask a question, rlmx ask {shlex.quote(word)} ..."
        return ""


class _CommandParser(argparse.ArgumentParser):
    """The parser of a subcommand (and of theirs: `bench run`). An argument it does not know is its own error,
    shown with its own usage (`usage: rlmx ask QUERY ...`), not passed up for the top-level parser to report with
    `usage: rlmx COMMAND ...`, which names none of the flags the user could have meant. No flag is taken from a
    prefix of it (argparse's default): `--api-key KEY`, a habit from vLLM and llama.cpp, became `--api-key-env KEY`
    and KEY was looked up as a variable; an unknown flag gets a "did you mean" instead."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        slip = _single_dash_slip(self, sys.argv[1:] if args is None else args)
        if slip:
            self.error(slip)
        parsed, extras = super().parse_known_args(args, namespace)
        if extras:
            self.error(f"unrecognized arguments: {' '.join(extras)}{self._did_you_mean(extras, parsed)}")
        return parsed, extras

    def _did_you_mean(self, extras: Sequence[str], parsed: argparse.Namespace) -> str:
        """A flag that is close to an unknown one (`--contxt` -> `--context`), as `--model locl` gets one; for a
        command that takes a QUERY and --context, what its commonest slips meant (`_query_hint`)."""
        flags = [flag for action in self._actions for flag in action.option_strings if flag.startswith("--")]
        if "--api-key-env" in flags and any(extra.split("=", 1)[0] in _KEY_FLAGS for extra in extras):
            return f" ({API_KEY_HINT})"
        query = getattr(parsed, "query", None)
        if "--context" in flags and isinstance(query, str):
            hint = _query_hint(query, extras)
            if hint:
                return hint
        for extra in extras:
            if extra.startswith("--"):
                given = extra.split("=", 1)[0]
                swapped = [flag for flag in flags if sorted(flag) == sorted(given)]  # two letters swapped: --prot
                close = swapped or difflib.get_close_matches(given, flags, n=1, cutoff=0.75)
                if close:
                    return f" (did you mean {close[0]}?)"
        return ""


_KEY_FLAGS = ("--api-key", "--key", "--openai-api-key")
API_KEY_HINT = (
    "rlmx takes the model's key from the environment, never on the command line (where `ps` shows it): export "
    "RLMX_API_KEY=KEY (OPENAI_API_KEY for the OpenAI API), or pass the name of an environment variable holding it "
    "with --api-key-env NAME"
)


def _query_hint(query: str, extras: Sequence[str]) -> str:
    """The slip behind words left over after QUERY: the file given first (`rlmx ask notes.txt "Who?"`), a file
    given without --context (`rlmx ask "Who?" notes.txt`), or a question of several words not quoted
    (`rlmx ask Who wrote it --context notes.txt`). A word after an unknown flag is that flag's value, not the
    question's."""
    words = [word for before, word in zip(["", *extras], extras, strict=False) if not _is_flag(word, before)]
    if not words:
        return ""
    if Path(query).is_file():
        question = shlex.quote(" ".join(words))
        fixed = f"rlmx ask {question} --context {shlex.quote(query)}"
        return f" (QUERY is the file {query}: put the question first, the file after --context: {fixed})"
    named = next((word for word in words if Path(word).exists()), None)
    if named is not None:
        return f" (to read {named}, give it as --context {shlex.quote(named)}; quote a QUERY of several words)"
    whole = shlex.quote(" ".join([query, *words]))
    return f" (quote a QUERY of several words, so that the shell passes it as one: rlmx ask {whole} ...)"


def _is_flag(word: str, before: str) -> bool:
    """Whether a left-over word is an unknown flag, or the value after one (`--contxt notes.txt`)."""
    return word.startswith("-") or (before.startswith("--") and "=" not in before)


def build_parser() -> argparse.ArgumentParser:
    parser = _TopParser(
        prog="rlmx",
        allow_abbrev=False,
        description="Recursive Language Models: the long context lives in a sandboxed REPL, not in the prompt.",
    )
    parser.add_argument("--version", action="version", version=f"rlmx {__version__}")
    commands: argparse._SubParsersAction[argparse.ArgumentParser] = parser.add_subparsers(
        dest="command", metavar="COMMAND", parser_class=_CommandParser
    )
    ask = commands.add_parser(
        "ask",
        help="answer a question over files or folders",
        description="Answer QUERY over the given context files or folders. The answer goes to stdout, "
        "progress to stderr.",
        epilog="Model choice, first match wins: --scripted; --model/--base-url; the env vars RLMX_MODEL "
        "(+ RLMX_BASE_URL, RLMX_API_KEY); OPENAI_API_KEY (uses gpt-5-mini); else the embedded local model. "
        "--model local or local:/path/model.gguf picks the embedded llama.cpp model; its first run writes a "
        "converted copy (about 145 MB) to ~/.cache/rlmx, which may be deleted at any time. " + EXIT_CODES_HELP,
    )
    ask.add_argument("query", metavar="QUERY", help="the question to answer")
    ask.add_argument(
        "--context",
        "-c",
        metavar="PATH",
        action="append",
        default=[],
        type=user_path_text,
        dest="contexts",
        help="a file or folder to answer over, or - for stdin; repeat for several (the first is `context`, the "
        "others are named after their file names). The guided root needs one; other models may answer without",
    )
    ask.add_argument(
        "--file",
        metavar="PATH",
        action="append",
        default=[],
        type=file_text,
        dest="files",
        help="copy this file, read-only, into the REPL's working directory (the model opens it from code); repeat "
        "for several",
    )
    _add_model_arguments(ask)
    _add_limit_arguments(ask)
    output = ask.add_argument_group("output")
    output.add_argument("--json", action="store_true", help="print the full result as JSON on stdout")
    output.add_argument(
        "--output-schema",
        metavar="FILE.json",
        type=_json_file_path,
        help="a JSON Schema the answer must match (the answer is printed as JSON; a run stopped early prints its "
        "best answer only if it matches); needs a model that writes its own code (not the guided root)",
    )
    _add_trace_dir_argument(output)
    output.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr (errors still shown)")
    _add_sandbox_argument(ask)
    serve = commands.add_parser(
        "serve",
        help="serve an RLM as a model over the OpenAI chat completions API",
        description="Serve an RLM over HTTP as an OpenAI-compatible model: POST /v1/chat/completions (plain and "
        "streaming), GET /v1/models, GET /v1/traces/{id}, GET /health. The last user message is the query; the "
        "context comes from the "
        "request's `context`/`contexts` fields, else from the earlier messages. Needs the [server] extra.",
        epilog="Model choice is the same as for `rlmx ask`. The limits are the server's; a request's "
        '`rlmx: {"max_iterations": ...}` field can only tighten them. Without --server-api-key-env there is no '
        "authentication: then keep the default --host 127.0.0.1. Ctrl-C stops it with exit code 130, SIGTERM with 0 "
        "(both after --shutdown-timeout); 2: a bad flag, a port in use or a missing [server] extra.",
    )
    server = serve_command.add_arguments(serve)
    _add_trace_dir_argument(server)
    _add_model_arguments(serve)
    _add_limit_arguments(serve)
    _add_sandbox_argument(serve)
    mcp = commands.add_parser(
        "mcp",
        help="serve an RLM as tools for coding agents over the Model Context Protocol",
        description="Serve MCP tools (rlm_ask, rlm_estimate, rlm_session_start/ask/end) over stdio, or streamable "
        "HTTP with --http. Tools read only files inside the granted folders. Needs the [mcp] extra.",
        epilog="Model choice is the same as for `rlmx ask`; a tool call's `budget` can only tighten the limits. "
        "Claude Code: claude mcp add rlmx -- rlmx mcp --allow /path/to/project",
    )
    mcp_options = mcp_command.add_arguments(mcp)
    _add_trace_dir_argument(mcp_options)
    _add_model_arguments(mcp)
    _add_limit_arguments(mcp)
    _add_sandbox_argument(mcp)
    doctor = commands.add_parser(
        "doctor",
        help="show what each sandbox tier protects on this machine",
        description="Start each sandbox tier once and print the protections it reports (the same report every "
        "trace records in its sandbox_ready event).",
    )
    doctor.add_argument("--json", action="store_true", help="print the full report as JSON on stdout")
    view_command.add_parser(commands)
    traces_command.add_parser(commands)
    bench_command.add_parser(commands)
    return parser


def _add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """The model flags of every command that runs an RLM; `plan_models` reads them."""
    models = parser.add_argument_group("model")
    models.add_argument(
        "--model",
        "-m",
        metavar="NAME",
        help="model name on an OpenAI-compatible server, or `local` / `local:/path/model.gguf` for the embedded model",
    )
    models.add_argument("--base-url", metavar="URL", help="OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1")
    models.add_argument("--api-key-env", type=env_var, metavar="VAR", help="name of the env var holding the API key")
    models.add_argument(
        "--scripted",
        metavar="FILE.json",
        type=_json_file_path,
        help='replay scripted replies (for tests and demos): a JSON list of strings, or {"root": [...], "sub": [...]}',
    )
    models.add_argument(
        "--root",
        choices=("guided", "lm"),
        help="who writes the root's code: `lm` (the model itself; the default for server models; a local GGUF "
        "must be given by path, the embedded SmolLM2 cannot) or `guided` (a fixed recipe driving the model; the "
        "default for local models)",
    )
    models.add_argument(
        "--threads",
        type=_positive_int,
        metavar="N",
        help="CPU threads of a local model (default: $RLMX_THREADS, else the idle cores when it loads: the cores "
        "minus the load average, 1 to 4)",
    )
    models.add_argument(
        "--lm-timeout",
        type=_positive_number,
        metavar="S",
        help=f"seconds a server model may take to answer one request before it is sent again (default: "
        f"{DEFAULT_TIMEOUT:g}); raise it for a local server on CPU or a reasoning model that does not stream",
    )
    models.add_argument(
        "--lm-retries",
        type=_non_negative_int,
        metavar="N",
        help=f"times a server model's request is sent again after a timeout, a broken connection, a rate limit "
        f"or a 5xx (default: {DEFAULT_MAX_RETRIES})",
    )


def _json_file_path(text: str) -> Path:
    """A JSON file's path; an empty one (`--scripted "$UNSET"`) is refused as empty, not read as the folder `.`."""
    if not text.strip():
        raise argparse.ArgumentTypeError("the file name is empty: give the path of a JSON file")
    return user_path(text)


def _add_limit_arguments(parser: argparse.ArgumentParser) -> None:
    """The budget flags of every command that runs an RLM; `_budget` reads them."""
    limits = parser.add_argument_group("limits")
    defaults = Budget()
    limits.add_argument(
        "--max-depth",
        type=_positive_int,
        metavar="N",
        help="recursion depth (1: rlm_query is a plain sub-call; 2: it starts a child RLM) "
        f"(default: {DEFAULT_MAX_DEPTH})",
    )
    limits.add_argument(
        "--max-iterations",
        type=_positive_int,
        metavar="N",
        help=f"turns per RLM node (default: {defaults.max_iterations})",
    )
    limits.add_argument(
        "--max-seconds",
        type=_positive_number,
        metavar="S",
        help="wall-clock budget of the run; running cells and LM calls are stopped (default: none)",
    )
    limits.add_argument(
        "--max-tokens", type=_positive_int, metavar="N", help="token budget of the whole run (default: none)"
    )
    limits.add_argument(
        "--max-tokens-per-call",
        type=_positive_int,
        metavar="N",
        help="output cap of each LM call, sent as max_tokens when --max-tokens or --max-usd is set "
        f"(default: {defaults.max_tokens_per_call}; lower it for servers with a small context window)",
    )
    limits.add_argument(
        "--max-subcalls",
        type=_non_negative_int,
        metavar="N",
        help="sub-calls (llm_query, rlm_query); 0 allows none (default: none)",
    )
    limits.add_argument(
        "--max-usd", type=_positive_number, metavar="USD", help="spending budget of the run in USD (default: none)"
    )
    limits.add_argument(
        "--price",
        type=_price,
        action="append",
        metavar="MODEL=IN,OUT",
        help="a model's price in USD per million input and output tokens, for --max-usd and the cost shown; "
        "overrides the bundled price database (repeatable)",
    )
    limits.add_argument(
        "--cell-timeout",
        type=_cell_seconds,
        metavar="S",
        help=f"time limit of one REPL cell in seconds (default: {defaults.cell_timeout:g})",
    )
    limits.add_argument(
        "--max-context-bytes",
        type=_size,
        metavar="SIZE",
        help="bytes of context (UTF-8, all files together) a run may load, e.g. 200M (default: 1G)",
    )


def _add_trace_dir_argument(group: argparse._ArgumentGroup) -> None:
    group.add_argument(
        "--trace-dir",
        metavar="DIR",
        type=folder_path,
        help="where JSONL traces go (default: $XDG_STATE_HOME/rlmx/traces, or ~/.local/state/rlmx/traces)",
    )


def _add_sandbox_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--sandbox",
        choices=tuple(LAUNCHERS),
        default="subprocess",
        help="where the REPL runs: subprocess (default; a child process with rlimits), isolated (bubblewrap or "
        "Landlock plus seccomp; refuses to run if a protection is missing), inprocess (UNSAFE, debugging only), "
        "docker (one container per REPL; needs a running Docker engine)",
    )


# --- contexts -----------------------------------------------------------------------------------------


STDIN = "-"
"""The --context value that reads the context from standard input."""

_URL = re.compile(r"[a-z][a-z0-9+.-]*://", re.IGNORECASE)

ContextValue = Path | str
"""A context the CLI passes on: a file or folder Path, or the text read from stdin."""


def context_arguments(
    paths: Sequence[str], read_stdin: Callable[[], str] | None = None, max_bytes: int = DEFAULT_MAX_CONTEXT_BYTES
) -> tuple[ContextValue | None, dict[str, ContextValue]]:
    """`context` (the first path) and the other paths named after their file stems, made into free identifiers.
    `-` is standard input (once), read with `read_stdin` (default: at most about `max_bytes` of text, the context
    bytes a call may load) and named `stdin` when it is not the first."""
    for raw in paths:
        if raw != STDIN and not Path(raw).exists():
            if _URL.match(raw):
                raise UsageError(
                    f"context {raw} is a URL: rlmx reads local files only and fetches nothing; download it first "
                    "(e.g. curl -o page.html URL) and give the file"
                )
            raise UsageError(missing_path(raw, "context file"))
    if paths.count(STDIN) > 1:
        raise UsageError("--context - (standard input) can be given only once")
    _refuse_a_file_given_twice([raw for raw in paths if raw != STDIN])
    if not paths:
        return None, {}
    values: dict[str, ContextValue] = {
        raw: (read_stdin or (lambda: _read_stdin(max_bytes)))() if raw == STDIN else Path(raw)
        for raw in dict.fromkeys(paths)
    }
    taken = {"context"}
    named: dict[str, ContextValue] = {}
    for raw in paths[1:]:
        path = Path(raw)
        stem = path.resolve().stem if path.name in ("", ".", "..") else path.stem
        name = _free_name(_identifier("stdin" if raw == STDIN else stem), taken)
        taken.add(name)
        named[name] = values[raw]
    return values[paths[0]], named


def _refuse_a_file_given_twice(paths: Sequence[str]) -> None:
    """A UsageError when two context paths read one file: by another spelling (./a.md, a symlink), a hard link, or a
    folder and a file (or subfolder) it holds. Files are the same by (device, inode), as `read_files` lists what
    each path reads: the file would be loaded twice and every count over it doubled."""
    owners: dict[tuple[int, int], tuple[str, str | None]] = {}  # a file: the first path reading it, where in it
    for raw in paths:
        reads = read_files(Path(raw))
        for key, where in reads.items():
            if key not in owners:
                continue
            first, first_where = owners[key]
            spelt = raw if first == raw else f"{first} and {raw}"
            if first_where is None and where is None:
                said = f"context file {spelt} is given twice (a repeated --context, a glob that names it again, a link)"
            elif first_where == "" and where == "":
                said = f"context folder {spelt} is given twice"
            elif first_where is None:
                said = f"context file {first} is given twice: context folder {raw} holds it too (as {where})"
            elif where is None:
                said = f"context file {raw} is given twice: context folder {first} holds it too (as {first_where})"
            else:
                said = f"context folders {first} and {raw} hold one file ({first_where} in {first}, {where} in {raw})"
            raise UsageError(f"{said}: it would be loaded twice and every count over it doubled; give each file once")
        for key, where in reads.items():
            owners.setdefault(key, (raw, where))


_STDIN_CHUNK = 1 << 20
_WIDE_BOMS = (b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")
"""UTF-16 (either order) and UTF-32 byte order marks: text of CJK characters in UTF-16 holds no NUL byte."""


def _read_stdin(max_bytes: int) -> str:
    """Standard input's text, read up to the context limit: an endless input (`/dev/zero`, `tail -f`) or one over
    --max-context-bytes is refused once it passes the limit, never held whole first. A wide encoding (UTF-16/32,
    NULs in its first chunk) may take up to 4 bytes per UTF-8 byte of its text; the exact limit is checked on the
    text, as for any context."""
    if sys.stdin is None:
        raise UsageError("--context -: there is no standard input to read")
    if sys.stdin.isatty():
        _print_stderr("rlmx: reading the context from standard input; end it with Ctrl-D")
    chunks: list[bytes] = []
    held, cap = 0, max_bytes
    try:
        while chunk := sys.stdin.buffer.read(_STDIN_CHUNK):
            if not chunks and (chunk.startswith(_WIDE_BOMS) or b"\0" in chunk):
                cap = 4 * max_bytes
            chunks.append(chunk)
            held += len(chunk)
            if held > cap:
                raise UsageError(
                    f"--context -: standard input holds more than the limit of {max_bytes:,} context bytes per call; "
                    "pass a smaller part, or raise the limit with --max-context-bytes"
                )
        data = b"".join(chunks)
    except MemoryError:
        raise UsageError(
            f"--context -: standard input ({held:,} bytes read so far) does not fit in memory; save it to a file and "
            "pass the file (--context FILE), or pass a smaller part"
        ) from None
    del chunks
    try:
        return decode_text(data)  # as files are read (PowerShell pipes UTF-16 with a BOM)
    except NotText as exc:
        raise UsageError(f"--context -: standard input is not UTF-8 text ({exc}); convert it first") from None


_BLANK_DOCUMENT_CHECK = 4 * 2**20
"""The largest document (DOCX, HTML, JSON, CSV) loaded once more to see whether it holds any text: an empty one
(scanned pages pasted into Word, a CSV of only its header) is a file of many bytes and no words."""


def _is_blank(value: ContextValue) -> bool:
    """An empty context: no text, a file holding only whitespace, or a document that loads to no text (checked
    cheaply: big files are not read; a PDF without text is refused when it is prepared, saying to run OCR)."""
    if isinstance(value, str):
        return not value.strip()
    if not value.is_file():
        return False  # a folder without text, a device or a FIFO: refused (without reading) when it is prepared
    try:
        size = value.stat().st_size
        if size < 65536:  # 0 too: /proc and /sys files say 0 and hold text (/proc/cpuinfo), so it is read
            # non-blocking, as the loader reads: a file that would block (/proc/kmsg) is the loader's to judge
            descriptor = os.open(value, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
            with os.fdopen(descriptor, "rb", buffering=0) as handle:
                if not read_up_to(handle, 65536).strip():
                    return True
    except OSError:
        return False  # unreadable: the context loader says so
    from rlmx import documents

    suffix = value.suffix.lower()
    # a PDF without text is refused when prepared (run OCR); a CSV's one line may be its header or its one record
    if documents.loader_for(value) is None or suffix in (".pdf", ".csv", ".tsv") or size > _BLANK_DOCUMENT_CHECK:
        return False
    try:
        return documents.holds_no_text(documents.load(value, size).value)
    except InputError:
        return False  # refused, saying why, when it is prepared


def _identifier(stem: str) -> str:
    # NFKC first: Python reads `ﬁndings` and `ｎｏｔｅｓ` as `findings` and `notes`, so a context may only be named so.
    # Every character a Python name may hold is kept (`हिन्दी`: its vowel signs are no \w, yet part of a name); each
    # run of the others becomes one `_` (a space is never part of a name: it marks them here).
    kept = "".join(char if f"_{char}".isidentifier() else " " for char in unicodedata.normalize("NFKC", stem))
    name = re.sub(" +", "_", kept).strip("_") or "ctx"
    taken = name in RESERVED_NAMES or hasattr(builtins, name) or bool(module_named(name))  # `re.txt`: `import re`
    if not name.isidentifier() or keyword.iskeyword(name) or taken:  # `2024.txt`, a name led by a vowel sign
        name = f"ctx_{name}"
    return name


def _free_name(name: str, taken: set[str]) -> str:
    if name not in taken:
        return name
    number = 2
    while f"{name}_{number}" in taken:
        number += 1
    return f"{name}_{number}"


# --- models -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ModelPlan:
    """Which LMs to build, decided from flags and env without constructing (or loading) anything."""

    kind: Literal["scripted", "local", "openai"]
    root: Literal["guided", "lm"]
    source: str
    """Where the choice came from: --scripted, --model, RLMX_MODEL, OPENAI_API_KEY or default."""
    model: str | None = None
    """The model name (openai) or the model file (local; None for the bundled one)."""
    base_url: str | None = None
    url_source: str = ""
    """Where the server's URL came from (--base-url, RLMX_BASE_URL, OPENAI_BASE_URL), for advice when it cannot be
    reached; empty for the OpenAI API's own."""
    api_key: str | None = field(default=None, repr=False)
    root_replies: tuple[str, ...] = ()
    sub_replies: tuple[str, ...] | None = None
    """Scripted replies for sub-calls; None when root and sub-calls share one script."""
    threads: int | None = None
    """CPU threads of a local model (--threads or RLMX_THREADS); None for LocalLM's default."""
    timeout: float | None = None
    """Seconds a server model may take per request (--lm-timeout); None for OpenAICompatibleLM's default."""
    retries: int | None = None
    """Re-sends of a server model's failed request (--lm-retries); None for OpenAICompatibleLM's default."""
    unused: str = ""
    """What the environment set that this choice leaves unused, and how to use it (said with the model)."""

    @property
    def embedded(self) -> bool:
        """The bundled local model (SmolLM2-135M), too small to write RLM code (CANNOT_WRITE_CODE)."""
        return self.kind == "local" and self.model is None


CANNOT_WRITE_CODE = (
    "needs a model that can write RLM code, and the embedded SmolLM2-135M cannot (it would spend every turn on "
    "replies that do not run)"
)


def plan_models(args: argparse.Namespace, environ: Mapping[str, str]) -> ModelPlan:
    """Resolve flags and env into a ModelPlan. Raises UsageError for inconsistent or missing settings."""
    plan = _plan_models(args, environ)
    if plan.kind != "local" and getattr(args, "threads", None) is not None:  # said, not silently dropped
        note = f"--threads {args.threads} is used only by the embedded model (local), not by this one"
        plan = replace(plan, unused=". ".join(filter(None, [plan.unused, note])))
    server_flags = {"--lm-timeout": getattr(args, "lm_timeout", None)}
    server_flags["--lm-retries"] = getattr(args, "lm_retries", None)
    if plan.kind == "openai":
        plan = replace(plan, timeout=server_flags["--lm-timeout"], retries=server_flags["--lm-retries"])
    else:
        given = [f"{flag} {value:g}" for flag, value in server_flags.items() if value is not None]
        if given:
            note = f"{' and '.join(given)} {'is' if len(given) == 1 else 'are'} used only by a server model (--model "
            note += "NAME --base-url URL), not by this one"
            plan = replace(plan, unused=". ".join(filter(None, [plan.unused, note])))
    if plan.kind == "local":
        plan = _with_threads(plan, args, environ)
        if plan.root == "lm" and plan.embedded:
            raise UsageError(
                f"--root lm {CANNOT_WRITE_CODE}. Use the guided root (drop --root lm), or give a bigger model: "
                "--model local:/path/model.gguf --root lm, or --model NAME --base-url URL"
            )
    return plan


def _with_threads(plan: ModelPlan, args: argparse.Namespace, environ: Mapping[str, str]) -> ModelPlan:
    threads: int | None = getattr(args, "threads", None)
    if threads is None and environ.get("RLMX_THREADS", "").strip():
        raw = environ["RLMX_THREADS"].strip()
        if not raw.isdigit() or int(raw) < 1:
            raise UsageError(f"RLMX_THREADS must be a whole number of at least 1, got {raw!r}")
        threads = int(raw)
    if threads is not None:
        from rlmx.lm.local import available_cores  # lazy: the module is large, and only a local model needs it

        cores = available_cores()
        if threads > cores:  # said, not refused: the cores may be counted short inside some containers
            given = "RLMX_THREADS" if getattr(args, "threads", None) is None else "--threads"
            note = (
                f"{given} {threads} is more than the {cores} CPU core{'s' if cores != 1 else ''} this process may "
                "use: llama.cpp's threads wait for each other at every step, so it runs far slower; leave it out to "
                "use the idle cores"
            )
            plan = replace(plan, unused=". ".join(filter(None, [plan.unused, note])))
    return replace(plan, threads=threads)


def _plan_models(args: argparse.Namespace, environ: Mapping[str, str]) -> ModelPlan:
    if args.scripted is not None:
        root_replies, sub_replies = _load_script(args.scripted)
        return ModelPlan(
            "scripted", args.root or "lm", "--scripted", root_replies=root_replies, sub_replies=sub_replies
        )
    if args.model is not None or args.base_url is not None:  # given empty (`--model "$UNSET"`) is refused, not unset
        base_url = None if args.base_url is None else _check_base_url(args.base_url, "--base-url")
        if args.model is None:
            raise UsageError("--base-url needs --model NAME (the model name the server serves)")
        return _named_model(
            args.model,
            base_url,
            ("--model", "--base-url"),
            args,
            environ,
            api_key=lambda: _flag_model_key(args, environ),
        )
    if environ.get("RLMX_MODEL"):
        return _named_model(
            environ["RLMX_MODEL"],
            environ.get("RLMX_BASE_URL") or None,
            ("RLMX_MODEL", "RLMX_BASE_URL"),
            args,
            environ,
            api_key=lambda: None if args.api_key_env else _key_in(environ, "RLMX_API_KEY"),
        )
    if environ.get("RLMX_BASE_URL"):
        raise UsageError("RLMX_BASE_URL is set but RLMX_MODEL is not: set RLMX_MODEL to the model name it serves")
    openai_key = None if args.api_key_env else _key_in(environ, "OPENAI_API_KEY")
    if args.api_key_env or openai_key is not None:
        if environ.get("OPENAI_BASE_URL"):
            _check_base_url(environ["OPENAI_BASE_URL"], "OPENAI_BASE_URL")
        return ModelPlan(
            "openai",
            args.root or "lm",
            "--api-key-env" if args.api_key_env else "OPENAI_API_KEY",
            model=DEFAULT_OPENAI_MODEL,
            url_source="OPENAI_BASE_URL" if environ.get("OPENAI_BASE_URL") else "",
            api_key=_api_key(args, environ, None, fallback=openai_key),
        )
    unused = [
        "OPENAI_API_KEY is set but empty, so it names no key and the OpenAI API is not used"
        if "OPENAI_API_KEY" in environ
        else "",
        f"OPENAI_BASE_URL ({environ['OPENAI_BASE_URL']}) is set but is used only with OPENAI_API_KEY; for a server "
        "that needs no key give --model NAME --base-url URL, or set RLMX_MODEL and RLMX_BASE_URL"
        if environ.get("OPENAI_BASE_URL")
        else "",
        "RLMX_API_KEY is set but names no model: give --model NAME (with --base-url URL), or set RLMX_MODEL"
        if trimmed_key(environ.get("RLMX_API_KEY", ""))
        else "",
    ]
    return ModelPlan("local", args.root or "guided", "default", unused=". ".join(filter(None, unused)))


def _flag_model_key(args: argparse.Namespace, environ: Mapping[str, str]) -> str | None:
    """The key for a model named by --model (unless --api-key-env names one): RLMX_API_KEY, rlmx's own, for a
    server at --base-url; for the OpenAI API (no --base-url) OPENAI_API_KEY first, as the SDK reads it."""
    if args.api_key_env:
        return None  # `_api_key` reads the variable it names, and only that one
    if args.base_url is None and (key := _key_in(environ, "OPENAI_API_KEY")) is not None:
        return key
    return _key_in(environ, "RLMX_API_KEY")


def _key_in(environ: Mapping[str, str], variable: str, given: str = "") -> str | None:
    """The API key in environment `variable` as it is sent (`api_keys.checked_key`); None when it is unset or holds
    nothing but blanks (`export OPENAI_API_KEY=$UNSET_VAR` gives no key, as unset does: "Bearer " went out with
    nothing after it). Raises UsageError naming the variable (and `given`, the flag that named it) for a key no
    header can carry."""
    raw = environ.get(variable)
    if raw is None:
        return None
    try:
        return checked_key(raw, f"the API key in {variable}{given}") or None
    except InputError as exc:
        raise UsageError(str(exc)) from None


def _named_model(
    spec: str,
    base_url: str | None,
    sources: tuple[str, str],
    args: argparse.Namespace,
    environ: Mapping[str, str],
    *,
    api_key: Callable[[], str | None],
) -> ModelPlan:
    """The plan for a model named by `sources` (the model's flag or variable, and its base URL's); `api_key` reads
    the key that goes with them, for a server's model only (a local one leaves every key variable unread)."""
    source, url_source = sources
    if not spec.strip():
        raise UsageError(
            f"{source} is empty: give a model name (a server's model with --base-url URL, a model of the OpenAI "
            "API with OPENAI_API_KEY set, or local / local:/path/model.gguf)"
        )
    spec = spec.strip()  # a `.env` line's trailing space is no part of the name a server would be asked for
    if spec == "local" or spec.startswith("local:"):
        if base_url is not None:  # the user meant a server; the embedded model would answer in its place
            raise UsageError(
                f"{url_source} does not apply to {source} {spec}, which runs in this process: for a model on that "
                f"server give its name ({source} NAME), or drop {url_source} for the local model"
            )
        path = spec.partition(":")[2] or None
        if path is not None and not Path(path).expanduser().is_file():
            raise UsageError(_not_a_model_file(path, f"{source} {spec}"))
        return ModelPlan("local", args.root or "guided", source, model=path)
    if base_url is None:
        _check_not_a_typo(spec, source)
        if environ.get("OPENAI_BASE_URL"):  # the server the model is then asked at, as the SDK reads it
            _check_base_url(environ["OPENAI_BASE_URL"], "OPENAI_BASE_URL")
    else:
        base_url = _check_base_url(base_url, url_source)
    fallback = api_key()
    if fallback is None and base_url is None and not args.api_key_env:
        fallback = _key_in(environ, "OPENAI_API_KEY")  # the OpenAI API itself, as the SDK would read it
    return ModelPlan(
        "openai",
        args.root or "lm",
        source,
        model=spec,
        base_url=base_url,
        url_source=url_source if base_url is not None else "OPENAI_BASE_URL" if environ.get("OPENAI_BASE_URL") else "",
        api_key=_api_key(args, environ, base_url, fallback=fallback, named=(spec, source)),
    )


def _check_base_url(url: str, source: str) -> str:
    """`url` without surrounding blanks (an env file's `RLMX_BASE_URL=http://host/v1 ` line), as the model name,
    the keys and RLMX_THREADS are trimmed, and as OpenAICompatibleLM trims its base_url. Raises UsageError, naming
    where it came from (--base-url, RLMX_BASE_URL, OPENAI_BASE_URL), for a base URL the model could not be asked
    at: the client's own check (`base_url_problem`), run before anything starts."""
    if not url.strip():
        raise UsageError(f"{source} is empty: give the server's URL, like http://localhost:8000/v1")
    from rlmx.lm.openai import base_url_problem  # late: it loads aiohttp, needed only for a server's model

    if problem := base_url_problem(url):
        raise UsageError(f"{source} {problem}")
    return url.strip()


_SHOWN_GGUF_FILES = 5


def _not_a_model_file(path: str, given: str) -> str:
    """Why `local:PATH` names no model file: nothing there, or a folder (a Hugging Face download leaves one), with
    the GGUF files in it to choose from."""
    folder = Path(path).expanduser()
    if not folder.is_dir():
        return f"{missing_path(folder, 'model file')} (from {given})"
    found = sorted(found.name for found in folder.glob("*.gguf") if found.is_file())
    if not found:
        return f"{path} is a folder with no .gguf file in it (from {given}); give the GGUF model file: local:FILE.gguf"
    if len(found) == 1:
        return f"{path} is a folder (from {given}); give the model file in it: local:{folder / found[0]}"
    shown = ", ".join(found[:_SHOWN_GGUF_FILES]) + (", ..." if len(found) > _SHOWN_GGUF_FILES else "")
    return (
        f"{path} is a folder (from {given}); give one of its {len(found)} .gguf files: local:{folder}/NAME.gguf "
        f"({shown})"
    )


def _check_not_a_typo(spec: str, source: str) -> None:
    """Refuse a model spec that is almost surely a misspelt `local` or a bare GGUF path, before it is sent to the
    OpenAI API (which would fail with "no API key" or "model not found")."""
    prefix, colon, rest = spec.partition(":")
    word = prefix.lower()
    if prefix != "local" and (word == "local" or difflib.get_close_matches(word, ["local"], n=1, cutoff=0.7)):
        suggestion = f"local:{rest}" if colon else "local"
        raise UsageError(
            f"unknown model {spec!r} (from {source}): did you mean `{suggestion}`? "
            "(a server's model name needs --base-url URL, or OPENAI_API_KEY for the OpenAI API)"
        )
    if spec.lower().endswith(".gguf") and not word.startswith("http"):
        raise UsageError(f"{source} {spec}: a GGUF file is given as local:PATH; did you mean `local:{spec}`?")


def _api_key(
    args: argparse.Namespace,
    environ: Mapping[str, str],
    base_url: str | None,
    *,
    fallback: str | None,
    named: tuple[str, str] | None = None,
) -> str | None:
    """The key to send; UsageError when the OpenAI API would be asked with none. `named`: the model and the flag
    or variable that named it, for the message (a stale RLMX_MODEL or a misspelt --model is half the cause)."""
    if args.api_key_env:
        key = _key_in(environ, args.api_key_env, " (named by --api-key-env)")
        if key is None:
            raise UsageError(_unset_key_variable(args.api_key_env))
        return key
    if fallback is None and base_url is None:
        server_key = ""
        if getattr(args, "server_api_key", None):  # `serve` also takes it as --api-key; `mcp --http` does not
            alias = ", alias --api-key," if args.command == "serve" else ""
            server_key = " " + SERVER_KEY_NOTE.format(alias=alias)
        # RLMX_BASE_URL goes with RLMX_MODEL: a --model names its server with --base-url (or the OpenAI API)
        unused = (
            f" (RLMX_BASE_URL, {environ['RLMX_BASE_URL']}, is used only with RLMX_MODEL: with --model, give --base-url)"
            if environ.get("RLMX_BASE_URL") and getattr(args, "model", None) is not None
            else ""
        )
        empty = [name for name in ("OPENAI_API_KEY", "RLMX_API_KEY") if name in environ]  # set, but blank
        where = f"{' and '.join(empty)} {'is' if len(empty) == 1 else 'are'} empty: " if empty else ""
        # OPENAI_BASE_URL, as the SDK reads it, is where the model would be asked: name that server, not OpenAI's
        target = (
            f"the server at {environ['OPENAI_BASE_URL']} (from OPENAI_BASE_URL)"
            if environ.get("OPENAI_BASE_URL")
            else "the OpenAI API"
        )
        hint = "" if environ.get("OPENAI_BASE_URL") or not named else _openai_model_hint(named[0])
        model = f" (model {named[0]}, from {named[1]}{hint})" if named else ""
        raise UsageError(
            f"no API key for {target}{model}: {where}set OPENAI_API_KEY (or RLMX_API_KEY) to the key, or pass "
            f"--api-key-env VAR, or give a --base-url for a server that needs no key{unused}{server_key}"
        )
    return fallback


def _openai_model_hint(model: str) -> str:
    """ "; did you mean `gpt-5-mini`?" for a name close to one of the OpenAI API's models (genai-prices' bundled
    list, read only on this error path), else ""."""
    try:
        from genai_prices import data_snapshot

        provider = next(p for p in data_snapshot.get_snapshot().providers if p.id == "openai")
        names = [m.id for m in provider.models if not m.id.startswith("ft:")]
    except Exception:  # a hint only: no list, no hint
        return ""
    if model in names:
        return ""
    close = difflib.get_close_matches(model, names, n=1, cutoff=0.8)
    return f"; did you mean `{close[0]}`?" if close else ""


SERVER_KEY_NOTE = (
    "(--server-api-key{alias} is this server's own key, the one its clients must send; the model's key "
    "comes from OPENAI_API_KEY, RLMX_API_KEY or --api-key-env NAME)"
)


def _unset_key_variable(name: str) -> str:
    """Why --api-key-env NAME found no key; a NAME that is no variable name is a key given in its place."""
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) and not name.startswith(("sk_", "sk-")):
        return f"--api-key-env {name}: the environment variable {name} is not set (or empty)"
    return (
        f"--api-key-env takes the name of an environment variable, and {name[:6]}... looks like a key itself: "
        "export RLMX_API_KEY=KEY (OPENAI_API_KEY for the OpenAI API), or put it in a variable and pass "
        "--api-key-env NAME"
    )


def _json_file(path: Path, option: str) -> Any:
    """The JSON value in the file an option names, its bytes read as every text file is (a BOM's UTF-16 too:
    PowerShell 5 writes that). Raises UsageError naming the option."""
    try:
        return json.loads(read_text(path))
    except FileNotFoundError:
        raise UsageError(missing_path(path, f"{option} file")) from None
    except OSError as exc:
        raise UsageError(f"cannot read {option} file {path}: {exc.strerror}") from None
    except (ValueError, RecursionError) as exc:  # NotText, json.JSONDecodeError, nesting past the stack
        raise UsageError(f"{option} file {path} is not valid JSON: {exc}") from None


def _load_script(path: Path) -> tuple[tuple[str, ...], tuple[str, ...] | None]:
    data = _json_file(path, "--scripted")
    shape = 'a JSON list of reply strings, or {"root": [...], "sub": [...]}'
    if isinstance(data, list):
        return _replies(data, path, shape), None
    if isinstance(data, dict) and "root" in data and set(data) <= {"root", "sub"}:
        # an empty "sub" scripts no sub-call (each one then fails as the script's end); the root needs a reply
        sub = _replies(data["sub"], path, shape, empty=True) if "sub" in data else None
        return _replies(data["root"], path, shape), sub
    raise UsageError(f"--scripted file {path} must hold {shape}")


def _replies(value: Any, path: Path, shape: str, *, empty: bool = False) -> tuple[str, ...]:
    if not isinstance(value, list) or not (value or empty) or not all(isinstance(item, str) for item in value):
        raise UsageError(f"--scripted file {path} must hold {shape}, of strings only, with at least one root reply")
    return tuple(value)


def build_models(plan: ModelPlan) -> tuple[LM, LM, str]:
    """Construct the planned LMs: (root LM, sub LM, a description for the user). Loads a local model."""
    from rlmx.lm.scripted import ScriptedLM

    sub: LM
    if plan.kind == "scripted":
        if plan.sub_replies is None:
            sub = ScriptedLM(list(plan.root_replies))
            lm: LM = sub
        else:
            lm = ScriptedLM(list(plan.root_replies), model="scripted-root")
            sub = ScriptedLM(list(plan.sub_replies), model="scripted-sub")
        description = f"scripted replies ({plan.source})"
    elif plan.kind == "local":
        try:
            from rlmx.lm.local import LocalLM
        except ImportError as exc:
            raise UsageError(missing_extra("the embedded model", "local", exc)) from None
        sub = LocalLM(plan.model, n_threads=plan.threads)
        lm = sub
        description = f"embedded local model {sub.model}" + (
            "" if plan.source == "default" else f" (from {plan.source})"
        )
    else:
        from rlmx.lm.openai import OpenAICompatibleLM

        assert plan.model is not None
        waits: dict[str, Any] = {"timeout": plan.timeout, "max_retries": plan.retries}
        client = OpenAICompatibleLM(
            plan.model, plan.base_url, api_key=plan.api_key, **{k: v for k, v in waits.items() if v is not None}
        )
        sub = lm = client
        description = f"{client.model} at {client.base_url} (from {plan.source})"
    if plan.root == "guided":
        from rlmx.lm.guided import GuidedRoot

        guided = GuidedRoot(sub)
        lm, sub = guided, guided.reader  # the reader: short replies from a local model
        description += ", driven by the guided root (rlmx writes the code)"
    if plan.kind == "local" and plan.source == "default":
        description += (
            "\n  No model is configured, so rlmx uses its embedded model: a small local model suited to simple "
            f"lookups. {STRONGER_MODEL_HINT}"
        )
    if plan.unused:
        description += f"\n  {plan.unused}."
    return lm, sub, description


def resolve_models(args: argparse.Namespace, environ: Mapping[str, str]) -> tuple[LM, LM, str]:
    """(root LM, sub LM, description) from flags and env: `plan_models` then `build_models`."""
    return build_models(plan_models(args, environ))


# --- the ask command ----------------------------------------------------------------------------------


def _load_schema(path: Path) -> dict[str, Any]:
    schema = _json_file(path, "--output-schema")
    if not isinstance(schema, dict):
        raise UsageError(f"--output-schema file {path} must hold a JSON Schema object")
    try:
        OutputSchema(schema)  # checked here, before the models are built, and named by its flag
    except InputError as exc:
        raise UsageError(f"--output-schema file {path} {str(exc).removeprefix('output ')}") from None
    return schema


def _budget(args: argparse.Namespace) -> Budget:
    limits = {
        "max_iterations": args.max_iterations,
        "max_seconds": args.max_seconds,
        "max_tokens": args.max_tokens,
        "max_tokens_per_call": args.max_tokens_per_call,
        "max_subcalls": args.max_subcalls,
        "max_usd": args.max_usd,
        "cell_timeout": args.cell_timeout,
    }
    return Budget(**{name: value for name, value in limits.items() if value is not None})


def _lm_failure_message(exc: LMError, lm: LM, url_source: str) -> tuple[str, str]:
    """What failed (the server's and the OS's words, quoted) and rlmx's advice for it, shown on a line of its own
    (empty when there is none). `url_source` names where the server's URL came from (`ModelPlan.url_source`), so
    the advice names the setting the user made (audit 81: an OPENAI_BASE_URL was blamed on --base-url)."""
    base_url = getattr(lm, "base_url", None)
    # The client's advice names its parameter, `base_url`; a CLI user set a flag or a variable (audit 85 v02)
    message = re.sub(r"\bbase_url\b", url_source or "the base URL", str(exc).rstrip("."))
    if base_url and base_url not in message:
        message = f"{lm.model} at {base_url}: {message}"
    if isinstance(exc, LMTimeout):
        waited = getattr(lm, "timeout", None)
        now = f" (now {waited:g} s)" if isinstance(waited, int | float) else ""
        return (
            message,
            f"The server took too long to answer: give a slow model more time with --lm-timeout S{now} (a local "
            "server on CPU, a reasoning model that does not stream), or check the server's own log",
        )
    if exc.via_proxy is not None:  # the message names the proxy and what to do; the server was never reached
        return message, ""
    if isinstance(exc, LMConnectionError):
        check = (
            f"Check that the server is running and that {url_source} is right"
            if url_source
            else "Check this machine's network connection to the OpenAI API (and any proxy settings)"
        )
        return message, f"{check}, or choose another model with --model NAME --base-url URL"
    return f"the LM failed: {message}", ""


def _make_rlm(
    args: argparse.Namespace,
    root_lm: LM,
    sub_lm: LM,
    budget: Budget,
    trace_dir: Path | None,
    on_event: Callable[[Event], None] | None,
    err: Console,
) -> RLM:
    """The RLM of `ask` and `serve` from the parsed flags; warns first when the sandbox is the unsafe one."""
    from rlmx.rlm import RLM, UnpricedModels

    options: dict[str, Any] = {} if args.max_depth is None else {"max_depth": args.max_depth}
    if getattr(args, "max_context_bytes", None) is not None:
        options["max_context_bytes"] = args.max_context_bytes
    if getattr(args, "files", None):
        options["files"] = args.files
    if getattr(args, "price", None):
        options["prices"] = dict(args.price)
    if args.sandbox == "inprocess":
        from rlmx.sandbox.inprocess import UNSAFE_WARNING

        _say(err, f"rlmx: warning: {UNSAFE_WARNING}", "bold yellow")
    try:
        return RLM(
            root_lm,
            sub_lm=sub_lm,
            budget=budget,
            trace_dir=trace_dir,
            on_event=on_event,
            sandbox=args.sandbox,
            **options,
        )
    except UnpricedModels as exc:  # said with the flags, not the Python arguments
        raise UsageError(exc.for_cli()) from None


def ask(args: argparse.Namespace, environ: Mapping[str, str], err: Console, interrupts: Interrupts) -> int:
    # Python decodes argv in the locale's encoding; under a C locale a UTF-8 question arrives as escaped bytes
    # ("gro\udcc3\udc9f"). Its bytes are what was typed: UTF-8, bad bytes U+FFFD.
    args.query = os.fsencode(args.query).decode("utf-8", "replace")
    if not args.query.strip():
        raise UsageError("QUERY is empty: ask a question")
    plan = plan_models(args, environ)
    schema = _load_schema(args.output_schema) if args.output_schema is not None else None
    if schema is not None and plan.root == "guided":  # known from the flags, before the models are built
        from rlmx.rlm import TYPED_NEEDS_CODE

        raise UsageError(
            f"--output-schema {TYPED_NEEDS_CODE}. Use --model NAME --base-url URL, or --root lm with a bigger GGUF "
            "(--model local:/path/model.gguf)"
        )
    limit = args.max_context_bytes if args.max_context_bytes is not None else DEFAULT_MAX_CONTEXT_BYTES
    context, contexts = context_arguments(args.contexts, max_bytes=limit)
    _check_contexts(context, contexts, plan, err, quiet=args.quiet, files=bool(getattr(args, "files", None)))
    budget = _budget(args)
    folder = args.trace_dir if args.trace_dir is not None else default_trace_dir(environ)
    trace_dir: Path | None = folder
    if not usable_trace_dir(folder, given=args.trace_dir is not None):  # a named folder raises: exit 2
        _say(err, no_trace_folder_warning(folder, "answering without a trace"), "bold yellow")
        trace_dir = None  # the answer matters more than its trace (a service account, a read-only HOME)
    root_lm, sub_lm, description = build_models(plan)
    if not args.quiet:
        _say(err, f"rlmx: model: {description}")
        if contexts:
            names = "; ".join(f"{n} <- {_shown(p)}" for n, p in {"context": context, **contexts}.items())
            _say(err, f"rlmx: contexts: {names}")
    local = _local_model(root_lm, sub_lm) if plan.kind == "local" else None
    if local is not None:
        _load_local(local, err, interrupts, quiet=args.quiet)
    progress = None if args.quiet else progress_view(err)
    listener = _Listener(err, progress, interrupts)
    interrupts.trace_dir = args.trace_dir
    interrupts.traced = trace_dir is not None
    rlm = _make_rlm(args, root_lm, sub_lm, budget, trace_dir, listener, err)
    try:
        result = interrupts.run(rlm.acompletion(args.query, context, contexts=contexts or None, output=schema))
        interrupts.hold_ctrl_c_to_the_end()
    except LMError as exc:
        raise _LMFailed(*_lm_failure_message(exc, root_lm, plan.url_source)) from exc
    finally:
        if progress is not None:
            progress.close()
    code = _report(args, result, root_lm, err, schema, plan.url_source)
    if local is not None:
        local.close()  # now, not while the interpreter tears down (that took a second longer)
    return code


def _shown(value: ContextValue | None) -> str:
    return "standard input" if isinstance(value, str) else str(value)


def _check_contexts(
    context: ContextValue | None,
    contexts: Mapping[str, ContextValue],
    plan: ModelPlan,
    err: Console,
    *,
    quiet: bool,
    files: bool = False,
) -> None:
    """No context, or only empty ones: refused for the guided root (it can only search a context), a warning for
    a model that writes its own code (it may answer from the question alone; not said with --quiet)."""
    given = {"context": context, **contexts} if context is not None else {}
    blank = [name for name, value in given.items() if _is_blank(value)]
    guided = plan.root == "guided"
    if not given:
        if files and not guided:
            return  # the model reads its --file copies from code
        if guided:
            raise UsageError(
                "no --context given, and the guided root (used with the embedded model) answers from a context: "
                "pass --context PATH (a file or folder, or - for standard input)"
            )
        if not quiet:
            _say(err, "rlmx: warning: no --context given; the model answers from the question alone", "yellow")
        return
    if guided and len(blank) == len(given):
        shown = ", ".join(_shown(given[name]) for name in blank)
        raise UsageError(f"the context is empty ({shown}): there is nothing to search")
    for name in blank:
        _say(err, f"rlmx: warning: context `{name}` ({_shown(given[name])}) is empty", "yellow")


def _local_model(*lms: LM) -> LocalLM | None:
    """The LocalLM behind the planned LMs (the guided root wraps it in a reader)."""
    from rlmx.lm.local import LocalLM

    for lm in lms:
        for candidate in (lm, getattr(lm, "inner", None), getattr(lm, "sub_lm", None)):
            if isinstance(candidate, LocalLM):
                return candidate
    return None


def _load_local(lm: LocalLM, err: Console, interrupts: Interrupts, *, quiet: bool) -> None:
    """Load the embedded model before the run, so a file llama.cpp cannot load fails here (exit 5), not as a run
    of failed sub-calls; say so when the first load writes the converted copy to the cache."""
    from rlmx.lm.local import CACHE_REMEDY, cache_folder_problem

    target = lm.conversion_path
    fresh = target is not None and not target.exists()
    problem = cache_folder_problem(target.parent) if fresh and target is not None else None
    if problem is not None and target is not None:
        # No "first run ... once": it would fail now and be promised again on every run. Said once, with the
        # remedy, and the conversion not tried (its own failure was a bare log line).
        lm.requantize = False
        fresh = False
        _say(
            err,
            f"rlmx: warning: cannot keep the converted model: the cache folder {target.parent} cannot be written "
            f"({problem}), so every run loads the model as it is, slower on CPU; {CACHE_REMEDY}",
            "yellow",
        )
    if fresh and not quiet:
        _say(
            err,
            f"rlmx: first run: converting the model to Q8_0 (faster on CPU) into {target}; this happens once, "
            "and the file may be deleted at any time",
            "dim",
        )
    try:
        loaded = interrupts.run(lm.aload())
    except LMError as exc:
        raise _LMFailed(f"the LM failed: {exc}") from exc
    if fresh and not quiet and target is not None and loaded == target:
        _say(err, f"rlmx: wrote {target} ({target.stat().st_size / 1e6:.0f} MB)", "dim")


class _Listener:
    """The run's events for the user: warnings the CLI owes them (binary files skipped in a folder, even with
    --quiet), then the live progress view."""

    def __init__(self, err: Console, progress: Progress | None, interrupts: Interrupts | None = None) -> None:
        self.err = err
        self.progress = progress
        self.interrupts = interrupts

    def __call__(self, event: Event) -> None:
        if self.interrupts is not None and event.type == "run_start":
            self.interrupts.run_id = event.run_id  # a Ctrl-C says how to see what the run did
        if event.type == "node_start" and event.depth == 0:
            for summary in event.data.get("contexts") or ():
                skipped = [prompt_text(str(entry)) for entry in summary.get("skipped_files") or ()]  # one line each
                if skipped:
                    shown = "; ".join(skipped[:5]) + (f", and {len(skipped) - 5} more" if len(skipped) > 5 else "")
                    _say(
                        self.err,
                        f"rlmx: warning: {len(skipped)} file(s) skipped in `{summary.get('name')}`: {shown}",
                        "yellow",
                    )
        if self.progress is not None:
            self.progress(event)


class _LMFailed(Exception):
    """The LM failed before the run could end on its own: its message and rlmx's advice (`_lm_failure_message`)."""

    def __init__(self, message: str, advice: str = "") -> None:
        super().__init__(message)
        self.advice = advice


def _report(
    args: argparse.Namespace,
    result: Result,
    root_lm: LM,
    err: Console,
    schema: dict[str, Any] | None = None,
    url_source: str = "",
) -> int:
    code = _EXIT_FOR_STATUS[result.status]
    lm_failure = result.error if isinstance(result.error, LMError) else None
    if result.status == "error" and lm_failure is not None:
        code = EXIT_LM
    unmatched = schema is not None and not args.json and _misses(schema, result)
    try:
        if args.json:
            write_output_json(result.to_dict())
        elif unmatched:  # stdout holds only JSON the schema accepts: a `| jq .field` reads nothing, not a wrong value
            pass
        elif code != EXIT_LM and (result.answer or result.status == "finished"):
            # not when the LM failed (no answer came from a model), nor an empty line for a budget stop with no
            # answer; to a terminal, control characters in it are shown as escapes (a model's OSC 52 must not set
            # the clipboard)
            write_output((terminal_safe(result.answer) if _is_tty(sys.stdout) else result.answer) + "\n")
    except OutputFailed as exc:  # the run itself ended as it did: say so, and where its trace is (below)
        _error(err, f"{exc}; the {'result' if args.json else 'answer'} is in the run's trace")
        return _trace_line(args, result, err, EXIT_OUTPUT)
    if code == EXIT_LM:
        assert lm_failure is not None
        message, advice = _lm_failure_message(lm_failure, root_lm, url_source)
        if result.stop_reason.startswith("every sub-call failed"):
            message = f"every sub-call of the run failed, so no answer came from the model; {message}"
        _error(err, message, advice)
    elif code == EXIT_ERROR:
        _error(err, f"the run failed: {result.stop_reason}")
    elif code == EXIT_BUDGET:
        best = "the answer is the best one so far" if result.answer else "no answer was found before it ran out"
        said = [f"rlmx: budget exhausted: {result.stop_reason}", *([] if unmatched else [best])]
        _say(err, "; ".join(said), "yellow")
    if unmatched:
        _say(
            err,
            "rlmx: the best answer so far does not match --output-schema, so none is printed; the run's trace holds "
            "it (rlmx ask --json shows it as `answer`, with `value` null)",
            "yellow",
        )
    return _trace_line(args, result, err, code)


def _misses(schema: dict[str, Any], result: Result) -> bool:
    """Whether a typed run's answer text is one the schema refuses: a finished run's never is (it was checked); a
    run a budget or an error stopped keeps its best answer as it was, checked only for `value`."""
    if result.status == "finished" or not result.answer or result.value is not None:
        return False
    try:
        OutputSchema(schema).validate(result.answer)
    except SchemaMismatch:
        return True
    return False


def _trace_line(args: argparse.Namespace, result: Result, err: Console, code: int) -> int:
    """Where the run's trace is, on stderr (with --quiet only when the exit code is not 0); returns `code`."""
    if result.trace_path is not None and (not args.quiet or code != EXIT_OK):
        shown = result.run_id if args.trace_dir is None else result.trace_path  # rlmx view finds a run id
        _say(err, f"rlmx: trace: {result.trace_path} (see it: rlmx view {shown})", "dim")
    return code


_OUTPUT_PIECE = 256
"""Characters written to stdout at a time: at most 10 bytes each (a backslash escape), within the smallest buffer
(4 KiB, a pipe's), so that no write goes past the buffer straight to the descriptor."""


class _WholeOutput:
    """Stdout for a command's output, written whole or not at all: BrokenPipeError when its reader went away
    partway (`| head`), which `main` turns into exit 141. A single large write to a pipe closed midway returns
    short with no error, and TextIOWrapper drops the rest (cpython#85393); in pieces within the buffer, each
    flushed, the next piece meets the closed pipe and raises."""

    @property
    def encoding(self) -> str | None:
        return getattr(sys.stdout, "encoding", None)  # write_json escapes what a non-Unicode one cannot hold

    def write(self, text: str) -> int:
        def whole(out: TextIO) -> None:
            for start in range(0, len(text), _OUTPUT_PIECE):
                out.write(text[start : start + _OUTPUT_PIECE])
                out.flush()
            out.flush()  # an empty text too: what earlier writes left in the buffer

        on_stdout(whole)
        return len(text)


def write_output(text: str) -> None:
    """A command's output on stdout, whole, or BrokenPipeError / OutputFailed (see `_WholeOutput`)."""
    _WholeOutput().write(text)


def write_output_json(value: Any) -> None:
    """`value` as JSON on stdout (`progress.write_json`), whole, or BrokenPipeError / OutputFailed (see
    `_WholeOutput`)."""
    write_json(value, cast(TextIO, _WholeOutput()))


def _say(err: Console, text: str, style: str = "") -> None:
    """One message to the user's console. What it quotes (a server's error, a path, a question) may hold terminal
    control sequences: they are shown as escapes (`terminal_safe`), never obeyed."""
    err.print(Text(terminal_safe(text), style=style), soft_wrap=True, highlight=False)


def _is_tty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def _print_stderr(text: str) -> None:
    """One line straight to stderr, for places without a Console (a signal handler, before one exists)."""
    try:
        sys.stderr.write(terminal_safe(text) + "\n")
        sys.stderr.flush()
    except (OSError, ValueError, RuntimeError):  # closed stderr, or a reentrant write from a signal handler
        pass


def _error(err: Console, message: str, advice: str = "") -> None:
    """One error line: a line break or control character in what it quotes (a file name, a server's reply) is
    written as its escape (`prompt_text`, the rule for file names in prompts), so it cannot start a line of its own.
    rlmx's own `advice`, when there is some, follows on an indented line."""
    _say(err, f"rlmx: error: {prompt_text(message)}" + (f".\n  {advice}" if advice else ""), "bold red")


def serve(args: argparse.Namespace, environ: Mapping[str, str], err: Console, interrupts: Interrupts) -> int:
    """`rlmx serve`: see rlmx.commands.serve."""
    return serve_command.run(args, environ, err, interrupts)


def doctor(args: argparse.Namespace, interrupts: Interrupts) -> int:
    """`rlmx doctor`: each sandbox tier's protections on this machine. Exit 0 when the isolated tier can run."""
    from rlmx.sandbox.doctor import report, summary

    data = interrupts.run(report())
    if args.json:
        write_output_json(data)
    else:
        machine = data["machine"]
        lines = [f"rlmx {__version__} on {machine['platform']}, Python {machine['python']}, uid {machine['uid']}"]
        for name, tier in data["tiers"].items():
            state = summary(tier["protections"]) if tier["ok"] else f"UNAVAILABLE: {tier['error']}"
            lines.append(f"  {name:<11} {state}")
        docker = data["docker"]
        lines.append(f"  {'docker':<11} " + ("engine running" if docker["ok"] else f"UNAVAILABLE: {docker['error']}"))
        write_output("\n".join(lines) + "\n")
    return EXIT_OK if data["tiers"].get("isolated", {}).get("ok") else EXIT_ERROR


class Interrupts:
    """How each command runs its async work (`run`), and Ctrl-C for `rlmx ask` and stdio `rlmx mcp` once armed
    (`install`). The first one cancels the run: LM calls are aborted (llama.cpp included), REPL workers killed, the
    trace closed, and the process exits 130. A second one, or one outside a run, ends the process at once with 130:
    no traceback, no waiting for threads. Unarmed, `run` leaves Ctrl-C to the command (`rlmx serve`'s Stop).

    Only the command line's own process is ended so (`may_exit`). `main()` called inside a running event loop (a
    notebook cell) runs in its caller's process, which must live on: there the first Ctrl-C cancels the run, a later
    one is a KeyboardInterrupt, and `main()` returns 130."""

    FORCE_AFTER = 0.8
    """Seconds the cancelled run may take to clean up before the process ends anyway."""

    def __init__(self, started: float, what: str = "the run", *, may_exit: bool = True) -> None:
        self.started = started
        self.may_exit = may_exit
        """Whether Ctrl-C may end the process (`exit_now`, the watchdog): the command line's, not a caller's."""
        self.what = what
        """What the first Ctrl-C stops, for its message ("the run", "the MCP server")."""
        self.count = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[Any] | None = None
        self._exiting = threading.Lock()
        self._armed = False
        self.run_id: str | None = None
        """The interrupted run's id, once it has started: `rlmx view RUN_ID` shows its trace."""
        self.trace_dir: Path | None = None
        self.traced = True  # False when the run keeps no trace (its default folder could not be written)
        """Its --trace-dir, when one was given (`rlmx view` looks in the default folder otherwise)."""
        self.own_process = False
        """Whether this is the process's own command (`main()` with no argv, main thread), set by `main()`."""
        self.late_ctrl_c = False
        """A Ctrl-C came after the command's run had ended (`hold_ctrl_c_to_the_end`)."""

    def install(self) -> None:
        """Handle Ctrl-C during each later `run()` (on the main thread only). Each run puts back the handler it
        found, so a Python caller of `main()` has its own Ctrl-C again afterwards; outside a run, Ctrl-C is a
        KeyboardInterrupt, which `main()` turns into the same exit. A process started with SIGINT ignored (a
        script's background job, `nohup`) keeps it ignored, as shells expect: it was ignored for the command's
        first 0.7 s and then stopped the run (audit 81)."""
        self._armed = threading.current_thread() is threading.main_thread() and not sigint_ignored()

    @answers_ctrl_c
    def _on_sigint(self, signum: int, frame: FrameType | None) -> None:
        self.count += 1
        loop, task = self._loop, self._task
        if self.count == 1 and loop is not None and task is not None and not task.done():
            again = " (Ctrl-C again quits at once)" if self.may_exit else ""
            _print_stderr(f"rlmx: interrupted: stopping {self.what}{again}")
            loop.call_soon_threadsafe(task.cancel)
            if self.may_exit:
                watchdog = threading.Timer(self.FORCE_AFTER, self.exit_now)
                watchdog.daemon = True
                watchdog.start()
            return
        if not self.may_exit:
            raise KeyboardInterrupt
        self.exit_now()

    def exit_now(self) -> None:
        """End the process with 130 now (the watchdog, a second Ctrl-C and the end of an interrupted run race
        here: the first one wins)."""
        if not self._exiting.acquire(blocking=False):
            return
        from rlmx.events import end_abandoned_traces

        end_abandoned_traces()  # the run may not have ended (a model still loading): its trace says it was stopped
        self.report()
        os._exit(EXIT_INTERRUPTED)

    def report(self) -> None:
        """Say that the command was interrupted, and where its run's trace is."""
        if _is_tty(sys.stderr):  # a live progress view may have hidden the cursor: show it (sent as is, not shown)
            with contextlib.suppress(OSError, ValueError, RuntimeError):
                sys.stderr.write("\x1b[?25h")
        _print_stderr(f"rlmx: error: interrupted after {time.monotonic() - self.started:.1f} s")
        if self.run_id is not None and self.traced:
            folder = "" if self.trace_dir is None else f" --trace-dir {shlex.quote(str(self.trace_dir))}"
            _print_stderr(f"rlmx: what it did is in its trace: rlmx view {self.run_id}{folder}")
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError, RuntimeError):
                stream.flush()

    def run(self, coro: Coroutine[Any, Any, T], loop_factory: LoopFactory | None = None) -> T:
        """Run `coro` to its end on a fresh event loop (made by `loop_factory`, default asyncio's), on a private
        thread when called inside a running one; KeyboardInterrupt if Ctrl-C cancelled it. Every command runs its
        async work through here: asyncio.run, anyio.run and uvicorn's Server.run refuse a running loop, and
        `main()` is called inside one in a notebook cell."""
        from rlmx.blocking import run_blocking

        async def main() -> T:
            self._loop, self._task = asyncio.get_running_loop(), asyncio.current_task()
            return await coro

        armed = self._armed
        previous = signal.signal(signal.SIGINT, self._on_sigint) if armed else None
        try:
            return run_blocking(main(), loop_factory or asyncio.new_event_loop)
        except asyncio.CancelledError:
            if self.count:
                raise KeyboardInterrupt from None
            raise
        finally:
            self._loop = self._task = None
            if armed:  # None: a handler not set from Python, which cannot be put back; Python's own then
                signal.signal(signal.SIGINT, previous if previous is not None else signal.default_int_handler)

    def hold_ctrl_c_to_the_end(self) -> None:
        """The command's run has ended (its result is being written): a Ctrl-C from now on is noted, not raised,
        and `main()` ends the process with the command's own code once the answer and trace line are written
        whole. A KeyboardInterrupt here cut the report short and exited 130 for a finished run."""
        if not (self.own_process and self._armed):
            return

        def note(signum: int, frame: FrameType | None) -> None:
            self.late_ctrl_c = True

        signal.signal(signal.SIGINT, note)


def _inside_a_running_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    """Run the `rlmx` command line; returns the exit code. On Ctrl-C it ends the process with 130, at once; called
    inside a running event loop (a notebook cell, whose process must live on) it returns 130 instead. As the
    process's own command (`argv` None, on the main thread), a Ctrl-C once the code is known, while the process
    ends, ends it at once with that code (`_exit_on_ctrl_c`)."""
    interrupts = Interrupts(time.monotonic(), may_exit=not _inside_a_running_loop())
    the_process = argv is None and interrupts.may_exit and threading.current_thread() is threading.main_thread()
    interrupts.own_process = the_process
    if the_process:
        atexit.unregister(_ignore_ctrl_c)
        atexit.register(_ignore_ctrl_c)  # now: it runs after the exit handlers the command registers (LIFO)
    try:  # from the first line: building the parser alone takes a tenth of a second, and Ctrl-C came in it
        _quiet_start.restore()
        code = _parse_and_run(argv, interrupts)
        if the_process:
            _exit_on_ctrl_c(code, already=interrupts.late_ctrl_c)
        return code
    except KeyboardInterrupt:
        if not interrupts.may_exit:
            interrupts.report()
            return EXIT_INTERRUPTED
        # A local model's thread may still be inside llama.cpp (loading, converting): do not wait for it.
        interrupts.exit_now()
        return EXIT_INTERRUPTED


def _parse_and_run(argv: list[str] | None, interrupts: Interrupts) -> int:
    """Parse `argv` and run its command; returns the exit code (KeyboardInterrupt goes to `main`)."""
    for stream in (sys.stdout, sys.stderr):  # a console that cannot show a character gets it escaped, not a crash
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on bad usage, 0 for --help / --version
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    return _command(args, StderrConsole(), interrupts)


def _exit_on_ctrl_c(code: int, *, already: bool = False) -> None:
    """From now to the process's end, a Ctrl-C ends it at once with `code`: the command is done (its answer and
    trace line are written), so there is nothing left to interrupt, and a script sees the command's own code.
    Python's handler, put back, raised KeyboardInterrupt past `main()`, or the signal killed the process while
    Python tore down (returncode -2, no message): a finished run looked interrupted."""

    def done(signum: int = signal.SIGINT, frame: FrameType | None = None) -> None:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError, RuntimeError):
                stream.flush()
        os._exit(code)

    if not sigint_ignored():
        signal.signal(signal.SIGINT, done)
    if already:  # one came while the finished run's report was written (`hold_ctrl_c_to_the_end`)
        done()


def sigint_ignored() -> bool:
    """Whether SIGINT is ignored (SIG_IGN): the process was started so, which Python keeps, and rlmx then never
    handles it (a script's background job must not stop on the Ctrl-C meant for the foreground)."""
    return signal.getsignal(signal.SIGINT) is signal.SIG_IGN


def _ignore_ctrl_c() -> None:
    """The command's last exit handler: Python gives a handler set from Python back to the system's default (the
    signal kills) before freeing its modules, a tenth of a second; an ignored signal stays ignored."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _command(args: argparse.Namespace, err: StderrConsole, interrupts: Interrupts) -> int:
    """Run the parsed command; returns its exit code, with each error said (KeyboardInterrupt goes to `main`)."""
    try:
        if args.command == "doctor":
            return doctor(args, interrupts)
        if args.command == "view":
            return view_command.main(args, os.environ, err)
        if args.command == "bench":
            return bench_command.main(args, os.environ, err, interrupts)
        if args.command == "traces":
            return traces_command.main(args, os.environ, err)
        if args.command == "serve":
            return serve(args, os.environ, err, interrupts)
        if args.command == "mcp":
            return mcp_command.run(args, os.environ, err, interrupts)
        interrupts.install()
        return ask(args, os.environ, err, interrupts)
    except (UsageError, InputError) as exc:
        _error(err, str(exc))
        return EXIT_USAGE
    except _LMFailed as exc:
        _error(err, str(exc), exc.advice)
        return EXIT_LM
    except RLMXError as exc:
        _error(err, f"{type(exc).__name__}: {exc}")
        return EXIT_ERROR
    except BrokenPipeError:  # stdout's reader went away (`| head`): the run itself is in its trace, as it ended
        discard_writes_to(sys.stdout)
        return EXIT_PIPE
    except OutputFailed as exc:  # `ask` says it itself, with its trace; other commands' output (traces --json)
        _error(err, str(exc))
        return EXIT_OUTPUT


if __name__ == "__main__":
    # `python -m rlmx.cli`: run the module's importable copy, whose error classes are the ones the commands raise
    # (this __main__ copy's UsageError is another class, and a bad flag escaped as a traceback, exit 1)
    from rlmx.cli import main as _main

    raise SystemExit(_main())
