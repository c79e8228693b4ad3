"""Review 84 (kinds A, B, H, I): the offline guided root over kinds an adversarial review found. Every text is made
up; the reader is a stub (`guided_stub`), so what is checked is what the code makes of a reply."""

from __future__ import annotations

from guided_stub import ask, first_line

# --- A: a later sentence undoes a yes/no verdict only when it speaks of the same thing -----------------------------

LOG = (
    "2024-03-01 Order 77 placed online.\n2024-03-02 Paid the gas bill.\n2024-03-04 Gym class.\n"
    "2024-03-05 Car wash.\n2024-03-07 Dentist.\n2024-03-09 Order 77 cancelled by the shop.\n"
)


def test_an_undoing_line_anywhere_later_in_the_log_leaves_no_yes() -> None:
    assert first_line(ask(LOG, "Was order 77 placed?")) != "Yes"
    text = "The deposit was paid.\n\nSome notes.\n\nLater the bank reversed the deposit."
    assert first_line(ask(text, "Was the deposit paid?")) != "Yes"


def test_undoing_words_of_every_kind_leave_no_yes() -> None:
    cases = [
        ("The visa was granted in 2019. The embassy rescinded it a month later.", "Was the visa granted?"),
        ("The grant was approved in May. The approval was withdrawn in June.", "Was the grant approved?"),
        ("The booking was confirmed. The hotel voided the booking later.", "Was the booking confirmed?"),
        ("The cheque was issued on Monday. The bank recalled it on Wednesday.", "Was the cheque issued?"),
        ("The will was signed in 2010. In 2015 a judge declared it void.", "Was the will signed?"),
        ("Ann signed the contract in May. Sadly it was annulled in June.", "Did Ann sign the contract?"),
    ]
    for text, question in cases:
        assert first_line(ask(text, question)) != "Yes", (text, question)


def test_a_present_question_is_no_yes_over_a_state_that_ended() -> None:
    text = "The road was closed in March. The closure ended in April."
    assert first_line(ask(text, "Is the road closed?")) != "Yes"
    assert first_line(ask(text, "Was the road closed?")) == "Yes"  # it was, in March
    text = "The gym was open to members until June 2022."
    assert first_line(ask(text, "Is the gym open to members?")) != "Yes"
    assert first_line(ask("The car is insured until May 2030.", "Is the car insured?")) == "Yes"


def test_an_undo_of_another_thing_or_a_negated_undo_keeps_the_yes() -> None:
    cases = [
        ("The rent was paid. The landlord cancelled the gym membership.", "Was the rent paid?"),
        ("Invoice 1042 paid.\nInvoice 1043 cancelled.\n", "Was invoice 1042 paid?"),
        ("The payment was made on Friday. It was never reversed.", "Was the payment made?"),
        ("The server was restarted at noon. It was not rolled back.", "Was the server restarted?"),
        ("Ann signed the contract in May. Ben did not sign it.", "Did Ann sign the contract?"),
        ("The parcel arrived on time. The neighbour returned the ladder.", "Did the parcel arrive on time?"),
    ]
    for text, question in cases:
        assert first_line(ask(text, question)) == "Yes", (text, question)


# --- B: asked of the mail itself, its headers answer though the body sends or dates another thing -----------------

MAIL = "From: Olek Brandt <olek@example.org>\nTo: office@example.org\nDate: Mon, 3 Mar 2025 09:15\nSubject: Rent\n\n"


def test_the_mail_itself_is_dated_and_signed_by_its_headers() -> None:
    mail = MAIL + "Hello,\nI sent the rent on 28 February, so it should be with you.\nOlek\n"
    assert first_line(ask(mail, "When was the email sent?")) == "Mon, 3 Mar 2025 09:15"
    assert first_line(ask(mail, "When was this message sent?")) == "Mon, 3 Mar 2025 09:15"
    mail = MAIL + "Hi,\nThe courier posted the keys yesterday.\n"
    assert first_line(ask(mail, "Who sent the email?")) == "Olek Brandt"


def test_a_body_that_sends_the_mail_itself_still_decides() -> None:
    mail = MAIL + "This message was sent by Dana Kerr on behalf of Olek.\n"
    assert first_line(ask(mail, "Who sent the email?")) != "Olek Brandt"
    mail = MAIL + "The rent reminder was sent on 1 March.\n"
    assert first_line(ask(mail, "When was the reminder sent?")) != "Mon, 3 Mar 2025 09:15"


# --- H: a record's field says the question's verb; a how-often reply belongs to the asked act ----------------------

PEOPLE = "name,village,phone\nIda Moss,Ashby,01632 960001\nLeo Hart,Brill,01632 960002\n"


def test_a_place_field_answers_where_someone_lives() -> None:
    assert first_line(ask(PEOPLE, "Where does Leo live?", "Brill")) == "Brill"
    assert first_line(ask(PEOPLE, "Which village does Ida live in?", "Ashby")) == "Ashby"
    staff = "Name: Ida Moss\nEmployer: Kettle & Co\n\nName: Leo Hart\nEmployer: Brill Mills\n"
    assert first_line(ask(staff, "Where does Leo work?", "Brill Mills")) == "Brill Mills"


def test_a_field_of_another_kind_does_not_say_the_verb() -> None:
    assert first_line(ask(PEOPLE, "Where does Leo work?", "Brill")) != "Brill"
    staff = "name,employer\nIda Moss,Kettle & Co\n"
    assert first_line(ask(staff, "Where does Ida live?", "Kettle & Co")) != "Kettle & Co"


def test_a_pronoun_sentence_with_another_verb_says_no_frequency_of_the_asked_act() -> None:
    text = "The filter is cleaned monthly. It is replaced yearly."
    assert first_line(ask(text, "How often is the filter cleaned?", "yearly")) != "yearly"
    assert first_line(ask(text, "How often is the filter cleaned?", "monthly")) == "monthly"
    assert first_line(ask(text, "How often is the filter replaced?", "yearly")) == "yearly"


# --- I: a bare month after "by" is a deadline as likely as a doer -------------------------------------------------


def test_a_bare_month_after_by_names_no_doer() -> None:
    text = "The survey was sent out by August. Replies are due in autumn."
    assert first_line(ask(text, "Who sent out the survey?", "August")) != "August"
    assert first_line(ask("The logo was designed by April.", "Who designed the logo?", "April")) != "April"


def test_a_month_name_with_a_surname_after_by_is_a_doer() -> None:
    text = "The logo was designed by April Moss."
    assert first_line(ask(text, "Who designed the logo?", "April Moss")) == "April Moss"
