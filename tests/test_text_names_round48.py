"""Round 48: the host's `Session.history` holds what the REPL's does (lone surrogates as U+FFFD), and a workspace
file whose name is not UTF-8 is copied under the name the prompt shows (README, "Workspace files")."""

from __future__ import annotations

import json
import os
from pathlib import Path

from rlmx import RLM
from rlmx.lm import ScriptedLM
from rlmx.workspace import describe, read_files


def _repl(code: str) -> str:
    return f"```repl\n{code}\n```"


def test_host_history_is_json_encodable_like_the_repls(tmp_path: Path) -> None:
    lm = ScriptedLM([_repl("FINAL('seen')"), _repl("import json\nFINAL(json.dumps(history))")])
    with RLM(lm).session(context="c") as session:
        session.ask("why \ud83d caf\udce9?")
        second = session.ask("and?")
        host = session.history
    json.dumps(host).encode("utf-8")  # old code: UnicodeEncodeError
    assert host[0]["question"] == "why \ufffd caf\ufffd?"
    assert json.loads(second.answer) == host[:1]


def test_a_workspace_file_not_utf8_is_named_as_the_prompt_shows(tmp_path: Path) -> None:
    with open(os.fsencode(tmp_path) + b"/w\xffs.txt", "wb") as handle:
        handle.write(b"data")
    files = read_files([Path(os.fsdecode(os.fsencode(tmp_path) + b"/w\xffs.txt"))])
    assert files[0].name == "w\\udcffs.txt"
    assert "w\\udcffs.txt (4 bytes)" in describe(files)
