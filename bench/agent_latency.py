"""Interviewer latency and cost per session, for 1, 10, 25 and 50 concurrent simulated candidates.

Each session runs in its own process, as the worker runs jobs: the real interview pipeline (audio
normaliser, real Silero VAD and Smart Turn v3, user aggregator, scripted interviewer, Pipecat Flows),
with zero-latency doubles where
the cost is someone else's: an STT double that returns the candidate's known words at the end of the
segment, and a TTS double that returns 100 ms of audio at once. A simulated candidate streams real
espeak-ng speech at real-time pace (20 ms frames), then silence until the agent's first audio arrives.

Reported per level: end-of-speech -> first agent audio (p50/p95, measured from the candidate's last
speech frame, so it includes the VAD stop time and Smart Turn's decision); "rel": from the moment the
turn is released (user turn stopped) to the first agent audio, i.e. the pipeline's own share; CPU % and
RSS per session (CPU % is of one core); turns completed (a turn counts when the agent's audio
arrives within 15 s of the end of speech; an overloaded machine falls behind real time and completes
none). No WebRTC here: bench/agent_webrtc.py measures the same turns through the real worker and
livekit-server.

With --real-models the doubles give way to the real offline Whisper tiny.en and Piper voice.

Usage: CODEVOICE_ENV=dev .venv/bin/python bench/agent_latency.py [--levels 1,10,25,50] [--turns 4]
       CODEVOICE_ENV=dev .venv/bin/python bench/agent_latency.py --real-models --levels 1,5
"""

from __future__ import annotations

import agent  # noqa: F401  (offline switches before Pipecat loads)

# isort: split

import argparse
import asyncio
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import wave
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
from loguru import logger as loguru_logger
from pipecat.frames.frames import Frame, InputAudioRawFrame, TranscriptionFrame, TTSAudioRawFrame
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.services.settings import STTSettings, TTSSettings
from pipecat.services.stt_service import SegmentedSTTService
from pipecat.services.tts_service import TTSService
from pipecat.utils.time import time_now_iso8601

from agent.control_plane_client import TranscriptSegment
from agent.interview import InterviewIO, build_interview
from agent.metadata import InterviewSession
from agent.pipeline import TurnTaking, create_turn_analyzer, create_vad_analyzer
from agent.planner import plan_by_rules
from agent.question_bank import default_question_bank
from agent.speech import create_stt, create_tts, load_offline_speech_models
from agent.transcript import TranscriptRecorder
from control_plane.log import configure as configure_logging
from control_plane.settings import LogSettings, get_settings

RATE = 16000
FRAME_BYTES = RATE * 20 // 1000 * 2
ANSWERS = (
    "Yes, I am ready to begin.",
    "I build payment services in Python and Postgres at a small company.",
    "I would use processes for CPU bound work and asyncio for many network calls.",
    "An index is a sorted structure, so the database avoids scanning the whole table.",
    "I would add the column first, copy the data in batches, and switch the reads later.",
)


def espeak(text: str, workdir: Path) -> bytes:
    raw, out = workdir / "raw.wav", workdir / "out.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(raw), text], check=True)
    subprocess.run(["sox", str(raw), "-r", str(RATE), "-c", "1", "-b", "16", str(out)], check=True)
    with wave.open(str(out), "rb") as wav:
        return wav.readframes(wav.getnframes())


class CountingSink:
    """Stands in for the control plane: counts the transcript segments it is sent."""

    def __init__(self) -> None:
        self.segments = 0

    async def append_transcript(self, session_id: uuid.UUID, segments: Sequence[TranscriptSegment]) -> int:
        self.segments += len(segments)
        return len(segments)


@dataclass
class Candidate:
    speech: list[bytes]
    current_text: str = ""
    first_audio: asyncio.Event = field(default_factory=asyncio.Event)
    latencies_s: list[float] = field(default_factory=list)
    turn_released_at: float = 0.0
    pipeline_latencies_s: list[float] = field(default_factory=list)
    turns_completed: int = 0


class ZeroLatencySTT(SegmentedSTTService):
    """STT double: the candidate's own words, the moment the speech segment ends."""

    def __init__(self, candidate: Candidate) -> None:
        super().__init__(settings=STTSettings(model="double", language=None))
        self._candidate = candidate

    def can_generate_metrics(self) -> bool:
        return True

    async def run_stt(self, audio: bytes) -> AsyncGenerator[Frame | None, None]:
        yield TranscriptionFrame(self._candidate.current_text, "candidate", time_now_iso8601())


class ZeroLatencyTTS(TTSService):
    """TTS double: 100 ms of quiet audio per sentence, at once."""

    def __init__(self) -> None:
        super().__init__(
            push_start_frame=True,
            push_stop_frames=True,
            settings=TTSSettings(model=None, voice=None, language=None),
        )

    def can_generate_metrics(self) -> bool:
        return True

    async def run_tts(self, text: str, context_id: str) -> AsyncGenerator[Frame, None]:
        async def audio() -> AsyncIterator[bytes]:
            yield b"\x10\x00" * (RATE // 10)

        async for frame in self._stream_audio_frames_from_iterator(
            audio(), in_sample_rate=RATE, context_id=context_id
        ):
            yield frame


class FirstAudioProbe(FrameProcessor):
    """Where the output transport would be: notes the agent's audio reaching the candidate."""

    def __init__(self, candidate: Candidate) -> None:
        super().__init__()
        self._candidate = candidate

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, TTSAudioRawFrame) and not self._candidate.first_audio.is_set():
            if self._candidate.turn_released_at:
                self._candidate.pipeline_latencies_s.append(
                    time.monotonic() - self._candidate.turn_released_at
                )
                self._candidate.turn_released_at = 0.0
            self._candidate.first_audio.set()
        await self.push_frame(frame, direction)


def speech_io(candidate: Candidate, real_models: bool) -> tuple[Any, Any]:
    """Zero-latency doubles, or the real offline Whisper and Piper the agent runs without an API key."""
    if not real_models:
        return ZeroLatencySTT(candidate), ZeroLatencyTTS()
    settings = get_settings()
    models = load_offline_speech_models(settings.speech)
    return create_stt(settings.speech, models), create_tts(settings.speech, models)


async def run_session(
    speech: list[bytes],
    turns: int,
    sink: CountingSink,
    start_gate: Callable[[], Awaitable[None]] | None = None,
    real_models: bool = False,
) -> Candidate:
    """One interview: build it, hear the greeting, pass the start gate, then answer `turns` times."""
    settings = get_settings()
    candidate = Candidate(speech=speech)
    session = InterviewSession(
        session_id=uuid.uuid4(),
        role="Backend Engineer",
        seniority="senior",
        topics=["python", "databases"],
        duration_minutes=30,
    )
    turn_taking = TurnTaking.from_settings(settings.agent)
    stt, tts = speech_io(candidate, real_models)
    interview = build_interview(
        plan=plan_by_rules(session, default_question_bank()),
        settings=settings,
        io=InterviewIO(stt=stt, tts=tts, transport_output=FirstAudioProbe(candidate)),
        recorder=TranscriptRecorder(sink, session.session_id),  # type: ignore[arg-type]
        vad_analyzer=create_vad_analyzer(turn_taking),
        turn_analyzer=create_turn_analyzer(turn_taking),
        llm_mode=False,
        enable_rtvi=False,
    )

    async def turn_released(*_args: object) -> None:
        candidate.turn_released_at = time.monotonic()

    interview.aggregators.user().add_event_handler("on_user_turn_stopped", turn_released)
    running = asyncio.create_task(interview.run())
    await asyncio.sleep(0.1)
    await interview.start_interview()
    silence = bytes(FRAME_BYTES)

    async def push(chunk: bytes) -> None:
        await interview.worker.queue_frame(InputAudioRawFrame(audio=chunk, sample_rate=RATE, num_channels=1))

    try:
        await asyncio.wait_for(candidate.first_audio.wait(), 120)  # the greeting
        if start_gate is not None:
            await start_gate()  # every session is built and greeted: measure from here
        for turn in range(turns):
            await asyncio.sleep(0.3)
            candidate.first_audio.clear()
            candidate.current_text = ANSWERS[turn % len(ANSWERS)]
            pcm = speech[turn % len(speech)]
            started = time.monotonic()
            for offset in range(0, len(pcm), FRAME_BYTES):
                await push(pcm[offset : offset + FRAME_BYTES])
                # Real-time pace, without drift: frame n leaves at started + n * 20 ms.
                await asyncio.sleep(max(0.0, started + (offset // FRAME_BYTES + 1) * 0.02 - time.monotonic()))
            end_of_speech = time.monotonic()
            deadline = end_of_speech + 15.0
            while not candidate.first_audio.is_set() and time.monotonic() < deadline:
                await push(silence)
                await asyncio.sleep(0.02)
            if candidate.first_audio.is_set():
                candidate.latencies_s.append(time.monotonic() - end_of_speech)
                candidate.turns_completed += 1
    finally:
        await interview.end("cancelled")
        await asyncio.wait_for(running, 30)
    return candidate


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@dataclass
class SessionReport:
    latencies_s: list[float]
    pipeline_latencies_s: list[float]
    turns_completed: int
    cpu_s: float
    wall_s: float
    rss_mb: float
    segments: int


def session_process(
    speech: list[bytes], turns: int, go: Any, ready: Any, results: Any, real_models: bool = False
) -> None:
    """One interview in its own process, as the worker runs jobs; starts when the parent says go."""
    loguru_logger.remove()
    loguru_logger.add(sys.stderr, level="ERROR")
    configure_logging(LogSettings(level="ERROR", json=False))
    process = psutil.Process()

    async def run() -> None:
        sink = CountingSink()
        started: list[float] = []

        async def start_gate() -> None:
            ready.put(os.getpid())
            while not go.is_set():
                await asyncio.sleep(0.01)
            started.extend((sum(process.cpu_times()[:2]), time.monotonic()))

        candidate = await run_session(speech, turns, sink, start_gate, real_models)
        cpu_before, wall_before = started
        results.put(
            SessionReport(
                latencies_s=candidate.latencies_s,
                pipeline_latencies_s=candidate.pipeline_latencies_s,
                turns_completed=candidate.turns_completed,
                cpu_s=sum(process.cpu_times()[:2]) - cpu_before,
                wall_s=time.monotonic() - wall_before,
                rss_mb=process.memory_info().rss / 2**20,
                segments=sink.segments,
            )
        )

    asyncio.run(run())


def run_level(sessions: int, turns: int, speech: list[bytes], real_models: bool = False) -> dict[str, float]:
    context = multiprocessing.get_context("forkserver")
    go, ready, results = context.Event(), context.Queue(), context.Queue()
    workers = [
        context.Process(
            target=session_process, args=(speech, turns, go, ready, results, real_models), daemon=True
        )
        for _ in range(sessions)
    ]
    for worker in workers:
        worker.start()
    for _ in workers:  # every session is built and has greeted: start the candidates together
        ready.get(timeout=600)
    go.set()
    reports: list[SessionReport] = [results.get(timeout=900) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
    latencies = [lat for r in reports for lat in r.latencies_s]
    pipeline = [lat for r in reports for lat in r.pipeline_latencies_s]
    return {
        "sessions": sessions,
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p95_ms": percentile(latencies, 0.95) * 1000,
        "turn_p50_ms": percentile(pipeline, 0.50) * 1000,
        "turn_p95_ms": percentile(pipeline, 0.95) * 1000,
        "cpu_pct_per_session": statistics.mean(100 * r.cpu_s / r.wall_s for r in reports),
        "cpu_pct_total": sum(100 * r.cpu_s / r.wall_s for r in reports),
        "rss_mb_per_session": statistics.mean(r.rss_mb for r in reports),
        "rss_mb_total": sum(r.rss_mb for r in reports),
        "turns_completed": sum(r.turns_completed for r in reports),
        "turns_attempted": sessions * turns,
        "segments": sum(r.segments for r in reports),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--levels", default="1,10,25,50")
    parser.add_argument("--turns", type=int, default=4)
    parser.add_argument(
        "--real-models", action="store_true", help="real offline Whisper tiny.en and Piper instead of doubles"
    )
    args = parser.parse_args()
    loguru_logger.remove()  # Pipecat's per-frame debug logging would dominate the CPU figures
    configure_logging(LogSettings(level="ERROR", json=False))
    with tempfile.TemporaryDirectory() as tmp:
        speech = [espeak(text, Path(tmp)) for text in ANSWERS]
    print(
        f"machine: {psutil.cpu_count()} CPUs, one process per session (as the worker runs jobs); "
        f"turn-taking: {TurnTaking.from_settings(get_settings().agent)}"
    )
    header = (
        f"{'sessions':>8} {'p50 ms':>8} {'p95 ms':>8} {'rel p50':>8} {'rel p95':>8} "
        f"{'CPU%/sess':>10} {'CPU% tot':>9} "
        f"{'RSS MB/sess':>11} {'RSS MB':>7} {'turns':>9}"
    )
    print(header, flush=True)
    for level in (int(x) for x in args.levels.split(",")):
        row = run_level(level, args.turns, speech, args.real_models)
        print(
            f"{row['sessions']:>8.0f} {row['p50_ms']:>8.0f} {row['p95_ms']:>8.0f} {row['turn_p50_ms']:>8.0f} "
            f"{row['turn_p95_ms']:>8.0f} {row['cpu_pct_per_session']:>10.1f} "
            f"{row['cpu_pct_total']:>9.1f} {row['rss_mb_per_session']:>11.1f} {row['rss_mb_total']:>7.0f} "
            f"{row['turns_completed']:>4.0f}/{row['turns_attempted']:<4.0f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
