"""Protocol-level clients for tests: a signaling participant and an agent worker, written from the wire
formats (livekit.protocol.rtc / livekit.protocol.agent), not from our server's code.

They let a test join a room or play a worker without WebRTC: signaling alone is enough for the room to count
a participant, and the worker protocol is plain protobuf over a WebSocket.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field

import aiohttp
from livekit import api
from livekit.protocol import agent, models, room, rtc

KEY = "test-key"
SECRET = "test-secret-0123456789abcdef0123456789abcdef"


def join_token(
    room_name: str,
    identity: str,
    *,
    room_config: room.RoomConfiguration | None = None,
    key: str = KEY,
    secret: str = SECRET,
) -> str:
    token = (
        api.AccessToken(key, secret)
        .with_identity(identity)
        .with_grants(api.VideoGrants(room_join=True, room=room_name))
    )
    if room_config is not None:
        token = token.with_room_config(room_config)
    return token.to_jwt()


def worker_token(*, agent_grant: bool = True, key: str = KEY, secret: str = SECRET) -> str:
    return api.AccessToken(key, secret).with_grants(api.VideoGrants(agent=agent_grant)).to_jwt()


@dataclass
class SignalParticipant:
    """Joins a room over `/rtc` signaling only and answers the server's pings until closed."""

    http_url: str
    token: str
    join: rtc.JoinResponse | None = None
    _session: aiohttp.ClientSession | None = None
    _ws: aiohttp.ClientWebSocketResponse | None = None
    _pinger: asyncio.Task[None] | None = None
    messages: list[rtc.SignalResponse] = field(default_factory=list)

    async def __aenter__(self) -> SignalParticipant:
        self._session = aiohttp.ClientSession()
        self._ws = await self._session.ws_connect(
            f"{self.http_url}/rtc?protocol=16&auto_subscribe=0",
            headers={"Authorization": f"Bearer {self.token}"},
        )
        first = rtc.SignalResponse()
        first.ParseFromString(await self._ws.receive_bytes(timeout=10))
        assert first.WhichOneof("message") == "join", first
        self.join = first.join
        self._pinger = asyncio.create_task(self._keep_alive())
        return self

    async def _keep_alive(self) -> None:
        assert self._ws is not None
        interval = max(1, (self.join.ping_interval if self.join else 5) or 5)
        while not self._ws.closed:
            ping = rtc.SignalRequest(ping_req=rtc.Ping(timestamp=int(time.time() * 1000)))
            with contextlib.suppress(ConnectionError, RuntimeError):
                await self._ws.send_bytes(ping.SerializeToString())
            try:
                msg = await self._ws.receive(timeout=interval)
            except TimeoutError:
                continue
            if msg.type != aiohttp.WSMsgType.BINARY:
                return
            response = rtc.SignalResponse()
            response.ParseFromString(msg.data)
            self.messages.append(response)

    async def __aexit__(self, *_: object) -> None:
        if self._pinger is not None:
            self._pinger.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pinger
        if self._ws is not None:
            await self._ws.close()
        if self._session is not None:
            await self._session.close()


@dataclass
class ProtocolWorker:
    """An agent worker speaking livekit.protocol.agent directly; the test decides every answer."""

    http_url: str
    agent_name: str
    token: str = field(default_factory=worker_token)
    registration: agent.RegisterWorkerResponse | None = None
    _session: aiohttp.ClientSession | None = None
    ws: aiohttp.ClientWebSocketResponse | None = None

    async def connect(self) -> agent.RegisterWorkerResponse:
        self._session = aiohttp.ClientSession()
        self.ws = await self._session.ws_connect(
            f"{self.http_url}/agent", headers={"Authorization": f"Bearer {self.token}"}
        )
        await self.send(
            agent.WorkerMessage(
                register=agent.RegisterWorkerRequest(
                    type=agent.JobType.JT_ROOM,
                    agent_name=self.agent_name,
                    version="protocol-test",
                    allowed_permissions=models.ParticipantPermission(
                        can_publish=True, can_subscribe=True, can_publish_data=True, can_update_metadata=True
                    ),
                )
            )
        )
        first = await self.receive()
        assert first.WhichOneof("message") == "register", first
        self.registration = first.register
        return first.register

    async def send(self, message: agent.WorkerMessage) -> None:
        assert self.ws is not None
        await self.ws.send_bytes(message.SerializeToString())

    async def receive(self, timeout: float = 10) -> agent.ServerMessage:
        assert self.ws is not None
        message = agent.ServerMessage()
        message.ParseFromString(await self.ws.receive_bytes(timeout=timeout))
        return message

    async def expect(self, kind: str, timeout: float = 10) -> agent.ServerMessage:
        """The next message of this kind (pongs and other kinds in between are skipped)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise TimeoutError(f"no {kind} message within {timeout}s")
            message = await self.receive(timeout=remaining)
            if message.WhichOneof("message") == kind:
                return message

    async def status(self, status: agent.WorkerStatus, load: float) -> None:
        await self.send(agent.WorkerMessage(update_worker=agent.UpdateWorkerStatus(status=status, load=load)))

    async def answer(
        self, job_id: str, *, available: bool, identity: str = "", terminate: bool = False
    ) -> None:
        await self.send(
            agent.WorkerMessage(
                availability=agent.AvailabilityResponse(
                    job_id=job_id,
                    available=available,
                    terminate=terminate,
                    participant_identity=identity,
                    participant_name="Protocol Agent" if available else "",
                    participant_attributes={"lk.agent.name": self.agent_name} if available else {},
                )
            )
        )

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self._session is not None:
            await self._session.close()
