"""Cancelling a session closes its LiveKit room through the server API.

The LiveKit peer is the real livekit-server in a network namespace (tests/support/netns.py), with the
control plane's own keys; the app under test reaches its RoomService through the namespace's host port
(LIVEKIT_URL = `lk.host_url`). The candidate is a real rtc SDK client inside the namespace that joins with
the token the control plane issued, and reports the reason the server gave when it was disconnected.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from livekit import api
from livekit.protocol import room as room_pb

from control_plane.domain.rooms.server_api import delete_room
from control_plane.settings import get_settings
from tests.conftest import MakeUser
from tests.control_plane.conftest import use_livekit
from tests.control_plane.helpers import create_session
from tests.control_plane.processes import free_port
from tests.support.netns import NetnsLiveKit

ROOM_MEMBER = Path(__file__).parents[1] / "agent" / "clients" / "room_member.py"


def _events(captured: str) -> list[dict[str, Any]]:
    """The app's JSON log lines (CODEVOICE_LOG_JSON=1 in the test settings)."""
    return [json.loads(line) for line in captured.splitlines() if line.startswith("{")]


async def _rooms(lk: api.LiveKitAPI, name: str) -> list[str]:
    listed = await lk.room.list_rooms(room_pb.ListRoomsRequest(names=[name]))
    return [r.name for r in listed.rooms]


async def _participants(lk: api.LiveKitAPI, room: str) -> list[str]:
    try:
        listed = await lk.room.list_participants(room_pb.ListParticipantsRequest(room=room))
    except api.TwirpError as exc:
        if exc.code == api.TwirpErrorCode.NOT_FOUND:
            return []
        raise
    return [p.identity for p in listed.participants if p.state == p.ACTIVE]


@pytest.mark.netns
@pytest.mark.slow
async def test_cancelling_a_joined_session_deletes_its_room_and_disconnects_the_candidate(
    client: AsyncTestClient[Litestar], make_user: MakeUser, livekit: NetnsLiveKit
) -> None:
    user = await make_user()
    session = await create_session(client, user)
    room = session["room_name"]
    issued = await client.post("/livekit/token", json={"session_id": session["id"]}, headers=user.headers)
    assert issued.status_code == 201, issued.text
    candidate = livekit.popen_python(
        ROOM_MEMBER, "--url", livekit.url, "--token", issued.json()["participant_token"], "--timeout", "60"
    )
    async with api.LiveKitAPI(livekit.host_http_url, livekit.api_key, livekit.api_secret) as lk:
        for _ in range(300):
            if await _participants(lk, room) or candidate.poll() is not None:
                break
            await asyncio.sleep(0.1)
        joined = await _participants(lk, room)
        # The candidate is in the room under the identity the control plane's token gave it.
        assert joined == [f"user-{user.id}"], (joined, livekit.server_log()[-3000:])
        assert await _rooms(lk, room) == [room]

        cancelled = await client.post(f"/sessions/{session['id']}/cancel", headers=user.headers)
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["status"] == "cancelled"

        result = (await asyncio.to_thread(livekit.wait, candidate, 30)).check().json
        for _ in range(100):
            if not await _rooms(lk, room):
                break
            await asyncio.sleep(0.1)
        assert await _rooms(lk, room) == []
    # The server itself disconnected the candidate, and said why.
    assert (result["room"], result["identity"], result["disconnect_reason"]) == (
        room,
        joined[0],
        "ROOM_DELETED",
    )
    # The token the candidate still holds cannot be exchanged for a new one.
    again = await client.post("/livekit/token", json={"session_id": session["id"]}, headers=user.headers)
    assert again.status_code == 409


async def test_cancel_succeeds_when_livekit_is_unreachable(
    client: AsyncTestClient[Litestar],
    make_user: MakeUser,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The cancel is committed first; the room is closed best effort and a failure is logged."""
    user = await make_user()
    use_livekit(monkeypatch, f"ws://127.0.0.1:{free_port()}")  # nothing listens there
    session = await create_session(client, user)
    capsys.readouterr()
    cancelled = await client.post(f"/sessions/{session['id']}/cancel", headers=user.headers)
    logs = _events(capsys.readouterr().out)
    get_settings.cache_clear()
    assert cancelled.status_code == 200, cancelled.text
    stored = await client.get(f"/sessions/{session['id']}", headers=user.headers)
    assert stored.json()["status"] == "cancelled"
    failures = [e for e in logs if e["event"] == "room.delete_failed"]
    assert [e["room_name"] for e in failures] == [session["room_name"]], logs
    assert "ClientConnectorError" in failures[0]["error"]


@pytest.mark.netns
async def test_cancelling_a_session_whose_room_never_existed_warns_of_nothing(
    client: AsyncTestClient[Litestar],
    make_user: MakeUser,
    livekit: NetnsLiveKit,
    capsys: pytest.CaptureFixture[str],
) -> None:
    user = await make_user()
    session = await create_session(client, user)
    capsys.readouterr()
    cancelled = await client.post(f"/sessions/{session['id']}/cancel", headers=user.headers)
    logs = _events(capsys.readouterr().out)
    assert cancelled.status_code == 200, cancelled.text
    # LiveKit's not_found is the expected answer here, not a failure worth a warning.
    assert [e for e in logs if e["event"] == "room.delete_failed"] == []
    # livekit-server answers DeleteRoom for a room it never had with Twirp not_found, which is what
    # delete_room reads as "no such room".
    assert await delete_room(get_settings().livekit, session["room_name"]) is False
