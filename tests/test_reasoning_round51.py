"""A think tag a reasoning parser left at the start of the text is stray unless its own closing tag follows: a
closing tag inside code, or one that closes a later block (interleaved thinking), does not close it (audit 51)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fake_openai_server import FakeOpenAIServer, Reply, completion_body, usage
from rlmx import RLM
from rlmx.lm.openai import OpenAICompatibleLM
from rlmx.protocol import parse_reply

STRIP_TAGS = '```repl\nimport re\nprint(re.sub(r"<think>.*?</think>", "", "<think>x</think>delta"))\n```'
"""A block whose code names the tag pair (a model cleaning transcripts it was given): it prints "delta"."""


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as running:
        yield running


def first_turn_output(server: FakeOpenAIServer, content: str, reasoning: str = "Strip the tags, then look.") -> str:
    """What the model is told after its first reply, `content` with `reasoning` apart in reasoning_content."""
    server.script(
        Reply(body=completion_body(content, usage=usage(20, 9), reasoning_content=reasoning)),
        Reply(body=completion_body("FINAL(done)", usage=usage(20, 3))),
    )
    result = RLM(OpenAICompatibleLM("m", server.base_url, max_retries=0)).completion("q", context="c")
    assert (result.status, result.answer) == ("finished", "done")
    told = server.requests[1].body["messages"][-1]["content"]
    assert isinstance(told, str)
    return told


@pytest.mark.parametrize(
    "after",
    [
        STRIP_TAGS,  # the closing tag in the block's regex
        "Running it now: ```repl\nprint('</think>' and 'delta')\n```",  # in a block opened at a line's end
        "~~~repl\nprint('''\n</think>\n'''.strip() and 'delta')\n~~~",  # alone on its line, in a string
        "The `</think>` tag goes:\n" + STRIP_TAGS,  # in inline code in the prose
        STRIP_TAGS + "\n\n<think>\nIf that prints delta I am done.\n</think>\nRunning it.",  # a later block's
        STRIP_TAGS + "\nChecking. <think>delta, surely</think>",  # a later block's, opened on its line
    ],
)
def test_a_stray_think_tag_is_not_closed_by_a_tag_in_code_or_of_a_later_block(
    server: FakeOpenAIServer, after: str
) -> None:
    told = first_turn_output(server, "<think>\n\n" + after)
    assert "delta" in told and "reasoning" not in told.lower()


def test_a_think_tag_its_own_close_follows_is_still_reasoning(server: FakeOpenAIServer) -> None:
    # the same code after the thought: the drafted line inside the thought never runs, the block after it does
    content = "<think>\nprint('DRAFT')\nThe block below will do.\n</think>\n" + STRIP_TAGS
    told = first_turn_output(server, content)
    assert "delta" in told and "DRAFT" not in told


def test_a_block_then_a_thought_opened_mid_line_keeps_the_block() -> None:
    # no stray tag: "</think>" glued to a word at the end of the text closes the thought opened on its own line, not
    # reasoning a chat template opened before the block
    reply = parse_reply(STRIP_TAGS + "\nChecking. <think>delta, surely</think>")
    assert len(reply.cells) == 1 and "delta" in reply.cells[0]
    # a close a chat template's reasoning ends with still ends it
    assert parse_reply("the plan is made</think>\n" + STRIP_TAGS).reasoning_chars > 0


# Audit 52: a thought the server gives apart AND keeps in the text (llama.cpp's deepseek-legacy format) is no stray
# tag, whatever it holds; a glued close the reply proper follows ends template-opened reasoning.

DRAFTED = "```repl\nprint('DRAFT' + 'ED')\n```"
"""A block a thought only drafts: it must never run."""


def legacy_turn_output(server: FakeOpenAIServer, thought: str, close: str) -> str:
    """What the model is told after a reply that gives `thought` in reasoning_content and, tags and all (`close`
    ending it), in content."""
    return first_turn_output(server, "<think>\n" + thought + close + STRIP_TAGS, reasoning=thought)


@pytest.mark.parametrize(
    ("aside", "close"),
    [
        ("<think> marks wrap each transcript in the context, so I strip them.", "\n</think>\n\n"),  # names the tag
        ("<think>\nan inner step, never closed", "\n</think>\n\n"),  # a nested opener left open
        ("```", " </think>\n"),  # a lone fence line
        ("~~~", " </think>\n"),
        ("````", " </think>\n"),
        ("I would start it with:\n```python", "\n</think>"),  # a fence left open
    ],
)
def test_a_thought_repeated_from_the_reasoning_field_keeps_its_draft_from_running(
    server: FakeOpenAIServer, aside: str, close: str
) -> None:
    thought = "First a draft:\n" + DRAFTED + "\n" + aside + "\nThe block after this will do."
    told = legacy_turn_output(server, thought, close)
    assert "DRAFTED" not in told and "delta" in told


@pytest.mark.parametrize(
    "after",
    [
        "\n\n" + STRIP_TAGS,  # the block on the next lines
        STRIP_TAGS,  # the fence glued to the close
        "\nNow the check.\n" + STRIP_TAGS,  # a sentence before the block
    ],
)
def test_a_glued_close_the_reply_follows_ends_template_opened_reasoning_despite_a_named_tag(after: str) -> None:
    # no opening tag in the reply: the chat template opened it; the thought's last line names the tag mid-line
    reply = parse_reply("Drafting.\n" + DRAFTED + "\nSo I drop every <think> span first.</think>" + after)
    assert reply.reasoning_chars > 0
    assert len(reply.cells) == 1 and "DRAFT" not in reply.cells[0] and "re.sub" in reply.cells[0]


def test_a_glued_close_the_reply_follows_ends_template_opened_reasoning_over_http(server: FakeOpenAIServer) -> None:
    content = "Drafting.\n" + DRAFTED + "\nSo I drop every <think> span first.</think>\n\n" + STRIP_TAGS
    server.script(
        Reply(body=completion_body(content, usage=usage(20, 9))),
        Reply(body=completion_body("FINAL(done)", usage=usage(20, 3))),
    )
    result = RLM(OpenAICompatibleLM("m", server.base_url, max_retries=0)).completion("q", context="c")
    assert (result.status, result.answer) == ("finished", "done")
    told = server.requests[1].body["messages"][-1]["content"]
    assert isinstance(told, str) and "DRAFTED" not in told and "delta" in told
