"""Word forms in the guided root's matching: a question and a text that write one word in different forms
(inflection, irregular verbs and plurals, case, punctuation, diacritics, British/American spelling) still meet,
on the index side (SQLite FTS5, or the BM25 of its own) and the host side alike; unrelated words do not."""

from __future__ import annotations

import inspect
import json
import sqlite3
import sys
from pathlib import Path
from typing import Any

import pytest

from rlmx import RLM
from rlmx.lm import GuidedRoot, ScriptedLM, guided_cells
from rlmx.lm.guided_cells import (
    NOT_FOUND,
    WORD_FORMS,
    WORD_MATCHING,
    Index,
    build_index,
    describe,
    guided_answer,
    is_foreign,
    matches_enough,
    rank,
    salient_terms,
    search_terms,
    split_units,
    stem,
    verified_span,
)

# (the question's form, the text's form): one word, written two ways
SAME_WORD = [
    # irregular verbs: past and participle
    ("wrote", "written"),
    ("written", "writes"),
    ("writing", "wrote"),
    ("ran", "running"),
    ("run", "ran"),
    ("went", "gone"),
    ("goes", "went"),
    ("bought", "buying"),
    ("sold", "sells"),
    ("taught", "teaching"),
    ("thought", "thinks"),
    ("spoke", "spoken"),
    ("spoken", "speaks"),
    ("chose", "choosing"),
    ("drove", "drive"),
    ("flew", "flies"),
    ("flown", "flying"),
    ("began", "begun"),
    ("begins", "began"),
    ("sang", "sung"),
    ("swam", "swimming"),
    ("stole", "stolen"),
    ("froze", "frozen"),
    ("knew", "known"),
    ("grew", "grows"),
    ("built", "builds"),
    ("brought", "brings"),
    ("caught", "catches"),
    ("fought", "fights"),
    ("held", "holds"),
    ("kept", "keeps"),
    ("left", "leaves"),
    ("lost", "loses"),
    ("made", "makes"),
    ("meant", "meaning"),
    ("met", "meeting"),
    ("paid", "pays"),
    ("sent", "sending"),
    ("slept", "sleeps"),
    ("stood", "standing"),
    ("took", "taken"),
    ("told", "telling"),
    ("threw", "thrown"),
    ("understood", "understands"),
    ("won", "winning"),
    ("wore", "wearing"),
    ("fell", "falling"),
    ("fallen", "falls"),
    ("fled", "fleeing"),
    ("gave", "given"),
    ("got", "gets"),
    ("heard", "hearing"),
    ("hid", "hidden"),
    ("led", "leading"),
    ("saw", "seen"),
    ("sees", "saw"),
    ("became", "becomes"),
    ("came", "coming"),
    ("drew", "drawing"),
    ("drank", "drunk"),
    ("eaten", "eats"),
    ("ate", "eating"),
    ("broke", "broken"),
    ("rode", "riding"),
    ("shook", "shaken"),
    ("struck", "strikes"),
    ("swore", "sworn"),
    ("begat", "begotten"),
    ("smote", "smite"),
    ("slew", "slain"),
    ("forgave", "forgiven"),
    # die / death, and the -ie verbs Porter's rules split
    ("die", "died"),
    ("died", "dies"),
    ("dying", "death"),
    ("death", "died"),
    ("dead", "die"),
    ("lying", "lies"),
    ("tied", "tying"),
    # regular inflection: -s, -es, -ies, -ed, -ing, doubled consonants
    ("sailed", "sails"),
    ("sailing", "sail"),
    ("stopped", "stopping"),
    ("studied", "studies"),
    ("study", "studied"),
    ("married", "marries"),
    ("carried", "carrying"),
    ("played", "plays"),
    ("planned", "planning"),
    ("opened", "opening"),
    ("created", "creates"),
    ("invented", "inventing"),
    ("discovered", "discovers"),
    ("published", "publishes"),
    ("founded", "founding"),
    ("ruled", "rules"),
    ("reigned", "reigning"),
    ("elected", "elects"),
    ("appointed", "appoints"),
    ("named", "names"),
    # comparatives and superlatives
    ("biggest", "big"),
    ("older", "oldest"),
    ("best", "good"),
    ("worse", "bad"),
    ("earliest", "early"),
    ("tallest", "taller"),
    ("heavier", "heavy"),
    ("further", "far"),
    # plurals
    ("city", "cities"),
    ("box", "boxes"),
    ("church", "churches"),
    ("ship", "ships"),
    ("horse", "horses"),
    ("pony", "ponies"),
    ("child", "children"),
    ("man", "men"),
    ("woman", "women"),
    ("person", "people"),
    ("mouse", "mice"),
    ("foot", "feet"),
    ("tooth", "teeth"),
    ("goose", "geese"),
    ("wife", "wives"),
    ("knife", "knives"),
    ("wolf", "wolves"),
    ("thief", "thieves"),
    ("shelf", "shelves"),
    ("half", "halves"),
    ("crisis", "crises"),
    ("criterion", "criteria"),
    ("phenomenon", "phenomena"),
    ("brother", "brethren"),
    ("ox", "oxen"),
    ("cactus", "cacti"),
    ("nucleus", "nuclei"),
    # case, punctuation, possessives, diacritics
    ("WROTE", "written"),
    ("Novel", "NOVELS"),
    ("Shelley's", "Shelley"),
    ("Shelley", "shelley’s"),
    ("kings'", "king"),
    ("café", "cafe"),
    ("Zürich", "zurich"),
    ("naïve", "naive"),
    ("résumé", "resume"),
    # British and American spelling
    ("colour", "color"),
    ("colours", "colored"),
    ("harbour", "harbor"),
    ("honour", "honored"),
    ("centre", "center"),
    ("theatre", "theaters"),
    ("defence", "defense"),
    ("organise", "organized"),
    ("realised", "realizes"),
    ("analyse", "analyzing"),
    ("grey", "gray"),
    ("catalogue", "catalog"),
    ("programme", "programs"),
]
# different words that must stay apart (a table form that would join them would find wrong passages)
OTHER_WORD = [
    ("found", "find"),
    ("bit", "bite"),
    ("rose", "rise"),
    ("wound", "wind"),
    ("ground", "grind"),
    ("bound", "bind"),
    ("write", "white"),
    ("king", "kind"),
    ("died", "dried"),
    ("ran", "rain"),
    ("wrote", "rote"),
    ("sale", "sell"),
]


@pytest.mark.parametrize(("question", "text"), SAME_WORD)
def test_forms_of_one_word_share_a_key(question: str, text: str) -> None:
    assert stem(question) == stem(text)


@pytest.mark.parametrize(("one", "other"), OTHER_WORD)
def test_different_words_keep_different_keys(one: str, other: str) -> None:
    assert stem(one) != stem(other)


def holders(index: Index, term: str, words: list[str]) -> list[str]:
    """The words of `words` (one unit each in `index`) that the index says hold `term`."""
    return [words[row] for row in sorted(index.rows(term))]


def units_of(words: list[str]) -> list[dict[str, Any]]:
    units, _ = split_units([("words", "\n\n".join(words))])
    assert len(units) == len(words)
    return units


def no_fts5(*args: Any, **kwargs: Any) -> Any:
    raise sqlite3.OperationalError("no such module: fts5")


@pytest.mark.parametrize("engine", ["fts5", "bm25-python"])
def test_the_index_holds_a_word_exactly_when_the_keys_agree(engine: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same normalisation on both sides: for every pair, each side's word finds the other's unit, and a
    different word's unit is never found (FTS5's own porter tokenizer and the Python BM25 alike)."""
    if engine == "bm25-python":
        monkeypatch.setattr(sqlite3, "connect", no_fts5)
    words = list(dict.fromkeys(w for pair in SAME_WORD + OTHER_WORD for w in pair))
    index = Index(units_of(words))
    assert index.engine == engine
    for question, text in SAME_WORD:
        assert text in holders(index, question, words), (question, text)
        assert question in holders(index, text, words), (text, question)
    for one, other in OTHER_WORD:
        assert other not in holders(index, one, words), (one, other)
        assert one not in holders(index, other, words), (other, one)
    # whatever the index says holds a term, the host side's key agrees with
    for word in words:
        assert {stem(w) for w in holders(index, word, words)} == {stem(word)}, word


def test_every_form_in_the_table_belongs_to_one_word() -> None:
    entries = [entry.split() for entry in WORD_FORMS.replace("\n", ";").split(";") if entry.strip()]
    seen: dict[str, str] = {}
    for base, *forms in entries:
        assert forms, base
        for form in [base, *forms]:
            assert seen.setdefault(stem(form), stem(base)) == stem(base), f"{form} is under two words"
            assert stem(form) == stem(base), form


PASSAGES = [
    "The novel was written by Mary Shelley in 1818.",
    "The old king died in the winter of 1422 at Vincennes.",
    "Maria Lindqvist runs the bakery on Harbour Street.",
    "The children of the village played in the ruined chapel.",
    "Three ships sailed from Bristol before dawn.",
    "Grey wolves hunted the geese along the river.",
    "The bridge's architect, Anna Berg, designed it in 1931.",
    "Her brethren taught at the old school in Zürich.",
    "The mayor's wife opened the new café on Monday.",
    "Thieves stole the painting while the guards slept.",
    "The mice ate the grain stored in the barn.",
]
# (question, the passage it asks about): other words than the passage's, forms of the same words
PARAPHRASED = [
    ("Who wrote the novel?", 0),
    ("By whom was the novel written?", 0),
    ("Who writes the novel?", 0),
    ("When did the old king die?", 1),
    ("Where was the old king's death?", 1),
    ("Who is running the bakery on Harbor Street?", 2),
    ("Who ran the bakery?", 2),
    ("Where did the child play in the village?", 3),
    ("From where did the ships sail?", 4),
    ("How many ships were sailing from Bristol?", 4),
    ("What did the gray wolf hunt?", 5),
    ("What did the wolves hunt along the river?", 5),
    ("Who designed the bridge?", 6),
    ("Who was the bridge architect?", 6),
    ("Where did her brother teach?", 7),
    ("Who is teaching at the old school in Zurich?", 7),
    ("Who opens the new cafe?", 8),
    ("What did the thief steal?", 9),
    ("What did the mouse eat in the barn?", 10),
    ("What was stolen while the guards were sleeping?", 9),
    ("WHO WROTE THE NOVEL", 0),
    ("who, in 1818, wrote the novel...?", 0),
    ("Who Wrote The Novel?", 0),
    ("WHO WROTE the novel?", 0),
    ("Who wrote the “novel”?", 0),
    ("Where did the CHILDREN play?", 3),
]


def best_passage(question: str, context: str = "\n\n".join(PASSAGES)) -> str | None:
    """The passage the guided root would read for `question` (None: it would say NOT FOUND)."""
    state = build_index([("context", context)])
    terms = search_terms(question)
    salient = salient_terms(question, terms)
    good = [u for u in rank(state, terms, salient=salient) if matches_enough(u, bool(salient), is_foreign(question))]
    return str(good[0]["text"]) if good else None


@pytest.mark.parametrize(("question", "passage"), PARAPHRASED)
def test_a_question_in_other_forms_finds_its_passage(question: str, passage: int) -> None:
    assert best_passage(question) == PASSAGES[passage]


@pytest.mark.parametrize("context", PASSAGES[:3])
def test_a_one_sentence_context_is_found_for_a_question_in_other_forms(context: str) -> None:
    question = {0: "Who wrote the novel?", 1: "When did the old king die?", 2: "Who ran the bakery?"}
    assert best_passage(question[PASSAGES.index(context)], context) == context


@pytest.mark.parametrize(
    ("question", "context"),
    [
        ("When did she die?", "Mary Shelley died in London on 1 February 1851."),
        ("When did she die?", "Her death came in London in 1851."),
        ("Who was his son?", "His sons were Shem, Ham and Japheth."),
        ("When did the war end?", "The wars ended in 1945."),
    ],
)
def test_english_words_that_are_function_words_elsewhere_are_searched(question: str, context: str) -> None:
    """ "die", "son", "war" are German, French or Spanish function words, but content words of an English
    question: a question that names nothing else is still found by them."""
    assert search_terms(question)
    others = [p for p in PASSAGES if "died" not in p]  # one passage about a death
    assert best_passage(question, "\n\n".join([context, *others])) == context


def test_in_a_german_question_die_is_a_function_word() -> None:
    assert "die" not in search_terms("Wie lautet die Adresse der Firma?")


@pytest.mark.parametrize(
    "question",
    ["Who wrote the poem?", "When did the queen die?", "Who ran the library?", "What did the thieves burn?"],
)
def test_a_shared_word_form_alone_does_not_make_a_passage_an_answer(question: str) -> None:
    assert best_passage(question) is None


def test_the_index_says_how_it_matches_words() -> None:
    pytest.importorskip("snowballstemmer", reason="installed with the local extra")
    state = build_index([("context", "\n\n".join(PASSAGES))])
    assert f"({WORD_MATCHING})" in describe(state)
    assert WORD_MATCHING.startswith("porter stems + ")  # snowballstemmer is installed with the local extra


def test_the_reader_gets_the_passage_and_its_phrase_is_the_answer() -> None:
    asked: list[str] = []

    def reader(prompts: list[str]) -> list[str]:
        asked.extend(prompts)
        return ["Mary Shelley", "Mary Shelley."]

    state = build_index([("context", PASSAGES[0])])
    # (asked "Who wrote the novel?", the passive sentence answers by itself: `passive_agent`)
    result = guided_answer(state, "Who was the novel written by?", reader)
    assert result["answer"].split("\n")[0] == "Mary Shelley"
    assert all(PASSAGES[0] in prompt for prompt in asked) and len(asked) == 2
    # the question's own word is no answer
    assert guided_answer(state, "Who was the novel written by?", lambda p: ["written", "written"])["kind"] == "evidence"
    assert guided_answer(state, "Who wrote the poem?", reader)["answer"] == NOT_FOUND


async def test_the_sandboxed_cells_match_word_forms_with_the_stemmer(tmp_path: Path) -> None:
    """Through the engine and its sandbox (the cells run there, not on the host): the passage is read, and the
    index cell says it stems with Porter's rules, so the sandbox imported snowballstemmer."""
    pytest.importorskip("snowballstemmer", reason="installed with the local extra")
    reader = ScriptedLM(["Mary Shelley", "Mary Shelley"], model="local:reader")
    root = GuidedRoot(reader)
    rlm = RLM(root, sub_lm=root.reader, trace_dir=tmp_path)
    result = await rlm.acompletion("Who was the novel written by?", context=PASSAGES[0])
    assert result.answer.split("\n")[0] == "Mary Shelley"
    assert result.usage.sub.calls == 2
    assert result.trace_path is not None
    events = [json.loads(line) for line in Path(result.trace_path).read_text().splitlines()]
    outputs = [e["output"] for e in events if e["type"] == "cell"]
    assert "porter stems + " in outputs[0]


DEATH = {"name": "", "kind": "paragraph", "text": "Mary Shelley died in London on 1 February 1851, at the age of 53."}


@pytest.mark.parametrize(
    ("reply", "span"),
    [
        ("on 1 February 1851", "1 February 1851"),
        ("She died in 1851.", "1 February 1851"),  # the year, as the whole date the unit writes it in
        ("Mary Shelley died", None),  # a name is no answer to "when"
        ("in London", None),
        ("died", None),  # the question's own word, in another form
    ],
)
def test_a_when_question_is_answered_by_a_time_never_by_a_name(reply: str, span: str | None) -> None:
    assert verified_span(reply, DEATH, "When did she die?", {"the", "and"}) == span


@pytest.mark.parametrize("fts5", [True, False])
def test_without_snowballstemmer_the_cells_stem_alike_on_both_sides(
    fts5: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sandbox without the stemmer (a docker image with a bare Python) runs the same cell source: SQLite's own
    porter tokenizer then stems the question's words exactly as the index does; without FTS5 both sides use a
    light stem. Either way the word forms meet and the index says how it matched."""
    monkeypatch.setitem(sys.modules, "snowballstemmer", None)  # import fails as if it were not installed
    if not fts5:
        monkeypatch.setattr(sqlite3, "connect", no_fts5)
    cells: dict[str, Any] = {"__name__": "guided_cells_bare"}
    exec(compile(inspect.getsource(guided_cells), "guided_cells_bare", "exec"), cells)
    assert cells["WORD_MATCHING"].startswith("sqlite porter stems + " if fts5 else "light stems + ")
    bare = cells["stem"]
    pairs = [("wrote", "written"), ("died", "death"), ("children", "child"), ("sailed", "sailing")]
    assert all(bare(a) == bare(b) for a, b in pairs)
    if fts5:  # the same stems as snowballstemmer's Porter gives the index side
        assert all(bare(word) == stem(word) for pair in SAME_WORD for word in pair)
    state = cells["build_index"]([("context", "\n\n".join(PASSAGES))])
    assert state["index"].engine == ("fts5" if fts5 else "bm25-python")
    for question, passage in PARAPHRASED[:8]:
        terms = cells["search_terms"](question)
        assert cells["rank"](state, terms)[0]["text"] == PASSAGES[passage], question


@pytest.mark.parametrize("engine", ["fts5", "bm25-python"])
@pytest.mark.parametrize(
    ("question", "context"),
    [
        ("When was the email sent?", "The e-mail was sent on Monday."),
        ("When was the e-mail sent?", "The email was sent on Monday."),
        ("When were the e-mails sent?", "The email was sent on Monday."),
        ("Who will cooperate with the police?", "The witness agreed to co-operate with the police."),
        ("Which functions are builtin?", "The built-in functions are always available."),
        ("What does the x-ray show?", "The X-ray shows a fracture of the wrist."),
    ],
)
def test_a_word_written_with_or_without_its_hyphen_finds_its_passage(
    engine: str, question: str, context: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if engine == "bm25-python":
        monkeypatch.setattr(sqlite3, "connect", no_fts5)
    others = "\n\n".join(PASSAGES)
    assert best_passage(question, f"{others}\n\n{context}") == context


def test_a_hyphenated_question_word_finds_the_words_written_apart() -> None:
    context = "The method is well known to every engineer."
    assert best_passage("Which method is well-known?", f"{context}\n\n" + "\n\n".join(PASSAGES)) == context


NOVEL = {
    "name": "",
    "kind": "paragraph",
    "text": "Frankenstein; or, The Modern Prometheus is a novel written by the English author Mary Shelley. It was "
    "first published anonymously in London on 1 January 1818;",
}


@pytest.mark.parametrize(
    ("query", "reply", "span"),
    [
        # the small reader's whole-sentence reply, seen on one CPU: the doer is the one after "by"
        ("Who wrote the novel?", "The Modern Prometheus is a novel written by Mary Shelley.", "Mary Shelley"),
        ("Who wrote the novel?", "Mary Shelley wrote The Modern Prometheus.", "Mary Shelley"),
        ("Who wrote the novel?", "Mary Shelley", "Mary Shelley"),
        ("Who wrote the novel?", "The Modern Prometheus", "Modern Prometheus"),  # one name: as before
    ],
)
def test_a_who_did_it_question_takes_the_agent_of_a_passive_reply(query: str, reply: str, span: str | None) -> None:
    assert verified_span(reply, NOVEL, query, {"the", "and"}) == span


LICENCE = [
    "GNU GENERAL PUBLIC LICENSE\nVersion 2, June 1991",
    "The licenses for most software are designed to take away your freedom to share and change it. By contrast, "
    "the GNU General Public License is intended to guarantee your freedom to share and change free software.",
    "This General Public License applies to most of the Free Software Foundation's software.",
    *PASSAGES,
]


def test_an_abbreviation_the_text_spells_out_is_searched_as_its_words() -> None:
    """ "the GPL" over a licence that never writes "GPL" but "GNU General Public License" throughout: the
    question's abbreviation is the run of capitalised words whose initials spell it."""
    state = build_index([("context", "\n\n".join(LICENCE))])
    index: Index = state["index"]
    assert index.spelled_out("GPL") == "general public license"
    assert index.spelled_out("FSF") is None  # "Free Software Foundation" is written once: could be chance
    assert index.spelled_out("GNU") is None  # written as such: nothing to spell out
    assert index.spelled_out("GP") is None  # two capitalised words in a row are everywhere
    question = "When was version 2 of the GPL published?"
    answer = guided_answer(state, question, lambda prompts: ["June 1991"] * len(prompts))
    assert answer["kind"] == "answer" and answer["answer"].startswith("June 1991"), answer
    assert "abbreviations the text spells out: {'gpl': 'general public license'}" in answer["report"]


def test_an_abbreviation_spelled_nowhere_stays_absent() -> None:
    state = build_index([("context", "\n\n".join(LICENCE))])
    answer = guided_answer(state, "When did the NSA publish it?", lambda prompts: ["June 1991"] * len(prompts))
    assert answer["kind"] == "not_found", answer
    # a question all in capitals writes no abbreviations
    assert guided_cells.spelled_out("WHEN WAS VERSION 2 OF THE GPL PUBLISHED?", state["index"]) == {}


def test_an_abbreviation_needs_capitalised_words_to_spell_it() -> None:
    text = "the general public license, the general public license and nothing else.\n\n" + "\n\n".join(PASSAGES)
    assert build_index([("context", text)])["index"].spelled_out("GPL") is None
