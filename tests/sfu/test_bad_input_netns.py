"""Bad clients against the real livekit-server (inside a network namespace): bad tokens are refused with 401,
garbage on the signal WebSocket closes only that connection, a client that vanishes without a leave is removed
once the server notices, and the server keeps carrying audio between well-behaved participants."""

from __future__ import annotations

import asyncio
import os
import signal
import time

import pytest
from livekit import api
from livekit.protocol import models
from livekit.protocol import room as room_service

from tests.sfu.conftest import CLIENTS, server_log_entries
from tests.sfu.test_media_netns import TONE_HZ, _tone_between
from tests.support.netns import NetnsLiveKit

pytestmark = [pytest.mark.netns, pytest.mark.slow]


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("sdk-bad-secret", "token signature is invalid: signature is invalid"),
        ("sdk-expired", "token has invalid claims: token is expired"),
    ],
)
def test_sdk_with_a_bad_token_is_refused(netns_livekit: NetnsLiveKit, mode: str, reason: str) -> None:
    lk = netns_livekit
    result = lk.run_python(CLIENTS / "bad_client.py", mode, "--room", "bad-room").check().json
    assert result["outcome"] == "refused", result
    # the server refuses the WebSocket upgrade with 401 and its reason, which the SDK passes on
    assert "401 Unauthorized" in result["error"], result
    assert reason in result["error"], result
    refusals = [
        entry
        for entry in server_log_entries(lk, msg="error handling request", status=401)
        if reason in entry.get("error", "")
    ]
    assert {entry["path"] for entry in refusals} >= {"/rtc/v1"}, refusals
    assert not server_log_entries(lk, msg="starting RTC session", room="bad-room")


def _participants(lk: NetnsLiveKit, room: str) -> list[str]:
    async def listed() -> list[str]:
        async with api.LiveKitAPI(lk.host_http_url, lk.api_key, lk.api_secret) as lkapi:
            response = await lkapi.room.list_participants(room_service.ListParticipantsRequest(room=room))
            return [p.identity for p in response.participants]

    return asyncio.run(listed())


def _publishes(lk: NetnsLiveKit, room: str, identity: str) -> bool:
    """Whether RoomService lists `identity` as connected (ACTIVE) with a published track."""

    async def listed() -> bool:
        async with api.LiveKitAPI(lk.host_http_url, lk.api_key, lk.api_secret) as lkapi:
            response = await lkapi.room.list_participants(room_service.ListParticipantsRequest(room=room))
        return any(
            p.identity == identity and p.state == models.ParticipantInfo.State.ACTIVE and len(p.tracks) > 0
            for p in response.participants
        )

    return asyncio.run(listed())


def test_garbage_and_vanishing_clients_are_cleaned_up_and_others_still_work(
    netns_livekit: NetnsLiveKit,
) -> None:
    lk = netns_livekit
    room = "mess-room"
    watcher = lk.popen_python(
        CLIENTS / "observer.py",
        "--room",
        room,
        "--identity",
        "watcher",
        "--until",
        "participant_disconnected:identity=vanisher",
        "--timeout",
        "60",
    )
    vanisher = lk.popen_python(
        CLIENTS / "actor.py", "--room", room, "--identity", "vanisher", "publish", "stay:120"
    )
    deadline = time.monotonic() + 30
    while not _publishes(lk, room, "vanisher") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _publishes(lk, room, "vanisher"), lk.wait(vanisher, 1).stderr[-3000:]
    # gone without a leave: no SignalRequest.leave, its process killed (the kernel closes its sockets)
    killed_at = time.time()
    os.killpg(vanisher.pid, signal.SIGKILL)
    lk.wait(vanisher, 10)
    assert "vanisher" in _participants(lk, room), "removed at once, before the server could notice"

    # meanwhile: garbage on another participant's signal WebSocket
    garbage = lk.run_python(
        CLIENTS / "bad_client.py", "garbage", "--room", room, "--identity", "noisy"
    ).check()
    result = garbage.json
    assert result["listed_before"], result
    assert result["outcome"] == "closed", result
    assert not result["listed_after"], result
    parse_errors = server_log_entries(lk, msg="error reading from websocket", participant="noisy")
    assert [e["participantID"] for e in parse_errors] == [result["sid"]], parse_errors
    assert "cannot parse invalid wire-format data" in parse_errors[0]["error"]

    # and the same server still carries audio between well-behaved participants in the same room
    tone = _tone_between(lk, room, publisher_first=False)
    assert abs(tone["peak_hz"] - TONE_HZ) < 3

    seen = lk.wait(watcher, 90).check().json
    assert seen["reached"], seen
    left = [e for e in seen["events"] if e["event"] == "participant_disconnected"]
    vanished = next(e for e in left if e["identity"] == "vanisher")
    print(f"vanished participant removed after {vanished['t'] - killed_at:.1f} s")
    published = [e["identity"] for e in seen["events"] if e["event"] == "track_published"]
    assert "vanisher" in published, seen
    closing = server_log_entries(lk, msg="participant closing", participant="vanisher")
    assert [e["reason"] for e in closing] == ["PEER_CONNECTION_DISCONNECTED"], closing
    assert "vanisher" not in _participants(lk, room)
    assert lk.server_alive()
    assert not server_log_entries(lk, level="panic")
