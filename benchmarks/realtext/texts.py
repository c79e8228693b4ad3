"""The real public texts of the benchmark, from Debian packages only (never downloaded from anywhere else).

| id      | package(s)                      | shape                          | licence                     |
|---------|---------------------------------|--------------------------------|-----------------------------|
| kjv     | bible-kjv, bible-kjv-text       | verses under "Book N" headings | public domain (KJV text)    |
| jargon  | jargon-text                     | glossary entries (":name:")    | public domain               |
| ucd     | unicode-data                    | records (UnicodeData.txt)      | Unicode licence (free)      |
| pylib   | python3.11-doc                  | reStructuredText library docs  | PSF licence                 |

`locate(id, cache)` returns the text's path, building it from the installed package (the KJV is printed by the
package's own `bible` program, the library docs are the reST sources concatenated in name order), or None with
the reason when the package is missing. `install()` runs apt-get for the missing ones (root only).
"""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
from pathlib import Path

PACKAGES = {
    "kjv": ["bible-kjv", "bible-kjv-text"],
    "jargon": ["jargon-text"],
    "ucd": ["unicode-data"],
    "pylib": ["python3.11-doc"],
}
_JARGON = Path("/usr/share/doc/jargon-text/jargon.txt.gz")
_UCD = Path("/usr/share/unicode/UnicodeData.txt")
_PYLIB = Path("/usr/share/doc/python3.11/html/_sources/library")


def locate(text_id: str, cache: Path) -> tuple[Path | None, str]:
    """(path of the text, "") or (None, why it is missing)."""
    cache.mkdir(parents=True, exist_ok=True)
    target = cache / f"{text_id}.txt"
    if target.is_file() and target.stat().st_size > 0:
        return target, ""
    if text_id == "kjv":
        if shutil.which("bible") is None:
            return None, "the `bible` program is missing: apt-get install bible-kjv bible-kjv-text"
        printed = subprocess.run(
            ["bible", "-l100000", "Gen1:1-Rev22:21"], capture_output=True, timeout=120, check=False
        )
        if printed.returncode != 0 or len(printed.stdout) < 1_000_000:
            return None, f"`bible` did not print the text (exit {printed.returncode}): apt-get install bible-kjv-text"
        target.write_bytes(printed.stdout)
    elif text_id == "jargon":
        if not _JARGON.is_file():
            return None, f"{_JARGON} is missing: apt-get install jargon-text"
        target.write_bytes(gzip.decompress(_JARGON.read_bytes()))
    elif text_id == "ucd":
        if not _UCD.is_file():
            return None, f"{_UCD} is missing: apt-get install unicode-data"
        shutil.copyfile(_UCD, target)
    elif text_id == "pylib":
        files = sorted(_PYLIB.glob("*.rst.txt"))
        if not files:
            return None, f"{_PYLIB} is missing: apt-get install python3.11-doc"
        target.write_text("".join(f.read_text(encoding="utf-8") for f in files), encoding="utf-8")
    else:
        raise ValueError(f"unknown text {text_id!r}")
    return target, ""


def install(text_ids: list[str]) -> None:
    """apt-get install the packages of `text_ids` (Debian, as root); failures are left to `locate` to report."""
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return
    packages = sorted({p for t in text_ids for p in PACKAGES[t]})
    subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", *packages], check=False, timeout=900)
