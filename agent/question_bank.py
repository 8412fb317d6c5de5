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


def bank_level(seniority: SessionSeniority) -> Seniority:
    nearest = _NEAREST_BANK_LEVEL.get(seniority)
    return nearest if nearest is not None else cast("Seniority", seniority)


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
    id: str
    role_families: tuple[str, ...]
    seniority: tuple[Seniority, ...]
    topic: str
    text: str
    follow_up_hints: tuple[str, ...] = ()
    good_answer_covers: tuple[str, ...] = ()


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
        """The family whose keywords match the role title best; 'general' when none match."""
        title = role.lower()
        best, best_hits = "general", 0
        for name, family in self.role_families.items():
            hits = sum(1 for keyword in family.keywords if keyword in title)
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
