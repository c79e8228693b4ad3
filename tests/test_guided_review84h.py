"""Review 84c (kinds C to G): the offline guided root over kinds an adversarial review found. Every text is made
up; the reader is a stub (`guided_stub`), so what is checked is what the code makes of a reply."""

from __future__ import annotations

from guided_stub import ask, first_line

# --- D: a count a verb states, with its own breakdown after it --------------------------------------------------


def test_a_stated_total_with_its_breakdown_is_the_total() -> None:
    cases = [
        ("The cabin sleeps 5 (3 grown-ups plus 2 kids).", "How many people does it sleep?"),
        ("Our van seats 5: 3 in front plus 2 in the back.", "How many people does it seat?"),
        ("This stew serves 5 (three adults + two children).", "How many people does it serve?"),
    ]
    for text, question in cases:
        assert first_line(ask(text, question)) == "5", text


def test_a_breakdown_that_disagrees_with_its_total_gives_no_count() -> None:
    got = first_line(ask("The cabin sleeps 5 (3 grown-ups plus 3 kids).", "How many people does it sleep?"))
    assert got not in ("5", "6", "8")


def test_a_plus_after_the_stated_number_still_adds() -> None:
    assert first_line(ask("The cabin sleeps 3 (plus 2 on the sofa).", "How many people does it sleep?")) == "5"
    assert first_line(ask("The cabin sleeps 3, plus 2 on the sofa.", "How many people does it sleep?")) == "5"
