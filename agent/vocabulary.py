"""The session's vocabulary: the technical words a candidate is likely to say in this interview, to bias
Whisper's recognition toward them (faster-whisper `hotwords`, see agent.speech.transcribe).

tiny.en hears "PostgreSQL" as "poster SQL" and "idempotent" as "eyeed potent": rare words lose to common
ones that sound alike. Told the words to expect, it picks them (bench/keyword_recall.py measures how
much). The words come from the plan: the role title, the question topics, and the terms of the planned
questions (their text, the points a good answer covers, the follow-up hints).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agent.planner import InterviewPlan

# Whisper's prompt (hotwords included) holds at most 223 tokens and shares them with the previous text;
# ~40 terms in 300 characters is about 80 tokens, and longer lists bias toward words not said.
MAX_TERMS = 40
MAX_CHARS = 300
MIN_PLAIN_WORD_LEN = 5

_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[.+#-][A-Za-z0-9+#]+)*[+#]*")


def _always_term(word: str, first_in_sentence: bool) -> bool:
    """Spelt as a name or a term: PostgreSQL, GraphQL, SQL, gRPC, OAuth2, Node.js, C++, Redis, Kafka."""
    if len(word) < 2:
        return False  # "I", the halves of "I/O"
    if any(ch.isupper() for ch in word[1:]) or any(ch.isdigit() or ch in ".+#" for ch in word):
        return True
    return word[0].isupper() and not first_in_sentence  # not "What" or "Describe"


def terms_in(text: str) -> list[str]:
    """Words of `text` that may be terms, in order: names and term-like spellings (`_always_term`), and
    plain words of at least MIN_PLAIN_WORD_LEN letters (whether those are rare is decided later)."""
    found: list[str] = []
    for sentence in re.split(r"(?<=[.?!:;])\s+", text):
        for index, match in enumerate(_TOKEN.finditer(sentence)):
            word = match.group(0).rstrip(".-")
            if _always_term(word, first_in_sentence=index == 0) or (
                word.islower() and len(word) >= MIN_PLAIN_WORD_LEN
            ):
                found.append(word)
    return found


@dataclass(frozen=True)
class SessionVocabulary:
    """What this session is likely to be about. `head`: the role's words and the topics, always kept;
    `terms`: the planned questions' candidate terms, most frequent first."""

    head: tuple[str, ...] = ()
    terms: tuple[str, ...] = ()

    def hotwords(
        self,
        is_rare: Callable[[str], bool] = lambda _word: True,
        *,
        max_terms: int = MAX_TERMS,
        max_chars: int = MAX_CHARS,
    ) -> str:
        """One space-separated string for faster-whisper's `hotwords`, at most `max_terms` words and
        `max_chars` characters. A plain lower-case term is kept only if `is_rare` (the model's tokenizer
        splits it: see agent.speech.rare_to_whisper); common words need no bias and would crowd out the
        rest. Words differing only in case count once."""
        chosen: list[str] = []
        seen: set[str] = set()
        length = 0
        candidates = [*self.head, *(t for t in self.terms if not t.islower() or is_rare(t))]
        for term in candidates:
            key = term.lower()
            if key in seen or len(chosen) >= max_terms or length + len(term) + 1 > max_chars:
                continue
            seen.add(key)
            chosen.append(term)
            length += len(term) + 1
        return " ".join(chosen)


def session_vocabulary(plan: InterviewPlan) -> SessionVocabulary:
    """The plan's vocabulary: the role's words and the topics, then the terms of the planned questions
    (their text, the points a good answer covers, the follow-up hints), most frequent first."""
    head = [*re.findall(r"[A-Za-z0-9+#.]+", plan.role)]
    head += [topic.replace("_", " ") for topic in dict.fromkeys(q.topic for q in plan.questions)]
    counts: Counter[str] = Counter()
    spelling: dict[str, str] = {}
    for question in plan.questions:
        for text in (question.text, *question.good_answer_covers, *question.follow_up_hints):
            for term in terms_in(text):
                counts[term.lower()] += 1
                spelling.setdefault(term.lower(), term)
    return SessionVocabulary(head=tuple(head), terms=tuple(spelling[key] for key, _ in counts.most_common()))
