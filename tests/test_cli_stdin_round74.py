"""`rlmx ask --context -` reads standard input only up to the context limit (audit 74 docs v07): it read all of it
first, so 100 MB piped with --max-context-bytes 1M was held whole before the refusal, and an endless input
(`/dev/zero`, `tail -f`) grew until a MemoryError traceback ended the command with exit 1."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import threading
from pathlib import Path

from tests.scripting import cli_environ, repl, run_cli


def _script(tmp_path: Path) -> Path:
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"root": [repl("FINAL(len(context))")], "sub": []}))
    return script


def test_an_endless_standard_input_is_refused_once_it_passes_the_limit(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "rlmx.cli", "ask", "q", "--context", "-", "--max-context-bytes", "1M"]
    with (tmp_path / "stderr").open("wb") as stderr:
        rlmx = subprocess.Popen(
            [*command, "--scripted", str(_script(tmp_path))],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env=cli_environ(tmp_path),
            cwd=tmp_path,
        )
    written = 0

    def feed() -> None:  # an endless input: it stops only when rlmx stops reading
        nonlocal written
        assert rlmx.stdin is not None
        try:
            while written < 2_000_000_000:
                rlmx.stdin.write(b"a" * 65536)
                written += 65536
        except (BrokenPipeError, ValueError):
            pass

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    try:
        rlmx.wait(timeout=60)  # not communicate(): it would close the input at once
    finally:
        rlmx.kill()
        feeder.join(10)
        assert rlmx.stdin is not None
        with contextlib.suppress(BrokenPipeError):
            rlmx.stdin.close()
    message = (tmp_path / "stderr").read_text()
    assert rlmx.returncode == 2, message[-2000:]
    assert "standard input holds more than the limit of 1,048,576 context bytes" in message
    assert "--max-context-bytes" in message and "Traceback" not in message
    assert written < 64 * 1024 * 1024  # refused as it passed the limit, not after holding gigabytes


def test_standard_input_within_the_limit_arrives_whole(tmp_path: Path) -> None:
    done = run_cli(
        "ask", "q", "--context", "-", "--max-context-bytes", "1M", "--scripted", str(_script(tmp_path)),
        tmp_path=tmp_path, stdin="x" * 1_000_000,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "1000000"


def test_wide_encoded_standard_input_is_limited_by_its_text_not_its_bytes(tmp_path: Path) -> None:
    text = "é" * 300_000  # 600,000 bytes of UTF-8 text, 1,200,002 bytes of UTF-16 piped in
    proc = subprocess.run(
        [sys.executable, "-m", "rlmx.cli", "ask", "q", "-c", "-", "--max-context-bytes", "1M", "--scripted",
         str(_script(tmp_path))],
        input=text.encode("utf-16"), capture_output=True, env=cli_environ(tmp_path), cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.decode().strip() == "300000"
