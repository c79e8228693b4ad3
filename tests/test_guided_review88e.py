"""Wrong answers given with confidence by the offline default's guided root (audit 88b, v01-v08): an old value of
a change, a former doer of a hand-over, a value a newer mail of a thread takes back, a comment above a config's
section, a number of another clause, and a date for "where"."""

from __future__ import annotations

import pytest

from guided_stub import ask, first_line

HEDGED = "No short answer could be verified."


def _not_answered(answer: str, wrong: str) -> bool:
    line = first_line(answer)
    return wrong.lower() not in line.lower() and (line.startswith(HEDGED) or line == "NOT FOUND")


# v01: a unit that states a change: the old value is never the answer


RELEASE = (
    "Roadmap\n\nThe beta of Quillmap is no longer planned for June 3. It was pushed from June 3 to June 17\n"
    "because the sync engine failed its load test. The docs site went live on May 20.\n"
)


def test_the_old_side_of_a_change_is_no_answer() -> None:
    reply = "Roadmap: The beta of Quillmap is no longer planned for June 3. It was pushed from June 3"
    assert _not_answered(ask(RELEASE, "When is the beta of Quillmap planned now?", reply), "June 3")


def test_the_new_side_of_a_change_answers() -> None:
    assert first_line(ask(RELEASE, "When is the beta of Quillmap planned now?", "June 17")) == "June 17"


def test_a_reading_that_holds_the_old_value_whole_is_no_answer() -> None:
    got = ask(RELEASE, "When is the beta of Quillmap planned now?", "It was pushed from June 3 to June 17")
    assert "June 3" not in first_line(got)


def test_a_question_for_the_former_value_may_have_it() -> None:
    got = ask(RELEASE, "When was the beta of Quillmap originally planned?", "June 3")
    assert first_line(got) == "June 3"


@pytest.mark.parametrize(
    ("text", "question", "old"),
    [
        (
            "Office\n\nThe team lunch was changed from Friday to Thursday after the holiday.\n",
            "When is the team lunch?",
            "Friday",
        ),
        ("Ops\n\nThe backups now go to the NAS instead of the tape drive.\n", "Where do the backups go?", "tape drive"),
        ("Prices\n\nThe yearly fee rose to 90 EUR, up from 75 EUR.\n", "What is the yearly fee?", "75 EUR"),
        ("Club\n\nThe trip is still on, but it is not on Sunday; it is on Saturday.\n", "When is the trip?", "Sunday"),
        (
            "Stack\n\nWe switched to Postgres. MySQL is no longer used by the app.\n",
            "Which database does the app use?",
            "MySQL",
        ),
    ],
)
def test_a_value_the_text_calls_old_or_denies_is_no_answer(text: str, question: str, old: str) -> None:
    assert _not_answered(ask(text, question, old), old)


def test_a_value_between_was_and_now_is_the_old_one() -> None:
    text = "Fees\n\nThe club fee was 45 EUR, now 50 EUR for everyone.\n"
    assert _not_answered(ask(text, "What is the club fee?", "45 EUR"), "45 EUR")
    assert first_line(ask(text, "What is the club fee?", "50 EUR")) == "50 EUR"
    text = "Talk\n\nThe talk is at 10, now in Room 5 of the Annex.\n"
    assert first_line(ask(text, "When is the talk?", "10")) == "10"


def test_a_range_is_no_change() -> None:
    text = "Shop\n\nThe shop on Elm Street opens from 9 to 5 on weekdays.\n"
    assert first_line(ask(text, "When does the shop on Elm Street open?", "9 to 5")) == "9 to 5"


# v05: a role hand-over: the name on the "from" side is not who does it now


@pytest.mark.parametrize(
    "sentence",
    [
        "Priya will chair the budget review from now on, taking over from Marek.",
        "Priya will chair the budget review in place of Marek.",
        "Priya will chair the budget review, replacing Marek.",
        "Marek is handing over to Priya, who will chair the budget review.",
    ],
)
def test_the_former_doer_of_a_hand_over_is_no_answer(sentence: str) -> None:
    text = f"Staffing\n\nWe hired two analysts. {sentence}\n"
    assert _not_answered(ask(text, "Who will chair the budget review?", "Marek"), "Marek")


def test_the_new_doer_of_a_hand_over_answers() -> None:
    text = (
        "Staffing\n\nWe hired two analysts. Priya will chair the budget review from now on, taking over from Marek.\n"
    )
    assert first_line(ask(text, "Who will chair the budget review?", "Priya")) == "Priya"


# v06, v07: an e-mail thread: a value of an older, quoted mail that a newer mail takes back is no answer

THREAD = """From: Ana Reyes <ana@example.org>
To: Tom Berg <tom@example.org>
Date: Tue, 5 Mar 2024 10:00:00 +0100
Subject: Re: Kitchen refit

Tom, fine by me. We go with the later slot.

Ana

On Mon, 4 Mar 2024 at 16:20, Tom Berg <tom@example.org> wrote:
> Hi Ana,
>
> The fitters can't start on 11 March anymore; their first free day is 18 March.
>
> Tom
>
> On Fri, 1 Mar 2024 at 09:00, Ana Reyes <ana@example.org> wrote:
>> Hi Tom,
>>
>> Plan for the refit:
>>
>> - Start date: 11 March
>> - Fitters: Holm & Sons
>>
>> Ana
"""


def test_a_quoted_value_a_newer_mail_calls_old_is_no_answer() -> None:
    assert _not_answered(ask(THREAD, "What is the start date?", "11 March"), "11 March")


def test_a_quoted_place_a_newer_mail_denies_is_no_answer() -> None:
    text = (
        "From: Jo Park <jo@example.org>\nTo: Choir <choir@example.org>\nDate: Wed, 3 Apr 2024 18:00:00 +0200\n"
        "Subject: Re: May rehearsal\n\nHi all, the new place: we rehearse at Hall Nord, not at the school.\n\nJo\n\n"
        "On Mon, 1 Apr 2024 at 09:00, Jo Park <jo@example.org> wrote:\n> Hi all,\n>\n> Our May rehearsal:\n>\n"
        "> - Place: the old school, room 4\n> - Time: 19:30\n>\n> Jo\n"
    )
    assert _not_answered(ask(text, "What is the place of the May rehearsal?", "the old school"), "school")


def test_a_quoted_value_no_newer_mail_takes_back_still_answers() -> None:
    kept = THREAD.replace("can't start on 11 March anymore; their first free day is 18 March", "are booked")
    assert first_line(ask(kept, "What is the start date?", "11 March")) == "11 March"


# v02, v03: a config's key in the section the question names answers, never a comment above it

COMPOSE = """# Dev stack for "harbor".
# The queue was moved from RabbitMQ to Redis in May; rabbitmq is no longer used.
services:
  app:
    image: harbor/app:2.3.1
    environment:
      LOG_LEVEL: debug
  queue:
    image: redis:7.2
    ports:
      - "6379:6379"
  db:
    image: postgres:16.1
    environment:
      LOG_LEVEL: warning
"""


@pytest.mark.parametrize("reply", ["RabbitMQ", "harbor"])
def test_the_key_of_the_named_section_answers(reply: str) -> None:
    got = ask(COMPOSE, "Which image does the queue service use?", reply, name="compose.yml")
    assert first_line(got) == "redis:7.2"


def test_a_nested_key_of_the_named_section_answers() -> None:
    got = ask(COMPOSE, "What is the log level of the db service?", "debug", name="compose.yml")
    assert first_line(got) == "warning"


def test_a_key_of_no_named_section_is_not_picked_by_its_section() -> None:
    got = ask(COMPOSE, "Which image is used?", "harbor", name="compose.yml")
    assert first_line(got) not in ("redis:7.2", "postgres:16.1", "harbor/app:2.3.1")


# v04: a number of the clause that names the question's words, not another number of the sentence


BUDGET = (
    "Budget\n\nThe travel budget was approved at $9,000. The hosting bill for March was $4,310, which is $610 over "
    "forecast; most of it came from a test cluster left running.\n"
)


def test_the_number_beside_the_questions_words_answers() -> None:
    assert first_line(ask(BUDGET, "What was the hosting bill for March?", "$4,310")) == "$4,310"


def test_a_number_of_another_clause_is_no_answer() -> None:
    got = ask(BUDGET, "What was the hosting bill for March?", "The hosting bill for March was $610.")
    assert _not_answered(got, "$610")


# v08: the answer's type: "where" takes a place, never a date or a time


def test_a_date_and_time_answers_no_where_question() -> None:
    text = (
        "Retreat\n\nThe retreat moved to Pine Hall after the flood.\nThe retreat is on 3 October and starts at 10:00.\n"
    )
    got = ask(text, "Where is the retreat?", "3 October and starts at 10:00")
    assert _not_answered(got, "October")


def test_a_place_with_a_time_still_answers_where() -> None:
    text = "Retreat\n\nThe retreat is in Room 4B at 10:00 on Friday.\n"
    assert first_line(ask(text, "Where is the retreat?", "Room 4B")) == "Room 4B"
