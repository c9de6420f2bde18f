"""A corpus of inputs that carry values a database refuses, generated at test time (no committed binaries).

Each entry writes one file into a folder and says what a user must see: either one error line naming
that file (``fails=True``: the value cannot be stored without changing what the document is), or the
document stored with the value repaired (``fails=False``). ``python -m tests.badinputs DIR`` writes the
corpus into ``DIR``, each entry beside :data:`GOOD_EML`, for trying by hand.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

GOOD_EML = """\
From: Priya Shah <priya@ourco.com>
To: Dana Lee <dana@customer.com>
Subject: Pilot
Date: Mon, 16 Mar 2026 10:00:00 +0000
Message-ID: <good-1@ourco.com>

Hi Dana,

I'll send you the security questionnaire by Friday.

Priya
"""
GOOD_ACTION = "security questionnaire"


def _eml(*, date: str = "Tue, 17 Mar 2026 10:00:00 +0000", message_id: str = "<bad-1@ourco.com>",
         sender: str = "Priya Shah <priya@ourco.com>", body: str = "I'll send the pricing sheet tomorrow.\n",
         subject: str = "Pricing") -> bytes:  # fmt: skip
    head = (
        f"From: {sender}\nTo: Dana Lee <dana@customer.com>\nSubject: {subject}\nDate: {date}\n"
        f"Message-ID: {message_id}\nContent-Type: text/plain; charset=utf-8\n\n"
    )
    return head.encode() + body.encode("utf-8", "surrogatepass")


@dataclass(frozen=True)
class Entry:
    name: str
    """The file written (its name is what the error line must show)."""
    write: Callable[[Path], None]
    fails: bool
    """True: one error line names the file; False: stored, the bad value repaired."""


def _file(name: str, data: bytes) -> Callable[[Path], None]:
    def write(folder: Path) -> None:
        (folder / name).write_bytes(data)

    return write


CRM_HEAD = "deal_id,deal_name,account_name,stage,amount,close_date,owner_email,account_domain\n"

ENTRIES: tuple[Entry, ...] = (
    Entry("year-9999.eml", _file("year-9999.eml", _eml(date="Fri, 31 Dec 9999 23:59:59 -1200")), True),
    Entry("year-1.eml", _file("year-1.eml", _eml(date="Mon, 01 Jan 0001 00:00:00 +1400")), False),
    Entry(
        "long-message-id.eml",
        _file("long-message-id.eml", _eml(message_id="<" + "x" * 3000 + "@ourco.com>")),
        True,
    ),
    Entry(
        "nul-in-body.eml",
        _file("nul-in-body.eml", _eml(body="I'll send the pricing\x00 sheet tomorrow.\n")),
        False,
    ),
    Entry(
        "long-sender-name.eml",
        _file("long-sender-name.eml", _eml(sender="P" * 500 + " <priya@ourco.com>")),
        False,
    ),
    Entry(
        "long-subject.eml",
        _file("long-subject.eml", _eml(subject="S" * 20_000)),
        False,
    ),
    Entry(
        "crm-huge-amount.csv",
        _file(
            "crm-huge-amount.csv",
            (
                CRM_HEAD + "D-1,Pilot,Customer Inc,Proposal,1e400,2026-06-30,priya@ourco.com,customer.com\n"
            ).encode(),
        ),
        True,
    ),
    Entry(
        "crm-long-account.csv",
        _file(
            "crm-long-account.csv",
            (CRM_HEAD + f"D-2,Pilot,{'A' * 400},Proposal,1000,2026-06-30,priya@ourco.com,a.com\n").encode(),
        ),
        True,
    ),
)


def write_corpus(folder: Path) -> list[Path]:
    """One folder per entry under ``folder``, each holding the entry and :data:`GOOD_EML`."""
    made = []
    for entry in ENTRIES:
        d = folder / entry.name.replace(".", "-")
        d.mkdir(parents=True, exist_ok=True)
        (d / "good.eml").write_text(GOOD_EML)
        entry.write(d)
        made.append(d)
    return made


if __name__ == "__main__":
    for path in write_corpus(Path(sys.argv[1] if len(sys.argv) > 1 else "badinputs")):
        print(path)
