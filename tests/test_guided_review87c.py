"""Yes/no, values, clocks and fields of the guided root (review 87 v01-v04, v15, v17, v18): a rate's period asked
as an adjective, a value set by a passive verb, bullets that settle yes/no, crontab and setting questions, dotted
a.m./p.m., a form field's whole value and a header history entry of another definition."""

from __future__ import annotations

import pytest

from guided_stub import ask, first_line

HEDGE = "No short answer could be verified"

# v15: a rate's period, said as an adjective or as "per"/"a"/"/" and its noun, is the same period


@pytest.mark.parametrize(
    ("text", "question", "value"),
    [
        ("Lease summary. Our flat costs £720 per month, paid on the 1st.", "What is the monthly cost?", "£720"),
        ("The cottage is let at a rate of £480 a week in summer.", "What is the weekly rate?", "£480"),
        ("Pay: €41,500 per annum plus pension.", "What is the yearly pay?", "€41,500"),
        ("Daily fee: $12\nLate fee: $5\n", "What is the fee per day?", "$12"),
        ("Flat in Partick. Rent: £610/mo, bills extra.", "What is the monthly rent?", "£610"),
        ("Tickets cost £2.10 per ride, with a cap of £6.40 per day.", "What is the daily cap?", "£6.40"),
    ],
)
def test_a_rates_period_as_adjective_or_per_noun_is_one_period(text: str, question: str, value: str) -> None:
    assert first_line(ask(text, question, value)) == value


def test_the_amount_of_another_period_is_no_answer() -> None:
    text = "Storage unit price: £55 per week, or £2,600 per year if paid up front."
    assert first_line(ask(text, "What is the yearly price of the storage unit?", "£55")).startswith(HEDGE)
    assert first_line(ask(text, "What is the yearly price of the storage unit?", "£2,600")) == "£2,600"
    assert first_line(ask("Storage unit price: £2,600 per year.", "What is the monthly price?", "£2,600")) != "£2,600"


# v01: a value a change sets ("was cut to", "was fixed at", "rose to") is the value now; only words that mark a
# value no longer true ("previously", "used to be") make it a former one


@pytest.mark.parametrize(
    ("text", "question", "verdict"),
    [
        ("The storage quota was doubled to 200 GB in March.", "Is the storage quota above 150 GB?", "Yes"),
        ("Membership was cut to 15 EUR a year.", "Is membership under 20 EUR a year?", "Yes"),
        ("The deposit was fixed at 800 EUR last spring.", "Is the deposit more than 900 EUR?", "No"),
        ("The bus fare rose to 3 EUR last month.", "Is the bus fare over 2 EUR?", "Yes"),
    ],
)
def test_a_value_a_change_sets_is_the_value_now(text: str, question: str, verdict: str) -> None:
    assert first_line(ask(text, question)) == verdict


def test_a_value_marked_no_longer_true_is_still_former() -> None:
    for text in ("The deposit was previously fixed at 800 EUR.", "The deposit used to be set at 800 EUR."):
        assert first_line(ask(text, "Is the deposit more than 900 EUR?")).startswith(HEDGE)


# v04: a clock keeps the a.m./p.m. the text writes after it, dotted or not


@pytest.mark.parametrize(
    ("text", "question", "reply", "clock"),
    [
        ("The ferry sails at 10:15 p.m. from pier 2.", "What time does the ferry sail?", "10:15 p.m.", "10:15 p.m."),
        ("Surgery opens at 7.30 a.m. on weekdays.", "What time does surgery open?", "7.30 a.m.", "7.30 a.m."),
        ("Karaoke starts at 9 P.M. on Fridays.", "What time does karaoke start?", "9 P.M.", "9 P.M."),
        ("The ferry sails at 10:15 p.m. from pier 2.", "What time does the ferry sail?", "10:15", "10:15 p.m."),
    ],
)
def test_a_clock_keeps_its_dotted_meridiem(text: str, question: str, reply: str, clock: str) -> None:
    assert first_line(ask(text, question, reply)) == clock


def test_the_other_events_dotted_clock_is_still_refused() -> None:
    text = "Doors open at 6 p.m. and the quiz begins at 7 p.m."
    assert first_line(ask(text, "What time does the quiz begin?", "6 p.m.")).startswith(HEDGE)


# v02: a bullet item settles a yes/no question that asks whether a thing is let in or there, in a file of bullets
# alone too; an item names the thing itself or its doer ("No smokers" for smoking), and may welcome it


@pytest.mark.parametrize(
    ("text", "question", "verdict"),
    [
        ("Room\n\n- Ensuite\n- No smokers\n", "Are smokers allowed?", "No"),
        ("Room\n\n- Ensuite\n- No smokers\n", "Is the room ensuite?", "Yes"),
        ("Studio near the park, quiet street.\n\n- No smokers\n- Cats welcome\n", "Is smoking allowed?", "No"),
        ("Studio near the park, quiet street.\n\n- No smokers\n- Cats welcome\n", "Are cats allowed?", "Yes"),
        ("Studio near the park, quiet street.\n\n- Bike storage\n- No parking\n", "Is parking available?", "No"),
        ("Studio near the park, quiet street.\n\n- Bills included\n- No parking\n", "Are bills included?", "Yes"),
    ],
)
def test_a_bullet_item_settles_whether_a_thing_is_allowed(text: str, question: str, verdict: str) -> None:
    assert first_line(ask(text, question, verdict)) == verdict


def test_a_bullet_welcoming_another_thing_settles_nothing() -> None:
    text = "Studio near the park, quiet street.\n\n- No smokers\n- Cats welcome\n"
    assert first_line(ask(text, "Are dogs allowed?", "Yes")) != "Yes"


# v03: a crontab count may name the jobs' state after the noun; an environment variable's flag is named after its
# namespace ("APP_DEBUG" says debug)

_CRONTAB = (
    "MAILTO=admin@example.org\n"
    "# nightly dump\n"
    "15 1 * * * /opt/bin/dump.sh\n"
    "#0 4 * * 6 /opt/bin/rotate.sh\n"
    "*/5 * * * * /opt/bin/ping.sh\n"
    "#30 2 1 * * /opt/bin/prune.sh\n"
)


@pytest.mark.parametrize(
    ("question", "count"),
    [
        ("How many jobs are enabled?", "2"),
        ("How many cron jobs are currently active?", "2"),
        ("How many entries are commented out?", "2"),
        ("How many jobs are disabled in the crontab?", "2"),
    ],
)
def test_a_crontab_count_with_the_state_after_the_noun(question: str, count: str) -> None:
    assert first_line(ask(_CRONTAB, question)) == count


@pytest.mark.parametrize(
    ("text", "question", "verdict"),
    [
        ("SITE_MAINTENANCE=true\nSITE_NAME=shop\n", "Is maintenance enabled?", "Yes"),
        ("WEB_CACHE=off\nWEB_PORT=8080\n", "Is cache on?", "No"),
        ("CACHE=on\nWEB_CACHE=off\n", "Is cache on?", "Yes"),
    ],
)
def test_an_environment_flag_after_its_namespace(text: str, question: str, verdict: str) -> None:
    assert first_line(ask(text, question)) == verdict


# v17: a reply naming someone else is no answer because the unit's own value shares one of its words


@pytest.mark.parametrize(
    ("reply", "question"),
    [("Tomas Berg", "What is the full name?"), ("Tomas Berg", "What is the patient's name?")],
)
def test_another_persons_name_is_not_cut_to_a_shared_word(reply: str, question: str) -> None:
    form = (
        "Registration\nFull name: Ida Berg\nDate of birth: 12/02/1985\n"
        "Next of kin name: Tomas Berg\nNext of kin phone: 0161 555\n"
    )
    assert first_line(ask(form, question, reply)) != "Berg"


def test_a_name_the_unit_writes_whole_still_answers() -> None:
    form = "Registration\nFull name: Ida Berg\nDate of birth: 12/02/1985\nNext of kin name: Tomas Berg\n"
    assert first_line(ask(form, "What is the full name?", "Ida Berg")) == "Ida Berg"


# v18: in a header's dated history, a "when" question is the date of the entry that names what it asks

_HISTORY = '''"""Geometry helpers.

Changelog:
  2017-11-20  Ola Nord: added area().
  2018-06-02  Lea Frost: added perimeter(); area() takes floats.
"""

def area(w, h):
    return w * h

def perimeter(w, h):
    return 2 * (w + h)
'''


def test_another_entrys_date_is_no_answer() -> None:
    assert first_line(ask(_HISTORY, "When was perimeter() added?", "2017-11-20")).startswith(HEDGE)
    assert first_line(ask(_HISTORY, "When was perimeter() added?", "2018-06-02")) == "2018-06-02"
    assert first_line(ask(_HISTORY, "When was area() added?", "2017-11-20")) == "2017-11-20"
