"""The first prompt describes at most `DESCRIBED_CONTEXTS` context variables and names the rest within
`NAMED_CONTEXT_CHARS` (audit 72 names v06): 5,000 small contexts (191,779 characters in all) made a first prompt of
493,289 characters, 2.6 times the data; the README promises a short preview, never the content."""

from __future__ import annotations

from rlmx import RLM
from rlmx.lm import ScriptedLM
from rlmx.prompts import DESCRIBED_CONTEXTS, NAMED_CONTEXT_CHARS
from scripting import repl


def first_prompt(contexts: dict[str, str]) -> tuple[str, str]:
    lm = ScriptedLM([repl("FINAL(str(len([n for n in globals() if n.startswith('note_')])))")])
    answer = RLM(lm).completion("q", contexts=contexts).answer
    return next(m["content"] for m in lm.calls[0] if m["role"] == "user"), answer


def test_thousands_of_contexts_make_a_first_prompt_far_smaller_than_their_data() -> None:
    contexts = {f"note_{i:04d}": f"note {i}: " + "a short line of text " * 2 for i in range(3000)}
    prompt, answer = first_prompt(contexts)
    assert answer == "3000"  # every one is in the REPL
    assert len(prompt) < 6_000 < sum(map(len, contexts.values()))
    assert "The REPL holds 3000 context variable(s)" in prompt
    assert prompt.count("- `note_") == DESCRIBED_CONTEXTS
    assert f"and {3000 - DESCRIBED_CONTEXTS:,} more" in prompt and "note_0020, note_0021" in prompt
    named = prompt.split("SHOW_VARS() lists every variable): ", 1)[1].split("\n", 1)[0]
    assert len(named) <= NAMED_CONTEXT_CHARS + 5 and named.endswith(", ...")


def test_a_few_contexts_are_all_described() -> None:
    prompt, _ = first_prompt({f"note_{i}": "text" for i in range(DESCRIBED_CONTEXTS)})
    assert prompt.count("- `note_") == DESCRIBED_CONTEXTS and "more, not described" not in prompt
