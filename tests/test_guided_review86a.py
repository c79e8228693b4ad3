"""Yes/no verdicts and clause ties of the guided root (audit 86 v01-v05): former values, deciding stop words
across clauses, verbs said of another item, values of another verb's clause, and clock times of the asked event."""

from __future__ import annotations

from guided_stub import ask, first_line

HEDGE = "No short answer could be verified"


# v01: a former value is never the value now, however many numbers its sentence holds


def test_a_lone_former_value_is_not_the_value_now() -> None:
    text = "The parking permit was 60 GBP last year. From this spring it costs 75 GBP."
    assert first_line(ask(text, "Is the parking permit over 70 GBP?")) != "No"
    assert first_line(ask(text, "Is the parking permit under 70 GBP?")) != "Yes"


def test_a_value_that_used_to_be_is_no_value_now() -> None:
    text = "The upload quota used to be 5 GB. Every account now gets 20 GB."
    assert first_line(ask(text, "Is the upload quota above 10 GB?")) != "No"


def test_a_past_question_still_reads_was_as_its_tense() -> None:
    text = "The final invoice was 480 EUR."
    assert first_line(ask(text, "Was the final invoice over 400 EUR?")) == "Yes"
    assert first_line(ask("The final invoice is 480 EUR.", "Is the final invoice over 400 EUR?")) == "Yes"


# v02: the deciding stop word is the one of the clause the question's qualifier stands in


def test_the_qualifiers_clause_decides_the_slot() -> None:
    text = "The fountain is off in winter and on in summer."
    assert first_line(ask(text, "Is the fountain on in summer?")) == "Yes"
    assert first_line(ask(text, "Is the fountain off in winter?")) == "Yes"
    assert first_line(ask(text, "Is the fountain off in summer?")) == "No"


def test_a_time_slot_after_its_qualifier() -> None:
    text = "Entry is free before noon and after 5pm."
    assert first_line(ask(text, "Is entry free after 5pm?")) != "No"


# v03: a yes/no verb must be said of the asked noun, across "and", active verbs and brackets


def test_an_active_verb_of_another_noun_after_and() -> None:
    text = "The plumber inspected the boiler and serviced the radiators."
    assert first_line(ask(text, "Has the boiler been serviced?")) != "Yes"


def test_a_passive_verb_of_another_noun_after_and() -> None:
    text = "The boiler was inspected and the radiators were serviced."
    assert first_line(ask(text, "Has the boiler been serviced?")) != "Yes"


def test_a_verb_sharing_its_subject_after_and_still_answers() -> None:
    assert first_line(ask("The boiler was inspected and serviced.", "Was the boiler serviced?")) == "Yes"
    text = "Mia cleaned the filters and emptied the tank."
    assert first_line(ask(text, "Did Mia empty the tank?")) == "Yes"


# v04: a value of another verb's clause, when the subject is a name or a bare plural


def test_a_bare_plural_subject_ties_no_value() -> None:
    text = "Entries open on 2 June and close on 30 June."
    assert first_line(ask(text, "When do entries close?", "2 June")) != "2 June"
    assert first_line(ask(text, "When do entries close?", "30 June")) == "30 June"


def test_a_named_subject_ties_no_value() -> None:
    text = "Omar grew up in Porto and teaches in Bergen."
    assert first_line(ask(text, "Where does Omar teach?", "Porto")) != "Porto"
    assert first_line(ask(text, "Where does Omar teach?", "Bergen")) == "Bergen"


def test_a_two_word_subject_ties_no_quantity() -> None:
    text = "Fresh pasta keeps for 2 days in the fridge and can be frozen for up to 2 months."
    assert first_line(ask(text, "How long can fresh pasta be frozen?", "2 days")) != "2 days"


# v05: the asked event's verb decides the clock's clause, not the shared subject


def test_the_asked_events_verb_decides_the_clock() -> None:
    text = "The city library opens at 8:30 and shuts at 18:00."
    assert first_line(ask(text, "What time does the city library shut?", "8:30")) != "8:30"


def test_a_clock_of_the_asked_verb_is_answered() -> None:
    text = "The bakery opens at 6 am and closes at 2 pm."
    assert first_line(ask(text, "What time does the bakery close?", "2 pm")) == "2 pm"
    text = "The bakery opens at 06:00. It closes at 14:00."
    assert first_line(ask(text, "What time does the bakery close?", "14:00")) == "14:00"
