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


# --- C: a mail's body that speaks of another mail leaves the headers' sender and date -------------------------

NOTE = (
    "From: Rita Olsen <rita@example.net>\nTo: Sam Berg <sam@example.net>\nDate: Tue, 8 Apr 2025 14:02:11 +0200\n"
    "Subject: Quote\n\nHi Sam,\n\n{body}\n\nRegards,\nRita\n"
)


def test_a_body_about_another_mail_leaves_the_headers() -> None:
    for body in (
        "As the mail Jonas sent on 2 April says, the quote holds.",
        "Your email of 3 April was sent on to the board.",
        "The message from Jonas was sent too late for the meeting.",
    ):
        text = NOTE.format(body=body)
        assert first_line(ask(text, "Who sent the email?")) == "Rita Olsen", body
        assert first_line(ask(text, "When was the email sent?")).startswith("Tue, 8 Apr 2025"), body


def test_a_body_about_this_mail_or_a_forward_still_hedges() -> None:
    text = NOTE.format(body="This email was sent on behalf of Jonas Dahl, our chair.")
    assert first_line(ask(text, "Who sent the email?")) != "Rita Olsen"
    text = NOTE.format(body="I am forwarding a message Jonas sent me on Monday.")
    assert first_line(ask(text, "Who sent the message?")) != "Rita Olsen"


# --- E: labelled lists: people added in brackets or by a relation; an open end with a note ------------------------


def test_a_bracketed_plus_and_a_relation_add_people() -> None:
    assert first_line(ask("Present: Lina, Omar (+2)", "How many people were present?")) == "4"
    assert first_line(ask("Attendees: Lina + wife, Omar", "How many attendees were there?")) == "3"
    assert first_line(ask("Attendees: Lina, Omar (plus one)", "How many attendees were there?")) == "3"


def test_an_open_end_with_a_note_gives_no_count() -> None:
    for text in ("Guests: Lina, Omar, and others TBC", "Guests: Lina, Omar, others (to be confirmed)"):
        assert first_line(ask(text, "How many guests are there?")) not in ("2", "3"), text


# --- F: flags in YAML/INI: a key of two words; a flag set in two sections ----------------------------------------


def test_a_flag_key_of_two_words_answers() -> None:
    yaml = "name: harbour\nmaintenance_mode: false\nport: 9000\n"
    assert first_line(ask(yaml, "Is maintenance mode enabled?")) == "No"
    ini = "; settings\n[editor]\nfont = mono\nsafe_mode = on\n"
    assert first_line(ask(ini, "Is safe mode enabled?")) == "Yes"


def test_a_flag_set_in_two_sections_answers_per_section() -> None:
    text = "prod:\n  verbose: no\nstaging:\n  verbose: yes\n"
    got = ask(text, "Is verbose mode enabled?")
    assert first_line(got) == "prod: No; staging: Yes"
    assert "line 2" in got and "line 4" in got


# --- G: amounts with a currency sign: a refund before the sign; the currencies are no column of the file --------


def test_a_refund_with_its_minus_before_the_sign_is_subtracted() -> None:
    for sign in ("€", "$", "£"):
        text = f"what,cost\nFerry,{sign}120\nRefund,-{sign}20\nLunch,{sign}30\n"
        assert first_line(ask(text, "How much did I spend in total?")) == "130", sign


def test_a_sum_per_currency_names_no_column_the_file_lacks() -> None:
    got = ask("what,cost\nFerry,120 NOK\nLunch,30 EUR\nBus,15 NOK\n", "How much did I spend in total?")
    assert first_line(got) == "135 NOK, 30 EUR"
    assert "column 3" not in got


def test_an_empty_cell_is_no_second_currency() -> None:
    got = ask("what,cost\nFerry,$120\nLunch,\nBus,$15\n", "How much did I spend in total?")
    assert first_line(got).startswith("135")
    assert "per currency" not in got


def test_a_flag_key_that_writes_enable_answers() -> None:
    assert first_line(ask("enable_night_mode: true\nport: 80\n", "Is night mode enabled?")) == "Yes"
    assert first_line(ask("night_mode_enabled = false\nport = 80\n", "Is night mode enabled?")) == "No"


def test_a_dollar_with_its_country_is_a_currency() -> None:
    text = "what,cost\nFerry,US$120\nRefund,-US$20\nLunch,US$30\n"
    assert first_line(ask(text, "How much did I spend in total?")) == "130"
