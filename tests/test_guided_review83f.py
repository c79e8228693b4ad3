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
