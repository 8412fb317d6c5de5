"""The candidate-intent rules (agent.candidate_intent): each kind of turn, the examples from issue 13, and
the near-misses that must stay answers. Transcripts are written as speech recognition gives them, with
and without punctuation."""

from __future__ import annotations

import pytest

from agent.candidate_intent import Act, CandidateIntent, Topic, consent_answer, read_intent

CLEAR_YES = [
    "Yes.",
    "Yes, I'm ready.",
    "yeah sure go ahead",
    "Sure, go ahead.",
    "Okay.",
    "OK, let's start.",
    "No problem.",  # a no-word that means yes
    "No problem at all, let's begin.",
    "No worries.",
    "I don't mind.",
    "I have no objection.",
    "That's fine.",
    "Of course.",
    "I consent.",
    "Absolutely, I'm ready.",
    "Sounds good.",
    "Can we start?",  # asks to begin: a yes, not a question to answer
    "Sure, why not.",
    "Will do.",
    "Go for it.",
    "I'm happy to proceed.",
]

CLEAR_NO = [
    "No.",
    "No, I don't want to be recorded.",
    "I object to being recorded.",
    "I'd rather not.",
    "I would rather not.",
    "I don't consent.",
    "I do not agree to that.",
    "Not really.",
    "I'm not comfortable with that.",
    "I'm uncomfortable being transcribed.",
    "No, thank you.",
    "Nope.",
    "Please don't record this.",
    "That's not okay with me.",
    "Absolutely not.",
    "I don't think so.",
    "Stop.",
    "I want to stop.",
]

# (turn, act): neither a clear yes nor a clear no, so never consent and never a refusal.
NOT_AN_ANSWER_TO_CONSENT = [
    ("Hello? Can you hear me?", Act.CHECK_HEARING),
    ("hello can you hear me", Act.CHECK_HEARING),
    ("Hello?", Act.CHECK_HEARING),
    ("Sure, but can you hear me?", Act.CHECK_HEARING),
    ("Are you there?", Act.CHECK_HEARING),
    ("Wait, who will see this recording?", Act.QUESTION),
    ("wait who will see this recording", Act.QUESTION),  # no punctuation from the recogniser
    ("Yes, but who will see it?", Act.QUESTION),  # a "yes" that comes with a question
    ("How long will this take?", Act.QUESTION),
    ("What if I don't want to be recorded?", Act.QUESTION),  # asks about declining; does not decline
    ("Yes, but I'd like the transcript deleted afterwards.", Act.HEDGE),
    ("Yes, as long as it isn't shared.", Act.HEDGE),
    ("I guess so.", Act.HEDGE),
    ("Maybe.", Act.HEDGE),
    ("I'm not sure.", Act.HEDGE),
    ("I don't know.", Act.HEDGE),
    ("No, no, that's fine.", Act.HEDGE),  # a no and a yes together: ask again
    ("Hmm.", Act.ASK_TIME),  # thinking aloud
    ("Mm-hmm.", Act.OTHER),
    ("I have no idea what this is.", Act.OTHER),  # "no" inside a sentence is not a refusal
    ("I'm a backend engineer.", Act.OTHER),
    ("", Act.OTHER),
    ("Sorry, could you repeat that?", Act.ASK_REPEAT),
    ("Not yet.", Act.ASK_TIME),  # not ready to start is not a refusal
    ("I'm not ready yet, give me a second.", Act.ASK_TIME),
]

ASKS_FOR_TIME = [
    "Hmm, let me think about that for a moment.",
    "Give me a second to think.",
    "give me a second to think",
    "Let me think.",
    "Can I have a minute to think about it?",
    "That's a good question, let me think.",
    "Okay, let me gather my thoughts.",
    "One moment, please.",
    "Just a second.",
    "Hold on.",
    "Bear with me.",
    "Let me think how to put this.",
    "I need a moment.",
    "Um, let me see.",
    "Hmm...",
    "Um, uh.",
    "Could I take a few seconds?",
]

ASKS_TO_REPEAT = [
    "Sorry, what did you say?",
    "sorry what did you say",
    "What was the question?",
    "What's the question again?",
    "Could you say that again?",
    "Can you repeat the question, please?",
    "Sorry?",
    "Pardon?",
    "Come again?",
    "I didn't catch that.",
    "Sorry, I didn't hear the question.",
    "You cut out there.",
    "What?",
    "Repeat, please.",
    "I don't understand.",
    "Can you rephrase that?",
    "What do you mean?",
    "Can you speak up?",
]

# Real answers that share words with a request: they are answers (OTHER at a question node).
ANSWERS_NOT_REQUESTS = [
    "I think the main trade-off is consistency versus latency.",
    "I think I'd use a queue.",
    "Let me think. I'd shard by user id and keep a lookup table.",
    "Thinking about caching, I'd put Redis in front of Postgres.",
    "I would repeat the request with exponential backoff and an idempotency key on each retry.",
    "I didn't catch the exception, so the worker crashed.",
    "What was the question we were trying to answer with the migration? Latency.",
    "Give me a second replica and I can fail over without downtime.",
    "One moment in the rollout was tricky: the schema change locked the table.",
    "Sorry, I meant the write path, not the read path.",
    "I don't understand why people pick an ORM for analytics queries.",
    "Could you repeat a request safely? Only with an idempotency key.",
]


@pytest.mark.parametrize("turn", CLEAR_YES)
def test_a_clear_yes_is_consent(turn: str) -> None:
    assert read_intent(turn).act is Act.AGREE
    assert consent_answer(read_intent(turn)) == "agree"


@pytest.mark.parametrize("turn", CLEAR_NO)
def test_a_clear_no_or_an_objection_declines(turn: str) -> None:
    assert read_intent(turn).act is Act.DECLINE
    assert consent_answer(read_intent(turn)) == "decline"


@pytest.mark.parametrize(("turn", "act"), NOT_AN_ANSWER_TO_CONSENT)
def test_anything_else_at_the_consent_question_is_asked_again(turn: str, act: Act) -> None:
    assert read_intent(turn).act is act
    assert consent_answer(read_intent(turn)) == "unclear"


@pytest.mark.parametrize(
    ("turn", "topic"),
    [
        ("Wait, who will see this recording?", Topic.RECORDING),
        ("What happens to the transcript afterwards?", Topic.RECORDING),
        ("Is my data stored anywhere?", Topic.RECORDING),
        ("How long will this take?", Topic.DURATION),
        ("What is the salary range?", Topic.OTHER),
    ],
)
def test_a_question_is_read_for_what_it_asks_about(turn: str, topic: Topic) -> None:
    assert read_intent(turn) == CandidateIntent(Act.QUESTION, topic)


@pytest.mark.parametrize("turn", ASKS_FOR_TIME)
def test_asking_for_time_is_recognised(turn: str) -> None:
    assert read_intent(turn).act is Act.ASK_TIME


@pytest.mark.parametrize("turn", ASKS_TO_REPEAT)
def test_asking_for_the_question_again_is_recognised(turn: str) -> None:
    assert read_intent(turn).act is Act.ASK_REPEAT


@pytest.mark.parametrize("turn", ANSWERS_NOT_REQUESTS)
def test_an_answer_that_merely_contains_request_words_is_an_answer(turn: str) -> None:
    assert read_intent(turn).act not in (Act.ASK_TIME, Act.ASK_REPEAT, Act.CHECK_HEARING)


def test_curly_apostrophes_and_dropped_apostrophes_read_the_same() -> None:
    assert read_intent("I don\u2019t consent.").act is Act.DECLINE
    assert read_intent("i dont consent").act is Act.DECLINE
    assert read_intent("Im not comfortable with that").act is Act.DECLINE
