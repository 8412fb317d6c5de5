"""Contract: livekit-client's own `TokenSource.endpoint` (the SDK version tests/browser pins, run in
Node) gets a working room token from a running control plane, as LiveKit's starter front ends ask for one."""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import httpx
from livekit import api

from tests.conftest import TEST_ENV
from tests.control_plane.helpers import SESSION_BODY, sign_up_confirmed
from tests.control_plane.processes import serving
from tests.support.mailbox import Mailbox

BROWSER = Path(__file__).resolve().parents[1] / "browser"


def token_source_fetch(url: str, bearer: str, options: dict[str, Any]) -> dict[str, Any]:
    node = shutil.which("node")
    assert node is not None, "Node.js is required (tests/browser uses it)"
    assert (BROWSER / "node_modules" / "livekit-client").is_dir(), "run `make browser-deps` first"
    done = subprocess.run(
        [node, "token_source.mjs", url, bearer, json.dumps(options)],
        cwd=BROWSER,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_livekit_client_token_source_endpoint(database_url: str, mailbox: Mailbox) -> None:
    with serving({}) as (base, _):
        email, password = f"ts-{uuid.uuid4().hex[:8]}@example.com", "a long enough password"
        sign_up_confirmed(base, mailbox, email, password, name="T")
        login = httpx.post(f"{base}/auth/login", json={"email": email, "password": password})
        bearer = login.json()["access_token"]
        auth = {"Authorization": f"Bearer {bearer}"}
        session = httpx.post(f"{base}/sessions", json=SESSION_BODY, headers=auth).json()
        me = httpx.get(f"{base}/auth/me", headers=auth).json()

        options = {
            "roomName": session["room_name"],
            "participantName": "Someone Else",
            "participantIdentity": "someone-else",
            "participantAttributes": {"role": "admin"},
            "agentName": "codevoice-interviewer",
        }
        result = token_source_fetch(f"{base}/livekit/token", bearer, options)
        assert result["sent"] == {
            "room_name": session["room_name"],
            "participant_name": "Someone Else",
            "participant_identity": "someone-else",
            "participant_attributes": {"role": "admin"},
            "room_config": {"agents": [{"agent_name": "codevoice-interviewer"}]},
        }
        response = result["response"]
        assert response["serverUrl"] == TEST_ENV["LIVEKIT_URL"]
        claims = api.TokenVerifier(TEST_ENV["LIVEKIT_API_KEY"], TEST_ENV["LIVEKIT_API_SECRET"]).verify(
            response["participantToken"]
        )
        assert claims.identity == f"user-{me['id']}"
        assert claims.name == "T"
        assert not claims.attributes
        assert claims.video is not None
        assert claims.video.room == session["room_name"]
        assert claims.room_config is not None
        assert [agent.agent_name for agent in claims.room_config.agents] == ["codevoice-interviewer"]

        refused = token_source_fetch(
            f"{base}/livekit/token", bearer, {"roomName": session["room_name"], "agentName": "other-agent"}
        )
        assert "received 403" in refused["error"], refused
