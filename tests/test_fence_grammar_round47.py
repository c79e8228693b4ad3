"""One fence grammar for invisible characters, glued close-and-open lines, leftover fence lines and blocks that do
not run: parsed, and run through the real loop (ScriptedLM root, the subprocess REPL worker)."""

from __future__ import annotations

import pytest

from rlmx import RLM, prompts
from rlmx.lm import ScriptedLM
from rlmx.protocol import FENCE_HINT, fence_hint, parse_reply

INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00a0", "\u3000", " \u200b\u00a0"]
CODE = "words = context.split()\nprint('LAST=' + words[-1])"


def feedback(reply: str) -> str:
    """What the model is told after `reply`, run by the real loop on the subprocess worker."""
    lm = ScriptedLM([reply, "FINAL(done)"])
    RLM(lm).completion("What is the last word?", context="alpha beta gamma")
    return str(lm.calls[1][-1]["content"])


@pytest.mark.parametrize("mark", INVISIBLE)
@pytest.mark.parametrize(
    "shape",
    [
        "```repl\n{code}\n```{m}\nNow I wait for the output.",  # after the closing fence
        "Let me look.\n{m}```repl\n{code}\n```\nNow I wait for the output.",  # before the opening fence
        "```repl\n{code}\n{m}```\nNow I wait for the output.",  # before the closing fence
        "```repl\n{code}\n{m}```{m}\nNow I wait for the output.",  # both sides
        "~~~repl\n{code}\n~~~{m}\nNow I wait for the output.",  # a tilde fence
        "```repl\n{code}```{m}\nNow I wait for the output.",  # a close glued to the code (lenient)
    ],
)
def test_an_invisible_mark_on_a_fence_line_reads_as_a_space_wherever_it_stands(shape: str, mark: str) -> None:
    reply = parse_reply(shape.format(code=CODE, m=mark))
    assert reply.cells == (CODE,)
    assert reply.prose.strip(" \u200b\u00a0\u3000\ufeff\u200c\u200d\u2060").endswith("Now I wait for the output.")


def test_a_zero_width_mark_after_a_close_still_lets_a_longer_fence_hold_shorter_ones() -> None:
    # CommonMark's pairing is kept: a ``` line with a mark after it inside a ```` block is code, not a close
    reply = parse_reply("````repl\ns = '''\n```\u200b\n'''\nprint(len(s))\n````\u200b\nDone.")
    assert reply.cells == ("s = '''\n```\u200b\n'''\nprint(len(s))",)
    assert reply.prose == "Done."


@pytest.mark.parametrize(
    "reply",
    [
        "```repl\nx = 1\n``````repl\nprint(x)\n```",
        "```repl\nx = 1\n``` ```python\nprint(x)\n```",
        "````repl\nx = 1\n```````repl\nprint(x)\n````",
    ],
)
def test_a_fence_line_with_an_info_string_inside_a_block_is_its_code_as_commonmark_reads_it(reply: str) -> None:
    # a close glued to the next open is not split: that reading ran a bash heredoc's text and split cells whose
    # strings held such lines (audit 48); the model is told the line is a fence line instead (below)
    (cell,) = parse_reply(reply).cells
    assert cell.startswith("x = 1\n") and cell.endswith("\nprint(x)")


def test_a_glued_looking_line_in_a_block_that_does_not_run_stays_its_text() -> None:
    reply = parse_reply("```bash\ncat <<EOF\n``````python\nEOF\n```\nDone.")
    assert reply.cells == () and reply.prose == "Done."
    commented = '```repl\n# a """ in a comment\nt = """\n``````python\n"""\nprint(len(t))\n```'
    assert parse_reply(commented).cells == ('# a """ in a comment\nt = """\n``````python\n"""\nprint(len(t))',)


def test_a_longer_bare_fence_is_a_close_only_and_a_string_keeps_its_fence_line() -> None:
    bare = parse_reply("```repl\nx = 1\n``````\nprint(x) is next.")
    assert (bare.cells, bare.prose) == (("x = 1",), "print(x) is next.")
    in_string = parse_reply('```repl\ns = """\n``````python\n"""\nprint(s)\n```')
    assert in_string.cells == ('s = """\n``````python\n"""\nprint(s)',)


def test_a_glued_close_and_open_is_named_to_the_model_as_a_fence_line() -> None:
    told = feedback("```repl\nwords = context.split()\n``````repl\nprint('LAST=' + words[-1])\n```")
    assert "SyntaxError" in told and "Line 2 of the block is a fence line (``````repl)" in told


def test_a_fence_line_in_code_the_cell_executes_gets_no_fence_hint() -> None:
    # exec() of a sub-LM's reply that kept its fence: the error is in that code (<string>), not the cell's block
    error = 'File "<string>", line 1\n    ```python\n    ^\nSyntaxError: invalid syntax'
    assert "fence line" not in fence_hint(error)


def test_zero_width_after_a_close_and_nbsp_before_an_open_run_in_the_real_loop() -> None:
    assert "LAST=gamma" in feedback(f"```repl\n{CODE}\n```\u200b\nNow I wait for the output.")
    assert "LAST=gamma" in feedback(f"Let me look.\n\u00a0```repl\n{CODE}\n```")


def test_a_fence_line_left_in_a_cell_gets_a_hint_naming_it() -> None:
    # a ```` block holds a ``` line as code (CommonMark), which Python cannot run
    told = feedback("````repl\nwords = context.split()\n```\nprint('LAST=' + words[-1])\n````")
    assert "SyntaxError" in told
    assert "Line 2 of the block is a fence line (```)" in told
    error = 'File "<cell 1>", line 3\n    ~~~python\n    ^\nSyntaxError: invalid syntax'
    assert "Line 3 of the block is a fence line (~~~python)" in fence_hint(error)


def test_the_string_fence_hint_names_tildes_too() -> None:
    assert "three backticks" not in FENCE_HINT
    assert "~~~" in FENCE_HINT and "four backticks" in FENCE_HINT


def test_a_tool_code_block_runs_as_python() -> None:
    assert parse_reply(f"I'll inspect the context.\n```tool_code\n{CODE}\n```").cells == (CODE,)
    assert "LAST=gamma" in feedback(f"I'll inspect the context.\n```tool_code\n{CODE}\n```")


@pytest.mark.parametrize(
    ("reply", "named"),
    [
        ("Here is my plan:\n```javascript\nconsole.log(context)\n```", "```javascript block"),
        ("The data:\n```\nalpha beta gamma\n```", "untagged ``` block"),
        ('```json\n{"a": 1}\n```\n```text\nnotes\n```', "```json block and ```text block"),
    ],
)
def test_no_code_names_the_blocks_that_did_not_run(reply: str, named: str) -> None:
    told = feedback(reply)
    assert told.startswith(prompts.NO_CODE)
    assert named in told and "did not run" in told


def test_a_full_width_fence_is_named_as_no_fence() -> None:
    told = feedback(f"\uff40\uff40\uff40repl\n{CODE}\n\uff40\uff40\uff40")
    assert told.startswith(prompts.NO_CODE)
    assert "\uff40\uff40\uff40repl line is written in full-width characters" in told
