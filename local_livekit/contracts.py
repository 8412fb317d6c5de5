"""Interfaces between the parts of the local LiveKit-protocol server.

The room registry and signaling (rooms.py, signaling.py, media.py, server.py) implement `RoomRegistry` and
emit `RoomListener` events. The server API (twirp.py), webhooks (webhooks.py) and the agent worker hub
(agent_workers.py) are written against these protocols only, so the pieces stay small and replaceable.
All message types are livekit-protocol's own protobufs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from livekit.protocol import models, room


@dataclass(frozen=True)
class ApiKeys:
    """API key -> secret, as in livekit.yaml `keys` (or devkey/secret with --dev)."""

    keys: dict[str, str]

    def secret_for(self, api_key: str) -> str | None:
        return self.keys.get(api_key)

    @property
    def first(self) -> tuple[str, str]:
        key = next(iter(self.keys))
        return key, self.keys[key]


@dataclass(frozen=True)
class ServerConfig:
    """What the server reads from livekit.yaml (the same file real livekit-server reads)."""

    port: int = 7880
    bind_addresses: tuple[str, ...] = ("127.0.0.1",)
    keys: ApiKeys = field(default_factory=lambda: ApiKeys({"devkey": "secret"}))
    webhook_urls: tuple[str, ...] = ()
    webhook_api_key: str | None = None
    empty_timeout_s: int = 300
    departure_timeout_s: int = 20
    # Addresses that ICE may use (the veth address inside a test namespace). Empty: let aiortc gather.
    rtc_node_ip: str | None = None


class RoomListener(Protocol):
    """Room lifecycle events. Implementations must not block; they are awaited in order."""

    async def room_started(self, room_info: models.Room) -> None: ...

    async def room_finished(self, room_info: models.Room) -> None: ...

    async def participant_joined(
        self, room_info: models.Room, participant: models.ParticipantInfo
    ) -> None: ...

    async def participant_left(self, room_info: models.Room, participant: models.ParticipantInfo) -> None: ...

    async def track_published(
        self, room_info: models.Room, participant: models.ParticipantInfo, track: models.TrackInfo
    ) -> None: ...

    async def track_unpublished(
        self, room_info: models.Room, participant: models.ParticipantInfo, track: models.TrackInfo
    ) -> None: ...

    async def room_configured(self, room_info: models.Room, config: room.RoomConfiguration) -> None:
        """A joining participant's token carried a RoomConfiguration (agent dispatches ride on it)."""
        ...


class RoomRegistry(Protocol):
    """The rooms the server holds. Twirp's RoomService and the agent hub call these."""

    def add_listener(self, listener: RoomListener) -> None: ...

    async def create_room(
        self, name: str, *, empty_timeout_s: int | None = None, max_participants: int = 0, metadata: str = ""
    ) -> models.Room: ...

    def list_rooms(self, names: list[str] | None = None) -> list[models.Room]: ...

    def get_room(self, name: str) -> models.Room | None: ...

    async def delete_room(self, name: str) -> None:
        """Disconnect everyone, close the room and emit room_finished."""
        ...

    def list_participants(self, room_name: str) -> list[models.ParticipantInfo]: ...

    def get_participant(self, room_name: str, identity: str) -> models.ParticipantInfo | None: ...

    async def remove_participant(self, room_name: str, identity: str) -> None: ...

    async def update_room_metadata(self, room_name: str, metadata: str) -> models.Room: ...

    async def send_data(
        self,
        room_name: str,
        data: bytes,
        *,
        kind: models.DataPacket.Kind,
        destination_identities: list[str],
        topic: str | None,
    ) -> None: ...
