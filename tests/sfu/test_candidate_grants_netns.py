"""The candidate's room token, as the control plane mints it, against the real livekit-server: it joins its
one room as its one identity and may publish the microphone, and the server refuses a camera track."""

from __future__ import annotations

import uuid

import pytest

from control_plane.db import models as m
from control_plane.domain.rooms.tokens import participant_identity, room_token
from control_plane.settings import LiveKitSettings
from tests.sfu.conftest import CLIENTS, server_log_entries
from tests.support.netns import NetnsLiveKit

pytestmark = [pytest.mark.netns, pytest.mark.slow]


def test_candidate_token_publishes_the_microphone_only(netns_livekit: NetnsLiveKit) -> None:
    lk = netns_livekit
    settings = LiveKitSettings(url=lk.url, api_key=lk.api_key, api_secret=lk.api_secret)
    user = m.User(id=uuid.uuid4(), email="probe@example.com", display_name="Probe")
    session = m.InterviewSession(
        id=uuid.uuid4(),
        owner_id=user.id,
        role_title="Backend Engineer",
        seniority="mid",
        topics=["python"],
        language="en",
        planned_duration_minutes=10,
        room_name=f"grants-{uuid.uuid4().hex[:8]}",
    )
    token = room_token(settings, session, user)

    result = lk.run_python(CLIENTS / "grant_probe.py", env={"PROBE_TOKEN": token}).check().json

    assert result["identity"] == participant_identity(user)
    assert result["microphone"]["published"] is True, result
    assert result["camera"]["published"] is False, result
    refused = server_log_entries(lk, msg="no permission to publish track", participant=result["identity"])
    assert [entry["kind"] for entry in refused] == ["VIDEO"], refused
