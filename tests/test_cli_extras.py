"""A command whose optional extra is missing says how to install it from this checkout, not from PyPI (where rlmx
is not): `rlmx serve`, `rlmx mcp` and the embedded model, run as real processes with the extra's modules hidden."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rlmx.extras import ExtraMissing, install_command, missing_extra

ROOT = Path(__file__).resolve().parents[1]

# Runs `rlmx ARGS` with the named top-level modules made unimportable, as if their extra were not installed.
_HIDDEN = """
import sys
for name in sys.argv[1].split(","):
    sys.modules[name] = None  # import raises ModuleNotFoundError; find_spec says it is not there
sys.argv = ["rlmx", *sys.argv[2:]]
from rlmx.cli import main
raise SystemExit(main())
"""


def run_without(modules: str, *args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "RLMX_"))}
    return subprocess.run(
        [sys.executable, "-c", _HIDDEN, modules, *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={**environ, "XDG_STATE_HOME": str(tmp_path / "state")},
    )


@pytest.mark.parametrize(
    ("modules", "args", "extra"),
    [
        ("uvicorn,starlette", ["serve", "--port", "0"], "server"),
        ("mcp", ["mcp"], "mcp"),
        ("llama_cpp", ["ask", "q", "--context", "notes.txt"], "local"),
    ],
)
def test_a_missing_extra_names_a_command_that_installs_it_from_the_checkout(
    tmp_path: Path, modules: str, args: list[str], extra: str
) -> None:
    (tmp_path / "notes.txt").write_text("hello\n", encoding="utf-8")
    proc = run_without(modules, *args, tmp_path=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert f"needs the `{extra}` extra, which is not installed" in proc.stderr
    assert install_command(extra) in proc.stderr
    assert f"rlmx[{extra}]" not in proc.stderr  # never the PyPI name, which cannot work
    assert f'".[{extra}]"' in proc.stderr  # the README's way: from the checkout


def test_the_command_installs_from_where_this_rlmx_came_from() -> None:
    from importlib import metadata

    record = json.loads(metadata.distribution("rlmx").read_text("direct_url.json") or "{}")
    command = install_command("server")
    if record.get("url") == ROOT.as_uri():  # installed from this checkout, as the README and .ci/run do
        editable = record.get("dir_info", {}).get("editable", False)
        pip = f"{sys.executable} -m pip install "  # this environment's pip, from any folder
        assert command == f"cd {ROOT} && {pip}" + ("-e " if editable else "") + '".[server]"'
    with pytest.raises(ValueError, match="no extra 'sever'"):
        install_command("sever")
    assert missing_extra("rlmx serve", "server", ModuleNotFoundError("No module named 'uvicorn'")) == (
        "rlmx serve needs the `server` extra, which is not installed (No module named 'uvicorn'); install it: "
        + command
    )
    # an ImportError that already says so (a module of rlmx's own raising it) is named once, not quoted whole
    inner = ExtraMissing("rlmx.mcp.server", "mcp", ModuleNotFoundError(name="mcp"))
    assert missing_extra("rlmx mcp", "mcp", inner).count("needs the `mcp` extra") == 1


@pytest.mark.slow
def test_pip_accepts_the_command(tmp_path: Path) -> None:
    """The printed command is one pip can run: a dry run resolves it to this rlmx (nothing is installed)."""
    command = install_command("server")
    if "in the rlmx checkout" in command:
        pytest.skip("rlmx was not installed by pip here")
    proc = subprocess.run(
        f"{command} --dry-run --no-deps --quiet --report -",
        shell=True,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert [item["metadata"]["name"] for item in report["install"]] == ["rlmx"]
    assert report["install"][0]["requested_extras"] == ["server"]


@pytest.mark.parametrize(
    ("module", "hidden", "extra"), [("rlmx.server", "starlette", "server"), ("rlmx.mcp.server", "mcp", "mcp")]
)
def test_importing_an_extras_module_without_the_extra_says_how_to_install_it(
    module: str, hidden: str, extra: str
) -> None:
    code = (
        f"import sys\nsys.modules[{hidden!r}] = None\n"
        f"try:\n    import {module}\nexcept ImportError as exc:\n    print(exc)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.stdout.startswith(f"{module} needs the `{extra}` extra, which is not installed"), proc.stderr
    assert install_command(extra) in proc.stdout
