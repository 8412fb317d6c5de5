"""Quote checking and transcript chunking, on plain data."""

from __future__ import annotations

import pytest

from control_plane.domain.summaries.evidence import EvidenceChecker, normalize
from control_plane.domain.summaries.transcript import Segment, chunk_segments, estimate_tokens, format_segment

SEGMENTS = [
    Segment(0, "agent", "Why did the deploy fail?", 0, 1000),
    Segment(1, "candidate", "Honestly? The migration locked the “orders” table for ten minutes.", 1000, 4000),
    Segment(2, "agent", "We don't retry on Fridays.", 4000, 5000),
    Segment(
        3,
        "candidate",
        "So I'd split it: add the column first, back-fill in batches, then add the index.",
        5000,
        9000,
    ),
    Segment(
        4, "candidate", "I would never store passwords in plain text, I hash them with bcrypt.", 9000, 12000
    ),
    Segment(5, "candidate", "I was, um... thinking about a read replica.", 12000, 15000),
]


def test_normalize_ignores_case_punctuation_and_spacing() -> None:
    assert (
        normalize("  The   MIGRATION locked\nthe “orders” table! ") == "the migration locked the orders table"
    )
    assert normalize("I'd split it") == normalize("Id split it")
    assert normalize("caf\u00e9 \u2026 ok...") == normalize("CAFE\u0301 ok") == "caf\u00e9 ok"


@pytest.mark.parametrize(
    ("quote", "cited", "found_in", "stored", "cited_correctly"),
    [
        ("the migration locked the orders table", 1, 1, "The migration locked the “orders” table", True),
        ("THE MIGRATION LOCKED THE ORDERS TABLE!", 1, 1, "The migration locked the “orders” table", True),
        ("back fill in batches", 1, 3, "back-fill in batches", False),
        ("id split it", 3, 3, "I'd split it", True),
        # An ellipsis that only opens or closes the quote drops nothing inside the stretch.
        ("... then add the index.", 3, 3, "then add the index", True),
        ("Honestly… the migration", 1, 1, "Honestly? The migration", True),
        # The candidate's own hesitation, copied as said: the words are adjacent in the transcript.
        ("um... thinking about a read replica", 5, 5, "um... thinking about a read replica", True),
        ("um thinking about", 5, 5, "um... thinking about", True),
    ],
)
def test_quotes_the_candidate_said_are_stored_as_the_transcript_has_them(
    quote: str, cited: int, found_in: int, stored: str, cited_correctly: bool
) -> None:
    located = EvidenceChecker(SEGMENTS).locate(quote, cited)
    assert located is not None
    assert located.segment == found_in
    assert located.quote == stored
    assert located.cited_correctly is cited_correctly
    assert stored in next(s.text for s in SEGMENTS if s.seq == found_in)


def test_a_repeated_phrase_is_taken_from_the_cited_segment() -> None:
    segments = [
        Segment(1, "candidate", "Use an INDEX.", 0, 1),
        Segment(2, "candidate", "Then: use an index!", 1, 2),
    ]
    located = EvidenceChecker(segments).locate("use an index", 2)
    assert located is not None
    assert (located.segment, located.quote, located.cited_correctly) == (2, "use an index", True)


@pytest.mark.parametrize(
    ("quote", "cited"),
    [
        ("we don't retry on Fridays", 2),  # the interviewer said it, not the candidate
        ("the migration locked the users table", 1),
        ("then add the index ... add the column first", 3),  # elided parts out of order
        # Fragments joined by an ellipsis are not one stretch, even in order: this one inverts the meaning.
        ("I would ... store passwords in plain text", 4),
        ("I would … store passwords in plain text", 4),
        ("I would...store passwords in plain text", 4),
        ("add the column first ... then add the index", 3),
        ("store passwords ... with bcrypt", 4),
        ("lock", 1),  # not a whole word of the segment
        ("...", 1),
        ("", 3),
    ],
)
def test_quotes_the_candidate_did_not_say_are_rejected(quote: str, cited: int) -> None:
    assert EvidenceChecker(SEGMENTS).locate(quote, cited) is None


def test_chunks_keep_order_and_fit_the_budget() -> None:
    segments = [Segment(i, "candidate", f"answer number {i} " * 10, i, i + 1) for i in range(50)]
    budget = 200
    chunks = chunk_segments(segments, budget)
    assert len(chunks) > 1
    assert [s.seq for chunk in chunks for s in chunk] == list(range(50))
    for chunk in chunks:
        assert sum(estimate_tokens(format_segment(s)) + 1 for s in chunk) <= budget


def test_a_segment_longer_than_the_budget_gets_a_chunk_of_its_own() -> None:
    long = Segment(1, "candidate", "word " * 1000, 0, 1)
    chunks = chunk_segments([SEGMENTS[0], long, SEGMENTS[3]], 100)
    assert [[s.seq for s in chunk] for chunk in chunks] == [[0], [1], [3]]
