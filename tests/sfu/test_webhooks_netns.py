"""Webhooks of the real livekit-server. Track webhooks need a participant that really publishes media, so this
runs the server (with `webhook.urls` in its livekit.yaml), the clients and a webhook receiver inside a network
namespace."""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.sfu.conftest import CLIENTS
from tests.support.netns import NetnsLiveKit, wait_until

pytestmark = [pytest.mark.netns, pytest.mark.slow]

WEBHOOK_SINK = Path(__file__).parent / "scripts" / "webhook_sink.py"


def _events(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_track_and_participant_webhooks_follow_a_published_tone(tmp_path: Path) -> None:
    sink_port = random.randrange(33000, 40000)  # a fresh namespace: nothing else listens there
    out = tmp_path / "events.jsonl"
    config = {"webhook": {"urls": [f"http://127.0.0.1:{sink_port}/hooks"], "api_key": "devkey"}}
    with NetnsLiveKit(tmp_path / "lk", extra_config=config) as lk:
        sink = lk.popen([sys.executable, str(WEBHOOK_SINK), str(sink_port), str(out)])
        room = "hooked-room"
        rx = lk.popen_python(
            CLIENTS / "tone_receiver.py", "--room", room, "--identity", "bob", "--from", "alice"
        )
        tx = lk.popen_python(
            CLIENTS / "tone_publisher.py", "--room", room, "--identity", "alice", "--seconds", "1"
        )
        assert lk.wait(rx, 90).check().json["heard"]
        lk.wait(tx, 90).check()
        # The room closes after the departure timeout (5 s in the namespace's livekit.yaml).
        finished = wait_until(lambda: any(e["event"] == "room_finished" for e in _events(out)), timeout=30)
        sink_alive = sink.poll() is None
        events = _events(out)
        assert finished, (
            f"events: {[e['event'] for e in events]}, sink alive: {sink_alive}\n{lk.server_log()[-4000:]}"
        )

    ours = [e for e in events if e["room"]["name"] == room]
    kinds = [e["event"] for e in ours]
    assert (kinds[0], kinds[-1]) == ("room_started", "room_finished"), kinds
    assert sorted(kinds) == sorted(
        [
            "room_started",
            "participant_joined",
            "participant_joined",
            "track_published",
            "track_unpublished",
            "participant_left",
            "participant_left",
            "room_finished",
        ]
    ), kinds
    published = next(e for e in ours if e["event"] == "track_published")
    unpublished = next(e for e in ours if e["event"] == "track_unpublished")
    assert published["participant"]["identity"] == "alice"
    assert published["track"]["sid"] == unpublished["track"]["sid"]
    assert published["track"]["sid"].startswith("TR_")
    assert kinds.index("track_published") < kinds.index("track_unpublished")
    assert len({e["id"] for e in ours}) == len(ours)
    assert {e["_content_type"] for e in ours} == {"application/webhook+json"}
