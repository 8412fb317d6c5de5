"""Turn-taking with real audio (Silero VAD, Smart Turn v3, Whisper, Piper) through the interview pipeline.

- Barge-in: the candidate talks while the agent is speaking; the interruption reaches the audio output
  and the agent stops talking over the candidate, then the candidate's words become a turn.
- A thinking pause (longer than the VAD's stop time, shorter than the turn stop timeout, both from
  AgentSettings) does not end the candidate's turn: both halves of the answer are one turn.

The audio output is a double of the transport's speaker: a Pipecat output transport that plays audio at
real-time pace into memory (the real one writes to a LiveKit track), so the agent is "speaking" for as long
as its audio lasts, and interruptions work exactly as Pipecat's output transport implements them.
"""

from __future__ import annotations

from pathlib import Path

from pipecat.frames.frames import (
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
from control_plane.settings import Settings
from tests.agent.audio import espeak_pcm, silence, word_error_rate
from tests.agent.conftest import NewSession
from tests.agent.harness import spoken_harness

TRAILING_SILENCE_S = 3.5  # longer than the VAD stop time plus Smart Turn's own wait


class RealTimeSpeakerDouble(BaseOutputTransport):
    """Plays the agent's audio at real-time pace into memory and notes what reaches it."""

    def __init__(self) -> None:
        super().__init__(TransportParams(audio_out_enabled=True))
        self.played_bytes = 0
        self.bytes_per_second = 32000
        self.interruptions = 0
        self.played_at_interruption: list[int] = []

    async def start(self, frame: StartFrame) -> None:
        await super().start(frame)
        self.bytes_per_second = self.sample_rate * 2
        await self.set_transport_ready(frame)

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        if isinstance(frame, InterruptionFrame):
            self.interruptions += 1
            self.played_at_interruption.append(self.played_bytes)
        await super().process_frame(frame, direction)

    async def write_audio_frame(self, frame: OutputAudioRawFrame) -> bool:
        import asyncio

        if any(frame.audio):  # silence padding is not the agent speaking
            self.played_bytes += len(frame.audio)
        await asyncio.sleep(len(frame.audio) / (frame.sample_rate * 2 * frame.num_channels))
        return True

    @property
    def played_s(self) -> float:
        return self.played_bytes / self.bytes_per_second


async def wait_until(predicate: object, timeout: float, what: str) -> None:
    import asyncio

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():  # type: ignore[operator]
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def test_candidate_speech_interrupts_the_speaking_agent(
    new_session: NewSession,
    cp_client: ControlPlaneClient,
    settings: Settings,
    speech_models: OfflineSpeechModels,
    tmp_path: Path,
) -> None:
    created = await new_session()
    speaker = RealTimeSpeakerDouble()
    said = "Yes, I am ready to begin the interview."
    answer = espeak_pcm(said, tmp_path)
    half = len(answer) // 4 * 2  # on a sample boundary
    async with spoken_harness(created, settings, cp_client, speech_models, transport_output=speaker) as h:
        # The greeting is several seconds long; talk over it once the agent is audibly speaking.
        await wait_until(lambda: speaker.played_s > 0.6, 30, "the agent to start speaking")
        assert speaker.interruptions == 0
        await h.candidate_speaks(answer[:half])
        assert speaker.interruptions >= 1, "candidate speech did not interrupt the agent"
        await h.candidate_speaks(answer[half:])
        # The agent went quiet: while the candidate finished talking, (almost) none of it was played.
        played_after_interruption = speaker.played_bytes - speaker.played_at_interruption[0]
        await h.candidate_speaks(silence(TRAILING_SILENCE_S))
        await h.wait_until_node("warm_up", timeout=30)
        await h.wait_for_agent_lines(1)
    assert played_after_interruption / speaker.bytes_per_second < 0.25
    # The candidate's words are one turn, and the agent answers it with the next question. (Pipecat
    # records only what was played, sentence by sentence: a greeting cut off in its first sentence leaves
    # no agent segment.)
    candidate = [s for s in h.segments if s.speaker == "candidate"]
    assert len(candidate) == 1, h.segments
    assert word_error_rate(said, candidate[0].text) <= 0.4, candidate[0].text
    assert h.segments[-1].speaker == "agent"
    assert h.segments.index(candidate[0]) < len(h.segments) - 1


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
        await h.wait_for_agent_lines(1)  # the greeting, played to the end
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
