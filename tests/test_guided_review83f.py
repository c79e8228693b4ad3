"""Review 83c (v04, v05, v13-v17, v19): the offline guided root over kinds an adversarial review found. Every
text is made up; the reader is a stub (`guided_stub`), so what is checked is what the code makes of a reply."""

from __future__ import annotations

from guided_stub import ask, first_line

# --- v04: a mail's headers answer only when the body does not say who did it, or when -----------------------------

HEADERS = "From: Greta Holm <greta@example.net>\nTo: desk@example.net\nDate: Tue, 9 Sep 2025 14:02\n"


def test_the_body_naming_who_did_the_act_beats_the_from_header() -> None:
    mail = HEADERS + "Subject: Leak\n\nHello,\nMilo spotted the leak in the basement this morning.\nGreta\n"
    assert first_line(ask(mail, "Who reported the leak?")) != "Greta Holm"
    mail = HEADERS + "Subject: Parcel\n\nIvo posted the parcel on Friday.\n"
    assert first_line(ask(mail, "Who sent the parcel?")) != "Greta Holm"  # not a thing of the mail's
    mail = HEADERS + "Subject: Form\n\nPia submitted the form for us.\n"
    assert first_line(ask(mail, "Who submitted the report?")) != "Greta Holm"


def test_a_forwarded_mail_or_a_dated_body_is_not_dated_by_the_outer_header() -> None:
    inner = "-------- Original Message --------\nFrom: Rolf Arnt <rolf@example.net>\nDate: 2 Sep 2025\n"
    mail = HEADERS + "Subject: Fwd: problem\n\n" + inner + "\nThe pump is noisy.\n"
    assert first_line(ask(mail, "When was the problem reported?")) != "Tue, 9 Sep 2025 14:02"
    assert first_line(ask(mail, "Who reported the problem?")) != "Greta Holm"
    mail = HEADERS + "Subject: Letter\n\nThe letter went out to the landlord on 3 September.\n"
    assert first_line(ask(mail, "When was the letter sent?")) != "Tue, 9 Sep 2025 14:02"


def test_a_plain_mail_still_answers_from_its_headers() -> None:
    mail = HEADERS + "Subject: Heating\n\nThe heating in flat 4 makes a banging noise at night.\n"
    assert first_line(ask(mail, "Who reported the problem?")) == "Greta Holm"
    assert first_line(ask(mail, "When was the email sent?")) == "Tue, 9 Sep 2025 14:02"


# --- v05: a later sentence that undoes the state decides the yes/no, not the earlier one -------------------------


def test_a_later_undoing_sentence_leaves_no_yes() -> None:
    cases = [
        (
            "The order was shipped on Monday. The shipment was recalled on Tuesday and rolled back.",
            "Was the order shipped?",
        ),
        ("The table is reserved for eight. Scratch that, the restaurant called it off.", "Is the table reserved?"),
        ("The deposit was paid.\nNote from the bank: the deposit is unpaid after all.", "Was the deposit paid?"),
        ("The permit was granted in March. It was revoked in April.", "Was the permit granted?"),
    ]
    for text, question in cases:
        assert first_line(ask(text, question)) != "Yes", (text, question)


def test_a_plain_state_with_no_undoing_still_says_yes() -> None:
    assert first_line(ask("The permit was granted in March. Work starts in May.", "Was the permit granted?")) == "Yes"


# --- v17: "how long" asks for a duration: a count of another kind beside one is no answer ------------------------


def test_a_count_of_another_kind_is_no_duration() -> None:
    text = "The workshop runs 3 days and meets 4 times a day in hall B."
    assert first_line(ask(text, "How long does the workshop run?", "4 times a day")) != "4 times a day"
    text = "Simmer the sauce for 20 minutes with 3 cups of stock."
    assert first_line(ask(text, "How long do I simmer the sauce?", "3 cups")) != "3 cups"


def test_how_long_does_it_take_to_accepts_the_duration() -> None:
    text = "Simmer the sauce for 20 minutes with 3 cups of stock."
    assert first_line(ask(text, "How long does it take to simmer the sauce?", "20 minutes")) == "20 minutes"
    assert first_line(ask(text, "How long do I simmer the sauce?", "20 minutes")) == "20 minutes"


# --- v13: a degree answer is said of the asked act, not of another one beside it ---------------------------------


def test_another_acts_frequency_is_no_answer() -> None:
    text = "Sweep the yard every Sunday. Clean the gutters twice a year."
    assert first_line(ask(text, "How often should I sweep the yard?", "twice a year")) != "twice a year"
    assert first_line(ask(text, "How often should I clean the gutters?", "every Sunday")) != "every Sunday"
    assert first_line(ask(text, "How often should I clean the gutters?", "twice a year")) == "twice a year"


def test_a_pronoun_sentence_keeps_the_subject_of_the_one_before() -> None:
    text = "The choir was founded in 1990. It rehearses twice a week."
    assert first_line(ask(text, "How often does the choir rehearse?", "twice a week")) == "twice a week"


# --- v14: a name that holds the asked type word is no answer from a sentence about something else ----------------


def test_a_compound_name_of_another_sentence_is_no_answer() -> None:
    text = "The ParseWarning was silenced last week. The importer now throws EncodingWarning on old files."
    question = "What warning does the importer throw on old files?"
    assert first_line(ask(text, question, "ParseWarning")) != "ParseWarning"
    assert first_line(ask(text, question, "EncodingWarning")) == "EncodingWarning"


# --- v19: a day of the month written for another event is no answer when the asked one names the month bare -----


def test_a_dated_mention_of_another_event_is_no_answer() -> None:
    text = "The builders start on 4 August and finish in August."
    assert first_line(ask(text, "When do the builders finish?", "4 August")) != "4 August"
    text = "The deposit is due on 2 October. The keys are handed over at the end of October."
    assert first_line(ask(text, "When are the keys handed over?", "2 October")) != "2 October"


def test_the_day_of_the_asked_event_still_answers() -> None:
    text = "The builders start on 4 August and finish on 29 August."
    assert first_line(ask(text, "When do the builders finish?", "29 August")) == "29 August"
    assert first_line(ask(text, "When do the builders start?", "4 August")) == "4 August"


# --- v15: a column named with a synonym of the asked attribute holds it -----------------------------------------


def test_a_synonym_column_answers_the_attribute() -> None:
    books = "title,writer,year\nThe Salt Road,Mara Quill,2001\nNorthwind,Ede Tamm,1994\n"
    answer = ask(books, "Who is the author of Northwind?", "Ede Tamm", name="books.csv")
    assert first_line(answer) == "Ede Tamm"
    shops = "shop,town,opens\nBrightside Bakery,Kelso,07:00\nMill Lane Books,Hexham,09:30\n"
    answer = ask(shops, "What is the city of Mill Lane Books?", "Hexham", name="shops.csv")
    assert first_line(answer) == "Hexham"


def test_an_attribute_no_column_names_is_still_refused() -> None:
    books = "title,writer,year\nThe Salt Road,Mara Quill,2001\nNorthwind,Ede Tamm,1994\n"
    answer = ask(books, "Who is the publisher of Northwind?", "Ede Tamm", name="books.csv")
    assert first_line(answer) == "NOT FOUND"


# --- v16: a value of the asked type holds the type word the text does not write ----------------------------------


def test_a_phone_or_ip_value_holds_its_type_word() -> None:
    text = "Reception phone: 01632 960555\nRoom: 14\n"
    assert first_line(ask(text, "What is the reception phone number?", "01632 960555")) == "01632 960555"
    text = "Printer: 10.0.4.20\nScanner: 10.0.4.21\n"
    assert first_line(ask(text, "What is the printer IP?", "10.0.4.20")) == "10.0.4.20"
    assert first_line(ask(text, "What is the IP address of the scanner?", "10.0.4.21")) == "10.0.4.21"


def test_a_phone_holds_no_number_of_another_kind() -> None:
    text = "Reception phone: 01632 960555\nRoom: 14\n"
    assert first_line(ask(text, "What is the room number?", "01632 960555")) != "01632 960555"


def test_an_ended_state_leaves_no_yes() -> None:
    cases = [
        ("The lease was renewed in January. It was terminated in March.", "Was the lease renewed?"),
        ("The parcel was delivered on Friday. It was returned to the sender on Monday.", "Was the parcel delivered?"),
        ("The licence is valid. It expired last week.", "Is the licence valid?"),
    ]
    for text, question in cases:
        assert first_line(ask(text, question)) != "Yes", (text, question)
