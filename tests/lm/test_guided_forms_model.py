"""The offline default with the real embedded model (SmolLM2 on llama.cpp) and the guided root, asked about a
short passage of real prose in other word forms than the passage's own ("wrote" for "written", "begin" for
"begun"), naming nothing in capitals (so only those words can find it): the passage is read and answered from,
never NOT FOUND."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rlmx import RLM
from scripting import missing_embedded_model

pytestmark = [pytest.mark.model, pytest.mark.slow]

if (_missing := missing_embedded_model()) is not None:
    pytest.skip(_missing, allow_module_level=True)

from rlmx.lm import GuidedRoot, LocalLM  # noqa: E402

PASSAGE = (
    "Frankenstein; or, The Modern Prometheus is a novel written by the English author Mary Shelley. It was first "
    "published anonymously in London on 1 January 1818; her name appeared on the second edition, printed in "
    "France in 1823. She had begun the story in the summer of 1816 near Lake Geneva, where she stayed with the "
    "poets Percy Bysshe Shelley and Lord Byron.\n\n"
    "Mary Shelley died in London on 1 February 1851, at the age of 53."
)


@pytest.fixture(scope="module")
def local() -> Iterator[LocalLM]:
    lm = LocalLM()
    yield lm
    lm.close()


@pytest.mark.parametrize(
    ("question", "sentence", "answers"),
    [
        ("Who wrote the novel?", "a novel written by the English author Mary Shelley", ["Mary Shelley"]),
        ("When did she begin the story?", "She had begun the story in the summer of 1816", ["1816"]),
        ("When did she die?", "Mary Shelley died in London on 1 February 1851", ["1851"]),
    ],
    ids=["wrote-written", "begin-begun", "die-died"],
)
async def test_a_question_in_other_word_forms_is_answered_from_its_passage(
    local: LocalLM, question: str, sentence: str, answers: list[str]
) -> None:
    root = GuidedRoot(local)
    result = await RLM(root, sub_lm=root.reader).acompletion(question, context=PASSAGE)
    assert result.status == "finished"
    assert result.usage.sub.calls == 2  # the passage was found, so it was read (in two wordings)
    first, evidence = result.answer.split("\n", 1)
    # the verified short answer with its passage, or (when the readings disagree) the quoted passage
    if first.startswith("No short answer could be verified"):
        assert sentence in evidence
    else:
        assert any(a.lower() in first.lower() or first.lower() in a.lower() for a in answers), first
        assert evidence.startswith("From [") and sentence in evidence
