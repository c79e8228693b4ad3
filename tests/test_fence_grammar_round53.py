"""Code blocks read as the model meant them (audit 53): an IPython session runs its input lines, an agent framework's
end-of-code marker glued to a fence closes the block, and a block ended by a closing code tag runs its code (or is
told the tag is no close). Parsed, and run through the real loop (ScriptedLM root, the subprocess REPL worker)."""

from __future__ import annotations

import pytest

from rlmx import RLM
from rlmx.lm import ScriptedLM
from rlmx.protocol import fence_hint, parse_reply

CODE = "words = context.split()\nprint('LAST=' + words[-1])"


def feedback(reply: str) -> str:
    """What the model is told after `reply`, run by the real loop on the subprocess worker."""
    lm = ScriptedLM([reply, "FINAL(done)"])
    RLM(lm).completion("Which word comes last?", context="red green blue")
    return str(lm.calls[1][-1]["content"])


SESSION = (
    "```ipython\n"
    "In [1]: words = context.split()\n"
    "\n"
    "In [2]: words[0]\n"
    "Out[2]: 'red'\n"
    "\n"
    "In [3]: for w in words[-1:]:\n"
    "   ...:     print('LAST=' + w)\n"
    "   ...:\n"
    "LAST=blue\n"
    "```"
)


def test_an_ipython_session_runs_its_input_lines_only() -> None:
    (cell,) = parse_reply(SESSION).cells
    assert cell == "words = context.split()\nwords[0]\nfor w in words[-1:]:\n    print('LAST=' + w)\n"
    assert "LAST=blue" in feedback(SESSION)


def test_a_console_session_keeps_ipython_prompts_it_printed_as_output() -> None:
    # a `>>>` session printing a notebook's text ran the printed "In [1]:" lines as code (audit 58)
    session = ">>> w = context.split()\n>>> print(nb)\nIn [1]: print('LEAK')\n   ...: print('LEAK2')\n>>> w[-1]"
    assert parse_reply(f"```python\n{session}\n```").cells == ("w = context.split()\nprint(nb)\nw[-1]",)
    ipython = "In [1]: x = 1\n>>> print('printed, not run')\nIn [2]: x"  # and the other way round
    assert parse_reply(f"```ipython\n{ipython}\n```").cells == ("x = 1\nx",)


def test_a_one_line_ipython_session_is_not_run_as_an_annotation() -> None:
    # `In [1]: x = len(context)` compiles (an annotated subscript) and would fail with NameError 'In'
    assert parse_reply("```ipython\nIn [1]: x = len(context)\nIn [2]: print('N', x)\n```").cells == (
        "x = len(context)\nprint('N', x)",
    )
    assert "N 14" in feedback("```python\nIn [10]: x = len(context)\n\nIn [11]: print('N', x)\n```")


def test_ordinary_code_that_only_looks_like_a_session_runs_byte_exact() -> None:
    for code in (
        "...\nprint('kept')",  # Ellipsis as a placeholder, then code: no session, nothing dropped
        "... # filled in below\nprint('kept')",
        "x = 1\ns = '''\nIn [1]: y\n>>> z\n'''\nprint('kept')",  # prompts inside a string
    ):
        assert parse_reply(f"```repl\n{code}\n```").cells == (code,)


@pytest.mark.parametrize("marker", ["<end_code>", "<end_action>"])
def test_an_agent_frameworks_end_of_code_marker_glued_to_the_fence_closes_the_block(marker: str) -> None:
    reply = f"Thought: print the last word.\nCode:\n```py\n{CODE}\n```{marker}\nObservation:"
    parsed = parse_reply(reply)
    assert parsed.cells == (CODE,)
    assert marker in parsed.prose
    assert "LAST=blue" in feedback(reply)


@pytest.mark.parametrize("tag", ["</code>", "</code", "[/code]", "  </execute>  "])
def test_a_block_ended_by_a_closing_tag_line_runs_its_code(tag: str) -> None:
    reply = f"```python\n{CODE}\n{tag}\nNow I wait for the output."
    parsed = parse_reply(reply)
    assert parsed.cells == (CODE,)
    assert parsed.prose.endswith("Now I wait for the output.")
    assert "LAST=blue" in feedback(reply)


def test_a_closing_tag_line_left_in_a_closed_block_is_named_to_the_model() -> None:
    # a later ``` closes the block, so the tag is in the code (CommonMark): the model is told why it failed
    reply = f"```python\n{CODE}\n</code>\nThat prints it.\n```"
    (cell,) = parse_reply(reply).cells
    assert "</code>" in cell
    told = feedback(reply)
    assert "SyntaxError" in told
    assert "Line 3 of the block is a closing tag (</code>), not code" in told


def test_a_closing_tag_in_a_string_is_code_and_the_tag_hint_names_the_cells_own_line_only() -> None:
    code = "html = '''<code>x</code>\n</code>\n'''\nprint('LAST=' + context.split()[-1], len(html))"
    assert parse_reply(f"```python\n{code}\n```").cells == (code,)
    error = 'File "<cell 1>", line 2\n    [/code]\n    ^\nSyntaxError: invalid syntax'
    assert "closing tag ([/code])" in fence_hint(error)
    assert fence_hint('File "/lib/x.py", line 2\n    </code>\nSyntaxError: invalid syntax') == ""


@pytest.mark.parametrize("line", ["%timeit words = context.split()", "!ls -la", "%%time"])
def test_an_ipython_magic_in_a_session_is_named_to_the_model(line: str) -> None:
    # a magic or shell escape among a session's inputs failed the whole cell with a bare SyntaxError, no hint
    told = feedback(f"```ipython\nIn [1]: words = context.split()\nIn [2]: {line}\nIn [3]: print(words[-1])\n```")
    assert "SyntaxError" in told and "Line 2 of the block is an IPython magic or shell command" in told, told
