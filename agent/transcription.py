"""Judging a Whisper transcription by the signals Whisper gives, before it becomes the candidate's words.

faster-whisper rates every segment: `no_speech_prob` (the model's belief that there was no speech),
`avg_logprob` (mean token log-probability: low when it is guessing) and `compression_ratio` (gzip ratio of
the text: high when it loops on a phrase); with word timestamps, each word has a probability too. tiny.en
turns breaths and throat-clears into "Heh heh" and other languages into fluent, invented English, with
tell-tale signals (measured in bench/keyword_recall.py and the report of issue 13). `judge` keeps a
transcription only when every segment looks like English speech, and says why when it does not.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from faster_whisper.transcribe import Segment

    from control_plane.settings import SpeechSettings

Rejection = Literal["no_speech", "low_confidence", "repetition", "hallucination", "filler"]

# Tokens that carry no answer: hesitations, backchannel-free noises, laughter as Whisper spells it.
FILLER_WORDS = frozenset(
    {
        "ah", "aha", "ahem", "ahh", "eh", "er", "erm", "ha", "hah", "haha", "hahaha", "he", "heh",
        "hehe", "hm", "hmm", "hmmm", "huh", "mm", "mhm", "mmm", "oh", "uh", "uhh", "um", "umm", "ugh",
        "laughs", "laughter", "laughing", "coughs", "cough", "coughing", "sighs", "breathing", "music",
        "silence", "inaudible", "blank_audio", "noise",
    }
)  # fmt: skip

# Whisper's well-known inventions on audio it cannot read (YouTube-caption habits of its training data).
KNOWN_HALLUCINATIONS = (
    "thank you for watching",
    "thanks for watching",
    "subscribe to my channel",
    "hit the like button",
    "like and subscribe",
    "enjoyed this video",
    "enjoy this video",
    "see you next time",
    "see you in the next video",
    "in the next video",
    "this video",
    "subtitles by",
)

_WORD = re.compile(r"[a-z0-9']+")
# A rejected transcription this long (words) over this much audio was real speech we could not read.
SUBSTANTIAL_WORDS = 3
SUBSTANTIAL_AUDIO_S = 1.5
# A low-confidence segment this short, next to confident ones, is a stray ending, not the turn.
STRAY_WORDS = 2


@dataclass(frozen=True)
class Thresholds:
    """Cut-offs from SpeechSettings (CODEVOICE_WHISPER_*); a segment failing any one is rejected."""

    no_speech_prob: float = 0.6
    min_avg_logprob: float = -1.1
    max_compression_ratio: float = 2.4
    min_word_probability: float = 0.5

    @classmethod
    def from_settings(cls, speech: SpeechSettings) -> Thresholds:
        return cls(
            no_speech_prob=speech.whisper_no_speech_prob,
            min_avg_logprob=speech.whisper_min_avg_logprob,
            max_compression_ratio=speech.whisper_max_compression_ratio,
            min_word_probability=speech.whisper_min_word_probability,
        )


@dataclass(frozen=True)
class Verdict:
    """The outcome for one turn: `text` is kept when `rejection` is None.

    `substantial` marks a rejected turn that was real speech (long audio, several words), which the agent
    answers by asking the candidate to repeat in English; a rejected breath or "ahem" is simply dropped.
    """

    text: str
    rejection: Rejection | None
    substantial: bool = False


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower().replace("-", " "))


def is_filler_only(text: str) -> bool:
    """True when `text` has no word but fillers ("Heh, heh.", "Um... uh", "(laughs)", "")."""
    return all(word in FILLER_WORDS for word in words(text))


def is_known_hallucination(text: str) -> bool:
    lowered = " ".join(words(text))
    return any(phrase in lowered for phrase in KNOWN_HALLUCINATIONS)


def _segment_rejection(segment: Segment, thresholds: Thresholds) -> Rejection | None:
    if segment.compression_ratio > thresholds.max_compression_ratio:
        return "repetition"
    if segment.avg_logprob < thresholds.min_avg_logprob:
        return "low_confidence"
    probabilities = [word.probability for word in segment.words or ()]
    if probabilities and sum(probabilities) / len(probabilities) < thresholds.min_word_probability:
        return "low_confidence"
    return None


def judge(segments: Sequence[Segment], thresholds: Thresholds, audio_s: float) -> Verdict:
    """Keep the turn's text only if no segment is rejected and it is more than filler.

    Segments Whisper rates as no speech are dropped one by one (a trailing breath), and so are
    low-confidence segments of at most STRAY_WORDS words beside confident ones (a stray "You" or
    hotword after the answer); any longer bad segment rejects the whole turn: a turn that is half
    invented is not the candidate's words.
    """
    spoken = [segment for segment in segments if segment.no_speech_prob < thresholds.no_speech_prob]
    heard = " ".join(segment.text.strip() for segment in segments).strip()
    rejection: Rejection | None = None if spoken else "no_speech"
    kept: list[Segment] = []
    for segment in spoken:
        problem = _segment_rejection(segment, thresholds)
        if problem is None:
            kept.append(segment)
        elif len(words(segment.text)) > STRAY_WORDS or len(spoken) == 1:
            rejection = rejection or problem
        # else: a stray word or two Whisper adds after real speech ("You", a hotword): dropped alone.
    text = " ".join(segment.text.strip() for segment in kept).strip()
    if rejection is None and not kept:
        rejection = "low_confidence"
    if rejection is None and is_known_hallucination(text):
        rejection = "hallucination"
    if rejection is None and is_filler_only(text):
        rejection = "filler"
    if rejection is None:
        return Verdict(text=text, rejection=None)
    meaningful = [word for word in words(heard) if word not in FILLER_WORDS]
    substantial = (
        rejection != "no_speech" and len(meaningful) >= SUBSTANTIAL_WORDS and audio_s >= SUBSTANTIAL_AUDIO_S
    )
    return Verdict(text=heard, rejection=rejection, substantial=substantial)
