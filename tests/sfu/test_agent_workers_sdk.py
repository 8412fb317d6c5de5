"""A real livekit-agents worker (AgentServer, explicit dispatch) against the real local server.

The worker runs as a subprocess; each job records its Job fields to a file. Joining the room over WebRTC is
not needed to see that a dispatch reached the job, so this runs in the host namespace (the job does not
connect); the netns test below lets the job join and checks that its audio reaches a participant.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from livekit import api
from livekit.protocol import agent_dispatch, room

from local_livekit.contracts import ApiKeys, ServerConfig
from local_livekit.server import ServerHandle, start_server
from tests.sfu.protocol_clients import KEY, SECRET, SignalParticipant, join_token
from tests.support.netns import NetnsLiveKit

pytestmark = pytest.mark.slow

AGENT_APP = Path(__file__).parent / "scripts" / "recording_agent.py"
AGENT_LISTENER = Path(__file__).parent / "scripts" / "agent_listener.py"
JOB_TIMEOUT_S = 90.0


@dataclass
class WorkerProcess:
    agent_name: str
    record_dir: Path
    log_path: Path
    process: subprocess.Popen[bytes]

    async def job_record(self, dispatch_id: str, timeout: float = JOB_TIMEOUT_S) -> dict[str, Any]:
        """The record the job of this dispatch wrote (waits for it)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            for path in self.record_dir.glob("*.json"):
                record: dict[str, Any] = json.loads(path.read_text())
                if record["dispatch_id"] == dispatch_id:
                    return record
            if self.process.poll() is not None:
                break
            await asyncio.sleep(0.2)
        raise AssertionError(f"no job for dispatch {dispatch_id}; worker log:\n{self.log_tail()}")

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:] if self.log_path.exists() else ""


def _worker_env(url: str, agent_name: str, record_dir: Path, key: str, secret: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "LIVEKIT_URL": url,
            "LIVEKIT_API_KEY": key,
            "LIVEKIT_API_SECRET": secret,
            "AGENT_NAME": agent_name,
            "RECORD_DIR": str(record_dir),
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def _stop(process: subprocess.Popen[Any]) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    except ProcessLookupError:
        return


@pytest.fixture(scope="module")
async def server() -> AsyncIterator[ServerHandle]:
    handle = await start_server(ServerConfig(port=0, keys=ApiKeys({KEY: SECRET})))
    yield handle
    await handle.close()


@pytest.fixture(scope="module")
def worker(server: ServerHandle, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorkerProcess]:
    workdir = tmp_path_factory.mktemp("agent-worker")
    agent_name = f"recorder-{uuid.uuid4().hex[:8]}"
    log_path = workdir / "worker.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, str(AGENT_APP), "start"],
            env=_worker_env(server.url, agent_name, workdir, KEY, SECRET),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    started = WorkerProcess(agent_name, workdir, log_path, process)
    yield started
    _stop(process)


async def test_create_dispatch_reaches_the_job_with_its_metadata(
    server: ServerHandle, worker: WorkerProcess
) -> None:
    room_name = f"sdk-{uuid.uuid4().hex[:8]}"
    async with api.LiveKitAPI(server.http_url, KEY, SECRET) as lkapi:
        dispatch = await lkapi.agent_dispatch.create_dispatch(
            agent_dispatch.CreateAgentDispatchRequest(
                agent_name=worker.agent_name, room=room_name, metadata='{"interview_id": "iv-1"}'
            )
        )
        record = await worker.job_record(dispatch.id)
        assert record["metadata"] == '{"interview_id": "iv-1"}'
        assert (record["room"], record["agent_name"]) == (room_name, worker.agent_name)
        assert record["identity"] == f"agent-{record['job_id']}"
        assert record["kind"] == "agent"
        jobs = (await lkapi.agent_dispatch.list_dispatch(room_name))[0].state.jobs
        assert [j.id for j in jobs] == [record["job_id"]]
        await lkapi.room.delete_room(room.DeleteRoomRequest(room=room_name))


async def test_room_configuration_in_a_token_reaches_the_job(
    server: ServerHandle, worker: WorkerProcess
) -> None:
    room_name = f"sdk-cfg-{uuid.uuid4().hex[:8]}"
    config = room.RoomConfiguration(
        agents=[agent_dispatch.RoomAgentDispatch(agent_name=worker.agent_name, metadata='{"from": "token"}')]
    )
    started = time.monotonic()
    async with (
        api.LiveKitAPI(server.http_url, KEY, SECRET) as lkapi,
        SignalParticipant(server.http_url, join_token(room_name, "candidate", room_config=config)),
    ):
        dispatches = await lkapi.agent_dispatch.list_dispatch(room_name)
        assert [d.agent_name for d in dispatches] == [worker.agent_name]
        record = await worker.job_record(dispatches[0].id)
        print(f"join with RoomConfiguration -> job entrypoint ran: {time.monotonic() - started:.2f} s")
        assert record["metadata"] == '{"from": "token"}'
        assert record["room"] == room_name


TONE_HZ = 523.0


@pytest.mark.netns
def test_a_dispatched_agent_joins_and_its_audio_reaches_the_candidate(
    netns_livekit: NetnsLiveKit, tmp_path: Path
) -> None:
    lk = netns_livekit
    agent_name = f"tone-agent-{uuid.uuid4().hex[:6]}"
    worker_log_path = tmp_path / "worker.log"
    # Logs go to a file: a pipe nobody reads would fill up and stall the worker.
    worker_proc = lk.popen(
        ["sh", "-c", f'exec "{sys.executable}" "{AGENT_APP}" start >"{worker_log_path}" 2>&1'],
        env={"AGENT_NAME": agent_name, "RECORD_DIR": str(tmp_path), "TONE_HZ": str(TONE_HZ)},
    )
    # The candidate's token carries the dispatch, as the control plane's tokens do.
    heard = lk.run_python(
        AGENT_LISTENER, "--room", "agent-tone-room", "--agent-name", agent_name, "--metadata", "tone please"
    )
    _stop(worker_proc)
    worker_log = worker_log_path.read_text(errors="replace")[-6000:]
    assert heard.returncode == 0, f"{heard.stderr[-4000:]}\nworker:\n{worker_log}"
    result = heard.json
    print(f"agent tone at the candidate: peak {result['peak_hz']:.1f} Hz, rms {result['rms']:.0f}")
    records = [json.loads(p.read_text()) for p in tmp_path.glob("*.json")]
    assert [r["metadata"] for r in records] == ["tone please"], worker_log
    assert result["agent_identity"] == records[0]["identity"]
    assert result["agent_attributes"]["lk.agent.name"] == agent_name
    assert result["heard"], result
    assert abs(result["peak_hz"] - TONE_HZ) < 3, result
    assert result["rms"] > 5000, result
