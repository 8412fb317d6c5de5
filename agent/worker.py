"""The livekit-agents worker: registers as `codevoice-interviewer` for explicit dispatch and runs jobs.

Start it with `python -m agent start` (production: drains on SIGTERM) or `python -m agent dev`.
Each job runs in its own process (forkserver); prewarm loads the speech, VAD and Smart Turn models once
per process. On SIGTERM the worker stops taking jobs and lets running interviews finish, for at most
`settings.agent.drain_timeout_s`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from pathlib import Path

import structlog
from livekit.agents import AgentServer, JobRequest, cli
from livekit.agents.ipc.job_executor import JobExecutor, JobStatus

from agent.control_plane_client import ControlPlaneError
from agent.job import control_plane_client, prewarm, run_interview_job
from agent.metadata import InvalidDispatchMetadataError, parse_dispatch_metadata
from agent.transcript_journal import replay_journals
from control_plane.log import configure as configure_logging
from control_plane.settings import Settings, settings_or_exit

logger = structlog.get_logger(__name__)

AGENT_DISPLAY_NAME = "CodeVoice interviewer"


def create_agent_server(settings: Settings) -> AgentServer:
    agent_name = settings.livekit.agent_name

    async def accept_job(request: JobRequest) -> None:
        # A unique identity per job, so two interviews never collide in a room or in logs.
        await request.accept(name=AGENT_DISPLAY_NAME, identity=f"{agent_name}-{request.id}")

    max_interviews = max(1, settings.agent.max_concurrent_interviews)

    def interview_load(server: AgentServer) -> float:
        # Load is the share of interview slots in use, not CPU: model loading spikes the CPU for a few
        # seconds, and a CPU-based load would turn candidates away from an idle worker.
        return min(1.0, len(server.active_jobs) / max_interviews)

    server = AgentServer(
        ws_url=settings.livekit.url,
        api_key=settings.livekit.api_key,
        api_secret=settings.livekit.api_secret,
        setup_fnc=prewarm,
        drain_timeout=settings.agent.drain_timeout_s,
        # Loading Whisper, Piper, Silero and Smart Turn takes several seconds on a small machine.
        initialize_process_timeout=120.0,
        shutdown_process_timeout=30.0,
        port=0,
        load_fnc=interview_load,
        load_threshold=0.99,
        num_idle_processes=max(0, settings.agent.idle_processes),
    )
    server.rtc_session(run_interview_job, agent_name=agent_name, on_request=accept_job)
    report_dead_jobs(server, settings)
    return server


JOB_DIED_REASON = "The interviewer's job process died (exit code {code}) before the interview ended"


def report_dead_jobs(server: AgentServer, settings: Settings) -> None:
    """A job process that dies mid-interview (killed, out of memory, a crash in native code) cannot
    report anything itself; the worker process that supervised it reports `fail` for its session.

    A job that ends normally exits 0 after reporting `complete`, so only abnormal exits are reported; the
    control plane ignores a `fail` for a session that is already failed (e.g. by the agent-left webhook).
    """
    reports: set[asyncio.Task[None]] = set()

    async def report(session_id: uuid.UUID, job_id: str, code: int | None) -> None:
        logger.error("worker.job_process_died", job_id=job_id, session_id=str(session_id), exit_code=code)
        # Built in a thread: creating its TLS context blocks for a while, and this loop supervises jobs.
        async with await asyncio.to_thread(control_plane_client, settings) as client:
            # The dead job's journal holds the turns it had not delivered, and its lock died with it: send
            # them now rather than when this machine happens to get its next interview.
            try:
                await replay_journals(Path(settings.agent.transcript_spool_dir), client)
            except OSError as exc:
                logger.error("worker.replay_failed", session_id=str(session_id), error=str(exc))
            with contextlib.suppress(ControlPlaneError):
                await client.fail(session_id, JOB_DIED_REASON.format(code=code))

    def on_process_closed(proc: JobExecutor) -> None:
        running = proc.running_job
        if running is None or proc.status != JobStatus.FAILED:
            return
        try:
            session = parse_dispatch_metadata(running.job.metadata)
        except InvalidDispatchMetadataError:
            return
        code: int | None = getattr(proc, "exitcode", None)
        task = asyncio.get_running_loop().create_task(report(session.session_id, running.job.id, code))
        reports.add(task)
        task.add_done_callback(reports.discard)

    def on_worker_started() -> None:
        # livekit-agents 1.8.6 creates its process pool in run() and has no public hook for a job
        # process's exit; the pool's `process_closed` event is the one the worker itself listens to.
        server._proc_pool.on("process_closed", on_process_closed)

    server.on("worker_started", on_worker_started)


def main() -> None:
    settings = settings_or_exit("agent")
    configure_logging(settings.log)
    # livekit-agents' CLI reads these for `ctx.api`; the values come from our one settings module.
    os.environ["LIVEKIT_URL"] = settings.livekit.url
    os.environ["LIVEKIT_API_KEY"] = settings.livekit.api_key
    os.environ["LIVEKIT_API_SECRET"] = settings.livekit.api_secret
    cli.run_app(create_agent_server(settings))
