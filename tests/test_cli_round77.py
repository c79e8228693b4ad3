"""What a user sees when a flag is mistyped or the model's server cannot be reached.

- A long flag with one dash (`rlmx ask -help`, `-context FILE`, a habit from Go's and Java's tools) got argparse's
  "argument -h/--help: ignored explicit argument 'elp'", or was silently read as the short flag `-c` given the
  rest (`-contxt notes.txt` loaded a context file named `ontxt`).
- An unreachable server's error was written three times (the error line, the run's last line, the CLI's error),
  now once (audit 77 newcomer v07),
  the CLI's one with a literal `\\n` before its advice, in aiohttp's words (`ssl:default` for an http:// URL).
"""

from __future__ import annotations

import io
import socket
from pathlib import Path

import aiohttp
import pytest
from rich.console import Console

from rlmx import Event
from rlmx.lm.http import _describe
from rlmx.progress import Progress
from scripting import closed_port, run_cli


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["-help"], "rlmx: error: -help: a long flag takes two dashes: --help"),
        (["-version"], "rlmx: error: -version: a long flag takes two dashes: --version"),
        (["ask", "-help"], "rlmx ask: error: -help: a long flag takes two dashes: --help"),
        (["ask", "q", "-context", "notes.txt"], "-context: a long flag takes two dashes: --context"),
        (["ask", "q", "-max-depth=3"], "-max-depth: a long flag takes two dashes: --max-depth=3"),
        (["ask", "q", "-contxt", "notes.txt"], "-contxt: unknown flag (did you mean --context?)"),
        (["bench", "run", "-help"], "rlmx bench run: error: -help: a long flag takes two dashes: --help"),
    ],
)
def test_a_long_flag_with_one_dash_is_named_as_such(tmp_path: Path, argv: list[str], said: str) -> None:
    (tmp_path / "notes.txt").write_text("abc\n")
    proc = run_cli(*argv, tmp_path=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert said in proc.stderr, proc.stderr
    assert "ignored explicit argument" not in proc.stderr and "Traceback" not in proc.stderr


def test_a_short_flag_with_its_value_attached_still_works(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("abcd")
    script = tmp_path / "script.json"
    script.write_text('{"root": ["```repl\\nFINAL(len(context))\\n```"], "sub": []}')
    proc = run_cli("ask", "q", "-cnotes.txt", "--scripted", str(script), tmp_path=tmp_path)
    assert (proc.returncode, proc.stdout.strip()) == (0, "4"), proc.stderr


def test_an_unreachable_server_is_said_once_in_the_os_words_with_the_advice_on_its_own_line(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}/v1"
    (tmp_path / "notes.txt").write_text("abc\n")
    proc = run_cli("ask", "q", "-c", "notes.txt", "--model", "m", "--base-url", url, tmp_path=tmp_path)
    assert proc.returncode == 5, proc.stderr
    assert "Connection refused" in proc.stderr and "ssl:default" not in proc.stderr, proc.stderr
    # once, in the CLI's error with its advice: the run's last progress line says only what failed
    assert proc.stderr.count("Connection refused") == 1, proc.stderr
    assert "error · the root LM call failed · stopped in turn 1" in proc.stderr, proc.stderr
    assert "\\n" not in proc.stderr, proc.stderr
    lines = proc.stderr.splitlines()
    error = next(i for i, line in enumerate(lines) if line.startswith("rlmx: error: cannot connect to"))
    assert lines[error + 1].startswith("  Check that the server is running"), proc.stderr


def test_quiet_still_gets_the_whole_error_once(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}/v1"
    (tmp_path / "notes.txt").write_text("abc\n")
    proc = run_cli("ask", "q", "-c", "notes.txt", "--model", "m", "--base-url", url, "-q", tmp_path=tmp_path)
    assert proc.returncode == 5
    assert proc.stderr.count("Connection refused") == 1, proc.stderr
    assert "\n  Check that the server is running" in proc.stderr


def test_a_host_name_that_does_not_resolve_is_named_so() -> None:
    key = aiohttp.client_reqrep.ConnectionKey("nowhere.invalid", 80, False, True, None, None, None)
    error = aiohttp.ClientConnectorDNSError(key, socket.gaierror(-2, "Name or service not known"))
    assert _describe(error) == "nowhere.invalid:80: the host name does not resolve (Name or service not known)"
    refused = aiohttp.ClientConnectorError(key, ConnectionRefusedError(111, "Connect call failed ('1.2.3.4', 80)"))
    assert _describe(refused) == "nowhere.invalid:80: Connection refused"


def _lines(events: list[tuple[str, int, dict[str, object]]]) -> list[str]:
    out = io.StringIO()
    progress = Progress(Console(file=out, width=300, color_system=None))
    for ts, (kind, depth, data) in enumerate(events):
        progress(Event(kind, "run", "n1" if depth else "root", None, depth, data, ts=float(ts)))
    return out.getvalue().splitlines()


def test_a_root_error_the_stop_reason_quotes_is_left_to_the_commands_error_line() -> None:
    said = "cannot connect to http://x/v1/: refused"
    lines = _lines(
        [
            ("error", 0, {"error_type": "LMConnectionError", "message": said}),
            ("node_end", 0, {"status": "error"}),
            ("run_end", 0, {"status": "error", "stop_reason": f"the root LM call failed: {said}", "iterations": 1}),
        ]
    )
    assert len(lines) == 1 and "error · the root LM call failed · stopped in turn 1" in lines[0], lines


def test_a_root_error_the_stop_reason_does_not_quote_keeps_its_line() -> None:
    lines = _lines(
        [
            ("error", 0, {"error_type": "LMTimeout", "message": "no reply within 60 s"}),
            ("run_end", 0, {"status": "budget_exhausted", "stop_reason": "max_iterations", "iterations": 3}),
        ]
    )
    assert len(lines) == 2 and "LMTimeout: no reply within 60 s" in lines[0], lines
    lines = _lines(  # another event after it: shown then, in its place
        [
            ("error", 0, {"error_type": "LMTimeout", "message": "no reply within 60 s"}),
            ("iteration", 0, {"iteration": 2}),
            ("run_end", 0, {"status": "finished", "stop_reason": "no reply within 60 s", "iterations": 2}),
        ]
    )
    assert "LMTimeout: no reply within 60 s" in lines[0], lines
