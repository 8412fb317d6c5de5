"""The interview pipeline with real audio in: Silero VAD + Smart Turn v3 decide the turns, Whisper
transcribes, Piper speaks. Also: bad audio (silence, noise, stereo 48 kHz, clipping) keeps it running."""

from __future__ import annotations

from pathlib import Path

from agent.control_plane_client import ControlPlaneClient
from agent.speech import OfflineSpeechModels
from control_plane.settings import Settings
from tests.agent.audio import clipped, espeak_pcm, silence, white_noise, word_error_rate
from tests.agent.conftest import NewSession
from tests.agent.harness import spoken_harness

TRAILING_SILENCE_S = 3.5  # longer than the VAD stop time plus Smart Turn's own wait


async def test_spoken_answer_becomes_a_candidate_turn_and_advances_the_flow(
    new_session: NewSession,
    cp_client: ControlPlaneClient,
    settings: Settings,
    speech_models: OfflineSpeechModels,
    tmp_path: Path,
) -> None:
    created = await new_session()
    async with spoken_harness(created, settings, cp_client, speech_models) as h:
        await h.wait_for_agent_lines(1)
        said = "Yes, I am ready to begin the interview."
        await h.candidate_speaks(espeak_pcm(said, tmp_path) + silence(TRAILING_SILENCE_S))
        await h.wait_until_node("warm_up")
        await h.wait_for_agent_lines(2)
    candidate = [s for s in h.segments if s.speaker == "candidate"]
    assert len(candidate) == 1
    assert word_error_rate(said, candidate[0].text) <= 0.35, candidate[0].text
    assert candidate[0].end_ms >= candidate[0].start_ms


async def test_bad_audio_does_not_take_the_interview_down(
    new_session: NewSession,
    cp_client: ControlPlaneClient,
    settings: Settings,
    speech_models: OfflineSpeechModels,
    tmp_path: Path,
) -> None:
    created = await new_session()
    async with spoken_harness(created, settings, cp_client, speech_models) as h:
        await h.wait_for_agent_lines(1)
        await h.candidate_speaks(silence(1.5))
        await h.candidate_speaks(white_noise(1.5))
        # Stereo at 48 kHz, as a misconfigured client might send: normalised to mono 16 kHz.
        await h.candidate_speaks(
            espeak_pcm("Yes, I am ready.", tmp_path, rate=48000, channels=2)
            + silence(TRAILING_SILENCE_S, rate=48000, channels=2),
            rate=48000,
            channels=2,
        )
        await h.wait_until_node("warm_up", timeout=30)
        # Heavily clipped speech still counts as a turn (or is ignored), and the pipeline keeps going.
        await h.candidate_speaks(
            clipped(espeak_pcm("I work on payment systems.", tmp_path)) + silence(TRAILING_SILENCE_S)
        )
        # A torn frame (odd byte count) is dropped by the normaliser, not raised.
        await h.candidate_speaks(b"\x01\x02\x03", rate=16000)
        await h.candidate_speaks(espeak_pcm("Thank you.", tmp_path) + silence(TRAILING_SILENCE_S))
        await h.wait_until_node("question_1", timeout=30)
        assert not h.interview.worker.has_finished()
