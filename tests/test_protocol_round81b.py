"""Harmony marks and leaked end tokens against fenced bodies, read in one pass (review 81b F1-F4): a message
boundary ends a block a reasoning channel left open, marks inside a closed body stay its data however many there
are, and end tokens that end the reply are dropped even from an unclosed cell."""

from __future__ import annotations

import pytest

import rlmx.protocol as protocol
from rlmx.protocol import parse_reply, split_harmony

FINAL = "<|channel|>final<|message|>"
ANALYSIS = "<|channel|>analysis<|message|>"
TO_FINAL = f"<|end|><|start|>assistant{FINAL}"


@pytest.mark.parametrize(
    "draft",
    [
        "Answer in this shape:\n```\nFINAL(answer)\n",  # an untagged block
        "Count with:\n```bash\ngrep -c error log.txt\n",  # a shell command
        "First try:\n```python\nn = context.find('\n",  # Python stopped inside a string
        "Nested:\n````markdown\n```repl\nprint(0)\n",  # a longer fence holding a closed one
    ],
)
def test_a_block_the_analysis_left_open_ends_at_the_message_boundary(draft: str) -> None:
    reply = parse_reply(f"{ANALYSIS}{draft}{TO_FINAL}```repl\nprint(context[:5])\n```<|return|>")
    assert reply.cells == ("print(context[:5])",)
    answer = parse_reply(f"{ANALYSIS}{draft}{TO_FINAL}FINAL(12)<|return|>").final
    assert answer is not None and answer.argument == "12"


def test_a_cell_holding_a_long_transcript_is_kept_whole() -> None:
    exchange = (
        "<|start|>user<|message|>ask {i}<|end|><|start|>assistant<|channel|>analysis<|message|>why {i}<|end|>"
        "<|start|>assistant<|channel|>final<|message|>say {i}<|return|>\n"
    )
    code = 'LOG = """\\\n' + "".join(exchange.format(i=i) for i in range(12)) + '"""\nprint(LOG.count("say"))'
    reply = parse_reply(f"{ANALYSIS}Build a log.{TO_FINAL}```repl\n{code}\n```<|return|>")
    assert reply.cells == (code,)
    # with no harmony around it, the same cell is the reply's own text
    assert split_harmony(f"```repl\n{code}\n```\n")[0] == f"```repl\n{code}\n```\n"


def test_a_boundary_in_a_final_block_never_closed_ends_it() -> None:
    reply = parse_reply(f"{FINAL}```repl\nprint(1)\n{TO_FINAL}```repl\nprint(2)\n```<|return|>")
    assert reply.cells == ("print(1)", "print(2)")


def test_many_marks_in_a_block_cost_a_bounded_number_of_parses(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = protocol._parse

    def counted(text: str, reasoning: int, **options: object) -> protocol.Reply:
        calls.append(len(text))
        return real(text, reasoning, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(protocol, "_parse", counted)
    lines = "".join(f"row {i}\n{FINAL}\n<|start|>assistant{FINAL}x<|end|>\n" for i in range(200))
    reply = protocol.parse_reply(f"{ANALYSIS}Think.{TO_FINAL}```text\n{lines}```\nok<|return|>")
    assert reply.prose == "ok" and "row 199" in reply.other_blocks[0]
    assert len(calls) <= 4  # the harmony reading's one parse, the leaked tokens' one, the reply's own


@pytest.mark.parametrize(
    ("reply", "code"),
    [
        ("```repl\nx = 41 + 1\nprint(x)<|im_end|>\n<|endoftext|>", "x = 41 + 1\nprint(x)"),
        ("```repl\nprint(1)\n<end_of_turn>\n<eos>\n", "print(1)"),
        ("Running:\n```python\nprint(2)<|eot_id|>  \n\n<|eot_id|>\n<|eot_id|>", "print(2)"),
    ],
)
def test_end_tokens_ending_the_reply_leave_an_unclosed_cell(reply: str, code: str) -> None:
    assert parse_reply(reply).cells == (code,)


def test_a_token_inside_a_closed_cell_still_stays() -> None:
    code = "rows = '''a<|endoftext|>\nb'''\nprint(rows)"
    assert parse_reply(f"```repl\n{code}\n```\n<|im_end|>\n<|endoftext|>").cells == (code,)
