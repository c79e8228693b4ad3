"""The uid a root host's sandbox runs its worker as: one no account names and no process runs as, and one this
process's user namespace maps (an id it does not map cannot own a file or be switched to: EINVAL)."""

from __future__ import annotations

import grp
import pwd
import secrets
from pathlib import Path

from rlmx.errors import SandboxStartError

_EVERY_ID = range(0, 2**32 - 1)
"""What a process outside any user namespace (or where /proc says nothing) may use."""


def mapped_uid(preferred: int, proc: Path = Path("/proc")) -> int:
    """`preferred` when this process's user namespace maps it as a uid and as a gid (a host's maps every id); else a
    random id from the upper half of the largest range it maps as both, that no account or group names and no
    process runs as. Rootless Podman and Docker, unprivileged LXC and Kubernetes pods with `hostUsers: false` map
    65,536 ids (0-65535, /etc/subuid's default count), where the preferred one (0x30000000 and up) is not.
    Raises SandboxStartError when the namespace maps no such id."""
    uids, gids = _inside_ids(proc / "self" / "uid_map"), _inside_ids(proc / "self" / "gid_map")
    if any(preferred in ids for ids in uids) and any(preferred in ids for ids in gids):
        return preferred
    both = [range(max(u.start, g.start), min(u.stop, g.stop)) for u in uids for g in gids]
    largest = max(both, key=len, default=range(0))
    # The last two ids of a range are customarily nobody's (65534) and the overflow id (65535).
    upper = range(largest.start + len(largest) // 2, largest.stop - 2)
    if upper:
        taken = _ids_in_use(proc)
        for _ in range(64):
            candidate = upper[secrets.randbelow(len(upper))]
            if candidate not in taken and candidate != 0:
                return candidate
    raise SandboxStartError(
        f"this user namespace maps too few ids ({len(largest):,} as both a uid and a gid) to give the REPL a uid of "
        "its own; map more (e.g. /etc/subuid's 65,536), run rlmx as a user other than root, or use --sandbox isolated"
    )


def _inside_ids(path: Path) -> list[range]:
    """The ids a `/proc/PID/uid_map` (or gid_map) maps, as seen inside the namespace (its first column)."""
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError):
        return [_EVERY_ID]
    ranges = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) == 3 and all(field.isdigit() for field in fields):
            inside, _, count = (int(field) for field in fields)
            ranges.append(range(inside, inside + count))
    return ranges


def _ids_in_use(proc: Path) -> set[int]:
    """Every uid and gid the accounts, the groups and the live processes use."""
    taken = {entry.pw_uid for entry in pwd.getpwall()} | {entry.pw_gid for entry in pwd.getpwall()}
    taken |= {entry.gr_gid for entry in grp.getgrall()}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text(encoding="ascii", errors="replace")
        except OSError:  # ended meanwhile
            continue
        for line in status.splitlines():
            if line.startswith(("Uid:", "Gid:")):
                taken.update(int(field) for field in line.split()[1:] if field.isdigit())
    return taken
