"""A code block whose triple-quoted string holds a fence line (audit 77, v02): the model builds a sub-LM prompt that
quotes a snippet between ``` lines inside an ordinary ```repl block. CommonMark ends the block at the inner line, which
leaves the string open; rlmx reads on to the later close up to which the code compiles, and only then: prose never
runs. Parsed, and run through the real loop (ScriptedLM root, the subprocess REPL worker)."""

from __future__ import annotations

import pytest

from rlmx import RLM, protocol
from rlmx.lm import ScriptedLM
from rlmx.protocol import FENCE_HINT, fence_hint, parse_reply

CHECK = "FINAL('ok' if prompt.count('```') == 2 else 'bad')"
QUOTING = {
    "a bare ``` pair": "prompt = '''Summarize this snippet:\n```\n''' + context + '''\n```\n'''\n" + CHECK,
    "a ```python / ``` pair": "prompt = '''Fix this:\n```python\n''' + context + '''\n```\n'''\n" + CHECK,
    "a ```repl example": 'prompt = """Example:\n```repl\nprint(1)\n```\n"""\n' + CHECK,
}


def run(reply: str) -> tuple[str | None, int]:
    """The answer and turn count of a run whose first reply is `reply` (the second answers 'fallback')."""
    root = ScriptedLM([reply, "```repl\nFINAL('fallback')\n```"])
    result = RLM(root).completion("Prepare a prompt", context="def f(): return 1")
    return result.answer, result.iterations


@pytest.mark.parametrize("code", QUOTING.values(), ids=QUOTING.keys())
def test_a_repl_block_quoting_a_fenced_snippet_in_a_string_is_one_cell(code: str) -> None:
    reply = parse_reply(f"Let me build the prompt.\n```repl\n{code}\n```\nWaiting for the answer.")
    assert reply.cells == (code,)
    assert reply.prose == "Let me build the prompt.\nWaiting for the answer."
    assert reply.other_blocks == ()


@pytest.mark.parametrize("code", QUOTING.values(), ids=QUOTING.keys())
def test_the_block_runs_on_the_first_turn(code: str) -> None:
    assert run(f"```repl\n{code}\n```") == ("ok", 1)


@pytest.mark.parametrize(
    ("opening", "inner", "closing"),
    [
        ("~~~repl", "~~~", "~~~"),  # tildes
        ("````repl", "````", "````"),  # a four-backtick block whose string holds a four-backtick line
        ("```python", "```", "```"),
        ("```py", "````", "```"),  # a longer line closes too, so it cuts as well
        ("~~~python", "~~~~", "~~~"),
    ],
)
def test_every_code_fence_reads_past_a_close_inside_a_string(opening: str, inner: str, closing: str) -> None:
    code = f"note = '''Quoted:\n{inner}\nx = 1\n{inner}\n'''\nprint(len(note))"
    assert parse_reply(f"{opening}\n{code}\n{closing}\nDone.").cells == (code,)


def test_a_list_items_block_and_a_double_quoted_f_string_read_the_same_way() -> None:
    reply = parse_reply(
        '1. Build it:\n   ```repl\n   p = f"""Fix:\n   ```\n   {1}\n   ```\n   """\n   print(p)\n   ```\n2. Run'
    )
    assert reply.cells == ('p = f"""Fix:\n```\n{1}\n```\n"""\nprint(p)',)
    assert reply.prose == "1. Build it:\n2. Run"


def test_a_code_fence_inside_a_string_does_not_end_the_block_before_the_next_one() -> None:
    # "```python" opens a snippet in the prompt; a later ```repl block would otherwise make it a forgotten close
    for snippet in ("```python\nx = 1\n```", "```python\nx = 1"):
        code = f"p = '''Review:\n{snippet}\n'''\nprint(p)"
        reply = parse_reply(f"```repl\n{code}\n```\nThen:\n```repl\nprint(len(p))\n```")
        assert reply.cells == (code, "print(len(p))")
        assert reply.prose == "Then:"


def test_a_forgotten_close_before_the_next_block_still_ends_the_first() -> None:
    reply = parse_reply("```repl\nx = 1\n```repl\nprint(x)\n```")
    assert reply.cells == ("x = 1", "print(x)")


@pytest.mark.parametrize(
    "reply",
    [
        "```repl\np = '''abc\n```\nNow I look at the output.\n```",  # prose after the cut: no later close compiles
        "```repl\np = '''abc\n```\n'''\nprint(p)",  # no later close at all
        "```repl\np = '''abc\n```\n'''\nprint(p\n```\nprint(1)\n```",  # the first later close fails outside the string
    ],
)
def test_prose_never_runs_the_cut_stands_when_no_later_close_compiles(reply: str) -> None:
    assert parse_reply(reply).cells[0] == "p = '''abc"


def test_a_block_that_does_not_run_is_cut_as_commonmark_cuts_it() -> None:
    reply = parse_reply("```text\np = '''\n```\n'''\nprint(p)\n```")
    assert reply.cells == ()
    assert reply.other_blocks[0] == "p = '''"


def test_a_cut_block_with_no_compiling_close_still_gets_the_hint() -> None:
    # what the model is told when the cut stands: the string hint, for any spelling of Python's message (3.12 names
    # f-strings)
    for kind in ("string", "f-string"):
        error = (
            f'  File "<cell 1>", line 1\nSyntaxError: unterminated triple-quoted {kind} literal (detected at line 1)'
        )
        assert fence_hint(error) == FENCE_HINT


def _compiled_chars(text: str, monkeypatch: pytest.MonkeyPatch) -> int:
    """The characters of code the parse of `text` compiles: the work its look-ahead does, counted, not timed."""
    compiled = [0]
    compiles = protocol._compiles

    def counting(code: str) -> bool:
        compiled[0] += len(code)
        return compiles(code)

    with monkeypatch.context() as patch:
        patch.setattr(protocol, "_compiles", counting)
        parse_reply(text)
    return compiled[0]


@pytest.mark.parametrize(
    "block",
    [
        "```repl\np = '''a\n```\n'''\nprint(p)\n```\n",  # each block joined past its inner line
        "```repl\np = '''a\n```\nSome prose here.\n",  # each cut, and no later close compiles
        "```repl\np = '''a\n```python\nx\n",  # each an open string then a code fence
    ],
)
def test_many_blocks_cut_in_strings_parse_in_linear_time(block: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # the code compiled, not the time: 10x the text may compile about 10x the code; a quadratic reading ~100x
    small, large = block * (20_000 // len(block)), block * (200_000 // len(block))
    ratio = _compiled_chars(large, monkeypatch) / max(_compiled_chars(small, monkeypatch), 1)
    assert ratio < 30, f"parsing 10x the text compiled {ratio:.0f}x the code"
