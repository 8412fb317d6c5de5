"""The summary written when no LLM is configured: statistics from the transcript, clearly labelled.
It never grades the candidate, so it has no recommendation and no scores."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass
from typing import Any

import structlog

from control_plane.domain.summaries.evidence import normalize
from control_plane.domain.summaries.transcript import InterviewTranscript, Segment

log = structlog.get_logger(__name__)

OFFLINE_KIND = "offline_statistics"
OFFLINE_LABEL = (
    "Transcript statistics only. No AI model assessed this interview, so there is no recommendation "
    "and no score; configure an LLM for a scorecard."
)
KEY_TERM_COUNT = 12
# A question counts as asked when this share of its words appears in one agent turn.
QUESTION_MATCH_SHARE = 0.6

_EDGE_PUNCTUATION = "\"'.,;:!?()[]{}…-"
_STOPWORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "all",
        "also",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "done",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "get",
        "got",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "him",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "know",
        "like",
        "me",
        "more",
        "most",
        "my",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "out",
        "over",
        "own",
        "really",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "thats",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "thing",
        "things",
        "think",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "use",
        "used",
        "using",
        "very",
        "was",
        "way",
        "we",
        "well",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "yeah",
        "yes",
        "you",
        "your",
        "im",
        "ive",
        "id",
        "dont",
        "its",
        "um",
        "uh",
        "okay",
        "ok",
        "right",
        "so",
        "kind",
        "sort",
        "lot",
    ]
)


@dataclass(frozen=True, slots=True)
class _BankQuestion:
    id: str
    topic: str
    words: frozenset[str]


def build_offline_summary(transcript: InterviewTranscript) -> dict[str, Any]:
    answers = _answers(transcript.segments)
    words = [len(normalize(text).split()) for text in answers]
    return {
        "kind": OFFLINE_KIND,
        "label": OFFLINE_LABEL,
        "segments": len(transcript.segments),
        "talk_time": _talk_time(transcript.segments),
        "answers": {
            "count": len(words),
            "mean_words": round(statistics.fmean(words), 1) if words else 0,
            "median_words": statistics.median(words) if words else 0,
            "longest_words": max(words, default=0),
            "shortest_words": min(words, default=0),
        },
        "questions_covered": _questions_covered(transcript),
        "key_terms": _key_terms(transcript.candidate_segments()),
    }


def _talk_time(segments: list[Segment]) -> dict[str, Any]:
    candidate_ms = sum(s.duration_ms for s in segments if s.is_candidate)
    agent_ms = sum(s.duration_ms for s in segments if not s.is_candidate)
    total = candidate_ms + agent_ms
    return {
        "candidate_ms": candidate_ms,
        "agent_ms": agent_ms,
        "candidate_share": round(candidate_ms / total, 3) if total else None,
    }


def _answers(segments: list[Segment]) -> list[str]:
    """Consecutive candidate segments form one answer."""
    answers: list[str] = []
    previous_was_candidate = False
    for segment in segments:
        if segment.is_candidate:
            if previous_was_candidate:
                answers[-1] = f"{answers[-1]} {segment.text}"
            else:
                answers.append(segment.text)
        previous_was_candidate = segment.is_candidate
    return answers


def _key_terms(segments: list[Segment]) -> list[dict[str, Any]]:
    """The candidate's most used content words, each spelt as the transcript spells it most often
    ("PostgreSQL", not "postgresql"): a key term is always a word of the transcript, never a rewrite."""
    counts: Counter[str] = Counter()
    spellings: dict[str, Counter[str]] = {}
    for segment in segments:
        for raw in segment.text.split():
            words = normalize(raw).split()
            for word in words:
                if len(word) <= 2 or word in _STOPWORDS:
                    continue
                counts[word] += 1
                # A whitespace token that is one word keeps its own letters; "I/O"-like ones fall back.
                spelt = raw.strip(_EDGE_PUNCTUATION) if len(words) == 1 else word
                spellings.setdefault(word, Counter())[spelt if normalize(spelt) == word else word] += 1
    return [
        {"term": spellings[term].most_common(1)[0][0], "count": count}
        for term, count in counts.most_common(KEY_TERM_COUNT)
    ]


def _load_bank() -> list[_BankQuestion] | None:
    try:
        from agent.question_bank import QuestionBankError, default_question_bank
    except ImportError:
        return None
    try:
        bank = default_question_bank()
    except QuestionBankError as exc:
        log.warning("question_bank_unavailable", error=str(exc))
        return None
    questions = [(q.id, q.topic, q.text) for q in bank.questions] + [
        (w.id, "warm-up", w.text) for w in bank.warm_up
    ]
    return [_BankQuestion(id=i, topic=t, words=_content_words(text)) for i, t, text in questions]


def _content_words(text: str) -> frozenset[str]:
    return frozenset(w for w in normalize(text).split() if w not in _STOPWORDS)


def _questions_covered(transcript: InterviewTranscript) -> list[dict[str, Any]] | None:
    bank = _load_bank()
    if bank is None:
        return None
    by_id = {q.id: q for q in bank}
    covered: dict[str, dict[str, Any]] = {}
    segments = transcript.segments
    for index, segment in enumerate(segments):
        if segment.is_candidate:
            continue
        question = by_id.get(segment.question_id or "") or _match_question(segment.text, bank)
        if question is None or question.id in covered:
            continue
        answer = _answer_after(segments, index)
        covered[question.id] = {
            "question_id": question.id,
            "topic": question.topic,
            "asked_in_segment": segment.seq,
            "answer_words": len(normalize(answer).split()),
        }
    return list(covered.values())


def _match_question(text: str, bank: list[_BankQuestion]) -> _BankQuestion | None:
    spoken = _content_words(text)
    best: _BankQuestion | None = None
    best_share = QUESTION_MATCH_SHARE
    for question in bank:
        if not question.words:
            continue
        share = len(question.words & spoken) / len(question.words)
        if share >= best_share:
            best, best_share = question, share
    return best


def _answer_after(segments: list[Segment], index: int) -> str:
    parts: list[str] = []
    for segment in segments[index + 1 :]:
        if not segment.is_candidate:
            break
        parts.append(segment.text)
    return " ".join(parts)
