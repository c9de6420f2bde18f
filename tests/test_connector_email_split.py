"""The quote / signature splitter on real plain-text bodies (mail-parser-reply samples)."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.mail import html_to_text, split_reply

BODIES = "email-bodies-mail-parser-reply"

# file: (must be in text, must not be in text, must be in signature)
CASES: dict[str, tuple[list[str], list[str], list[str]]] = {
    "email_1_1.txt": (
        ["What is the best way to clear a Riak bucket"],
        ["riak-users mailing list"],
        ["-Abhishek"],
    ),
    "email_1_3.txt": (
        ["Oh thanks.", "Having the function would be great."],
        ["Russell Brown wrote", "You can list the keys", "-Abhishek Kona"],
        ["-Abhishek Kona"],
    ),
    "email_1_4.txt": (["Awesome! I haven't had another problem"], ["defunkt", "Loader seems"], []),
    "email_1_5.txt": (["This is the fourth bullet point", "It goes on and on"], [], []),
    "email_1_6.txt": (
        ["I get proper rendering as well."],
        ["Corey Donohoe", "caching related"],
        ["Sent from"],
    ),
    "email_1_7.txt": ([":+1:"], ["Chris Wanstrath", "Steps 0-2"], []),
    "email_1_8.txt": (
        ["I will reply under this one", "and under this."],
        ["okay.  Well, here's some stuff", "Tim Haines", "After you reply"],
        ["Hey there, this is my signature"],
    ),
    "email_2_1.txt": (["Outlook with a reply"], ["Google Apps Sync Team", "Dear Google Apps Sync user"], []),
    "email_2_2.txt": (["Outlook with a reply directly above line"], ["CRM Comments", "new comment"], []),
    "email_2_3.txt": (["Outlook with a reply above headers"], ["Kim via Site", "Ei tale aliquam"], []),
    "email_3_1.txt": (
        ["First reply.", "This is fairly common"],
        ["second test reply", "Fourth reply", "Fifth reply", "schrieb"],
        [],
    ),
    "email_bullets.txt": (
        ["- how about bullets", "retain this formatting"],
        ["Give us an example"],
        ["Joe Smith"],
    ),
    "email_danish_1.txt": (["Tak for din mail."], ["Hvordan går det", "skrev"], ["Med venlig hilsen"]),
    "email_danish_2.txt": (["Jeg har modtaget filerne."], ["Her er filerne", "Fra:"], ["Hilsen"]),
    "email_danish_3.txt": (["Svar."], ["Oprindelig besked", "skrev"], []),
    "email_danish_4.txt": (["Svar."], ["Oprindelig meddelelse", "Peter Petersen"], []),
    "email_danish_5.txt": (["Svar."], ["Kh"], ["Kh\nPeter"]),
    "email_gmail.txt": (["This is a test for inbox replying"], ["Steven Scott", "That way people"], []),
    "email_headers_no_delimiter.txt": (
        ["And another reply!"],
        ["Dan Watson", "A reply", "This is a message."],
        [],
    ),
    "email_ja_1_2.txt": (["お世話になっております。織田です。"], ["かしこまりました", "田中太郎"], []),
    "email_nl_1_2.txt": (["Outlook met een antwoord"], ["Google Apps Sync Team", "Beste Google"], []),
    "email_one_is_not_on.txt": (
        ["One outstanding question I had:", "when I run..."],
        ["Dave Tapley", "much better query"],
        [],
    ),
    "email_partial_quote_header.txt": (["telnet 127.0.0.1 52698"], ["George Plymale", "odd issue"], []),
    "email_pl_1_2.txt": (["Jak się masz?"], ["Dnia 28 lutego", "Wszystko w porządku"], ["Pozdrawiam,\nJan"]),
    "email_pl_1_3.txt": (["Cześć Anno,"], ["Z powazaniem"], ["Z powazaniem,\nJan"]),
    "email_sent_from_iPhone.txt": (
        ["Here is another email"],
        ["Sent from my iPhone"],
        ["Sent from my iPhone"],
    ),
    "email_sent_from_BlackBerry.txt": (
        ["Here is another email"],
        ["BlackBerry"],
        ["Sent from my BlackBerry"],
    ),
    "email_sent_from_multi_word_mobile_device.txt": (["Here is another email"], ["Verizon"], ["Verizon"]),
    "email_sent_from_not_signature.txt": (
        ["Sent from my desk, is much easier than my mobile phone."],
        [],
        [],
    ),
    "email_sig_delimiter_in_middle_of_line.txt": (
        ["And here is a fix -- this is not a signature.", "kthxbai"],
        [],
        [],
    ),
    "email_sv_anon_1.txt": (["Berättar gärna."], ["Ursäkta mitt sena svar", "Jag har försökt"], ["Mvh,"]),
    "email_swedish_1.txt": (["Ursäkta mitt sena svar!"], ["Jag har försökt"], ["Mvh,"]),
    "email_swedish_2.txt": (["I have a contract till end of the year"], ["Hej John", "/John"], ["/John"]),
    "begins_with_signature.txt": (
        ["Thank you, Sonya Johnson.", "hope you can join."],
        ["10.30 AM pacific is good for me", "Duplicate Jira", "Christopher Edwards"],
        ["Regards,"],
    ),
    "correct_sig.txt": (["this is an email with a correct -- signature."], ["rick"], ["rick"]),
    "greedy_on.txt": (["On your remote host you can run:", "the tunnel is not working."], ["odd issue"], []),
    "multi_header.txt": (["I’ll just start a new order."], ["Unfortunately", "replacement order"], []),
    "outlook.txt": (
        ["What is the best way to clear a Riak bucket"],
        ["Get Outlook"],
        ["Get Outlook for iOS"],
    ),
    "pathological.txt": (["I will try to fix the problem"], ["John Sullivan", "reference sequence"], []),
}


def _body(samples: Path, name: str) -> str:
    return (samples / BODIES / name).read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(CASES))
def test_split_mail_parser_reply_bodies(samples: Path, name: str) -> None:
    parts = split_reply(_body(samples, name))
    must, must_not, in_sig = CASES[name]
    for s in must:
        assert s in parts.text, f"{s!r} missing from the new text"
    for s in must_not:
        assert s not in parts.text, f"{s!r} leaked into the new text"
    for s in in_sig:
        assert s in parts.signature, f"{s!r} not in the signature"


def test_every_body_splits_without_quote_lines(samples: Path) -> None:
    files = sorted((samples / BODIES).glob("*.txt"))
    assert len(files) >= 40
    for path in files:
        parts = split_reply(path.read_text(encoding="utf-8"))
        assert not any(line.lstrip().startswith(">") for line in parts.text.splitlines()), path.name
        # nothing is lost: every non-blank line is in exactly one of the three parts
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                assert line.strip() in parts.text + parts.signature + parts.quoted, (path.name, line)


def test_reply_is_text_plus_signature() -> None:
    parts = split_reply("Sounds good.\r\n\r\nThanks,\r\nDana Lee\r\nAcme Corp\r\n")
    assert parts.text == "Sounds good."
    assert parts.signature == "Thanks,\nDana Lee\nAcme Corp"
    assert parts.reply == "Sounds good.\n\nThanks,\nDana Lee\nAcme Corp"
    assert parts.quoted == ""


@pytest.mark.parametrize(
    "attribution",
    [
        "On Mon, Mar 9, 2026 at 10:00 AM Dana Lee <dana@acme.com> wrote:",
        "On Mon, Mar 9, 2026 at 10:00 AM Dana Lee <\ndana@acme.com> wrote:",
        "Am Mo., 9. März 2026 um 10:00 Uhr schrieb Dana Lee <dana@acme.com>:",
        "Le lun. 9 mars 2026 à 10:00, Dana Lee <dana@acme.com> a écrit :",
        "El lun, 9 mar 2026 a las 10:00, Dana Lee (<dana@acme.com>) escribió:",
        "Op ma 9 mrt 2026 om 10:00 schreef Dana Lee <dana@acme.com>:",
        "Il giorno lun 9 mar 2026 alle ore 10:00 Dana Lee <dana@acme.com> ha scritto:",
        "Em seg., 9 de mar. de 2026 às 10:00, Dana Lee <dana@acme.com> escreveu:",
        "W dniu 9.03.2026 o 10:00, Dana Lee pisze:",
        "Den 9. mar. 2026 kl. 10.00 skrev Dana Lee <dana@acme.com>:",
        "2026年3月9日(月) 10:00 Dana Lee <dana@acme.com>:",
        "9 марта 2026 г., в 10:00, Dana Lee <dana@acme.com> написал(а):",
        "Dana Lee wrote:",
    ],
)
def test_attribution_variants(attribution: str) -> None:
    quote = "> Can you send the SOC 2 report?\n> Dana\n"
    body = f"I'll send the SOC 2 report by Friday.\n\n{attribution}\n\n{quote}"
    parts = split_reply(body)
    assert "Can you send" not in parts.text
    assert parts.text == "I'll send the SOC 2 report by Friday."


def test_outlook_header_block_and_original_message() -> None:
    body = (
        "Confirmed, we will ship on Monday.\n\n"
        "-----Original Message-----\n"
        "From: Dana Lee [mailto:dana@acme.com]\n"
        "Sent: Monday, March 9, 2026 10:00 AM\n"
        "To: Marco Rossi\n"
        "Subject: shipping\n\n"
        "When will you ship?\n"
    )
    parts = split_reply(body)
    assert parts.text == "Confirmed, we will ship on Monday."
    assert "When will you ship?" in parts.quoted


def test_forwarded_block_is_quoted() -> None:
    body = (
        "FYI, see below.\n\n"
        "---------- Forwarded message ---------\n"
        "From: Dana Lee <dana@acme.com>\n"
        "Date: Mon, Mar 9, 2026 at 10:00 AM\n"
        "Subject: pricing\n\n"
        "Please send the revised pricing.\n"
    )
    parts = split_reply(body)
    assert parts.text == "FYI, see below."
    assert "revised pricing" in parts.quoted


def test_inline_answers_after_quotes_are_kept() -> None:
    body = (
        "On Mon, Mar 9, 2026 at 10:00 AM Dana Lee <dana@acme.com> wrote:\n"
        "> Can you send the SOC 2 report?\n"
        "Yes, I'll send it by Friday.\n"
        "> And the pricing?\n"
        "I will send the revised pricing next week.\n"
        "\n"
        "Marco\n"
    )
    parts = split_reply(body)
    assert "Yes, I'll send it by Friday." in parts.text
    assert "I will send the revised pricing next week." in parts.text
    assert "SOC 2 report?" not in parts.text and "And the pricing?" not in parts.text


def test_no_signature_on_genuine_closing_sentences() -> None:
    body = "Hi Dana,\n\nThanks for the call.\nI will send the contract tomorrow.\n"
    assert split_reply(body).text == body.strip()


def test_html_blockquote_becomes_quote_lines() -> None:
    html = (
        "<html><head><style>p {color: red}</style></head><body>"
        "<div>I&#39;ll send the deck&nbsp;today.</div><br>"
        '<div class="gmail_quote">On Mon, Mar 9, 2026 at 10:00 AM Dana &lt;dana@acme.com&gt; wrote:<br>'
        "<blockquote>Can you send the deck?<br>Thanks</blockquote></div></body></html>"
    )
    text = html_to_text(html)
    assert "color: red" not in text
    assert "> Can you send the deck?" in text
    assert split_reply(text).text == "I'll send the deck today."


@pytest.mark.parametrize(
    "closing",
    [
        "Thanks,\nDana",
        "Best regards,\nDana Lee\nVP Data | Acme Corp\n+1 (212) 555-0198",
        "Viele Grüße / best regards,\nZoë\n\nZoë Müller\nChief Data Officer, Umbrella Health",
        "Cheers, Martin.",
        "Med venlig hilsen\nAnders Andersen",
        "Cordialement,\nClaire",
        "-- \nDana Lee\nhttps://acme.com",
        "Sent from my iPhone",
        "Envoyé de mon iPhone",
    ],
)
def test_sign_off_blocks(closing: str) -> None:
    body = f"Hi Marco,\n\nI'll review the BAA by Friday.\n\n{closing}\n"
    parts = split_reply(body)
    assert parts.text == "Hi Marco,\n\nI'll review the BAA by Friday."
    assert parts.signature == closing.strip()


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    "body",
    [
        "Thanks,\n" * 100_000,
        "On Mon, 9 Mar 2026, Dana wrote:\nhello\n" * 25_000,
        "Text\nFrom: a\nSent: b\nTo: c\nSubject: d\n\nbody\n" * 20_000,
        ("> quoted line here\n" * 50 + "answer\n") * 1_000,
        "x" * 1_000_000,
    ],
    ids=["sign-offs", "attributions", "header-blocks", "interleaved", "one-long-line"],
)
def test_pathological_bodies_stay_linear(body: str) -> None:
    parts = split_reply(body)
    assert "> quoted" not in parts.text
    assert len(parts.text) + len(parts.signature) <= len(body)


@pytest.mark.parametrize(
    "tail",
    [
        "Thanks,\nDana\n\nP.S. I'll send the deck tomorrow.",
        "Best,\nMarco\nWe will confirm the SSO setup on Monday.",
        "Regards,\nPriya\nPlease send the signed order form.",
    ],
)
def test_promises_after_a_sign_off_stay_in_the_text(tail: str) -> None:
    parts = split_reply(f"Hi all,\n\nNotes from today below.\n\n{tail}\n")
    assert tail.splitlines()[-1] in parts.text


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<p>I will send it.</p><![x > hello", "I will send it.\n\n<![x > hello"),  # the parser raised
        ("<p>Hi</p><![ if x]>there", "Hi\n\n<![ if x]>there"),
        ("<p>Send it</p><a href='x' <b>now", "Send it\n\n<a href='x' now"),
        ("<p>Send it</p><!-- never closed <p>Friday</p>", "Send it\n\n<!-- never closed\nFriday"),
        ("<!--[if gte mso 9]><xml><o:a>1</o:a></xml><![endif]--><p>Hi <b>Dana</b></p>", "Hi Dana"),
        ("<![if !supportLists]>1.<![endif]> Send the deck", "1. Send the deck"),
        ("<!-- old <b>x</b> -- ><p>new</p>", "new"),
        ("<p>a < b and c > d</p>", "a < b and c > d"),
    ],
    ids=[
        "unknown-marked-section",
        "marked-section-with-space",
        "unterminated-tag",
        "unterminated-comment",
        "outlook-conditional-comment",
        "outlook-marked-sections",
        "comment-holding-tags",
        "lone-brackets",
    ],
)
def test_markup_that_never_ends_is_text(html: str, text: str) -> None:
    """What the parser would never see end (or would raise on) is read as text, as a browser shows it;
    the markup mail really carries (Outlook's conditional comments and sections) is read as before."""
    assert html_to_text(html) == text
