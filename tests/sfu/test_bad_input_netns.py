"""Bad clients are refused or cleaned up, and the server keeps serving (inside a network namespace)."""

from __future__ import annotations

import pytest

from tests.sfu.conftest import CLIENTS
from tests.sfu.test_media_netns import TONE_HZ, _tone_between
from tests.support.netns import NetnsLiveKit

pytestmark = [pytest.mark.netns, pytest.mark.slow]


@pytest.mark.parametrize(
    ("mode", "error"),
    [("sdk-bad-secret", "Signature verification failed"), ("sdk-expired", "Signature has expired")],
)
def test_sdk_with_a_bad_token_is_refused(netns_livekit: NetnsLiveKit, mode: str, error: str) -> None:
    result = netns_livekit.run_python(CLIENTS / "bad_client.py", mode, "--room", "bad-room").check().json
    assert result["outcome"] == "refused", result
    assert "401" in result["error"] or error in result["error"], result
    assert error in netns_livekit.server_log()


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
        "40",
    )
    garbage = lk.run_python(
        CLIENTS / "bad_client.py", "garbage", "--room", room, "--identity", "noisy"
    ).check()
    assert garbage.json == {"mode": "garbage", "outcome": "closed", "close_code": 1003}
    vanished = lk.run_python(CLIENTS / "bad_client.py", "vanish", "--room", room, "--identity", "vanisher")
    assert vanished.check().json["outcome"] == "vanished"
    seen = lk.wait(watcher, 60).check().json
    assert seen["reached"], seen
    assert lk.server_alive()
    # the same server still carries audio between well-behaved participants
    result = _tone_between(lk, room, publisher_first=False)
    assert abs(result["peak_hz"] - TONE_HZ) < 3
    assert "Traceback" not in lk.server_log()
