"""Turn-taking with real audio (Silero VAD, Smart Turn v3, Whisper, Piper) through the interview pipeline.

- Barge-in: the candidate says real words while the agent asks a question; the interruption reaches the
  audio output and the agent stops the question, then the candidate's words become a turn. (Backchannels,
  noise and the greeting, which are never interrupted, are in test_backchannel.py.)
- A thinking pause (longer than the VAD's stop time, shorter than the turn stop timeout, both from
  AgentSettings) does not end the candidate's turn: both halves of the answer are one turn.

The audio output is a double of the transport's speaker: a Pipecat output transport that plays audio at
real-time pace into memory (the real one writes to a LiveKit track), so the agent is "speaking" for as long
as its audio lasts, and interruptions work exactly as Pipecat's output transport implements them. The
candidate's microphone is continuous, as a real one is: between phrases the test streams silence.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    BotStoppedSpeakingFrame,
    Frame,
    InterruptionFrame,
    OutputAudioRawFrame,
    StartFrame,
)
from pipecat.processors.frame_processor import FrameDirection
from pipecat.transports.base_output import BaseOutputTransport
from pipecat.transports.base_transport import TransportParams

from agent.control_plane_client import ControlPlaneClient
from agent.speech import OfflineSpeechModels
from agent.turn_start import real_words
from control_plane.settings import Settings
from tests.agent.audio import espeak_pcm, silence, word_error_rate, words
from tests.agent.conftest import NewSession
from tests.agent.harness import InterviewHarness, spoken_harness

TRAILING_SILENCE_S = 3.5  # longer than the VAD stop time plus Smart Turn's own wait
CONSENT = "Yes, I am ready to begin the interview."


class RealTimeSpeakerDouble(BaseOutputTransport):
    """Plays the agent's audio at real-time pace into memory and notes what reaches it."""

    def __init__(self) -> None:
        super().__init__(TransportParams(audio_out_enabled=True))
        self.played_bytes = 0
        self.bytes_per_second = 32000
        self.interruptions = 0
        self.played_at_interruption: list[int] = []
        self.bot_stops = 0  # BotStoppedSpeakingFrames: the agent's audio has ended
        self.speaking = False

    async def start(self, frame: StartFrame) -> None:
        await super().start(frame)
        self.bytes_per_second = self.sample_rate * 2
        await self.set_transport_ready(frame)

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        if isinstance(frame, InterruptionFrame):
            self.interruptions += 1
            self.played_at_interruption.append(self.played_bytes)
        await super().process_frame(frame, direction)

    async def push_frame(self, frame: Frame, direction: FrameDirection = FrameDirection.DOWNSTREAM) -> None:
        if isinstance(frame, BotStartedSpeakingFrame) and direction == FrameDirection.UPSTREAM:
            self.speaking = True
        if isinstance(frame, BotStoppedSpeakingFrame) and direction == FrameDirection.UPSTREAM:
            self.bot_stops += 1
            self.speaking = False
        await super().push_frame(frame, direction)

    async def write_audio_frame(self, frame: OutputAudioRawFrame) -> bool:
        if any(frame.audio):  # silence padding is not the agent speaking
            self.played_bytes += len(frame.audio)
        await asyncio.sleep(len(frame.audio) / (frame.sample_rate * 2 * frame.num_channels))
        return True

    @property
    def played_s(self) -> float:
        return self.played_bytes / self.bytes_per_second


async def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def listen_until(h: InterviewHarness, predicate: Callable[[], bool], timeout: float, what: str) -> None:
    """The candidate's microphone stays open (silence, 20 ms frames at real-time pace) until `predicate`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            said = [(s.speaker, s.text) for s in h.segments]
            raise AssertionError(f"timed out waiting for {what}; transcript so far: {said}")
        await h.candidate_speaks(silence(0.1))


async def hear_out_the_greeting(h: InterviewHarness, speaker: RealTimeSpeakerDouble) -> None:
    """Listen until the greeting's audio has ended (its line is recorded a little before that)."""
    await listen_until(h, lambda: len(h.agent_lines) >= 1 and not speaker.speaking, 90, "the greeting")


async def consent_and_reach_warm_up(
    h: InterviewHarness, speaker: RealTimeSpeakerDouble, tmp_path: Path
) -> None:
    """Hear the greeting out, consent, and wait until the warm-up question is about to be spoken."""
    await hear_out_the_greeting(h, speaker)
    await h.candidate_speaks(silence(0.5) + espeak_pcm(CONSENT, tmp_path))
    await listen_until(h, lambda: h.interview.flow.current_node == "warm_up", 60, "the warm-up node")


async def test_real_words_interrupt_the_agents_question(
    new_session: NewSession,
    cp_client: ControlPlaneClient,
    settings: Settings,
    speech_models: OfflineSpeechModels,
    tmp_path: Path,
) -> None:
    created = await new_session()
    speaker = RealTimeSpeakerDouble()
    said = "Sorry, say again?"
    assert len(real_words(said)) >= settings.agent.barge_in_min_words
    async with spoken_harness(created, settings, cp_client, speech_models, transport_output=speaker) as h:
        await consent_and_reach_warm_up(h, speaker, tmp_path)
        question = f"Great, let's begin. {h.interview.flow.plan.warm_up}"
        # Talk over the warm-up question as soon as it is audible. With a segmented STT (Whisper) the words
        # are known only once the candidate pauses, so the barge-in lands a few seconds into the question.
        start = speaker.played_s
        await listen_until(h, lambda: speaker.played_s > start, 30, "the question to be spoken")
        before = speaker.interruptions  # the consent turn's, while the agent was silent
        await h.candidate_speaks(espeak_pcm(said, tmp_path))
        await listen_until(h, lambda: speaker.interruptions > before, 30, "the barge-in")
        # The agent stopped: the question it had begun is recorded only as far as it was played.
        await listen_until(h, lambda: len(h.agent_lines) >= 3, 30, "the agent's reply to the candidate")
    interrupted = h.agent_lines[1]
    assert words(interrupted) == words(question)[: len(words(interrupted))], interrupted
    assert len(words(interrupted)) < len(words(question)), "the question was played in full"
    # The candidate's words are one turn (after the consent), and the agent answered it.
    candidate = [s for s in h.segments if s.speaker == "candidate"]
    assert len(candidate) == 2, [s.text for s in candidate]
    assert word_error_rate(said, candidate[1].text) <= 0.4, candidate[1].text
    assert h.segments[-1].speaker == "agent"
    assert h.segments.index(candidate[1]) < len(h.segments) - 1


async def test_a_thinking_pause_does_not_end_the_candidates_turn(
    new_session: NewSession,
    cp_client: ControlPlaneClient,
    settings: Settings,
    speech_models: OfflineSpeechModels,
    tmp_path: Path,
) -> None:
    agent = settings.agent
    # Longer than the VAD needs to call it silence, shorter than the turn stop timeout.
    pause_s = (agent.vad_stop_secs + agent.turn_stop_timeout_s) / 2
    assert agent.vad_stop_secs < pause_s < agent.turn_stop_timeout_s
    created = await new_session()
    speaker = RealTimeSpeakerDouble()
    first, second = "Yes, I am ready, but first,", "could you tell me how long this interview takes?"
    async with spoken_harness(created, settings, cp_client, speech_models, transport_output=speaker) as h:
        await hear_out_the_greeting(h, speaker)
        await h.candidate_speaks(silence(1.0))
        await h.candidate_speaks(
            espeak_pcm(first, tmp_path)
            + silence(pause_s)
            + espeak_pcm(second, tmp_path)
            + silence(TRAILING_SILENCE_S)
        )
        await h.wait_for_agent_lines(2)
    candidate = [s for s in h.segments if s.speaker == "candidate"]
    assert len(candidate) == 1, [s.text for s in candidate]
    assert word_error_rate(f"{first} {second}", candidate[0].text) <= 0.4, candidate[0].text
