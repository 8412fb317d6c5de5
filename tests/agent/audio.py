"""Real test audio: espeak-ng speech resampled by sox, plus the bad inputs the agent must survive."""

from __future__ import annotations

import re
import subprocess
import wave
from pathlib import Path

import numpy as np

RATE = 16000
FRAME_MS = 20


def espeak_pcm(
    text: str,
    workdir: Path,
    *,
    rate: int = RATE,
    channels: int = 1,
    speed: int = 150,
    voice: str = "en-us",
) -> bytes:
    """Speak `text` with espeak-ng (`voice`: en-us, or fr / de / es ...) and return 16-bit PCM at `rate`
    with `channels` channels."""
    raw = workdir / f"espeak-{abs(hash((text, speed, voice)))}.wav"
    out = workdir / f"speech-{abs(hash((text, rate, channels, speed, voice)))}.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(raw), text], check=True)
    subprocess.run(
        ["sox", str(raw), "-r", str(rate), "-c", str(channels), "-b", "16", "-e", "signed-integer", str(out)],
        check=True,
    )
    with wave.open(str(out), "rb") as wav:
        return wav.readframes(wav.getnframes())


def silence(seconds: float, *, rate: int = RATE, channels: int = 1) -> bytes:
    return bytes(int(seconds * rate) * 2 * channels)


def white_noise(seconds: float, *, rate: int = RATE, amplitude: int = 6000, seed: int = 7) -> bytes:
    generator = np.random.default_rng(seed)
    return generator.integers(-amplitude, amplitude, int(seconds * rate), dtype=np.int16).tobytes()


def pink_noise(seconds: float, *, rate: int = RATE, level_rms: float = 1500.0, seed: int = 11) -> bytes:
    """Deterministic pink (1/f power) noise, like a breath or room rumble, at `level_rms` (int16 units).

    White noise from a seeded generator, shaped in the frequency domain by 1/sqrt(f) (so power falls as
    1/f), then scaled to the requested RMS and returned as 16-bit mono PCM at `rate`.
    """
    count = int(seconds * rate)
    spectrum = np.fft.rfft(np.random.default_rng(seed).standard_normal(count))
    freqs = np.fft.rfftfreq(count, d=1.0 / rate)
    spectrum[1:] /= np.sqrt(freqs[1:])
    spectrum[0] = 0.0
    shaped = np.fft.irfft(spectrum, n=count)
    shaped *= level_rms / max(float(np.sqrt(np.mean(shaped**2))), 1e-9)
    pcm: bytes = np.clip(shaped, -32768, 32767).astype(np.int16).tobytes()
    return pcm


def clipped(pcm: bytes, gain: float = 12.0) -> bytes:
    samples = np.frombuffer(pcm, np.int16).astype(np.float32) * gain
    out: bytes = np.clip(samples, -32768, 32767).astype(np.int16).tobytes()
    return out


def chunks(pcm: bytes, *, rate: int = RATE, channels: int = 1, frame_ms: int = FRAME_MS) -> list[bytes]:
    size = rate * frame_ms // 1000 * 2 * channels
    return [pcm[i : i + size] for i in range(0, len(pcm), size)]


def rms(pcm: bytes) -> float:
    samples = np.frombuffer(pcm, np.int16).astype(np.float64)
    return float(np.sqrt(np.mean(samples**2))) if samples.size else 0.0


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower().replace("-", " "))


def word_error_rate(reference: str, hypothesis: str) -> float:
    ref, hyp = words(reference), words(hypothesis)
    distance = list(range(len(hyp) + 1))
    for i, ref_word in enumerate(ref, start=1):
        previous, distance[0] = distance[0], i
        for j, hyp_word in enumerate(hyp, start=1):
            current = min(distance[j] + 1, distance[j - 1] + 1, previous + (ref_word != hyp_word))
            previous, distance[j] = distance[j], current
    return distance[len(hyp)] / max(1, len(ref))
