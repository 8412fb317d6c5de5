"""What a candidate's turn does, read by rules: agree, decline, ask for time, ask to hear the question
again, check the line, ask a question, hedge, or (anything else) answer.

Scripted mode decides with it (agent.flow); in LLM mode the model decides through the flow's functions
and this module is not used. The rules are deliberately conservative where it matters: only a clear yes
is consent ("yes, but…", "I guess", "Hello?" and questions are not), and a turn is a request for time
or for the question again only when, once the request's own words and fillers are taken out, almost
nothing is left ("Let me think." is a request; "Let me think, I'd shard by user id." and "I think the
main trade-off is latency." are answers).

Text in, `CandidateIntent` out; no model, no I/O. Transcripts come from speech recognition, so the
rules do not rely on punctuation (a trailing "?" helps, but "who will see this recording" without one
is still a question).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

ConsentAnswer = Literal["agree", "decline", "unclear"]


class Act(StrEnum):
    """The kinds of turn the interviewer treats differently."""

    AGREE = "agree"  # a clear yes: "Yes.", "Sure, go ahead.", "No problem.", "I don't mind."
    DECLINE = "decline"  # a clear no: "No.", "I object to being recorded.", "I'd rather not.", "Not really."
    ASK_TIME = "ask_time"  # "Let me think about that for a moment.", "Give me a second.", "Hmm..."
    ASK_REPEAT = "ask_repeat"  # "Sorry, what did you say?", "What was the question?", "Sorry?"
    CHECK_HEARING = "check_hearing"  # "Hello? Can you hear me?", "Are you there?"
    QUESTION = "question"  # "Wait, who will see this recording?", "How long does this take?"
    HEDGE = "hedge"  # "Yes, but…", "I guess so.", "I'm not sure.", "Maybe."
    OTHER = "other"  # anything else; at a question, an answer


class Topic(StrEnum):
    """What a QUESTION is about, for the scripted interviewer's short honest answer."""

    RECORDING = "recording"  # who sees it, where it goes, whether it is kept
    DURATION = "duration"  # how long the interview takes
    OTHER = "other"


@dataclass(frozen=True)
class CandidateIntent:
    act: Act
    topic: Topic | None = None  # set for QUESTION only


# ------------------------------------------------------------------ normalising
_SPELLINGS = (
    (r"[\u2018\u2019\u02bc`]", "'"),
    (r"\bdo not\b", "don't"),
    (r"\bdoes not\b", "doesn't"),
    (r"\bdid not\b", "didn't"),
    (r"\bcould not\b", "couldn't"),
    (r"\bwould not\b", "wouldn't"),
    (r"\bwill not\b", "won't"),
    (r"\bcan ?not\b", "can't"),
    (r"\bi am\b", "i'm"),
    (r"\bi would\b", "i'd"),
    (r"\bthat is\b", "that's"),
    (r"\blet us\b", "let's"),
    (r"\ball right\b", "alright"),
    (r"\bokay\b", "ok"),
)
# The recogniser sometimes drops the apostrophe.
_APOSTROPHE_FIXES = {
    "dont": "don't",
    "didnt": "didn't",
    "cant": "can't",
    "wont": "won't",
    "im": "i'm",
    "thats": "that's",
}


def _normalise(text: str) -> str:
    text = re.sub(r"[a-z]+", lambda m: _APOSTROPHE_FIXES.get(m.group(0), m.group(0)), text.lower())
    for pattern, replacement in _SPELLINGS:
        text = re.sub(pattern, replacement, text)
    return text


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+(?:['-][a-z0-9]+)*", text)


@dataclass(frozen=True)
class _Sentence:
    text: str  # normalised words joined by single spaces
    asked: bool  # ended with "?"


def _sentences(normalised: str) -> list[_Sentence]:
    out = []
    for match in re.finditer(r"([^.!?;]+)([.!?;]*)", normalised):
        words = _words(match.group(1))
        if words:
            out.append(_Sentence(" ".join(words), "?" in match.group(2)))
    return out


def _compile(*alternatives: str) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(alternatives) + r")\b")


# ------------------------------------------------------------------- requests
# A request is recognised when one of its own phrases is there and, once those phrases, the polite
# phrases around them and fillers are removed, at most this many words are left.
_REQUEST_LEFTOVER_WORDS = 2
_FILLERS = frozenset(
    {"um", "umm", "uh", "uhm", "erm", "er", "ah", "eh", "hmm", "hm", "mm", "oh", "well", "so", "sorry",
     "just", "please", "actually", "wait", "ok", "alright", "right", "and", "but", "now", "then", "really"}
)  # fmt: skip
# A turn of nothing but these ("Hmm...", "Um, uh") is someone thinking aloud: a request for time.
_HESITATIONS = frozenset({"um", "umm", "uh", "uhm", "erm", "er", "ah", "hmm", "hmmm", "hm", "mm", "mmm"})
_COURTESY = _compile(
    r"(that's |it's |this is )?(a |such a |quite a |really )?"
    r"(good|great|tough|hard|tricky|interesting|fair|big) (question|one)",
    r"i'm sorry",
    r"excuse me",
    r"thank you|thanks",
)
_TIME_UNIT = r"(moment|second|sec|minute|min|bit|while|time)s?"
_AMOUNT = r"(a|one|some|a few|a couple of|a couple|two|a little|a little bit of|just a)( more)?"
_TIME_REQUEST = _compile(
    r"(let me|lemme|i need to|i have to|i'll have to|i'd like to|i want to|i must|allow me to|i'll)"
    r"( just)? (think|consider|reflect|ponder|mull)",
    r"(let me|i need to|i'll) (gather|collect|organi[sz]e|sort) my thoughts",
    r"(give|allow|grant) me " + _AMOUNT + " " + _TIME_UNIT,
    r"(can|could|may|might) i (have|get|take) " + _AMOUNT + " " + _TIME_UNIT,
    r"i('ll| will)? need " + _AMOUNT + " " + _TIME_UNIT,
    r"(just )?(a|one) (moment|second|sec|minute|min)",
    r"hold on|hang on|bear with me|one sec|give me a sec|let me see|let's see",
    r"i'm (still )?thinking|thinking",
    # At the consent question: not yet ready to start is a request for time, not a refusal.
    r"(i'm )?not (quite )?ready( yet)?|not (just )?yet",
)
_TIME_REQUEST_TAIL = _compile(
    r"(to|and) think",
    r"(about|on|over) (it|that|this|the question)",
    r"(for |in )?" + _AMOUNT + " " + _TIME_UNIT,
    r"before i answer|before answering|first",
    r"how (to|i'd|i would|i should) (put|say|phrase|explain|answer) (it|this|that)",
)
_REPEAT_REQUEST = _compile(
    r"what did you (just )?(say|ask)",
    r"what('s| was| is) (the|that|your) question",
    r"what('s| was| is)? that",
    r"(can|could|would|will) you (please )?(say|repeat|ask|read)"
    r"( (that|it|this|the question|what you said|yourself))?( once more| one more time| again)?",
    r"repeat|rephrase|reword",
    r"say (that|it|this) again",
    r"come again|pardon( me)?|one more time|once more|say again",
    r"i (didn't|couldn't|can't|did not|could not) (quite )?(catch|hear|get|understand|follow)"
    r"( (that|it|you|the question|what you said|the last part|the last bit|all of that|everything))?",
    r"i missed (that|it|the question|what you said|the last part|the last bit)",
    r"(you|it) (cut|broke) (out|up)",
    r"i don't (understand|follow)|what do you mean( by that)?",
    r"(speak|talk|say it) (up|louder|more slowly|slower|more clearly|a bit louder)",
    r"^(sorry|what|huh)( what| sorry)?$",
)
_REPEAT_REQUEST_TAIL = _compile(
    r"again|(the|that|your) question|(the|that) last (part|bit)|(that|it|this|yourself|what you said)"
)
_HEARING_CHECK = _compile(
    r"(can|do|could) you (still )?hear me( ok| now| well)?",
    r"are you (still )?there",
    r"is (this|it|everything) working",
    r"am i (audible|coming through)",
    r"testing( testing)*",
)
_GREETING_WORDS = frozenset({"hello", "hi", "hey", "hiya", "there"})


def _is_request(text: str, request: re.Pattern[str], tail: re.Pattern[str]) -> bool:
    if request.search(text) is None:
        return False
    rest = tail.sub(" ", _COURTESY.sub(" ", request.sub(" ", text)))
    leftover = [word for word in _words(rest) if word not in _FILLERS]
    return len(leftover) <= _REQUEST_LEFTOVER_WORDS


def _is_hearing_check(sentence: str) -> bool:
    """ "Can you hear me?", "Hello?", "Hello, are you there?": a check of the line and nothing else."""
    rest = [word for word in _words(_HEARING_CHECK.sub(" ", sentence)) if word not in _FILLERS]
    if not all(word in _GREETING_WORDS for word in rest):
        return False
    return _HEARING_CHECK.search(sentence) is not None or bool(rest)


# -------------------------------------------------------------- consent words
# Said with a negative word but meaning yes: these become "yes" before any "no" is looked for.
_NEGATIVE_YES = _compile(
    r"no (problem|problems|worries|worry|issue|issues|objection|objections|complaints?)( at all)?",
    r"not a problem|i (don't|wouldn't) mind|(i )?have no (objection|objections|problem|problems|issue)",
    r"why not|not at all a problem",
)
# A bare "no" declines only as an answer word (first or last in its sentence): "I have no idea" does not.
_NO_WORDS = frozenset({"no", "nope", "nah"})
_DECLINE = _compile(
    r"not really|of course not|absolutely not|definitely not|certainly not",
    r"i object|object to|objection|objections|objecting",
    r"(don't|won't|doesn't|wouldn't) (consent|agree|accept|allow|want|like|feel comfortable)",
    r"disagree|refuse|decline|reject",
    r"(rather|prefer) not|(rather|prefer) (you|we) (don't|didn't|not)",
    r"uncomfortable|not (ok|fine|alright|good|happy|comfortable|great|cool)( with)?",
    r"(don't|stop|no) record(ing)?|not (be |being |to be )recorded",
    r"don't think so|no way|please don't|(^|i want to |i'd like to |please |let's )stop",
)
_AGREE = _compile(
    r"yes|yeah|yep|yup|ya|yea|sure|ok|alright|fine|absolutely|definitely|certainly|agreed|agree|consent",
    r"accept|ready|perfect|great|good|gladly|happily|of course|go ahead|sounds (good|great|fine)",
    r"let's (go|start|begin|do (it|this)|get started)|(can|shall) we (start|begin|go)|works for me",
    r"that works|i'm in|please do|by all means|will do|go for it|(happy|glad) to (start|begin|proceed|go)",
    r"(let's |please )?(proceed|carry on|continue)",
)
_HEDGE = _compile(
    r"but|though|although|however|unless|if|as long as|maybe|perhaps|probably|possibly|i guess|guess so",
    r"i suppose|suppose so|not sure|unsure|depends|kind of|sort of|kinda|sorta|i don't know|dunno",
    r"i think so|hopefully|mostly|partly|for now",
)
_INTERROGATIVE = frozenset(
    {"who", "whom", "whose", "what", "when", "where", "why", "how", "which", "can", "could", "will",
     "would", "is", "are", "am", "do", "does", "did", "should", "shall", "may", "might", "was", "were",
     "has", "have"}
)  # fmt: skip
_QUESTION_LEAD = frozenset(_FILLERS | {"yes", "yeah", "no", "hello", "hi", "hey", "also", "one", "question"})
_START_REQUEST = _compile(r"(can|shall|should) we (start|begin|go|get started)( now)?")
_RECORDING_TOPIC = _compile(
    r"record\w*|transcri\w*|see|sees|seen|watch\w*|listen\w*|access\w*|shar\w*|stor\w*|keep|kept|data",
    r"priva\w*|delet\w*|who (gets|has|will have)|used for|use it|happen to",
)
_DURATION_TOPIC = _compile(r"how long|how many (minutes|questions)|duration|take long|minutes")


def _is_question(sentence: _Sentence) -> bool:
    words = _words(sentence.text)
    while words and words[0] in _QUESTION_LEAD:
        words = words[1:]
    if not words or _START_REQUEST.fullmatch(" ".join(words)):
        return False
    return sentence.asked or (words[0] in _INTERROGATIVE and len(words) >= 3)


def _says_no(sentence: str) -> bool:
    words = [word for word in _words(sentence) if word not in _FILLERS]
    return bool(words) and (words[0] in _NO_WORDS or words[-1] in _NO_WORDS)


def _topic(sentence: str) -> Topic:
    if _RECORDING_TOPIC.search(sentence):
        return Topic.RECORDING
    if _DURATION_TOPIC.search(sentence):
        return Topic.DURATION
    return Topic.OTHER


# ----------------------------------------------------------------------- API
def read_intent(candidate_text: str) -> CandidateIntent:
    """Classify one finished candidate turn (any length; empty is OTHER, "Hmm..." alone is ASK_TIME).

    Order matters: a request for the question again or for time is recognised first (it is short by
    construction); then the last sentence decides whether the turn checks the line or asks a question
    (so "Yes, but who will see it?" is a question to answer, not a yes); then the whole turn is read for
    a no, a hedged yes, or a clear yes.
    """
    normalised = _normalise(candidate_text)
    flat = " ".join(_words(normalised))
    if not flat:
        return CandidateIntent(Act.OTHER)
    if _is_request(flat, _REPEAT_REQUEST, _REPEAT_REQUEST_TAIL):
        return CandidateIntent(Act.ASK_REPEAT)
    if _is_request(flat, _TIME_REQUEST, _TIME_REQUEST_TAIL) or set(flat.split()) <= _HESITATIONS:
        return CandidateIntent(Act.ASK_TIME)
    sentences = _sentences(normalised)
    last = sentences[-1]
    if _is_hearing_check(last.text):
        return CandidateIntent(Act.CHECK_HEARING)
    if _is_question(last):
        if _HEARING_CHECK.search(last.text):  # "Sure, but can you hear me?"
            return CandidateIntent(Act.CHECK_HEARING)
        return CandidateIntent(Act.QUESTION, _topic(last.text))
    # "Good question" is no "good" to say yes with.
    meaning = _NEGATIVE_YES.sub(" yes ", _COURTESY.sub(" ", flat))
    agrees = _AGREE.search(meaning) is not None
    if _DECLINE.search(meaning):
        return CandidateIntent(Act.DECLINE)
    if any(_says_no(_NEGATIVE_YES.sub(" yes ", sentence.text)) for sentence in sentences):
        # "No, no, that's fine." says yes with a no in it: not clear either way, so ask again.
        return CandidateIntent(Act.HEDGE if agrees else Act.DECLINE)
    if _HEDGE.search(meaning):
        return CandidateIntent(Act.HEDGE)
    return CandidateIntent(Act.AGREE if agrees else Act.OTHER)


def consent_answer(intent: CandidateIntent) -> ConsentAnswer:
    """Only a clear yes is consent and only a clear no declines; everything else is asked again."""
    if intent.act is Act.AGREE:
        return "agree"
    if intent.act is Act.DECLINE:
        return "decline"
    return "unclear"
