"""Rooms and their participants: the `RoomRegistry` of contracts.py, plus the room-side rules of joining,
leaving, publishing and closing, and the `RoomListener` events they emit."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import structlog
from livekit.protocol import models, room, rtc
from livekit.protocol.models import DisconnectReason

from local_livekit.contracts import RoomListener, ServerConfig

if TYPE_CHECKING:
    from local_livekit.media import TrackFanout

log = structlog.get_logger("local_livekit.rooms")


def new_sid(prefix: str) -> str:
    """LiveKit-style ids: RM_, PA_, TR_ followed by 12 url-safe characters."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"
    return prefix + "".join(secrets.choice(alphabet) for _ in range(12))


@dataclass
class PublishedTrack:
    """A track a participant publishes, with the fan-out that copies its media to subscribers."""

    info: models.TrackInfo
    fanout: TrackFanout | None = None


class RoomMember(Protocol):
    """A connected participant as the room sees it (signaling.ParticipantSession implements it)."""

    info: models.ParticipantInfo
    # canSubscribe grant and the client's auto_subscribe setting: subscribe it to every new track
    subscribes_automatically: bool

    def send(self, response: rtc.SignalResponse) -> None:
        """Queue a signal message; never blocks, keeps order."""

    def deliver_data(self, payload: bytes, kind: models.DataPacket.Kind) -> None: ...

    async def subscribe(self, publisher: models.ParticipantInfo, track: PublishedTrack) -> None: ...

    async def unsubscribe(self, track_sid: str) -> None: ...

    async def disconnect(self, reason: DisconnectReason) -> None:
        """Tell the client to leave (LeaveRequest) and close its connections. Does not touch the room."""


async def _subscribe(subscriber: RoomMember, publisher: RoomMember, track: PublishedTrack) -> None:
    """Subscribe one member; a failure stays with that subscriber instead of stopping the others'."""
    try:
        await subscriber.subscribe(publisher.info, track)
    except Exception:
        log.exception("subscribing failed", subscriber=subscriber.info.identity, track=track.info.sid)


@dataclass
class Room:
    """One room: its protobuf description, its members and their published tracks."""

    info: models.Room
    departure_timeout_s: int
    _emit: Callable[[str, tuple[object, ...]], Awaitable[None]]
    _on_empty: Callable[[Room, int], None]
    members: dict[str, RoomMember] = field(default_factory=dict)
    tracks: dict[str, tuple[RoomMember, PublishedTrack]] = field(default_factory=dict)
    configured: bool = False
    closed: bool = False

    @property
    def name(self) -> str:
        return self.info.name

    def snapshot(self) -> models.Room:
        info = models.Room()
        info.CopyFrom(self.info)
        visible = [m for m in self.members.values() if not m.info.permission.hidden]
        info.num_participants = len(visible)
        info.num_publishers = sum(1 for m in visible if m.info.is_publisher)
        return info

    def visible_infos(self, *, exclude: str | None = None) -> list[models.ParticipantInfo]:
        return [
            m.info
            for identity, m in self.members.items()
            if identity != exclude and not m.info.permission.hidden
        ]

    def add_member(self, member: RoomMember) -> list[models.ParticipantInfo]:
        """Add synchronously (so no update can slip between this and the JoinResponse); return the others."""
        if self.closed:
            raise RuntimeError(f"room {self.name} is closed")
        self.members[member.info.identity] = member
        return self.visible_infos(exclude=member.info.identity)

    async def announce_join(self, member: RoomMember) -> None:
        self.broadcast_participant(member, include_self=False)
        await self._emit("participant_joined", (self.snapshot(), member.info))
        if member.subscribes_automatically:
            for publisher, track in list(self.tracks.values()):
                if publisher is not member:
                    await _subscribe(member, publisher, track)

    def broadcast_participant(self, member: RoomMember, *, include_self: bool = True) -> None:
        """Send the member's current ParticipantInfo (version bumped) to the room."""
        member.info.version += 1
        if member.info.permission.hidden:
            targets = [member] if include_self else []
        else:
            targets = [m for m in self.members.values() if include_self or m is not member]
        update = rtc.SignalResponse(update=rtc.ParticipantUpdate(participants=[member.info]))
        for target in targets:
            target.send(update)

    async def remove_member(self, member: RoomMember, reason: DisconnectReason) -> None:
        """Forget a member (no-op when it was already replaced or removed) and tell the others."""
        if self.members.get(member.info.identity) is not member:
            return
        # Claimed before the awaits below: a concurrent removal of the same member (its signal session
        # closing while the room is deleted) is then a no-op instead of a KeyError.
        del self.members[member.info.identity]
        for track_sid in [sid for sid, (owner, _) in self.tracks.items() if owner is member]:
            await self.unpublish(member, track_sid)
        member.info.state = models.ParticipantInfo.State.DISCONNECTED
        member.info.disconnect_reason = reason
        if not member.info.permission.hidden:
            member.info.version += 1
            update = rtc.SignalResponse(update=rtc.ParticipantUpdate(participants=[member.info]))
            for other in self.members.values():
                other.send(update)
        await self._emit("participant_left", (self.snapshot(), member.info))
        if not self.members:
            self._on_empty(self, self.departure_timeout_s)

    async def evict(self, identity: str, reason: DisconnectReason) -> None:
        member = self.members.get(identity)
        if member is None:
            return
        await member.disconnect(reason)
        await self.remove_member(member, reason)

    async def publish(self, member: RoomMember, track: PublishedTrack) -> None:
        self.tracks[track.info.sid] = (member, track)
        member.info.tracks.append(track.info)
        member.info.is_publisher = True
        self.broadcast_participant(member)
        await self._emit("track_published", (self.snapshot(), member.info, track.info))
        for other in list(self.members.values()):
            if other is not member and other.subscribes_automatically:
                await _subscribe(other, member, track)

    async def unpublish(self, member: RoomMember, track_sid: str) -> None:
        entry = self.tracks.pop(track_sid, None)
        if entry is None:
            return
        _, track = entry
        for other in list(self.members.values()):
            if other is not member:
                await other.unsubscribe(track_sid)
        kept = [t for t in member.info.tracks if t.sid != track_sid]
        del member.info.tracks[:]
        member.info.tracks.extend(kept)
        if track.fanout is not None:
            await track.fanout.close()
        member.send(rtc.SignalResponse(track_unpublished=rtc.TrackUnpublishedResponse(track_sid=track_sid)))
        self.broadcast_participant(member)
        await self._emit("track_unpublished", (self.snapshot(), member.info, track.info))

    def route_data(
        self, sender: RoomMember | None, payload: bytes, kind: models.DataPacket.Kind, destinations: list[str]
    ) -> int:
        """Deliver a data packet to the named identities (everyone else when empty); return how many."""
        wanted = set(destinations)
        delivered = 0
        for identity, member in self.members.items():
            if member is sender or (wanted and identity not in wanted):
                continue
            member.deliver_data(payload, kind)
            delivered += 1
        return delivered


class Registry:
    """All rooms of this server. Implements contracts.RoomRegistry."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self._rooms: dict[str, Room] = {}
        self._listeners: list[RoomListener] = []
        self._close_timers: dict[str, asyncio.Task[None]] = {}

    # -- listeners -------------------------------------------------------------------------------------------

    def add_listener(self, listener: RoomListener) -> None:
        self._listeners.append(listener)

    async def _emit(self, event: str, args: tuple[object, ...]) -> None:
        for listener in self._listeners:
            try:
                await getattr(listener, event)(*args)
            except Exception:
                log.exception("room listener failed", listener=type(listener).__name__, event=event)

    # -- rooms -----------------------------------------------------------------------------------------------

    async def create_room(
        self, name: str, *, empty_timeout_s: int | None = None, max_participants: int = 0, metadata: str = ""
    ) -> models.Room:
        existing = self._rooms.get(name)
        if existing is not None:
            return existing.snapshot()
        return (
            await self._open_room(
                name, empty_timeout_s=empty_timeout_s, max_participants=max_participants, metadata=metadata
            )
        ).snapshot()

    async def _open_room(
        self,
        name: str,
        *,
        empty_timeout_s: int | None = None,
        departure_timeout_s: int | None = None,
        max_participants: int = 0,
        metadata: str = "",
    ) -> Room:
        if not name:
            raise ValueError("room name cannot be empty")
        now = time.time()
        empty_timeout = self.config.empty_timeout_s if empty_timeout_s is None else empty_timeout_s
        departure = self.config.departure_timeout_s if departure_timeout_s is None else departure_timeout_s
        info = models.Room(
            sid=new_sid("RM_"),
            name=name,
            empty_timeout=empty_timeout,
            departure_timeout=departure,
            max_participants=max_participants,
            creation_time=int(now),
            creation_time_ms=int(now * 1000),
            metadata=metadata,
        )
        opened = Room(info, departure, self._emit, self._schedule_close)
        self._rooms[name] = opened
        log.info("room started", room=name, sid=info.sid)
        await self._emit("room_started", (opened.snapshot(),))
        self._schedule_close(opened, empty_timeout)
        return opened

    async def room_for_join(self, name: str, config: room.RoomConfiguration | None) -> Room:
        """The room a verified participant joins, created on demand like livekit-server does.

        A RoomConfiguration in the token shapes a room this join creates, and `room_configured` is emitted
        for the first configuration a room sees (its agent dispatches are created once, as in LiveKit).
        """
        joined = self._rooms.get(name)
        if joined is None:
            joined = await self._open_room(
                name,
                empty_timeout_s=config.empty_timeout if config and config.empty_timeout else None,
                departure_timeout_s=config.departure_timeout if config and config.departure_timeout else None,
                max_participants=config.max_participants if config else 0,
                metadata=config.metadata if config else "",
            )
        if config is not None and not joined.configured:
            joined.configured = True
            await self._emit("room_configured", (joined.snapshot(), config))
        if joined.info.max_participants and len(joined.members) >= joined.info.max_participants:
            raise PermissionError(f"room {name} is full ({joined.info.max_participants} participants)")
        self._cancel_close(name)
        return joined

    def _schedule_close(self, target: Room, timeout_s: int) -> None:
        if target.closed:
            return
        self._cancel_close(target.name)

        async def close_when_still_empty() -> None:
            await asyncio.sleep(timeout_s)
            if not target.members and self._rooms.get(target.name) is target:
                log.info("room empty, closing", room=target.name, after_s=timeout_s)
                self._close_timers.pop(target.name, None)
                await self._close(target, models.DisconnectReason.ROOM_CLOSED)

        self._close_timers[target.name] = asyncio.create_task(close_when_still_empty())

    def _cancel_close(self, name: str) -> None:
        timer = self._close_timers.pop(name, None)
        if timer is not None:
            timer.cancel()

    async def _close(self, target: Room, reason: DisconnectReason) -> None:
        if target.closed:
            return
        target.closed = True
        self._cancel_close(target.name)
        for member in list(target.members.values()):
            await member.disconnect(reason)
            await target.remove_member(member, reason)
        if self._rooms.get(target.name) is target:
            del self._rooms[target.name]
        log.info("room finished", room=target.name, sid=target.info.sid)
        await self._emit("room_finished", (target.snapshot(),))

    def live_room(self, name: str) -> Room | None:
        return self._rooms.get(name)

    def list_rooms(self, names: list[str] | None = None) -> list[models.Room]:
        return [r.snapshot() for name, r in self._rooms.items() if not names or name in names]

    def get_room(self, name: str) -> models.Room | None:
        found = self._rooms.get(name)
        return found.snapshot() if found is not None else None

    async def delete_room(self, name: str) -> None:
        found = self._rooms.get(name)
        if found is not None:
            await self._close(found, models.DisconnectReason.ROOM_DELETED)

    async def close_all(self) -> None:
        for found in list(self._rooms.values()):
            await self._close(found, models.DisconnectReason.SERVER_SHUTDOWN)

    # -- participants ----------------------------------------------------------------------------------------

    def list_participants(self, room_name: str) -> list[models.ParticipantInfo]:
        found = self._rooms.get(room_name)
        return found.visible_infos() if found is not None else []

    def get_participant(self, room_name: str, identity: str) -> models.ParticipantInfo | None:
        found = self._rooms.get(room_name)
        member = found.members.get(identity) if found is not None else None
        return member.info if member is not None else None

    async def remove_participant(self, room_name: str, identity: str) -> None:
        found = self._rooms.get(room_name)
        if found is not None:
            await found.evict(identity, models.DisconnectReason.PARTICIPANT_REMOVED)

    async def update_room_metadata(self, room_name: str, metadata: str) -> models.Room:
        found = self._rooms.get(room_name)
        if found is None:
            raise KeyError(room_name)
        found.info.metadata = metadata
        snapshot = found.snapshot()
        update = rtc.SignalResponse(room_update=rtc.RoomUpdate(room=snapshot))
        for member in found.members.values():
            member.send(update)
        return snapshot

    async def send_data(
        self,
        room_name: str,
        data: bytes,
        *,
        kind: models.DataPacket.Kind,
        destination_identities: list[str],
        topic: str | None,
    ) -> None:
        found = self._rooms.get(room_name)
        if found is None:
            raise KeyError(room_name)
        packet = models.DataPacket(
            kind=kind,
            destination_identities=destination_identities,
            user=models.UserPacket(
                payload=data, destination_identities=destination_identities, topic=topic or None
            ),
        )
        found.route_data(None, packet.SerializeToString(), kind, list(destination_identities))

    async def aclose_timers(self) -> None:
        for timer in self._close_timers.values():
            timer.cancel()
        for timer in list(self._close_timers.values()):
            with contextlib.suppress(asyncio.CancelledError):
                await timer
        self._close_timers.clear()
