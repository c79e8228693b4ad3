"""The `rlmx` command line, run for real as a subprocess with scripted replies; model resolution in process."""

from __future__ import annotations

import importlib.util
import io
import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from fake_openai_server import Behaviour, FakeOpenAIServer, Reply, error_body
from rlmx.cli import (
    DEFAULT_OPENAI_MODEL,
    ModelPlan,
    UsageError,
    build_models,
    build_parser,
    context_arguments,
    default_trace_dir,
    plan_models,
    resolve_models,
)
from rlmx.events import Event
from rlmx.lm.openai import OpenAICompatibleLM
from rlmx.lm.scripted import ScriptedLM
from rlmx.progress import LiveTree, progress_view
from scripting import cli_environ, closed_port, missing_embedded_model, run_cli

FINAL_LENGTH = "```repl\nFINAL('length ' + str(len(context)))\n```"


def write_script(tmp_path: Path, replies: Any, name: str = "script.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(replies), encoding="utf-8")
    return str(path)


def write_text(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return str(path)


# --- end to end -----------------------------------------------------------------------------------


def test_answer_on_stdout_and_progress_on_stderr(tmp_path: Path) -> None:
    notes = write_text(tmp_path, "notes.txt", "hello world\n")
    script = write_script(
        tmp_path,
        ["```repl\nsummary = llm_query('Summarize: ' + context)\nprint(summary)\n```", "a greeting", FINAL_LENGTH],
    )
    proc = run_cli("ask", "How long is it?", "--context", notes, "--scripted", script, tmp_path=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "length 12\n"
    err = proc.stderr
    assert "rlmx: model: scripted replies" in err
    assert "turn 1 · cell 1 ok" in err and "1 sub-call" in err
    assert "-> 0/s" in err and "llm_query" in err and "<- 0/s" in err
    assert "tokens " in err and " in / " in err
    assert "finished · finished by final" in err
    assert "\x1b[" not in err  # stderr is a pipe: plain lines, no colour codes
    traces = list((tmp_path / "state" / "rlmx" / "traces").glob("*.jsonl"))
    assert len(traces) == 1
    assert f"rlmx: trace: {traces[0]}" in err


def test_json_output(tmp_path: Path) -> None:
    notes = write_text(tmp_path, "notes.txt", "abc")
    script = write_script(tmp_path, [FINAL_LENGTH])
    trace_dir = tmp_path / "traces"
    proc = run_cli(
        "ask", "q", "-c", notes, "--scripted", script, "--json", "--trace-dir", str(trace_dir), tmp_path=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["status"] == "finished"
    assert data["answer"] == "length 3"
    assert data["usage"]["calls"] == 1 and data["usage"]["input_tokens"] > 0
    trace = Path(data["trace_path"])
    assert trace.parent == trace_dir and trace.is_file()
    events = [json.loads(line)["type"] for line in trace.read_text(encoding="utf-8").splitlines()]
    assert events[0] == "run_start" and events[-1] == "run_end"


def test_output_schema_validates_the_answer(tmp_path: Path) -> None:
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps({"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}))
    script = write_script(tmp_path, ["```repl\nSUBMIT(n='three')\n```", "```repl\nSUBMIT(n=len(context))\n```"])
    notes = write_text(tmp_path, "notes.txt", "abc")
    proc = run_cli("ask", "q", "-c", notes, "--scripted", script, "--output-schema", str(schema), tmp_path=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"n": 3}


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16"], ids=["utf8-bom", "utf16-bom"])
def test_option_files_are_read_as_every_text_file_is(tmp_path: Path, encoding: str) -> None:
    # PowerShell 5's `>` and Notepad's "UTF-8 with BOM": these files were refused ("Unexpected UTF-8 BOM", "can't
    # decode byte 0xff") though the same bytes load as a --context.
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps({"type": "object", "properties": {"n": {"type": "integer"}}}), encoding=encoding)
    script = tmp_path / "script.json"
    script.write_text(json.dumps(["```repl\nSUBMIT(n=len(context))\n```"]), encoding=encoding)
    notes = write_text(tmp_path, "notes.txt", "abc")
    proc = run_cli(
        "ask", "q", "-c", notes, "--scripted", str(script), "--output-schema", str(schema), tmp_path=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"n": 3}


def test_usd_budget_without_a_price_is_a_usage_error(tmp_path: Path) -> None:
    proc = run_cli(
        "ask", "q", "--model", "mystery", "--base-url", "http://127.0.0.1:9/v1", "--max-usd", "0.5", tmp_path=tmp_path
    )
    assert proc.returncode == 2 and "no price is known for mystery" in proc.stderr and proc.stdout == ""


def test_a_usd_budget_refusal_names_the_near_price_by_its_flags(tmp_path: Path) -> None:
    # The command line was told the Python API's words (Budget.max_usd, prices={...}) and not the --price it gave.
    url = "http://127.0.0.1:9/v1"
    flags = ["--model", "Qwen/Qwen3-8B", "--base-url", url, "--max-usd", "0.5", "--price", "qwen-3-8b=0.1,0.2"]
    proc = run_cli("ask", "q", *flags, tmp_path=tmp_path)
    said = " ".join(proc.stderr.split())
    assert proc.returncode == 2 and proc.stdout == ""
    assert "--max-usd is set but no price is known for Qwen/Qwen3-8B" in said
    assert "--price qwen-3-8b names no model of this run (did you mean --price Qwen/Qwen3-8B=INPUT,OUTPUT?)" in said
    assert "Budget.max_usd" not in said and "prices=" not in said


def test_quiet_prints_only_the_answer(tmp_path: Path) -> None:
    script = write_script(tmp_path, ["```repl\nFINAL('42')\n```"])
    proc = run_cli("ask", "What is the answer?", "--scripted", script, "--quiet", tmp_path=tmp_path)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "42\n", "")


def test_missing_context_file_is_a_usage_error(tmp_path: Path) -> None:
    script = write_script(tmp_path, [FINAL_LENGTH])
    proc = run_cli("ask", "q", "--context", "nope.txt", "--scripted", script, tmp_path=tmp_path)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "rlmx: error: context file not found: nope.txt" in proc.stderr


@pytest.mark.parametrize(
    "flags",
    [
        ["--bogus"],
        ["--max-iterations", "zero"],
        ["--max-iterations", "0"],
        ["--max-seconds", "-1"],
        ["--root", "neither"],
    ],
)
def test_bad_flag_is_a_usage_error(tmp_path: Path, flags: list[str]) -> None:
    proc = run_cli("ask", "q", *flags, tmp_path=tmp_path)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "error:" in proc.stderr


def test_no_command_prints_help(tmp_path: Path) -> None:
    proc = run_cli(tmp_path=tmp_path)
    assert proc.returncode == 2 and "ask" in proc.stderr


def test_version(tmp_path: Path) -> None:
    from rlmx import __version__

    proc = run_cli("--version", tmp_path=tmp_path)
    assert (proc.returncode, proc.stdout.strip()) == (0, f"rlmx {__version__}")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[not json", "is not valid JSON"),
        ('"one string"', "must hold a JSON list"),
        ("[1, 2]", "must hold a JSON list"),
        ("[]", "must hold a JSON list"),
        ('{"sub": ["x"]}', "must hold a JSON list"),
        ('{"root": [], "sub": ["x"]}', "with at least one root reply"),
    ],
)
def test_bad_script_is_a_usage_error(tmp_path: Path, content: str, message: str) -> None:
    script = write_text(tmp_path, "script.json", content)
    proc = run_cli("ask", "q", "--scripted", script, tmp_path=tmp_path)
    assert proc.returncode == 2
    assert message in proc.stderr and proc.stdout == ""


def test_a_script_with_an_empty_sub_list_scripts_no_sub_call(tmp_path: Path) -> None:
    # README's {"root": [...], "sub": [...]} says nothing of a non-empty "sub": a demo without sub-calls was refused
    script = {"root": ["```repl\nFINAL(len(context))\n```"], "sub": []}
    path = write_text(tmp_path, "script.json", json.dumps(script))
    notes = write_text(tmp_path, "notes.txt", "abcd")
    proc = run_cli("ask", "q", "-c", notes, "--scripted", path, tmp_path=tmp_path)
    assert (proc.returncode, proc.stdout.strip()) == (0, "4"), proc.stderr


def test_unreachable_server_fails_fast_and_names_the_url(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}/v1"
    notes = write_text(tmp_path, "notes.txt", "abc")
    started = time.monotonic()
    proc = run_cli(
        "ask", "q", "-c", notes, "--model", "m", "--base-url", url, "--api-key-env", "SOME_VAR",
        tmp_path=tmp_path, env={"SOME_VAR": "secret"},
    )  # fmt: skip
    assert time.monotonic() - started < 15
    assert proc.returncode == 5
    assert proc.stdout == ""
    assert f"rlmx: error: cannot connect to {url}" in proc.stderr
    assert "Check that the server is running" in proc.stderr
    assert "secret" not in proc.stderr


def test_unset_api_key_variable_is_a_usage_error(tmp_path: Path) -> None:
    proc = run_cli(
        "ask", "q", "--model", "m", "--base-url", "http://127.0.0.1:1/v1", "--api-key-env", "RLMX_TEST_UNSET",
        tmp_path=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "RLMX_TEST_UNSET" in proc.stderr


def test_iteration_budget_exits_3_with_the_best_answer(tmp_path: Path) -> None:
    script = write_script(tmp_path, ["```repl\nprint('still looking')\n```", "My best guess is 7."])
    proc = run_cli("ask", "q", "--scripted", script, "--max-iterations", "1", tmp_path=tmp_path)
    assert proc.returncode == 3, proc.stderr
    assert proc.stdout == "My best guess is 7.\n"
    assert "all turns used" in proc.stderr
    assert "rlmx: budget exhausted: max_iterations" in proc.stderr


def test_exhausted_script_is_an_lm_failure(tmp_path: Path) -> None:
    script = write_script(tmp_path, ["```repl\nprint(1)\n```"])
    proc = run_cli("ask", "q", "--scripted", script, "--json", tmp_path=tmp_path)
    assert proc.returncode == 5
    assert json.loads(proc.stdout)["status"] == "error"
    assert "rlmx: error: the LM failed: ScriptedLM script exhausted" in proc.stderr


def test_folder_context(tmp_path: Path) -> None:
    write_text(tmp_path, "docs/a.txt", "alpha")
    write_text(tmp_path, "docs/sub/b.txt", "beta")
    script = write_script(tmp_path, ["```repl\nFINAL(', '.join(sorted(context)) + ': ' + context['sub/b.txt'])\n```"])
    proc = run_cli("ask", "q", "--context", str(tmp_path / "docs"), "--scripted", script, tmp_path=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "a.txt, sub/b.txt: beta\n"


def test_two_context_files_give_two_variables(tmp_path: Path) -> None:
    first = write_text(tmp_path, "notes.txt", "one")
    second = write_text(tmp_path, "other/sales-2024.csv", "a,b\n1,2\n")
    script = write_script(
        tmp_path,
        [
            "```repl\nprint(sorted(k for k in globals() if not k.startswith('_')))\n```",
            "```repl\nFINAL(context + '|' + sales_2024[0]['b'])\n```",  # a CSV loads as a list of dicts
        ],
    )
    proc = run_cli("ask", "q", "-c", first, "-c", second, "--scripted", script, "--json", tmp_path=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["answer"] == "one|2"
    assert "rlmx: contexts: context <- " in proc.stderr and "sales_2024 <- " in proc.stderr
    trace = Path(json.loads(proc.stdout)["trace_path"])
    cells = [json.loads(line) for line in trace.read_text(encoding="utf-8").splitlines()]
    output = next(e["output"] for e in cells if e["type"] == "cell")
    names = json.loads(output.replace("'", '"'))
    assert "context" in names and "sales_2024" in names


def test_split_script_for_root_and_sub_calls(tmp_path: Path) -> None:
    script = write_script(
        tmp_path,
        {"root": ["```repl\nFINAL(llm_query('hi') + llm_query('again'))\n```"], "sub": ["sub1 ", "sub2"]},
    )
    proc = run_cli("ask", "q", "--scripted", script, "--json", tmp_path=tmp_path)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["answer"] == "sub1 sub2"
    assert set(data["usage"]["by_model"]) == {"scripted-root", "scripted-sub"}


def test_child_rlm_progress_is_indented(tmp_path: Path) -> None:
    script = write_script(
        tmp_path,
        [
            "```repl\nprint(rlm_query('inner question'))\n```",
            "```repl\nFINAL('inner answer')\n```",
            "```repl\nFINAL('outer')\n```",
        ],
    )
    proc = run_cli("ask", "q", "--scripted", script, "--max-depth", "2", tmp_path=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "outer\n"
    lines = proc.stderr.splitlines()
    assert any("  -> 0/s0 rlm_query -> child RLM" in line for line in lines)
    assert any("  child RLM 0.1 starts: inner question" in line for line in lines)
    assert any("  child RLM 0.1 finished" in line for line in lines)
    assert "1 sub-call" in proc.stderr


# --- contexts and models in process ---------------------------------------------------------------


def test_context_names(tmp_path: Path) -> None:
    paths = [write_text(tmp_path, name, "x") for name in ("a.txt", "b.txt", "x/b.md", "llm_query.txt", "2024.txt")]
    paths += [write_text(tmp_path, "context.txt", "x"), write_text(tmp_path, "list.txt", "x")]
    paths += [write_text(tmp_path, "class.txt", "x"), write_text(tmp_path, "re.txt", "x")]  # `import re`
    context, contexts = context_arguments(paths)
    assert context == Path(paths[0])
    expected = ["b", "b_2", "ctx_llm_query", "ctx_2024", "context_2", "ctx_list", "ctx_class", "ctx_re"]
    assert list(contexts) == expected
    assert all(name.isidentifier() for name in contexts)
    assert context_arguments([]) == (None, {})
    with pytest.raises(UsageError, match=r"context file not found: missing\.txt"):
        context_arguments([paths[0], "missing.txt"])


def ask_args(*flags: str) -> Any:
    return build_parser().parse_args(["ask", "q", *flags])


def test_path_flags_expand_a_leading_tilde_without_a_shell(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # an MCP client (no shell) or --flag=~/x passed a literal ~: traces went to <project>/~/rlmx-traces and a script
    # in HOME was "not found"
    monkeypatch.setenv("HOME", str(tmp_path))
    args = ask_args(
        "--trace-dir=~/traces", "--scripted=~/s.json", "--context=~/notes.txt", "--context", "-", "--file=~/f.csv"
    )
    assert (args.trace_dir, args.scripted) == (tmp_path / "traces", tmp_path / "s.json")
    assert args.contexts == [str(tmp_path / "notes.txt"), "-"] and args.files == [str(tmp_path / "f.csv")]
    listed = build_parser().parse_args(["traces", "--trace-dir", "~/t"])
    assert listed.trace_dir == tmp_path / "t"


def test_scripted_wins_over_everything(tmp_path: Path) -> None:
    script = write_script(tmp_path, ["x"])
    environ = {"RLMX_MODEL": "env-model", "OPENAI_API_KEY": "sk-test"}
    root, sub, description = resolve_models(ask_args("--scripted", script, "--model", "m"), environ)
    assert isinstance(root, ScriptedLM) and sub is root
    assert "scripted" in description


def test_an_openai_base_url_left_unused_is_said_with_the_model() -> None:
    # A keyless local server (vLLM, llama.cpp, LM Studio) in OPENAI_BASE_URL got no request, and nothing said why.
    plan = plan_models(ask_args(), {"OPENAI_BASE_URL": "http://127.0.0.1:8000/v1"})
    assert (plan.kind, plan.source) == ("local", "default")
    assert "OPENAI_BASE_URL (http://127.0.0.1:8000/v1) is set but is used only with OPENAI_API_KEY" in plan.unused
    assert "--model NAME --base-url URL" in plan.unused and plan_models(ask_args(), {}).unused == ""


def test_a_context_that_is_a_url_or_a_file_given_as_a_second_word_says_what_to_do(tmp_path: Path) -> None:
    url = run_cli("ask", "q", "--context", "https://example.com/robots.txt", tmp_path=tmp_path)
    assert url.returncode == 2 and "is a URL: rlmx reads local files only" in url.stderr
    notes = write_text(tmp_path, "notes.txt", "the code is 7")
    loose = run_cli("ask", "What is the code?", notes, tmp_path=tmp_path)
    assert loose.returncode == 2 and f"give it as --context {notes}" in loose.stderr


def test_model_flag(tmp_path: Path) -> None:
    args = ask_args("--model", "qwen", "--base-url", "http://127.0.0.1:8000/v1", "--api-key-env", "MY_KEY")
    plan = plan_models(args, {"MY_KEY": "k1", "RLMX_MODEL": "ignored"})
    assert (plan.kind, plan.model, plan.base_url, plan.api_key, plan.source) == (
        "openai", "qwen", "http://127.0.0.1:8000/v1", "k1", "--model"
    )  # fmt: skip
    assert "k1" not in repr(plan)
    root, sub, description = build_models(plan)
    assert isinstance(root, OpenAICompatibleLM) and sub is root
    assert root.model == "qwen" and "http://127.0.0.1:8000/v1" in description
    assert plan_models(ask_args("--model", "qwen", "--base-url", "http://h/v1"), {}).api_key is None
    with pytest.raises(UsageError, match="--base-url needs --model"):
        plan_models(ask_args("--base-url", "http://h/v1"), {})
    with pytest.raises(UsageError, match="http://"):
        plan_models(ask_args("--model", "m", "--base-url", "ftp://h"), {})
    with pytest.raises(UsageError, match="OPENAI_API_KEY"):
        plan_models(ask_args("--model", "gpt-x"), {})
    assert plan_models(ask_args("--model", "gpt-x"), {"OPENAI_API_KEY": "sk"}).api_key == "sk"


def test_rlmx_model_env() -> None:
    environ = {"RLMX_MODEL": "llama", "RLMX_BASE_URL": "http://gpu:8000/v1", "RLMX_API_KEY": "k2"}
    plan = plan_models(ask_args(), environ)
    assert (plan.kind, plan.model, plan.base_url, plan.api_key, plan.source, plan.root) == (
        "openai", "llama", "http://gpu:8000/v1", "k2", "RLMX_MODEL", "lm"
    )  # fmt: skip
    assert plan_models(ask_args(), {"RLMX_MODEL": "llama", "OPENAI_API_KEY": "sk"}).api_key == "sk"
    assert plan_models(ask_args("--root", "guided"), environ).root == "guided"
    with pytest.raises(UsageError, match="RLMX_MODEL is not"):
        plan_models(ask_args(), {"RLMX_BASE_URL": "http://gpu:8000/v1"})


def test_openai_api_key_env() -> None:
    plan = plan_models(ask_args(), {"OPENAI_API_KEY": "sk-3"})
    assert (plan.kind, plan.model, plan.api_key, plan.base_url) == ("openai", DEFAULT_OPENAI_MODEL, "sk-3", None)
    root, _, description = build_models(plan)
    assert isinstance(root, OpenAICompatibleLM) and DEFAULT_OPENAI_MODEL in description


def test_local_model_specs(tmp_path: Path) -> None:
    assert plan_models(ask_args(), {}) == ModelPlan("local", "guided", "default")
    assert plan_models(ask_args("--model", "local"), {"OPENAI_API_KEY": "sk"}) == ModelPlan(
        "local", "guided", "--model"
    )
    gguf = write_text(tmp_path, "m.gguf", "x")
    assert plan_models(ask_args("--model", f"local:{gguf}"), {}).model == gguf
    assert plan_models(ask_args("--model", f"local:{gguf}", "--root", "lm"), {}).root == "lm"
    assert plan_models(ask_args(), {"RLMX_MODEL": f"local:{gguf}"}).source == "RLMX_MODEL"
    with pytest.raises(UsageError, match="model file not found"):
        plan_models(ask_args("--model", "local:/no/such.gguf"), {})


needs_local = pytest.mark.skipif(
    importlib.util.find_spec("llama_cpp") is None, reason="the embedded model needs llama-cpp-python"
)


@needs_local
def test_local_gguf_as_root_builds_without_loading(tmp_path: Path) -> None:
    gguf = write_text(tmp_path, "model.gguf", "not loaded yet")
    root, sub, description = build_models(ModelPlan("local", "lm", "--model", model=gguf, threads=1))
    assert root is sub and root.model == "local:model"
    assert description.startswith("embedded local model")
    assert getattr(root, "n_threads", None) == 1


@needs_local
@pytest.mark.skipif(importlib.util.find_spec("rlmx.lm.guided") is None, reason="rlmx.lm.guided is not there yet")
def test_default_is_the_embedded_model_with_the_guided_root() -> None:
    root, sub, description = resolve_models(ask_args(), {})
    assert root is not sub and sub.model.startswith("local:")
    assert "small local model suited to simple lookups" in description
    assert "--model NAME --base-url URL" in description


def test_default_trace_dir() -> None:
    assert default_trace_dir({"XDG_STATE_HOME": "/state"}) == Path("/state/rlmx/traces")
    assert default_trace_dir({"XDG_STATE_HOME": "relative"}) == Path.home() / ".local/state/rlmx/traces"
    assert default_trace_dir({}) == Path.home() / ".local/state/rlmx/traces"


def test_progress_on_a_terminal_is_the_live_tree_and_stops_it() -> None:
    out = io.StringIO()
    progress = progress_view(Console(file=out, force_terminal=True, width=100))
    assert isinstance(progress, LiveTree)

    def event(type_: str, depth: int = 0, **data: Any) -> Event:
        return Event(type_, "run", "0.1" if depth else "0", "0" if depth else None, depth, data)

    progress(event("run_start", contexts=[], root_model="r", sub_model="s", max_depth=2))
    progress(event("iteration", turn=1))
    progress(event("lm_call", model="r", seconds=0.1, input_tokens=1000, output_tokens=10))
    progress(event("cell_start", cell_id="0/c1", turn=1))
    progress(event("subcall_start", subcall_id="0/s0", kind="rlm", requested="rlm", prompt_chars=5))
    progress(event("node_start", depth=1, query="inner"))
    progress(event("node_end", depth=1, status="finished", seconds=0.2, iterations=1))
    progress(event("subcall_end", subcall_id="0/s0", kind="rlm", ok=True, seconds=0.3))
    progress(event("cell", cell_id="0/c1", turn=1, status="ok", seconds=0.4, finished=True))
    assert progress._live.is_started
    progress(event("run_end", status="finished", stop_reason="finished by final", iterations=1))
    assert not progress._live.is_started
    text = out.getvalue()
    assert "child RLM 0.1" in text and "child RLM 0.1 finished" in text
    assert "1 sub-call" in text and "tokens 1,000 in / 10 out" in text


# --- options that cannot work are refused up front (exit 2, nothing runs) -----------------------------------


def test_embedded_model_cannot_be_the_root(tmp_path: Path) -> None:
    notes = write_text(tmp_path, "notes.txt", "abc")
    for flags in (["--root", "lm"], ["--model", "local", "--root", "lm"]):
        proc = run_cli("ask", "q", "-c", notes, *flags, tmp_path=tmp_path)
        assert proc.returncode == 2 and proc.stdout == ""
        assert "cannot" in proc.stderr and "--model local:/path/model.gguf --root lm" in proc.stderr


def test_an_output_schema_file_holding_a_field_map_is_refused_up_front(tmp_path: Path) -> None:
    schema = write_text(tmp_path, "schema.json", json.dumps({"culprit": "string"}))
    notes = write_text(tmp_path, "notes.txt", "abc")
    script = write_script(tmp_path, [FINAL_LENGTH])
    proc = run_cli("ask", "q", "-c", notes, "--scripted", script, "--output-schema", schema, tmp_path=tmp_path)
    assert proc.returncode == 2 and proc.stdout == ""
    assert f"--output-schema file {schema} is not a JSON Schema" in proc.stderr
    assert '{"type": "object", "properties": {"culprit": {"type": "string"}}' in proc.stderr
    assert not (tmp_path / "state").exists()  # refused before a run (and its trace) started


def test_output_schema_is_refused_for_the_guided_root(tmp_path: Path) -> None:
    schema = write_text(tmp_path, "schema.json", json.dumps({"type": "object"}))
    notes = write_text(tmp_path, "notes.txt", "abc")
    script = write_script(tmp_path, [FINAL_LENGTH])
    for flags in ([], ["--scripted", script, "--root", "guided"]):
        proc = run_cli("ask", "q", "-c", notes, "--output-schema", schema, *flags, tmp_path=tmp_path)
        assert proc.returncode == 2 and proc.stdout == ""
        assert "--output-schema needs a model that writes its own code" in proc.stderr
        assert not (tmp_path / "state").exists()  # refused before a run (and its trace) started


@pytest.mark.parametrize(
    ("spec", "suggestion"),
    [("locl", "`local`"), ("lcoal", "`local`"), ("Local", "`local`"), ("locla:/m.gguf", "`local:/m.gguf`")],
)
def test_misspelt_local_model_suggests_local(tmp_path: Path, spec: str, suggestion: str) -> None:
    proc = run_cli("ask", "q", "--model", spec, tmp_path=tmp_path)
    assert proc.returncode == 2 and proc.stdout == ""
    assert f"did you mean {suggestion}?" in proc.stderr and "API key" not in proc.stderr.split("(")[0]


def test_bare_gguf_path_suggests_local_prefix(tmp_path: Path) -> None:
    gguf = write_text(tmp_path, "model.gguf", "x")
    with pytest.raises(UsageError, match=f"did you mean `local:{gguf}`"):
        plan_models(ask_args("--model", gguf), {})
    with pytest.raises(UsageError, match="did you mean `local`"):
        plan_models(ask_args(), {"RLMX_MODEL": "locl"})
    # Real model names are left alone, with or without a server.
    assert plan_models(ask_args("--model", "llama3"), {"OPENAI_API_KEY": "sk"}).model == "llama3"
    assert plan_models(ask_args("--model", "locl", "--base-url", "http://h/v1"), {}).model == "locl"


def test_threads_from_flag_or_environment(tmp_path: Path) -> None:
    assert plan_models(ask_args("--threads", "3"), {"RLMX_THREADS": "1"}).threads == 3
    assert plan_models(ask_args(), {"RLMX_THREADS": "1"}).threads == 1
    assert plan_models(ask_args(), {}).threads is None
    with pytest.raises(UsageError, match="RLMX_THREADS must be a whole number"):
        plan_models(ask_args(), {"RLMX_THREADS": "many"})
    proc = run_cli("ask", "q", "--threads", "0", tmp_path=tmp_path)
    assert proc.returncode == 2 and "--threads" in proc.stderr


def test_more_threads_than_cores_is_said_with_the_model() -> None:
    # RLMX_THREADS=99 on 2 cores was taken without a word, and llama.cpp's spin-waiting threads ran far slower.
    from rlmx.lm.local import available_cores

    many = available_cores() + 1
    assert f"RLMX_THREADS {many} is more than the" in plan_models(ask_args(), {"RLMX_THREADS": str(many)}).unused
    assert f"--threads {many} is more than the" in plan_models(ask_args("--threads", str(many)), {}).unused
    assert "more than the" not in plan_models(ask_args("--threads", str(available_cores())), {}).unused


def test_help_shows_defaults_and_exit_codes(tmp_path: Path) -> None:
    proc = run_cli("ask", "--help", tmp_path=tmp_path)
    assert proc.returncode == 0
    text = " ".join(proc.stdout.split())
    assert "turns per RLM node (default: 30)" in text
    assert "(default: 60)" in text and "(default: 1)" in text
    assert "130 interrupted" in text and "~/.cache/rlmx" in text


# --- contexts: none, empty, stdin, binary files skipped --------------------------------------------------


def test_no_context_is_refused_for_the_guided_root_and_warned_about_otherwise(tmp_path: Path) -> None:
    proc = run_cli("ask", "q", tmp_path=tmp_path)
    assert proc.returncode == 2 and proc.stdout == ""
    assert "no --context given" in proc.stderr and "--context PATH" in proc.stderr
    script = write_script(tmp_path, ["```repl\nFINAL('4')\n```"])
    proc = run_cli("ask", "What is 2+2?", "--scripted", script, tmp_path=tmp_path)
    assert (proc.returncode, proc.stdout) == (0, "4\n")
    assert "warning: no --context given; the model answers from the question alone" in proc.stderr


def test_empty_context_is_refused_for_the_guided_root_and_warned_about_otherwise(tmp_path: Path) -> None:
    empty = write_text(tmp_path, "empty.txt", "  \n")
    proc = run_cli("ask", "q", "-c", empty, tmp_path=tmp_path)
    assert proc.returncode == 2 and "the context is empty" in proc.stderr and "empty.txt" in proc.stderr
    script = write_script(tmp_path, [FINAL_LENGTH])
    proc = run_cli("ask", "q", "-c", empty, "--scripted", script, "--quiet", tmp_path=tmp_path)
    assert (proc.returncode, proc.stdout) == (0, "length 3\n")
    assert "warning: context `context`" in proc.stderr and "is empty" in proc.stderr


def test_context_from_standard_input(tmp_path: Path) -> None:
    script = write_script(tmp_path, ["```repl\nFINAL(context.upper() + '|' + other)\n```"])
    other = write_text(tmp_path, "other.txt", "file")
    proc = run_cli(
        "ask", "q", "-c", "-", "-c", other, "--scripted", script, "-q", tmp_path=tmp_path, stdin="piped text"
    )
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "PIPED TEXT|file\n", "")
    first, named = context_arguments([other, "-"], read_stdin=lambda: "from stdin")
    assert first == Path(other) and named == {"stdin": "from stdin"}
    with pytest.raises(UsageError, match="only once"):
        context_arguments(["-", "-"], read_stdin=lambda: "x")


def test_binary_files_skipped_in_a_folder_are_reported(tmp_path: Path) -> None:
    write_text(tmp_path, "docs/a.txt", "alpha")
    (tmp_path / "docs" / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00binary")
    script = write_script(tmp_path, ["```repl\nFINAL(', '.join(context))\n```"])
    proc = run_cli("ask", "q", "-c", str(tmp_path / "docs"), "--scripted", script, "--quiet", tmp_path=tmp_path)
    assert (proc.returncode, proc.stdout) == (0, "a.txt\n")
    assert "warning: 1 file(s) skipped in `context`: logo.png (binary)" in proc.stderr


# --- exit codes a script can trust -------------------------------------------------------------------------


def test_max_subcalls_zero_is_accepted_and_refuses_every_sub_call(tmp_path: Path) -> None:
    script = write_script(
        tmp_path,
        ["```repl\ntry:\n    llm_query('x')\nexcept RuntimeError as exc:\n    FINAL('refused: ' + str(exc)[:40])\n```"],
    )
    proc = run_cli("ask", "q", "--scripted", script, "--max-subcalls", "0", "-q", tmp_path=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("refused: max_subcalls: sub-call budge")


def test_a_budget_stop_tells_the_user_what_happened_not_what_the_model_should_do(tmp_path: Path) -> None:
    script = write_script(tmp_path, ["```repl\nprint(llm_query('x' * 4000))\n```", "```repl\nFINAL('x')\n```"])
    proc = run_cli("ask", "q", "--scripted", script, "--max-tokens", "1200", "--json", tmp_path=tmp_path)
    data = json.loads(proc.stdout)
    assert proc.returncode == 3 and data["stop_reason"].startswith("max_tokens: token budget")
    assert "Finish with what you have" not in data["stop_reason"]
    assert "Finish with what you have" not in proc.stderr
    trace = Path(data["trace_path"]).read_text(encoding="utf-8")
    assert "Finish with what you have" in trace  # the model, and only the model, was told


def test_a_time_budget_keeps_what_the_interrupted_cell_wrote_to_answer(tmp_path: Path) -> None:
    script = write_script(
        tmp_path, ["```repl\nanswer['content'] = 'partial: 42'\nimport time\ntime.sleep(60)\n```", "never"]
    )
    # A whole scripted run takes ~0.3 s: 2 s is ample for the cell to write before the deadline stops it.
    proc = run_cli("ask", "q", "--scripted", script, "--max-seconds", "2", "--json", tmp_path=tmp_path)
    assert proc.returncode == 3, proc.stderr
    data = json.loads(proc.stdout)
    assert (data["answer"], data["answer_source"]) == ("partial: 42", "answer_buffer")
    assert data["stop_reason"].startswith("max_seconds")


def _sub_calls_overloaded(request: dict[str, Any]) -> Reply | None:
    """Every plain sub-call (one user message) gets HTTP 400; the root (a system prompt first) is answered."""
    messages = request["messages"]
    if len(messages) == 1 and messages[0]["role"] == "user":
        return Reply(400, error_body("model overloaded"))
    return None


def test_a_run_whose_every_sub_call_failed_is_an_lm_failure(tmp_path: Path) -> None:
    root_replies = [
        "```repl\ntry:\n    print(llm_query('read this'))\nexcept RuntimeError as exc:\n    print(exc)\n```",
        "```repl\nFINAL('NOT FOUND')\n```",
    ]
    behaviour = Behaviour(text=lambda request: root_replies.pop(0), route=_sub_calls_overloaded)
    notes = write_text(tmp_path, "notes.txt", "abc")
    with FakeOpenAIServer(behaviour) as server:
        proc = run_cli(
            "ask", "q", "-c", notes, "--model", "m", "--base-url", server.base_url, "--json", tmp_path=tmp_path
        )  # fmt: skip
    assert proc.returncode == 5, proc.stderr
    data = json.loads(proc.stdout)
    assert data["status"] == "error" and data["answer"] == "NOT FOUND"
    assert data["stop_reason"].startswith("every sub-call failed")
    assert "model overloaded" in proc.stderr


def test_max_tokens_per_call_is_the_cap_each_call_carries_under_a_budget(tmp_path: Path) -> None:
    notes = write_text(tmp_path, "notes.txt", "abc")
    with FakeOpenAIServer(Behaviour(text="```repl\nFINAL(len(context))\n```")) as server:
        proc = run_cli(
            "ask", "q", "-c", notes, "--model", "m", "--base-url", server.base_url, "--max-tokens", "100000",
            "--max-tokens-per-call", "777", "-q", tmp_path=tmp_path,
        )  # fmt: skip
        sent = [r.body.get("max_tokens") for r in server.requests]
    assert (proc.returncode, proc.stdout.strip(), sent) == (0, "3", [777]), proc.stderr


def test_a_model_file_llama_cpp_cannot_load_fails_before_the_run(tmp_path: Path) -> None:
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.skip("the embedded model needs llama-cpp-python")
    notes = write_text(tmp_path, "notes.txt", "The code is 7391.")
    bogus = write_text(tmp_path, "passwd", "root:x:0:0:root:/root:/bin/bash\n")
    proc = run_cli("ask", "What is the code?", "-c", notes, "--model", f"local:{bogus}", tmp_path=tmp_path)
    assert proc.returncode == 5 and proc.stdout == ""
    assert "llama.cpp could not load" in proc.stderr and "is it a GGUF model file?" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not list((tmp_path / "state").rglob("*.jsonl"))  # no run was started (its trace folder is checked first)


# --- Ctrl-C -------------------------------------------------------------------------------------------------


def interrupted_cli(
    tmp_path: Path, *args: str, once: str, settle: float, presses: int = 1, timeout: float = 20
) -> tuple[int, str, str]:
    """Start `python -m rlmx.cli ARGS`, press Ctrl-C `presses` times `settle` seconds after stderr shows a line
    containing `once`; return (exit code, stdout, stderr)."""
    import signal

    proc = subprocess.Popen(
        [sys.executable, "-m", "rlmx.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_environ(tmp_path, {"PYTHONUNBUFFERED": "1"}),
        cwd=tmp_path,
    )
    assert proc.stderr is not None
    seen: list[str] = []
    try:
        for line in proc.stderr:
            seen.append(line)
            if once in line:
                break
        else:
            raise AssertionError(f"{once!r} never came; stderr: {''.join(seen)}")
        time.sleep(settle)
        for _ in range(presses):
            proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=timeout)
    finally:
        proc.kill()
    return proc.returncode, out, "".join(seen) + err


@pytest.mark.parametrize("presses", [1, 2])
def test_ctrl_c_stops_a_running_cell_and_exits_130(tmp_path: Path, presses: int) -> None:
    script = write_script(tmp_path, ["```repl\nimport time\nprint('working')\ntime.sleep(120)\n```", "never"])
    # 0.5 s after turn 1 shows, the cell has started.
    code, out, stderr = interrupted_cli(
        tmp_path, "ask", "q", "--scripted", script, once="turn 1", settle=0.5, presses=presses
    )
    assert code == 130, stderr
    assert "interrupted" in stderr
    assert "Traceback" not in stderr and "Exception ignored" not in stderr
    assert out == ""
    # It says how to see what the run did: the run id `rlmx view` takes, a trace in the default folder.
    shown = re.search(r"what it did is in its trace: rlmx view (\w+)\n", stderr)
    assert shown is not None, stderr
    assert list((tmp_path / "state" / "rlmx" / "traces").glob(f"*-{shown.group(1)}.jsonl"))


needs_embedded_model = pytest.mark.skipif(missing_embedded_model() is not None, reason=missing_embedded_model() or "")
AURORA = Path(__file__).resolve().parents[1] / "examples" / "aurora_report.txt"


@pytest.mark.slow
@pytest.mark.model
@needs_embedded_model
def test_ctrl_c_while_the_embedded_model_reads_exits_130(tmp_path: Path) -> None:
    question = "What is the launch code for the Aurora project?"
    # A sub-call is on its way to the model once llm_query shows.
    code, out, stderr = interrupted_cli(
        tmp_path, "ask", question, "-c", str(AURORA), once="llm_query", settle=0.3, timeout=30
    )
    assert code == 130, stderr
    assert "Traceback" not in stderr and "Exception ignored" not in stderr and out == ""


@pytest.mark.slow
@pytest.mark.model
@needs_embedded_model
def test_a_time_budget_stops_the_embedded_model(tmp_path: Path) -> None:
    # 0.3 s: the whole run took 0.9 s here once its start got faster (1 s no longer stopped it); each of the two
    # reads takes 0.4-0.8 s on 2 cores, so the deadline falls inside them
    proc = run_cli(
        "ask", "What is the launch code for the Aurora project?", "-c", str(AURORA), "--max-seconds", "0.3", "--json",
        tmp_path=tmp_path, timeout=60,
    )  # fmt: skip
    data = json.loads(proc.stdout)
    assert proc.returncode == 3 and data["status"] == "budget_exhausted", proc.stderr
    assert data["stop_reason"].startswith("max_seconds")


def test_a_time_budget_keeps_answer_written_before_a_slow_sub_call(tmp_path: Path) -> None:
    """The deadline stops the sub-call the cell waits on; the cell then ends and reports what it had written."""
    from rlmx import RLM, Budget

    root = ScriptedLM(["```repl\nanswer['content'] = 'partial: 7'\nprint(llm_query('read this'))\n```", "never"])
    slow_reader = ScriptedLM(["too late"], delay=60)
    rlm = RLM(root, sub_lm=slow_reader, budget=Budget(max_seconds=2), trace_dir=tmp_path)  # ample: a run is ~0.3 s
    result = rlm.completion("q", context="abc")
    assert (result.status, result.answer, result.answer_source) == ("budget_exhausted", "partial: 7", "answer_buffer")
    assert result.stop_reason.startswith("max_seconds")


def test_a_budget_stop_with_no_answer_prints_no_empty_line_and_says_so(tmp_path: Path) -> None:
    notes = write_text(tmp_path, "notes.txt", "hello world\n")
    script = write_script(tmp_path, ["```repl\nimport time\ntime.sleep(20)\n```"])
    proc = run_cli("ask", "Slow?", "--context", notes, "--scripted", script, "--max-seconds", "1", tmp_path=tmp_path)
    assert proc.returncode == 3, proc.stderr
    assert proc.stdout == ""
    assert "no answer was found before it ran out" in proc.stderr
    reason = proc.stderr.split("rlmx: budget exhausted: ", 1)[1].split("\n", 1)[0]
    assert reason.count("time budget is spent") == 1, reason  # the reason is said once, not twice


def test_a_ctrl_c_while_the_rlmx_command_loads_quits_with_130_and_no_traceback(tmp_path: Path) -> None:
    # The console script's argv[0] is `rlmx`: from the package's first line on, SIGINT quits quietly.
    code = "import os, signal, sys; sys.argv[0] = 'rlmx'; import rlmx; os.kill(os.getpid(), signal.SIGINT); print('on')"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert (proc.returncode, proc.stdout, proc.stderr) == (130, "", "")
    # A library user's program keeps Python's own Ctrl-C, and so does the command once main() runs.
    code = "import signal, rlmx; print(signal.getsignal(signal.SIGINT) is signal.default_int_handler)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60).stdout == "True\n"
    code = (
        "import signal, sys; sys.argv[0] = 'rlmx'; from rlmx.cli import main; main(['--version']);"
        "print(signal.getsignal(signal.SIGINT) is signal.default_int_handler)"
    )
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60).stdout.endswith(
        "True\n"
    )


def test_price_flag_lets_a_usd_budget_run_with_a_model_the_database_does_not_know(tmp_path: Path) -> None:
    notes = write_text(tmp_path, "notes.txt", "hello world\n")
    script = write_script(tmp_path, [FINAL_LENGTH])
    refused = run_cli(
        "ask",
        "Len?",
        "-c",
        notes,
        "--model",
        "my-gw-model",
        "--base-url",
        "http://127.0.0.1:9/v1",
        "--max-usd",
        "1",
        tmp_path=tmp_path,
    )
    assert refused.returncode == 2 and "--price MODEL=INPUT,OUTPUT" in refused.stderr
    bad = run_cli("ask", "Len?", "-c", notes, "--scripted", script, "--price", "x=1", tmp_path=tmp_path)
    assert bad.returncode == 2 and "MODEL=INPUT,OUTPUT" in bad.stderr and "Traceback" not in bad.stderr
    proc = run_cli(
        "ask",
        "Len?",
        "-c",
        notes,
        "--scripted",
        script,
        "--price",
        "scripted=1,2",
        "--max-usd",
        "1",
        "--json",
        tmp_path=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["usage"]["cost_usd"] > 0  # priced by the flag, not free


def test_an_answer_the_console_cannot_encode_is_escaped_not_lost(tmp_path: Path) -> None:
    (tmp_path / "c.txt").write_text("some text")
    script = tmp_path / "s.json"
    script.write_text(json.dumps(["```repl\nFINAL('caf\u00e9 \U0001f600')\n```"]))
    for extra in ([], ["--json"]):
        done = run_cli(
            "ask", "q?", "--context", "c.txt", "--scripted", str(script), "--quiet", *extra,
            tmp_path=tmp_path, env={"PYTHONIOENCODING": "ascii"},
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-500:]
        assert "Traceback" not in done.stderr
        if extra:  # JSON's own escapes: the console's (\xe9) are not JSON
            assert json.loads(done.stdout)["answer"] == "caf\u00e9 \U0001f600"
        else:
            assert "caf\\xe9 \\U0001f600" in done.stdout


def test_a_context_file_name_is_named_as_python_reads_it() -> None:
    # Python reads `ﬁndings` and `ｎｏｔｅｓ` as `findings` and `notes`: a second --context so named exited 2.
    from rlmx.cli import _identifier

    assert [_identifier(stem) for stem in ("\ufb01ndings", "\uff4e\uff4f\uff54\uff45\uff53")] == ["findings", "notes"]


def test_ctrl_c_on_a_terminal_shows_the_cursor_without_printing_its_escape(tmp_path: Path) -> None:
    # The show-cursor sequence went through the escaping of text for terminals: "\x1b[?25h" appeared as text.
    import contextlib
    import os
    import pty
    import signal

    script = write_script(tmp_path, ["```repl\nimport time\nprint('working')\ntime.sleep(120)\n```", "never"])
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "rlmx.cli", "ask", "q", "--scripted", script],
        stdout=subprocess.DEVNULL,
        stderr=follower,
        env=cli_environ(tmp_path, {"PYTHONUNBUFFERED": "1"}),
        cwd=tmp_path,
    )
    os.close(follower)
    shown = b""
    try:
        deadline = time.monotonic() + 30
        while b"turn 1" not in shown and time.monotonic() < deadline:
            shown += os.read(leader, 65536)
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=20)
        with contextlib.suppress(OSError):  # the terminal's other end is gone once the process ends
            while chunk := os.read(leader, 65536):
                shown += chunk
    finally:
        proc.kill()
        os.close(leader)
    assert proc.returncode == 130
    assert b"interrupted after" in shown and b"\\x1b[?25h" not in shown and b"\x1b[?25h" in shown


def test_a_reader_that_goes_away_ends_the_output_not_the_run(tmp_path: Path) -> None:
    # `rlmx ask ... 2>&1 | head -2`: rich's console raised SystemExit(1) from a progress line inside the run, which
    # failed (its trace said "error: SystemExit") and exited 1, a code the README does not give.
    script = write_script(tmp_path, ["```repl\nprint('working')\n```", "```repl\nFINAL('done')\n```"])
    context = write_text(tmp_path, "c.txt", "x")
    proc = subprocess.Popen(
        [sys.executable, "-m", "rlmx.cli", "ask", "q", "--context", context, "--scripted", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=cli_environ(tmp_path, {"PYTHONUNBUFFERED": "1"}),
        cwd=tmp_path,
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()  # what `head -1` reads, then it goes
    proc.stdout.close()
    assert proc.wait(timeout=60) == 141 and first.startswith(b"rlmx:")
    listed = run_cli("traces", "--json", tmp_path=tmp_path)
    assert json.loads(listed.stdout)[0]["status"] == "finished"


def test_a_mistyped_flag_gets_the_flag_it_is_close_to(tmp_path: Path) -> None:
    for args, meant in (
        (("ask", "q", "--contxt", "x"), "--context"),
        (("serve", "--prot", "80"), "--port"),
        (("ask", "q", "--max-iteratons", "3"), "--max-iterations"),
    ):
        done = run_cli(*args, tmp_path=tmp_path)
        assert done.returncode == 2 and f"(did you mean {meant}?)" in done.stderr, done.stderr
    assert "did you mean" not in run_cli("ask", "q", "--zzz", tmp_path=tmp_path).stderr


def test_rlmx_api_key_goes_with_a_model_named_on_the_command_line() -> None:
    # RLMX_API_KEY set for a vLLM started with --api-key, the model given as --model/--base-url: the key was dropped,
    # the server said 401, and rlmx's advice was to set RLMX_API_KEY, which was set.
    served = ask_args("--model", "m", "--base-url", "http://gpu:8000/v1")
    assert plan_models(served, {"RLMX_API_KEY": "vllm-key", "OPENAI_API_KEY": "sk"}).api_key == "vllm-key"
    assert plan_models(served, {}).api_key is None  # no key at all: the server may need none
    openai = ask_args("--model", "gpt-x")  # the OpenAI API itself: its own key first, as the SDK reads it
    assert plan_models(openai, {"RLMX_API_KEY": "k", "OPENAI_API_KEY": "sk"}).api_key == "sk"
    assert plan_models(openai, {"RLMX_API_KEY": "k"}).api_key == "k"
    environ = {"RLMX_API_KEY": "k", "NAMED": "n"}
    assert (
        plan_models(ask_args("--model", "m", "--base-url", "http://h/v1", "--api-key-env", "NAMED"), environ).api_key
        == "n"
    )
    unused = plan_models(ask_args(), {"RLMX_API_KEY": "k"})  # the embedded model: say the key went unused
    assert unused.kind == "local" and "RLMX_API_KEY is set but names no model" in unused.unused


@pytest.mark.parametrize("json_output", [False, True])
def test_a_reader_that_goes_away_during_a_long_answer_gets_the_pipe_exit_code(
    tmp_path: Path, json_output: bool
) -> None:
    # `rlmx ask ... | head` with an answer past the pipe's buffer: the write came back short without an error, the
    # rest was dropped, and rlmx exited 0 as though the reader had had it all.
    script = write_script(tmp_path, ["```repl\nFINAL('line\\n' * 200000)\n```"])
    context = write_text(tmp_path, "c.txt", "x")
    command = [sys.executable, "-m", "rlmx.cli", "ask", "q", "--context", context, "--scripted", script, "-q"]
    proc = subprocess.Popen(
        [*command, *(["--json"] if json_output else [])],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=cli_environ(tmp_path),
        cwd=tmp_path,
    )
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.read(10)  # what `head -c 10` reads, then it goes
    proc.stdout.close()
    with proc.stderr:
        assert proc.wait(timeout=60) == 141 and len(first) == 10 and proc.stderr.read() == b""


def test_a_context_file_name_keeps_every_character_a_python_name_may_hold() -> None:
    # `हिन्दी.txt` became `ह_न_द`: its vowel signs (combining marks) are no \w, though a Python name may hold them.
    from rlmx.cli import _identifier
    from rlmx.context import check_name
    from rlmx.sandbox.frames import RESERVED_NAMES

    stems = ["हिन्दी", "தமிழ்", "ি_data", "日本語 メモ", "café notes", "a - b", "x__y", "2024", "workspace_dir", "ـ"]
    names = [_identifier(stem) for stem in stems]
    assert names[:4] == ["हिन्दी", "தமிழ்", "ctx_ি_data", "日本語_メモ"]  # a name cannot start with a vowel sign
    assert names[4:] == ["café_notes", "a_b", "x__y", "ctx_2024", "ctx_workspace_dir", "ـ"]
    for name in names:
        check_name(name, RESERVED_NAMES)  # each is a name `rlmx ask` can give its context
