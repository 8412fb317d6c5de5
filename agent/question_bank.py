"""Typed loader for the interview question bank (agent/question_bank.yaml).

The bank is data shared by the interviewer (to plan questions) and the summary worker (to grade answers
against `good_answer_covers`), so both read it through these msgspec Structs.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Final, Literal, cast

import msgspec

DEFAULT_BANK_PATH: Final = Path(__file__).with_name("question_bank.yaml")

# The levels the bank's questions are written for.
Seniority = Literal["junior", "mid", "senior", "staff"]
SENIORITY_LEVELS: Final[tuple[Seniority, ...]] = ("junior", "mid", "senior", "staff")
# The levels a session can ask for (the control plane's); the ends of the ladder borrow the nearest
# written level, so an intern or principal session still gets an interview.
SessionSeniority = Literal["intern", "junior", "mid", "senior", "staff", "principal"]
_NEAREST_BANK_LEVEL: Final[dict[str, Seniority]] = {"intern": "junior", "principal": "staff"}
# The role family of a title that names no family's keywords.
DEFAULT_ROLE_FAMILY: Final = "general"


def bank_level(seniority: SessionSeniority) -> Seniority:
    nearest = _NEAREST_BANK_LEVEL.get(seniority)
    return nearest if nearest is not None else cast("Seniority", seniority)


def _words(text: str) -> str:
    """Lower-cased, with hyphens and slashes as spaces and runs of spaces as one."""
    return " ".join(text.lower().replace("-", " ").replace("/", " ").split())


@lru_cache(maxsize=1024)
def _phrase_pattern(keyword: str) -> re.Pattern[str]:
    """`keyword` as whole words ("ml" is not in "html"; "c#" and "node.js" match as typed)."""
    return re.compile(rf"(?<![a-z0-9]){re.escape(_words(keyword))}(?![a-z0-9])")


def normalize_topic(text: str) -> str:
    """'System Design', 'system-design' and 'system_design' are one topic."""
    return re.sub(r"[\s\-/]+", "_", text.strip().lower())


class QuestionBankError(ValueError):
    """The question bank file is missing, malformed or inconsistent."""


class RoleFamily(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    keywords: tuple[str, ...]


class WarmUpQuestion(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: str
    text: str


class BankQuestion(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One question as the interviewer speaks it, with what a good answer covers and where to probe.

    `follow_up_points[i]` is the index into `good_answer_covers` that `follow_up_hints[i]` probes, so a
    follow-up can target the point an answer missed (see `hint_for_point`). Empty means the hints are
    not linked to points.
    """

    id: str
    role_families: tuple[str, ...]
    seniority: tuple[Seniority, ...]
    topic: str
    text: str
    follow_up_hints: tuple[str, ...] = ()
    good_answer_covers: tuple[str, ...] = ()
    follow_up_points: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if not self.text.strip() or not self.role_families or not self.seniority:
            raise QuestionBankError(f"question {self.id} needs text, role families and seniority")
        if not self.follow_up_points:
            return
        if len(self.follow_up_points) != len(self.follow_up_hints):
            raise QuestionBankError(
                f"question {self.id} has {len(self.follow_up_hints)} follow-up hints but "
                f"{len(self.follow_up_points)} follow-up points"
            )
        stray = [p for p in self.follow_up_points if not 0 <= p < len(self.good_answer_covers)]
        if stray:
            raise QuestionBankError(
                f"question {self.id} links hints to good-answer points {stray} it does not have"
            )

    def hint_for_point(self, point: int) -> str | None:
        """The follow-up hint that probes good-answer point `point` (0-based), if one is linked."""
        return hint_for_point(self.follow_up_hints, self.follow_up_points, point)


def hint_for_point(hints: tuple[str, ...], points: tuple[int, ...], point: int) -> str | None:
    """The first hint whose linked point is `point`; None when no hint probes it."""
    return next((hint for hint, linked in zip(hints, points, strict=False) if linked == point), None)


class QuestionBank(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    version: int
    role_families: dict[str, RoleFamily]
    warm_up: tuple[WarmUpQuestion, ...]
    questions: tuple[BankQuestion, ...]
    # Other names people type for a bank topic ("sql" -> "databases"), keyed by their normalized form.
    topic_aliases: dict[str, str] = {}

    def __post_init__(self) -> None:
        ids = [q.id for q in self.questions] + [w.id for w in self.warm_up]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise QuestionBankError(f"duplicate question ids in the bank: {duplicates}")
        if not self.warm_up:
            raise QuestionBankError("the bank needs at least one warm-up question")
        if DEFAULT_ROLE_FAMILY not in self.role_families:
            raise QuestionBankError(f"the bank needs the '{DEFAULT_ROLE_FAMILY}' role family")
        for question in self.questions:
            unknown = set(question.role_families) - set(self.role_families)
            if unknown:
                raise QuestionBankError(
                    f"question {question.id} names unknown role families {sorted(unknown)}"
                )

        topics = {q.topic for q in self.questions}
        stray = sorted(
            f"{alias} -> {topic}" for alias, topic in self.topic_aliases.items() if topic not in topics
        )
        if stray:
            raise QuestionBankError(f"topic aliases point at topics no question has: {stray}")

    def topic_for(self, requested: str) -> str:
        """The bank topic a session's topic names, or its normalized form when the bank has none."""
        name = normalize_topic(requested)
        return self.topic_aliases.get(name, name)

    def by_id(self, question_id: str) -> BankQuestion | None:
        return next((q for q in self.questions if q.id == question_id), None)

    def role_family_for(self, role: str) -> str:
        """The family whose keywords match the role title best; 'general' when none match.

        Keywords match whole words ("ml" is not in "html", "java" is not in "javascript"); hyphens
        count as spaces; earlier families win ties.
        """
        title = _words(role)
        best, best_hits = DEFAULT_ROLE_FAMILY, 0
        for name, family in self.role_families.items():
            hits = sum(1 for keyword in family.keywords if _phrase_pattern(keyword).search(title))
            if hits > best_hits:
                best, best_hits = name, hits
        return best

    @property
    def topics(self) -> frozenset[str]:
        return frozenset(q.topic for q in self.questions)


def load_question_bank(path: Path = DEFAULT_BANK_PATH) -> QuestionBank:
    """Read and validate a bank file. Raises QuestionBankError with the reason when it is invalid."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise QuestionBankError(f"cannot read question bank {path}: {exc}") from exc
    try:
        return msgspec.yaml.decode(raw, type=QuestionBank)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise QuestionBankError(f"invalid question bank {path}: {exc}") from exc


@lru_cache(maxsize=1)
def default_question_bank() -> QuestionBank:
    """The bank shipped with the repo, parsed once per process."""
    return load_question_bank()
