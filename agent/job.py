"""One interview job: from the dispatch to a complete transcript and a clean `ctx.shutdown`.

The job reads the session from the dispatch metadata, tells the control plane the session is live, runs
the Pipecat pipeline in the room through Pipecat's LiveKitTransport (joining with the job's own token, so
the bot is an agent participant with `lk.agent.name`), and ends when the interview ends, the room closes,
or the candidate leaves and does not rejoin within the grace period (CODEVOICE_CANDIDATE_REJOIN_GRACE_S;
agent.rejoin_grace). A candidate who rejoins in time hears the open question again. The session's
`end_reason` records why it ended.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import structlog
from livekit import rtc
from pipecat.transports.livekit.transport import LiveKitParams, LiveKitTransport

from agent.control_plane_client import (
    ControlPlaneClient,
    ControlPlaneError,
    ControlPlaneRejectedError,
    RetryPolicy,
)
from agent.flow import WRAP_UP
from agent.interview import InterviewIO, build_interview, make_plan
from agent.job_context import report_room_joined
from agent.livekit_conventions import LiveKitConventions
from agent.metadata import InvalidDispatchMetadataError, parse_dispatch_metadata
from agent.pipeline import TurnTaking, create_turn_analyzer, create_vad_analyzer
from agent.rejoin_grace import RejoinGrace
from agent.speech import OfflineSpeechModels, create_stt, create_tts, load_offline_speech_models
from agent.transcript import TranscriptRecorder
from agent.transcript_journal import TranscriptJournal, replay_journals
from agent.vocabulary import session_vocabulary
from control_plane.log import configure as configure_logging
from control_plane.settings import get_settings

if TYPE_CHECKING:
    from livekit.agents import JobContext, JobProcess
    from pipecat.audio.turn.base_turn_analyzer import BaseTurnAnalyzer
    from pipecat.audio.vad.vad_analyzer import VADAnalyzer

    from agent.metadata import InterviewSession
    from agent.pipeline import EndReason, InterviewPipeline
    from control_plane.settings import Settings

logger = structlog.get_logger(__name__)

PREWARM_KEY = "codevoice.prewarmed"
TRANSCRIPT_FLUSH_TIMEOUT_S = 30.0


@dataclass
class PrewarmedModels:
    """Loaded once per worker process by prewarm, then used by the job that process runs."""

    speech: OfflineSpeechModels
    vad: VADAnalyzer
    turn_analyzer: BaseTurnAnalyzer


def load_prewarmed_models(settings: Settings) -> PrewarmedModels:
    turn_taking = TurnTaking.from_settings(settings.agent)
    return PrewarmedModels(
        speech=load_offline_speech_models(settings.speech),
        vad=create_vad_analyzer(turn_taking),
        turn_analyzer=create_turn_analyzer(turn_taking),
    )


def prewarm(proc: JobProcess) -> None:
    """livekit-agents runs this once in each job process before it takes a job."""
    settings = get_settings()
    configure_logging(settings.log)
    proc.userdata[PREWARM_KEY] = load_prewarmed_models(settings)
    logger.info("worker.prewarmed", pid=proc.pid)


def control_plane_client(settings: Settings) -> ControlPlaneClient:
    socket = settings.agent.control_plane_socket
    return ControlPlaneClient(
        settings.agent.control_plane_url,
        settings.auth.agent_service_token,
        timeout_s=settings.agent.control_plane_timeout_s,
        retry=RetryPolicy(
            max_attempts=settings.agent.control_plane_max_attempts,
            base_delay_s=settings.agent.control_plane_backoff_s,
            max_delay_s=settings.agent.control_plane_backoff_max_s,
        ),
        transport=httpx.AsyncHTTPTransport(uds=socket) if socket else None,
    )


def _job_url_and_token(ctx: JobContext, settings: Settings) -> tuple[str, str]:
    # livekit-agents 1.8.6 has no public accessor for the job's room token; ctx.connect() reads the same
    # fields. The token was minted for this job: kind agent, unique identity, the lk.agent.name attribute.
    info = ctx._info
    return info.url or settings.livekit.url, info.token


def session_end_reason(flow_reason: str | None, end_reason: EndReason | None) -> str:
    """What the session records as why the interview ended (`end_reason` on `complete`): the flow's
    wrap-up reason (`completed`, `consent_declined`, `time_up`, `silence`, ...) when the interview
    wrapped up, else the pipeline's (`candidate_left`, `room_closed`, `idle`, ...)."""
    if end_reason in (None, "interview_finished"):
        return flow_reason or "completed"
    return end_reason


def _room_of(transport: LiveKitTransport) -> rtc.Room:
    # Pipecat 1.4's LiveKitTransport has no public accessor for its rtc.Room (created at pipeline setup).
    return transport._client.room


class RoomJoinError(RuntimeError):
    """The interviewer never got into the room with its audio published, so nobody could hear it."""


class SessionReporter:
    """Reports the end of the session once: every turn delivered first, then `complete`. A session the
    control plane already holds as final (cancelled, or failed by a webhook) keeps that status."""

    def __init__(
        self, client: ControlPlaneClient, recorder: TranscriptRecorder, session_id: uuid.UUID
    ) -> None:
        self._client = client
        self._recorder = recorder
        self._session_id = session_id
        self.completed = False

    async def complete(self, end_reason: str | None = None) -> None:
        """Deliver every turn, then report `complete` with `end_reason` (see `session_end_reason`).

        Raises:
            ControlPlaneError: turns left undelivered, or the control plane refused or stayed unreachable.
        """
        if self.completed:
            return
        if not await self._recorder.flush(TRANSCRIPT_FLUSH_TIMEOUT_S):
            raise ControlPlaneError(
                f"{self._recorder.undelivered} transcript segments could not be delivered"
            )
        try:
            await self._client.complete(self._session_id, end_reason=end_reason)
        except ControlPlaneRejectedError as exc:
            if not exc.session_is_final:
                raise
            logger.info("job.session_already_final", session_id=str(self._session_id), error=str(exc))
        self.completed = True


async def run_interview_job(ctx: JobContext) -> None:
    settings = get_settings()
    log = logger.bind(job_id=ctx.job.id, room=ctx.job.room.name)
    try:
        session = parse_dispatch_metadata(ctx.job.metadata)
    except InvalidDispatchMetadataError as exc:
        log.error("job.invalid_metadata", reason=exc.reason, metadata=exc.raw_excerpt)
        if exc.session_id is not None:
            # Otherwise the candidate waits in a silent room for an interviewer that never comes.
            async with control_plane_client(settings) as client:
                with contextlib.suppress(ControlPlaneError):
                    await client.fail(exc.session_id, f"Invalid interview description: {exc.reason}")
        ctx.shutdown(reason="invalid dispatch metadata")
        return
    log = log.bind(session_id=str(session.session_id))
    prewarmed: PrewarmedModels | None = ctx.proc.userdata.get(PREWARM_KEY)
    if prewarmed is None:
        log.warning("job.not_prewarmed")
        prewarmed = load_prewarmed_models(settings)
    shutdown_reason = "interview finished"
    spool = Path(settings.agent.transcript_spool_dir)
    async with control_plane_client(settings) as client:
        # What crashed jobs on this machine left behind, in the background: it must not delay the greeting.
        replay = asyncio.get_running_loop().create_task(replay_journals(spool, client))
        journal = TranscriptJournal(spool, session.session_id)
        recorder = TranscriptRecorder(client, session.session_id, journal=journal)
        reporter = SessionReporter(client, recorder, session.session_id)
        try:
            end_reason = await _run_in_room(
                ctx, session, settings, prewarmed, client, reporter, recorder, log
            )
            shutdown_reason = end_reason.replace("_", " ")
            # A no-op when the interview already reported before leaving (with its reason).
            await reporter.complete(end_reason)
            log.info("job.completed", reason=end_reason, segments=len(recorder.delivered))
        except Exception as exc:
            log.exception("job.failed")
            shutdown_reason = "interview failed"
            await recorder.flush(5.0)
            with contextlib.suppress(ControlPlaneError):
                await client.fail(session.session_id, f"{type(exc).__name__}: {exc}")
        finally:
            await recorder.aclose()
            # Turns a cancelled session refused are final; any other refusal is left for the next replay.
            settled = not recorder.rejected or recorder.session_closed.is_set()
            journal.close(delivered_all=recorder.undelivered == 0 and settled)
            with contextlib.suppress(Exception):
                if replayed := await asyncio.wait_for(replay, TRANSCRIPT_FLUSH_TIMEOUT_S):
                    log.warning("job.replayed_transcripts", segments=replayed)
    ctx.shutdown(reason=shutdown_reason)


async def _run_in_room(
    ctx: JobContext,
    session: InterviewSession,
    settings: Settings,
    prewarmed: PrewarmedModels,
    client: ControlPlaneClient,
    reporter: SessionReporter,
    recorder: TranscriptRecorder,
    log: Any,
) -> str:
    plan = await make_plan(session, settings)
    url, token = _job_url_and_token(ctx, settings)
    transport = LiveKitTransport(
        url=url,
        token=token,
        room_name=ctx.job.room.name,
        params=LiveKitParams(audio_in_enabled=True, audio_out_enabled=True),
    )
    io = InterviewIO(
        transport_input=transport.input(),
        transport_output=transport.output(),
        stt=create_stt(settings.speech, prewarmed.speech, vocabulary=session_vocabulary(plan)),
        tts=create_tts(settings.speech, prewarmed.speech),
        transport=transport,
    )

    async def report_before_leaving(end_reason: EndReason | None = None) -> None:
        # The control plane reads an agent leaving a live interview as a crash: report first.
        try:
            await reporter.complete(session_end_reason(interview.flow.wrap_up_reason, end_reason))
        except ControlPlaneError:
            log.exception("job.complete_failed")

    log_context = {"session_id": str(session.session_id)}
    # LiveKit's agent state and transcriptions, for LiveKit's own front ends (RTVI stays on too).
    conventions = LiveKitConventions(spoken_at=io.transport_output, log_context=log_context)
    interview = build_interview(
        plan=plan,
        settings=settings,
        io=io,
        recorder=recorder,
        vad_analyzer=prewarmed.vad,
        turn_analyzer=prewarmed.turn_analyzer,
        log_context=log_context,
        on_finished=report_before_leaving,
        extra_observers=[conventions],
    )
    background: set[asyncio.Task[None]] = set()
    rejoin = _rejoin_grace(interview, settings.agent.candidate_rejoin_grace_s, report_before_leaving, log)

    def in_background(coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        background.add(task)
        task.add_done_callback(background.discard)

    async def mark_live() -> None:
        try:
            await client.mark_live(session.session_id)
        except ControlPlaneRejectedError as exc:
            if not exc.session_is_final:
                log.exception("job.mark_live_failed")
                return
            # Cancelled before the interviewer arrived (the candidate held an earlier token): no interview.
            log.info("job.session_already_final", error=str(exc))
            await interview.end("session_closed")
        except ControlPlaneError:
            log.exception("job.mark_live_failed")

    # Pipecat fires on_connected only once the agent's audio track is published; a publish that fails is
    # logged and retried, but the retry finds the room connected and returns without a track.
    joined = asyncio.Event()
    join_timeout_s = settings.agent.room_join_timeout_s

    async def end_unless_joined() -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(joined.wait(), join_timeout_s)
            return
        log.error("job.join_failed", timeout_s=join_timeout_s)
        await interview.end("join_failed")

    @transport.event_handler("on_connected")
    async def on_connected(_transport: LiveKitTransport) -> None:
        joined.set()
        report_room_joined(ctx)
        conventions.attach(_room_of(transport))
        log.info("job.joined_room", identity=_room_of(transport).local_participant.identity, pid=os.getpid())
        in_background(mark_live())

    @transport.event_handler("on_first_participant_joined")
    async def on_first_participant_joined(_transport: LiveKitTransport, participant_id: str) -> None:
        # Pipecat fires this again when a candidate joins a room nobody else was in (a rejoin).
        log.info("job.candidate_joined", participant=participant_id)
        await rejoin.candidate_connected(participant_id)
        await interview.start_interview()

    def candidates() -> list[rtc.RemoteParticipant]:
        return [
            p
            for p in _room_of(transport).remote_participants.values()
            if p.kind != rtc.ParticipantKind.PARTICIPANT_KIND_AGENT
        ]

    @transport.event_handler("on_participant_connected")
    async def on_participant_connected(_transport: LiveKitTransport, participant_id: str) -> None:
        # Runs before on_first_participant_joined for the same connection, so the first one counts once.
        if any(p.sid == participant_id for p in candidates()):
            await rejoin.candidate_connected(participant_id)

    @transport.event_handler("on_participant_disconnected")
    async def on_participant_disconnected(_transport: LiveKitTransport, participant_id: str) -> None:
        # A reload, a lost connection or a second tab: the same identity usually comes back within
        # seconds (a second tab's newer connection right after livekit-server drops the older one with
        # DUPLICATE_IDENTITY), so the interview waits for it instead of ending. An interview already
        # wrapping up finishes its goodbye either way.
        if interview.end_reason is not None or interview.flow.current_node == WRAP_UP:
            return
        log.info("job.candidate_disconnected", participant=participant_id)
        await rejoin.candidate_left(candidates_present=bool(candidates()))

    @transport.event_handler("on_disconnected")
    async def on_disconnected(_transport: LiveKitTransport) -> None:
        # Our own disconnect at the end of a finished interview also lands here.
        if interview.end_reason is None and interview.flow.current_node != WRAP_UP:
            log.info("job.room_closed")
            await interview.end("room_closed")

    join_watch = asyncio.get_running_loop().create_task(end_unless_joined())
    try:
        end_reason = await interview.run()
    finally:
        rejoin.close()
        join_watch.cancel()
        await conventions.aclose()
    for task in list(background):
        with contextlib.suppress(Exception):
            await task
    if end_reason == "join_failed":
        raise RoomJoinError(
            f"the interviewer could not join the room with its audio within {join_timeout_s:g} s"
        )
    if end_reason == "session_closed":
        # The candidate must not wait in a room whose session is over.
        await ctx.delete_room()
    return session_end_reason(interview.flow.wrap_up_reason, end_reason)


def _rejoin_grace(
    interview: InterviewPipeline,
    grace_s: float,
    report_before_leaving: Callable[[EndReason], Awaitable[None]],
    log: Any,
) -> RejoinGrace:
    """While the candidate is away the interview holds (no silence prompts to an empty room; the session
    stays live); back in time, they hear the open question again; gone, the interview ends."""

    async def away() -> None:
        log.info("job.candidate_away", grace_s=grace_s, node=interview.flow.current_node)
        await interview.hold_for_candidate()

    async def back(away_s: float) -> None:
        log.info("job.candidate_rejoined", away_s=round(away_s, 1), node=interview.flow.current_node)
        await interview.welcome_back()

    async def gone() -> None:
        if interview.end_reason is not None or interview.flow.current_node == WRAP_UP:
            return  # already ending (the planned length ran out meanwhile, say): its reason stands
        log.info("job.candidate_left", grace_s=grace_s)
        await report_before_leaving("candidate_left")
        await interview.end("candidate_left")

    return RejoinGrace(grace_s, on_away=away, on_back=back, on_gone=gone)
