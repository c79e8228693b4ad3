"""Whatever the model's code hands back or prints, the run goes on: a cell fails with a message the model can read,
and the REPL keeps its variables. Real worker processes (the default tier), scripted root LMs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rlmx import RLM, Budget
from rlmx.lm import Message, ScriptedLM
from scripting import answering_ok, repl


def feedback(lm: ScriptedLM, turn: int) -> str:
    """What the root LM was told after its reply on `turn` (1-based)."""
    return lm.calls[turn][-1]["content"]


# --- text that is not valid UTF-8 ----------------------------------------------------------------------------------


def test_printing_a_lone_surrogate_is_an_ordinary_cell() -> None:
    lm = ScriptedLM(
        [
            repl("import json\nrow = json.loads('\"cut in half: \\\\ud83d\"')\nprint(row)"),
            repl("FINAL(len(row))"),
        ]
    )
    result = RLM(lm).completion("q", context="c")
    assert result.answer == "14"  # the variable still holds its 14 characters
    assert "cut in half: \ufffd" in feedback(lm, 1)
    assert "REPL restarted" not in feedback(lm, 1)


def test_a_reply_holding_a_lone_surrogate_is_in_the_trace(tmp_path: Path) -> None:
    lm = ScriptedLM(["thinking \ud83d\n" + repl("FINAL('done')")])
    result = RLM(lm, trace_dir=tmp_path).completion("q", context="c")
    assert result.answer == "done" and result.trace_path is not None
    records = [json.loads(line) for line in Path(result.trace_path).read_text(encoding="utf-8").splitlines()]
    responses = [r["response"] for r in records if r["type"] == "lm_call"]
    assert responses and responses[0].startswith("thinking \ufffd")


def test_a_final_answer_with_a_lone_surrogate_comes_back_encodable() -> None:
    lm = ScriptedLM([repl("FINAL('half \\ud83d')")])
    assert RLM(lm).completion("q", context="c").answer == "half \ufffd"


# --- values the model hands back ---------------------------------------------------------------------------------

_DEEP = "deep = []\nfor _ in range(5000):\n    deep = [deep]\n"


@pytest.mark.parametrize(
    "finish",
    ["FINAL(deep)", "answer['content'] = deep\nanswer['ready'] = True", "rlm_query('look', context=deep)"],
)
def test_a_5000_deep_value_fails_its_cell_and_the_run_goes_on(finish: str) -> None:
    lm = ScriptedLM([repl(_DEEP + "kept = 1\n" + finish), repl("FINAL(kept + 1)")])
    result = RLM(lm, sub_lm=ScriptedLM(["sub"])).completion("q", context="c")
    assert (result.status, result.answer) == ("finished", "2")
    told = feedback(lm, 1)
    assert "nested more than 256 levels deep" in told and "REPL restarted" not in told


def test_a_circular_final_value_fails_its_cell() -> None:
    lm = ScriptedLM([repl("loop = []\nloop.append(loop)\nFINAL(loop)"), repl("FINAL('recovered')")])
    assert RLM(lm).completion("q", context="c").answer == "recovered"
    assert "circular reference" in feedback(lm, 1)


def test_a_huge_batch_is_refused_before_anything_is_spent() -> None:
    sub = ScriptedLM(lambda messages: "x")
    lm = ScriptedLM([repl("outs = llm_query_batched(['p'] * 500_000)"), repl("FINAL('went on')")])
    result = RLM(lm, sub_lm=sub).completion("q", context="c")
    assert result.answer == "went on"
    assert sub.calls == [] and result.usage.to_dict()["subcalls"] == 0
    assert "500,000 prompts in one call is over the 1,000 sub-calls a cell may make" in feedback(lm, 1)


def test_answers_too_big_for_one_frame_fail_the_cell_not_the_run() -> None:
    sub = ScriptedLM(lambda messages: "y" * 40_000)
    lm = ScriptedLM(
        [repl("kept = 'yes'\nouts = llm_query_batched(['a', 'b', 'c'])"), repl("FINAL(kept)")],
    )
    rlm = RLM(lm, sub_lm=sub, sandbox_options={"max_frame_bytes": 100_000})
    result = rlm.completion("q", context="c")
    assert result.answer == "yes"
    assert "do not fit in one frame" in feedback(lm, 1) and "REPL restarted" not in feedback(lm, 1)


# --- one connection, more than one thread ------------------------------------------------------------------------


def test_sub_calls_from_threads_that_outlive_their_cell_are_served_in_the_next_one() -> None:
    def sub(messages: list[Message]) -> str:
        return messages[0]["content"].upper()

    start = (
        "from concurrent.futures import ThreadPoolExecutor\n"
        "pool = ThreadPoolExecutor(max_workers=3)\n"
        "futures = [pool.submit(llm_query, f'part {i}') for i in range(6)]"
    )
    lm = ScriptedLM(
        [repl(start), repl("got = [f.result() for f in futures]\nprint(got)"), repl("FINAL(got)")], delay=0.3
    )
    result = RLM(lm, sub_lm=ScriptedLM(sub, delay=0.2), budget=Budget(cell_timeout=10)).completion("q", context="c")
    assert json.loads(result.answer) == [f"PART {i}" for i in range(6)]
    assert "REPL restarted" not in feedback(lm, 2)


def test_a_thread_pool_of_sub_calls_reaches_the_server_concurrently() -> None:
    """The cell maps llm_query over 6 prompts with 6 threads: the calls reach a real HTTP server together, each
    thread gets its own answer, and the usage counts all six."""
    from fake_openai_server import Behaviour, FakeOpenAIServer
    from rlmx.lm import OpenAICompatibleLM

    def echo(body: dict[str, Any]) -> str:
        return "answer to " + body["messages"][-1]["content"]

    cell = (
        "from concurrent.futures import ThreadPoolExecutor\n"
        "with ThreadPoolExecutor(6) as pool:\n"
        "    outs = list(pool.map(llm_query, [f'q{i}' for i in range(6)]))\n"
        "FINAL(outs)"
    )
    with FakeOpenAIServer(Behaviour(text=echo, latency=0.3)) as server:
        sub = OpenAICompatibleLM("sub-model", base_url=server.base_url, api_key="k")
        result = RLM(ScriptedLM([repl(cell)]), sub_lm=sub).completion("q", context="c")
    assert json.loads(result.answer) == [f"answer to q{i}" for i in range(6)]
    assert server.max_in_flight == 6 and len(server.requests) == 6
    assert result.usage.to_dict()["subcalls"] == 6


async def test_a_forged_oversize_call_frame_is_refused_whole_and_the_worker_lives() -> None:
    from rlmx.context import prepare
    from rlmx.sandbox.subprocess import SubprocessSandbox

    spent: list[int] = []
    calls = answering_ok(spent)
    # Code that bypasses llm_query_batched and writes its own call frame of 200,000 items.
    forged = (
        "kept = 1\n"
        "worker = llm_query.__self__\n"
        "worker.max_batch = 10**9\n"
        "out = worker.call('llm', [{'prompt': 'p'}] * 200_000)\n"
        "print(len(out), out[0]['error'])"
    )
    box = SubprocessSandbox()
    await box.start([prepare("context", "c")])
    try:
        refused = await box.run_cell(forged, calls=calls, timeout=30)
        after = await box.run_cell("print(kept)", calls=calls, timeout=5)
    finally:
        await box.close()
    assert spent == []
    assert refused.stdout.startswith("200000 sub-call refused: 200,000 prompts in one call is over the 1,000")
    assert after.stdout == "1\n"


def test_lone_surrogates_never_reach_an_lm_client() -> None:
    """httpx encodes request bodies as strict UTF-8: a reply cut mid-emoji, sent back as history, must not fail the
    next call."""
    seen: list[str] = []

    def strict(messages: list[Message]) -> str:
        for message in messages:
            message["content"].encode("utf-8")  # what an HTTP client does; raises on a lone surrogate
        seen.append(messages[-1]["content"])
        return ["half \ud83d\n" + repl("x = 1"), repl("FINAL('ok')")][len(seen) - 1]

    result = RLM(ScriptedLM(strict)).completion("query with half an emoji \ud83d", context="c")
    assert result.answer == "ok"


# --- the builtins the worker itself relies on ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "patch",
    [
        "import builtins\nbuiltins.len = lambda x: 0",
        "import builtins\nbuiltins.len = None",
        "import builtins\nbuiltins.str = None",
        "import builtins\nbuiltins.isinstance = lambda *a: False",
        "import builtins\ndel builtins.repr",
        "import builtins\ndel builtins.vars",  # the worker's own restoring of builtins must not need it
        "__builtins__ = {}",
    ],
)
def test_a_cell_that_breaks_builtins_fails_alone_and_the_repl_keeps_its_variables(patch: str) -> None:
    lm = ScriptedLM(
        [repl("keep = 41"), repl(patch), repl("print(len('ab'), str(1), repr(keep))"), repl("FINAL(keep + 1)")]
    )
    result = RLM(lm).completion("q", context="c")
    assert result.answer == "42"
    assert "REPL restarted" not in feedback(lm, 2) and "2 1 41" in feedback(lm, 3)


# --- what a cell may do to the modules and names the worker uses ------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "told"),
    [
        ("import time\ntime.perf_counter = None", "(no output)"),
        ("raise SyntaxError('bad input', ('data.txt', 1, 'col3', 'a,b'))", "SyntaxError"),
        ("class Odd:\n    def __len__(self):\n        raise TypeError('no len')\nodd = Odd()\nSHOW_VARS()", "odd: Odd"),
        ("import sys\nsys.stdout.buffer.write(b'caf\\xc3\\xa9 \\xff')", "café \ufffd"),
        ("llm_query('p', schema={'enum': {'a', 'b'}})", "pass JSON values only"),
        ("answer = 'The total is 42'", "`answer` was set to a str; it stays a dict"),
        (  # a proxy whose __getattr__ raises something other than AttributeError
            "class Proxy:\n    def __getattr__(self, name):\n        raise ValueError(name)\np = Proxy()\nSHOW_VARS()",
            "p: Proxy",
        ),
        ("FINAL_VAR('FINAL_VAR')", "FINAL_VAR is an rlmx function, not a variable"),
        ("FINAL_VAR('llm_query')", "llm_query is an rlmx function, not a variable"),
    ],
)
def test_a_cell_that_misuses_what_the_worker_relies_on_keeps_the_repl(cell: str, told: str) -> None:
    lm = ScriptedLM([repl("keep = 41"), repl(cell), repl("FINAL(keep + 1)")])
    result = RLM(lm, sub_lm=ScriptedLM(["sub"])).completion("q", context="c")
    assert result.answer == "42"
    assert told in feedback(lm, 2) and "REPL restarted" not in feedback(lm, 2)


def test_an_answer_given_as_text_becomes_its_content() -> None:
    lm = ScriptedLM([repl("answer = 'The total is 42'"), repl("answer['ready'] = True")])
    assert RLM(lm).completion("q", context="c").answer == "The total is 42"


def test_the_soft_time_limit_survives_a_cell_that_reset_sigalrm() -> None:
    lm = ScriptedLM(
        [
            repl("import signal\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\nkeep = 1"),
            repl("while True:\n    pass"),
            repl("FINAL(keep)"),
        ]
    )
    result = RLM(lm, budget=Budget(cell_timeout=1)).completion("q", context="c")
    assert result.answer == "1"
    assert "time limit and was interrupted" in feedback(lm, 2) and "REPL restarted" not in feedback(lm, 2)


def test_children_started_and_ended_together_never_take_the_parents_repl_down() -> None:
    """Twelve child RLMs at once, forked from one zygote while others exit: a child's exit signal must not make the
    zygote kill the worker it is forking (the zygote then died with the parent's worker: ~1 run in 5 before)."""
    import re

    def reply(messages: list[Message]) -> str:
        child = re.search(r"Query: ::(r\d+)", messages[1]["content"]) if len(messages) > 1 else None
        if child:
            return repl(f"FINAL({child.group(1).upper()!r})")
        return repl("out = rlm_query_batched([f'::r{i}' for i in range(12)])\nFINAL(out)")

    for _ in range(6):
        result = RLM(ScriptedLM(reply), max_depth=2, budget=Budget(max_iterations=3)).completion("q", context="c")
        assert json.loads(result.answer) == [f"R{i}" for i in range(12)], result.answer


def test_show_vars_and_final_var_while_a_thread_adds_variables() -> None:
    code = (
        "import threading\nstop = False\n"
        "def add():\n    i = 0\n    while not stop:\n        globals()[f'v{i % 500}'] = i\n        i += 1\n"
        "t = threading.Thread(target=add)\nt.start()\n"
        "for _ in range(200):\n    SHOW_VARS()\n"
        "stop = True\nt.join()\nkeep = 42\nFINAL_VAR('keep')"
    )
    assert RLM(ScriptedLM([repl(code)])).completion("q", context="c").answer == "42"


def test_names_the_models_imports_would_take_are_refused_for_contexts_and_tools() -> None:
    from rlmx.errors import InputError

    with pytest.raises(InputError, match="standard-library module: the model's `import re` would replace"):
        RLM(ScriptedLM(["x"])).completion("q", contexts={"re": "alpha"})

    def time() -> str:
        return "noon"

    with pytest.raises(InputError, match="tools: 'time' is a Python standard-library module"):
        RLM(ScriptedLM(["x"]), tools=[time])


# --- sub-calls from code that runs inside another sub-call (fourth audit) -------------------------------------------


def test_a_users_signal_that_times_out_a_sub_call_leaves_the_channel_whole() -> None:
    # SIGUSR1's handler raises while the main thread waits for its reply: the exception reaches the cell once the
    # reply is in (as rlmx's own alarm does), and the REPL, its variables and later sub-calls are intact
    code = (
        "import signal, os, threading\nx = 7\nclass MyTimeout(Exception):\n    pass\n"
        "def handler(signum, frame):\n    raise MyTimeout()\nsignal.signal(signal.SIGUSR1, handler)\n"
        "threading.Timer(0.2, lambda: os.kill(os.getpid(), signal.SIGUSR1)).start()\n"
        "try:\n    print('got', llm_query('slow'))\nexcept MyTimeout:\n    print('timed out')"
    )
    lm = ScriptedLM([repl(code), repl("print('next', llm_query('after'), x)"), repl("FINAL(x)")])
    result = RLM(lm, sub_lm=ScriptedLM(["sub"] * 2, delay=0.6)).completion("q", context="c")
    assert result.answer == "7"
    assert "timed out" in feedback(lm, 1) and "next sub 7" in feedback(lm, 2)
    assert "REPL restarted" not in feedback(lm, 1) + feedback(lm, 2)


def test_a_users_signal_that_lands_while_a_large_prompt_is_sent_leaves_the_channel_whole() -> None:
    # The handler raised between two partial writes of the call frame: the host waited for the rest of the frame,
    # the cell hung to its hard limit and every variable was lost. It raises only in the function that writes frames.
    code = (
        "import signal, os, threading, time\nx = 7\nclass MyTimeout(Exception):\n    pass\nraised = []\n"
        "def handler(signum, frame):\n"
        "    if not raised and frame is not None and frame.f_code.co_name in ('write', 'send_blocking'):\n"
        "        raised.append(1)\n        raise MyTimeout()\n"
        "signal.signal(signal.SIGUSR1, handler)\nstop = []\n"
        "def pester():\n    while not stop:\n        os.kill(os.getpid(), signal.SIGUSR1)\n        time.sleep(0.0005)\n"
        "threading.Thread(target=pester, daemon=True).start()\n"
        "try:\n    print('got', llm_query('a large chunk ' * 2_000_000))\nexcept MyTimeout:\n    print('timed out')\n"
        "stop.append(1)"
    )
    lm = ScriptedLM([repl(code), repl("print('next', llm_query('after'), x)"), repl("FINAL(x)")])
    result = RLM(lm, sub_lm=ScriptedLM(["sub"] * 2), budget=Budget(cell_timeout=10)).completion("q", context="c")
    assert result.answer == "7"
    assert "timed out" in feedback(lm, 1) and "next sub 7" in feedback(lm, 2), feedback(lm, 1)
    assert "REPL restarted" not in feedback(lm, 1) + feedback(lm, 2)


def test_a_sub_call_from_a_signal_handler_inside_a_sub_call_is_an_error_not_a_deadlock() -> None:
    # the handler runs on the main thread while that thread waits for its own reply: waiting there would wait on
    # itself (so would a __del__ the garbage collector runs while a call frame is being sent)
    code = (
        "import signal, os, threading\nx = 7\nseen = []\n"
        "def handler(signum, frame):\n    try:\n        seen.append(llm_query('from handler'))\n"
        "    except RuntimeError as exc:\n        seen.append(str(exc))\n"
        "signal.signal(signal.SIGUSR1, handler)\n"
        "threading.Timer(0.2, lambda: os.kill(os.getpid(), signal.SIGUSR1)).start()\n"
        "print('main', llm_query('slow'), seen)"
    )
    lm = ScriptedLM([repl(code), repl("FINAL(x)")])
    result = RLM(lm, sub_lm=ScriptedLM(["sub"], delay=0.6), budget=Budget(cell_timeout=20)).completion("q", context="c")
    assert result.answer == "7"
    assert "main sub" in feedback(lm, 1) and "cannot be called from code that runs inside another sub-call" in (
        feedback(lm, 1)
    )


def test_the_channel_is_not_inherited_by_programs_a_cell_runs() -> None:
    code = "import os, sys\nprint('inheritable', os.get_inheritable(int(sys.argv[1])))"
    lm = ScriptedLM([repl(code), repl("FINAL('done')")])
    assert RLM(lm).completion("q", context="c").answer == "done"
    assert "inheritable False" in feedback(lm, 1)


def test_a_cells_own_signal_handler_firing_after_its_cell_leaves_the_repl_intact() -> None:
    # A time-box on SIGUSR1 that fires once its cell is over raised in the worker's read of the next frame: the
    # worker exited and the variables were gone.
    box = (
        "import os, signal, threading\nx = 7\n"
        "def late(signum, frame):\n    raise TimeoutError('block took too long')\n"
        "signal.signal(signal.SIGUSR1, late)\n"
        "threading.Timer(0.2, lambda: os.kill(os.getpid(), signal.SIGUSR1)).start()\nprint('done early')"
    )
    lm = ScriptedLM([repl(box), repl("print('later', x)"), repl("FINAL(x)")], delay=0.6)  # it fires between
    result = RLM(lm).completion("q", context="c")
    assert result.answer == "7" and "later 7" in feedback(lm, 2) and "restarted" not in feedback(lm, 2)


def test_a_cell_that_patches_the_thread_modules_rlock_does_not_break_the_next_cells() -> None:
    patch = repl("import _thread\n_thread.RLock = None\nx = 3\nprint('patched')")
    lm = ScriptedLM([patch, repl("print('still', x)"), repl("FINAL(x)")])
    assert RLM(lm).completion("q", context="c").answer == "3" and "still 3" in feedback(lm, 2)


# --- a sub-call's bookkeeping, the model's own names, and FINAL from threads (fifth audit) -------------------------

TIERS = ["subprocess", "inprocess"]


def _always(text: str) -> ScriptedLM:
    return ScriptedLM(lambda messages: text)


def _then_the_repl_calls_again(code: str, sandbox: str) -> ScriptedLM:
    """Run `code` (which sets x = 5), then a cell that makes a sub-call and reads x: the REPL must be intact. Returns
    the root LM, for what it was told."""
    lm = ScriptedLM([repl(code), repl("print('after', llm_query('again'), x)"), repl("FINAL(x)")])
    rlm = RLM(lm, sub_lm=_always("sub"), sandbox=sandbox, budget=Budget(cell_timeout=30))
    assert rlm.completion("q", context="c").answer == "5"
    assert "after sub 5" in feedback(lm, 2) and "restarted" not in feedback(lm, 2)
    return lm


@pytest.mark.parametrize("sandbox", TIERS)
def test_sub_calls_at_the_edge_of_the_recursion_limit_raise_there_and_the_repl_lives(sandbox: str) -> None:
    # A RecursionError raised between two steps of a call's bookkeeping left it registered: the cell's end then
    # waited for ever, until the hard limit killed the worker and its variables.
    code = (
        "import sys\nx = 5\n"
        "def walk(n):\n    return walk(n - 1) if n else llm_query('edge')\n"
        "outcomes = set()\nlimit = sys.getrecursionlimit()\n"
        "for n in range(limit - 120, limit):\n"
        "    try:\n        outcomes.add(walk(n))\n    except RecursionError:\n        outcomes.add('RecursionError')\n"
        "print(sorted(outcomes))"
    )
    assert "['RecursionError', 'sub']" in feedback(_then_the_repl_calls_again(code, sandbox), 1)


@pytest.mark.parametrize("sandbox", TIERS)
@pytest.mark.parametrize("hook", ["settrace", "setprofile"])
def test_a_trace_function_raising_inside_a_sub_call_leaves_later_calls_working(sandbox: str, hook: str) -> None:
    # A step-budget guard (sys.settrace raising after N events; sys.setprofile sees C calls too, lock.acquire
    # among them) stopped the bookkeeping half-way: the thread was left "inside a sub-call" for ever, or the
    # calls' lock held (the in-process tier hung for good).
    code = (
        "import sys\nx = 5\nclass StepLimit(Exception):\n    pass\nseen = []\n"
        "for budget in range(120):\n"
        "    steps = [0]\n"
        "    def guard(frame, event, arg, steps=steps, budget=budget):\n"
        "        steps[0] += 1\n"
        "        if steps[0] > budget:\n            raise StepLimit()\n"
        "        return guard\n"
        f"    try:\n        sys.{hook}(guard)\n        seen.append(llm_query('q'))\n"
        "    except StepLimit:\n        seen.append('stopped')\n"
        "    finally:\n"
        f"        try:\n            sys.{hook}(None)\n        except StepLimit:\n            pass\n"  # its own c_call
        "print(sorted(set(seen)))"
    )
    told = feedback(_then_the_repl_calls_again(code, sandbox), 1)
    assert "'sub'" in told and "'stopped'" in told


@pytest.mark.parametrize("sandbox", TIERS)
def test_final_from_a_thread_between_cells_ends_the_run_at_the_next_cell(sandbox: str) -> None:
    # The next cell's start cleared it, though `answer['ready'] = True` set the same way ended the run.
    code = "import threading\nthreading.Timer(0.2, lambda: FINAL('from the thread')).start()\nprint('started')"
    lm = ScriptedLM([repl(code), repl("print('next cell')"), repl("print('too far')")], delay=0.4)
    result = RLM(lm, sandbox=sandbox).completion("q", context="c")
    assert result.answer == "from the thread" and len(lm.calls) == 2


@pytest.mark.parametrize("sandbox", TIERS)
@pytest.mark.parametrize("change", ["context[:] = [r for r in context if r['keep']]", "del context[1:]"])
def test_a_json_context_changed_in_place_reaches_rlm_query_as_changed(sandbox: str, change: str) -> None:
    # The whole loaded context went by name (the host's copy, as first given), so the sub-LM saw all the records.
    records = [{"id": i, "keep": i % 2 == 0} for i in range(5)]
    seen: list[str] = []

    def sub(messages: list[Message]) -> str:
        seen.append(messages[-1]["content"])
        return "ok"

    lm = ScriptedLM([repl(f"{change}\nprint(len(context), rlm_query('count', context=context))"), repl("FINAL(1)")])
    RLM(lm, sub_lm=ScriptedLM(sub), sandbox=sandbox).completion("q", context=records)
    expected = [r for r in records if r["keep"]] if "keep" in change else records[:1]
    assert len(seen) == 1 and json.dumps(expected) in seen[0] and '"id": 1' not in seen[0]


@pytest.mark.parametrize("sandbox", TIERS)
def test_an_unchanged_json_context_still_goes_to_rlm_query_by_name(sandbox: str) -> None:
    seen: list[str] = []

    def sub(messages: list[Message]) -> str:
        seen.append(messages[-1]["content"])
        return "ok"

    records = [{"id": i, "name": "é"} for i in range(3)]
    lm = ScriptedLM([repl("print(rlm_query('count', context=context))"), repl("FINAL(1)")])
    RLM(lm, sub_lm=ScriptedLM(sub), sandbox=sandbox).completion("q", context=records)
    assert len(seen) == 1 and json.dumps(records, ensure_ascii=False) in seen[0]


@pytest.mark.parametrize("sandbox", TIERS)
def test_host_tools_keep_working_beside_the_models_own_call_tool_and_it_is_told(sandbox: str) -> None:
    def price_of(item: str) -> int:
        """The price of `item`."""
        return {"widget": 3, "gadget": 7}[item]

    helper = (
        "def call_tool(name, **kwargs):\n    return globals()[name](**kwargs)\n"
        "print('direct', price_of('gadget'), 'helper', call_tool('price_of', item='widget'))\n"
        "lookup = {'a': 1}"
    )
    lm = ScriptedLM([repl(helper), repl("print('again', price_of('widget'))"), repl("FINAL(1)")])
    RLM(lm, tools=[price_of], sandbox=sandbox).completion("q", context="c")
    assert "direct 7 helper 3" in feedback(lm, 1)
    assert "Note: `call_tool` (function) was put back after this block" in feedback(lm, 1)
    assert "again 3" in feedback(lm, 2) and "Note" not in feedback(lm, 2)


def test_a_variable_named_like_a_host_tool_is_reported_when_the_tool_is_put_back() -> None:
    def lookup(key: str) -> str:
        """Look a key up."""
        return "L:" + key

    lm = ScriptedLM([repl("lookup = {'alice': 1}\nprint(len(lookup))"), repl("FINAL(lookup('bob'))")])
    result = RLM(lm, tools=[lookup]).completion("q", context="c")
    assert result.answer == "L:bob"
    assert "Note: `lookup` (dict) was put back after this block" in feedback(lm, 1)
    assert "do not name your own variables after them" in lm.calls[0][0]["content"]


def test_tool_names_python_would_read_as_another_name_are_refused() -> None:
    from rlmx.errors import InputError

    def tool() -> str:
        return "t"

    for name, reads_as in (("ｌｅｎ", "len"), ("𝐅𝐈𝐍𝐀𝐋", "FINAL"), ("ﬁnd", "find")):
        tool.__name__ = name
        with pytest.raises(InputError, match=f"reads as '{reads_as}' in Python code"):
            RLM(ScriptedLM(["x"]), tools=[tool])


@pytest.mark.parametrize("sandbox", TIERS)
def test_final_var_finds_a_variable_by_the_name_python_gave_it(sandbox: str) -> None:
    lm = ScriptedLM([repl("ｔｏｔａｌ = 5\nFINAL_VAR('ｔｏｔａｌ')")])
    assert RLM(lm, sandbox=sandbox).completion("q", context="c").answer == "5"


def test_a_cells_signal_handler_firing_while_the_cell_waits_for_its_threads_call_leaves_the_repl_intact() -> None:
    # Blocking the signal on the main thread was not enough: a signal sent to the process is taken by another
    # thread (the output drain's, the cell's own) and Python runs the handler on the main thread all the same, in
    # the middle of closing the cell. The worker then never sent the cell's result and was killed.
    code = (
        "import os, signal, threading, time\nx = 7\ngot = []\n"
        "def late(signum, frame):\n    raise TimeoutError('block took too long')\n"
        "signal.signal(signal.SIGUSR1, late)\n"
        "threading.Thread(target=lambda: got.append(llm_query('slow'))).start()\ntime.sleep(0.05)\n"
        "threading.Timer(0.2, lambda: os.kill(os.getpid(), signal.SIGUSR1)).start()\nprint('main part done')"
    )
    lm = ScriptedLM([repl(code), repl("print('next', x, got)"), repl("FINAL(x)")])
    result = RLM(lm, sub_lm=ScriptedLM(["sub"], delay=0.6)).completion("q", context="c")
    assert result.answer == "7"
    assert "next 7 ['sub']" in feedback(lm, 2) and "restarted" not in feedback(lm, 1) + feedback(lm, 2)


@pytest.mark.parametrize("sandbox", TIERS)
def test_answers_whose_keys_json_would_merge_fail_their_cell_instead_of_losing_an_entry(sandbox: str) -> None:
    # json.dumps writes 1 and '1' as one key, and bytes keys that are not UTF-8 all became U+FFFD: entries were
    # dropped without a word.
    lm = ScriptedLM(
        [
            repl("FINAL({1: 'int one', '1': 'str one'})"),
            repl("answer['content'] = {True: 'a', 'true': 'b'}\nanswer['ready'] = True"),
            repl("FINAL({b'caf\\xe9.txt': 1, b'caf\\xea.txt': 2, b'ok.txt': 3})"),
        ]
    )
    result = RLM(lm, sandbox=sandbox).completion("q", context="c")
    assert "the keys 1 and '1' are both the JSON key '1', so one entry would be lost" in feedback(lm, 1)
    assert "the keys True and 'true' are both the JSON key 'true'" in feedback(lm, 2)
    assert json.loads(result.answer) == {"caf\\xe9.txt": 1, "caf\\xea.txt": 2, "ok.txt": 3}


def test_an_in_process_cell_reconfiguring_its_stdout_leaves_the_hosts_alone() -> None:
    import sys

    before = (sys.stdout.encoding, sys.stderr.encoding)
    code = "import sys\nfor out in (sys.stdout, sys.stderr):\n    out.reconfigure(encoding='ascii')\nprint('café')"
    lm = ScriptedLM([repl(code), repl("FINAL('é')")])
    assert RLM(lm, sandbox="inprocess").completion("q", context="c").answer == "é"
    assert (sys.stdout.encoding, sys.stderr.encoding) == before and "café" in feedback(lm, 1)


def test_an_in_process_tool_is_not_run_with_arguments_no_frame_could_carry() -> None:
    ran: list[Any] = []

    def checksum(data: Any) -> int:
        """Sum of the bytes."""
        ran.append(data)
        return 0

    lm = ScriptedLM([repl("checksum({1, 2})"), repl("FINAL(1)")])  # a set: JSON has none (bytes now cross whole)
    RLM(lm, tools=[checksum], sandbox="inprocess").completion("q", context="c")
    assert ran == [] and "pass JSON values only" in feedback(lm, 1)


@pytest.mark.parametrize(
    "handler",
    [
        "signal.signal(signal.SIGINT, signal.default_int_handler)\nsend = signal.SIGINT",  # C code: no frame of its own
        "def late(signum, frame):\n    raise SystemExit(3)\nsignal.signal(signal.SIGUSR2, late)\nsend = signal.SIGUSR2",
        "def reap(signum, frame):\n    raise ChildProcessError('reaped')\nsignal.signal(signal.SIGCHLD, reap)\n"
        "send = signal.SIGCHLD",
    ],
)
def test_a_cells_handlers_never_run_between_its_cells(handler: str) -> None:
    # The signal lands while the cell waits for its thread's sub-call, then again between cells: a handler raising
    # KeyboardInterrupt or SystemExit there, or one for a signal outside the few held off, ended the worker.
    code = (
        f"import os, signal, threading, time\nx = 7\ngot = []\n{handler}\n"
        "threading.Thread(target=lambda: got.append(llm_query('slow'))).start()\ntime.sleep(0.05)\n"
        "for delay in (0.2, 0.9):\n    threading.Timer(delay, lambda: os.kill(os.getpid(), send)).start()\n"
    )
    lm = ScriptedLM([repl(code), repl("print('next', x, got)"), repl("FINAL(x)")], delay=0.6)
    result = RLM(lm, sub_lm=ScriptedLM(["sub"], delay=0.6)).completion("q", context="c")
    assert result.answer == "7" and "next 7 ['sub']" in feedback(lm, 2)
    assert "restarted" not in feedback(lm, 1) + feedback(lm, 2)


@pytest.mark.parametrize("sandbox", TIERS)
def test_a_tool_taking_a_name_argument_is_called_by_keyword(sandbox: str) -> None:
    def greet(name: str) -> str:
        """Greet someone: 😀 and 𝐀 in the doc."""
        return f"Hi, {name}"

    lm = ScriptedLM([repl("print(greet(name='Bob'), call_tool('greet', name='Ann'), greet.__doc__)"), repl("FINAL(1)")])
    RLM(lm, tools=[greet], sandbox=sandbox).completion("q", context="c")
    assert "Hi, Bob Hi, Ann Greet someone: 😀 and 𝐀 in the doc." in feedback(lm, 1)


@pytest.mark.parametrize("sandbox", TIERS)
def test_a_tool_that_exits_fails_its_call_not_the_callers_program(sandbox: str) -> None:
    import argparse

    def grep_tool(args: str) -> str:
        """Run a grep-like command line."""
        parser = argparse.ArgumentParser(prog="grep_tool")
        parser.add_argument("--count", type=int)
        return str(parser.parse_args(args.split()).count)

    code = "try:\n    grep_tool('--count many')\nexcept RuntimeError as exc:\n    print('caught', exc)"
    lm = ScriptedLM([repl(code), repl("FINAL('still here')")])
    assert RLM(lm, tools=[grep_tool], sandbox=sandbox).completion("q", context="c").answer == "still here"
    assert "caught tool grep_tool raised SystemExit: 2" in feedback(lm, 1)


def test_setup_code_that_rebinds_a_repl_function_is_refused() -> None:
    from rlmx import SetupError

    setup = "_plain = llm_query\ndef llm_query(prompt, **kw):\n    return _plain('[logged] ' + prompt, **kw)"
    with pytest.raises(SetupError, match="setup_code rebinds llm_query, which rlmx puts back after every block"):
        RLM(ScriptedLM([repl("FINAL(1)")]), setup_code=setup).completion("q", context="c")


@pytest.mark.parametrize("sandbox", TIERS)
def test_a_value_nested_deeper_than_the_stack_left_is_a_recursion_error_not_a_bad_value(sandbox: str) -> None:
    code = (
        "import sys\ndeep = 'leaf'\nfor _ in range(40):\n    deep = {'n': deep}\nkinds = set()\n"
        "def down(k, send):\n    return down(k - 1, send) if k else send()\n"
        "for gap in range(1, 140, 3):\n"
        "    for send in (lambda: rlm_query('d?', context=deep), lambda: llm_query_batched([deep] * 3)):\n"
        "        try:\n            down(sys.getrecursionlimit() - 40 - gap, send)\n"
        "        except Exception as exc:\n            kinds.add(type(exc).__name__)\n"
        "print(sorted(kinds))"
    )
    lm = ScriptedLM([repl(code), repl("FINAL(1)")])
    RLM(lm, sub_lm=_always("sub"), sandbox=sandbox, budget=Budget(cell_timeout=30)).completion("q", context="c")
    assert "['RecursionError']" in feedback(lm, 1)


# --- numbers, typed values and answers the host reads after the cell (audit 22) ------------------------------------

_BIG = "big = 2 ** 20000\nkept = 1\n"


@pytest.mark.parametrize("sandbox", TIERS)
@pytest.mark.parametrize(
    "finish",
    ["FINAL(big)", "FINAL_VAR('big')", "FINAL({'n': [big]})", "answer['content'] = big\nanswer['ready'] = True"],
)
def test_an_int_longer_than_python_reads_back_fails_its_cell_and_says_how_to_send_it(sandbox: str, finish: str) -> None:
    # 6,021 digits: the worker died writing its result (exit 2, every variable lost); in-process, a ValueError
    # escaped completion() into the caller's program.
    lm = ScriptedLM([repl(_BIG + finish), repl("FINAL(kept + 1)")])
    result = RLM(lm, sandbox=sandbox).completion("q", context="c")
    assert (result.status, result.answer) == ("finished", "2")
    told = feedback(lm, 1)
    assert "more than 4,300 digits" in told and "str(n)" in told and "restarted" not in told


def test_a_long_int_is_refused_even_where_the_cell_lifted_pythons_limit() -> None:
    # With the limit off in the worker the number was written, and the host, reading under the default limit,
    # took the frame for garbage and restarted the REPL.
    code = _BIG + "import sys\nsys.set_int_max_str_digits(0)\nFINAL([big])"
    lm = ScriptedLM([repl(code), repl("FINAL(kept + 1)")])
    assert RLM(lm).completion("q", context="c").answer == "2"
    assert "more than 4,300 digits" in feedback(lm, 1) and "restarted" not in feedback(lm, 1)


def test_a_cell_that_lowers_the_int_limit_still_reads_long_ints_from_the_host() -> None:
    # The worker read the tool's reply under the cell's limit (640 digits): the channel broke, the REPL restarted.
    def key() -> int:
        return 10**700 + 7

    code = "import sys\nsys.set_int_max_str_digits(640)\nx = 5\nprint('low digits', key() % 1000)"
    lm = ScriptedLM([repl(code), repl("FINAL(key() % 1000 + x)")])
    result = RLM(lm, tools=[key]).completion("q", context="c")
    assert result.answer == "12" and "low digits 7" in feedback(lm, 1) and "restarted" not in feedback(lm, 1)


def test_a_session_context_with_a_long_int_loads_after_a_cell_lowered_the_limit() -> None:
    lm = ScriptedLM(
        [
            repl("import sys\nsys.set_int_max_str_digits(640)\nkeep = 5\nFINAL('a1')"),
            repl("print('id ends', context_1[0]['id'] % 1000, keep)"),
            repl("FINAL(context_1[0]['id'] % 1000)"),
        ]
    )
    with RLM(lm).session() as session:
        assert session.ask("q1").answer == "a1"
        second = session.ask("q2", context=[{"id": int("7" * 700)}])
    assert second.answer == "777" and "id ends 777 5" in feedback(lm, 2)


@pytest.mark.parametrize("sandbox", TIERS)
def test_answer_content_whose_str_asks_a_sub_lm_is_read_while_the_cell_can_still_call(sandbox: str) -> None:
    # The content was turned into text after the cell had closed the channel: the sub-call waited for a next cell
    # that could never start, until the hard limit killed the worker.
    code = (
        "class Wording:\n    def __str__(self):\n        return llm_query('word it')\n"
        "answer['content'] = Wording()\nanswer['ready'] = True"
    )
    lm = ScriptedLM([repl(code)])
    result = RLM(lm, sub_lm=_always("worded"), sandbox=sandbox, budget=Budget(cell_timeout=5)).completion("q", "c")
    assert (result.status, result.answer) == ("finished", "worded")


@pytest.mark.parametrize("sandbox", TIERS)
def test_submit_takes_a_field_named_self(sandbox: str) -> None:
    from pydantic import BaseModel, Field

    class Link(BaseModel):  # JSON:API and HAL name their link `self`
        self_: str = Field(alias="self")
        title: str

    lm = ScriptedLM([repl("SUBMIT(self='https://api.example.com/items/1', title='one')")])
    result = RLM(lm, sandbox=sandbox).completion("q", context="c", output=Link)
    assert result.status == "finished" and result.value.self_ == "https://api.example.com/items/1"


@pytest.mark.parametrize("sandbox", TIERS)
def test_final_of_numpy_values_or_a_pydantic_instance_is_the_typed_answer(sandbox: str) -> None:
    # Sent as str() of the whole value, which the host then refused as "not a valid dictionary".
    pytest.importorskip("numpy")
    from pydantic import BaseModel

    class Stats(BaseModel):
        counts: list[int]
        mean: float

    numpy_values = "import numpy as np\nv = np.array([3, 4, 5])\nFINAL({'counts': list(v), 'mean': v.mean()})"
    model = "from pydantic import BaseModel\nclass Stats(BaseModel):\n    counts: list\n    mean: float\n"
    for code in (numpy_values, model + "FINAL(Stats(counts=(3, 4, 5), mean=4))"):
        result = RLM(ScriptedLM([repl(code)]), sandbox=sandbox).completion("q", context="c", output=Stats)
        assert result.value == Stats(counts=[3, 4, 5], mean=4.0), result.stop_reason


def test_a_process_the_cell_forked_cannot_finish_the_run() -> None:
    # FINAL and SUBMIT there returned as if they had worked, and nothing reached the host.
    code = (
        "import os\npid = os.fork()\nif pid == 0:\n"
        "    refused = 0\n"
        "    for finish in (lambda: FINAL('child'), lambda: SUBMIT(answer='child'), lambda: FINAL_VAR('pid')):\n"
        "        try:\n            finish()\n        except RuntimeError:\n            refused += 1\n"
        "    os._exit(refused)\n"
        "print('refused in the child:', os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))"
    )
    lm = ScriptedLM([repl(code), repl("FINAL('parent')")])
    assert RLM(lm).completion("q", context="c").answer == "parent"
    assert "refused in the child: 3" in feedback(lm, 1)


@pytest.mark.parametrize("sandbox", TIERS)
@pytest.mark.parametrize("finish", ["FINAL(answer)", "FINAL_VAR('answer')"])
def test_final_of_the_answer_dict_is_its_content(sandbox: str, finish: str) -> None:
    # `answer = text` in one cell (the REPL keeps `answer` a dict, with the text as its content), FINAL(answer) in
    # the next: the run answered {"content": ..., "ready": False}.
    lm = ScriptedLM([repl("answer = llm_query('say it')"), repl(finish)])
    result = RLM(lm, sub_lm=_always("SUB-SAYS-4242"), sandbox=sandbox).completion("q", context="c")
    assert (result.status, result.answer) == ("finished", "SUB-SAYS-4242")


def test_child_rlms_thread_pools_print_into_their_own_cells_on_the_inprocess_tier() -> None:
    # The children's cells run while the root's waits in rlm_query_batched: their pools' workers printed into the
    # root's output (the cell that began first), and each child saw its pool's work as silent.
    pool = (
        "from concurrent.futures import ThreadPoolExecutor\nimport time\ntime.sleep(0.05)\n"
        "with ThreadPoolExecutor(2) as workers:\n"
        "    list(workers.map(lambda i: print(f'{context}-pool-{i}'), range(2)))\ntime.sleep(0.2)"
    )

    def child(messages: list[Message]) -> str:
        return repl("FINAL('done')") if "Output of block" in messages[-1]["content"] else repl(pool)

    kids = ScriptedLM(child)
    root = ScriptedLM([repl("print(rlm_query_batched(['a', 'b'], contexts=['kid0', 'kid1']))"), repl("FINAL('x')")])
    rlm = RLM(root, depth_lms={1: kids}, max_depth=2, sandbox="inprocess", budget=Budget(cell_timeout=20))
    assert rlm.completion("q", context="root").answer == "x"
    assert "-pool-" not in feedback(root, 1) and "['done', 'done']" in feedback(root, 1)
    seen = [c[-1]["content"] for c in kids.calls if "Output of block" in c[-1]["content"]]
    assert sorted(text.count(f"kid{i}-pool-") for i in range(2) for text in seen) == [0, 0, 2, 2], seen


@pytest.mark.parametrize("sandbox", TIERS)
def test_a_cells_functions_keep_the_plain_meaning_of_the_name_answer(sandbox: str) -> None:
    # Functions reach the global `answer` through the REPL's guard against an earlier question's threads: a name
    # `answer` of their own (a parameter, a local, a closure's, a comprehension's) stays theirs, and the global one
    # reads, sets and rebinds as before, from the cell's threads too.
    code = (
        "import threading\n"
        "def mark(answer):\n    answer['seen'] = True\n    return answer\n"
        "def counter():\n    answer = []\n    def add(x):\n        answer.append(x)\n        return len(answer)\n"
        "    return add\n"
        "add = counter()\nadd(1)\n"
        "def rebind(text):\n    global answer\n    answer = {'content': text, 'ready': False}\n"
        "rebind('rebound')\n"
        "helper = threading.Thread(target=lambda: answer.update(ready=add(2) == 2))\nhelper.start()\nhelper.join()\n"
        "answer['content'] += f\" {mark({})['seen']} {[answer for answer in 'ab']} {(lambda answer=3: answer)()}\""
    )
    result = RLM(ScriptedLM([repl(code), repl("FINAL('not ready')")]), sandbox=sandbox).completion("q", context="c")
    assert result.answer == "rebound True ['a', 'b'] 3"


@pytest.mark.parametrize("sandbox", TIERS)
@pytest.mark.parametrize(
    "alias",
    [
        "result = {'content': 'forty-two', 'ready': False}\nanswer = result\nresult['ready'] = True",
        "answer = result = {'content': 'forty-two'}\nresult['ready'] = True",
        "def finish(d):\n    d['ready'] = True\nresult = {'content': 'forty-two'}\nanswer = result\nfinish(result)",
        "if (answer := {'content': 'forty-two', 'ready': True}):\n    print('bound')",
        "def settle():\n    global answer\n    return (answer := {'content': 'forty-two', 'ready': True})\nsettle()",
    ],
)
def test_a_dict_bound_to_answer_is_that_dict_not_a_copy(sandbox: str, alias: str) -> None:
    # `answer = result` bound a copy while the REPL guarded the name: `result['ready'] = True` then finished nothing
    # and the run went on to another turn; a `:=` binding was undone as if made by other work.
    lm = ScriptedLM([repl(alias), repl("FINAL('a second turn')")])
    assert RLM(lm, sandbox=sandbox).completion("q", context="c").answer == "forty-two"


OWN_BINDINGS = {
    "annotated": "answer: dict = {'content': 'forty-two', 'ready': True}",
    "annotated, no dict annotation": "answer: 'anything' = dict(content='forty-two', ready=True)",
    "a match capture": "match {'content': 'forty-two', 'ready': True}:\n"
    "    case {'ready': True} as answer:\n        pass",
    "a match mapping's rest": "match {'content': 'forty-two', 'ready': True}:\n    case {**answer}:\n        pass",
    "exec": "exec(\"answer = {'content': 'forty-two', 'ready': True}\")",
    "globals()": "globals()['answer'] = {'content': 'forty-two', 'ready': True}",
    "an import": "import sys, types\n"
    "sys.modules['finished'] = types.SimpleNamespace(answer={'content': 'forty-two', 'ready': True})\n"
    "from finished import answer",
}


@pytest.mark.parametrize("sandbox", TIERS)
@pytest.mark.parametrize("binding", OWN_BINDINGS)
def test_the_questions_own_binding_of_answer_counts_however_it_is_spelled(sandbox: str, binding: str) -> None:
    # Only `answer = ...` counted as the question's own binding: an annotated one, a match capture, an exec() or
    # globals() was undone (with a note blaming other work) in a run no other work could have touched.
    lm = ScriptedLM([repl(OWN_BINDINGS[binding]), repl("FINAL('a second turn')")])
    result = RLM(lm, sandbox=sandbox).completion("q", context="c")
    assert result.answer == "forty-two", feedback(lm, 1)


@pytest.mark.parametrize("sandbox", TIERS)
def test_a_later_questions_own_binding_of_answer_counts_when_no_earlier_work_runs(sandbox: str) -> None:
    # A session's second question, whose first question left no thread behind: its exec() binding is its own.
    lm = ScriptedLM(
        [repl("FINAL('first')"), repl("exec(\"answer = {'content': 'second', 'ready': True}\")"), repl("FINAL('x')")]
    )
    with RLM(lm, sandbox=sandbox).session(context="c") as session:
        assert session.ask("q1").answer == "first"
        assert session.ask("q2").answer == "second"


def test_a_sigalrm_handler_set_in_one_cell_serves_the_alarm_of_a_later_one() -> None:
    # The cell's time limit took SIGALRM back at every cell: the handler set in cell 1 was gone by cell 2, whose own
    # `signal.alarm(1)` then stopped it with "ran past its N s time limit" after one second.
    setting = (
        "import signal, time\nclass Boxed(Exception):\n    pass\n"
        "def ring(*_):\n    raise Boxed()\nsignal.signal(signal.SIGALRM, ring)"
    )
    boxed = (
        "signal.alarm(1)\ntry:\n    time.sleep(3)\n"
        "except Boxed:\n    print('time-boxed', signal.getsignal(signal.SIGALRM) is ring)\n"
        "finally:\n    signal.alarm(0)"
    )
    spinning = "signal.setitimer(signal.ITIMER_REAL, 30)\nwhile True:\n    pass"  # the time limit still holds
    lm = ScriptedLM([repl(setting), repl(boxed), repl(spinning), repl("FINAL('done')")])
    assert RLM(lm, budget=Budget(cell_timeout=2)).completion("q", context="c").answer == "done"
    assert "time-boxed True" in feedback(lm, 2)
    assert "ran past its 2 s time limit" in feedback(lm, 3)


def test_a_repeating_real_timer_keeps_ticking_when_its_ticks_are_waited_for_without_a_handler() -> None:
    # The shared SIGALRM timer was armed one tick at a time and re-armed only by rlmx's handler: ticks taken by
    # `signal.sigwait` ran no handler, so the second tick never came and the cell hung until the REPL was killed.
    waiting = (
        "import signal\nsignal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})\n"
        "signal.setitimer(signal.ITIMER_REAL, 0.05, 0.05)\n"
        "got = [signal.sigwait({signal.SIGALRM}) for _ in range(3)]\n"
        "got.append(signal.sigtimedwait({signal.SIGALRM}, 2).si_signo)\n"
        "left, every = signal.getitimer(signal.ITIMER_REAL)\n"
        "signal.setitimer(signal.ITIMER_REAL, 0)\nsignal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGALRM})\n"
        "print('ticks', len(got), set(got) == {signal.SIGALRM}, 0 < left <= 0.05, every)"
    )
    ticking = "signal.signal(signal.SIGALRM, lambda *_: None)\nsignal.setitimer(signal.ITIMER_REAL, 0.05, 0.05)"
    spinning = f"{ticking}\nwhile True:\n    pass"
    lm = ScriptedLM([repl("kept = 'here'"), repl(waiting), repl(spinning), repl("FINAL(kept)")])
    assert RLM(lm, budget=Budget(cell_timeout=2)).completion("q", context="c").answer == "here"
    assert "ticks 4 True True 0.05" in feedback(lm, 2)
    assert "ran past its 2 s time limit" in feedback(lm, 3)  # beside a repeating timer, the time limit holds
