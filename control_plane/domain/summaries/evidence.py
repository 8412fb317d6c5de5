"""Checks that a quote the model offers as evidence was really said by the candidate.

Comparison ignores case, punctuation and spacing, but the quote must match one contiguous stretch of
whole words in one candidate segment: the one cited, or failing that any other candidate segment (then
the citation is corrected). What is kept is that stretch as the transcript has it, never the model's
wording. Anything else is not evidence."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from control_plane.domain.summaries.transcript import Segment

_APOSTROPHES = re.compile("['`\u2018\u2019]")
_WORD_CHAR = re.compile(r"[^\W_]")


@dataclass(frozen=True, slots=True)
class _Folded:
    """Normalized text, and for each of its characters the span of the original text it came from."""

    text: str
    spans: tuple[tuple[int, int], ...]


def _units(text: str) -> Iterator[tuple[int, int]]:
    # A base character with its combining marks, so NFKC can still compose a decomposed "é" and the
    # folded text matches whether the transcript or the quote was stored composed.
    start = 0
    for i in range(1, len(text) + 1):
        if i == len(text) or not unicodedata.category(text[i]).startswith("M"):
            yield start, i
            start = i


def _fold(text: str) -> _Folded:
    chars: list[str] = []
    spans: list[tuple[int, int]] = []
    gap = False
    for start, end in _units(text):
        for char in unicodedata.normalize("NFKC", text[start:end]).casefold():
            if _APOSTROPHES.match(char):
                continue  # "I'd" and "Id" are the same words to a transcriber
            if not _WORD_CHAR.match(char):
                gap = True
                continue
            if gap and chars:
                chars.append(" ")
                spans.append((start, start))
            gap = False
            chars.append(char)
            spans.append((start, end))
    return _Folded("".join(chars), tuple(spans))


def normalize(text: str) -> str:
    """Lower-case words separated by single spaces; punctuation, "..." and "…" are only separators."""
    return _fold(text).text


@dataclass(frozen=True, slots=True)
class LocatedQuote:
    segment: int
    # The transcript's own text for the matched stretch, not the model's spelling of it.
    quote: str
    # False when the model cited another segment than the one the words are in.
    cited_correctly: bool


def _find(haystack: _Folded, needle: str) -> tuple[int, int] | None:
    """Original-text span of the first whole-word occurrence of the normalized `needle`."""
    # Pad with spaces so the needle matches whole words only ("age" is not in "manage").
    found = f" {haystack.text} ".find(f" {needle} ")
    if found < 0:
        return None
    # `found` is the padding space's index in the padded text, so the needle's first index in the unpadded.
    return haystack.spans[found][0], haystack.spans[found + len(needle) - 1][1]


class EvidenceChecker:
    def __init__(self, segments: Sequence[Segment]) -> None:
        self._candidate = [s for s in segments if s.is_candidate]
        self._folded = {s.seq: _fold(s.text) for s in self._candidate}

    def locate(self, quote: str, cited_segment: int) -> LocatedQuote | None:
        """Where the candidate said `quote`, preferring the cited segment; None if they never did.

        An ellipsis is punctuation like any other, so the words on both sides must be adjacent in the
        transcript: "I would ... store passwords" is not found in "I would never store passwords", since
        joining fragments can invert what was said. An ellipsis that drops nothing (the candidate's own
        hesitation, or one that only opens or closes the quote) is harmless: the stretch is one the
        candidate said, and we store the transcript's text for it."""
        needle = normalize(quote)
        if not needle:
            return None
        ordered = sorted(self._candidate, key=lambda s: s.seq != cited_segment)
        for segment in ordered:
            span = _find(self._folded[segment.seq], needle)
            if span is not None:
                return LocatedQuote(
                    segment=segment.seq,
                    quote=segment.text[span[0] : span[1]],
                    cited_correctly=segment.seq == cited_segment,
                )
        return None
