"""Audit 88x2: what a worker's process sends over the memory report socket is untrusted (harden.MemoryReports).

A descriptor whose last close blocks (a TCP socket with SO_LINGER and unsent data) must never stop the host's
usage watcher or a run's end, however it comes (kept as a report, a message's extra, more than the host's buffer
holds); a file sent there is never the host's own (the disk bound's `_own_unlinked`); and one run's forks do not
take another's room for reports.
"""

from __future__ import annotations

import os
import socket
import struct
import time
from collections.abc import Iterator

import pytest

from rlmx.sandbox import harden, rundir

pytestmark = pytest.mark.skipif(not os.path.exists("/proc/self/smaps_rollup"), reason="needs smaps_rollup")

LINGER = 5


@pytest.fixture
def lingering() -> Iterator[tuple[socket.socket, socket.socket]]:
    """(a TCP socket whose last close blocks for LINGER seconds: SO_LINGER and unsent data, its peer, kept open
    and never read)."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    client = socket.socket()
    client.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    client.connect(server.getsockname())
    peer, _ = server.accept()
    server.close()
    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, LINGER))
    client.setblocking(False)
    try:
        while True:
            client.send(b"x" * 65536)
    except BlockingIOError:
        pass
    yield client, peer
    client.close()
    peer.close()


@pytest.fixture
def reports() -> Iterator[harden.MemoryReports]:
    opened = harden.MemoryReports()
    yield opened
    opened.close()


def _send(reports: harden.MemoryReports, fds: list[int]) -> None:
    with socket.socket(fileno=os.dup(reports.worker_fd)) as sock:
        socket.send_fds(sock, [b"m"], fds)


def _timed(*steps: object) -> float:
    started = time.monotonic()
    for step in steps:
        assert callable(step)
        step()
    return time.monotonic() - started


@pytest.mark.parametrize("shape", ["alone", "second", "beyond_the_buffer"])
def test_a_descriptor_whose_close_blocks_never_holds_the_host(
    reports: harden.MemoryReports, lingering: tuple[socket.socket, socket.socket], shape: str
) -> None:
    client, _ = lingering
    null = os.open(os.devnull, os.O_RDONLY)
    try:
        fds = {"alone": [client.fileno()], "second": [null, client.fileno()]}.get(shape, [null, null, client.fileno()])
        _send(reports, fds)
        client.close()  # the host's copy is the last
        took = _timed(reports.drain, lambda: reports.proportional(os.getpid()), reports.close)
    finally:
        os.close(null)
    assert took < 1.0, f"the host waited {took:.1f} s on a descriptor's close"


def _forked_sender(reports: harden.MemoryReports, fd: int) -> int:
    """A forked child (its own pid, no exec) that sends its own smaps_rollup, then `fd` (which must not replace
    it), and sleeps."""
    pid = os.fork()
    if pid == 0:
        try:
            _send(reports, [os.open("/proc/self/smaps_rollup", os.O_RDONLY)])
            _send(reports, [fd])
            time.sleep(10)
        finally:
            os._exit(0)
    time.sleep(0.3)
    return pid


def test_a_file_sent_as_a_report_is_not_the_hosts_own(reports: harden.MemoryReports) -> None:
    folder = "/dev/shm" if os.path.isdir("/dev/shm") else "/tmp"
    path = os.path.join(folder, f"rlmx-test-88b-{os.getpid()}")
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    os.write(fd, b"x" * (1 << 20))
    key = (os.fstat(fd).st_dev, os.fstat(fd).st_ino)
    pid = _forked_sender(reports, fd)
    os.unlink(path)
    os.close(fd)
    try:
        reports.drain()
        assert key not in rundir._own_unlinked()  # the sender's file, not a context of this host
        assert reports.proportional(pid) is not None  # its own smaps_rollup, sent before, is still read
    finally:
        os.kill(pid, 9)
        os.waitpid(pid, 0)


def test_one_runs_forks_leave_another_run_its_part_of_the_reports(monkeypatch: pytest.MonkeyPatch) -> None:
    soft = os.sysconf("SC_OPEN_MAX")
    monkeypatch.setattr(harden, "REPORTS_HELD_SHARE", max(soft // 4, 1))  # 4 reports for all runs together
    monkeypatch.setattr(harden, "REPORTS_HELD_LEAST", 1, raising=False)
    first, second = harden.MemoryReports(), harden.MemoryReports()
    pids: list[int] = []
    try:
        null = os.open(os.devnull, os.O_RDONLY)
        try:
            pids += [_forked_sender(first, null) for _ in range(4)]  # the first run's forks ask for all four
            first.drain()
            pids.append(_forked_sender(second, null))
        finally:
            os.close(null)
        second.drain()
        assert sum(first.proportional(pid) is not None for pid in pids[:4]) == 2
        assert second.proportional(pids[4]) is not None
    finally:
        for pid in pids:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        first.close()
        second.close()
    assert harden._reports_held == [0]
