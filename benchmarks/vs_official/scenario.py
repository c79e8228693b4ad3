"""One scenario of the side-by-side benchmark, run in a fresh process by `run.py` under either system's Python.

    python scenario.py SYSTEM SCENARIO BASE_URL [TRACE_DIR [SANDBOX]]

SYSTEM is `rlmx` (needs rlmx importable) or `official` (needs `rlms`, module `rlm`); SANDBOX is rlmx's sandbox
tier (default: its default, `subprocess`). The scripted server decides
what the root LM writes; this file only builds the context, runs one `completion()` and prints one JSON line:
{"t_start": process start (time.time()), "t_call": just before completion(), "t_done": just after, "answer": ...}.
Stdlib only outside the system under test, so it runs in both virtual environments.
"""

from __future__ import annotations

import json
import sys
import time

T_START = time.time()

ROOT_QUERY = "ROOT-QUERY: follow the scripted steps."
LINE = "abcdefghij" * 9 + "\n"  # 100 ASCII characters


def make_context(scenario: str) -> str:
    """The context: 40 MB, 10 MB or 1 MB of ASCII text by the scenario's name, else a short string."""
    for tag, size in (("40mb", 40_000_000), ("10mb", 10_000_000), ("1mb", 1_000_000)):
        if scenario.endswith(tag):
            return LINE * (size // len(LINE))
    return "a short context"


def run_rlmx(scenario: str, base_url: str, trace_dir: str | None, context: str, sandbox: str = "") -> str:
    import rlmx.lm.http  # noqa: F401  (preloaded, aiohttp: the startup figures time a warm import state on both sides)
    from rlmx import RLM, Budget
    from rlmx.lm import OpenAICompatibleLM

    root = OpenAICompatibleLM("root", base_url=base_url, api_key="bench")
    sub = OpenAICompatibleLM("sub", base_url=base_url, api_key="bench")
    rlm = RLM(
        root,
        sub_lm=sub,
        max_depth=2 if scenario == "depth2" else 1,
        budget=Budget(max_iterations=10),
        trace_dir=trace_dir,
        max_concurrency=64,
        **({"sandbox": sandbox} if sandbox else {}),
    )
    global T_CALL
    T_CALL = time.time()
    result = rlm.completion(ROOT_QUERY, context=context)
    return str(result.answer)


def run_official(scenario: str, base_url: str, trace_dir: str | None, context: str, sandbox: str = "") -> str:
    import rlm.clients.openai
    import rlm.environments.local_repl
    from rlm import RLM
    from rlm.logger import RLMLogger

    kwargs = {"base_url": base_url, "api_key": "bench"}
    rlm = RLM(
        backend="openai",
        backend_kwargs={"model_name": "root", **kwargs},
        other_backends=["openai"],
        other_backend_kwargs=[{"model_name": "sub", **kwargs}],
        environment="local",
        max_depth=2 if scenario == "depth2" else 1,
        max_iterations=10,
        logger=RLMLogger(log_dir=trace_dir) if trace_dir else None,
    )
    global T_CALL
    T_CALL = time.time()
    result = rlm.completion(context, root_prompt=ROOT_QUERY)
    return str(result.response)


T_CALL = 0.0


def main() -> None:
    system, scenario, base_url = sys.argv[1:4]
    trace_dir = sys.argv[4] if len(sys.argv) > 4 and sys.argv[4] else None
    sandbox = sys.argv[5] if len(sys.argv) > 5 else ""
    context = make_context(scenario)
    runner = run_rlmx if system == "rlmx" else run_official
    answer = runner(scenario, base_url, trace_dir, context, sandbox)
    t_done = time.time()
    print(json.dumps({"t_start": T_START, "t_call": T_CALL, "t_done": t_done, "answer": answer[:200]}), flush=True)


if __name__ == "__main__":
    main()
