"""Counts and superlatives of the guided root over a text's own entries (audits 85 v04/v07, 85b v07/v08)."""

from __future__ import annotations

from guided_stub import ask, first_line
from rlmx.documents.structured import visible_text

ORG = """Acme Ltd - team chart

Director: Ruth Hale
  Lead: Ivo Brandt
    Tester: Noor Aziz
    Tester: Kai Moss
    Tester: Lena Park
  Designer: Tom Eriksen
"""


def test_a_label_on_several_lines_is_one_list() -> None:
    got = ask(ORG, "How many testers are there?")
    assert first_line(got) == "3"
    assert "Kai Moss" in got


def test_a_label_repeated_on_lines_of_prose_gives_no_count() -> None:
    text = "Notes\nTester: Noor Aziz\nTester: the one who joined the team in the spring last year\n"
    assert not first_line(ask(text, "How many testers are there?")).isdigit()


def test_people_of_a_chart_are_its_role_lines_names() -> None:
    got = ask(ORG, "How many people are on the chart?")
    assert first_line(got) == "6"


def test_a_chart_with_a_line_of_prose_gives_no_people_count() -> None:
    text = ORG + "  Note: the designer post is shared with the sister company this year\n"
    assert first_line(ask(text, "How many people are on the chart?")) != "6"


HELP = """# Lantern Library - Help

## Can I renew a loan online?
Yes, from your account page.

## How long is a loan?
Three weeks.

## Do you charge late fees?
No.
"""


def test_questions_of_a_faq_are_its_question_headings() -> None:
    assert first_line(ask(HELP, "How many questions are answered on this page?")) == "3"
    q_items = "Help\n\nQ: Is it free?\nA: Yes.\n\nQ: Is it open late?\nA: Until 9pm.\n"
    assert first_line(ask(q_items, "How many questions are in the FAQ?")) == "2"


BREAD = """Soda bread

Ingredients
- 500 g flour
- 1 tsp soda
- 400 ml buttermilk

Directions
1. Mix the dry things.
2. Stir in the buttermilk.
3. Shape and bake for 40 minutes.
4. Cool on a rack.
"""


def test_steps_are_the_numbered_items_under_the_method_title() -> None:
    assert first_line(ask(BREAD, "How many steps are in the directions?")) == "4"
    assert first_line(ask(BREAD, "How many steps are there?")) == "4"


def test_items_of_an_html_list_under_a_heading() -> None:
    page = "<h2>Speakers</h2>\n<ul>\n  <li>Ada Park</li>\n  <li>Ben Ode</li>\n</ul>\n<p>Doors at 7.</p>\n"
    assert first_line(ask(page, "How many speakers are in the speakers?")) == "2"
    assert first_line(ask(page, "How many talks are in the speakers?")) == "2"


def test_rows_of_a_tab_table_under_comments() -> None:
    rows = "\n".join(f"{chr(65 + k)}{chr(66 + k)}\tPlace {chr(65 + k)}x" for k in range(5))
    text = f"# Codes of places\n# see below\n#code\tname\n{rows}\n"
    got = ask(text, "How many rows are in the table?")
    assert first_line(got) == "5"
    assert first_line(ask(text, "How many place codes are in the table?")) == "5"


def test_a_header_that_cannot_be_told_from_the_rows_gives_no_row_count() -> None:
    text = "# places\nAB\tAlder\nBC\tBirch\nCD\tCedar\n"
    assert first_line(ask(text, "How many place codes are in the table?")) not in {"2", "3"}


def test_an_html_page_keeps_its_list_bullets() -> None:
    page = "<h2>Acts</h2><ul><li>Ada Park</li><li>Ben Ode</li></ul><h2>Tickets</h2><p>Free.</p><ol><li>a<li>b</ol>"
    shown = visible_text(page).splitlines()
    assert shown == ["Acts", "- Ada Park", "- Ben Ode", "Tickets", "Free.", "1. a", "2. b"]
    assert first_line(ask(visible_text(page), "How many acts are in the line-up?")) != "2"
    assert first_line(ask(visible_text(page), "How many acts are there?")) == "2"


def test_a_header_block_is_no_chart_of_people() -> None:
    mail = "From: Ann Lee\nTo: Bob Ray\nCc: Cleo Dunn\nSubject: Lunch Plans\n"
    assert first_line(ask(mail, "How many people are there?")) != "4"


LOG = """Boiler service record

2021-02-10  Annual service, Heatwise Ltd. Cost £95.
2022-02-14  Annual service and new valve, Heatwise Ltd. Cost £180.
2023-03-01  Annual service, Heatwise Ltd. Cost £99.
"""


def test_the_most_expensive_line_of_a_log_by_its_money_amount() -> None:
    assert first_line(ask(LOG, "What was the most expensive visit?")).startswith("2022-02-14")
    assert first_line(ask(LOG, "What was the cheapest visit?")).startswith("2021-02-10")


def test_the_largest_item_of_a_percentage_list() -> None:
    text = (
        "Course\n\n## Assessment\n- Essay: 35%\n- Exam: 50%\n- Quiz: 15%\n\n## Weeks\nWeek 1: intro\nWeek 9: review\n"
    )
    assert first_line(ask(text, "Which part of the assessment is the largest?")).startswith("Exam")


def test_a_tie_or_a_line_with_two_prices_gives_no_superlative() -> None:
    tie = LOG.replace("£180", "£99")
    assert not first_line(ask(tie, "What was the most expensive visit?")).startswith("20")
    two = LOG.replace("Cost £180.", "Cost £180 (quoted £150).")
    assert "£" not in first_line(ask(two, "What was the most expensive visit?"))
