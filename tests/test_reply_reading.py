"""What a reply's text makes happen, end to end: reasoning in every model's markup never acts, blocks close where
the model meant, a reply cut at its cap does not run its cut block, and a finish written next to code stands only
once its output backs it."""

from __future__ import annotations

import sys
import time

import pytest

from rlmx import RLM, Budget, Event, LMServerError, Result
from rlmx.lm import Message, ScriptedLM
from rlmx.prompts import FORCED_SYSTEM
from rlmx.protocol import (
    REASONING_PHRASES,
    REASONING_TAGS,
    ProseFinal,
    extract_cells,
    find_final_anywhere,
    find_prose_final,
    has_quoted_block,
    last_turn_text,
    parse_reply,
    split_thoughts,
)
from scripting import repl, router

CONTEXT = "alpha beta gamma"


def run(replies: list[str], **options: object) -> tuple[Result, ScriptedLM]:
    lm = ScriptedLM(replies)
    return RLM(lm, **options).completion("What is the last word?", context=CONTEXT), lm  # type: ignore[arg-type]


@pytest.mark.parametrize(("opening", "closing"), REASONING_TAGS)
def test_reasoning_in_every_models_markup_never_acts(opening: str, closing: str) -> None:
    draft = "Maybe just\nFINAL(alpha)\nor fan out first:\n```repl\nouts = llm_query_batched(['x'] * 5)\n```\n"
    reply = f"{opening}\n{draft}{closing}\n```repl\nprint(llm_query('one'), context.split()[-1])\n```"
    asked: list[str] = []
    sub = lambda messages: asked.append(messages[-1]["content"]) or "sub answer"  # noqa: E731
    lm = ScriptedLM(router(root=[reply, repl("FINAL(context.split()[-1])")], sub=sub))
    result = RLM(lm).completion("What is the last word?", context=CONTEXT)
    assert result.answer == "gamma"
    assert len(asked) == 1  # the drafted fan-out never ran; the real block's one call did


def test_a_template_opened_reasoning_swallows_what_it_drafted() -> None:
    # Only the closing tag is in the text; the draft left a fence open, and another line ends in "```repl".
    for draft in ("hmm\n```repl\nwords = context.split(\n", "so I will run it in a ```repl\n"):
        parsed = parse_reply(f"{draft}</think>\n\n```repl\nprint(1)\n```")
        assert parsed.cells == ("print(1)",) and parsed.reasoning_chars > 0


def test_reasoning_markers_are_not_mistaken_for_leaked_template_tokens() -> None:
    parsed = parse_reply("<|begin_of_thought|>\n```repl\nx = 1\n```\n<|end_of_thought|>\n```repl\ny = 2\n```")
    assert parsed.cells == ("y = 2",)


def test_a_quoted_example_fence_is_not_a_block() -> None:
    reply = "The prompt says:\n> ```repl\n> FINAL(answer)\n> ```\n\nSo first:\n```repl\nprint(1)\n```"
    assert extract_cells(reply) == ["print(1)"]


def test_a_fence_opened_on_a_list_items_line_is_dedented() -> None:
    assert extract_cells("1. ```repl\n   words = context.split()\n   print(words[-1])\n   ```") == [
        "words = context.split()\nprint(words[-1])"
    ]


def test_blocks_left_open_close_where_the_model_meant() -> None:
    glued = "```repl\nw = context.split()\nprint(w[-1])```\nThat prints it.\nFINAL(done)"
    assert parse_reply(glued).cells == ("w = context.split()\nprint(w[-1])",)
    assert parse_reply(glued).final is not None
    short = "````repl\nx = 1\n```\nThen:\n```repl\ny = 2\n```"
    assert extract_cells(short) == ["x = 1", "y = 2"]
    forgotten = "```repl\nx = 1\n```repl\ny = 2\n```"
    assert extract_cells(forgotten) == ["x = 1", "y = 2"]
    with_prose = "```repl\nw = context.split()\n\nNow print it:\n```repl\nprint(w[-1])\n```"
    assert extract_cells(with_prose) == ["w = context.split()", "print(w[-1])"]
    text_after = "```repl\nprint(context.split()[-1])\n``` Let me run this and see.\nFINAL(done)"
    assert parse_reply(text_after).cells == ("print(context.split()[-1])",)
    assert parse_reply(text_after).final is not None
    indented = "1. Run:\n```repl\nprint(1)\n    ```\n2. Then finish."
    assert extract_cells(indented) == ["print(1)"]
    kept = "````repl\ns = '''\n```\n'''\n````"  # a ```` block may hold ``` lines: CommonMark, not leniency
    assert extract_cells(kept) == ["s = '''\n```\n'''"]


def test_a_block_left_open_only_at_the_cap_is_flagged() -> None:
    assert parse_reply("```repl\nx = 1\nfor i in").open_block
    assert not parse_reply("```repl\nx = 1\n```").open_block


def test_a_block_cut_at_the_output_cap_does_not_run() -> None:
    cut = repl("n = 0\n" + "n += 1\n" * 80)
    lm = ScriptedLM([cut, repl("print('after')"), repl("FINAL('n' in globals())")])
    events: list[str] = []
    rlm = RLM(lm, budget=Budget(max_tokens=100_000, max_tokens_per_call=40), on_event=lambda e: events.append(e.type))
    result = rlm.completion("count?", context=CONTEXT)
    assert "cell_skipped" in events
    assert events.count("cell_start") == 2  # the cut block never started
    assert "output limit inside a ```repl block" in lm.calls[1][-1]["content"]
    assert result.answer == "False"  # the cut block never defined `n`


@pytest.mark.parametrize(
    "line",
    ["`FINAL(gamma)`", "**Final answer:** FINAL(gamma)", "<answer>FINAL(gamma)</answer>", "Answer: FINAL(gamma)"],
)
def test_finals_written_with_markup_around_them_finish(line: str) -> None:
    found = find_prose_final(f"Done.\n{line}")
    assert found is not None and found.argument == "gamma"


def test_a_final_written_about_is_not_one() -> None:
    assert find_prose_final("`FINAL(answer)` is how I will finish, once I know.") is None


def test_a_final_planned_before_the_code_is_not_taken() -> None:
    reply = "When I am sure I will reply with\nFINAL(the answer)\nFirst:\n```repl\nprint(context.split()[-1])\n```"
    result, lm = run([reply, "FINAL(gamma)"])
    assert result.answer == "gamma" and result.iterations == 2
    assert "came before code of the same reply" in lm.calls[1][-1]["content"]


def test_a_final_the_output_does_not_show_is_not_taken() -> None:
    invented = "```repl\nprint(context.split()[-1])\n```\n```output\nbeta\n```\nFINAL(beta)"
    result, lm = run([invented, "FINAL(gamma)"])
    assert result.answer == "gamma"
    assert "that output does not show it" in lm.calls[1][-1]["content"]


def test_a_final_the_output_shows_or_nothing_contradicts_is_taken_at_once() -> None:
    result, _ = run(["```repl\nprint(context.split()[-1])\n```\nFINAL(Gamma)"])
    assert (result.answer, result.iterations) == ("Gamma", 1)
    result, _ = run(["```repl\nwords = context.split()\n```\nFINAL(gamma)"])  # the code printed nothing
    assert (result.answer, result.iterations) == ("gamma", 1)


def test_the_last_turn_answer_may_come_in_a_plain_fence() -> None:
    for reply in ("```\nFINAL(gamma)\n```", "```text\nFINAL(gamma)\n```"):
        result, _ = run([repl("print(1)"), reply], budget=Budget(max_iterations=1))
        assert (result.answer, result.answer_source) == ("gamma", "final_request")


def test_the_last_turn_answer_drops_reasoning_and_tool_calls() -> None:
    reply = '[THINK]\nmaybe alpha\n[/THINK]\n<tool_call>\n{"name": "python"}\n</tool_call>\nThe last word is gamma.'
    result, _ = run([repl("print(1)"), reply], budget=Budget(max_iterations=1))
    assert result.answer == "The last word is gamma."


def test_code_written_only_in_a_quote_does_not_run_and_the_model_is_told_why() -> None:
    result, lm = run(["> ```repl\n> print(context.split()[-1])\n> ```", "FINAL(gamma)"])
    assert result.answer == "gamma"
    assert "inside a quote" in lm.calls[1][-1]["content"]


@pytest.mark.parametrize(
    "reply",
    [
        "`` " * 40,  # markup that never reaches FINAL(
        " " * 100_000 + "<",  # a run of blanks before a special-token lookalike
        "```repl\n" + "`" * 50_000,  # a block left open with a huge backtick line
        "**FINAL(x)" + "*" * 40_000,  # markup after a FINAL that never ends its line
    ],
    ids=["markup", "blanks", "backticks", "stars"],
)
def test_degenerate_replies_parse_in_linear_time(reply: str) -> None:
    started = time.perf_counter()
    parse_reply(reply * 2)
    assert time.perf_counter() - started < 2.0  # each of these took from seconds to forever (exponential)


def test_a_closing_tag_written_about_in_prose_keeps_the_work_around_it() -> None:
    between = (
        "```repl\nraw = context.split()\n```\nNote: the model's </think> tag is stripped.\n```repl\nprint(raw[-1])\n```"
    )
    assert extract_cells(between) == ["raw = context.split()", "print(raw[-1])"]
    after_final = "FINAL(gamma)\nI answered after the </think> tag, as asked."
    assert find_prose_final(after_final) is not None


def test_a_closing_tag_inside_a_drafted_block_does_not_end_the_reasoning() -> None:
    draft = "<think>\nDraft:\n```python\nparts = o.split('</think>\\n')  # after </think> comes the answer\n```\n"
    parsed = parse_reply(draft + "</think>\n```repl\nprint(1)\n```")
    assert parsed.cells == ("print(1)",)


def test_a_snippet_quoted_in_a_blocks_string_is_not_a_block() -> None:
    reply = "```repl\nprompt = '''Use this:\n```repl\nprint(1)\n```\n'''\nprint(rlm_query(prompt))\n```"
    cells = extract_cells(reply)
    assert "print(1)" not in cells  # the snippet never runs on its own


def test_an_open_block_of_output_does_not_cost_the_code_before_it() -> None:
    cut = "```repl\nprint(context.split()[-1])\n```\n```output\ngam"
    parsed = parse_reply(cut)
    assert parsed.cells == ("print(context.split()[-1])",) and not parsed.open_block


def test_a_reply_ending_inside_its_reasoning_is_told_so() -> None:
    result, lm = run(["<think>\nLet me look.\n```repl\nprint(1)\n```", "FINAL(gamma)"])
    assert result.answer == "gamma" and "never closed it" in lm.calls[1][-1]["content"]


def test_submit_values_and_guesses_after_sub_calls_stand_only_when_the_output_shows_them() -> None:
    submit = "```repl\nprint(context.split()[-1])\n```\nSUBMIT(answer='alpha')"
    result, lm = run([submit, "FINAL(gamma)"])
    assert result.answer == "gamma" and "does not show it" in lm.calls[1][-1]["content"]
    asked = "```repl\nsummary = llm_query('the last word of ' + context)\n```\nFINAL(gamma)"  # prints nothing
    lm = ScriptedLM(router(root=[asked, "FINAL(gamma)"], sub=lambda m: "gamma"))
    result = RLM(lm).completion("What is the last word?", context=CONTEXT)
    assert (result.answer, result.iterations) == ("gamma", 2)


def test_the_same_answer_written_a_little_differently_is_shown() -> None:
    result, _ = run(["```repl\nprint(1234)\n```\nFINAL(1,234.)"])
    assert (result.answer, result.iterations) == ("1,234.", 1)
    for final in ("FINAL (gamma)", "FINAL(`gamma`)", "FINAL(**gamma**)"):
        assert find_prose_final(final) == ProseFinal("final", "gamma")


@pytest.mark.parametrize(
    "reply",
    [
        "The last word is gamma, so FINAL(gamma).",
        "**Final Answer:** gamma",
        "FINAL: gamma",
        "> FINAL(gamma)",
        "The answer is set:\nanswer['content'] = \"gamma\"\nanswer['ready'] = True",
        '`answer["content"] = gamma`',
    ],
)
def test_the_last_turn_answer_may_be_written_any_way_a_model_writes_one(reply: str) -> None:
    result, _ = run([repl("print(1)"), reply], budget=Budget(max_iterations=1))
    assert (result.answer, result.answer_source) == ("gamma", "final_request")


def test_harmony_leaked_without_its_special_tokens_is_read_too() -> None:
    leaked = (
        "analysisI could fan out:\n```repl\nouts = llm_query_batched(['x'] * 5)\n```\n"
        "assistantfinal```repl\nprint(1)\n```"
    )
    assert parse_reply(leaked).cells == ("print(1)",)


@pytest.mark.parametrize(
    "reasoning",
    [
        "<think>\nPlan.\n<think>\nA sub-point.\n</think>\nDraft:\n```repl\nouts = llm_query_batched(['x'] * 5)\n```\n"
        "</think>",
        "<think>\nAfter the </think> tag I write the block. Draft:\n```repl\nouts = llm_query_batched(['x'] * 5)\n```\n"
        "</think>",
        "<think>\nThe prompt says blocks inside <think>...</think>\n```repl\nouts = llm_query_batched(['x'] * 5)\n```\n"
        "</think>",
        "<think type=\"reflection\">\nDraft:\n```repl\nouts = llm_query_batched(['x'] * 5)\n```\n</think>",
    ],
    ids=["nested", "mentioned-mid-line", "quoted-at-line-end", "with-attributes"],
)
def test_reasoning_ends_at_its_own_closing_tag(reasoning: str) -> None:
    assert parse_reply(f"{reasoning}\n```repl\nprint(1)\n```").cells == ("print(1)",)


def test_a_final_whose_argument_calls_the_repl_is_run_never_the_answers_text() -> None:
    code = 'FINAL(llm_query("summarise " + context))'
    for reply in (code, repl(code)):  # in prose, and in a block that would be cut off by the last turn
        lm = ScriptedLM(router(root=[repl("print(1)"), reply], sub=lambda m: "a summary"))
        result = RLM(lm, budget=Budget(max_iterations=1)).completion("q", context=CONTEXT)
        assert result.answer == "a summary", reply


def test_running_out_of_turns_while_every_sub_call_failed_is_an_lm_failure() -> None:
    def refuse(messages: object) -> str:
        raise LMServerError("HTTP 500 from the sub-LM")

    lm = ScriptedLM(
        router(
            root=[repl("try:\n    r = llm_query('x')\nexcept RuntimeError:\n    r = 'r'")] * 2 + ["FINAL(r)"],
            sub=refuse,
        )
    )
    result = RLM(lm, budget=Budget(max_iterations=2)).completion("q", context=CONTEXT)
    assert result.status == "error" and "every sub-call failed" in result.stop_reason


def test_code_that_handles_reasoning_tags_is_code_not_reasoning() -> None:
    """A block whose strings hold a <think> pair, or that splits on the closing tag, runs: the tags are its data."""
    handles_tags = (
        "```repl\nsample = '''<think>\nscratch work\n</think>\nfinal text'''\n"
        "print('KEPT', sample.split('</think>')[-1].strip())\n```"
    )
    splits = "```repl\nlast = context.split('</think>')[-1].strip()\nprint('LAST', last)\n```"
    for reply in (handles_tags, splits):
        parsed = parse_reply(reply)
        assert len(parsed.cells) == 1 and parsed.reasoning_chars == 0


@pytest.mark.parametrize(
    "reply",
    ["FINAL(“gamma”)", "FINAL(‘gamma’)", "FINAL(«gamma»)", "FINAL(「gamma」)", "\ufeffFINAL(gamma)", "FINAL（gamma）"],
)
def test_a_final_in_typographic_quotes_full_width_brackets_or_after_a_byte_order_mark_finishes(reply: str) -> None:
    result, _ = run([reply])
    assert (result.answer, result.status, result.iterations) == ("gamma", "finished", 1)


# --- fourth audit: template-opened closes, code spans, quoted tags, leaked end tokens ---------------------------------


@pytest.mark.parametrize(
    ("close", "after"),
    [
        ("so I should look first.</think>", "\n\n```repl\nprint(context.split()[-1])\n```"),  # ends its line
        ("one look is enough.</think>", "```repl\nprint(context.split()[-1])\n```"),  # glued to the fence
    ],
    ids=["at-line-end", "glued-to-the-fence"],
)
def test_a_template_opened_close_after_drafted_finishes_ends_the_reasoning(close: str, after: str) -> None:
    # The template opened <think>; the model drafted a FINAL line and a fan-out, then closed mid-line.
    draft = "I might just answer\nFINAL(alpha)\nor fan out:\n```repl\nllm_query_batched(['x'] * 5)\n```\n"
    parsed = parse_reply(draft + close + after)
    assert parsed.final is None and parsed.cells == ("print(context.split()[-1])",)
    assert parse_reply(draft + "No: gamma.</think>FINAL(gamma)").final == ProseFinal("final", "gamma")


def test_a_backtick_run_without_a_partner_is_text_not_an_inline_code_span() -> None:
    reply = "<think>\nI should look at it with a ```repl block.</think>\n\n```repl\nprint(1)\n```"
    assert parse_reply(reply).cells == ("print(1)",)
    mentioned = "<think>\nThe `</think>` tag and ``a `</think>` here`` are quoted.\n</think>\n```repl\nprint(2)\n```"
    assert parse_reply(mentioned).cells == ("print(2)",)


@pytest.mark.parametrize(
    "reply",
    [
        # a sub-answer quoted in a plain block, whose chat template had opened the reasoning
        "It answered:\n```\nThe text lists Greek letters...\n</think>\nGreek letters\n```\nSo:\n"
        "```repl\nFINAL(out.split('</think>')[-1].strip())\n```",
        # a prompt whose delimiter line is a closing tag, in a string of the block's code
        "```repl\nfmt = '''End your thinking with a line\n</think>\nthen answer.'''\nout = llm_query(fmt)\n```",
    ],
    ids=["quoted-sub-answer", "prompt-delimiter"],
)
def test_a_closing_tag_line_inside_a_block_that_closes_after_it_is_data(reply: str) -> None:
    parsed = parse_reply(reply)
    assert parsed.reasoning_chars == 0 and len(parsed.cells) == 1 and "</think>" in parsed.cells[0]


@pytest.mark.parametrize("token", ["<end_of_turn>", "<\uff5cend\u2581of\u2581sentence\uff5c>", "<|im_end|>"])
def test_end_tokens_leaked_after_a_fence_or_an_answer_are_dropped(token: str) -> None:
    parsed = parse_reply(f"```repl\nprint(1)\n```{token}\n```repl\nprint(2)\n```{token}")
    assert parsed.cells == ("print(1)", "print(2)")
    assert parse_reply(f"The last word is gamma.{token}").prose == "The last word is gamma."


def test_a_code_fence_line_inside_a_triple_quoted_string_does_not_split_the_block() -> None:
    reply = (
        '```repl\nstub = \'def double(x):\'\nprompt = f"""Complete this function.\n```python\n{stub}"""\n'
        "out = llm_query(prompt)\n```"
    )
    (cell,) = parse_reply(reply).cells
    assert cell.endswith("out = llm_query(prompt)") and "```python" in cell


def test_stripped_harmony_cut_inside_its_analysis_is_all_reasoning() -> None:
    cut = "analysisThe user wants a summary. Draft:\n```repl\nllm_query_batched(['x'] * 5)\n```\nThen"
    parsed = parse_reply(cut)
    assert parsed.cells == () and parsed.reasoning_chars > 40
    assert parse_reply("analysis of the data:\n```repl\nprint(1)\n```").cells == ("print(1)",)  # plain English


# --- audit 19: more models' markup, and CommonMark's escapes and comments ----------------------------------


def test_a_lone_end_marker_of_a_template_opened_reasoning_ends_it() -> None:
    # Apriel's template opens the reasoning in the prompt; the model writes only "[BEGIN FINAL RESPONSE]".
    draft = "I could finish now:\nFINAL('alpha')\n"
    parsed = parse_reply(f"{draft}[BEGIN FINAL RESPONSE]\n```repl\nprint(2)\n```\n[END FINAL RESPONSE]")
    assert parsed.cells == ("print(2)",) and parsed.final is None


@pytest.mark.parametrize("token", ["<turn|>", "</response>", "[END FINAL RESPONSE]"])
def test_an_end_token_glued_to_the_closing_fence_closes_the_block(token: str) -> None:
    # Gemma 4's end of turn, Granite 3.3's and ERNIE's answer wrapper: the fence line stayed in the cell.
    assert parse_reply(f"```repl\nprint(3)\n```{token}").cells == ("print(3)",)


def test_a_final_wrapped_in_a_response_tag_finishes() -> None:
    parsed = parse_reply("<think>\nDone.\n</think><response>FINAL(gamma)</response>")
    assert parsed.final == ProseFinal("final", "gamma")


def test_an_escaped_fence_is_text() -> None:
    # CommonMark 2.4: "\```repl" is a literal backtick, then text; its example must not run.
    reply = "Do not write \\```repl\nFINAL('alpha')\n\\```\nlike that. Instead:\n```repl\nprint(4)\n```"
    assert parse_reply(reply).cells == ("print(4)",)
    result, _ = run([reply.replace("print(4)", "print(context.split()[-1])"), repl("FINAL(context.split()[-1])")])
    assert result.answer == "gamma"


def test_a_block_in_an_html_comment_does_not_run() -> None:
    reply = "<!-- an earlier draft:\n```repl\nFINAL('alpha')\n```\n-->\n```repl\nprint(5)\n```"
    assert parse_reply(reply).cells == ("print(5)",)
    # a comment that holds no fence, or one closed before it, hides nothing
    assert parse_reply("<!-- note -->\n```repl\nprint(6)\n```").cells == ("print(6)",)
    # a comment opened inside code is the code's
    assert parse_reply("```repl\nhtml = '<!--'\n```\n```repl\nprint(7)\n```").cells == ("html = '<!--'", "print(7)")


def test_a_close_glued_to_the_reasoning_then_code_holding_a_close_line_runs_the_code() -> None:
    code = "```repl\nsample = '''<think>\nhmm\n</think>\nok'''\nprint(sample.rsplit('</think>', 1)[-1])\n```"
    parsed = parse_reply(f"<think>\nI keep what follows the last close tag.</think>\n\n{code}")
    assert len(parsed.cells) == 1 and "rsplit" in parsed.cells[0] and not parsed.open_reasoning


def test_a_fence_opened_at_a_line_end_in_reasoning_is_a_draft() -> None:
    reply = (
        "<think>\nI could run: ```repl\nouts = llm_query_batched(['x'] * 5)\n```\nbut one call is enough.</think>\n"
        "```repl\nprint(8)\n```"
    )
    parsed = parse_reply(reply)
    assert parsed.cells == ("print(8)",) and not parsed.open_reasoning


def test_a_local_reasoning_sub_models_thinking_stays_out_of_the_answer() -> None:
    # A DeepSeek-R1-distill GGUF as sub_lm: its raw text held the think block (HTTP replies were cleaned already).
    lm = ScriptedLM(
        router(
            root=[repl("FINAL(llm_query('What kind of words are these? ' + context))")],
            sub=lambda messages: "<think>\nalpha, beta... letters of an alphabet.\n</think>\n\nGreek letters",
        )
    )
    assert RLM(lm).completion("What kind of words?", context=CONTEXT).answer == "Greek letters"


def test_a_sub_models_reply_of_reasoning_only_fails_its_call() -> None:
    lm = ScriptedLM(
        router(
            root=[repl("try:\n    llm_query('q')\nexcept RuntimeError as exc:\n    FINAL(str(exc))")],
            sub=lambda messages: "<think>\nStill thinking when the cap came",
        )
    )
    assert "reasoning only" in RLM(lm).completion("q", context=CONTEXT).answer


def test_a_boxed_answer_is_read_on_the_last_turn() -> None:
    # DeepSeek-R1 and QwQ are told to put the final answer in \boxed{}; the whole reply was taken, markup and all.
    found = find_final_anywhere("So the last word is gamma.\n\n**Final Answer**\n\\[\n\\boxed{\\text{gamma}}\n\\]")
    assert found == ProseFinal("final", "\\text{gamma}")
    assert find_final_anywhere("\\boxed{42} is wrong; the answer is \\boxed{ 43 }") == ProseFinal("final", "43")


def test_a_phrase_that_closes_a_models_own_reasoning_is_prose_without_its_opening() -> None:
    # Granite 3.2's "Here is my response:" ends reasoning it opened with "Here is my thought process:"; a reply
    # that only says it (any model) keeps the code written before it.
    parsed = parse_reply("```repl\nprint(9)\n```\nHere is my response:\nthe count is above.")
    assert parsed.cells == ("print(9)",) and parsed.reasoning_chars == 0
    drafted = "Here is my thought process:\nFINAL('alpha')\nHere is my response:\n```repl\nprint(10)\n```"
    assert parse_reply(drafted).cells == ("print(10)",) and parse_reply(drafted).final is None


# --- audit 23: phrases as headers, Open WebUI's reasoning, fences glued to closing tags, quotes in lists, comments ---


@pytest.mark.parametrize("opening", [opening for opening, _ in REASONING_PHRASES])
def test_a_reasoning_phrase_never_closed_is_a_section_header(opening: str) -> None:
    # Granite's and Apriel's openers are plain English: any model may head its plan with one and never close it.
    steps = "1. Split the text.\n2. Print its last word.\n\n"
    code = "```repl\nprint(context.split()[-1])\n```"
    for header in (opening, opening.upper(), f"First:\n{opening}"):
        reply = f"{header}\n{steps}{code}"
        parsed = parse_reply(reply)
        assert parsed.cells == ("print(context.split()[-1])",) and not parsed.open_reasoning
        assert split_thoughts(reply) == (reply, [])  # what an HTTP reply's content is split into
    result, lm = run([f"{opening}\n{steps}{code}", repl("FINAL(context.split()[-1])")])
    assert (result.answer, result.iterations) == ("gamma", 2)
    assert "never closed" not in lm.calls[1][-1]["content"]


def test_open_webui_reasoning_on_the_last_turn_is_not_the_answer() -> None:
    # Open WebUI writes the reasoning into the reply as a <details> block of quoted lines; its drafts are not answers.
    for draft in ("> FINAL(alpha)", "> **Final answer:** alpha", "> so FINAL(alpha).", '> answer["content"] = "alpha"'):
        reasoning = '<details type="reasoning" done="true" duration="3">\n<summary>Thought for 3 seconds</summary>\n'
        reply = f"{reasoning}> The first word is alpha.\n{draft}\n> No, the last one.\n</details>\nIt is gamma."
        result, _ = run([repl("print(1)"), reply], budget=Budget(max_iterations=1))
        assert (result.answer, result.answer_source) == ("It is gamma.", "final_request"), draft
    unfinished = '<details type="reasoning" done="false">\n<summary>Thinking…</summary>\n> FINAL(alpha)\n> but'
    assert find_final_anywhere(unfinished) is None and last_turn_text(unfinished) == ""


@pytest.mark.parametrize("closing", ["</answer>", "</ANSWER>", "</solution>"])
def test_a_closing_wrapper_tag_glued_to_the_closing_fence_closes_the_block(closing: str) -> None:
    # R1-style training formats wrap the code in <answer>...</answer> and glue the tags to the fences.
    opening = closing.replace("/", "")
    for reply in (f"{opening}```python\nprint(3)\n```{closing}", f"{opening}\n```python\nprint(3)\n``` {closing}"):
        assert parse_reply(reply).cells == ("print(3)",), reply


@pytest.mark.parametrize(
    "reply",
    [
        "<think>\nDraft:\n```repl\nFINAL('alpha')\n```</think>\n```repl\nprint(context.split()[-1])\n```",
        "[THINK]\nDraft:\n```repl\nFINAL('alpha')\n```[/THINK]\n```repl\nprint(context.split()[-1])\n```",
        "Draft:\n```repl\nFINAL('alpha')\n```</think>\n\n```repl\nprint(context.split()[-1])\n```",  # template-opened
        "Draft:\n```repl\nFINAL('alpha')\n```</think>```repl\nprint(context.split()[-1])\n```",  # and glued on
        "<think>```python\nFINAL('alpha')\n```</think><answer>```python\nprint(context.split()[-1])\n```</answer>",
    ],
    ids=["model-opened", "magistral", "template-opened", "glued-to-the-next-fence", "r1-answer-format"],
)
def test_a_closing_tag_glued_to_a_drafted_blocks_fence_ends_the_reasoning(reply: str) -> None:
    # A model whose closing tag is one token writes it right after the draft's closing fence.
    assert parse_reply(reply).cells == ("print(context.split()[-1])",)
    result, _ = run([reply, repl("FINAL(context.split()[-1])")])
    assert (result.answer, result.iterations) == ("gamma", 2)  # the drafted FINAL('alpha') never ran


@pytest.mark.parametrize("item", ["1. ", "2) ", "- ", "* ", "- 1. "])
def test_a_quote_inside_a_list_item_is_still_a_quote(item: str) -> None:
    quoted = f"{item}> ```repl\n   > FINAL(context.split()[0])\n   > ```\n   is the shortcut I will not take."
    assert parse_reply(f"{quoted}\n\n```repl\nprint(1)\n```").cells == ("print(1)",)
    assert has_quoted_block(quoted) and has_quoted_block(f"> {item}```repl\nprint(1)\n```")
    result, lm = run([quoted, "FINAL(gamma)"])
    assert result.answer == "gamma" and "inside a quote" in lm.calls[1][-1]["content"]


def test_a_final_in_an_html_comment_does_not_finish() -> None:
    for draft in ("FINAL(alpha)", "FINAL_VAR(words)", "SUBMIT(answer='alpha')", "**Final answer:** FINAL(alpha)"):
        assert parse_reply(f"<!-- a first draft:\n{draft}\n-->\nI will check first.").final is None, draft
        assert parse_reply(f"Not yet.\n<!-- never closed\n{draft}\n").final is None, draft
    # a comment closed before it, or a "<!--" written about, hides nothing
    for before in ("<!-- checked -->\n", "Drafts go in `<!--` comments; this is none.\n"):
        assert parse_reply(f"{before}FINAL(gamma)").final == ProseFinal("final", "gamma")
    result, _ = run(["<!--\nFINAL(alpha)\n-->\nLet me look first.", repl("FINAL(context.split()[-1])")])
    assert (result.answer, result.iterations) == ("gamma", 2)
    last = "<!-- FINAL(alpha) -->\nThe last word is gamma."  # nor is a comment part of a last-turn answer
    assert find_final_anywhere(last) is None and last_turn_text(last) == "The last word is gamma."


@pytest.mark.parametrize(
    "mention",
    [
        "Drafts go in `<!--` comments; this is none.",  # in inline code, right after its backtick
        "I will strip every `x <!-- y` pair later.",  # in inline code, further in
        "The page is HTML, and each note starts with <!-- so I keep them for now.",  # mid-line, never closed
        "Each note starts with <!-- and, past the block below,",  # mid-line, closed only in a later paragraph
    ],
)
def test_a_comment_opener_written_about_hides_nothing_after_it(mention: str) -> None:
    # the fence reader and the FINAL reader read comments one way: such a `<!--` is text to both
    after = "\n\nends with -->, which I ignore." if "past the block" in mention else ""
    parsed = parse_reply(f"{mention}\n```repl\nFINAL(context.split()[-1])\n```{after}")
    assert (parsed.cells, parsed.final) == (("FINAL(context.split()[-1])",), None)
    result, _ = run([f"{mention}\n```repl\nlast = context.split()[-1]\nFINAL(last)\n```{after}"])
    assert result.answer == "gamma"
    run_on = f"{mention}<|im_end|>\n<|im_start|>user\nIt is alpha.<|im_end|>\n<|im_start|>assistant\nFINAL(alpha)"
    assert parse_reply(run_on).overran_chars > 0 and parse_reply(run_on).final is None
    assert last_turn_text(f"{mention} The answer:\n\n```text\ngamma\n```") == "gamma"
    # a comment the same opener really begins (it starts a line, or closes in its paragraph) still hides a draft
    assert parse_reply(f"<!-- {mention}\n```repl\nFINAL('alpha')\n```\n-->\n```repl\nprint(5)\n```").cells == (
        "print(5)",
    )
    assert parse_reply("Not yet <!-- a draft:\nFINAL(alpha) -->\nstill looking.").final is None


# --- audit 25: more families' reasoning markup, answer markup, FINAL laid out over lines ---------------------------

_SHORTCUT = "A shortcut:\n```repl\nFINAL('alpha')\n```\nbut alpha is the first word, so I check first."
_LOOK = "```repl\nprint(context.split()[-1])\n```"


@pytest.mark.parametrize(
    ("opening", "closing"),
    [
        ("<mm:think>", "</mm:think>"),
        ("<|inner_prefix|>", "<|inner_suffix|>"),
        ("<|think|>", "<|end|><|begin|>assistant<|content|>"),
        ("<|think|>", "<|end|><|content|>"),
    ],
    ids=["minimax-m3", "apertus", "solar-open", "solar-open-without-its-header"],
)
def test_reasoning_of_minimax_apertus_and_solar_open_never_acts(opening: str, closing: str) -> None:
    # Served without their reasoning parsers, these reach rlmx as text: glued, on lines of their own, or with
    # only the closing marker (the template opened it). A marker ending its line is no leaked token to drop.
    for reply in (f"{opening}{_SHORTCUT}{closing}{_LOOK}", f"{opening}\n{_SHORTCUT}\n{closing}\n{_LOOK}"):
        for shape in (reply, reply.removeprefix(opening)):
            parsed = parse_reply(shape)
            assert parsed.cells == ("print(context.split()[-1])",) and parsed.final is None, shape
            assert split_thoughts(shape)[0].startswith("```repl"), shape  # what an HTTP reply's content keeps
        result, _ = run([reply, repl("FINAL(context.split()[-1])")])
        assert (result.answer, result.iterations) == ("gamma", 2)  # the drafted FINAL('alpha') never ran


def test_solar_opens_its_content_alone_after_an_empty_prefilled_reasoning() -> None:
    # A low reasoning effort prefills an empty reasoning block; the reply then starts at <|content|>.
    assert parse_reply(f"<|content|>\n{_LOOK}").cells == ("print(context.split()[-1])",)
    assert parse_reply(f"{_SHORTCUT}\n<|content|>\n{_LOOK}").cells == ("print(context.split()[-1])",)


@pytest.mark.parametrize(
    ("opening", "closing"), [tag for tag in REASONING_TAGS if tag not in REASONING_PHRASES], ids=lambda tag: tag
)
def test_every_reasoning_marker_holds_glued_on_or_opened_by_the_template(opening: str, closing: str) -> None:
    for reply in (f"{opening}{_SHORTCUT}{closing}{_LOOK}", f"{_SHORTCUT}\n{closing}\n{_LOOK}"):
        assert parse_reply(reply).cells == ("print(context.split()[-1])",), reply


def test_a_final_in_glm_v_box_inside_its_answer_tag_finishes() -> None:
    boxed = "<answer><|begin_of_box|>FINAL(gamma)<|end_of_box|></answer>"
    assert find_prose_final(f"The output shows it.\n{boxed}") == ProseFinal("final", "gamma")
    assert find_prose_final(f"{boxed} is how I will answer, later.") is None  # written about: not one
    result, _ = run([repl("print(1)"), f"<think>\nIt is gamma.\n</think>\n{boxed}", repl("FINAL('late')")])
    assert (result.answer, result.iterations) == ("gamma", 2)


@pytest.mark.parametrize(
    "reply",
    [
        "<answer>gamma</answer>",
        "<think>\nThe last word is gamma.\n</think>\n<answer>\ngamma\n</answer>",
        "<answer><|begin_of_box|>gamma<|end_of_box|></answer>",
        "So the last word is <|begin_of_box|>gamma<|end_of_box|>",
        "<|START_THINKING|>It is gamma.<|END_THINKING|><|START_RESPONSE|>gamma<|END_RESPONSE|>",
        "<response>gamma</response>",
    ],
    ids=["answer-tag", "r1-format", "glm-v-box-in-answer", "glm-v-box", "cohere-response", "granite-response"],
)
def test_the_last_turn_answer_is_the_text_inside_its_markup(reply: str) -> None:
    assert last_turn_text(reply) == "gamma"
    result, _ = run([repl("print(1)"), reply], budget=Budget(max_iterations=1))
    assert (result.answer, result.answer_source) == ("gamma", "final_request")


@pytest.mark.parametrize("argument", ['"gamma"', '"""gamma"""', "'gamma'", 'r"gamma"', '\n    "gamma"'])
def test_a_final_whose_string_starts_on_the_next_line_is_that_strings_value(argument: str) -> None:
    # Python's layout for a long call: the quotes are Python's, as in FINAL("gamma") on one line.
    assert find_prose_final(f"Checked.\nFINAL(\n    {argument}\n)") == ProseFinal("final", "gamma")
    assert find_prose_final('FINAL_VAR(\n    "last"\n)') == ProseFinal("final_var", "last")
    script = [repl("last = context.split()[-1]\nprint(last)"), 'Done.\nFINAL_VAR(\n  "last"\n)', "FINAL(late)"]
    result, _ = run(script)
    assert (result.answer, result.iterations) == ("gamma", 2)


@pytest.mark.parametrize("label", ["**Final Answer**:", "**Answer**:", "__Final answer__:", "*Result*:"])
def test_a_bold_label_with_its_colon_outside_the_bold_heads_a_final(label: str) -> None:
    assert find_prose_final(f"The output shows it.\n\n{label} FINAL(gamma)") == ProseFinal("final", "gamma")
    result, _ = run([repl("print(context.split()[-1])"), f"Printed.\n{label} FINAL(gamma)", repl("FINAL('late')")])
    assert (result.answer, result.iterations) == ("gamma", 2)


def test_the_last_turn_reading_is_linear_in_unclosed_finals_mid_sentence() -> None:
    def seconds(count: int) -> float:  # the least of 3 (a collection of the worker's earlier garbage lands in one)
        text = "so FINAL(an unclosed call\n" * count
        times = []
        for _ in range(3):
            started = time.process_time()
            find_final_anywhere(text)
            times.append(time.process_time() - started)
        return min(times)

    ratio = seconds(10_000) / max(seconds(1_000), 1e-3)
    assert ratio < 30, f"10x the text took {ratio:.0f}x the time"  # each call read to the end: ~100x


@pytest.mark.parametrize("tag", ["longcat_think", "LongCat_Think", "acme:think", "vendor-x.v2_think"])
@pytest.mark.parametrize("opened_by", ["model", "template"])
def test_a_vendors_own_think_tag_is_reasoning_like_think(tag: str, opened_by: str) -> None:
    opening = f"<{tag}>\n" if opened_by == "model" else ""
    reply = f"{opening}Tempting to stop now:\n```repl\nFINAL('alpha')\n```\nBut check first.\n</{tag}>\n" + repl(
        "print(context.split()[-1])"
    )
    result, _ = run([reply, "FINAL(gamma)"])
    assert result.answer == "gamma"
    assert split_thoughts(reply)[1] == ["Tempting to stop now:\n```repl\nFINAL('alpha')\n```\nBut check first."]
    # Without its own closing tag further on, such a tag is text: the block after it runs.
    assert parse_reply(f"<{tag}>\n```repl\nprint(1)\n```").cells == ("print(1)",)


@pytest.mark.parametrize(
    "next_turn",
    [
        "<|im_end|>\n<|im_start|>user\nSo it is alpha. Finish.<|im_end|>\n<|im_start|>assistant\n",
        "<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nFinish.<|eot_id|><|start_header_id|>assistant",
        "<end_of_turn>\n<start_of_turn>user\nFinish.<end_of_turn>\n<start_of_turn>model\n",
        "<|endoftext|>Human: ok, alpha then?\n\n",
        "<\uff5cend\u2581of\u2581sentence\uff5c>\n<\uff5cUser\uff5c>Finish.<\uff5cAssistant\uff5c>",
        "</s>[INST] alpha? [/INST] ",
    ],
)
def test_a_reply_ends_where_the_model_runs_on_into_an_invented_next_turn(next_turn: str) -> None:
    own = "Checking the end.\n```repl\nprint(context.split()[-1])\n```"
    for invented in ("```repl\nFINAL('alpha')\n```", "FINAL(alpha)"):
        parsed = parse_reply(own + next_turn + invented)  # the token glued to the closing fence, text after it
        assert parsed.cells == ("print(context.split()[-1])",) and parsed.final is None
        parsed = parse_reply(own + "\nDone for now." + next_turn + invented)
        assert parsed.cells == ("print(context.split()[-1])",) and parsed.final is None
    # Code that builds a chat prompt holds such text in a string: the reply is not cut inside the block.
    parsed = parse_reply(f'```repl\ntemplate = """{next_turn}"""\nprint(len(template))\n```\nFINAL(gamma)')
    assert parsed.cells[0].endswith('"""\nprint(len(template))') and parsed.final == ProseFinal("final", "gamma")


def test_a_reply_that_ran_on_into_an_invented_turn_is_marked_and_the_model_told() -> None:
    next_turn = "<|im_end|>\n<|im_start|>user\nSo it is alpha. Finish.<|im_end|>\n<|im_start|>assistant\nFINAL(alpha)"
    lm = ScriptedLM([repl("print(context.split()[-1])") + next_turn, "FINAL(gamma)"])
    events: list[tuple[str, dict[str, object]]] = []
    result = RLM(lm, on_event=lambda e: events.append((e.type, e.data))).completion("last word?", context=CONTEXT)
    assert result.answer == "gamma"
    (overran,) = [data for kind, data in events if kind == "reply_overran"]
    assert overran["ignored_chars"] == len(next_turn)
    told = lm.calls[1][-1]["content"]
    assert "gamma" in told and "went on past the end of your turn" in told
    assert parse_reply(repl("print(1)")).overran_chars == 0


@pytest.mark.parametrize(
    "reply",
    [
        "<|begin_of_thought|>\nSo gamma.\n<|end_of_thought|>\n<|begin_of_solution|>Gamma it is.<|end_of_solution|>",
        "<|begin_of_solution|>\nGamma it is.\n<|end_of_solution|>",
        "<Thought>\nIt said gamma.\n</Thought>\n<Output>\nGamma it is.\n</Output>",
        "<output>Gamma it is.</output>",
    ],
)
def test_the_last_turn_answer_inside_solution_or_output_markup_is_that_text(reply: str) -> None:
    assert last_turn_text(reply) == "Gamma it is."


def stopped_by_the_budget(forced_reply: str) -> Result:
    """A run a token budget stops after its first block (which set `last`), answered by `forced_reply` when asked
    for its answer in the one compact call that follows."""

    def root(messages: list[Message]) -> str:
        if messages[0]["content"] == FORCED_SYSTEM:
            return forced_reply
        return repl("last = context.split()[-1]\nprint(last, 'x' * 19000)")

    return RLM(ScriptedLM(root), budget=Budget(max_tokens=4000, max_tokens_per_call=100)).completion(
        "What is the last word?", context=CONTEXT
    )


@pytest.mark.parametrize(
    "reply",
    [
        "Based on the output, here is my final answer:\n\n```repl\nFINAL('gamma')\n```",
        'The last word is shown below.\n```python\nFINAL("gamma")\n```',
        "It is the variable I kept:\n```repl\nFINAL_VAR('last')\n```",
        "Setting it now.\n```py\nanswer['content'] = last\nanswer['ready'] = True\n```",
        "Having seen the output, the answer is FINAL(gamma).",  # read as the last-turn request's reply is
    ],
)
def test_the_forced_calls_answer_is_its_finish_never_the_sentence_around_it(reply: str) -> None:
    result = stopped_by_the_budget(reply)
    assert (result.answer, result.answer_source, result.status) == ("gamma", "forced_extraction", "budget_exhausted")


@pytest.mark.parametrize("label", ["Action:", "Action 3:", "Act 2:", "**Action:**", "ACTION :", "Final:"])
def test_react_labels_for_the_step_taken_head_a_final(label: str) -> None:
    # ReAct-trained models write each step as "Thought: ... / Action: ...": FINAL is the action they take
    step = f"Thought: the output shows the last word is gamma.\n{label} FINAL(gamma)"
    assert find_prose_final(step) == ProseFinal("final", "gamma")
    result, _ = run([repl("print(context.split()[-1])"), step, repl("FINAL('late')")])
    assert (result.answer, result.iterations) == ("gamma", 2)


@pytest.mark.parametrize(
    "line",
    [
        "Final Answer\u00a0: FINAL(gamma)",  # a no-break space where a space belongs
        "Final answer\u202f: FINAL(gamma)",  # French spacing before a colon
        "Final Answer\uff1aFINAL(gamma)",  # the full-width colon of CJK text
        "Final\u00a0answer: FINAL\u00a0(gamma)\u00a0",
    ],
)
def test_a_labelled_final_is_read_whatever_spaces_and_colon_the_model_writes(line: str) -> None:
    assert find_prose_final(line) == ProseFinal("final", "gamma")
    label = line.partition("FINAL")[0]
    assert find_final_anywhere(f"{label}gamma") == ProseFinal("final", "gamma")  # the last-turn request's reading


@pytest.mark.parametrize(
    "line", ["Example: FINAL(your answer)", "Action: FINAL(gamma) once I have checked", "Reaction: FINAL(gamma)"]
)
def test_a_final_after_a_word_that_is_no_label_or_with_text_after_it_is_not_one(line: str) -> None:
    assert find_prose_final(f"Thought: not yet.\n{line}") is None


def test_a_final_within_a_line_of_text_is_named_in_what_the_model_is_told() -> None:
    result, lm = run([repl("print(context.split()[-1])"), "So the answer is FINAL(gamma), I think.", "FINAL(gamma)"])
    assert (result.answer, result.iterations) == ("gamma", 3)
    told = lm.calls[2][-1]["content"]
    assert "stood inside a line of text" in told and "on a line of its own" in told
    _, lm = run(["Let me look first.", "FINAL(gamma)"])  # no FINAL written at all: the plain note
    assert "stood inside" not in lm.calls[1][-1]["content"] and "no ```repl block" in lm.calls[1][-1]["content"]


# --- audit 30: the end of the turn in every chat format, markers written about, an answer in a plain block --------

_OWN_TURN = "Counting the words first.\n```repl\nprint(len(context.split()))\n```"
_MADE_UP_ANSWER = "```repl\nFINAL('made up')\n```"


@pytest.mark.parametrize(
    "next_turn",
    [
        "\n<|user|>\nThat is 3. Finish.\n<|assistant|>\n",  # GLM-4: <|user|> is itself its end of turn
        "</s><s>[INST] That is 3. Finish. [/INST] ",  # Llama 2
        "<|end_of_text|>\n<|start_of_role|>user<|end_of_role|>Finish.<|end_of_text|>\n"
        "<|start_of_role|>assistant<|end_of_role|>",  # Granite
        "<|end|><|start|>user<|message|>Finish.<|end|><|start|>assistant<|channel|>final<|message|>",  # gpt-oss
        "<|return|><|start|>user<|message|>Finish.<|end|>\n",  # gpt-oss, after its final message
        "<seed:eos><seed:bos>user\nFinish.<seed:eos><seed:bos>assistant\n",  # Seed-OSS
        "[e~[\n]~b]user\nFinish.[e~[\n]~b]ai\n",  # MiniMax
        "<|END_OF_TURN_TOKEN|><|START_OF_TURN_TOKEN|><|USER_TOKEN|>Finish.<|END_OF_TURN_TOKEN|>"
        "<|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|>",  # Cohere
        " <sep> human: Finish. <sep> assistant: ",  # Reka
        "[|endofturn|]\n[|user|]Finish.\n[|assistant|]\n",  # EXAONE
        "<\uff5cend\u2581of\uff53\uff45\uff4e\uff54\uff45\uff4e\uff43\uff45\uff5c><\uff5cUser\uff5c>Finish."
        "<\uff5cAssistant\uff5c>",  # DeepSeek's end token with full-width letters, as GLM-5 writes it
        "<|end|><|begin|>user<|content|>Finish.<|end|><|begin|>assistant<|content|>",  # Solar Open
    ],
    ids=[
        "glm",
        "llama2",
        "granite",
        "harmony",
        "harmony-return",
        "seed-oss",
        "minimax",
        "cohere",
        "reka",
        "exaone",
        "deepseek-as-glm5-writes-it",
        "solar-open",
    ],
)
def test_a_run_on_into_a_made_up_turn_ends_the_reply_in_every_chat_format(next_turn: str) -> None:
    for own in (_OWN_TURN, _OWN_TURN + "\nThat should do."):
        for made_up in (_MADE_UP_ANSWER, "FINAL(made up)"):
            parsed = parse_reply(own + next_turn + made_up)
            assert parsed.cells == ("print(len(context.split()))",) and parsed.final is None, own + next_turn
            assert parsed.overran_chars > 0
    result, lm = run([_OWN_TURN + next_turn + _MADE_UP_ANSWER, "FINAL(gamma)"])
    assert result.answer == "gamma" and "went on past the end of your turn" in lm.calls[1][-1]["content"]


@pytest.mark.parametrize(
    "about",
    [
        "Turns in this log are joined by `<|im_end|>\n<|im_start|>user`, so I count those.",  # a span over two lines
        "Each turn closes with `<|eot_id|><|start_header_id|>user<|end_header_id|>`; counting them.",
        'The separator "<|im_end|><|im_start|>user" starts every user turn; counting them.',
        "<!-- the separator is <|im_end|>\n<|im_start|>user -->\nCounting them.",
        "<think>\nThe log joins turns with <|im_end|>\n<|im_start|>user lines, so count those.\n</think>\nCounting.",
        "The log joins turns with <|im_end|>\n<|im_start|>user lines, so count those.\n</think>\nCounting.",
        "The log joins turns with <|im_end|>\n<|im_start|>user lines, so count those.</think>\nCounting.",
        "A sample turn:\n```text\nSure.<|im_end|>\n<|im_start|>user\nThanks\n```\nCounting them.",
        'A turn reads "Sure.<|im_end|>\n<|im_start|>user\nThanks" in the log; counting them.',
        "The separator (<|eot_id|><|start_header_id|>user) starts each turn; counting them.",
    ],
    ids=[
        "inline-code-over-lines",
        "inline-code",
        "quoted",
        "html-comment",
        "reasoning",
        "template-reasoning",
        "template-reasoning-glued",
        "text-block",
        "quoted-over-lines",
        "bracketed",
    ],
)
def test_a_turn_marker_written_about_ends_nothing(about: str) -> None:
    reply = about + "\n```repl\nprint(context.count('<|im_start|>user'))\n```"
    parsed = parse_reply(reply)
    assert parsed.cells == ("print(context.count('<|im_start|>user'))",) and parsed.overran_chars == 0
    assert split_thoughts(reply)[0].endswith("```repl\nprint(context.count('<|im_start|>user'))\n```")
    result, lm = run([reply, "FINAL(gamma)"])
    assert result.answer == "gamma" and "went on past the end of your turn" not in lm.calls[1][-1]["content"]


def test_a_last_turn_answer_naming_a_turn_marker_in_inline_code_is_kept_whole() -> None:
    last = "The user turns start at `<|im_end|>\n<|im_start|>user`: 3 of them."
    assert last_turn_text(last) == last
    result, _ = run([repl("print(3)"), last], budget=Budget(max_iterations=1))
    assert result.answer == last


@pytest.mark.parametrize(
    "reply",
    [
        "Final answer:\n```text\ngamma\n```",
        "All turns are spent. The last word is:\n\n```\ngamma\n```",
        "**Answer:**\n~~~\ngamma\n~~~",
        "```text\ngamma\n```",
    ],
)
def test_a_last_turn_answer_set_out_in_a_block_that_does_not_run_is_that_blocks_text(reply: str) -> None:
    assert last_turn_text(reply) == "gamma"
    result, _ = run([repl("print(context.split()[-1])"), reply], budget=Budget(max_iterations=1))
    assert (result.answer, result.answer_source) == ("gamma", "final_request")


def test_a_block_that_is_no_answer_leaves_the_last_turn_answer_its_prose() -> None:
    shown = "The output was:\n```\nLAST gamma\n```\nSo the last word is gamma."
    assert last_turn_text(shown) == "The output was:\nSo the last word is gamma."
    before = "The data:\n```\nalpha beta\n```\nThe answer is:\n```repl\nprint(1)\n```"  # the block after it runs
    assert last_turn_text(before) == "The data:\nThe answer is:"


# --- audit 32: only a special token ends a turn, markers written about in more ways, a run-on before a bare close --


@pytest.mark.parametrize(
    "prose",
    [
        "Rows hold <author><sender>user</sender></author> pairs, so I tally them.",
        "Its <legend>Model</legend> lists the series; tallying.",
        "The <s>old price</s> user: Ann paid less; tallying.",
        "Press <Return>\nUser: text follows it; tallying.",
    ],
)
def test_an_html_tag_naming_an_end_ends_no_turn(prose: str) -> None:
    parsed = parse_reply(prose + "\n```repl\nprint(1)\n```")
    assert parsed.cells == ("print(1)",) and parsed.overran_chars == 0


@pytest.mark.parametrize(
    "prose",
    [
        "A record reads 'Sure<|eot_id|>\n<|start_header_id|>user', in the log.",
        "Its joint is __<|im_end|>\n<|im_start|>user__ each time.",
        "Its joint is <kbd><|im_end|><|im_start|>user</kbd> each time.",
        "* turns end in <|im_end|>\n   <|im_start|>user opens one",
        "> Done.<|eot_id|>\n<|start_header_id|>user<|end_header_id|>\n> More",
    ],
)
def test_a_turn_marker_quoted_emphasised_or_inside_a_list_or_quote_ends_nothing(prose: str) -> None:
    parsed = parse_reply(prose + "\n\n```repl\nprint(1)\n```")
    assert parsed.cells == ("print(1)",) and parsed.overran_chars == 0


@pytest.mark.parametrize("close", ["\n</think>\n", "</think>\n"])
def test_a_run_on_whose_made_up_answer_closes_its_reasoning_is_still_a_run_on(close: str) -> None:
    reply = (
        "Looking.\n```repl\nprint(2)\n```<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nDone?<|eot_id|>"
        f"<|start_header_id|>assistant<|end_header_id|>\n\nYes.{close}FINAL(made up)"
    )
    parsed = parse_reply(reply)
    assert parsed.cells == ("print(2)",) and parsed.final is None and parsed.overran_chars > 0


@pytest.mark.parametrize(
    "data",
    [
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nYo<|im_end|>",
        "<s>[INST] Q1 [/INST] A1 </s><s>[INST] Q2 [/INST] A2 </s>",
        "<reply>\n  <ok>yes</ok>\n</response>",
        "Was <s>$9</s>\nnow $5",
    ],
)
def test_a_sub_reply_written_as_chat_format_or_markup_comes_back_whole(data: str) -> None:
    assert split_thoughts(data) == (data, [])
    assert parse_reply("Reading.<|im_end|>\n<|im_start|>user\nok").overran_chars > 0  # the root's reading still cuts


# --- audit 34: list items: a comment or a fence that begins an item's content -----------------------------------


@pytest.mark.parametrize("marker", ["- ", "7. ", "  * ", "- 1) "])
def test_a_comment_that_begins_a_list_item_hides_the_draft_in_it(marker: str) -> None:
    # an item's content begins its line: "- <!--" opens an HTML block, as "<!--" alone on a line does
    draft = f"Plan:\n{marker}<!-- not yet:\n  ```repl\n  FINAL('alpha')\n  ```\n  -->\n{marker}Look first.\n\n"
    reply = draft + "```repl\nprint(context.split()[-1])\n```"
    assert parse_reply(reply).cells == ("print(context.split()[-1])",)
    assert parse_reply(f"{marker}<!-- guess:\nFINAL(alpha)\n-->\nStill looking.").final is None
    result, _ = run([reply, "FINAL(gamma)"])
    assert result.answer == "gamma"


@pytest.mark.parametrize("opening", ["- ```text", "3. ~~~text", "- ```json"])
def test_a_final_shown_in_a_data_block_that_begins_a_list_item_finishes_nothing(opening: str) -> None:
    closing = opening.split(" ")[-1][:3]
    reply = f"I must end with:\n{opening}\n   FINAL(alpha)\n   {closing}\n- after I check.\n\n```repl\nprint(7)\n```"
    result, _ = run([reply, repl("FINAL(context.split()[-1])")])
    assert result.answer == "gamma"
    assert parse_reply(reply).final is None


@pytest.mark.parametrize(
    ("item", "after"),
    [
        ("- <!-- I won't comment anything out", "- I read the last word."),
        ("3) <!-- todo: shorten", "4) Then print it."),
        ("  + <!-- the opener alone", "\nThen the code, after a blank line:"),
    ],
)
def test_an_unclosed_comment_that_begins_a_list_item_ends_with_the_item(item: str, after: str) -> None:
    # the HTML block lives in the item: the next item, or a line left of its content after a blank, ends it
    reply = f"Notes:\n{item}\n{after}\n\n```repl\nprint(context.split()[-1])\n```"
    assert parse_reply(reply).cells == ("print(context.split()[-1])",)
    nested = "- <!-- draft:\n  ```repl\n  FINAL('alpha')\n  ```\n- next\n\n```repl\nprint(2)\n```"
    assert parse_reply(nested).cells == ("print(2)",)  # the draft inside the item stays hidden
    result, _ = run([reply, "FINAL(gamma)"])
    assert result.answer == "gamma"


LAST_WORD = "```repl\nprint(context.split()[-1])\n```"


@pytest.mark.parametrize(
    "reply",
    [
        # DeepSeek-R1 / QwQ: a one-line block, a line of text, then a second block before the code
        f"<think>short</think>\nLet me look.\n<think>\nThe last word; FINAL(alpha) maybe?\n</think>\n{LAST_WORD}",
        # two blocks in a row, the first closed at the end of its own line of text
        f"<think>\nFirst I plan.</think>\n<think>\nThen FINAL(alpha), or not.\n</think>\n{LAST_WORD}",
        # Qwen3 with thinking toggled per turn: an empty block, then a real one
        f"<think></think>\n<think>\nI could stop: FINAL(alpha)\n</think>\n\n{LAST_WORD}",
        # a block, the code, then a second block reflecting on it
        f"<think>Okay.</think>\n\n{LAST_WORD}\n<think>\nIf it prints alpha then FINAL(alpha)\n</think>\nRunning it.",
        # the first close with the reply's first words after it on its line
        f"<think>\nThat is all.</think> Now the code:\n<think>\nor FINAL(alpha)?\n</think>\n{LAST_WORD}",
        # <thinking> as some models spell it
        f"<thinking>brief</thinking>\n<thinking>\nlonger, FINAL(alpha)?\n</thinking>\n{LAST_WORD}",
    ],
)
def test_each_of_several_reasoning_blocks_is_reasoning_and_what_lies_outside_them_acts(reply: str) -> None:
    parsed = parse_reply(reply)
    assert parsed.cells == ("print(context.split()[-1])",) and parsed.final is None
    result, _ = run([reply, "FINAL(gamma)"])
    assert (result.answer, result.iterations) == ("gamma", 2)


def test_a_final_after_the_second_of_two_reasoning_blocks_finishes() -> None:
    for reply in (
        "<think>ok</think>\n<think>\nmaybe FINAL(alpha)\n</think>\n\nFINAL(gamma)",
        "<think>a</think>\nText.\n<think>\nb, FINAL(alpha)?</think>\nFINAL(gamma)",
    ):
        assert parse_reply(reply).final == ProseFinal("final", "gamma"), reply
        assert run([reply])[0].answer == "gamma"


DRAFT = "```repl\nFINAL('alpha')\n```"


@pytest.mark.parametrize(
    "reply",
    [
        f"<think>\nI could write:\n{DRAFT} and that should work.</think>\n{LAST_WORD}",
        f"<think>\nI could write:\n{DRAFT} and that should work. </think>\n\n{LAST_WORD}",
        f"<think>\nHmm.\n{DRAFT}\nRight.</think>\n\n{LAST_WORD}".replace("```\nRight", "```  - this finishes.\nRight"),
        # the chat template opened the reasoning (DeepSeek-R1, QwQ): only the close is in the text
        f"I could write:\n{DRAFT} and that should work.</think>\n\n{LAST_WORD}",
        "Plan:\n```python\nFINAL('alpha')\n``` which finishes.\nOK.</think>\n" + LAST_WORD,
        "Plan:\n```py\nFINAL('alpha')\n```   (once the count is known)\nFine.</think>\n" + LAST_WORD,
    ],
)
def test_a_block_drafted_in_reasoning_and_closed_with_words_after_its_fence_never_runs(reply: str) -> None:
    assert parse_reply(reply).cells == ("print(context.split()[-1])",)
    result, _ = run([reply, "FINAL(gamma)"])
    assert (result.answer, result.iterations) == ("gamma", 2)  # the drafted FINAL('alpha') never ran


@pytest.mark.parametrize(
    "final",
    [
        'FINAL(f"There are {count} words, the last {last}")',
        "FINAL(f'There are {count} words, the last {last}')",
        'FINAL(F"There are {count} words, the last {last}")',
        'FINAL(\n    f"There are {count} words, the last {last}"\n)',
        'FINAL("There are {} words, the last {}".format(count, last))',
        'FINAL("There are %d words, the last %s" % (count, last))',
    ],
)
def test_a_final_in_prose_that_builds_its_answer_from_variables_is_filled_in_by_the_repl(final: str) -> None:
    first = repl("words = context.split()\ncount, last = len(words), words[-1]\nprint(count, last)")
    for reply in (f"Counted.\n{final}", f"<think>\nDone.\n</think>\n{final}"):
        result, _ = run([first, reply])
        assert (result.answer, result.iterations) == ("There are 3 words, the last gamma", 2), reply
    # on the last turn too, within a sentence
    result, _ = run([first, f"So the answer is {final}."], budget=Budget(max_iterations=1))
    assert result.answer == "There are 3 words, the last gamma"


def test_a_final_of_text_that_only_looks_like_code_stays_text() -> None:
    for reply, answer in (('FINAL(f"gamma")', "gamma"), ("FINAL(Paris (France))", "Paris (France)")):
        assert run([reply])[0].answer == answer


@pytest.mark.parametrize(
    "reply",
    [
        # the item's text, then the fence on its continuation line, the code at column 0 (two-space indents)
        "1. Count them:\n   ```repl\nfor w in context.split():\n  print(w)\nprint('count', len(context.split()))\n"
        "   ```",
        # a nested item's fence (5 columns in), the code at column 0 with four-space indents
        "1. Read it.\n   - Then count:\n     ```repl\nfor w in context.split():\n    print(w)\nprint('count', 3)\n"
        "     ```",
        # a tab-indented fence, the code at column 0
        "- Count:\n\t```python\nif True:\n  for w in context.split():\n    print(w)\nprint('count', 3)\n\t```",
        # the code at the list's indentation, as CommonMark has it
        "2. Count them:\n   ```repl\n   for w in context.split():\n     print(w)\n   print('count', 3)\n   ```",
    ],
)
def test_a_fence_on_a_list_items_continuation_line_keeps_the_codes_own_indentation(reply: str) -> None:
    (cell,) = parse_reply(reply).cells
    compile(cell, "<cell>", "exec")
    result, lm = run([reply, "FINAL(gamma)"])
    assert result.answer == "gamma"
    assert "alpha\nbeta\ngamma\ncount 3" in lm.calls[1][-1]["content"]


def test_a_string_left_of_an_indented_fences_column_keeps_its_text() -> None:
    reply = "1. Note:\n   ```repl\n   s = '''one\ntwo'''\n   print(s)\n   ```"
    assert parse_reply(reply).cells == ("s = '''one\ntwo'''\nprint(s)",)


@pytest.mark.parametrize(
    "prose",
    [
        "This prints the last word, then I will answer.",
        "\nNow I'll look at the output and finish.",
        "Let me run this and see what it says:\nThen I'll decide.",
        "**Note:** this prints the last word.",
    ],
)
def test_an_unclosed_block_stops_where_the_prose_after_it_begins(prose: str) -> None:
    reply = f"```repl\nw = context.split()\nprint(w[-1])\n{prose}"
    parsed = parse_reply(reply)
    assert parsed.cells == ("w = context.split()\nprint(w[-1])",)
    assert parsed.open_block  # its close never came: a reply cut at its cap still drops it
    result, lm = run([reply, "FINAL(gamma)"])
    assert result.answer == "gamma"
    assert "gamma" in lm.calls[1][-1]["content"] and "Error" not in lm.calls[1][-1]["content"]
    # a FINAL in that prose is the prose's: it finishes once the output shows it
    result, _ = run([f"{reply}\nSo the output will show it.\nFINAL(gamma)"])
    assert (result.answer, result.iterations) == ("gamma", 1)


def test_prose_that_cannot_be_cut_from_an_unclosed_block_is_named_in_the_error() -> None:
    reply = "```repl\nfor w in context.split():\nThis loop prints each word, then I'll pick the last."
    _, lm = run([reply, "FINAL(gamma)"])
    told = lm.calls[1][-1]["content"]
    assert "Error" in told and "Line 2 of the block reads as prose" in told and "closing ```" in told
    assert "four backticks" not in told  # not the hint for a ``` line inside a string


@pytest.mark.parametrize(
    "reply",
    [
        "The instructions say to write:\n```\nFINAL(your answer)\n```\nso my answer is FINAL(gamma).",
        "```text\nFINAL(<the answer>)\n```\nThus: FINAL(gamma).",
        "Format:\n```\nFINAL(answer)\n```\nMy answer: FINAL(gamma)",
        "FINAL(gamma)\n\nI was asked to reply as:\n```\nFINAL(your final answer)\n```",
        "I was told to reply with FINAL(...). So FINAL(gamma).\nThat is, not FINAL(your answer).",
        # the order written holds for real answers too: the later one wins
        "```text\nFINAL(beta)\n```\nOn reflection, FINAL(gamma).",
    ],
)
def test_the_last_turn_answer_is_the_last_real_final_never_the_templates_placeholder(reply: str) -> None:
    assert find_final_anywhere(reply) == ProseFinal("final", "gamma")
    result, _ = run([repl("print(1)"), reply], budget=Budget(max_iterations=1))
    assert (result.answer, result.answer_source) == ("gamma", "final_request")


# --- a placeholder FINAL is never an answer, on any turn ------------------------------------------------------------


@pytest.mark.parametrize(
    "reply",
    [
        "The format to use:\nFINAL(your answer)",
        "Once I know, I will write\nFINAL(<the answer>)\nbut not yet.",
        "FINAL(`your final answer`)",
        "**Answer:** FINAL([answer])",
        "FINAL(\u2026)",
    ],
)
def test_a_placeholder_final_line_mid_run_does_not_finish_and_the_model_is_told(reply: str) -> None:
    assert parse_reply(reply).final is None and parse_reply(reply).placeholder is not None
    result, lm = run([reply, repl("print(context.split()[-1])"), "FINAL(gamma)"])
    assert (result.answer, result.iterations) == ("gamma", 3)
    assert "placeholder" in lm.calls[1][-1]["content"]


@pytest.mark.parametrize(
    "reply",
    [
        "FINAL(your answer)\n\nHere it is: FINAL(gamma)",
        "FINAL([the answer])\nThus FINAL(gamma).",
        "FINAL(...)\n\nSo FINAL(gamma)",
        # real answers too: the last one written wins, even within a line after a FINAL line
        "FINAL(alpha)\nNo, the last word is wanted, so FINAL(gamma).",
    ],
)
def test_on_the_last_turn_the_last_real_final_wins_over_an_earlier_line(reply: str) -> None:
    result, _ = run([repl("print(1)"), reply], budget=Budget(max_iterations=1))
    assert (result.answer, result.answer_source) == ("gamma", "final_request")


# --- FINAL(expression) in prose is computed by the REPL; text that only parses as Python stays text -----------------

_SET_UP = repl("words = context.split()\nn = len(words)")


@pytest.mark.parametrize(
    ("line", "answer"),
    [
        ("FINAL(str(n))", "3"),
        ("FINAL(len(words))", "3"),
        ("FINAL(words[-1])", "gamma"),
        ("FINAL(words[-1].upper())", "GAMMA"),
        ("FINAL(n * 2)", "6"),
        ("**Answer:** FINAL(' '.join(words[1:]))", "beta gamma"),
    ],
)
def test_a_prose_final_of_an_expression_answers_its_value(line: str, answer: str) -> None:
    result, _ = run([_SET_UP, f"Computed.\n{line}", "FINAL(wrong)"])
    assert (result.answer, result.iterations) == (answer, 2)


def test_a_last_turn_final_of_an_expression_within_a_sentence_answers_its_value() -> None:
    result, _ = run([_SET_UP, "So the answer is FINAL(words[-1])."], budget=Budget(max_iterations=1))
    assert (result.answer, result.answer_source) == ("gamma", "final_request")


@pytest.mark.parametrize(
    "text",
    ["Paris", "42", "Paris (France)", "yes, 3 items", "3.5 km", "New York", "1/2", "node.js", "not found",
     "well-known", "O(n)", "True"],
)  # fmt: skip
def test_a_plain_answer_that_parses_as_python_stays_text(text: str) -> None:
    result, _ = run([_SET_UP, f"Done.\nFINAL({text})", "FINAL(wrong)"])
    assert (result.answer, result.iterations) == (text, 2)


def test_text_that_parses_as_python_is_still_held_to_the_output() -> None:
    reply = repl("print(context.split()[-1])") + "\nFINAL(Paris (France))"
    result, lm = run([reply, "FINAL(gamma)"])
    assert result.answer == "gamma" and "does not show it" in lm.calls[1][-1]["content"]


@pytest.mark.parametrize("text", ["str(nn)", "len(wrds)", "words[n]", "abs(x)", "max(a, b)", "words.txt", "n.json"])
def test_an_expression_whose_run_fails_was_text_and_answers_as_written(text: str) -> None:
    events: list[Event] = []
    result, _ = run([_SET_UP, f"Done.\nFINAL({text})", "FINAL(wrong)"], on_event=events.append)
    assert (result.answer, result.iterations) == (text, 2)
    assert all(e.data["status"] == "ok" for e in events if e.type == "cell")  # no failed cell the model never wrote


def test_an_fstring_that_fails_is_reported_never_answered_as_its_source() -> None:
    result, lm = run([_SET_UP, 'FINAL(f"{nn} words")', "FINAL(gamma)"])
    assert (result.answer, result.iterations) == ("gamma", 3)
    assert "NameError" in lm.calls[2][-1]["content"]


@pytest.mark.parametrize(
    ("line", "answer"),
    [
        ('FINAL("words.txt")', "words.txt"),  # quoted: text, not run once unquoted
        ("FINAL('not n')", "not n"),
        ("FINAL(not n)", "not n"),  # words joined by Python's word operators
        ("FINAL(n in words)", "n in words"),
        ("FINAL(re.findall)", "re.findall"),  # a dotted name: an API's name, never its repr
        ("FINAL(str.split)", "str.split"),
        ("FINAL(sorted)", "sorted"),
        ("FINAL(lambda s: s[::-1])", "lambda s: s[::-1]"),  # code asked for
        ('FINAL(print("hi"))', 'print("hi")'),
        ("FINAL(exit(0))", "exit(0)"),
        ("FINAL(type(words))", "type(words)"),  # a class is no answer: the text is
    ],
)
@pytest.mark.parametrize("last", [False, True])
def test_a_plain_answer_shaped_like_code_stays_text(line: str, answer: str, last: bool) -> None:
    set_up = repl("import re\nwords = context.split()\nn = [w for w in words if w == 'zeta']")
    if last:
        result, _ = run([set_up, f"Done.\n{line}"], budget=Budget(max_iterations=1))
        assert (result.answer, result.answer_source) == (answer, "final_request")
    else:
        result, _ = run([set_up, f"Done.\n{line}", "FINAL(wrong)"])
        assert (result.answer, result.iterations) == (answer, 2)


@pytest.mark.parametrize(("line", "answer"), [("FINAL(total + 1)", "4"), ("FINAL(len(items))", "2")])
def test_on_the_last_turn_the_replys_block_runs_before_its_final_is_read(line: str, answer: str) -> None:
    reply = repl("items = context.split()[1:]\ntotal = len(items) + 1") + f"\nCounted.\n{line}"
    result, _ = run([repl("print(1)"), reply], budget=Budget(max_iterations=1))
    assert (result.answer, result.answer_source) == (answer, "final_request")


# --- a Python 3.12 f-string that reuses its quote inside a field ----------------------------------------------------


@pytest.mark.parametrize(
    ("line", "answer"),
    [
        ('FINAL(f"{", ".join(words)}")', "alpha, beta, gamma"),
        ('FINAL(f"{n} words, last {words[-1]!r}: {"ok"}")', "3 words, last 'gamma': ok"),
        ("FINAL(f'{'-'.join(words[:2])}')", "alpha-beta"),
    ],
)
def test_an_fstring_reusing_its_quote_in_a_field_answers_its_value(line: str, answer: str) -> None:
    result, _ = run([_SET_UP, f"Done.\n{line}", "FINAL(wrong)"])
    assert (result.answer, result.iterations) == (answer, 2)


def test_an_fstring_this_python_cannot_run_is_reported_never_answered_as_its_source() -> None:
    line = """FINAL(f"{", ".join(["a", 'b'])}")"""  # both quotes inside the field: not rewritten
    result, lm = run([_SET_UP, line, "FINAL(gamma)"])
    if sys.version_info >= (3, 12):
        assert result.answer == "a, b"
    else:
        assert (result.answer, result.iterations) == ("gamma", 3)
        assert "SyntaxError" in lm.calls[2][-1]["content"]


# --- an unclosed block ends where reasoning opens again -------------------------------------------------------------


@pytest.mark.parametrize(
    ("opening", "closing"), [("<think>", "</think>"), ("<thinking>", "</thinking>"), ("[THINK]", "[/THINK]"),
                             ("<seed:think>", "</seed:think>"), ("<think>Now", "</think>")],
)  # fmt: skip
def test_an_unclosed_block_ends_where_reasoning_opens_again(opening: str, closing: str) -> None:
    reply = f"```repl\nw = context.split()\nprint(w[-1])\n{opening}\nI should check the output next.\n{closing}\nDone."
    assert parse_reply(reply).cells == ("w = context.split()\nprint(w[-1])",)
    _, lm = run([reply, "FINAL(gamma)"])
    told = lm.calls[1][-1]["content"]
    assert "gamma" in told and "Error" not in told


def test_reasoning_that_cannot_be_cut_from_a_block_is_named_in_the_error() -> None:
    reply = "```repl\nfor w in context.split():\n<think>\nthat loop needs a body\n</think>"
    _, lm = run([reply, "FINAL(gamma)"])
    told = lm.calls[1][-1]["content"]
    assert "Error" in told and "Line 2 of the block opens reasoning" in told and "closing ```" in told


# --- audit 44: code drafted only in reasoning is named in what the model is told -----------------------------------

_DRAFTED = "```repl\nprint(context.split()[-1])\n```"


@pytest.mark.parametrize(
    "reply",
    [
        f"<think>\nI will print the last word:\n{_DRAFTED}\n</think>\nLooking at the data now.",
        # gpt-oss's harmony leaked as text (odysseus#4522, sglang#9015): the block in the commentary channel, no final
        "<|channel|>analysis<|message|>Check first.<|end|><|start|>assistant<|channel|>commentary<|message|>"
        f"Checking the data.\n{_DRAFTED}<|end|>",
    ],
)
def test_a_block_only_in_reasoning_is_named_not_called_missing(reply: str) -> None:
    result, lm = run([reply, "FINAL(gamma)"])
    assert (result.answer, result.iterations) == ("gamma", 2)
    told = lm.calls[1][-1]["content"]
    assert "stood inside its reasoning" in told and "no ```repl block" not in told
    _, lm = run(["<think>\nThe last word, surely.\n</think>\nLooking now.", "FINAL(gamma)"])  # no block anywhere
    assert "no ```repl block" in lm.calls[1][-1]["content"]


def test_a_block_in_the_servers_reasoning_field_is_named_too() -> None:
    from fake_openai_server import FakeOpenAIServer, Reply, completion_body
    from rlmx.lm import OpenAICompatibleLM

    with FakeOpenAIServer() as server:
        server.script(
            Reply(body=completion_body("Looking at the data now.", reasoning_content=f"Plan:\n{_DRAFTED}")),
            Reply(body=completion_body("FINAL(gamma)")),
        )
        root = OpenAICompatibleLM("m", server.base_url, api_key="k")
        result = RLM(root).completion("What is the last word?", context=CONTEXT)
        assert (result.answer, result.iterations) == ("gamma", 2)
        told = server.requests[1].body["messages"][-1]["content"]
    assert "stood inside its reasoning" in told


# --- audit 46: which of the reasons a reply ran nothing the model is told ------------------------------------------


@pytest.mark.parametrize(
    "reply",
    [
        # interleaved thinking (Kimi-K2, MiniMax-M2): the draft stands in a think block after some text
        f"Let me think this through.\n<think>\nFirst:\n{_DRAFTED}\n</think>\nLooking at the data now.",
        f"<think>\nThe last word.\n</think>\nHmm.\n<think>\nRather:\n{_DRAFTED}\n</think>\nOn it.",
        # a quoted block inside the reasoning is reasoning still, not a quote of the reply
        "<think>\nI could write\n> ```repl\n> print(context.split()[-1])\n> ```\n</think>\nLooking now.",
    ],
)
def test_a_draft_in_any_reasoning_block_is_named(reply: str) -> None:
    _, lm = run([reply, "FINAL(gamma)"])
    told = lm.calls[1][-1]["content"]
    assert "stood inside its reasoning" in told and "FINAL(your answer) on a line of its own" in told, told


def test_a_final_within_text_is_explained_before_a_draft_in_reasoning() -> None:
    reply = f"<think>\n{_DRAFTED}\n</think>\nThe answer is FINAL(gamma) I think."
    _, lm = run([reply, "FINAL(gamma)"])
    assert "stood inside a line of text" in lm.calls[1][-1]["content"]


def test_a_reply_cut_before_any_block_is_told_it_reached_its_limit() -> None:
    from fake_openai_server import FakeOpenAIServer, Reply, completion_body
    from rlmx.lm import OpenAICompatibleLM

    with FakeOpenAIServer() as server:
        server.script(
            Reply(body=completion_body("Now I will run the code:", reasoning_content=_DRAFTED, finish_reason="length")),
            Reply(body=completion_body("FINAL(gamma)")),
        )
        result = RLM(OpenAICompatibleLM("m", server.base_url, api_key="k")).completion("Last word?", context=CONTEXT)
        told = server.requests[1].body["messages"][-1]["content"]
    assert result.answer == "gamma" and "reached its output limit before it wrote" in told
