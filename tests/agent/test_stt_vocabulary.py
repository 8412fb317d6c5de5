"""Recognition biased toward the session's vocabulary: the terms come from the plan, stay bounded, and
with them Whisper tiny.en hears the technical words of an answer at least as well as without."""

from __future__ import annotations

import uuid

import numpy as np

from agent.metadata import InterviewSession
from agent.planner import InterviewPlan, plan_by_rules
from agent.question_bank import default_question_bank
from agent.speech import OfflineSpeechModels, rare_to_whisper, transcribe
from agent.vocabulary import MAX_CHARS, MAX_TERMS, SessionVocabulary, session_vocabulary, terms_in
from tests.agent.audio import silence
from tests.agent.technical_answers import ANSWERS, ROLE_AND_TOPICS, keyword_hits, piper_pcm


def backend_plan() -> InterviewPlan:
    session = InterviewSession(
        session_id=uuid.UUID(int=7),
        role="Senior Backend Engineer",
        seniority="senior",
        topics=["python", "databases"],
        duration_minutes=30,
    )
    return plan_by_rules(session, default_question_bank())


def test_terms_are_names_and_term_spellings_not_sentence_openers() -> None:
    text = "Describe how PostgreSQL replicas lag. What does gRPC or OAuth2 give over REST and I/O?"
    assert terms_in(text) == ["PostgreSQL", "replicas", "gRPC", "OAuth2", "REST"]


def test_the_session_vocabulary_comes_from_the_plan_and_is_bounded(
    speech_models: OfflineSpeechModels,
) -> None:
    assert speech_models.whisper is not None
    plan = backend_plan()
    vocabulary = session_vocabulary(plan)
    assert vocabulary.head[:3] == ("Senior", "Backend", "Engineer")
    is_rare = rare_to_whisper(speech_models.whisper)
    hotwords = vocabulary.hotwords(is_rare)
    words = hotwords.split()
    planned = " ".join(
        " ".join((q.topic, q.text, *q.good_answer_covers, *q.follow_up_hints)) for q in plan.questions
    ).replace("_", " ")
    assert all(word in planned or word in plan.role for word in words), hotwords
    # Plain words only when Whisper's tokenizer finds them rare: common words need no help.
    assert all(is_rare(word) for word in words if word.islower() and word not in vocabulary.head)
    assert len(words) > len(vocabulary.head)
    assert len(words) <= MAX_TERMS
    assert len(hotwords) <= MAX_CHARS
    many = SessionVocabulary(terms=tuple(f"Term{i}" for i in range(200)))
    assert len(many.hotwords().split()) == MAX_TERMS


def test_the_vocabulary_improves_keyword_recall_on_the_agents_voice(
    speech_models: OfflineSpeechModels,
) -> None:
    """PostgreSQL / Redis / idempotent / backend / GraphQL / TypeScript, spoken by the Piper voice."""
    assert speech_models.whisper is not None
    subset = [ANSWERS[0], ANSWERS[1], ANSWERS[2], ANSWERS[15]]
    vocabulary = SessionVocabulary(
        head=ROLE_AND_TOPICS, terms=tuple(k for _, keywords in subset for k in keywords)
    )
    hotwords = vocabulary.hotwords(rare_to_whisper(speech_models.whisper))
    before = after = total = 0
    for sentence, keywords in subset:
        pcm = silence(0.3) + piper_pcm(speech_models.piper_voice, sentence) + silence(0.3)
        samples = np.frombuffer(pcm, np.int16).astype(np.float32) / 32768.0
        before += keyword_hits(" ".join(s.text for s in transcribe(speech_models.whisper, samples)), keywords)
        after += keyword_hits(
            " ".join(s.text for s in transcribe(speech_models.whisper, samples, hotwords)), keywords
        )
        total += len(keywords)
    assert after >= before
    assert after > before, (before, after, total)
