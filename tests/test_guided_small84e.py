"""Audit 84b (v01-v06): wrong-but-confident answers of the offline guided root over a newcomer's small files. Every
text is made up here; the reader is a stub (`guided_stub`), so what is checked is what the code makes of a reply."""

from __future__ import annotations

from guided_stub import ask, first_line

# --- F2: "what time" asks for a time of day: a place or a date beside it is no answer ----------------------------

PLAN = (
    "Day 3 - Thu 4 May\n  Lunch booked at Casa Verde on the square, 13:15\n\n"
    "Day 4 - Fri 5 May\n  Harbour kayak trip, meeting point 08:45 at the pier\n"
)


def test_what_time_is_not_answered_by_a_place_or_a_date() -> None:
    assert first_line(ask(PLAN, "What time is the lunch booking?", "Casa Verde")) != "Casa Verde"
    assert first_line(ask(PLAN, "At what time is the kayak trip?", "5 May")) != "5 May"
    assert first_line(ask(PLAN, "What time is the kayak trip meeting point?", "Fri 5 May")) != "Fri 5 May"


def test_what_time_still_takes_a_clock_time() -> None:
    text = "The ferry to the island leaves the pier at 7 pm every Friday."
    assert first_line(ask(text, "What time does the ferry to the island leave?", "7 pm")) == "7 pm"
    text = "The gallery opens its doors at 10:30 on Sundays."
    assert first_line(ask(text, "What time does the gallery open on Sundays?", "10:30")) == "10:30"
