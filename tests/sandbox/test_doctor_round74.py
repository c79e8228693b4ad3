"""`rlmx doctor` and `sandbox_ready` tell the default tier's Landlock signal scope (audit 74 newcomer v01): the report
said "Landlock ABI: no" on a kernel whose worker applied the scope README promises (Linux 6.12+), so doctor
understated what protects the host."""

from __future__ import annotations

import pytest

from rlmx.context import prepare
from rlmx.sandbox import harden
from rlmx.sandbox.doctor import summary
from rlmx.sandbox.subprocess import SubprocessSandbox


def test_a_worker_that_scoped_its_signals_is_reported_with_the_kernels_landlock_abi(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(harden, "landlock_abi", lambda: 7)
    report = SubprocessSandbox().describe({"seccomp_light_rules": 9, "signals_scoped": True})
    assert report["landlock_abi"] == 7
    assert report["landlock"] == {"signals_scoped": True, "files": "not covered", "tcp": "not covered", "abi": 7}
    assert "Landlock ABI: 7 (signal scope only: no file or network rule)" in summary(report)


def test_a_worker_without_the_scope_says_no_landlock() -> None:
    report = SubprocessSandbox().describe({"seccomp_light_rules": 9, "signals_scoped": False})
    assert report["landlock_abi"] is None and report["landlock"] is None
    assert "Landlock ABI: no;" in summary(report)


async def test_a_started_worker_reports_what_this_kernel_gave_it() -> None:
    box = SubprocessSandbox()
    await box.start([prepare("context", "x")])
    try:
        abi = harden.landlock_abi()
        scoped = abi is not None and abi >= 6 and harden.seccomp_supported()
        # any Landlock refuses pseudo-terminals to the default tier since round 85 (harden.refuse_ptys)
        landlocked = abi is not None and harden.seccomp_supported()
        assert box.protections["landlock_abi"] == (abi if landlocked else None)
        assert ("signal scope" in summary(box.protections)) is scoped
    finally:
        await box.close()
