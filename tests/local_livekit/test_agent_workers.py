"""The `/agent` worker protocol, played by a protocol-level worker against the real local server."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import aiohttp
import pytest
from livekit import api
from livekit.protocol import agent, agent_dispatch, models, room

from local_livekit.contracts import ApiKeys, ServerConfig
from local_livekit.server import ServerHandle, start_server
from tests.local_livekit.protocol_clients import (
    KEY,
    SECRET,
    ProtocolWorker,
    SignalParticipant,
    join_token,
    worker_token,
)


@pytest.fixture
async def server() -> AsyncIterator[ServerHandle]:
    handle = await start_server(ServerConfig(port=0, keys=ApiKeys({KEY: SECRET})))
    yield handle
    await handle.close()


@pytest.fixture
async def lkapi(server: ServerHandle) -> AsyncIterator[api.LiveKitAPI]:
    async with api.LiveKitAPI(server.http_url, KEY, SECRET) as client:
        yield client


@pytest.fixture
async def workers(server: ServerHandle) -> AsyncIterator[list[ProtocolWorker]]:
    started: list[ProtocolWorker] = []
    yield started
    for worker in started:
        await worker.close()


def _names() -> tuple[str, str]:
    suffix = uuid.uuid4().hex[:8]
    return f"agents-{suffix}", f"interviewer-{suffix}"


async def _worker(server: ServerHandle, workers: list[ProtocolWorker], agent_name: str) -> ProtocolWorker:
    worker = ProtocolWorker(server.http_url, agent_name)
    workers.append(worker)
    await worker.connect()
    return worker


async def test_registration_and_ping(server: ServerHandle, workers: list[ProtocolWorker]) -> None:
    worker = await _worker(server, workers, "pinger")
    assert worker.registration is not None
    assert worker.registration.worker_id.startswith("AW_")
    assert worker.registration.server_info.agent_protocol == 1

    await worker.send(agent.WorkerMessage(ping=agent.WorkerPing(timestamp=1234)))
    pong = await worker.expect("pong")
    assert pong.pong.last_timestamp == 1234
    assert pong.pong.timestamp > 0


@pytest.mark.parametrize(
    "token", [worker_token(agent_grant=False), "garbage"], ids=["no-agent-grant", "garbage"]
)
async def test_workers_need_a_token_with_the_agent_grant(server: ServerHandle, token: str) -> None:
    async with aiohttp.ClientSession() as http:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(f"{server.http_url}/agent", headers={"Authorization": f"Bearer {token}"})
    assert refused.value.status == 401


async def test_dispatch_assigns_a_job_with_an_agent_token(
    server: ServerHandle, lkapi: api.LiveKitAPI, workers: list[ProtocolWorker]
) -> None:
    room_name, agent_name = _names()
    worker = await _worker(server, workers, agent_name)
    dispatch = await lkapi.agent_dispatch.create_dispatch(
        agent_dispatch.CreateAgentDispatchRequest(agent_name=agent_name, room=room_name, metadata='{"n": 1}')
    )

    request = await worker.expect("availability")
    job = request.availability.job
    assert (job.agent_name, job.metadata, job.dispatch_id, job.room.name) == (
        agent_name,
        '{"n": 1}',
        dispatch.id,
        room_name,
    )
    assert job.id.startswith("AJ_")
    await worker.answer(job.id, available=True, identity="agent-interviewer")

    assignment = (await worker.expect("assignment")).assignment
    assert assignment.job.id == job.id
    assert assignment.url == ""  # the worker keeps using its own LIVEKIT_URL
    claims = api.TokenVerifier(KEY, SECRET).verify(assignment.token)
    assert (claims.identity, claims.kind, claims.name) == ("agent-interviewer", "agent", "Protocol Agent")
    assert claims.video is not None
    assert (claims.video.room, claims.video.room_join, claims.video.agent) == (room_name, True, True)
    assert (claims.video.can_publish, claims.video.can_subscribe, claims.video.can_publish_data) == (
        True,
    ) * 3
    assert claims.video.can_update_own_metadata
    assert claims.attributes is not None
    assert claims.attributes["lk.agent.name"] == agent_name

    listed = await lkapi.agent_dispatch.list_dispatch(room_name)
    assert [j.id for j in listed[0].state.jobs] == [job.id]
    assert listed[0].state.jobs[0].state.participant_identity == "agent-interviewer"

    # Closing the room ends the job.
    await lkapi.room.delete_room(room.DeleteRoomRequest(room=room_name))
    termination = await worker.expect("termination")
    assert termination.termination.job_id == job.id


async def test_an_empty_identity_gets_a_generated_one(
    server: ServerHandle, lkapi: api.LiveKitAPI, workers: list[ProtocolWorker]
) -> None:
    room_name, agent_name = _names()
    worker = await _worker(server, workers, agent_name)
    await lkapi.agent_dispatch.create_dispatch(
        agent_dispatch.CreateAgentDispatchRequest(agent_name=agent_name, room=room_name)
    )
    job = (await worker.expect("availability")).availability.job
    await worker.answer(job.id, available=True, identity="")
    token = (await worker.expect("assignment")).assignment.token
    assert api.TokenVerifier(KEY, SECRET).verify(token).identity == f"agent-{job.id}"


async def test_the_least_loaded_available_worker_is_asked_first_and_a_refusal_moves_on(
    server: ServerHandle, lkapi: api.LiveKitAPI, workers: list[ProtocolWorker]
) -> None:
    room_name, agent_name = _names()
    busy = await _worker(server, workers, agent_name)
    idle = await _worker(server, workers, agent_name)
    full = await _worker(server, workers, agent_name)
    await busy.status(agent.WorkerStatus.WS_AVAILABLE, 0.6)
    await idle.status(agent.WorkerStatus.WS_AVAILABLE, 0.1)
    await full.status(agent.WorkerStatus.WS_FULL, 0.0)
    # A ping round trip makes sure the status updates were read before the dispatch is created.
    for worker in (busy, idle, full):
        await worker.send(agent.WorkerMessage(ping=agent.WorkerPing(timestamp=1)))
        await worker.expect("pong")

    await lkapi.agent_dispatch.create_dispatch(
        agent_dispatch.CreateAgentDispatchRequest(agent_name=agent_name, room=room_name)
    )
    first = (await idle.expect("availability")).availability.job
    await idle.answer(first.id, available=False)
    second = (await busy.expect("availability")).availability.job
    assert second.id == first.id
    await busy.answer(second.id, available=True, identity="agent-busy")
    assert (await busy.expect("assignment")).assignment.job.id == first.id


async def test_room_configuration_in_a_join_token_dispatches_once(
    server: ServerHandle, lkapi: api.LiveKitAPI, workers: list[ProtocolWorker]
) -> None:
    room_name, agent_name = _names()
    worker = await _worker(server, workers, agent_name)
    config = room.RoomConfiguration(
        agents=[agent_dispatch.RoomAgentDispatch(agent_name=agent_name, metadata='{"interview": "abc"}')]
    )
    async with (
        SignalParticipant(server.http_url, join_token(room_name, "candidate", room_config=config)),
        SignalParticipant(server.http_url, join_token(room_name, "observer", room_config=config)),
    ):
        job = (await worker.expect("availability")).availability.job
        assert (job.agent_name, job.metadata, job.room.name) == (
            agent_name,
            '{"interview": "abc"}',
            room_name,
        )
        await worker.answer(job.id, available=True, identity="agent-x")
        await worker.expect("assignment")
        dispatches = await lkapi.agent_dispatch.list_dispatch(room_name)
        assert [d.metadata for d in dispatches] == ['{"interview": "abc"}']


async def test_a_reconnecting_worker_takes_its_jobs_back(
    server: ServerHandle, lkapi: api.LiveKitAPI, workers: list[ProtocolWorker]
) -> None:
    room_name, agent_name = _names()
    first = await _worker(server, workers, agent_name)
    await lkapi.agent_dispatch.create_dispatch(
        agent_dispatch.CreateAgentDispatchRequest(agent_name=agent_name, room=room_name)
    )
    job = (await first.expect("availability")).availability.job
    await first.answer(job.id, available=True, identity="agent-migrating")
    await first.expect("assignment")
    await first.close()

    second = await _worker(server, workers, agent_name)
    await second.send(agent.WorkerMessage(migrate_job=agent.MigrateJobRequest(job_ids=[job.id])))
    await second.send(agent.WorkerMessage(ping=agent.WorkerPing(timestamp=2)))
    await second.expect("pong")
    await lkapi.room.delete_room(room.DeleteRoomRequest(room=room_name))
    assert (await second.expect("termination")).termination.job_id == job.id


async def test_a_job_lost_with_its_worker_is_offered_again(
    server: ServerHandle, lkapi: api.LiveKitAPI, workers: list[ProtocolWorker]
) -> None:
    room_name, agent_name = _names()
    first = await _worker(server, workers, agent_name)
    await lkapi.agent_dispatch.create_dispatch(
        agent_dispatch.CreateAgentDispatchRequest(agent_name=agent_name, room=room_name, metadata="again")
    )
    lost = (await first.expect("availability")).availability.job
    await first.answer(lost.id, available=True, identity="agent-lost")
    await first.expect("assignment")
    second = await _worker(server, workers, agent_name)
    await second.status(agent.WorkerStatus.WS_FULL, 1.0)  # not a candidate until the first one is gone
    await second.send(agent.WorkerMessage(ping=agent.WorkerPing(timestamp=3)))
    await second.expect("pong")
    await first.close()
    await second.status(agent.WorkerStatus.WS_AVAILABLE, 0.0)

    # The lost job's agent never joined the room: after the migration grace it is dispatched again.
    retry = (await second.expect("availability", timeout=15)).availability.job
    assert retry.id != lost.id
    assert (retry.dispatch_id, retry.metadata) == (lost.dispatch_id, "again")
    states = {
        j.id: j.state.status for j in (await lkapi.agent_dispatch.list_dispatch(room_name))[0].state.jobs
    }
    assert states[lost.id] == agent.JobStatus.JS_FAILED


async def _assigned(
    server: ServerHandle, lkapi: api.LiveKitAPI, workers: list[ProtocolWorker], identity: str
) -> tuple[ProtocolWorker, agent.JobAssignment, str]:
    room_name, agent_name = _names()
    worker = await _worker(server, workers, agent_name)
    await lkapi.agent_dispatch.create_dispatch(
        agent_dispatch.CreateAgentDispatchRequest(agent_name=agent_name, room=room_name)
    )
    job = (await worker.expect("availability")).availability.job
    await worker.answer(job.id, available=True, identity=identity)
    return worker, (await worker.expect("assignment")).assignment, room_name


async def test_deleting_a_dispatch_ends_its_job_and_removes_its_agent(
    server: ServerHandle, lkapi: api.LiveKitAPI, workers: list[ProtocolWorker]
) -> None:
    worker, assignment, room_name = await _assigned(server, lkapi, workers, "agent-to-delete")
    async with SignalParticipant(server.http_url, assignment.token) as agent_participant:
        assert agent_participant.join is not None
        assert agent_participant.join.participant.kind == models.ParticipantInfo.Kind.AGENT
        await lkapi.agent_dispatch.delete_dispatch(assignment.job.dispatch_id, room_name)
        assert (await worker.expect("termination")).termination.job_id == assignment.job.id
        # The agent did not leave on its own: the server removes it (after a 3 s grace, as livekit-server).
        for _ in range(100):
            participants = (
                await lkapi.room.list_participants(room.ListParticipantsRequest(room=room_name))
            ).participants
            if not participants:
                break
            await asyncio.sleep(0.1)
        assert participants == []


async def test_an_agent_leaving_its_room_ends_its_job(
    server: ServerHandle, lkapi: api.LiveKitAPI, workers: list[ProtocolWorker]
) -> None:
    worker, assignment, room_name = await _assigned(server, lkapi, workers, "agent-leaving")
    async with SignalParticipant(server.http_url, assignment.token):
        pass
    assert (await worker.expect("termination")).termination.job_id == assignment.job.id
    job = (await lkapi.agent_dispatch.list_dispatch(room_name))[0].state.jobs[0]
    assert (job.state.status, job.state.error) == (agent.JobStatus.JS_FAILED, "agent worker left the room")


async def test_workers_may_speak_json(server: ServerHandle, lkapi: api.LiveKitAPI) -> None:
    room_name, agent_name = _names()
    register = {"register": {"type": "JT_ROOM", "agentName": agent_name, "version": "json-test"}}
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(
            f"{server.http_url}/agent", headers={"Authorization": f"Bearer {worker_token()}"}
        ) as ws,
    ):
        await ws.send_json(register)
        assert (await ws.receive_json(timeout=10))["register"]["workerId"].startswith("AW_")
        await lkapi.agent_dispatch.create_dispatch(
            agent_dispatch.CreateAgentDispatchRequest(agent_name=agent_name, room=room_name, metadata="m")
        )
        request = await ws.receive_json(timeout=10)
        assert request["availability"]["job"]["metadata"] == "m"


async def test_create_room_with_agents_dispatches_them(
    server: ServerHandle, lkapi: api.LiveKitAPI, workers: list[ProtocolWorker]
) -> None:
    room_name, agent_name = _names()
    worker = await _worker(server, workers, agent_name)
    await lkapi.room.create_room(
        room.CreateRoomRequest(
            name=room_name,
            agents=[agent_dispatch.RoomAgentDispatch(agent_name=agent_name, metadata="created")],
        )
    )
    job = (await worker.expect("availability")).availability.job
    assert (job.room.name, job.metadata) == (room_name, "created")
