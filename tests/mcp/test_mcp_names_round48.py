"""Round 48: a file name that is not UTF-8 is given to `paths` the way a folder lists it, and a refused spelling
says how; a request id holding a lone-surrogate escape comes back with that same escape."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from mcp_harness import repl
from test_mcp_raw_stdio import ask, raw_server

from rlmx.mcp.roots import PathRefused, Roots


def _latin1_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "proj"
    folder.mkdir()
    with open(os.fsencode(folder) + b"/caf\xe9.txt", "wb") as handle:
        handle.write(b"bonjour")
    return folder


def test_the_listed_escape_names_the_file_and_a_u_fffd_spelling_is_told_it(tmp_path: Path) -> None:
    folder = _latin1_folder(tmp_path)
    roots = Roots([folder], "--allow")
    listed = next(iter(roots.read([str(folder)]).value))
    assert roots.check("caf\\udce9.txt") == roots.check(str(folder / "caf\\udce9.txt"))
    assert os.fsencode(roots.check("caf\\udce9.txt")).endswith(b"/caf\xe9.txt")  # old code: does not exist
    assert os.fsencode(listed) == b"caf\xe9.txt"
    with pytest.raises(PathRefused) as refused:
        roots.check(str(folder / "caf\ufffd.txt"))
    assert "did you mean" in str(refused.value) and "caf\\udce9.txt" in str(refused.value)
    assert "%E9" in str(refused.value)


def test_a_lone_surrogate_request_id_is_echoed_with_its_escape(tmp_path: Path) -> None:
    with raw_server(tmp_path, [repl("FINAL('ok')")]) as client:
        client.initialize()
        line = json.dumps(ask(0, {"query": "q", "text": "t"})).replace('"id": 0', '"id": "id-\\ud83d"')
        client.send(line.encode())
        reply = client.received.get(timeout=60)
        while reply.get("method"):  # progress notifications
            reply = client.received.get(timeout=60)
        assert reply["id"] == "id-\ud83d"  # old code: "id-\ufffd"
        assert reply["result"]["structuredContent"]["answer"] == "ok"
        client.send({"jsonrpc": "2.0", "id": 5, "method": "tools/list"})
        assert client.until(5)[-1]["id"] == 5
