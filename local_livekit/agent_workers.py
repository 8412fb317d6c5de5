"""The agent worker hub: livekit-agents workers connect to `/agent` and receive jobs for explicit dispatches.

Protocol (livekit.protocol.agent, as livekit-server speaks it): the worker's first message is a
RegisterWorkerRequest and the first reply a RegisterWorkerResponse. For each job the server sends an
AvailabilityRequest, the worker answers with an AvailabilityResponse, and on "available" the server sends a
JobAssignment carrying a freshly minted job participant token (an empty url: the worker uses its own
LIVEKIT_URL). JobTermination ends a job when its room closes, its dispatch is deleted or its participant
leaves. Workers also send WorkerPing (answered with WorkerPong), UpdateWorkerStatus (status and load),
UpdateJobStatus, and after a reconnect MigrateJobRequest with the jobs they still run.

Dispatches come from a joining participant's RoomConfiguration (`room_configured`), from CreateRoom's
`agents`, and from AgentDispatchService.CreateDispatch. Like livekit-server, a worker registered without
an agent name gets no automatic jobs here; only explicit dispatch by agent name is supported.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import structlog
from aiohttp import WSMsgType, web
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from livekit.protocol import agent, agent_dispatch, models, room

from local_livekit import tokens
from local_livekit.contracts import RoomRegistry, ServerConfig

log = structlog.get_logger(__name__)

AGENT_PROTOCOL_VERSION = 1
# The same identity the signaling side reports in its JoinResponse.
SERVER_VERSION = "1.9.0"
SERVER_PROTOCOL = 16
REGISTER_TIMEOUT_S = 10.0
AVAILABILITY_TIMEOUT_S = 10.0
# How long a dispatch keeps looking for a worker that answers "available" before it gives up.
DISPATCH_RETRY_S = 60.0
DISPATCH_RETRY_POLL_S = 1.0
# How long the jobs of a disconnected worker wait for a reconnecting worker to claim them (MigrateJobRequest).
MIGRATION_GRACE_S = 5.0
AGENT_LEAVE_WAIT_S = 3.0
CLOSE_TIMEOUT_S = 2.0
HEARTBEAT_S = 30.0
_CLOSE_GOING_AWAY = 1001
_RESTART_ON_FAILURE = agent_dispatch.JobRestartPolicy.JRP_ON_FAILURE


class DispatchNotFoundError(LookupError):
    """No dispatch with that id in that room."""


class WorkerProtocolError(Exception):
    """A worker sent something the protocol does not allow at that point."""


class _WorkerClosedError(Exception):
    pass


class _Offer(Enum):
    ASSIGNED = "assigned"
    DECLINED = "declined"
    FINISHED = "finished"  # the worker answered terminate: the job needs no agent


@dataclass(eq=False)
class _Worker:
    id: str
    ws: web.WebSocketResponse
    use_json: bool
    api_key: str
    api_secret: str
    agent_name: str
    namespace: str
    job_type: agent.JobType
    deployment: str
    version: str
    permissions: models.ParticipantPermission
    status: agent.WorkerStatus = agent.WorkerStatus.WS_AVAILABLE
    load: float = 0.0
    job_ids: set[str] = field(default_factory=set)
    availability: dict[str, asyncio.Future[agent.AvailabilityResponse]] = field(default_factory=dict)
    send_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    closed: bool = False

    async def send(self, message: agent.ServerMessage) -> None:
        if self.closed:
            raise _WorkerClosedError(self.id)
        async with self.send_lock:
            try:
                if self.use_json:
                    await self.ws.send_str(json_format.MessageToJson(message, indent=None))
                else:
                    await self.ws.send_bytes(message.SerializeToString())
            except (ConnectionError, RuntimeError) as exc:
                raise _WorkerClosedError(self.id) from exc


@dataclass(eq=False)
class _JobRecord:
    job: agent.Job
    room_name: str
    worker_id: str | None

    @property
    def ended(self) -> bool:
        return self.job.state.status in (agent.JobStatus.JS_SUCCESS, agent.JobStatus.JS_FAILED)


@dataclass(eq=False)
class _Dispatch:
    info: agent_dispatch.AgentDispatch
    job_ids: list[str] = field(default_factory=list)
    launches: set[asyncio.Task[None]] = field(default_factory=set)


@dataclass(eq=False)
class _RoomAgents:
    dispatches: dict[str, _Dispatch] = field(default_factory=dict)
    configured: bool = False


def _now_ns() -> int:
    return time.time_ns()


class AgentHub:
    """Holds the connected workers and the rooms' dispatches; a RoomListener of the registry."""

    def __init__(
        self,
        registry: RoomRegistry,
        config: ServerConfig,
        *,
        dispatch_retry_s: float = DISPATCH_RETRY_S,
        availability_timeout_s: float = AVAILABILITY_TIMEOUT_S,
        migration_grace_s: float = MIGRATION_GRACE_S,
    ) -> None:
        self._registry = registry
        self._config = config
        self._dispatch_retry_s = dispatch_retry_s
        self._availability_timeout_s = availability_timeout_s
        self._migration_grace_s = migration_grace_s
        self._workers: dict[str, _Worker] = {}
        self._rooms: dict[str, _RoomAgents] = {}
        self._jobs: dict[str, _JobRecord] = {}
        self._workers_changed = asyncio.Event()
        # Agents whose dispatch was deleted: set when they leave their room.
        self._leaving: dict[tuple[str, str], asyncio.Event] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False
        self._server_info = models.ServerInfo(
            edition=models.ServerInfo.Edition.Standard,
            version=SERVER_VERSION,
            protocol=SERVER_PROTOCOL,
            region="local",
            node_id="local-livekit",
            agent_protocol=AGENT_PROTOCOL_VERSION,
        )

    # ----------------------------------------------------------------- dispatch API (AgentDispatchService)

    async def create_dispatch(
        self,
        room_info: models.Room,
        *,
        agent_name: str,
        metadata: str = "",
        attributes: dict[str, str] | None = None,
        restart_policy: agent_dispatch.JobRestartPolicy = _RESTART_ON_FAILURE,
        deployment: str = "",
    ) -> agent_dispatch.AgentDispatch:
        """Record a dispatch for the room and start looking for a worker; returns at once."""
        info = agent_dispatch.AgentDispatch(
            id=tokens.new_id("AD_"),
            agent_name=agent_name,
            room=room_info.name,
            metadata=metadata,
            restart_policy=restart_policy,
            deployment=deployment,
            attributes=attributes or {},
            state=agent_dispatch.AgentDispatchState(created_at=_now_ns()),
        )
        dispatch = _Dispatch(info=info)
        self._rooms.setdefault(room_info.name, _RoomAgents()).dispatches[info.id] = dispatch
        log.info("agent dispatch created", room=room_info.name, dispatch_id=info.id, agent_name=agent_name)
        self._launch(dispatch)
        return self._dispatch_proto(dispatch)

    def list_dispatches(self, room_name: str, dispatch_id: str = "") -> list[agent_dispatch.AgentDispatch]:
        room_agents = self._rooms.get(room_name)
        if room_agents is None:
            return []
        return [
            self._dispatch_proto(d)
            for d in room_agents.dispatches.values()
            if not dispatch_id or d.info.id == dispatch_id
        ]

    async def delete_dispatch(self, room_name: str, dispatch_id: str) -> agent_dispatch.AgentDispatch:
        """Forget the dispatch, stop its pending launches and end its jobs (their participants leave)."""
        room_agents = self._rooms.get(room_name)
        dispatch = room_agents.dispatches.pop(dispatch_id, None) if room_agents else None
        if dispatch is None:
            raise DispatchNotFoundError(f"dispatch ID not found: {dispatch_id}")
        for task in dispatch.launches:
            task.cancel()
        result = self._dispatch_proto(dispatch)
        result.state.deleted_at = _now_ns()
        records = [self._jobs[j] for j in dispatch.job_ids if j in self._jobs]
        self._spawn(self._end_deleted_jobs(records))
        log.info("agent dispatch deleted", room=room_name, dispatch_id=dispatch_id)
        return result

    # ----------------------------------------------------------------- RoomListener

    async def room_started(self, room_info: models.Room) -> None:
        return None

    async def room_finished(self, room_info: models.Room) -> None:
        room_agents = self._rooms.pop(room_info.name, None)
        if room_agents is None:
            return
        for dispatch in room_agents.dispatches.values():
            for task in dispatch.launches:
                task.cancel()
            for job_id in dispatch.job_ids:
                record = self._jobs.pop(job_id, None)
                if record is not None and not record.ended:
                    await self._terminate(record, agent.JobStatus.JS_SUCCESS, "")

    async def participant_joined(self, room_info: models.Room, participant: models.ParticipantInfo) -> None:
        return None

    async def participant_left(self, room_info: models.Room, participant: models.ParticipantInfo) -> None:
        left = self._leaving.get((room_info.name, participant.identity))
        if left is not None:
            left.set()
        record = self._job_for_participant(room_info.name, participant.identity)
        if record is not None:
            # As livekit-server: an agent that leaves its room ends its job.
            await self._terminate(record, agent.JobStatus.JS_FAILED, "agent worker left the room")

    async def track_published(
        self, room_info: models.Room, participant: models.ParticipantInfo, track: models.TrackInfo
    ) -> None:
        return None

    async def track_unpublished(
        self, room_info: models.Room, participant: models.ParticipantInfo, track: models.TrackInfo
    ) -> None:
        return None

    async def room_configured(self, room_info: models.Room, config: room.RoomConfiguration) -> None:
        """Dispatch the agents of a RoomConfiguration. livekit-server applies a room's configuration once,
        when the room is created, so only the first configuration that names agents counts."""
        if not config.agents:
            return
        room_agents = self._rooms.setdefault(room_info.name, _RoomAgents())
        if room_agents.configured:
            log.debug("room agents already configured", room=room_info.name)
            return
        room_agents.configured = True
        for room_dispatch in config.agents:
            await self.create_dispatch(
                room_info,
                agent_name=room_dispatch.agent_name,
                metadata=room_dispatch.metadata,
                attributes=dict(room_dispatch.attributes),
                restart_policy=room_dispatch.restart_policy,
                deployment=room_dispatch.deployment,
            )

    # ----------------------------------------------------------------- lifecycle

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for task in list(self._tasks):
            task.cancel()
        for room_agents in self._rooms.values():
            for dispatch in room_agents.dispatches.values():
                for task in dispatch.launches:
                    task.cancel()
        for worker in list(self._workers.values()):
            with contextlib.suppress(Exception):
                await worker.ws.close(code=_CLOSE_GOING_AWAY, message=b"server shutting down")
        pending = list(self._tasks)
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)

    # ----------------------------------------------------------------- WebSocket endpoint

    async def handle_websocket(self, request: web.Request) -> web.StreamResponse:
        # A short close handshake: a hung worker must not hold the server's shutdown for long. The heartbeat
        # notices a worker whose connection died without a close.
        ws = web.WebSocketResponse(timeout=CLOSE_TIMEOUT_S, heartbeat=HEARTBEAT_S)
        if not ws.can_prepare(request).ok:
            return web.Response(status=404, text="not a websocket request")
        try:
            token = tokens.bearer_token(request.headers.get("Authorization")) or request.query.get(
                "access_token"
            )
            if not token:
                raise tokens.TokenError("permissions denied")
            api_key, claims = tokens.verify_token(token, self._config.keys)
        except tokens.TokenError as exc:
            log.warning("agent worker rejected", reason=str(exc))
            return web.Response(status=401, text=str(exc))
        if claims.video is None or not claims.video.agent:
            log.warning("agent worker rejected", reason="token has no agent grant")
            return web.Response(status=401, text="permissions denied")
        secret = self._config.keys.secret_for(api_key) or ""
        if self._closed:
            return web.Response(status=503, text="server shutting down")

        await ws.prepare(request)
        worker: _Worker | None = None
        try:
            worker = await self._register(ws, api_key, secret)
            if worker is not None:
                await self._serve_worker(worker)
        except (_WorkerClosedError, ConnectionError):
            pass  # the worker went away mid-send: deregistered below like any disconnect
        except WorkerProtocolError as exc:
            log.warning(
                "agent worker protocol error", worker_id=worker.id if worker else None, error=str(exc)
            )
        finally:
            if worker is not None:
                self._deregister(worker)
            if not ws.closed:
                await ws.close()
        return ws

    async def _receive(
        self, ws: web.WebSocketResponse, wait_s: float | None
    ) -> tuple[agent.WorkerMessage, bool] | None:
        """The next WorkerMessage and whether it came as JSON text; None when the socket closed."""
        try:
            msg = await ws.receive(timeout=wait_s)
        except TimeoutError as exc:
            raise WorkerProtocolError("worker did not register in time") from exc
        if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
            return None
        message = agent.WorkerMessage()
        try:
            if msg.type == WSMsgType.BINARY:
                message.ParseFromString(msg.data)
                return message, False
            if msg.type == WSMsgType.TEXT:
                json_format.Parse(msg.data, message, ignore_unknown_fields=True)
                return message, True
        except (DecodeError, json_format.ParseError) as exc:
            raise WorkerProtocolError(f"undecodable worker message: {exc}") from exc
        raise WorkerProtocolError(f"unexpected websocket message type {msg.type!r}")

    async def _register(self, ws: web.WebSocketResponse, api_key: str, api_secret: str) -> _Worker | None:
        deadline = asyncio.get_running_loop().time() + REGISTER_TIMEOUT_S
        while True:
            remaining = max(0.0, deadline - asyncio.get_running_loop().time())
            received = await self._receive(ws, remaining)
            if received is None:
                return None
            message, use_json = received
            which = message.WhichOneof("message")
            if which == "ping":
                reply = agent.ServerMessage(pong=self._pong(message.ping))
                await _send_raw(ws, reply, use_json)
                continue
            if which != "register":
                raise WorkerProtocolError(f"expected register, got {which}")
            req = message.register
            if req.type not in agent.JobType.values():
                raise WorkerProtocolError(f"unknown job type {req.type}")
            permissions = models.ParticipantPermission()
            if req.HasField("allowed_permissions"):
                permissions.CopyFrom(req.allowed_permissions)
            else:
                permissions = models.ParticipantPermission(
                    can_subscribe=True, can_publish=True, can_publish_data=True, can_update_metadata=True
                )
            worker = _Worker(
                id=tokens.new_id("AW_"),
                ws=ws,
                use_json=use_json,
                api_key=api_key,
                api_secret=api_secret,
                agent_name=req.agent_name,
                namespace=req.namespace,
                job_type=req.type,
                deployment=req.deployment,
                version=req.version,
                permissions=permissions,
            )
            await worker.send(
                agent.ServerMessage(
                    register=agent.RegisterWorkerResponse(worker_id=worker.id, server_info=self._server_info)
                )
            )
            self._workers[worker.id] = worker
            self._workers_changed.set()
            log.info(
                "agent worker registered",
                worker_id=worker.id,
                agent_name=worker.agent_name,
                job_type=agent.JobType.Name(worker.job_type),
                version=worker.version,
            )
            return worker

    async def _serve_worker(self, worker: _Worker) -> None:
        while True:
            received = await self._receive(worker.ws, None)
            if received is None:
                return
            message, _ = received
            which = message.WhichOneof("message")
            if which == "ping":
                await worker.send(agent.ServerMessage(pong=self._pong(message.ping)))
            elif which == "update_worker":
                self._update_worker(worker, message.update_worker)
            elif which == "availability":
                future = worker.availability.get(message.availability.job_id)
                if future is None or future.done():
                    log.warning("availability answer for an unknown job", job_id=message.availability.job_id)
                else:
                    future.set_result(message.availability)
            elif which == "update_job":
                self._update_job(worker, message.update_job)
            elif which == "migrate_job":
                self._migrate_jobs(worker, list(message.migrate_job.job_ids))
            elif which == "register":
                raise WorkerProtocolError("worker registered twice")
            else:
                log.info("agent worker message ignored", worker_id=worker.id, message=which)

    @staticmethod
    def _pong(ping: agent.WorkerPing) -> agent.WorkerPong:
        return agent.WorkerPong(last_timestamp=ping.timestamp, timestamp=int(time.time() * 1000))

    def _update_worker(self, worker: _Worker, update: agent.UpdateWorkerStatus) -> None:
        if update.HasField("status") and update.status != worker.status:
            worker.status = update.status
            log.info(
                "agent worker status", worker_id=worker.id, status=agent.WorkerStatus.Name(update.status)
            )
        worker.load = update.load
        self._workers_changed.set()

    def _update_job(self, worker: _Worker, update: agent.UpdateJobStatus) -> None:
        record = self._jobs.get(update.job_id)
        if record is None or record.worker_id != worker.id or record.ended:
            # The room may have closed, or the job been terminated, before the worker's update.
            log.debug("job update for an unknown job", worker_id=worker.id, job_id=update.job_id)
            return
        state = record.job.state
        state.updated_at = _now_ns()
        state.status = update.status
        state.error = update.error
        if record.ended:
            state.ended_at = _now_ns()
            worker.job_ids.discard(update.job_id)
            log.info(
                "agent job ended",
                job_id=update.job_id,
                status=agent.JobStatus.Name(update.status),
                error=update.error,
            )

    def _migrate_jobs(self, worker: _Worker, job_ids: list[str]) -> None:
        """A reconnected worker reports the jobs it still runs: they are its jobs from now on."""
        for job_id in job_ids:
            record = self._jobs.get(job_id)
            if record is None or record.ended:
                log.info("migrated job is unknown or ended", worker_id=worker.id, job_id=job_id)
                continue
            previous = self._workers.get(record.worker_id) if record.worker_id else None
            if previous is not None and previous is not worker:
                previous.job_ids.discard(job_id)
            record.worker_id = worker.id
            record.job.state.worker_id = worker.id
            worker.job_ids.add(job_id)
            log.info("agent job migrated", worker_id=worker.id, job_id=job_id)

    def _deregister(self, worker: _Worker) -> None:
        worker.closed = True
        self._workers.pop(worker.id, None)
        self._workers_changed.set()
        for future in worker.availability.values():
            if not future.done():
                future.set_exception(_WorkerClosedError(worker.id))
        orphans = [job_id for job_id in worker.job_ids if job_id in self._jobs]
        for job_id in orphans:
            self._jobs[job_id].worker_id = None
        worker.job_ids.clear()
        log.info("agent worker disconnected", worker_id=worker.id, orphaned_jobs=orphans)
        if orphans and not self._closed:
            self._spawn(self._recover_orphans(orphans))

    async def _recover_orphans(self, job_ids: list[str]) -> None:
        """After the grace period, a job no worker claimed either keeps its agent in the room (nothing to do),
        or is restarted on another worker (restart policy JRP_ON_FAILURE), or ends as failed."""
        await asyncio.sleep(self._migration_grace_s)
        for job_id in job_ids:
            record = self._jobs.get(job_id)
            if record is None or record.ended or record.worker_id is not None:
                continue
            identity = record.job.state.participant_identity
            if self._registry.get_room(record.room_name) is None:
                self._mark_ended(record, agent.JobStatus.JS_SUCCESS, "")
                continue
            if identity and self._registry.get_participant(record.room_name, identity) is not None:
                log.info("agent job continues without a worker", job_id=job_id, identity=identity)
                continue
            self._mark_ended(record, agent.JobStatus.JS_FAILED, "agent worker disconnected")
            dispatch = self._dispatch_of(record)
            if (
                dispatch is not None
                and dispatch.info.restart_policy == agent_dispatch.JobRestartPolicy.JRP_ON_FAILURE
            ):
                log.info(
                    "restarting agent job on another worker", job_id=job_id, dispatch_id=dispatch.info.id
                )
                self._launch(dispatch)

    # ----------------------------------------------------------------- job launching

    def _launch(self, dispatch: _Dispatch) -> None:
        task = asyncio.create_task(self._run_launch(dispatch), name=f"agent-launch-{dispatch.info.id}")
        dispatch.launches.add(task)
        task.add_done_callback(dispatch.launches.discard)

    async def _run_launch(self, dispatch: _Dispatch) -> None:
        info = dispatch.info
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._dispatch_retry_s
        job = agent.Job(
            id=tokens.new_id("AJ_"),
            dispatch_id=info.id,
            type=agent.JobType.JT_ROOM,
            namespace="",
            metadata=info.metadata,
            agent_name=info.agent_name,
            deployment=info.deployment,
            attributes=dict(info.attributes),
        )
        waiting_logged = False
        while True:
            tried: set[str] = set()
            while (worker := self._pick_worker(info, tried)) is not None:
                tried.add(worker.id)
                room_info = self._registry.get_room(info.room)
                if room_info is None:
                    log.info("room closed before its agent started", room=info.room, dispatch_id=info.id)
                    return
                job.room.CopyFrom(room_info)
                if await self._offer(worker, dispatch, job) is not _Offer.DECLINED:
                    return
            remaining = deadline - loop.time()
            if remaining <= 0:
                log.warning(
                    "no agent worker accepted the job",
                    room=info.room,
                    agent_name=info.agent_name,
                    dispatch_id=info.id,
                    waited_s=self._dispatch_retry_s,
                )
                return
            if not waiting_logged:
                log.info("waiting for an available agent worker", room=info.room, agent_name=info.agent_name)
                waiting_logged = True
            self._workers_changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._workers_changed.wait(), min(DISPATCH_RETRY_POLL_S, remaining))

    def _pick_worker(self, info: agent_dispatch.AgentDispatch, tried: set[str]) -> _Worker | None:
        candidates = [
            w
            for w in self._workers.values()
            if not w.closed
            and w.id not in tried
            and w.agent_name == info.agent_name
            and w.deployment == info.deployment
            and w.job_type == agent.JobType.JT_ROOM
            and w.status == agent.WorkerStatus.WS_AVAILABLE
        ]
        return min(candidates, key=lambda w: (w.load, len(w.job_ids)), default=None)

    async def _offer(self, worker: _Worker, dispatch: _Dispatch, template: agent.Job) -> _Offer:
        job = agent.Job()
        job.CopyFrom(template)
        now = _now_ns()
        job.state.CopyFrom(
            agent.JobState(
                status=agent.JobStatus.JS_RUNNING, worker_id=worker.id, started_at=now, updated_at=now
            )
        )
        future: asyncio.Future[agent.AvailabilityResponse] = asyncio.get_running_loop().create_future()
        worker.availability[job.id] = future
        try:
            await worker.send(agent.ServerMessage(availability=agent.AvailabilityRequest(job=job)))
            answer = await asyncio.wait_for(future, self._availability_timeout_s)
        except TimeoutError:
            log.warning("agent worker did not answer availability", worker_id=worker.id, job_id=job.id)
            return _Offer.DECLINED
        except _WorkerClosedError:
            return _Offer.DECLINED
        finally:
            worker.availability.pop(job.id, None)

        if answer.terminate:
            job.state.status = agent.JobStatus.JS_SUCCESS
            job.state.ended_at = _now_ns()
            self._record(dispatch, job, None)
            log.info("agent worker declined the job for good", worker_id=worker.id, job_id=job.id)
            return _Offer.FINISHED
        if not answer.available:
            log.info("agent worker not available", worker_id=worker.id, job_id=job.id)
            return _Offer.DECLINED

        identity = answer.participant_identity or f"agent-{job.id}"
        attributes = dict(answer.participant_attributes)
        if worker.agent_name:
            attributes.setdefault(tokens.SDK_AGENT_NAME_ATTRIBUTE, worker.agent_name)
        attributes[tokens.SERVER_AGENT_NAME_ATTRIBUTE] = worker.agent_name
        token = tokens.mint_agent_token(
            worker.api_key,
            worker.api_secret,
            room=job.room.name,
            identity=identity,
            name=answer.participant_name,
            metadata=answer.participant_metadata,
            attributes=attributes,
            permissions=worker.permissions,
        )
        job.state.participant_identity = identity
        record = self._record(dispatch, job, worker)
        try:
            await worker.send(agent.ServerMessage(assignment=agent.JobAssignment(job=job, token=token)))
        except _WorkerClosedError:
            self._forget(dispatch, record)
            return _Offer.DECLINED
        log.info(
            "agent job assigned",
            worker_id=worker.id,
            job_id=job.id,
            room=job.room.name,
            dispatch_id=dispatch.info.id,
            identity=identity,
        )
        return _Offer.ASSIGNED

    def _record(self, dispatch: _Dispatch, job: agent.Job, worker: _Worker | None) -> _JobRecord:
        record = _JobRecord(job=job, room_name=job.room.name, worker_id=worker.id if worker else None)
        self._jobs[job.id] = record
        dispatch.job_ids.append(job.id)
        if worker is not None:
            worker.job_ids.add(job.id)
        return record

    def _forget(self, dispatch: _Dispatch, record: _JobRecord) -> None:
        self._jobs.pop(record.job.id, None)
        with contextlib.suppress(ValueError):
            dispatch.job_ids.remove(record.job.id)

    # ----------------------------------------------------------------- job termination

    async def _terminate(self, record: _JobRecord, status: agent.JobStatus, error: str) -> None:
        worker = self._workers.get(record.worker_id) if record.worker_id else None
        self._mark_ended(record, status, error)
        if worker is None:
            return
        worker.job_ids.discard(record.job.id)
        try:
            await worker.send(agent.ServerMessage(termination=agent.JobTermination(job_id=record.job.id)))
        except _WorkerClosedError:
            return
        log.info(
            "agent job terminated", worker_id=worker.id, job_id=record.job.id, reason=error or "room closed"
        )

    @staticmethod
    def _mark_ended(record: _JobRecord, status: agent.JobStatus, error: str) -> None:
        if record.ended:
            return
        now = _now_ns()
        record.job.state.status = status
        record.job.state.error = error
        record.job.state.updated_at = now
        record.job.state.ended_at = now

    async def _end_deleted_jobs(self, records: list[_JobRecord]) -> None:
        for record in records:
            if record.ended:
                continue
            await self._terminate(record, agent.JobStatus.JS_SUCCESS, "")
            identity = record.job.state.participant_identity
            if not identity:
                continue
            key = (record.room_name, identity)
            left = self._leaving.setdefault(key, asyncio.Event())
            try:
                if self._registry.get_participant(record.room_name, identity) is not None:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(left.wait(), AGENT_LEAVE_WAIT_S)
            finally:
                self._leaving.pop(key, None)
            if self._registry.get_participant(record.room_name, identity) is not None:
                log.info("agent did not leave after its dispatch was deleted; removing it", identity=identity)
                with contextlib.suppress(LookupError):
                    await self._registry.remove_participant(record.room_name, identity)

    # ----------------------------------------------------------------- helpers

    def _job_for_participant(self, room_name: str, identity: str) -> _JobRecord | None:
        for record in self._jobs.values():
            if (
                record.room_name == room_name
                and record.job.state.participant_identity == identity
                and not record.ended
            ):
                return record
        return None

    def _dispatch_of(self, record: _JobRecord) -> _Dispatch | None:
        room_agents = self._rooms.get(record.room_name)
        if room_agents is None:
            return None
        return room_agents.dispatches.get(record.job.dispatch_id)

    def _dispatch_proto(self, dispatch: _Dispatch) -> agent_dispatch.AgentDispatch:
        result = agent_dispatch.AgentDispatch()
        result.CopyFrom(dispatch.info)
        for job_id in dispatch.job_ids:
            record = self._jobs.get(job_id)
            if record is not None:
                result.state.jobs.append(record.job)
        return result

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


async def _send_raw(ws: web.WebSocketResponse, message: agent.ServerMessage, use_json: bool) -> None:
    if use_json:
        await ws.send_str(json_format.MessageToJson(message, indent=None))
    else:
        await ws.send_bytes(message.SerializeToString())


HUB_KEY = web.AppKey("local_livekit.agent_hub", AgentHub)


def add_routes(app: web.Application, registry: RoomRegistry, config: ServerConfig) -> AgentHub:
    """Serve `/agent` on the app and return the hub: register it as a RoomListener of the registry, and
    `await hub.close()` on shutdown after the rooms are closed (their jobs get JobTermination first)."""
    hub = AgentHub(registry, config)
    app[HUB_KEY] = hub
    app.router.add_get("/agent", hub.handle_websocket)
    return hub
