"""From the model's wire items to :class:`ExtractedItem`: ground, confirm, flag, resolve, merge.

For each item the model returned (with the chunk it came from):

* ground: its evidence is aligned to the document text within that chunk
  (exact / normalized / fuzzy / none, :class:`~extractor.grounding.Aligner`);
  a quote the text does not hold is dropped, or kept flagged ``ungrounded``
  (:class:`~extractor.llm_settings.Grounding`), and counted once;
* merge: the same type with overlapping evidence (overlapping chunks repeat
  items) is kept once;
* confirm: evidence or an action that reads as an instruction to the model
  (:mod:`extractor.injection`) is flagged ``instruction`` and ``unconfirmed``;
  otherwise the offline detector must read the evidence as that act
  (:meth:`~extractor.offline.OfflineExtractor.reading`) or it is flagged
  ``unconfirmed`` (a person confirms it);
* resolve: owner and counterparty to participants' emails (an unnamed request
  in an email to one person is that person's), ``owner_not_participant`` and
  ``customer_promise`` flags, the due phrase to a date relative to
  ``occurred_at``.

The counters on the :class:`~extractor.base.ExtractionResult` (``ungrounded``,
``unconfirmed``, ``instruction_like``) are added to as items are built.
"""

from __future__ import annotations

from collections.abc import Mapping

from extractor.base import ExtractionResult
from extractor.chunking import Chunk
from extractor.due_dates import normalize_due
from extractor.grounding import Aligner
from extractor.injection import instruction_cues
from extractor.llm_settings import Grounding
from extractor.offline import OfflineExtractor
from extractor.offline.extractor import Reading
from extractor.people import Directory, Person
from extractor.wire import WireItem
from followthrough.types import AlignmentStatus, ExtractedItem, ItemFlag, SourceDocument

__all__ = ["CONFIDENCE_BY_ALIGNMENT", "DUPLICATE_OVERLAP", "ItemBuilder"]

CONFIDENCE_BY_ALIGNMENT = {AlignmentStatus.EXACT: 0.8, AlignmentStatus.FUZZY: 0.7}
"""An item's confidence by how its evidence was found (0.0 when it was not)."""
DUPLICATE_OVERLAP = 0.5
"""Two items of one type are the same when their evidence overlaps this much of the shorter span."""


class ItemBuilder:
    """Turns one document's wire items into extracted items (stateless between documents)."""

    def __init__(
        self, *, grounding: Grounding, confirmer: OfflineExtractor, directory: Mapping[str, str]
    ) -> None:
        self.grounding = grounding
        self.confirmer = confirmer
        self.world = Directory(None, directory)

    def build(
        self, doc: SourceDocument, replies: list[tuple[WireItem, Chunk]], result: ExtractionResult
    ) -> list[ExtractedItem]:
        """The items of ``doc`` from ``replies`` (each wire item with its chunk), in reply order."""
        aligner = Aligner(doc.text, threshold=self.grounding.fuzzy_threshold)
        people = self.world.people(doc)
        today = doc.occurred_at.date()
        items: list[ExtractedItem] = []
        seen_spans: list[tuple[str, int, int]] = []
        seen_quotes: set[tuple[str, str]] = set()
        reading: Reading | None = None  # the detector's reading of the document, made when first needed
        for wire, chunk in replies:
            evidence = aligner.evidence(wire.evidence, within=(chunk.start, chunk.end))
            flags: list[ItemFlag] = []
            if evidence.char_start is None or evidence.char_end is None:
                key = (wire.type, " ".join(wire.evidence.lower().split()))
                if key in seen_quotes:
                    continue
                seen_quotes.add(key)
                result.ungrounded += 1
                if not self.grounding.keep_ungrounded:
                    continue
                flags.append(ItemFlag.UNGROUNDED)
            else:
                if _duplicate(seen_spans, wire.type, evidence.char_start, evidence.char_end):
                    continue
                seen_spans.append((wire.type, evidence.char_start, evidence.char_end))
            if instruction_cues(evidence.quote) or instruction_cues(wire.action):
                # an instruction to the model, whoever obeyed it
                flags += [ItemFlag.INSTRUCTION, ItemFlag.UNCONFIRMED]
                result.instruction_like += 1
                result.unconfirmed += 1
            elif evidence.char_start is not None and evidence.char_end is not None:
                if reading is None:
                    reading = self.confirmer.reading(doc)
                if not reading.confirms(wire.type, evidence.char_start, evidence.char_end, evidence.quote):
                    # the detector does not read it as that act: a person decides
                    flags.append(ItemFlag.UNCONFIRMED)
                    result.unconfirmed += 1
            offset = evidence.char_start
            if wire.type == "request" and wire.owner is None:
                owner = people.addressee()  # "could you ...?" in an email to one person: that person
            else:
                owner = people.resolve(wire.owner, offset=offset, default_author=wire.type == "commitment")
            if owner.outsider:
                flags.append(ItemFlag.OWNER_NOT_PARTICIPANT)
            if wire.type == "commitment" and self._said_by_customer(doc, owner, offset):
                flags.append(
                    ItemFlag.CUSTOMER_PROMISE
                )  # theirs to keep, not ours: stored waiting, never open
            counterparty = people.resolve(wire.counterparty, offset=offset, default_author=False)
            due, due_text = normalize_due(wire.due, today, evidence=evidence.quote)
            items.append(
                ExtractedItem(
                    type=wire.type,
                    owner=owner.label,
                    owner_email=owner.email,
                    counterparty=counterparty.label,
                    counterparty_email=counterparty.email,
                    action=wire.action,
                    due=due,
                    due_text=due_text,
                    evidence=evidence,
                    confidence=CONFIDENCE_BY_ALIGNMENT.get(evidence.alignment, 0.0),
                    flags=flags,
                )
            )
        return items

    def _said_by_customer(self, doc: SourceDocument, owner: Person, offset: int | None) -> bool:
        """Whether a promise is the customer's own: its owner, or else its speaker, is on their side.

        The direction the offline detector gives its own items (:meth:`OfflineExtractor.owner_side`),
        with what the detector knows (company domains, the CRM directory, who of ours is in a meeting):
        a customer saying "we will refund you", or a transcript speaker the CRM knows as a customer's
        contact, promises something to us; it must never become one of our open commitments.
        """
        people = self.confirmer.world.people(doc)
        return self.confirmer.owner_side(doc, people, owner, people.author_at(offset).participant) is False


def _duplicate(seen: list[tuple[str, int, int]], kind: str, start: int, end: int) -> bool:
    """Same type and overlapping evidence for at least :data:`DUPLICATE_OVERLAP` of the shorter span."""
    for k, a, b in seen:
        if k != kind:
            continue
        overlap = min(b, end) - max(a, start)
        if overlap > 0 and overlap >= DUPLICATE_OVERLAP * min(b - a, end - start):
            return True
    return False
