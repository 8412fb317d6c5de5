"""Speech through Pipecat's services: real offline Piper and faster-whisper (tiny.en), and the OpenAI
providers pointed at an OpenAI-compatible speech server (a double on loopback)."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pipecat.frames.frames import (
    InputAudioRawFrame,
    TranscriptionFrame,
    TTSAudioRawFrame,
    TTSSpeakFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.pipeline.worker import PipelineParams
from pipecat.tests.utils import run_test

from agent.speech import (
    OfflineSpeechModels,
    SpeechConfigurationError,
    create_stt,
    create_tts,
    validate_providers,
)
from control_plane.settings import Settings, SpeechSettings
from tests.agent.audio import RATE, chunks, espeak_pcm, rms, word_error_rate
from tests.support.openai_speech_double import OpenAISpeechDouble

GREETING = (
    "Hello, and thank you for joining. I'm the CodeVoice interviewer for the Backend Engineer role. "
    "Are you ready to begin?"
)


async def transcribe(settings: SpeechSettings, models: OfflineSpeechModels, pcm: bytes) -> str:
    stt = create_stt(settings, models)
    frames = [
        VADUserStartedSpeakingFrame(),
        *[InputAudioRawFrame(audio=c, sample_rate=RATE, num_channels=1) for c in chunks(pcm)],
        VADUserStoppedSpeakingFrame(),
    ]
    down, _ = await run_test(stt, frames_to_send=frames)
    return " ".join(f.text for f in down if isinstance(f, TranscriptionFrame))


async def test_piper_speaks_the_greeting_and_whisper_understands_it(
    settings: Settings, speech_models: OfflineSpeechModels
) -> None:
    tts = create_tts(settings.speech, speech_models)
    down, _ = await run_test(
        tts,
        frames_to_send=[TTSSpeakFrame(GREETING)],
        pipeline_params=PipelineParams(audio_out_sample_rate=RATE),
    )
    audio = b"".join(f.audio for f in down if isinstance(f, TTSAudioRawFrame))
    seconds = len(audio) / 2 / RATE
    assert 4.0 < seconds < 20.0, seconds
    assert rms(audio) > 500  # spoken, not silence

    heard = await transcribe(settings.speech, speech_models, audio)
    assert word_error_rate(GREETING, heard) <= 0.25, heard


async def test_whisper_transcribes_a_candidate_answer_spoken_by_espeak(
    settings: Settings, speech_models: OfflineSpeechModels, tmp_path: Path
) -> None:
    answer = "I would add an index on the customer id column and check the query plan."
    heard = await transcribe(settings.speech, speech_models, espeak_pcm(answer, tmp_path))
    assert word_error_rate(answer, heard) <= 0.35, heard


@pytest.fixture
async def speech_server() -> AsyncIterator[OpenAISpeechDouble]:
    double = OpenAISpeechDouble(text="I would shard by customer.", tone_ms=250)
    await double.start()
    yield double
    await double.stop()


def self_hosted(settings: Settings, base_url: str) -> SpeechSettings:
    return dataclasses.replace(
        settings.speech,
        stt_provider="openai",
        tts_provider="openai",
        openai_api_key=None,
        openai_base_url=base_url,
    )


async def test_openai_speech_providers_use_a_self_hosted_server(
    settings: Settings, speech_server: OpenAISpeechDouble, tmp_path: Path
) -> None:
    speech = self_hosted(settings, speech_server.base_url)
    answer = espeak_pcm("I would split the table by customer.", tmp_path)

    heard = await transcribe(speech, OfflineSpeechModels(), answer)
    assert heard == "I would shard by customer."
    [upload] = speech_server.transcriptions
    assert upload.model == settings.speech.openai_stt_model
    assert abs(upload.audio_seconds - len(answer) / 2 / RATE) < 0.1

    down, _ = await run_test(
        create_tts(speech, OfflineSpeechModels()),
        frames_to_send=[TTSSpeakFrame("Tell me about sharding.")],
        pipeline_params=PipelineParams(audio_out_sample_rate=RATE),
    )
    frames = [f for f in down if isinstance(f, TTSAudioRawFrame)]
    # OpenAI's pcm is 24 kHz, and Pipecat passes it on at that rate.
    assert abs(sum(len(f.audio) / 2 / f.sample_rate for f in frames) - 0.25) < 0.03
    assert rms(b"".join(f.audio for f in frames)) > 1000
    [spoken] = speech_server.speeches
    assert (spoken.text, spoken.voice, spoken.model) == (
        "Tell me about sharding.",
        settings.speech.openai_tts_voice,
        settings.speech.openai_tts_model,
    )


def test_openai_speech_without_a_key_or_server_is_a_configuration_error(settings: Settings) -> None:
    speech = dataclasses.replace(
        settings.speech, tts_provider="openai", openai_api_key=None, openai_base_url=None
    )
    with pytest.raises(SpeechConfigurationError, match="CODEVOICE_SPEECH_BASE_URL"):
        validate_providers(speech)
