"""A small WebVTT cue parser for meeting transcripts.

Why not ``webvtt-py``: we need four things from a file — that it is WebVTT,
its cues' start times and payloads, its ``NOTE`` blocks, and who speaks —
and the speaker part (Zoom's ``Name: text`` payloads) is ours to write either
way. The cue syntax is simple (blocks separated by blank lines; an optional
identifier; a ``-->`` timing line; payload lines), so ~100 lines here avoid a
dependency, read a file in one pass, and tolerate what real exports do
(CRLF, a BOM, missing cue numbers, stray blank-line runs).

Speakers come from, in order:

* voice tags ``<v Name>text</v>`` (Teams; also ``<v.loud Name>``), one cue may
  hold several;
* a ``Name: text`` payload (Zoom cloud transcripts) — used only when most
  cues of the file have one, so a caption that says "Note: ..." in an
  otherwise speakerless file is not a speaker;
* nothing (closed captions): speaker ``None``.

Other tags (``<c>``, ``<i>``, ``<00:00:01.000>``…) are dropped and character
references (``&amp;``) decoded.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

_TIMING = re.compile(r"^\s*(?P<start>(?:\d+:)?\d{1,2}:\d{2}[.,]\d{1,3})\s*-->\s*(?P<end>\S+)")
_VOICE = re.compile(r"<v(?:\.[^\s>]*)?(?:\s+(?P<name>[^>]*))?>")
_TAG = re.compile(r"<[^>]*>")
_NAME_PREFIX = re.compile(r"^(?P<name>[^:<>\n]{1,60}?):\s+(?P<text>\S.*)$", re.DOTALL)
_SPACES = re.compile(r"\s+")


class NotWebVTT(ValueError):
    """The text does not start with the ``WEBVTT`` signature."""


@dataclass
class Utterance:
    """One cue (or one voice span of a cue): start time, speaker, and clean text."""

    start: str
    speaker: str | None
    text: str


@dataclass
class Transcript:
    cues: list[Utterance]
    notes: list[str]


def parse_vtt(text: str) -> Transcript:
    """Parse WebVTT ``text`` into utterances with speakers.

    Line ends may be ``\\n``, ``\\r\\n`` or ``\\r``. As in the WebVTT spec, only a truly empty
    line ends a block: a line of spaces inside a cue is part of its payload (and
    dropped as empty text). A ``-->`` line where payload is expected starts the
    next cue (the spec's rule), so exports that separate cues with lines of
    spaces still parse; a line right before it that follows a line of spaces is
    that cue's identifier.
    """
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    if not re.match(r"WEBVTT(?:[ \t\n]|$)", text):
        raise NotWebVTT("not a WebVTT file")
    notes: list[str] = []
    raw_cues: list[tuple[str, str]] = []  # (start, payload with tags)
    for n, block in enumerate(_blocks(text)):
        lines = [line for line in block if line.strip()]
        if not lines:
            continue
        head = lines[0].lstrip()
        if n == 0 and head.startswith("WEBVTT"):
            continue  # the header
        if head.startswith("NOTE") and (len(head) == 4 or head[4] in " \t"):
            notes.append("\n".join(lines)[4:].strip())
            continue
        if head.startswith(("STYLE", "REGION")) and "-->" not in head:
            continue
        idx = next((k for k, line in enumerate(lines[:2]) if "-->" in line), None)
        if idx is None:
            continue
        timing = _TIMING.match(lines[idx])
        start = timing.group("start").replace(",", ".") if timing else ""
        raw_cues.append((start, "\n".join(lines[idx + 1 :])))
    return Transcript(cues=_speakers(raw_cues), notes=notes)


def _blocks(text: str) -> list[list[str]]:
    """The file's blocks: runs of lines between truly empty lines, each cut again before a stray ``-->``."""
    out: list[list[str]] = []
    for n, chunk in enumerate(re.split(r"\n{2,}", text)):
        lines = chunk.split("\n")
        start = 0
        timed = n == 0  # the header takes no timing line: a "-->" in it starts the first cue
        for k, line in enumerate(lines):
            if "-->" not in line:
                continue
            if not timed and sum(1 for x in lines[start:k] if x.strip()) <= 1:
                timed = True  # this block's own timing line, after an optional identifier
                continue
            cut = k
            prev_blank = k - 2 < start or not lines[k - 2].strip()
            if k - 1 > start and lines[k - 1].strip() and prev_blank:
                cut = k - 1  # an identifier, after a line of spaces (or right after the header line)
            out.append(lines[start:cut])
            start, timed = cut, True
        out.append(lines[start:])
    return out


def _clean(payload: str) -> str:
    return _SPACES.sub(" ", html.unescape(_TAG.sub("", payload))).strip()


def _speakers(raw_cues: list[tuple[str, str]]) -> list[Utterance]:
    prefixed = 0
    for _, payload in raw_cues:
        if not _VOICE.search(payload) and _is_name_prefix(_clean(payload)):
            prefixed += 1
    use_prefix = bool(raw_cues) and prefixed * 2 > len(raw_cues)

    out: list[Utterance] = []
    for start, payload in raw_cues:
        voices = list(_VOICE.finditer(payload))
        if voices:
            lead = _clean(payload[: voices[0].start()])
            if lead:
                out.append(Utterance(start, None, lead))
            for k, v in enumerate(voices):
                stop = voices[k + 1].start() if k + 1 < len(voices) else len(payload)
                said = _clean(payload[v.end() : stop])
                name = _SPACES.sub(" ", html.unescape(v.group("name") or "")).strip() or None
                if said:
                    out.append(Utterance(start, name, said))
            continue
        said = _clean(payload)
        if not said:
            continue
        m = _NAME_PREFIX.match(said) if use_prefix else None
        if m and _is_name_prefix(said):
            out.append(Utterance(start, m.group("name").strip(), m.group("text").strip()))
        else:
            out.append(Utterance(start, None, said))
    return out


def _is_name_prefix(said: str) -> bool:
    m = _NAME_PREFIX.match(said)
    if m is None:
        return False
    name = m.group("name").strip()
    return bool(name) and len(name.split()) <= 6 and not name[-1].isdigit() and "." not in name[-1:]


__all__ = ["NotWebVTT", "Transcript", "Utterance", "parse_vtt"]
