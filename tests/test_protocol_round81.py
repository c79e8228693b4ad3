"""A fenced block's body is data the reply's reading never rewrites (audit 81 kinds v01, v02): gpt-oss harmony
headers and end tokens, and leaked template tokens at line ends, are markup only outside block bodies."""

from __future__ import annotations

import pytest

from rlmx.protocol import parse_reply, split_harmony

HEADER_FINAL = "<|channel|>final<|message|>"
HEADER_ANALYSIS = "<|channel|>analysis<|message|>"


@pytest.mark.parametrize(
    "code",
    [
        f"pieces = context.split('{HEADER_FINAL}')\nprint(len(pieces))",
        f"marker = '{HEADER_ANALYSIS}'\nprint(marker in context)",
        f'note = """a record:\n<|start|>assistant{HEADER_FINAL}Hi<|return|>\n"""\nprint(note)',
        "ends = ['<|end|>', '<|return|>', '<|call|>']\nprint(ends)",
    ],
)
def test_harmony_markup_in_a_cell_is_the_cells_data(code: str) -> None:
    reply = parse_reply(f"Splitting the transcript.\n```repl\n{code}\n```\n")
    assert reply.cells == (code,)
    assert reply.reasoning_chars == 0


def test_harmony_markup_in_a_block_that_does_not_run_stays_its_text() -> None:
    text = f"The transcript reads:\n```text\n<|start|>assistant{HEADER_ANALYSIS}hm<|end|>\n```\nDone."
    assert split_harmony(text) == (text, [])


def test_a_real_harmony_reply_whose_final_code_holds_a_header() -> None:
    code = f"parts = context.split('{HEADER_FINAL}')\nFINAL(len(parts))"
    reply = parse_reply(
        f"{HEADER_ANALYSIS}I will split on the final header.<|end|>"
        f"<|start|>assistant{HEADER_FINAL}```repl\n{code}\n```<|return|>"
    )
    assert reply.cells == (code,)
    assert reply.reasoning_chars == len("I will split on the final header.")


def test_real_harmony_replies_read_as_before() -> None:
    # the analysis drafts code and closes it; the final channel's block runs
    reply = parse_reply(
        f"{HEADER_ANALYSIS}Maybe:\n```repl\nprint('draft')\n```\nBetter below.<|end|>"
        f"<|start|>assistant{HEADER_FINAL}```repl\nprint('real')\n```<|return|>"
    )
    assert reply.cells == ("print('real')",)
    # an analysis whose drafted block was never closed: the channel's end closes it, the final channel still runs
    reply = parse_reply(
        f"{HEADER_ANALYSIS}Draft:\n```python\nx = 1\n<|end|><|start|>assistant{HEADER_FINAL}"
        "```repl\nprint('real')\n```<|return|>"
    )
    assert reply.cells == ("print('real')",)
    # commentary is reasoning too, and text with a final channel only is the reply
    reply = parse_reply(f"<|channel|>commentary<|message|>```repl\nprint('no')\n```<|end|>{HEADER_FINAL}FINAL(7)")
    assert reply.cells == ()
    assert reply.final is not None and reply.final.argument == "7"


@pytest.mark.parametrize("token", ["<|endoftext|>", "</s>", "</response>", "<end_of_turn>", "<|eot_id|>"])
def test_a_token_ending_a_code_line_is_the_cells(token: str) -> None:
    code = f"record = '''Q: hi{token}\n'''\nprint(record)"
    reply = parse_reply(f"Writing it.\n```repl\n{code}\n```\nNow we wait.{token}\n")
    assert reply.cells == (code,)
    assert token not in reply.prose  # leaked in prose: dropped as before


def test_html_strike_at_a_line_end_in_code_stays() -> None:
    code = "html = '''<p>was <s>10</s>\nnow 8</p>'''\nprint(html)"
    assert parse_reply(f"```python\n{code}\n```").cells == (code,)


def test_leaked_tokens_outside_bodies_are_still_dropped() -> None:
    # glued to the closing fence, and ending an unclosed block at the very end of the reply
    assert parse_reply("```repl\nprint(1)\n```<|eot_id|>\nFINAL(2)<|im_end|>").cells == ("print(1)",)
    reply = parse_reply("```repl\nprint(1)\n```<|eot_id|>\nFINAL(2)<|im_end|>")
    assert reply.final is not None and reply.final.argument == "2"
    assert parse_reply("```repl\nprint(3)<|eot_id|>").cells == ("print(3)",)
