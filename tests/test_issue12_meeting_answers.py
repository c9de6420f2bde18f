"""Issue 12: in a meeting, our very next turn answers a customer's wh-question when it is a statement."""

from __future__ import annotations

import pytest

from followthrough.types import Participant
from store.answer_rules import Promise, Request, find_answer
from store.fulfilment_rules import LaterText, sentences

OURS = {"northwind.io"}
DIRECTORY = {"priya shah": "priya@northwind.io"}
DANA = ("Dana Lee", "dana@acme.com")
SAM = ("Sam Ortiz", "sam@acme.com")
PRIYA = ("Priya Shah", None)
RETENTION = Request(
    action="Tell us the audit log retention period",
    quote="What is the audit log retention period?",
    owner="Priya Shah",
    owner_email="priya@northwind.io",
    asker="dana@acme.com",
)
ANSWER = "It's 400 days by default, configurable per workspace."


def _meeting(*turns: tuple[tuple[str, str | None], str]) -> LaterText:
    """The rest of a transcript after the request: ``((name, email), text)`` turns labelled ``Name: text``."""
    text, spans = "", []
    for (name, email), said in turns:
        text += f"{name}: "
        spans.append((len(text), len(text) + len(said), name, email))
        text += said + "\n"
    return LaterText("call", sentences(text, 0, spans))


def _ask(quote: str, action: str = "Tell us about it") -> Request:
    return Request(action, quote, "Priya Shah", "priya@northwind.io", "dana@acme.com")


@pytest.mark.parametrize(
    ("quote", "answer"),
    [
        (RETENTION.quote, ANSWER),
        ("When does the EU region go live?", "Early March, together with the new billing plans."),
        ("Where is the data hosted?", "Frankfurt and Dublin, on AWS."),
        ("Which plan includes SCIM?", "Enterprise and above."),
        ("Who handles onboarding on your side?", "Our customer success team, led by Jo."),
        ("How long does a migration usually take?", "About three weeks for an account your size."),
        ("How many seats come with the starter tier?", "Twenty-five, and extra ones are billed monthly."),
        ("How much does the premium support add-on cost?", "Fifteen percent of the annual contract."),
        ("How often are backups taken?", "Every six hours, kept for thirty days."),
        ("Okay. Can you tell us what the export format is?", "Parquet or CSV, your choice."),
    ],
)
def test_our_next_turn_stating_something_answers_a_wh_question(quote: str, answer: str) -> None:
    call = _meeting((PRIYA, answer))
    hit = find_answer(_ask(quote), [call], [], OURS, DIRECTORY)
    assert hit is not None and hit.message_id == "call" and hit.commitment_id is None
    assert hit.quote == answer
    assert call.sentences[0].start == hit.char_start


def test_the_retention_answer_closes_the_question_and_quotes_the_answer() -> None:
    call = _meeting((PRIYA, ANSWER), (DANA, "Great, that works for our auditors."))
    hit = find_answer(RETENTION, [call], [], OURS, DIRECTORY)
    assert hit is not None and hit.quote == ANSWER
    # the asker finishing their own turn first (no further question) keeps ours the next turn
    rest = _meeting((DANA, "We need it for our SOC 2 audit."), (PRIYA, ANSWER))
    assert find_answer(RETENTION, [rest], [], OURS, DIRECTORY) is not None


@pytest.mark.parametrize(
    "reply",
    [
        "Do you mean the admin audit log or the data access log?",  # a question back
        "Good question. Which workspace are you asking about?",  # a question back after an opener
        "Let me check and get back to you.",  # a deferral
        "I'm not sure off the top of my head.",  # a hedge
        "I'll find out after the call.",  # a promise nobody stored
        "It's 400 days by default. But let me double-check that with the team.",  # hedged at the end
        "It might be 400 days.",  # a hedge
    ],
)
def test_a_next_turn_that_is_not_a_plain_statement_leaves_the_question_open(reply: str) -> None:
    assert find_answer(RETENTION, [_meeting((PRIYA, reply))], [], OURS, DIRECTORY) is None


def test_a_stored_promise_in_the_next_turn_that_takes_it_on_still_answers_it() -> None:
    reply = "Let me check the audit log retention and get back to you."
    call = _meeting((PRIYA, reply))
    at = call.sentences[0].start
    promise = Promise(21, "call", at, "Check the audit log retention and get back to Dana", reply)
    hit = find_answer(RETENTION, [call], [promise], OURS, DIRECTORY)
    assert hit is not None and hit.commitment_id == 21


def test_only_our_very_next_turn_answers() -> None:
    # the customer speaks first
    customer_first = _meeting((SAM, "We also log to Splunk."), (PRIYA, ANSWER))
    assert find_answer(RETENTION, [customer_first], [], OURS, DIRECTORY) is None
    # the asker asks something else first: ours may answer that instead
    asked_again = _meeting((DANA, "And is it exportable?"), (PRIYA, ANSWER))
    assert find_answer(RETENTION, [asked_again], [], OURS, DIRECTORY) is None
    # the answer comes two turns later, after an unrelated turn of ours
    later = _meeting(
        (PRIYA, "Let me share my screen first."),
        (DANA, "Sure."),
        (PRIYA, ANSWER),
    )
    assert find_answer(RETENTION, [later], [], OURS, DIRECTORY) is None
    # the customer answering does not count
    assert find_answer(RETENTION, [_meeting((SAM, ANSWER))], [], OURS, DIRECTORY) is None


def test_an_email_reply_is_unchanged() -> None:
    """In email a turn is one message; the rule is for turns of one conversation (a meeting)."""
    asked = LaterText("m1", [], "Dana Lee", "dana@acme.com")  # the rest of the asker's email: nothing
    priya = Participant(name="Priya Shah", email="priya@northwind.io", role="sender", internal=True)
    reply = LaterText("m2", sentences(ANSWER), priya.name, priya.email)
    assert find_answer(RETENTION, [asked, reply], [], OURS, DIRECTORY) is None


def test_a_yes_no_question_keeps_its_rule() -> None:
    eligible = _ask("Is the audit log HIPAA eligible?", "Tell us if the audit log is HIPAA eligible")
    since = _meeting((PRIYA, "Since January, for all tiers."))
    assert find_answer(eligible, [since], [], OURS, DIRECTORY) is None
    assert find_answer(eligible, [_meeting((PRIYA, "Yes, since January."))], [], OURS, DIRECTORY) is not None
    # and a bare "yes" does not answer a wh-question
    assert find_answer(RETENTION, [_meeting((PRIYA, "Yes, talk soon."))], [], OURS, DIRECTORY) is None


@pytest.mark.parametrize(
    ("action", "quote", "reply"),
    [
        ("Send the deck", "Can you send the deck?", "Sure, it covers pricing."),
        (
            "Walk us through the audit log setup",
            "Could you walk us through how the audit log is set up?",
            "It is set up per workspace by an admin.",
        ),
        ("Meet on Tuesday", "How about we meet on Tuesday?", "Tuesday is a public holiday here."),
    ],
)
def test_a_request_to_do_something_or_a_proposal_is_not_answered_by_a_statement(
    action: str, quote: str, reply: str
) -> None:
    assert find_answer(_ask(quote, action), [_meeting((PRIYA, reply))], [], OURS, DIRECTORY) is None
