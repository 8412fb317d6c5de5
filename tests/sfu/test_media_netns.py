"""Audio between real livekit rtc SDK participants through the real livekit-server (all inside a network
namespace)."""

from __future__ import annotations

import pytest

from tests.sfu.conftest import CLIENTS
from tests.support.netns import NetnsLiveKit

pytestmark = [pytest.mark.netns, pytest.mark.slow]

TONE_HZ = 440.0


def _tone_between(lk: NetnsLiveKit, room: str, *, publisher_first: bool) -> dict[str, float]:
    publisher_args = ("--room", room, "--identity", "alice", "--frequency", str(TONE_HZ))
    receiver_args = ("--room", room, "--identity", "bob", "--from", "alice")
    if publisher_first:
        tx = lk.popen_python(CLIENTS / "tone_publisher.py", *publisher_args)
        # the listener joins after the track is published: it must get it through its JoinResponse
        joined = lk.run_python(
            CLIENTS / "observer.py",
            "--room",
            room,
            "--identity",
            "probe",
            "--until",
            "track_published:identity=alice",
            "--no-subscribe",
        )
        assert joined.check().json["reached"], joined.stderr[-3000:]
        rx = lk.popen_python(CLIENTS / "tone_receiver.py", *receiver_args)
    else:
        rx = lk.popen_python(CLIENTS / "tone_receiver.py", *receiver_args)
        tx = lk.popen_python(CLIENTS / "tone_publisher.py", *publisher_args)
    heard = lk.wait(rx, 90).check().json
    sent = lk.wait(tx, 90).check().json
    assert heard["heard"], heard
    assert heard["track_sid"] == sent["track_sid"]
    latency_ms = (heard["onset"] - sent["tone_start"]) * 1000
    print(
        f"tone latency publisher -> subscriber: {latency_ms:.0f} ms, peak {heard['peak_hz']:.1f} Hz, "
        f"rms {heard['rms']:.0f}"
    )
    return {"peak_hz": heard["peak_hz"], "rms": heard["rms"], "latency_ms": latency_ms}


def test_tone_reaches_the_other_participant(netns_livekit: NetnsLiveKit) -> None:
    result = _tone_between(netns_livekit, "tone-room", publisher_first=False)
    assert abs(result["peak_hz"] - TONE_HZ) < 3
    # a 0.5 full-scale sine has an RMS of ~11600; Opus keeps it close
    assert result["rms"] > 5000
    # live audio, not a stale backlog: generous bound, the measured figure is printed
    assert 0 < result["latency_ms"] < 3000


def test_late_joiner_receives_earlier_tracks(netns_livekit: NetnsLiveKit) -> None:
    result = _tone_between(netns_livekit, "late-room", publisher_first=True)
    assert abs(result["peak_hz"] - TONE_HZ) < 3
    assert result["rms"] > 5000
    assert 0 < result["latency_ms"] < 3000
