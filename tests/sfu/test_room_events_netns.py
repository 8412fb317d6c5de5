"""Room events seen by real livekit rtc SDK participants through the real livekit-server: leave, data routing,
mute, metadata, attributes, participant kind and duplicate identities (all inside a network namespace).

The real server sends the arrival and departure of a participant that publishes no track only with its next
batched update (every 3 s), so the clients here wait for each other (actor.py's wait-* steps) rather than
relying on fixed sleeps."""

from __future__ import annotations

from typing import Any

import pytest

from tests.sfu.conftest import CLIENTS
from tests.support.netns import NetnsLiveKit

pytestmark = [pytest.mark.netns, pytest.mark.slow]


def _events(result: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [e for e in result["events"] if e["event"] == name]


def _observe(lk: NetnsLiveKit, room: str, identity: str, until: str, *extra: str):  # type: ignore[no-untyped-def]
    return lk.popen_python(
        CLIENTS / "observer.py", "--room", room, "--identity", identity, "--until", until, *extra
    )


def _act(lk: NetnsLiveKit, room: str, identity: str, *steps: str, kind: str = "", data: bool = True):  # type: ignore[no-untyped-def]
    extra = (("--kind", kind) if kind else ()) + (() if data else ("--no-publish-data",))
    return lk.popen_python(CLIENTS / "actor.py", "--room", room, "--identity", identity, *extra, *steps)


def test_leave_is_seen_by_the_others(netns_livekit: NetnsLiveKit) -> None:
    lk = netns_livekit
    watcher = _observe(lk, "leave-room", "alice", "participant_disconnected:identity=bob")
    bob = _act(lk, "leave-room", "bob", "wait-for:alice", "publish", "sleep:1.5", "leave")
    bob_result = lk.wait(bob).check().json
    seen = lk.wait(watcher).check().json
    assert seen["reached"], seen
    assert [e["identity"] for e in _events(seen, "participant_connected")] == ["bob"]
    assert [e["track_sid"] for e in _events(seen, "track_published")] == [bob_result["track_sid"]]
    assert [e["track_sid"] for e in _events(seen, "track_unpublished")] == [bob_result["track_sid"]]
    left = _events(seen, "participant_disconnected")
    assert [(e["identity"], e["sid"]) for e in left] == [("bob", bob_result["sid"])]


def test_data_reaches_only_its_destinations(netns_livekit: NetnsLiveKit) -> None:
    lk = netns_livekit
    room = "data-room"
    bob = _observe(lk, room, "bob", "data_received:topic=everyone")
    carol = _observe(lk, room, "carol", "data_received:topic=everyone")
    # dave's token has no canPublishData: the server drops what he sends. Bob, carol and dave publish no
    # track, so the others learn of them only with the server's next batched update (every 3 s): everyone
    # waits for everyone, and dave announces with an attribute (sent at once) that his data has gone out.
    dave = _act(
        lk,
        room,
        "dave",
        "wait-for:alice,bob,carol",
        "data:from-dave:dropped",
        "data:from-dave-direct:dropped:bob",
        "attributes:sent=yes",
        "wait-gone:alice",
        data=False,
    )
    alice = _act(
        lk,
        room,
        "alice",
        "wait-for:bob,carol,dave",
        "wait-attr:dave:sent=yes",
        "sleep:0.5",
        "data:direct:for-bob-only:bob",
        "lossy:direct-lossy:lossy-for-bob:bob",
        "sleep:0.3",
        "data:everyone:hello-all",
        "sleep:0.5",
    )
    alice_result = lk.wait(alice).check().json
    dave_result = lk.wait(dave).check().json
    bob_seen = lk.wait(bob).check().json
    carol_seen = lk.wait(carol).check().json
    assert bob_seen["reached"], bob_seen
    assert carol_seen["reached"], carol_seen
    # the SDK sends dave's packets without complaint; the server drops them
    assert "data_errors" not in dave_result, dave_result
    bob_data = [
        (e["topic"], e["payload"], e["identity"], e["sid"]) for e in _events(bob_seen, "data_received")
    ]
    assert ("direct", "for-bob-only", "alice", alice_result["sid"]) in bob_data
    assert ("everyone", "hello-all", "alice", alice_result["sid"]) in bob_data
    assert all(identity == "alice" for _, _, identity, _ in bob_data), bob_data
    carol_data = [(e["topic"], e["payload"], e["identity"]) for e in _events(carol_seen, "data_received")]
    assert carol_data == [("everyone", "hello-all", "alice")]
    assert {e["data_kind"] for e in _events(bob_seen, "data_received") if e["topic"] == "direct"} == {1}


def test_mute_metadata_name_attributes_and_unpublish_reach_the_others(netns_livekit: NetnsLiveKit) -> None:
    lk = netns_livekit
    room = "state-room"
    watcher = _observe(lk, room, "alice", "track_unpublished:identity=bob")
    bob = _act(
        lk,
        room,
        "bob",
        "wait-for:alice",
        "publish",
        "sleep:1",
        "mute",
        "sleep:0.5",
        "unmute",
        "sleep:0.5",
        "attributes:stage=coding",
        'metadata:{"level": 3}',
        "name:Robert",
        "sleep:0.5",
        "unpublish",
        "sleep:1",
    )
    bob_result = lk.wait(bob).check().json
    seen = lk.wait(watcher).check().json
    assert seen["reached"], seen
    assert [e["track_sid"] for e in _events(seen, "track_muted")] == [bob_result["track_sid"]]
    assert [e["track_sid"] for e in _events(seen, "track_unmuted")] == [bob_result["track_sid"]]
    assert [e["changed"] for e in _events(seen, "participant_attributes_changed")] == [{"stage": "coding"}]
    assert [e["metadata"] for e in _events(seen, "participant_metadata_changed")] == ['{"level": 3}']
    assert [e["name"] for e in _events(seen, "participant_name_changed")] == ["Robert"]
    # unpublished while still connected: the server saw the track stop in the renegotiated offer
    assert [e["track_sid"] for e in _events(seen, "track_unpublished")] == [bob_result["track_sid"]]
    assert _events(seen, "participant_disconnected") == []


def test_agent_kind_and_duplicate_identity(netns_livekit: NetnsLiveKit) -> None:
    lk = netns_livekit
    room = "dup-room"
    watcher = _observe(lk, room, "alice", "participant_connected:identity=human")
    first = _act(lk, room, "agent-1", "stay:40", kind="agent")
    probe = (
        lk.run_python(
            CLIENTS / "observer.py",
            "--room",
            room,
            "--identity",
            "probe",
            "--until",
            "participant_connected:identity=agent-1",
        )
        .check()
        .json
    )
    assert probe["reached"], probe
    agent_kinds = {e["kind"] for e in _events(probe, "participant_connected") if e["identity"] == "agent-1"}
    assert agent_kinds == {"PARTICIPANT_KIND_AGENT"}
    second = _act(lk, room, "agent-1", "sleep:1", kind="agent")
    assert lk.wait(first, 60).check().json["disconnect_reason"] == "DUPLICATE_IDENTITY"
    lk.wait(second).check()
    # human publishes nothing and stays briefly: his arrival would wait for the server's next batched update
    # and be dropped when he leaves first, but an attribute change is sent at once, with him in it
    lk.run_python(
        CLIENTS / "actor.py", "--room", room, "--identity", "human", "attributes:arrived=yes", "sleep:0.5"
    ).check()
    seen = lk.wait(watcher).check().json
    assert seen["reached"], seen
    agents = [e for e in _events(seen, "participant_connected") if e["identity"] == "agent-1"]
    assert agents
    assert all(e["kind"] == "PARTICIPANT_KIND_AGENT" for e in agents)
