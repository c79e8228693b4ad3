"""The guided root's cells, on the host (they are plain functions) and through the engine with a scripted reader."""

from __future__ import annotations

from rlmx import RLM
from rlmx.bench.niah import Needle, haystack
from rlmx.lm import GuidedRoot, Message, ScriptedLM
from rlmx.lm.guided_cells import NOT_FOUND, guided_answer, search_terms, verified_spans

QUESTION = "From which platform does the night train to Vellmoor depart?"
CHUNK = "The ferry waited. The night train to Vellmoor departs from platform 9. The bakery closed."


def test_search_terms_drop_question_words_and_keep_quoted_phrases() -> None:
    assert search_terms('Who wrote "the blue book" in Oslo?') == ["the blue book", "wrote", "blue", "book", "oslo"]


def test_only_copied_phrases_from_a_relevant_sentence_count() -> None:
    terms = search_terms(QUESTION)
    assert verified_spans("The night train to Vellmoor departs from platform 9.", CHUNK, QUESTION, terms) == ["9"]
    assert verified_spans("It leaves from platform 12.", CHUNK, QUESTION, terms) == []  # not in the text
    assert verified_spans("The bakery closed.", CHUNK, QUESTION, terms) == []  # not near a query term
    assert verified_spans("It is NOT FOUND.", CHUNK, QUESTION, terms) == []


def test_a_word_inside_a_longer_word_is_not_a_match() -> None:
    chunk = "Many ships came. The harbor master left."
    question = "Who is the harbor master?"
    assert verified_spans("ma", chunk, question, search_terms(question)) == []


def test_unverified_replies_fall_back_to_the_sentence_holding_every_term() -> None:
    text = "Filler. " * 50 + "The night train to Vellmoor departs from platform 9. " + "More filler. " * 50
    result = guided_answer(text, QUESTION, lambda prompts: ["I cannot tell."] * len(prompts))
    assert result["answer"] == "The night train to Vellmoor departs from platform 9."
    assert "every query term" in result["report"]


def test_a_partial_decoy_is_not_an_answer() -> None:
    text = "Filler. " * 50 + "The night train was late. " + "More filler. " * 50
    result = guided_answer(text, QUESTION, lambda prompts: ["The night train departs from platform 4."] * len(prompts))
    assert result["answer"] == NOT_FOUND


async def test_guided_root_runs_through_the_engine_with_any_reader() -> None:
    needle = Needle("The night train to Vellmoor departs from platform 9.", QUESTION, "9")
    text = haystack(200_000, needle, seed=2)

    def reader(messages: list[Message]) -> str:
        return "It departs from platform 9." if "platform 9" in messages[0]["content"] else "NOT FOUND"

    sub = ScriptedLM(reader, model="reader")
    result = await RLM(GuidedRoot(sub), sub_lm=sub).acompletion(QUESTION, context=text)
    assert (result.answer, result.iterations, result.usage.sub.calls) == ("9", 2, 1)
    assert all("Text:" in call[0]["content"].split("Question:")[0] for call in sub.calls)  # text first
