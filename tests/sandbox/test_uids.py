"""The uid a root host's REPL runs as, where a user namespace maps only some ids (rootless Podman and Docker,
unprivileged LXC, Kubernetes pods with `hostUsers: false`): the worker got 0x30000000 and up, which such a
namespace does not map, and the first chown failed with EINVAL, a traceback and exit 1."""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rlmx.errors import SandboxStartError
from rlmx.sandbox.subprocess import UID_BASE
from rlmx.sandbox.uids import mapped_uid

CLONE_NEWUSER = 0x10000000


def fake_proc(tmp_path: Path, uid_map: str, gid_map: str | None = None) -> Path:
    (tmp_path / "self").mkdir()
    (tmp_path / "self" / "uid_map").write_text(uid_map, encoding="ascii")
    (tmp_path / "self" / "gid_map").write_text(gid_map or uid_map, encoding="ascii")
    (tmp_path / "4242").mkdir()  # a process running as uid 40000..40001
    (tmp_path / "4242" / "status").write_text("Name:\tapp\nUid:\t40000\t40000\t40000\t40000\nGid:\t40001\n")
    return tmp_path


def test_a_host_that_maps_every_id_keeps_the_uid_it_was_given(tmp_path: Path) -> None:
    assert mapped_uid(UID_BASE + 7, fake_proc(tmp_path, "         0          0 4294967295\n")) == UID_BASE + 7


def test_a_rootless_container_gets_a_mapped_unused_id(tmp_path: Path) -> None:
    proc = fake_proc(tmp_path, "0 100000 65536\n")
    chosen = {mapped_uid(UID_BASE + 7, proc) for _ in range(200)}
    assert all(32768 <= uid < 65534 for uid in chosen) and len(chosen) > 50


def test_an_id_a_process_or_account_uses_is_not_chosen(tmp_path: Path) -> None:
    proc = fake_proc(tmp_path, "0 100000 40004\n")  # upper half 20002..40001: only 40000 and 40001 are in use
    assert {mapped_uid(UID_BASE, proc) for _ in range(100)}.isdisjoint({40000, 40001})


def test_a_namespace_mapping_too_few_ids_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(SandboxStartError, match=r"maps too few ids \(1 as both.*--sandbox isolated"):
        mapped_uid(UID_BASE, fake_proc(tmp_path, "0 1000 1\n"))


def _in_a_user_namespace(argv: list[str]) -> subprocess.CompletedProcess[str]:
    """Run `argv` as root of a new user namespace mapping ids 0-65535 (what rootless containers get)."""
    libc = ctypes.CDLL(None, use_errno=True)
    read_go, write_go = os.pipe()
    read_ready, write_ready = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child execs
        try:
            if libc.unshare(CLONE_NEWUSER) != 0:
                os._exit(99)
            os.write(write_ready, b"x")
            os.read(read_go, 1)
            os.setgid(0)
            os.setuid(0)
            os.execvp(argv[0], argv)
        finally:
            os._exit(98)
    os.close(write_ready)
    ready = os.read(read_ready, 1)
    os.close(read_ready)
    os.close(read_go)
    if not ready:
        os.close(write_go)
        os.waitpid(pid, 0)
        pytest.skip("this host does not allow unprivileged user namespaces")
    for name in ("uid_map", "gid_map"):
        Path(f"/proc/{pid}/{name}").write_text("0 0 65536\n", encoding="ascii")
    os.write(write_go, b"x")
    os.close(write_go)
    code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    return subprocess.CompletedProcess(argv, code)


def test_the_default_tier_runs_in_a_rootless_container(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("the worker switches uid only on a root host")
    answer = tmp_path / "answer.txt"
    script = (
        "import sys\nfrom rlmx import RLM\nfrom rlmx.lm import ScriptedLM\n"
        "code = '```repl\\nimport os\\nFINAL(f\"{os.getuid()} {context}\")\\n```'\n"
        "result = RLM(ScriptedLM([code])).completion('q', context='four')\n"
        f"open({str(answer)!r}, 'w').write(f'{{result.status}} {{result.answer}}')\n"
    )
    done = _in_a_user_namespace([sys.executable, "-c", script])
    assert done.returncode == 0
    status, uid, context = answer.read_text().split()
    assert (status, context) == ("finished", "four") and 0 < int(uid) < 65536
