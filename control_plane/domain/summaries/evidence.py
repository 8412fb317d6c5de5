"""Checks that a quote the model offers as evidence was really said by the candidate.

Comparison ignores case, punctuation and spacing; an elision ("..." or "…") may join parts that appear
in order in one segment. The quote must be in a candidate segment: the one cited, or failing that any
other candidate segment (then the citation is corrected). Anything else is not evidence."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from control_plane.domain.summaries.transcript import Segment

_APOSTROPHES = re.compile("['`\u2018\u2019]")
_NOT_WORD = re.compile(r"[\W_]+")
_ELISION = re.compile(r"\.\.\.+|…")


def normalize(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(_NOT_WORD.sub(" ", _APOSTROPHES.sub("", folded)).split())


@dataclass(frozen=True, slots=True)
class LocatedQuote:
    segment: int
    quote: str
    # False when the model cited another segment than the one the words are in.
    cited_correctly: bool


def _parts(quote: str) -> list[str]:
    return [p for p in (normalize(part) for part in _ELISION.split(quote)) if p]


def _contains_in_order(haystack: str, parts: Sequence[str]) -> bool:
    # Pad with spaces so parts match whole words only ("age" is not in "manage").
    padded = f" {haystack} "
    position = 0
    for part in parts:
        found = padded.find(f" {part} ", position)
        if found < 0:
            return False
        position = found + len(part) + 1
    return True


class EvidenceChecker:
    def __init__(self, segments: Sequence[Segment]) -> None:
        self._candidate = [s for s in segments if s.is_candidate]
        self._normalized = {s.seq: normalize(s.text) for s in self._candidate}

    def locate(self, quote: str, cited_segment: int) -> LocatedQuote | None:
        """Where the candidate said `quote`, preferring the cited segment; None if they never did."""
        parts = _parts(quote)
        if not parts:
            return None
        cited = self._normalized.get(cited_segment)
        if cited is not None and _contains_in_order(cited, parts):
            return LocatedQuote(segment=cited_segment, quote=quote.strip(), cited_correctly=True)
        for segment in self._candidate:
            if segment.seq != cited_segment and _contains_in_order(self._normalized[segment.seq], parts):
                return LocatedQuote(segment=segment.seq, quote=quote.strip(), cited_correctly=False)
        return None
