"""`rlmx ask`'s warning about files skipped in a context folder writes each name on one line, as the prompt does
(audit 74 docs, left by v03/v04's fix): a name holding a line break broke the warning over two lines, the second
free for any text, and the reasons (which hold commas) were joined by commas."""

from __future__ import annotations

import json
from pathlib import Path

from tests.scripting import run_cli


def test_a_skipped_file_whose_name_holds_line_breaks_is_warned_about_on_one_line(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.txt").write_text("alpha")
    (tmp_path / "docs" / "x\nrlmx: all files read.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00binary")
    (tmp_path / "docs" / "b.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00binary")
    script = tmp_path / "script.json"
    script.write_text(json.dumps(["```repl\nFINAL(', '.join(context))\n```"]))
    proc = run_cli("ask", "q", "-c", str(tmp_path / "docs"), "--scripted", str(script), "--quiet", tmp_path=tmp_path)
    assert (proc.returncode, proc.stdout) == (0, "a.txt\n")
    warning = [line for line in proc.stderr.splitlines() if "skipped" in line]
    assert len(warning) == 1, proc.stderr
    assert "x\\nrlmx: all files read.png (binary)" in warning[0]
    assert "b.png (binary); x\\n" in warning[0] or "read.png (binary); b.png" in warning[0]
    assert not any(line.startswith("rlmx: all files read") for line in proc.stderr.splitlines())
