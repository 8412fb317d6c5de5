"""The baseline for bench/token_endpoint.py: a bare Litestar handler that only signs an equivalent
LiveKit token (no auth, no database), so the difference is what the control plane adds."""

from __future__ import annotations

import json
import os
import uuid
from datetime import timedelta

from litestar import Litestar, get, post
from livekit import api
from livekit.protocol.agent_dispatch import RoomAgentDispatch
from livekit.protocol.room import RoomConfiguration

KEY = os.environ["LIVEKIT_API_KEY"]
SECRET = os.environ["LIVEKIT_API_SECRET"]


@post("/livekit/token", status_code=201)
async def token(data: dict[str, str]) -> dict[str, str]:
    metadata = json.dumps(
        {"session_id": data["session_id"], "role": "Backend Engineer", "topics": ["python"]}
    )
    jwt = (
        api.AccessToken(KEY, SECRET)
        .with_identity(f"user-{uuid.uuid4()}")
        .with_ttl(timedelta(minutes=10))
        .with_grants(
            api.VideoGrants(room_join=True, room="interview-x", can_publish=True, can_subscribe=True)
        )
        .with_room_config(
            RoomConfiguration(
                agents=[RoomAgentDispatch(agent_name="codevoice-interviewer", metadata=metadata)]
            )
        )
        .to_jwt()
    )
    return {"server_url": "ws://127.0.0.1:7880", "participant_token": jwt}


@get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


app = Litestar(route_handlers=[token, healthz])
