"""Backchannels, noise and the greeting, with real audio (Silero VAD, Smart Turn v3, Whisper, Piper).

The issue's examples, exactly: espeak-ng "Okay." played 3.6 s into the greeting, and "Mm-hmm, right." 1 s
into the warm-up question, each used to cut the agent off and count as an answer. Now the agent says the
whole line, no candidate turn is stored, and the flow stays where it was; a throat-clear over a question
does the same. Real words said over the greeting are not lost: they become the candidate's turn once the
greeting has been spoken. Each test shows the VAD took the sound for speech (which is what used to
interrupt), so a pass is not a deaf pipeline, and then lets the candidate give a real answer, to show
nothing was held back. Whether the STT drops a backchannel (agent.transcription) or transcribes it, the
outcome is the same; the start strategy's own rules on given transcripts are in test_backchannel_rules.py.
"""

from __future__ import annotations

from pathlib import Path

from pipecat.frames.frames import TranscriptionFrame, VADUserStartedSpeakingFrame
from pipecat.observers.base_observer import BaseObserver, FramePushed
from pipecat.processors.frame_processor import FrameProcessor

from agent.control_plane_client import ControlPlaneClient
from agent.flow import CONSENT_NOTICE, CONSENT_QUESTION
from agent.speech import OfflineSpeechModels
from control_plane.settings import Settings
from tests.agent.audio import espeak_pcm, pink_noise, silence, word_error_rate, words
from tests.agent.conftest import NewSession
from tests.agent.harness import InterviewHarness, spoken_harness
from tests.agent.test_barge_in import (
    CONSENT,
    RealTimeSpeakerDouble,
    consent_and_reach_warm_up,
    hear_out_the_greeting,
    listen_until,
)

GREETING_START = "Hello, and thank you for joining."


class HeardByTheAggregator(BaseObserver):
    """What the user aggregator hears: transcripts from the STT, and the VAD's speech starts."""

    def __init__(self, aggregator: FrameProcessor) -> None:
        super().__init__()
        self._aggregator = aggregator
        self.transcripts: list[str] = []
        self.speech_starts = 0

    async def on_push_frame(self, data: FramePushed) -> None:
        if isinstance(data.frame, TranscriptionFrame) and data.destination is self._aggregator:
            self.transcripts.append(data.frame.text)
        # The aggregator runs the VAD and broadcasts its verdicts upstream (to the STT).
        elif isinstance(data.frame, VADUserStartedSpeakingFrame) and data.source is self._aggregator:
            self.speech_starts += 1


def observed_harness(
    created: object, settings: Settings, client: ControlPlaneClient, models: OfflineSpeechModels
) -> tuple[InterviewHarness, RealTimeSpeakerDouble, HeardByTheAggregator]:
    speaker = RealTimeSpeakerDouble()
    h = spoken_harness(created, settings, client, models, transport_output=speaker)
    heard = HeardByTheAggregator(h.interview.aggregators.user())
    h.interview.worker.add_observer(heard)
    return h, speaker, heard


def spoken_in_full(line: str, *, first: str, last: str) -> bool:
    """The agent's recorded line (Pipecat records only what was played) runs from `first` to `last`."""
    said, head, tail = words(line), words(first), words(last)
    return said[: len(head)] == head and said[-len(tail) :] == tail


def greeting_in_full(line: str) -> bool:
    return spoken_in_full(line, first=GREETING_START, last=f"{CONSENT_NOTICE} {CONSENT_QUESTION}")


def warm_up_in_full(h: InterviewHarness, line: str) -> bool:
    return spoken_in_full(line, first="Great, let's begin.", last=h.interview.flow.plan.warm_up)


def warm_up_heard_out(h: InterviewHarness, speaker: RealTimeSpeakerDouble) -> bool:
    return len(h.agent_lines) >= 2 and not speaker.speaking


def candidate_texts(h: InterviewHarness) -> list[str]:
    return [s.text for s in h.segments if s.speaker == "candidate"]


async def test_okay_during_the_greeting_neither_interrupts_nor_consents(
    new_session: NewSession,
    cp_client: ControlPlaneClient,
    settings: Settings,
    speech_models: OfflineSpeechModels,
    tmp_path: Path,
) -> None:
    created = await new_session()
    h, speaker, heard = observed_harness(created, settings, cp_client, speech_models)
    async with h:
        await listen_until(h, lambda: speaker.played_s >= 3.6, 60, "3.6 s of the greeting")
        await h.candidate_speaks(espeak_pcm("Okay.", tmp_path))
        await hear_out_the_greeting(h, speaker)
        # The VAD took it for speech (which used to interrupt); its transcript, if the STT kept one, is
        # no answer.
        assert heard.speech_starts >= 1
        # The greeting with its consent notice was spoken in full, and nothing was taken as an answer.
        assert speaker.interruptions == 0
        assert greeting_in_full(h.agent_lines[0]), h.agent_lines[0]
        assert candidate_texts(h) == []
        assert h.interview.flow.current_node == "greeting"
        # The candidate's real answer is the one turn that moves the interview on.
        await h.candidate_speaks(silence(0.5) + espeak_pcm(CONSENT, tmp_path))
        await listen_until(h, lambda: h.interview.flow.current_node == "warm_up", 30, "the warm-up")
    texts = candidate_texts(h)
    assert len(texts) == 1, texts
    assert word_error_rate(CONSENT, texts[0]) <= 0.35, texts[0]


async def test_real_words_over_the_greeting_become_the_turn_after_it(
    new_session: NewSession,
    cp_client: ControlPlaneClient,
    settings: Settings,
    speech_models: OfflineSpeechModels,
    tmp_path: Path,
) -> None:
    created = await new_session()
    said = "Wait, who will see this recording?"
    h, speaker, _heard = observed_harness(created, settings, cp_client, speech_models)
    async with h:
        await listen_until(h, lambda: speaker.played_s >= 3.6, 60, "3.6 s of the greeting")
        await h.candidate_speaks(espeak_pcm(said, tmp_path))
        await listen_until(h, lambda: len(h.agent_lines) >= 2, 60, "the agent's reply after the greeting")
    assert speaker.interruptions == 0
    assert greeting_in_full(h.agent_lines[0]), h.agent_lines[0]
    texts = candidate_texts(h)
    assert len(texts) == 1, texts
    assert word_error_rate(said, texts[0]) <= 0.4, texts[0]
    # The turn comes after the whole greeting, and the agent answered it.
    kinds = [s.speaker for s in h.segments]
    assert kinds[:3] == ["agent", "candidate", "agent"], h.segments


async def test_mm_hmm_during_the_warm_up_question_is_not_an_answer(
    new_session: NewSession,
    cp_client: ControlPlaneClient,
    settings: Settings,
    speech_models: OfflineSpeechModels,
    tmp_path: Path,
) -> None:
    created = await new_session()
    h, speaker, heard = observed_harness(created, settings, cp_client, speech_models)
    async with h:
        await consent_and_reach_warm_up(h, speaker, tmp_path)
        starts_before = heard.speech_starts
        # The consent turn, which the VAD started while the agent was silent, interrupted nothing audible.
        interruptions_before = speaker.interruptions
        start = speaker.played_s
        await listen_until(h, lambda: speaker.played_s >= start + 1.0, 30, "1 s of the warm-up question")
        await h.candidate_speaks(espeak_pcm("Mm-hmm, right.", tmp_path))
        await listen_until(h, lambda: warm_up_heard_out(h, speaker), 60, "the end of the warm-up question")
        assert heard.speech_starts > starts_before, "the VAD did not take the backchannel for speech"
        assert speaker.interruptions == interruptions_before
        assert warm_up_in_full(h, h.agent_lines[1]), h.agent_lines[1]
        assert len(candidate_texts(h)) == 1  # the consent only
        assert h.interview.flow.current_node == "warm_up"
        answer = "I am building a billing service in Python."
        await h.candidate_speaks(silence(0.5) + espeak_pcm(answer, tmp_path))
        await listen_until(h, lambda: h.interview.flow.current_node == "question_1", 30, "question 1")
    texts = candidate_texts(h)
    assert len(texts) == 2, texts
    assert word_error_rate(answer, texts[1]) <= 0.4, texts[1]


async def test_a_throat_clear_during_a_question_does_not_interrupt(
    new_session: NewSession,
    cp_client: ControlPlaneClient,
    settings: Settings,
    speech_models: OfflineSpeechModels,
    tmp_path: Path,
) -> None:
    created = await new_session()
    h, speaker, heard = observed_harness(created, settings, cp_client, speech_models)
    async with h:
        await consent_and_reach_warm_up(h, speaker, tmp_path)
        starts_before = heard.speech_starts
        # The consent turn, which the VAD started while the agent was silent, interrupted nothing audible.
        interruptions_before = speaker.interruptions
        start = speaker.played_s
        await listen_until(h, lambda: speaker.played_s >= start + 1.0, 30, "1 s of the warm-up question")
        # A breath, then a throat-clear: the noise that Whisper heard as "Heh, heh, heh."
        await h.candidate_speaks(pink_noise(1.0) + espeak_pcm("ahem", tmp_path))
        await listen_until(h, lambda: warm_up_heard_out(h, speaker), 60, "the end of the warm-up question")
        assert heard.speech_starts > starts_before, "the VAD did not take the noise for speech"
        assert speaker.interruptions == interruptions_before
        assert warm_up_in_full(h, h.agent_lines[1]), h.agent_lines[1]
        assert len(candidate_texts(h)) == 1  # the consent only
        assert h.interview.flow.current_node == "warm_up"
