"""Cancelling a session closes its LiveKit room through the server API.

The LiveKit peer is the local LiveKit-protocol server on loopback (signaling and Twirp need no ICE), with
the control plane's own keys; the candidate joins it with the token the control plane issued.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from livekit import api
from livekit.protocol import room as room_pb

from control_plane.settings import get_settings
from local_livekit.contracts import ApiKeys, ServerConfig
from local_livekit.server import ServerHandle, start_server
from tests.conftest import TEST_ENV, MakeUser
from tests.control_plane.helpers import create_session
from tests.control_plane.processes import free_port
from tests.sfu.protocol_clients import SignalParticipant


def _use_livekit(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("LIVEKIT_URL", url)
    get_settings.cache_clear()


@pytest.fixture
def livekit(monkeypatch: pytest.MonkeyPatch) -> Iterator[ServerHandle]:
    """The server on an event loop of its own: Litestar's test client blocks the test's loop while the
    app handles a request, and the app calls this server during the request."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="local-livekit", daemon=True)
    thread.start()
    keys = ApiKeys({TEST_ENV["LIVEKIT_API_KEY"]: TEST_ENV["LIVEKIT_API_SECRET"]})
    handle = asyncio.run_coroutine_threadsafe(start_server(ServerConfig(port=0, keys=keys)), loop).result(10)
    _use_livekit(monkeypatch, handle.url)
    try:
        yield handle
    finally:
        asyncio.run_coroutine_threadsafe(handle.close(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
        get_settings.cache_clear()  # monkeypatch restores LIVEKIT_URL next; the next read sees it


def _events(captured: str) -> list[dict[str, Any]]:
    """The app's JSON log lines (CODEVOICE_LOG_JSON=1 in the test settings)."""
    return [json.loads(line) for line in captured.splitlines() if line.startswith("{")]


async def _rooms(lk: api.LiveKitAPI, name: str) -> list[str]:
    listed = await lk.room.list_rooms(room_pb.ListRoomsRequest(names=[name]))
    return [r.name for r in listed.rooms]


async def test_cancelling_a_joined_session_deletes_its_room_and_disconnects_the_candidate(
    client: AsyncTestClient[Litestar], make_user: MakeUser, livekit: ServerHandle
) -> None:
    user = await make_user()
    session = await create_session(client, user)
    issued = await client.post("/livekit/token", json={"session_id": session["id"]}, headers=user.headers)
    assert issued.status_code == 201, issued.text
    async with (
        api.LiveKitAPI(livekit.http_url, TEST_ENV["LIVEKIT_API_KEY"], TEST_ENV["LIVEKIT_API_SECRET"]) as lk,
        SignalParticipant(livekit.http_url, issued.json()["participant_token"]) as candidate,
    ):
        assert candidate.join is not None
        assert candidate.join.room.name == session["room_name"]
        assert await _rooms(lk, session["room_name"]) == [session["room_name"]]

        cancelled = await client.post(f"/sessions/{session['id']}/cancel", headers=user.headers)
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["status"] == "cancelled"

        for _ in range(100):
            left = [m for m in candidate.messages if m.WhichOneof("message") == "leave"]
            if left and not await _rooms(lk, session["room_name"]):
                break
            await asyncio.sleep(0.1)
        assert await _rooms(lk, session["room_name"]) == []
        assert left, [m.WhichOneof("message") for m in candidate.messages]
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
    _use_livekit(monkeypatch, f"ws://127.0.0.1:{free_port()}")  # nothing listens there
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


async def test_cancelling_a_session_whose_room_never_existed_warns_of_nothing(
    client: AsyncTestClient[Litestar],
    make_user: MakeUser,
    livekit: ServerHandle,
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
