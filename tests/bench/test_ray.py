"""`--ray`: the same run on a real local Ray cluster (`ray start --head` on 127.0.0.1) gives the same records.

Ray is in the dev extra (rlmx[ray]), so these tests run wherever the README's test command does; a missing Ray is
an install fault and fails here rather than skipping. The cluster is this test's own: started with `--block` in
a new session and stopped by signalling that session, so another Ray cluster on the machine is left alone."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import ray

from rlmx.bench.policies import OracleLM
from rlmx.bench.runner import RunSpec, read_records, run

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _stop(head: subprocess.Popen[bytes]) -> None:
    """SIGKILL to the head's session: GCS, raylet and the workers are all in it (a graceful stop takes 30 s)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(head.pid, signal.SIGKILL)
    head.wait(timeout=30)


@pytest.fixture(scope="module")  # one cluster for the module: starting one takes seconds
def cluster() -> Iterator[str]:
    ray_cli = Path(sys.executable).parent / "ray"
    temp = tempfile.mkdtemp(prefix="rlmxray", dir="/tmp")  # Ray's socket paths must stay short
    port = _free_port()
    start = [str(ray_cli), "start", "--head", "--block", f"--port={port}", "--node-ip-address=127.0.0.1"]
    start += ["--num-cpus=2", "--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={temp}"]
    # The object store's file is not on /dev/shm: its used space there, freed when the cluster stops, could hide a
    # cell's files with no name from another xdist worker's growth measure (a host without CAP_SYS_PTRACE)
    start += [f"--plasma-directory={temp}", "--object-store-memory=100000000"]
    log = open(Path(temp) / "head.log", "wb")  # noqa: SIM115 (closed in finally)
    head = subprocess.Popen(start, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        ready = Path(temp) / "ray_current_cluster"  # written once the head is up
        deadline = time.monotonic() + 180
        while not ready.is_file():
            if head.poll() is not None or time.monotonic() > deadline:
                log.flush()
                pytest.fail(f"ray start --head did not come up: {(Path(temp) / 'head.log').read_text()[-2000:]}")
            time.sleep(0.5)
        yield f"127.0.0.1:{port}"
    finally:
        ray.shutdown()
        _stop(head)
        log.close()
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
