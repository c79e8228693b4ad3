from __future__ import annotations

import random
import time

import pytest

from rlmx.protocol import (
    ProseFinal,
    extract_cells,
    fence_hint,
    find_prose_final,
    parse_reply,
    split_thoughts,
    strip_code,
)


def test_extracts_repl_python_and_py_fences_in_order() -> None:
    text = "a\n```repl\nx = 1\n```\nb\n```python\ny = 2\n```\n```py\nz = 3\n```\n```js\nno()\n```"
    assert extract_cells(text) == ["x = 1", "y = 2", "z = 3"]


@pytest.mark.parametrize(
    "info",
    ["Python", "python3", "python3.12", "py3", "{python}", "{.py}", "python:solve.py", "python,repl", "ipython3"],
)
def test_language_spellings_models_use_are_python(info: str) -> None:
    assert extract_cells(f"```{info}\nx = 1\n```") == ["x = 1"]


def test_console_sessions_run_their_input_lines() -> None:
    text = "```pycon\n>>> words = context.split()\n>>> for w in words:\n...     print(w)\nalpha\nbeta\n```"
    assert extract_cells(text) == ["words = context.split()\nfor w in words:\n    print(w)"]
    assert extract_cells("```repl\n>>> x = 1\n>>> x\n1\n```") == ["x = 1\nx"]
    assert extract_cells("```pycon\nalpha\n```") == []  # output only: nothing to run


def test_unclosed_last_fence_runs_to_the_end() -> None:
    assert extract_cells("```repl\nprint(1)\nprint(2)") == ["print(1)\nprint(2)"]


def test_empty_cells_are_skipped() -> None:
    assert extract_cells("```repl\n\n```") == []


def test_prose_final_keeps_nested_parentheses() -> None:
    found = find_prose_final("Done.\nFINAL(f(x) = (1, 2) and g(y))\n")
    assert found == ProseFinal("final", "f(x) = (1, 2) and g(y)")


def test_prose_final_ignores_parentheses_inside_quotes() -> None:
    assert find_prose_final('FINAL("a ) b")') == ProseFinal("final", "a ) b")


def test_prose_final_var_takes_a_name() -> None:
    assert find_prose_final("FINAL_VAR(result)") == ProseFinal("final_var", "result")
    assert find_prose_final("FINAL_VAR('result')") == ProseFinal("final_var", "result")


def test_final_inside_code_fences_is_not_prose() -> None:
    assert find_prose_final("```repl\nFINAL(3)\n```") is None


def test_final_must_start_a_line() -> None:
    assert find_prose_final("I will call FINAL(x) later.") is None


def test_unbalanced_final_is_ignored() -> None:
    assert find_prose_final("FINAL(oops") is None


def test_strip_code_removes_fenced_blocks() -> None:
    assert strip_code("Answer: 7\n```repl\nprint(7)\n```") == "Answer: 7"


# --- reasoning is never action ----------------------------------------------------------------------------------


def test_a_final_drafted_while_thinking_does_not_finish() -> None:
    reply = parse_reply("<think>\nmaybe\nFINAL(alpha)\nno, look first\n</think>\n```repl\nprint(context[:9])\n```")
    assert reply.final is None
    assert reply.cells == ("print(context[:9])",)
    assert reply.reasoning_chars > 0


def test_code_drafted_while_thinking_does_not_run() -> None:
    reply = parse_reply("<think>\n```python\nfan_out()\n```\ntoo much\n</think>\n```repl\none_call()\n```")
    assert reply.cells == ("one_call()",)


def test_an_unclosed_think_is_reasoning_to_the_end() -> None:
    reply = parse_reply("<think>\nI could write\n```repl\nFINAL(1)\n```\nFINAL(2)\n")
    assert reply.cells == ()
    assert reply.final is None


def test_a_closing_tag_without_an_opening_one_ends_template_opened_reasoning() -> None:
    # Chat templates of R1-style models open <think> in the prompt: the reply only holds the closing tag.
    reply = parse_reply("draft:\n```repl\nwrong()\n```\nFINAL(draft)\n</think>\n```repl\nright()\n```")
    assert reply.cells == ("right()",)
    assert reply.final is None


def test_think_tags_inside_code_are_code() -> None:
    code = "parts = text.split('</think>')\nprint('<think>')"
    assert extract_cells(f"```repl\n{code}\n```") == [code]


def test_reasoning_is_not_part_of_a_prose_answer() -> None:
    assert strip_code("<thinking>\nsecret plan\n</thinking>\nThe answer is 7.") == "The answer is 7."


# --- CommonMark fences --------------------------------------------------------------------------------------------


def test_a_longer_fence_holds_triple_backtick_lines() -> None:
    code = "prompt = '''Quote:\n```\nx\n```\n'''\nFINAL(prompt)"
    assert extract_cells(f"````repl\n{code}\n````") == [code]


def test_a_closing_fence_must_be_as_long_as_the_opening_one() -> None:
    assert extract_cells("`````python\na = 1\n````\nb = 2\n`````") == ["a = 1\n````\nb = 2"]


def test_a_closing_fence_may_be_longer() -> None:
    assert extract_cells("```repl\na = 1\n`````\nafter") == ["a = 1"]


def test_tilde_fences_close_only_on_tildes() -> None:
    assert extract_cells("~~~repl\ns = '''\n```\n'''\n~~~") == ["s = '''\n```\n'''"]


def test_a_fence_line_with_text_after_it_does_not_close() -> None:
    assert extract_cells("```repl\nx = 1\n``` not a close\ny = 2\n```") == ["x = 1\n``` not a close\ny = 2"]


def test_backticks_in_an_info_string_make_inline_code_not_a_fence() -> None:
    assert extract_cells("```repl``` is how blocks start\n```repl\nok()\n```") == ["ok()"]


def test_an_indented_fence_is_dedented_by_its_indentation() -> None:
    assert extract_cells("1. Look:\n   ```repl\n   for x in y:\n       f(x)\n   ```") == ["for x in y:\n    f(x)"]


def test_language_names_are_case_insensitive_and_take_the_first_word() -> None:
    assert extract_cells("```Python title=demo\nx = 1\n```") == ["x = 1"]


def test_crlf_line_endings() -> None:
    assert extract_cells("```repl\r\nx = 1\r\n```\r\nFINAL(x)") == ["x = 1"]


# --- FINAL( in prose -------------------------------------------------------------------------------------------


def test_prose_final_with_an_apostrophe() -> None:
    assert find_prose_final("FINAL(It's 42)") == ProseFinal("final", "It's 42")


def test_the_last_well_formed_final_wins() -> None:
    text = "FINAL(first)\nFINAL(second\nFINAL(third)\nFINAL(broken"
    assert find_prose_final(text) == ProseFinal("final", "third")


def test_a_triple_quoted_final_spans_lines() -> None:
    assert find_prose_final('FINAL("""line one\nline two""")') == ProseFinal("final", "line one\nline two")


def test_a_final_argument_cannot_run_into_a_code_block() -> None:
    assert find_prose_final("FINAL(a\n```repl\nx = (1)\n```\n") is None


# --- property: any text parses, in time linear in its length ----------------------------------------------------

_PIECES = (
    "```repl\n",
    "````repl\n",
    "```python\n",
    "~~~py\n",
    "```\n",
    "````\n",
    "~~~\n",
    "<think>\n",
    "</think>\n",
    "<think>",
    "</think>",
    "FINAL(",
    "FINAL(x)\n",
    "FINAL_VAR(",
    "**FINAL(",
    '"""',
    "'''",
    '"',
    "'",
    "\\",
    "(",
    ")",
    "\n",
    "    ",
    "x = 1\n",
    "some prose with (parentheses\n",
    "\r\n",
    "\ud800",
    "`",
    "SUBMIT(a=1)\n",
    "done: ```repl\n",
    "\ufeff",
    "<|channel|>analysis<|message|>",
    "<|channel|>final<|message|>",
    "<|end|>",
    "```<|eot_id|>\n",
)


def _random_reply(rng: random.Random, size: int) -> str:
    parts: list[str] = []
    length = 0
    while length < size:
        piece = rng.choice(_PIECES) if rng.random() < 0.7 else "word " * rng.randint(1, 40)
        parts.append(piece)
        length += len(piece)
    return "".join(parts)[:size]


def test_random_replies_never_raise() -> None:
    rng = random.Random(20260509)
    for _ in range(300):
        reply = parse_reply(_random_reply(rng, rng.randint(0, 4000)))
        assert all(isinstance(cell, str) and cell.strip() for cell in reply.cells)


def _cpu_seconds(text: str) -> float:
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        parse_reply(text)
        best = min(best, time.process_time() - started)
    return best


@pytest.mark.parametrize("kind", ["mixed", "unclosed_finals", "tags_on_one_line", "glued_quoted_commented"])
def test_parse_time_grows_linearly_up_to_a_megabyte(kind: str) -> None:
    # A ratio, not a wall-clock limit: 10x the text may cost about 10x the time; a quadratic parser costs ~100x.
    if kind == "mixed":
        small, large = _random_reply(random.Random(1), 100_000), _random_reply(random.Random(1), 1_000_000)
    elif kind == "unclosed_finals":
        line = "FINAL(an answer (with an open parenthesis\n"
        small, large = line * (100_000 // len(line)), line * (1_000_000 // len(line))
    elif kind == "glued_quoted_commented":  # closes glued to fences, quotes in list items, drafts in comments
        piece, header = "```</think>\n1. - > ```repl\n<!-- FINAL(x\nFINAL(y)\n", "Here is my thought process:\n"
        small, large = header + piece * (100_000 // len(piece)), header + piece * (1_000_000 // len(piece))
    else:  # one line of tags written about: every closing tag is weighed against the same line
        piece = "<think> a `</think>` b </think> "
        small, large = "<think>\n" + piece * (100_000 // len(piece)), "<think>\n" + piece * (1_000_000 // len(piece))
    ratio = _cpu_seconds(large) / max(_cpu_seconds(small), 1e-4)
    assert ratio < 30, f"parsing 10x the text took {ratio:.0f}x the time"


def test_reasoning_tags_are_recognised_in_any_case() -> None:
    assert extract_cells("<REASONING>\n```repl\nno()\n```\n</REASONING>\n```repl\nyes()\n```") == ["yes()"]


def test_a_lone_surrogate_in_a_reply_never_reaches_an_answer() -> None:
    assert find_prose_final("FINAL(half an emoji \ud83d)") == ProseFinal("final", "half an emoji \ufffd")
    assert strip_code("answer \udc80") == "answer \ufffd"


def test_a_cell_cut_by_a_backtick_line_in_a_string_gets_a_hint() -> None:
    error = '  File "<cell 1>", line 1\nSyntaxError: unterminated triple-quoted string literal (detected at line 1)'
    assert "four backticks" in fence_hint(error)
    assert fence_hint("NameError: name 'x' is not defined") == ""
    assert fence_hint(None) == ""


# --- end to end: what the engine runs --------------------------------------------------------------------------


def test_a_run_acts_only_on_what_follows_the_reasoning() -> None:
    from rlmx import RLM
    from rlmx.lm import ScriptedLM

    sub = ScriptedLM(lambda messages: "summary")
    root = ScriptedLM(
        [
            "<think>\nFINAL(draft)\n```repl\nllm_query_batched(['a'] * 4)\n```\n</think>\n"
            "```repl\nkept = llm_query('one')\n```",
            "````repl\nFINAL(kept + ' ```')\n````",
        ]
    )
    result = RLM(root, sub_lm=sub).completion("q", context="c")
    assert (result.answer, len(sub.calls)) == ("summary ```", 1)


# --- tags written about, not acted on -------------------------------------------------------------------------------


@pytest.mark.parametrize("opened", ["<think>\n", ""])
def test_reasoning_that_quotes_the_tags_is_still_reasoning(opened: str) -> None:
    """Reasoning that repeats the prompt's "blocks inside <think>...</think> never run" (explicitly opened, or opened
    by the chat template) goes on until the real closing tag: its draft code and FINAL stay reasoning."""
    reply = parse_reply(
        opened + "The prompt says blocks inside <think>...</think> never run, and `</think>` or '</think>' too.\n"
        "```python\nspent = llm_query_batched([context] * 5)\n```\nFINAL(draft)\n</think>\n"
        "```repl\nprint(context[:10])\n```"
    )
    assert reply.cells == ("print(context[:10])",) and reply.final is None


def test_a_closing_tag_mentioned_after_code_keeps_the_code() -> None:
    reply = parse_reply("```repl\nx = 1\n```\nNo reasoning here: I never write `</think>` myself.")
    assert reply.cells == ("x = 1",)


def test_reasoning_closed_at_the_end_of_a_line_that_mentions_an_opening_tag_is_closed() -> None:
    reply = parse_reply("<think>\nthe <think> tag starts this part</think>\n```repl\nx = 2\n```")
    assert reply.cells == ("x = 2",)


# --- gpt-oss's harmony format, leaked as text ---------------------------------------------------------------------


def test_harmony_analysis_is_reasoning_and_the_final_channel_is_the_reply() -> None:
    reply = parse_reply(
        "<|channel|>analysis<|message|>Draft:\n```repl\nllm_query_batched([context] * 6)\n```\nFINAL(alpha)<|end|>"
        "<|start|>assistant<|channel|>final<|message|>```repl\nprint(len(context))\n```<|return|>"
    )
    assert reply.cells == ("print(len(context))",) and reply.final is None
    assert reply.reasoning_chars > 40


def test_harmony_commentary_is_not_action_either() -> None:
    reply = parse_reply(
        "<|channel|>commentary to=functions.run <|constrain|>json<|message|>FINAL(tool)<|call|>"
        "<|channel|>final<|message|>FINAL(done)"
    )
    assert reply.final == ProseFinal("final", "done")


# --- fences as models actually write them ---------------------------------------------------------------------------


@pytest.mark.parametrize("mark", ["\ufeff", "\u200b", "\u2060"])
def test_an_invisible_mark_before_a_fence_does_not_hide_it(mark: str) -> None:
    assert parse_reply(mark + "```repl\nFINAL(context.split()[-1])\n```").cells == ("FINAL(context.split()[-1])",)


def test_a_fence_opened_at_the_end_of_a_line_of_text_is_a_block() -> None:
    reply = parse_reply("Done, finishing now: ```repl\nFINAL(context.split()[-1])\n```\nthat is all")
    assert reply.cells == ("FINAL(context.split()[-1])",) and reply.final is None
    assert "Done, finishing now:" in reply.prose and "that is all" in reply.prose


@pytest.mark.parametrize(
    "item",
    [
        "- Look at the end:\n  - ```repl\n    w = context.split()\n    print(w[-1])\n    ```\n- Then answer.",
        "Plan:\n- Look:\n    - ```python\n      w = context.split()\n      print(w[-1])\n      ```\n    - Then answer.",
        "1. Look:\n    1. ```repl\n       w = context.split()\n       print(w[-1])\n       ```\n2. Then answer.",
        "- Look:\n\t- ```repl\n\t  w = context.split()\n\t  print(w[-1])\n\t  ```\n- Then answer.",
    ],
)
def test_a_fence_on_a_nested_list_items_marker_line_closes_at_the_items_content_column(item: str) -> None:
    # the block sits in the item: its lines and its closing fence are indented to the item's content column
    reply = parse_reply(item)
    assert reply.cells == ("w = context.split()\nprint(w[-1])",)
    assert "Then answer." in reply.prose


def test_a_fence_after_a_list_items_text_still_takes_column_0() -> None:
    assert parse_reply("- Run it: ```repl\n  print(1)\n  ```\n- done").cells == ("print(1)",)


@pytest.mark.parametrize(
    ("reply", "code"),
    [
        ("Steps:\n- ```repl\nfor w in context.split():\n  print(w)\n```", "for w in context.split():\n  print(w)"),
        ("12. ```python\nif True:\n    x = 1\n```\n13. Then answer.", "if True:\n    x = 1"),
        ("* ```repl\ns = '''a\n   b'''\nprint(s)\n```", "s = '''a\n   b'''\nprint(s)"),
        ("10. ```repl\nfor i in range(2):\n    print(i)\n```", "for i in range(2):\n    print(i)"),
        ("  - ```repl\n  if x:\n      y()\n    ```", "if x:\n    y()"),  # all share 2 of the item's 4
    ],
)
def test_a_list_items_block_loses_only_the_indentation_all_its_lines_share(reply: str, code: str) -> None:
    # models often leave a list item's code at column 0: it keeps its own indentation, and strings their contents
    assert parse_reply(reply).cells == (code,)


@pytest.mark.parametrize("marker", ["- ", "4. ", "  * "])
def test_a_list_items_block_whose_string_runs_at_column_0_loses_the_items_column(marker: str) -> None:
    # the string's column-0 lines share no indentation with the code, yet the code sits at the item's column
    pad = " " * len(marker)
    body = f'{pad}note = """first line\nsecond line\n"""\n{pad}if note:\n{pad}    print(note.split()[0])'
    parsed = parse_reply(f"Next:\n{marker}```python\n{body}\n{pad}```\n- Then answer.")
    assert parsed.cells == ('note = """first line\nsecond line\n"""\nif note:\n    print(note.split()[0])',)


@pytest.mark.parametrize(
    "note",
    [
        "- ```python cells run in the sandbox",
        "2) ~~~ blocks count as code too",
        "```repl is the block the system runs",
    ],
)
def test_a_fence_followed_by_a_sentence_in_reasoning_drafts_no_block(note: str) -> None:
    # a fence mentioned at the start of a sentence is written about: a close glued to the last words still ends it
    reply = f"<think>\nReminder:\n{note}\nSo: count the words.</think>\n```repl\nprint(len(context.split()))\n```"
    parsed = parse_reply(reply)
    assert parsed.cells == ("print(len(context.split()))",)
    assert parsed.reasoning_chars == reply.index("</think>") + len("</think>")
    drafted = "<think>\n- ```python\n  FINAL('x')</think>\n  ```\nok</think>\n```repl\nprint(1)\n```"
    assert parse_reply(drafted).cells == ("print(1)",)  # a language after the fence still drafts a block


@pytest.mark.parametrize(
    ("opening", "closing"),
    [
        ("- ~~~python", "  ~~~"),
        ("1. ~~~repl", "   ~~~"),
        ('- ```python title="step.py"', "  ```"),
        ("- ```{python}", "  ```"),
        ("  - 2) ````py3", "       ````"),
        ("*\t```Python", "    ```"),
    ],
)
def test_a_fence_that_begins_a_list_item_is_read_as_one_at_a_lines_start(opening: str, closing: str) -> None:
    pad = " " * (len(closing) - len(closing.lstrip()))
    parsed = parse_reply(f"Plan:\n{opening}\n{pad}print(context[-5:])\n{closing}\n- Then answer.")
    assert parsed.cells == ("print(context[-5:])",) and "Then answer." in parsed.prose


@pytest.mark.parametrize(
    "reply",
    [
        '1. ```json\n   {"want": "last"}\n   ```\n2. ```repl\n   print(1)\n   ```',
        "- ~~~text\n  FINAL(alpha)\n  ~~~\n- ```python\n  print(1)\n  ```",
        "- ```text\n  FINAL(alpha)\n  ```\n- then check.\n\n```repl\nprint(1)\n```",
    ],
)
def test_a_data_block_that_begins_a_list_item_closes_and_holds_no_code_or_final(reply: str) -> None:
    parsed = parse_reply(reply)
    assert (parsed.cells, parsed.final) == (("print(1)",), None)
    assert len(parsed.other_blocks) == 1 and "alpha" not in parsed.prose


def test_a_list_items_fence_inside_an_open_block_is_the_blocks_text() -> None:
    # a closing fence never begins a list item's content: "- ```" in a block's code closes nothing
    assert parse_reply("```repl\ns = 1\n- ```\nprint(s)\n```").cells == ("s = 1\n- ```\nprint(s)",)


def test_a_language_that_is_not_code_at_the_end_of_a_line_stays_prose() -> None:
    assert parse_reply("see this: ```json\n{}\n```").cells == ()


@pytest.mark.parametrize("token", ["<|eot_id|>", "<|im_end|>", "<|end|> <|return|>", "</s>"])
def test_a_leaked_end_of_turn_token_closes_the_fence_it_is_glued_to(token: str) -> None:
    reply = parse_reply(f"```repl\nFINAL(1)\n```{token}\nafter")
    assert reply.cells == ("FINAL(1)",) and reply.prose == "after"


def test_a_tab_indented_fence_is_dedented_by_its_tabs() -> None:
    assert parse_reply("1. step\n\t```repl\n\tif True:\n\t    x = 1\n\t```").cells == ("if True:\n    x = 1",)


# --- SUBMIT in prose ----------------------------------------------------------------------------------------------


def test_a_prose_submit_with_keyword_arguments_finishes() -> None:
    assert parse_reply("```repl\nx = 1\n```\nSUBMIT(word='gamma', n=x)").final == ProseFinal(
        "submit", "word='gamma', n=x"
    )


@pytest.mark.parametrize("text", ["SUBMIT('gamma')", "SUBMIT(the answer)", "SUBMIT()"])
def test_a_prose_submit_that_is_not_keyword_arguments_is_ignored(text: str) -> None:
    assert parse_reply(text).final is None


# --- a reply read for its text ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "answer"),
    [
        ("The last word is gamma.<|eot_id|>", "The last word is gamma."),
        (
            "It is gamma.<|im_end|>\n<|im_start|>user\nAnd the first?<|im_end|>\n<|im_start|>assistant\nalpha",
            "It is gamma.",
        ),
        ("It is gamma.\r\nSure.</s><s>[INST] and? [/INST] alpha", "It is gamma.\nSure."),
        ("It is gamma.\n<|user|>\nThanks!\n<|assistant|>\nalpha", "It is gamma."),
        (
            "<think>\nMaybe alpha.\n</think>\nIt is gamma.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nalpha?",
            "It is gamma.",
        ),
    ],
)
def test_split_thoughts_tidies_every_reply_as_the_root_reply_is_read(reply: str, answer: str) -> None:
    # leaked tokens dropped and a run-on into a made-up turn cut, with or without reasoning before it
    assert split_thoughts(reply)[0] == answer


def test_split_thoughts_leaves_a_reply_with_nothing_to_tidy_as_it_is() -> None:
    for reply in ("gamma", "The separator is `<|im_end|>`.\n\n```python\nprint(1)\n```\n", "  spaced out  "):
        assert split_thoughts(reply) == (reply, [])
