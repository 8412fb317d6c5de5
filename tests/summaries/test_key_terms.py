"""The offline summary's key terms are the transcript's own words, spelt as the candidate's turns spell
them: never a rewrite, never a word only the interviewer said."""

from __future__ import annotations

from control_plane.domain.summaries.offline_summary import build_offline_summary
from control_plane.domain.summaries.transcript import InterviewTranscript, Segment

TURNS = [
    ("agent", "How would you make the payment endpoint safe to retry?"),
    ("candidate", "I'd make it idempotent: PostgreSQL stores each request key."),
    ("agent", "And under load?"),
    ("candidate", "PostgreSQL with read replicas, and Redis for the idempotent keys. PostgreSQL again."),
    ("candidate", "The backend (in Python) stays stateless."),
]


def transcript() -> InterviewTranscript:
    segments = [
        Segment(seq=i, speaker=speaker, text=text, start_ms=i * 1000, end_ms=i * 1000 + 900)
        for i, (speaker, text) in enumerate(TURNS)
    ]
    return InterviewTranscript(
        role_title="Backend Engineer", seniority="senior", topics=["databases"], segments=segments
    )


def test_key_terms_are_candidate_words_in_the_transcripts_spelling() -> None:
    terms = build_offline_summary(transcript())["key_terms"]
    by_term = {t["term"]: t["count"] for t in terms}
    assert by_term["PostgreSQL"] == 3
    assert by_term["idempotent"] == 2
    assert {"Redis", "backend", "Python"} <= set(by_term)
    candidate_text = " ".join(text for speaker, text in TURNS if speaker == "candidate")
    assert all(term in candidate_text for term in by_term), by_term
    assert "payment" not in by_term  # said only by the interviewer
