"""`--ray`: the same run on a real local Ray cluster (`ray start --head` on 127.0.0.1) gives the same records."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rlmx.bench.policies import OracleLM
from rlmx.bench.runner import RunSpec, read_records, run

pytestmark = pytest.mark.slow
ray = pytest.importorskip("ray")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def cluster() -> Iterator[str]:
    ray_cli = Path(sys.executable).parent / "ray"
    temp = tempfile.mkdtemp(prefix="rlmxray", dir="/tmp")  # Ray's socket paths must stay short
    port = _free_port()
    start = [str(ray_cli), "start", "--head", f"--port={port}", "--node-ip-address=127.0.0.1", "--num-cpus=2"]
    start += ["--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={temp}"]
    subprocess.run(start, check=True, capture_output=True, timeout=180)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        ray.shutdown()
        subprocess.run([str(ray_cli), "stop", "--force"], capture_output=True, timeout=120)
        shutil.rmtree(temp, ignore_errors=True)


def _comparable(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(({k: v for k, v in r.items() if k != "wall_s"} for r in records), key=lambda r: r["key"])


def test_ray_run_gives_the_same_records(cluster: str, tmp_path: Path) -> None:
    families, lengths = ["sniah", "pairs"], [8192]

    def spec(out: Path) -> RunSpec:
        return RunSpec(families=families, lengths=lengths, n=2, methods=["base", "rlm"], model="oracle", out=out,
                       max_output_tokens=65536)  # fmt: skip

    local = asyncio.run(run(spec(tmp_path / "local"), OracleLM(families, lengths, 2)))
    on_ray = asyncio.run(run(spec(tmp_path / "ray"), OracleLM(families, lengths, 2), ray_address=cluster))
    assert len(on_ray) == 8 and all(r["score"] == 1.0 for r in on_ray)
    assert _comparable(on_ray) == _comparable(local)
    assert _comparable(read_records(tmp_path / "ray")) == _comparable(local)
    again = asyncio.run(run(spec(tmp_path / "ray"), OracleLM(families, lengths, 2), ray_address=cluster))
    assert again == []  # resumable on Ray too


def test_cli_ray_flag(cluster: str, tmp_path: Path) -> None:
    from rlmx.cli import main

    script = tmp_path / "replies.json"
    script.write_text('["The special magic number is 1234567."]')  # each worker builds its own scripted LM
    out = tmp_path / "results"
    argv = ["bench", "run", "--family", "sniah", "--lengths", "8k", "--n", "2", "--method", "base"]
    assert main([*argv, "--scripted", str(script), "--out", str(out), "--ray", cluster]) == 0
    records = read_records(out)
    assert len(records) == 2 and {r["status"] for r in records} == {"ok"}
