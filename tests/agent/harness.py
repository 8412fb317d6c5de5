"""Drives an InterviewPipeline without a room: candidate turns go in as Pipecat frames (Pipecat's
external turn strategy), and the agent's turns come back through the real transcript recorder."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from types import TracebackType

from pipecat.audio.turn.base_turn_analyzer import BaseTurnAnalyzer
from pipecat.audio.vad.vad_analyzer import VADAnalyzer
from pipecat.frames.frames import (
    InputAudioRawFrame,
    TranscriptionFrame,
    UserStartedSpeakingFrame,
    UserStoppedSpeakingFrame,
)
from pipecat.processors.frame_processor import FrameProcessor
from pipecat.turns.user_turn_strategies import ExternalUserTurnStrategies

from agent.control_plane_client import ControlPlaneClient, TranscriptSegment
from agent.interview import InterviewIO, build_interview
from agent.metadata import InterviewSession
from agent.pipeline import InterviewPipeline, TurnTaking, create_turn_analyzer, create_vad_analyzer
from agent.planner import InterviewPlan, plan_by_rules
from agent.question_bank import default_question_bank
from agent.speech import OfflineSpeechModels, create_stt, create_tts
from agent.transcript import TranscriptRecorder
from agent.vocabulary import session_vocabulary
from control_plane.settings import Settings


class FakeClock:
    """A clock the test moves by hand, so time-based flow rules are tested without waiting."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class InterviewHarness:
    def __init__(
        self,
        *,
        session: InterviewSession,
        plan: InterviewPlan,
        settings: Settings,
        client: ControlPlaneClient,
        llm_mode: bool = False,
        llm: object | None = None,
        clock: Callable[[], float] | None = None,
        io: InterviewIO | None = None,
        vad_analyzer: VADAnalyzer | None = None,
        turn_analyzer: BaseTurnAnalyzer | None = None,
        on_finished: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.recorder = TranscriptRecorder(client, session.session_id)
        self.interview: InterviewPipeline = build_interview(
            plan=plan,
            settings=settings,
            io=io or InterviewIO(),
            recorder=self.recorder,
            vad_analyzer=vad_analyzer,
            turn_analyzer=turn_analyzer,
            llm=llm,  # type: ignore[arg-type]
            llm_mode=llm_mode,
            clock=clock or time.monotonic,
            # Without a turn analyzer, candidate turns are marked by the test (Pipecat's external strategy).
            user_turn_strategies=None if turn_analyzer is not None else ExternalUserTurnStrategies(),
            on_finished=on_finished,
        )
        self._run: asyncio.Task[str] | None = None

    async def __aenter__(self) -> InterviewHarness:
        self._run = asyncio.create_task(self.interview.run())
        await asyncio.sleep(0.05)
        await self.interview.start_interview()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._run is not None and not self._run.done():
            await self.interview.end("cancelled")
            await asyncio.wait_for(self._run, 20)
        await self.recorder.flush(20)
        await self.recorder.aclose()

    @property
    def agent_lines(self) -> list[str]:
        return [s.text for s in self.recorder.recorded if s.speaker == "agent"]

    @property
    def segments(self) -> list[TranscriptSegment]:
        return list(self.recorder.recorded)

    async def wait_for_agent_lines(self, count: int, timeout: float = 20.0) -> list[str]:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self.agent_lines) < count:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"expected {count} agent turns, got {self.agent_lines}")
            await asyncio.sleep(0.02)
        return self.agent_lines

    async def wait_until_node(self, node: str, timeout: float = 20.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while self.interview.flow.current_node != node:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"flow stuck at {self.interview.flow.current_node}, wanted {node}")
            await asyncio.sleep(0.02)

    async def candidate_says(self, text: str, *, then_agent_lines: int | None = None) -> None:
        """One finished candidate turn; optionally wait until the agent has spoken that many turns."""
        await self.interview.worker.queue_frames(
            [
                UserStartedSpeakingFrame(),
                TranscriptionFrame(text=text, user_id="candidate", timestamp=""),
                UserStoppedSpeakingFrame(),
            ]
        )
        if then_agent_lines is not None:
            await self.wait_for_agent_lines(then_agent_lines)

    async def candidate_speaks(self, pcm: bytes, *, rate: int = 16000, channels: int = 1) -> None:
        """Stream audio into the pipeline at real-time pace, in 20 ms frames, as a microphone would."""
        size = rate * 20 // 1000 * 2 * channels
        for start in range(0, len(pcm), size):
            frame = InputAudioRawFrame(
                audio=pcm[start : start + size], sample_rate=rate, num_channels=channels
            )
            await self.interview.worker.queue_frame(frame)
            await asyncio.sleep(0.02)

    async def finished(self, timeout: float = 30.0) -> str:
        assert self._run is not None
        return await asyncio.wait_for(self._run, timeout)


def spoken_harness(
    created_session: object,
    settings: Settings,
    client: ControlPlaneClient,
    models: OfflineSpeechModels,
    transport_output: FrameProcessor | None = None,
) -> InterviewHarness:
    """The interview with real offline speech and real turn-taking (Silero VAD + Smart Turn v3)."""
    session = created_session.session  # type: ignore[attr-defined]
    turn_taking = TurnTaking.from_settings(settings.agent)
    plan = plan_by_rules(session, default_question_bank())
    return InterviewHarness(
        session=session,
        plan=plan,
        settings=settings,
        client=client,
        io=InterviewIO(
            stt=create_stt(settings.speech, models, vocabulary=session_vocabulary(plan)),
            tts=create_tts(settings.speech, models),
            transport_output=transport_output,
        ),
        vad_analyzer=create_vad_analyzer(turn_taking),
        turn_analyzer=create_turn_analyzer(turn_taking),
    )
