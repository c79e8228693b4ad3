"""Every example in README.md runs here, or is listed in SKIPPED with the reason, so the README cannot drift.

Python blocks run in process, in a temporary folder holding the files they name, with the LMs they build
replaced by scripted ones (a real server or model is not needed to check names, arguments and results). The
offline example also runs for real against the embedded model (marked `model`). Shell commands run as real
processes, against a local OpenAI-compatible test double where they name a server model. A block or command
that is in neither table fails the test: whoever adds one to the README says here how it is checked.
"""

from __future__ import annotations

import collections
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import rlmx.lm
from fake_openai_server import Behaviour, FakeOpenAIServer
from rlmx.lm.scripted import ScriptedLM
from scripting import missing_embedded_model

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
_FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
_MODEL_ENV = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "RLMX_MODEL", "RLMX_BASE_URL", "RLMX_API_KEY")


@dataclass(frozen=True)
class Example:
    """One README example: a whole ```python block, or one command line of a ```bash block."""

    kind: str
    key: str
    """How the tables below name it: a command's text, or a python block's first line that is not an import."""
    code: str
    line: int


def readme_examples() -> list[Example]:
    text = README.read_text(encoding="utf-8")
    examples = []
    for match in _FENCE.finditer(text):
        language, body = match.group(1), match.group(2)
        line = text.count("\n", 0, match.start()) + 1
        if language == "python":
            key = next(
                row.split("  #")[0].strip()
                for row in body.splitlines()
                if row.strip() and not row.startswith(("from ", "import ", "#"))
            )
            examples.append(Example("python", key, body, line))
        elif language == "bash":
            for offset, row in enumerate(body.splitlines(), 1):
                command = row.split(" #")[0].strip()
                if command and not command.startswith("#"):
                    examples.append(Example("bash", command, command, line + offset))
    return examples


SKIPPED = {
    "python3 -m venv .venv && . .venv/bin/activate": "creates a virtual environment: .ci/run installs rlmx into a "
    "fresh one exactly like this",
    'pip install ".[local]"': "installs packages: .ci/run does, in a fresh virtual environment",
    "python -m pytest": "the test suite itself",
    'rlmx ask "..." --context big.txt --model local:/models/qwen2.5-7b-instruct-q4_k_m.gguf --root lm': "needs a "
    "7B GGUF file the tests do not have; --root lm with a local GGUF is checked in tests/test_cli.py",
    "rlmx serve --model gpt-5-mini --max-seconds 300 --port 8000": "starts a server that runs until stopped; "
    "tests/server/ runs `rlmx serve` against real clients",
    "claude mcp add rlmx -- rlmx mcp --allow /path/to/project": "needs the Claude Code CLI; tests/mcp/ runs "
    "`rlmx mcp` against a real MCP client",
    "claude mcp add rlmx -e OPENAI_API_KEY=sk-... -- rlmx mcp --allow /path/to/project --max-usd 0.50": "needs the "
    "Claude Code CLI and an OpenAI key; tests/mcp/ runs `rlmx mcp` against a real MCP client",
    'client = OpenAI(base_url="http://127.0.0.1:8000/v1", api_key="unused", timeout=900)': "needs `rlmx serve` "
    "running on port 8000; tests/server/ sends this request shape to a real server",
    **{
        command: "run as typed (the committed run: checked against its records and report) by "
        "tests/bench/test_readme_commands.py"
        for command in (
            "rlmx bench generate --family pairs --length 8k --index 3 --show",
            "rlmx bench run --family sniah,oolong --lengths 8k --n 2 --method base,rlm --model gpt-5-mini "
            "--out results/",
            "rlmx bench report results/",
            "rlmx bench run --family sniah --lengths 4k,8k,16k,32k,65k,131k,262k,524k,1m --n 20 --method base,guided "
            "--model local --max-output-tokens 64 --concurrency 1 --out benchmarks/results/bench",
            "rlmx bench run --family oolong --lengths 2k,4k,8k --n 20 --method base,guided --model local "
            "--max-output-tokens 64 --concurrency 1 --out benchmarks/results/bench",
            "rlmx bench report benchmarks/results/bench",
        )
    },
    **{
        command: "runs a paper-sized plan (hundreds of tasks): tests/bench/test_readme_commands.py runs it as "
        "typed with --family and --n narrowing it to one task per length"
        for command in (
            "rlmx bench run --preset table1 --model gpt-5 --out results/table1",
            "rlmx bench run --preset figure1 --model gpt-5 --out results/figure1",
        )
    },
    **{
        command: "run as typed, as real processes, by tests/viewer/test_readme_commands.py"
        for command in (
            "rlmx view",
            "rlmx view 1 --open",
            "rlmx view run.jsonl --html run.html",
            "rlmx traces",
            "rlmx traces --keep 100",
            "rlmx traces --older-than 30 --prune",
            "rlmx traces --redact run.jsonl",
        )
    },
}


# --- python blocks --------------------------------------------------------------------------------------


def _final(value: str) -> str:
    return f"```repl\nFINAL({value!r})\n```"


_COUNT_POSTERS = (
    "```repl\nfrom collections import Counter\n"
    "FINAL(Counter(post['user'] for post in context).most_common(1)[0][0])\n```"
)


def _scripted_openai(model: str, *args: Any, **kwargs: Any) -> ScriptedLM:
    """A model that answers "Which user posted most?" by counting the records it is given."""
    return ScriptedLM(lambda messages: _COUNT_POSTERS, model=model)


def _scripted_local(*args: Any, **kwargs: Any) -> ScriptedLM:
    """The embedded model's stand-in: reads the window it is sent and answers with the launch code in it."""

    def read(messages: list[Any]) -> str:
        found = re.search(r"\b\d{4}-[A-Z]+\b", messages[-1]["content"])
        return found.group(0) if found else "NOT FOUND"

    return ScriptedLM(read, model="local:stand-in")


def _run_python(example: Example, namespace: dict[str, Any]) -> dict[str, Any]:
    exec(compile(example.code, f"README.md:{example.line}", "exec"), namespace)
    return namespace


def _forum() -> list[dict[str, Any]]:
    """examples/forum.jsonl, which the README's model examples read (a clone has it: audit 81 found the README
    naming a forum.jsonl no clone had, and the tests writing their own)."""
    lines = (ROOT / "examples" / "forum.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def check_api(example: Example, tmp: Path) -> None:
    shutil.copytree(ROOT / "examples", tmp / "examples")
    namespace = _run_python(example, {})
    result = namespace["result"]
    posted = collections.Counter(record["user"] for record in _forum()).most_common(2)
    assert posted[0][1] > posted[1][1], "the example's question must have one answer"
    assert (result.status, result.answer) == ("finished", posted[0][0])
    assert result.trace_path is not None and Path(result.trace_path).resolve().parent == (tmp / "traces").resolve()


def check_offline(example: Example, tmp: Path) -> None:
    shutil.copytree(ROOT / "examples", tmp / "examples")
    result = _run_python(example, {})["result"]
    assert result.status == "finished" and "7391-KESTREL" in result.answer


def check_budget(example: Example, tmp: Path) -> None:
    from rlmx import Budget

    shown = eval(example.code, {"Budget": Budget})
    assert shown == Budget(), "the README's Budget(...) line must show the defaults"


def check_typed(example: Example, tmp: Path) -> None:
    from rlmx import RLM

    rlm = RLM(ScriptedLM(["```repl\nSUBMIT(culprit='bob', first_seen=1042)\n```"]), trace_dir=tmp / "traces")
    namespace = _run_python(example, {"rlm": rlm, "logs": "build 1042 failed after bob's commit"})
    value = namespace["result"].value
    assert (value.culprit, value.first_seen) == ("bob", 1042)


def check_session(example: Example, tmp: Path) -> None:
    from rlmx import RLM

    (tmp / "app.log").write_text("GET /a 500\nGET /b 200\n", encoding="utf-8")
    (tmp / "routes.txt").write_text("/a\n/b\n", encoding="utf-8")
    replies = [_final("1"), "```repl\nFINAL(context_1.split()[0])\n```"]
    rlm = RLM(ScriptedLM(replies), trace_dir=tmp / "traces")
    namespace = _run_python(example, {"rlm": rlm, "Path": Path})
    assert [turn["answer"] for turn in namespace["s"].history] == ["1", "/a"]


def check_documents_and_tools(example: Example, tmp: Path) -> None:
    from rlmx import RLM

    fpdf = pytest.importorskip("fpdf", reason="fpdf2 writes the example's PDF (dev extra)")
    document = fpdf.FPDF()
    document.set_font("Helvetica", size=12)
    for page in range(1, 53):
        document.add_page()
        document.multi_cell(0, 8, f"Page {page}: the fee is {page * 10} euros.")
    document.output(str(tmp / "contract.pdf"))
    code = (
        "import pypdf\n"
        "pages = len(pypdf.PdfReader('contract.pdf').pages)\n"
        "fee = re.search(r'fee is (\\d+)', context[51]).group(1)\n"
        "FINAL(f'page 52: {fee} euros; a gadget: {price_of(\"gadget\")}; {pages} pages')"
    )
    namespace = _run_python(example, {"lm": ScriptedLM([f"```repl\n{code}\n```"]), "RLM": RLM, "Path": Path})
    result = namespace["result"]
    assert (result.status, result.answer) == ("finished", "page 52: 520 euros; a gadget: 7; 52 pages")
    assert result.usage.tool_calls == 1 and (tmp / ".rlmx-cache" / "subcalls.sqlite").is_file()


def check_scripted_lm(example: Example, tmp: Path) -> None:
    namespace = _run_python(example, {})
    result, root = namespace["result"], namespace["root"]
    assert (result.status, result.answer, result.iterations, len(root.calls)) == ("finished", "3", 2, 2)


PYTHON_CHECKS: dict[str, Callable[[Example, Path], None]] = {
    "rlm = RLM(": check_api,
    "reader = LocalLM()": check_offline,
    "Budget(max_iterations=30, max_depth=None, max_subcalls=None, max_tokens=None, max_input_tokens=None,": (
        check_budget
    ),
    "class Finding(BaseModel):": check_typed,
    'with rlm.session(context=Path("app.log")) as s:': check_session,
    'PRICES = {"widget": 3, "gadget": 7}': check_documents_and_tools,
    'root = ScriptedLM(["```repl\\nwords = context.split()\\nprint(len(words))\\n```", "```repl\\nFINAL(len(words))'
    '\\n```"])': check_scripted_lm,
}


# --- shell commands ---------------------------------------------------------------------------------------


def _readme_reply(request: dict[str, Any]) -> str:
    """A root call (system prompt first) gets a REPL block that finishes with the context's size; anything else
    gets "ok"."""
    if request["messages"][0]["role"] == "system":
        return "```repl\nFINAL(f'{len(context)} items or characters')\n```"
    return "ok"


@pytest.fixture
def openai_double() -> Iterator[FakeOpenAIServer]:
    """A local OpenAI-compatible server answering as `_readme_reply` says."""
    with FakeOpenAIServer(Behaviour(text=_readme_reply)) as server:
        yield server


def run_command(command: str, tmp: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The README's command as typed, with `rlmx` the installed entry point of this interpreter's environment."""
    environ = {k: v for k, v in os.environ.items() if k not in _MODEL_ENV}
    bindir = str(Path(sys.executable).parent)
    environ.update({"PATH": bindir + os.pathsep + environ.get("PATH", ""), "XDG_STATE_HOME": str(tmp / "state")})
    environ.update(env or {})
    if shutil.which("rlmx", path=environ["PATH"]) is None:
        pytest.skip("the rlmx entry point is not installed in this environment")
    return subprocess.run(["bash", "-c", command], capture_output=True, text=True, env=environ, cwd=tmp, timeout=600)


def check_first_run(example: Example, tmp: Path, double: FakeOpenAIServer) -> None:
    if (reason := missing_embedded_model()) is not None:
        pytest.skip(reason)
    shutil.copytree(ROOT / "examples", tmp / "examples")
    proc = run_command(example.code, tmp, {"XDG_CACHE_HOME": str(tmp / "cache")})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split("\n")[0] == "7391-KESTREL"  # then the line it came from (the guided root's source)
    # The first run says where it writes the converted model, as the README does.
    converted = list((tmp / "cache" / "rlmx").glob("SmolLM2-135M-Instruct-*.Q8_0.gguf"))
    assert len(converted) == 1
    assert f"converting the model to Q8_0 (faster on CPU) into {converted[0]}" in proc.stderr
    assert f"rlmx: wrote {converted[0]} (" in proc.stderr


def check_openai_default(example: Example, tmp: Path, double: FakeOpenAIServer) -> None:
    shutil.copytree(ROOT / "examples", tmp / "examples")
    proc = run_command(example.code, tmp, {"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": double.base_url})
    assert (proc.returncode, proc.stdout) == (0, f"{len(_forum())} items or characters\n"), proc.stderr
    assert "gpt-5-mini" in proc.stderr


def check_base_url(example: Example, tmp: Path, double: FakeOpenAIServer) -> None:
    (tmp / "big.txt").write_text("Kestrel is the answer.\n", encoding="utf-8")
    command = example.code.replace("http://localhost:8000/v1", shlex.quote(double.base_url))
    proc = run_command(command, tmp)
    assert (proc.returncode, proc.stdout) == (0, "23 items or characters\n"), proc.stderr


def check_scripted_file(example: Example, tmp: Path, double: FakeOpenAIServer) -> None:
    shutil.copytree(ROOT / "examples", tmp / "examples")
    proc = run_command(example.code, tmp)
    assert (proc.returncode, proc.stdout) == (0, "7391-KESTREL\n"), proc.stderr
    assert "1 sub-call" in proc.stderr


BASH_CHECKS: dict[str, Callable[[Example, Path, FakeOpenAIServer], None]] = {
    'rlmx ask "What is the launch code for the Aurora project?" --context examples/aurora_report.txt': (
        check_first_run
    ),
    'rlmx ask "Which user posted most?" --context examples/forum.jsonl --model gpt-5-mini': check_openai_default,
    'rlmx ask "..." --context big.txt --model Qwen/Qwen3-8B --base-url http://localhost:8000/v1': check_base_url,
    'rlmx ask "What is the launch code?" --context examples/aurora_report.txt --scripted '
    "examples/scripted_aurora.json": check_scripted_file,
}


# --- the tests ----------------------------------------------------------------------------------------------


def test_every_readme_example_is_checked_or_skipped_with_a_reason() -> None:
    examples = readme_examples()
    assert examples, "no examples found in README.md"
    keys = [example.key for example in examples]
    unknown = [key for key in keys if key not in SKIPPED and key not in PYTHON_CHECKS and key not in BASH_CHECKS]
    assert not unknown, f"README examples with no check and no reason to skip: {unknown}"
    stale = [key for key in (*SKIPPED, *PYTHON_CHECKS, *BASH_CHECKS) if key not in keys]
    assert not stale, f"checks for examples no longer in README.md: {stale}"


def _examples(kind: str, checks: dict[str, Any]) -> list[Any]:
    return [
        pytest.param(example, id=f"line{example.line}")
        for example in readme_examples()
        if example.kind == kind and example.key in checks
    ]


@pytest.mark.parametrize("example", _examples("python", PYTHON_CHECKS))
def test_python_example(example: Example, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(rlmx.lm, "OpenAICompatibleLM", _scripted_openai, raising=False)
    monkeypatch.setattr(rlmx.lm, "LocalLM", _scripted_local, raising=False)
    PYTHON_CHECKS[example.key](example, tmp_path)


@pytest.mark.slow
@pytest.mark.model
def test_offline_python_example_with_the_embedded_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if (reason := missing_embedded_model()) is not None:
        pytest.skip(reason)
    example = next(e for e in readme_examples() if PYTHON_CHECKS.get(e.key) is check_offline)
    monkeypatch.chdir(tmp_path)
    check_offline(example, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("example", _examples("bash", BASH_CHECKS))
def test_shell_command(example: Example, tmp_path: Path, openai_double: FakeOpenAIServer) -> None:
    BASH_CHECKS[example.key](example, tmp_path, openai_double)


def test_cli_synopsis_matches_the_parser() -> None:
    """Every flag the README's CLI synopsis shows for `rlmx ask` exists, and every flag of `rlmx ask` is shown."""
    from rlmx.cli import build_parser

    text = README.read_text(encoding="utf-8")
    synopsis = text[text.index("\n## CLI") :].split("```")[1]
    ask_lines = synopsis.split("rlmx serve")[0]
    shown = set(re.findall(r"--[a-z][a-z-]*", ask_lines))
    parser = build_parser()
    commands = next(a for a in parser._actions if a.dest == "command")
    ask = commands.choices["ask"]  # type: ignore[index]
    actual = {flag for action in ask._actions for flag in action.option_strings if flag.startswith("--")}
    assert shown <= actual, f"README shows flags `rlmx ask` does not take: {sorted(shown - actual)}"
    assert actual - {"--help"} <= shown, f"`rlmx ask` flags missing from the README: {sorted(actual - shown)}"


def test_every_commands_synopsis_names_its_flags() -> None:
    """Each command's synopsis line names every flag the command takes (an action counts as named when any of its
    forms is: `-o FILE`, an alias), and only those; "the ... flags of ask" stands for ask's run flags."""
    from rlmx.cli import build_parser

    text = README.read_text(encoding="utf-8")
    synopsis = text[text.index("\n## CLI") :].split("```")[1]
    commands = next(a for a in build_parser()._actions if a.dest == "command")
    ask_only = {"--context", "--file", "--json", "--output-schema", "--quiet"}
    ask = {f for a in commands.choices["ask"]._actions for f in a.option_strings} - ask_only  # type: ignore[index]
    checked = []
    for block in re.split(r"\n(?=rlmx )", synopsis.strip()):
        name = block.split()[1]
        if name not in ("serve", "mcp", "view", "traces", "doctor"):
            continue
        named = set(re.findall(r"(?<![\w-])--?[a-z][a-z-]*", block.split("(see")[0])) | (
            ask if "flags of ask" in block else set()
        )
        parser = commands.choices[name]  # type: ignore[index]
        actions = [a for a in parser._actions if a.option_strings and "--help" not in a.option_strings]
        missing = [a.option_strings[-1] for a in actions if not named & set(a.option_strings)]
        flags = {f for a in parser._actions for f in a.option_strings}
        assert not missing, f"`rlmx {name}` flags missing from the README's synopsis: {missing}"
        assert {f for f in named if f.startswith("--")} <= flags, f"README shows flags `rlmx {name}` lacks"
        checked.append(name)
    assert sorted(checked) == ["doctor", "mcp", "serve", "traces", "view"]


def test_the_scripted_file_shown_is_the_one_in_examples() -> None:
    """The README's ```json block is examples/scripted_aurora.json, the file its command replays, word for word."""
    text = README.read_text(encoding="utf-8")
    shown = re.search(r"`examples/scripted_aurora.json`:\n\n```json\n(.*?)^```", text, re.MULTILINE | re.DOTALL)
    assert shown is not None, "the README no longer shows the scripted file"
    assert shown.group(1) == (ROOT / "examples" / "scripted_aurora.json").read_text(encoding="utf-8")


def test_readme_names_only_files_a_clone_has() -> None:
    """Paths the README points at exist in the repository, and it points at nothing beside it."""
    text = README.read_text(encoding="utf-8")
    assert "../" not in text, "README.md points outside the repository, which a clone does not have"
    named = set(re.findall(r"`((?:src|tests|benchmarks|examples)/[\w./-]+)`", text))
    missing = sorted(path for path in named if not (ROOT / path).exists())
    assert not missing, f"README.md names files the repository does not have: {missing}"
