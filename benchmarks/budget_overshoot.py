"""Budget overshoot: does a budget hold against a real OpenAI-compatible HTTP server that keeps its own counts?

Every LM call (the root's code, child RLMs' code, every sub-call) goes over HTTP to tests/fake_openai_server.py
on 127.0.0.1, which counts tokens with its own tokenizer (4 ASCII characters a token; 1 or 2 tokens per CJK
character) and reports what it billed. Each scenario runs once without a budget (the job's size), then with a
budget of 40% of it, and compares what the server billed with the budget and with what rlmx counted.

Shapes: a 64-way `llm_query_batched`, 64 sequential `llm_query` calls, and a 3-deep `rlm_query` chain (8 sub-calls
at each depth). Texts: ASCII prose, CJK. Servers: honest with `usage`, honest without `usage`, a routing alias
(replies under another model's name; USD budget), and one that bills 3x the output tokens it produced, past the
cap it was sent. Writes benchmarks/results/budget_overshoot.json and .md. Not part of the test suite.

    .venv/bin/python benchmarks/budget_overshoot.py [--fraction 0.4]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from fake_openai_server import Behaviour, FakeOpenAIServer  # noqa: E402
from rlmx import RLM, Budget  # noqa: E402
from rlmx.lm import OpenAICompatibleLM  # noqa: E402
from scripting import depth_of, is_sub_call, repl, turn_of  # noqa: E402

PRICE = (3.0, 15.0)
"""USD per million input / output tokens declared for the alias `auto`."""
CAP = 256
"""max_tokens_per_call: the output cap each call is sent."""
ASCII_WORDS = "the quarterly report notes steady growth in northern sales while costs rose slightly ".split()
CJK_TEXT = "今天天气很好我们去公园散步然后一起吃饭"
SUMMARY = {
    "ascii": "Summary: sales grew steadily in the north while costs rose a little.",
    "cjk": "摘要：北方销售稳定增长，成本略有上升。",
}
LONG_REPLY = "word " * 600  # far past the cap: a server that ignores or overbills it shows here

BATCH = repl(
    "step = -(-len(context) // 64)\n"
    "parts = [context[i:i + step] for i in range(0, len(context), step)]\n"
    "outs = llm_query_batched(['Summarise: ' + p for p in parts])\n"
    "answer['content'] = f\"{sum(not o.startswith('Error') for o in outs)} of {len(outs)} summarised\""
)
SEQUENTIAL = repl(
    "step = -(-len(context) // 64)\n"
    "outs = []\n"
    "for i in range(0, len(context), step):\n"
    "    try:\n"
    "        outs.append(llm_query('Summarise: ' + context[i:i + step]))\n"
    "    except Exception as exc:\n"
    "        print('stopped:', exc)\n"
    "        break\n"
    "answer['content'] = f'{len(outs)} summarised'"
)
CHAIN = repl(
    "step = -(-len(context) // 16)\n"
    "notes = llm_query_batched(['Summarise: ' + context[i:i + step] for i in range(0, len(context) // 2, step)])\n"
    "deeper = rlm_query('Summarise this part', context=context[len(context) // 2:])\n"
    "answer['content'] = f'{len(notes)} notes; ' + deeper"
)
LEAF = repl(
    "step = -(-len(context) // 8)\n"
    "notes = llm_query_batched(['Summarise: ' + context[i:i + step] for i in range(0, len(context), step)])\n"
    "answer['content'] = f'{len(notes)} leaf notes'"
)
FINISH = repl("FINAL(answer['content'])")


@dataclass(frozen=True)
class Scenario:
    shape: str  # batch64 | seq64 | chain3
    text: str  # ascii | cjk
    per_char: float = 1.0
    server: str = "usage"  # usage | no-usage | alias | overbill | long (the overbill job on an honest server)

    @property
    def name(self) -> str:
        text = self.text if self.text == "ascii" else f"cjk {self.per_char:g} tok/char"
        return f"{self.shape} · {text} · {self.server}"


def code_for(shape: str, messages: list[dict[str, Any]]) -> str:
    """What the 'model' writes: the shape's cell on turn 1, the finish after (by depth for the chain)."""
    try:
        depth = depth_of(messages)  # type: ignore[arg-type]
    except AssertionError:  # the forced-answer call after a budget stop: a compact prompt with no depth
        return "FINAL(the summaries gathered so far)"
    if turn_of(messages) > 1:  # type: ignore[arg-type]
        return FINISH
    if shape == "chain3":
        return CHAIN if depth < 2 else LEAF
    return BATCH if shape == "batch64" else SEQUENTIAL


def behaviour(scenario: Scenario) -> Behaviour:
    summary = LONG_REPLY if scenario.server in ("overbill", "long") else SUMMARY[scenario.text]

    def reply(request: dict[str, Any]) -> str:
        messages = request["messages"]
        return summary if is_sub_call(messages) else code_for(scenario.shape, messages)

    return Behaviour(
        text=reply,
        non_ascii_per_char=scenario.per_char,
        usage="none" if scenario.server == "no-usage" else "full",
        model="vendor/routed-model-2026" if scenario.server == "alias" else None,
        overbill=3.0 if scenario.server == "overbill" else 1.0,
    )


def document(text: str) -> str:
    if text == "ascii":
        words = (ASCII_WORDS * 2000)[:12_000]
        return " ".join(words)  # ~80k characters, ~20k tokens
    return CJK_TEXT * 1000  # 19k characters


def run(scenario: Scenario, budget: Budget | None) -> dict[str, Any]:
    with FakeOpenAIServer(behaviour(scenario)) as server:
        lm = OpenAICompatibleLM("auto", server.base_url, max_retries=0)
        rlm = RLM(
            lm,
            max_depth=3 if scenario.shape == "chain3" else 1,
            budget=budget or Budget(max_tokens_per_call=CAP),
            prices={"auto": PRICE},
        )
        started = time.monotonic()
        result = rlm.completion("Summarise the document.", context=document(scenario.text))
        seconds = time.monotonic() - started
        billed_in = sum(b.prompt_tokens for b in server.billed)
        billed_out = sum(b.completion_tokens for b in server.billed)
    usage = result.usage
    return {
        "calls_sent": len(server.billed),
        "billed_tokens": billed_in + billed_out,
        "billed_usd": round((billed_in * PRICE[0] + billed_out * PRICE[1]) / 1e6, 6),
        "counted_tokens": usage.total_tokens,
        "counted_usd": round(usage.cost_usd, 6),
        "estimated_calls": usage.total.estimated_calls,
        "overshoot_detected_tokens": usage.overshoot_tokens,
        "status": result.status,
        "stop": "overshoot" if "overshoot" in result.stop_reason else result.stop_reason.split(":")[0],
        "answer": result.answer[:80],
        "seconds": round(seconds, 2),
    }


def scenarios() -> list[Scenario]:
    listed: list[Scenario] = []
    for shape in ("batch64", "seq64", "chain3"):
        for text, per_char in (("ascii", 1.0), ("cjk", 1.0), ("cjk", 2.0)):
            for server in ("usage", "no-usage"):
                listed.append(Scenario(shape, text, per_char, server))
        listed.append(Scenario(shape, "ascii", 1.0, "alias"))
        listed.append(Scenario(shape, "ascii", 1.0, "overbill"))
    return listed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fraction", type=float, default=0.4, help="budget as a fraction of the job (0.4)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "budget_overshoot")
    args = parser.parse_args()
    rows: list[dict[str, Any]] = []
    for scenario in scenarios():
        # The job's size is what an honest server bills for it: for the overbilling server, the same long replies
        # billed as produced.
        full = run(dataclasses.replace(scenario, server="long") if scenario.server == "overbill" else scenario, None)
        usd = scenario.server == "alias"
        if usd:
            limit: float = round(full["billed_usd"] * args.fraction, 6)
            budget = Budget(max_usd=limit, max_tokens_per_call=CAP)
        else:
            limit = int(full["billed_tokens"] * args.fraction)
            budget = Budget(max_tokens=int(limit), max_tokens_per_call=CAP)
        capped = run(scenario, budget)
        billed = capped["billed_usd"] if usd else capped["billed_tokens"]
        counted = capped["counted_usd"] if usd else capped["counted_tokens"]
        row = {
            "scenario": scenario.name,
            "unit": "usd" if usd else "tokens",
            "job": full["billed_usd"] if usd else full["billed_tokens"],
            "job_calls": full["calls_sent"],
            "budget": limit,
            "billed": billed,
            "counted": counted,
            "over_budget": round(max(billed - limit, 0), 6),
            **{k: capped[k] for k in ("calls_sent", "estimated_calls", "overshoot_detected_tokens", "stop", "status")},
        }
        rows.append(row)
        print(
            f"{row['scenario']:44} budget {limit:>10} billed {billed:>10} counted {counted:>10} "
            f"over {row['over_budget']:>8} calls {row['calls_sent']:>3}/{row['job_calls']:<3} stop {row['stop']}",
            flush=True,
        )
    meta = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "fraction": args.fraction,
        "cap_per_call": CAP,
        "date": time.strftime("%Y-%m-%d"),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    args.out.with_suffix(".md").write_text(table(rows, args.fraction))
    print(f"wrote {args.out.with_suffix('.json')} and .md")


def table(rows: list[dict[str, Any]], fraction: float) -> str:
    lines = [
        f"Budget = {fraction:.0%} of the job; billed = what the server counted and billed; counted = what rlmx's "
        "ledger booked; over = billed beyond the budget; detected = tokens the ledger saw billed past their "
        "reservation (it then stops admitting).",
        "",
        "| scenario | budget | billed | counted | over | detected | calls sent / job | stop |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        money = row["unit"] == "usd"
        shown = [_fmt(row[k], money) for k in ("budget", "billed", "counted", "over_budget")]
        lines.append(
            f"| {row['scenario']} | {' | '.join(shown)} | {row['overshoot_detected_tokens']:,} | "
            f"{row['calls_sent']} / {row['job_calls']} | {row['stop']} |"
        )
    return "\n".join(lines) + "\n"


def _fmt(value: float, money: bool) -> str:
    return f"${value:.4f}" if money else f"{int(value):,}"


if __name__ == "__main__":
    main()
