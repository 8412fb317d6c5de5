"""Keyword recall of offline Whisper (tiny.en) on technical answers, before and after biasing it toward
the session's vocabulary (agent.vocabulary through faster-whisper `hotwords`, as the agent does), in two
voices: the agent's Piper voice (joe-us) and espeak-ng. Also tried: the same vocabulary as an
`initial_prompt`, and what each costs on silence and noise (hallucinations) and in time.

Recall: the share of keyword occurrences (PostgreSQL, idempotent, backend, ...) found in the transcript,
case-insensitive, ignoring spaces and hyphens ("Post-gres" is not "PostgreSQL"; "back-end" is "backend").
WER: word error rate against the sentence. Audio is deterministic (fixed voices, fixed text), so the
numbers are stable run to run; only the ms columns vary.

Usage: CODEVOICE_ENV=dev .venv/bin/python bench/keyword_recall.py [--voices piper,espeak]
"""

from __future__ import annotations

import agent  # noqa: F401  (offline switches before Pipecat loads)

# isort: split

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import numpy.typing as npt
from faster_whisper import WhisperModel
from faster_whisper.transcribe import Segment

from agent.speech import load_offline_speech_models, rare_to_whisper, transcribe
from agent.transcription import Thresholds, judge
from agent.vocabulary import SessionVocabulary
from control_plane.settings import get_settings
from tests.agent.audio import espeak_pcm, pink_noise, silence, word_error_rate
from tests.agent.technical_answers import ANSWERS, ROLE_AND_TOPICS, keyword_hits, piper_pcm


def bench_vocabulary() -> SessionVocabulary:
    """The session vocabulary of a backend interview whose planned questions use the answers' terms."""
    terms = tuple(dict.fromkeys(keyword for _, keywords in ANSWERS for keyword in keywords))
    return SessionVocabulary(head=ROLE_AND_TOPICS, terms=terms)


def _samples(pcm: bytes) -> npt.NDArray[np.float32]:
    padded = silence(0.3) + pcm + silence(0.3)
    return np.frombuffer(padded, np.int16).astype(np.float32) / 32768.0


def run(model: WhisperModel, voice_pcm: list[bytes], **options: str) -> tuple[float, float, float, int]:
    """(recall, mean WER, ms per turn, turns rejected) over ANSWERS."""
    hits = total = rejected = 0
    wers: list[float] = []
    started = time.perf_counter()
    thresholds = Thresholds.from_settings(get_settings().speech)
    for (sentence, keywords), pcm in zip(ANSWERS, voice_pcm, strict=True):
        segments = _transcribe(model, _samples(pcm), **options)
        verdict = judge(segments, thresholds, len(pcm) / 32000)
        text = verdict.text if verdict.rejection is None else ""
        rejected += verdict.rejection is not None
        hits += keyword_hits(text, keywords)
        total += len(keywords)
        wers.append(word_error_rate(sentence, text))
    ms = (time.perf_counter() - started) * 1000 / len(ANSWERS)
    return hits / total, sum(wers) / len(wers), ms, rejected


def _transcribe(
    model: WhisperModel, samples: npt.NDArray[np.float32], *, hotwords: str = "", prompt: str = ""
) -> list[Segment]:
    if prompt:
        segments, _ = model.transcribe(
            samples, language="en", word_timestamps=True, initial_prompt=prompt, temperature=0.0
        )
        return list(segments)
    return transcribe(model, samples, hotwords)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--voices", default="piper,espeak")
    args = parser.parse_args()
    models = load_offline_speech_models(get_settings().speech)
    assert models.whisper is not None
    assert models.piper_voice is not None
    hotwords = bench_vocabulary().hotwords(rare_to_whisper(models.whisper))
    print(f"vocabulary ({len(hotwords)} chars): {hotwords}\n")
    workdir = Path(tempfile.mkdtemp(prefix="keyword-recall-"))
    print(f"{'voice':7} {'bias':9} {'recall':>6} {'WER':>5} {'ms/turn':>7} {'rejected':>8}")
    for voice in args.voices.split(","):
        if voice == "piper":
            audio = [piper_pcm(models.piper_voice, sentence) for sentence, _ in ANSWERS]
        else:
            audio = [espeak_pcm(sentence, workdir) for sentence, _ in ANSWERS]
        for bias, options in (
            ("none", {}),
            ("hotwords", {"hotwords": hotwords}),
            ("prompt", {"prompt": hotwords}),
        ):
            recall, wer, ms, rejected = run(models.whisper, audio, **options)
            print(f"{voice:7} {bias:9} {recall:6.2f} {wer:5.2f} {ms:7.0f} {rejected:8d}")
    print("\nhallucinations on non-speech (transcript kept by agent.transcription.judge, or rejected):")
    thresholds = Thresholds.from_settings(get_settings().speech)
    for name, pcm in (("silence 3 s", silence(3.0)), ("pink noise 2 s", pink_noise(2.0))):
        for bias, options in (
            ("none", {}),
            ("hotwords", {"hotwords": hotwords}),
            ("prompt", {"prompt": hotwords}),
        ):
            segments = _transcribe(models.whisper, _samples(pcm), **options)
            verdict = judge(segments, thresholds, len(pcm) / 32000)
            raw = " ".join(s.text.strip() for s in segments)
            print(f"  {name:15} {bias:9} raw={raw!r:40} kept={verdict.rejection is None}")


if __name__ == "__main__":
    main()
