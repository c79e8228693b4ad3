"""`rlmx serve` under big bodies and load: how long /health takes while a 100 MB request is refused or read,
and whether 100 concurrent SDK requests at the default limits all get their answer.

The server is a real `rlmx serve --scripted` process on 127.0.0.1 with its default flags. Scenarios:

* `health_*`: /health is polled every 10 ms (its own process) while one big request is sent (by another process):
  - `refused_by_length`: 100 MB with a Content-Length, over the default 32 MiB limit (413 before reading);
  - `refused_while_streaming`: 100 MB chunked, no Content-Length (413 once past the limit);
  - `accepted_30mb`: a 30 MB context under the limit, read, decoded on a worker thread and run;
  - `queue_full_4x100mb`: --max-concurrent-runs 1 --max-queued 0 --max-request-bytes 200M with one run busy;
    4 x 100 MB requests at once, under the size limit, refused by the queue (429 before reading);
  - `idle_baseline`: nothing sent, for comparison on a loaded machine.
  Reported: the polls' median, p99 and max latency (ms), and the big request's status.
* `load_100`: 100 concurrent `AsyncOpenAI` requests (default max_retries=2) against a scripted LM (each run
  one turn in a fresh sandbox worker), at the default --max-concurrent-runs 4 / --max-queued 128. Reported:
  answered right, failed, wall s.

    .venv/bin/python benchmarks/server_load.py      # writes benchmarks/results/server_load.json
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2 as httpx
import openai

RESULTS = Path(__file__).parent / "results" / "server_load.json"
MB = 1_000_000
REPL = "```repl\n{}\n```"

SENDER = r"""
import json, sys, httpx2 as httpx
url, size, chunked, count = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1", int(sys.argv[4])
head = b'{"model": "rlmx", "messages": [{"role": "user", "content": "How long?"}], "context": "'
def body():
    yield head
    left = size
    while left > 0:
        n = min(left, 1 << 20)
        yield b"x" * n
        left -= n
    yield b'"}'
import concurrent.futures as cf
def one(_):
    try:
        if chunked:
            r = httpx.post(url, content=body(), timeout=120)
        else:
            data = b"".join(body())
            r = httpx.post(url, content=data, headers={"Content-Type": "application/json"}, timeout=120)
        return r.status_code
    except httpx.HTTPError as exc:
        return type(exc).__name__
import time
if count == 0:
    time.sleep(3)
with cf.ThreadPoolExecutor(max(count, 1)) as pool:
    print(json.dumps(list(pool.map(one, range(count)))))
"""


@contextmanager
def server(folder: Path, replies: Any, *flags: str) -> Iterator[str]:
    script = folder / "script.json"
    script.write_text(json.dumps(replies), encoding="utf-8")
    command = [sys.executable, "-m", "rlmx.cli", "serve", "--port", "0", "--scripted", str(script)]
    command += ["--trace-dir", str(folder / "traces"), *flags]
    with subprocess.Popen(command, stderr=subprocess.PIPE, text=True) as proc:
        assert proc.stderr is not None
        url = None
        for line in proc.stderr:
            found = re.search(r"running on (http://127\.0\.0\.1:\d+)", line)
            if found:
                url = found.group(1)
                break
        assert url is not None, "rlmx serve did not start"
        drain = threading.Thread(target=proc.stderr.read, daemon=True)
        drain.start()
        try:
            yield url
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=30)


def poll_health(url: str, stop: threading.Event, latencies: list[float]) -> None:
    with httpx.Client(timeout=30) as client:
        while not stop.is_set():
            started = time.perf_counter()
            client.get(f"{url}/health").raise_for_status()
            latencies.append((time.perf_counter() - started) * 1000)
            time.sleep(0.01)


def health_during(url: str, size: int, *, chunked: bool, count: int = 1) -> dict[str, Any]:
    latencies: list[float] = []
    stop = threading.Event()
    poller = threading.Thread(target=poll_health, args=(url, stop, latencies))
    poller.start()
    time.sleep(0.3)
    started = time.perf_counter()
    sent = subprocess.run(
        [sys.executable, "-c", SENDER, f"{url}/v1/chat/completions", str(size), "1" if chunked else "0", str(count)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    seconds = time.perf_counter() - started
    time.sleep(0.3)
    stop.set()
    poller.join()
    ordered = sorted(latencies)
    return {
        "statuses": json.loads(sent.stdout or "null") if sent.returncode == 0 else sent.stderr[-500:],
        "request_seconds": round(seconds, 2),
        "health_polls": len(latencies),
        "health_ms_median": round(statistics.median(ordered), 2),
        "health_ms_p99": round(ordered[int(len(ordered) * 0.99) - 1], 2),
        "health_ms_max": round(ordered[-1], 2),
    }


async def load(url: str, requests: int) -> dict[str, Any]:
    started = time.perf_counter()
    async with openai.AsyncOpenAI(base_url=f"{url}/v1", api_key="x") as client:  # default max_retries=2
        replies = await asyncio.gather(
            *(
                client.chat.completions.create(
                    model="rlmx", messages=[{"role": "user", "content": "q"}], extra_body={"context": "x" * n}
                )
                for n in range(requests)
            ),
            return_exceptions=True,
        )
    failed = [repr(r)[:200] for r in replies if isinstance(r, BaseException)]
    right = sum(
        1
        for n, r in enumerate(replies)
        if not isinstance(r, BaseException) and r.choices[0].message.content == f"length {n}"
    )
    return {
        "requests": requests,
        "answered_right": right,
        "failed": len(failed),
        "errors": failed[:5],
        "wall_seconds": round(time.perf_counter() - started, 2),
    }


def main() -> None:
    results: dict[str, Any] = {
        "machine": {"platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count()},
        "load_average_before": os.getloadavg(),
        "when": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
    }
    finish = REPL.format("FINAL('length ' + str(len(context)))")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        with server(folder, [finish] * 10) as url:
            results["health_idle_baseline"] = health_during(url, 0, chunked=False, count=0)
            results["health_refused_by_length"] = health_during(url, 100 * MB, chunked=False)
            results["health_refused_while_streaming"] = health_during(url, 100 * MB, chunked=True)
            results["health_accepted_30mb"] = health_during(url, 30 * MB, chunked=False)
        busy = REPL.format("import time\ntime.sleep(600)")
        flags = ("--max-concurrent-runs", "1", "--max-queued", "0", "--max-request-bytes", "200M")
        with server(folder, [busy], *flags) as url:
            blocker = threading.Thread(
                target=lambda: httpx.post(
                    f"{url}/v1/chat/completions",
                    json={"model": "rlmx", "messages": [{"role": "user", "content": "q"}], "context": "c"},
                    timeout=120,
                ),
                daemon=True,
            )
            blocker.start()
            time.sleep(2)
            results["health_queue_full_4x100mb"] = health_during(url, 100 * MB, chunked=False, count=4)
        with server(folder, [finish] * 100) as url:
            results["load_100"] = asyncio.run(load(url, 100))
    results["load_average_after"] = os.getloadavg()  # a busy machine inflates every latency, the baseline too
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
