"""Technical answers a backend candidate gives, with the keywords tiny.en mishears: shared by
bench/keyword_recall.py and tests/agent/test_stt_vocabulary.py."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from piper import PiperVoice

ROLE_AND_TOPICS = ("Backend", "Engineer", "databases", "apis", "system design")
# (sentence, its keywords): answers a backend candidate gives, with the words tiny.en mishears.
ANSWERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("We store orders in PostgreSQL and keep sessions in Redis.", ("PostgreSQL", "Redis")),
    ("The payment endpoint is idempotent, so a retry cannot charge twice.", ("idempotent",)),
    ("I worked on the backend for five years, mostly in Python.", ("backend", "Python")),
    ("We deploy every service to Kubernetes with a rolling update.", ("Kubernetes",)),
    ("The mobile team wanted GraphQL instead of REST.", ("GraphQL", "REST")),
    ("Our frontend is written in TypeScript and talks to a Go backend.", ("TypeScript", "backend")),
    ("The p99 latency went down after we added a cache.", ("latency", "cache")),
    ("We started sharding the users table by tenant id.", ("sharding", "tenant")),
    ("Events go through Kafka and a consumer writes them to PostgreSQL.", ("Kafka", "PostgreSQL")),
    ("Services call each other over gRPC with deadlines on every request.", ("gRPC",)),
    ("Tokens are issued with OAuth and expire after fifteen minutes.", ("OAuth",)),
    ("A write-ahead log lets the replica catch up after a crash.", ("write-ahead", "replica")),
    ("I would make the consumer idempotent and store the message offset.", ("idempotent", "offset")),
    ("Redis is our rate limiter, with a sliding window per API key.", ("Redis", "API")),
    ("We run PostgreSQL with two read replicas and a connection pooler.", ("PostgreSQL", "replicas")),
    (
        "The backend exposes a GraphQL schema generated from TypeScript types.",
        ("backend", "GraphQL", "TypeScript"),
    ),
    ("Sharding by customer kept the latency flat as we grew.", ("Sharding", "latency")),
    ("Kubernetes restarts the pod when the health check fails.", ("Kubernetes",)),
)  # fmt: skip


def _norm(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def keyword_hits(transcript: str, keywords: tuple[str, ...]) -> int:
    heard = _norm(transcript)
    return sum(_norm(keyword) in heard for keyword in keywords)


def piper_pcm(voice: PiperVoice | None, text: str) -> bytes:
    """`text` in the agent's Piper voice, as 16-bit PCM resampled to Whisper's 16 kHz."""
    assert voice is not None, "the Piper voice was not loaded"
    audio = np.concatenate([chunk.audio_float_array for chunk in voice.synthesize(text)])
    rate = voice.config.sample_rate
    positions = np.arange(0, len(audio), rate / 16000)
    resampled = np.interp(positions, np.arange(len(audio)), audio)
    pcm: bytes = (np.clip(resampled, -1, 1) * 32767).astype(np.int16).tobytes()
    return pcm
