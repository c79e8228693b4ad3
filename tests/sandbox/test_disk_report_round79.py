"""`rlmx doctor`'s disk line names how this host counts files a worker holds with no name (round 79): exactly, by a
bound, or only on RAM-backed filesystems, where the host cannot read its worker's /proc entries."""

from __future__ import annotations

from rlmx.sandbox import rundir
from rlmx.sandbox.subprocess import SubprocessSandbox


def test_the_disk_bound_names_the_route_for_unnamed_files() -> None:
    said = SubprocessSandbox().disk_bound()
    assert f"files with no name: {rundir.unnamed_route()}" in said
