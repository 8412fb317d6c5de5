"""A real livekit-agents worker (AgentServer, explicit dispatch) against the real livekit-server.

The worker (scripts/recording_agent.py) runs inside the test namespace, since it connects to ws://127.0.0.1:PORT
there; each job records its Job fields to a file. Dispatches come from the test process through the host
forward (AgentDispatchService), or from a RoomConfiguration in a participant's join token (a participant
inside the namespace). The last test lets the job join and checks that its audio reaches the candidate.

The real server only offers a job to workers registered when the dispatch is made (it logs "not dispatching
agent job since no worker is available" and never retries), so the worker fixture waits for the server's
"worker registered" log line before any test runs.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from livekit import api
from livekit.protocol import agent_dispatch, room

from tests.sfu.conftest import CLIENTS, server_log_entries
from tests.support.netns import NetnsLiveKit, stop_process, wait_until

pytestmark = [pytest.mark.netns, pytest.mark.slow]

AGENT_APP = Path(__file__).parent / "scripts" / "recording_agent.py"
AGENT_LISTENER = Path(__file__).parent / "scripts" / "agent_listener.py"
JOB_TIMEOUT_S = 90.0
TONE_HZ = 523.0


@dataclass
class WorkerProcess:
    agent_name: str
    record_dir: Path
    log_path: Path
    process: subprocess.Popen[str]

    def records(self) -> list[dict[str, Any]]:
        return [json.loads(path.read_text()) for path in sorted(self.record_dir.glob("*.json"))]

    async def job_record(self, dispatch_id: str, timeout: float = JOB_TIMEOUT_S) -> dict[str, Any]:
        """The record the job of this dispatch wrote (waits for it)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            for record in self.records():
                if record["dispatch_id"] == dispatch_id:
                    return record
            if self.process.poll() is not None:
                break
            await asyncio.sleep(0.2)
        raise AssertionError(f"no job for dispatch {dispatch_id}; worker log:\n{self.log_tail()}")

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:] if self.log_path.exists() else ""


@pytest.fixture(scope="module")
def worker(netns_livekit: NetnsLiveKit, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorkerProcess]:
    lk = netns_livekit
    workdir = tmp_path_factory.mktemp("agent-worker")
    agent_name = f"recorder-{uuid.uuid4().hex[:8]}"
    log_path = workdir / "worker.log"
    # Logs go to a file: a pipe nobody reads would fill up and stall the worker.
    process = lk.popen(
        ["sh", "-c", f'exec "{sys.executable}" "{AGENT_APP}" start >"{log_path}" 2>&1'],
        env={"AGENT_NAME": agent_name, "RECORD_DIR": str(workdir)},
    )
    started = WorkerProcess(agent_name, workdir, log_path, process)
    registered = wait_until(
        lambda: (
            bool(server_log_entries(lk, msg="worker registered", agentName=agent_name))
            or process.poll() is not None
        ),
        timeout=60,
    )
    if not registered or process.poll() is not None:
        stop_process(process, grace_s=20)
        pytest.fail(f"the worker did not register\n{started.log_tail()}")
    yield started
    stop_process(process, grace_s=20)


def _lkapi(lk: NetnsLiveKit) -> api.LiveKitAPI:
    return api.LiveKitAPI(lk.host_http_url, lk.api_key, lk.api_secret, failover=False)


async def test_create_dispatch_reaches_the_job_with_its_metadata(
    netns_livekit: NetnsLiveKit, worker: WorkerProcess
) -> None:
    room_name = f"sdk-{uuid.uuid4().hex[:8]}"
    async with _lkapi(netns_livekit) as lkapi:
        # nobody is in this room: the server creates it and offers the job at once
        dispatch = await lkapi.agent_dispatch.create_dispatch(
            agent_dispatch.CreateAgentDispatchRequest(
                agent_name=worker.agent_name, room=room_name, metadata='{"interview_id": "iv-1"}'
            )
        )
        record = await worker.job_record(dispatch.id)
        assert record["metadata"] == '{"interview_id": "iv-1"}'
        assert (record["room"], record["agent_name"]) == (room_name, worker.agent_name)
        assert record["job_id"].startswith("AJ_")
        assert record["identity"] == f"agent-{record['job_id']}"
        assert record["kind"] == "agent"
        # the dispatch lists the job once the server has stored the worker's answer (a moment after the
        # job may already have started)
        async with asyncio.timeout(10):
            while True:
                listed = {d.agent_name: d for d in await lkapi.agent_dispatch.list_dispatch(room_name)}
                if listed[worker.agent_name].state.jobs:
                    break
                await asyncio.sleep(0.1)
        # besides ours, the room's default dispatch (empty agent name), which no named worker takes
        assert sorted(listed) == ["", worker.agent_name]
        assert listed[worker.agent_name].id == dispatch.id
        jobs = listed[worker.agent_name].state.jobs
        assert [(j.id, j.state.participant_identity) for j in jobs] == [
            (record["job_id"], record["identity"])
        ]
        assert list(listed[""].state.jobs) == []
        await lkapi.room.delete_room(room.DeleteRoomRequest(room=room_name))


async def test_room_configuration_in_a_token_reaches_the_job(
    netns_livekit: NetnsLiveKit, worker: WorkerProcess
) -> None:
    lk = netns_livekit
    room_name = f"sdk-cfg-{uuid.uuid4().hex[:8]}"
    started = time.monotonic()
    candidate = lk.popen_python(
        CLIENTS / "actor.py",
        "--room",
        room_name,
        "--identity",
        "candidate",
        "--dispatch",
        f'{worker.agent_name}:{{"from": "token"}}',
        "stay:60",
    )
    async with _lkapi(lk) as lkapi:
        async with asyncio.timeout(30):
            while not (await lkapi.room.list_rooms(room.ListRoomsRequest(names=[room_name]))).rooms:
                await asyncio.sleep(0.1)
        dispatches = await lkapi.agent_dispatch.list_dispatch(room_name)
        # the token's RoomConfiguration replaces the default dispatch
        assert [(d.agent_name, d.metadata) for d in dispatches] == [(worker.agent_name, '{"from": "token"}')]
        record = await worker.job_record(dispatches[0].id)
        print(f"join with RoomConfiguration -> job entrypoint ran: {time.monotonic() - started:.2f} s")
        assert record["metadata"] == '{"from": "token"}'
        assert record["room"] == room_name
        await lkapi.room.delete_room(room.DeleteRoomRequest(room=room_name))
    left = (await asyncio.to_thread(lk.wait, candidate, 30)).check().json
    assert left["disconnect_reason"] == "ROOM_DELETED", left


def test_a_dispatched_agent_joins_and_its_audio_reaches_the_candidate(
    netns_livekit: NetnsLiveKit, worker: WorkerProcess
) -> None:
    lk = netns_livekit
    room_name = f"agent-tone-{uuid.uuid4().hex[:6]}"
    metadata = json.dumps({"tone_hz": TONE_HZ})
    # The candidate's token carries the dispatch, as the control plane's tokens do.
    heard = lk.run_python(
        AGENT_LISTENER, "--room", room_name, "--agent-name", worker.agent_name, "--metadata", metadata
    )
    assert heard.returncode == 0, f"{heard.stderr[-4000:]}\nworker:\n{worker.log_tail()}"
    result = heard.json
    print(f"agent tone at the candidate: peak {result['peak_hz']:.1f} Hz, rms {result['rms']:.0f}")
    records = [r for r in worker.records() if r["room"] == room_name]
    assert [r["metadata"] for r in records] == [metadata], worker.log_tail()
    assert result["agent_identity"] == records[0]["identity"]
    assert result["agent_attributes"]["lk.agent.name"] == worker.agent_name
    assert result["heard"], result
    assert abs(result["peak_hz"] - TONE_HZ) < 3, result
    assert result["rms"] > 5000, result
