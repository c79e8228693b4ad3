"""A Ctrl-C that lands once the command has its exit code, while the process ends, ends it at once with that code
(audit 74 newcomer v06).

Ctrl-C just after the answer and the trace line were written killed the process by the signal (returncode -2, no
message): `main()` had put Python's handler back, and Python resets that one to the system default while it tears
down. A finished run looked interrupted to a script.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from scripting import cli_environ, repl

# The console script's own way, `sys.exit(main())`, with a Ctrl-C at a given moment of the process's end.
AFTER_MAIN = """
import os, signal, sys
from rlmx.cli import main
code = main()
os.kill(os.getpid(), signal.SIGINT)  # after main() returned, before the process has ended
sys.exit(code)
"""
WHILE_PYTHON_TEARS_DOWN = """
import os, signal, sys
from rlmx.cli import main

class LastToGo:
    def __del__(self):  # run while Python frees this module, after its exit handlers
        os.kill(os.getpid(), signal.SIGINT)

kept = LastToGo()
sys.exit(main())
"""


@pytest.mark.parametrize("moment", [AFTER_MAIN, WHILE_PYTHON_TEARS_DOWN], ids=["after main", "during teardown"])
def test_a_ctrl_c_after_the_run_finished_keeps_its_exit_code(tmp_path: Path, moment: str) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("hello world\n")
    script = tmp_path / "script.json"
    script.write_text(json.dumps([repl("FINAL('done')")]))
    argv = ["rlmx", "ask", "Q?", "--context", str(notes), "--scripted", str(script), "-q"]
    proc = subprocess.run(
        [sys.executable, "-c", moment, *argv[1:]],
        capture_output=True,
        text=True,
        env=cli_environ(tmp_path),
        cwd=tmp_path,
        timeout=60,
    )
    assert proc.returncode == 0, (proc.returncode, proc.stderr)
    assert proc.stdout == "done\n" and "Traceback" not in proc.stderr and "KeyboardInterrupt" not in proc.stderr


def test_a_ctrl_c_after_a_failed_command_keeps_its_code_too(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", AFTER_MAIN, "ask", "Q?", "--context", str(tmp_path / "missing.txt")],
        capture_output=True,
        text=True,
        env=cli_environ(tmp_path),
        cwd=tmp_path,
        timeout=60,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr


def test_main_called_with_its_arguments_leaves_a_callers_ctrl_c_alone(tmp_path: Path) -> None:
    # a Python program (a test) calling main([...]) lives on afterwards: its Ctrl-C is Python's own again
    code = (
        "import signal, sys; from rlmx.cli import main; main(['ask', 'Q?', '--context', sys.argv[1]]);"
        "print(signal.getsignal(signal.SIGINT) is signal.default_int_handler)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "missing.txt")],
        capture_output=True,
        text=True,
        env=cli_environ(tmp_path),
        timeout=60,
    )
    assert proc.stdout == "True\n", proc.stderr


def test_a_real_interrupt_still_exits_130_with_its_line(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("hello world\n")
    script = tmp_path / "script.json"
    script.write_text(json.dumps([repl("import time\ntime.sleep(30)")]))
    proc = subprocess.Popen(
        [sys.executable, "-m", "rlmx.cli", "ask", "Q?", "--context", str(notes), "--scripted", str(script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_environ(tmp_path),
        cwd=tmp_path,
    )
    assert proc.stderr is not None
    for line in proc.stderr:  # the cell has started: the run is under way
        if "reply from" in line or "cell 1" in line:
            break
    os.kill(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and "rlmx: error: interrupted" in err, err


def test_a_ctrl_c_while_the_parser_is_built_exits_130_with_its_line(tmp_path: Path) -> None:
    # building the parser takes a tenth of a second, outside main's handling: a Ctrl-C there was a traceback
    code = (
        "import os, signal, sys\nimport rlmx.cli as cli\nreal = cli.build_parser\n"
        "def interrupted():\n    os.kill(os.getpid(), signal.SIGINT)\n    return real()\n"
        "cli.build_parser = interrupted\nsys.exit(cli.main())"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, "ask", "Q?"],
        capture_output=True,
        text=True,
        env=cli_environ(tmp_path),
        cwd=tmp_path,
        timeout=60,
    )
    assert proc.returncode == 130 and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.startswith("rlmx: error: interrupted after ")
