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
]


def test_normalize_ignores_case_punctuation_and_spacing() -> None:
    assert (
        normalize("  The   MIGRATION locked\nthe “orders” table! ") == "the migration locked the orders table"
    )
    assert normalize("I'd split it") == normalize("Id split it")


@pytest.mark.parametrize(
    ("quote", "cited", "found_in", "cited_correctly"),
    [
        ("the migration locked the orders table", 1, 1, True),
        ("THE MIGRATION LOCKED THE “ORDERS” TABLE", 1, 1, True),
        ("add the column first ... then add the index", 3, 3, True),
        ("back-fill in batches", 1, 3, False),
    ],
)
def test_quotes_the_candidate_said_are_located(
    quote: str, cited: int, found_in: int, cited_correctly: bool
) -> None:
    located = EvidenceChecker(SEGMENTS).locate(quote, cited)
    assert located is not None
    assert located.segment == found_in
    assert located.cited_correctly is cited_correctly


@pytest.mark.parametrize(
    ("quote", "cited"),
    [
        ("we don't retry on Fridays", 2),  # the interviewer said it, not the candidate
        ("the migration locked the users table", 1),
        ("then add the index ... add the column first", 3),  # elided parts out of order
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
