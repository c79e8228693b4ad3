"""Round 84 review of the day's own changes: a root call whose retry the time budget cannot wait for is a budget stop
(exit 3, best answer kept), not an LM failure; a timeout's skipped retry says so; no home folder known is no
traceback (the trace and every cache are skipped); a chain of links is named to its missing end."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rlmx import RLM, Budget
from rlmx.errors import LMTimeout
from rlmx.lm import OpenAICompatibleLM
from rlmx.lm.base import CALL_DEADLINE
from rlmx.missing_path import missing_path

sys.path.insert(0, str(Path(__file__).parent))
from fake_openai_server import Behaviour, FakeOpenAIServer, Reply, error_body


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A server that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            held.append(connection)

    threading.Thread(target=accept, daemon=True).start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/v1"
    listener.close()
    for connection in held:
        connection.close()


def test_a_root_call_timing_out_with_no_time_to_retry_is_a_budget_stop(silent_server: str) -> None:
    lm = OpenAICompatibleLM("m", base_url=silent_server, api_key="k", timeout=1.0, max_retries=6)
    result = RLM(lm, budget=Budget(max_seconds=1.3)).completion("q", context="c")
    assert result.status == "budget_exhausted", result
    assert result.stop_reason.startswith("max_seconds"), result.stop_reason


def test_a_root_call_meeting_503s_with_no_time_to_retry_is_a_budget_stop_naming_the_server_error() -> None:
    def route(body: dict[str, Any]) -> Reply:
        return Reply(status=503, body=error_body("overloaded", "server_error"), headers={"Retry-After": "5"})

    with FakeOpenAIServer(Behaviour(route=route)) as server:
        lm = OpenAICompatibleLM("m", base_url=server.base_url, api_key="k", max_retries=6)
        result = RLM(lm, budget=Budget(max_seconds=3)).completion("q", context="c")
    assert result.status == "budget_exhausted", result
    assert "ends before the root LM call could be tried again" in result.stop_reason
    assert "HTTP 503" in result.stop_reason or "server error" in result.stop_reason, result.stop_reason


def test_a_timeouts_skipped_retry_says_the_time_budget_skipped_it(silent_server: str) -> None:
    import time

    lm = OpenAICompatibleLM("m", base_url=silent_server, api_key="k", timeout=0.5, max_retries=3)

    async def call() -> None:
        token = CALL_DEADLINE.set(time.monotonic() + 0.8)
        try:
            await lm.complete([{"role": "user", "content": "hi"}])
        finally:
            CALL_DEADLINE.reset(token)

    with pytest.raises(LMTimeout) as failed:
        asyncio.run(call())
    assert failed.value.out_of_time
    assert "not retried" in str(failed.value) and "time budget" in str(failed.value)


def test_no_home_folder_known_answers_without_a_trace_and_with_no_traceback() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to run as a uid with no passwd entry")
    folder = Path(tempfile.mkdtemp(prefix="rlmx-nohome-"))  # pytest's own tmp folder is private to root
    try:
        script = folder / "script.json"
        script.write_text(json.dumps(["```repl\nFINAL('the answer')\n```"]), encoding="utf-8")
        (folder / "notes.txt").write_text("notes\n", encoding="utf-8")
        os.chmod(folder, 0o777)
        for path in folder.iterdir():
            os.chmod(path, 0o644)
        command = ["setpriv", "--reuid=54321", "--regid=54321", "--clear-groups", sys.executable, "-m", "rlmx.cli"]
        command += ["ask", "What is it?", "--context", str(folder / "notes.txt"), "--scripted", str(script)]
        source = str(Path(__file__).parents[1] / "src")
        environ = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": source}
        proc = subprocess.run(command, capture_output=True, text=True, timeout=120, env=environ, cwd=folder)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip() == "the answer"
        assert "no home folder is known" in proc.stderr and "Traceback" not in proc.stderr
        assert not (folder / "~").exists()  # the unexpanded default was never made under the current folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_a_chain_of_links_is_named_to_its_missing_end(tmp_path: Path) -> None:
    (tmp_path / "b.txt").symlink_to("gone.txt")
    (tmp_path / "a.txt").symlink_to("b.txt")
    said = missing_path(tmp_path / "a.txt", "context file")
    assert "a symbolic link to b.txt, a link to gone.txt, which does not exist" in said, said
    assert str(tmp_path / "gone.txt") in said
