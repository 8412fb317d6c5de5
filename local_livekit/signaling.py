"""Client signaling: the `/rtc` WebSocket (binary protobuf SignalRequest / SignalResponse) and the session of
one connected participant."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Coroutine
from typing import Any

import structlog
from aiohttp import WSMsgType, web
from aiortc import RTCDataChannel
from google.protobuf.message import DecodeError
from livekit.protocol import models, rtc
from livekit.protocol.models import DisconnectReason

from local_livekit.auth import AuthError, JoinGrant, bearer_token, source_name, verify_join_token
from local_livekit.contracts import ServerConfig
from local_livekit.data import CHANNEL_KINDS, DataPacketError, stamp_from_sender
from local_livekit.media import (
    IncomingTrack,
    PublisherTransport,
    SignalingError,
    SubscriberTransport,
    TrackFanout,
    parse_trickle,
)
from local_livekit.rooms import PublishedTrack, Registry, Room, new_sid

log = structlog.get_logger("local_livekit.signaling")

SERVER_VERSION = "1.9.0"
SERVER_PROTOCOL = 16
PING_INTERVAL_S = 5
PING_TIMEOUT_S = 15
MAX_SIGNAL_BYTES = 4 * 1024 * 1024

CONFIG_KEY = web.AppKey("config", ServerConfig)
REGISTRY_KEY = web.AppKey("registry", Registry)

_Reason = models.DisconnectReason
_TrackType = models.TrackType


def server_info() -> models.ServerInfo:
    return models.ServerInfo(
        edition=models.ServerInfo.Edition.Standard,
        version=SERVER_VERSION,
        protocol=SERVER_PROTOCOL,
        region="local",
        node_id="local-livekit",
        debug_info="local_livekit: development and tests only",
    )


def _now_ms() -> int:
    return int(time.time() * 1000)


class ParticipantSession:
    """One participant's signaling connection, peer connections and published tracks (a rooms.RoomMember)."""

    def __init__(
        self,
        ws: web.WebSocketResponse,
        grant: JoinGrant,
        config: ServerConfig,
        client_protocol: int,
        *,
        auto_subscribe: bool = True,
    ) -> None:
        now = time.time()
        self.ws = ws
        self.grant = grant
        self.subscribes_automatically = grant.can_subscribe and auto_subscribe
        self.info = models.ParticipantInfo(
            sid=new_sid("PA_"),
            identity=grant.identity,
            name=grant.name,
            state=models.ParticipantInfo.State.JOINED,
            metadata=grant.metadata,
            attributes=grant.attributes,
            joined_at=int(now),
            joined_at_ms=int(now * 1000),
            permission=grant.permission(),
            kind=grant.kind,
            client_protocol=client_protocol,
        )
        self.log = log.bind(room=grant.room, identity=grant.identity, sid=self.info.sid)
        self._node_ip = config.rtc_node_ip
        self._out: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._room: Room | None = None
        self._closed = asyncio.Event()
        self._leave_reason: DisconnectReason = _Reason.CLIENT_INITIATED
        self._channels: dict[int, RTCDataChannel] = {}
        self._pending: dict[str, models.TrackInfo] = {}  # cid -> announced by AddTrackRequest, no media yet
        self._early_media: dict[str, IncomingTrack] = {}  # cid -> media that came before its AddTrackRequest
        self._published_by_mid: dict[str, str] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.publisher = PublisherTransport(self._node_ip, self._on_track, self._on_datachannel)
        self.publisher.pc.on("connectionstatechange", self._on_publisher_state)
        self.subscriber: SubscriberTransport | None = None

    # -- RoomMember ------------------------------------------------------------------------------------------

    def send(self, response: rtc.SignalResponse) -> None:
        if not self._closed.is_set():
            self._out.put_nowait(response.SerializeToString())

    def deliver_data(self, payload: bytes, kind: models.DataPacket.Kind) -> None:
        # Sent on the client's own publisher channels: both SDKs read messages there, and they exist as
        # soon as the client has connected (it negotiates its publisher connection at once).
        channel = self._channels.get(kind) or next(iter(self._channels.values()), None)
        if channel is None or channel.readyState != "open":
            self.log.warning("data dropped: no open data channel", kind=kind)
            return
        channel.send(payload)

    async def subscribe(self, publisher: models.ParticipantInfo, track: PublishedTrack) -> None:
        if track.fanout is None or track.info.type != _TrackType.AUDIO or self._closed.is_set():
            return  # only audio is forwarded; video is accepted from publishers but not relayed
        if self.subscriber is None:
            self.subscriber = SubscriberTransport(self._node_ip, self._send_subscriber_offer)
        await self.subscriber.add_track(publisher.sid, track.info.sid, track.fanout)

    async def unsubscribe(self, track_sid: str) -> None:
        if self.subscriber is not None and not self._closed.is_set():
            await self.subscriber.remove_track(track_sid)

    async def disconnect(self, reason: DisconnectReason) -> None:
        self.log.info("disconnecting participant", reason=_Reason.Name(reason))
        self.send(
            rtc.SignalResponse(
                leave=rtc.LeaveRequest(
                    can_reconnect=False, reason=reason, action=rtc.LeaveRequest.Action.DISCONNECT
                )
            )
        )
        self._leave_reason = reason
        self._closed.set()
        self._out.put_nowait(None)

    # -- lifecycle -------------------------------------------------------------------------------------------

    async def run(self, registry: Registry) -> None:
        writer = asyncio.create_task(self._write_loop())
        room: Room | None = None
        try:
            room = await registry.room_for_join(self.grant.room, self.grant.room_config)
            await room.evict(self.grant.identity, _Reason.DUPLICATE_IDENTITY)
            self._room = room
            others = room.add_member(self)
            self.send(rtc.SignalResponse(join=self._join_response(room, others)))
            self.log.info("participant joined", kind=models.ParticipantInfo.Kind.Name(self.info.kind))
            await room.announce_join(self)
            await self._read_loop()
        except PermissionError as exc:
            self.log.warning("join refused", reason=str(exc))
            self._leave_reason = _Reason.JOIN_FAILURE
        finally:
            self._closed.set()
            self._out.put_nowait(None)
            if room is not None:
                await room.remove_member(self, self._leave_reason)
            await self._close_media()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
            await self.ws.close()
            self.log.info("participant left", reason=_Reason.Name(self._leave_reason))

    def _join_response(self, room: Room, others: list[models.ParticipantInfo]) -> rtc.JoinResponse:
        return rtc.JoinResponse(
            room=room.snapshot(),
            participant=self.info,
            other_participants=others,
            server_version=SERVER_VERSION,
            server_region="local",
            server_info=server_info(),
            # The client offers its publisher connection at once; the subscriber one follows our first offer.
            subscriber_primary=False,
            ping_interval=PING_INTERVAL_S,
            ping_timeout=PING_TIMEOUT_S,
        )

    async def _write_loop(self) -> None:
        while True:
            payload = await self._out.get()
            if payload is None or self.ws.closed:
                return
            try:
                await self.ws.send_bytes(payload)
            except ConnectionError:
                return

    async def _read_loop(self) -> None:
        while not self._closed.is_set():
            receive = asyncio.ensure_future(self.ws.receive())
            closed = asyncio.ensure_future(self._closed.wait())
            done, _ = await asyncio.wait(
                {receive, closed}, timeout=PING_TIMEOUT_S, return_when="FIRST_COMPLETED"
            )
            closed.cancel()
            if receive not in done:
                receive.cancel()
                if not done:
                    self.log.warning("no message within the ping timeout, closing")
                    self._leave_reason = _Reason.SIGNAL_CLOSE
                return
            message = receive.result()
            if message.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                if self._leave_reason == _Reason.CLIENT_INITIATED:
                    self._leave_reason = _Reason.SIGNAL_CLOSE
                return
            if message.type != WSMsgType.BINARY:
                self.log.warning("refusing non-binary signal message", type=message.type.name)
                self._leave_reason = _Reason.SIGNAL_CLOSE
                await self.ws.close(code=1003, message=b"signal messages are binary protobuf")
                return
            request = rtc.SignalRequest()
            try:
                request.ParseFromString(message.data)
            except DecodeError:
                self.log.warning("refusing undecodable signal message", size=len(message.data))
                self._leave_reason = _Reason.SIGNAL_CLOSE
                await self.ws.close(code=1003, message=b"not a SignalRequest")
                return
            try:
                await self._handle(request)
            except SignalingError as exc:
                self.log.warning("bad signal request", error=str(exc), kind=request.WhichOneof("message"))

    async def _close_media(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self.subscriber is not None:
            await self.subscriber.close()
        await self.publisher.close()
        for early in self._early_media.values():
            early.track.stop()

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- requests --------------------------------------------------------------------------------------------

    async def _handle(self, request: rtc.SignalRequest) -> None:
        kind = request.WhichOneof("message")
        if kind == "offer":
            await self._on_offer(request.offer)
        elif kind == "answer":
            if self.subscriber is None:
                raise SignalingError("answer without a subscriber offer")
            await self.subscriber.accept_answer(request.answer.sdp)
        elif kind == "trickle":
            await self._on_trickle(request.trickle)
        elif kind == "add_track":
            await self._on_add_track(request.add_track)
        elif kind == "mute":
            self._on_mute(request.mute)
        elif kind == "subscription":
            await self._on_subscription(request.subscription)
        elif kind == "leave":
            self._leave_reason = request.leave.reason or _Reason.CLIENT_INITIATED
            self._closed.set()
        elif kind == "ping":
            self.send(rtc.SignalResponse(pong=request.ping))
        elif kind == "ping_req":
            pong = rtc.Pong(last_ping_timestamp=request.ping_req.timestamp, timestamp=_now_ms())
            self.send(rtc.SignalResponse(pong_resp=pong))
        elif kind == "update_metadata":
            self._on_update_metadata(request.update_metadata)
        else:
            self.log.debug("signal request ignored", kind=kind)

    async def _on_offer(self, offer: rtc.SessionDescription) -> None:
        answer_sdp = await self.publisher.answer(offer.sdp)
        self.send(
            rtc.SignalResponse(answer=rtc.SessionDescription(type="answer", sdp=answer_sdp, id=offer.id))
        )
        for mid in self.publisher.stopped_mids():
            track_sid = self._published_by_mid.pop(mid, None)
            if track_sid is not None and self._room is not None:
                await self._room.unpublish(self, track_sid)

    async def _on_trickle(self, trickle: rtc.TrickleRequest) -> None:
        candidate = parse_trickle(trickle.candidateInit)
        if candidate is None:
            return
        if trickle.target == rtc.SignalTarget.PUBLISHER:
            await self.publisher.add_candidate(candidate)
        elif self.subscriber is not None:
            await self.subscriber.add_candidate(candidate)

    async def _on_add_track(self, add: rtc.AddTrackRequest) -> None:
        # livekit-server's ParticipantImpl.AddTrack: the source is checked against the grant (canPublish,
        # then canPublishSources), then the type; a refusal is a RequestResponse echoing the request.
        if not self.grant.can_publish_source(add.source):
            self.log.warning(
                "add_track refused: no permission to publish this source",
                cid=add.cid,
                source=source_name(add.source),
                can_publish=self.grant.can_publish,
                can_publish_sources=list(self.grant.can_publish_sources),
            )
            self._add_track_refused(add, rtc.RequestResponse.Reason.NOT_ALLOWED)
            return
        if add.type not in (_TrackType.AUDIO, _TrackType.VIDEO):
            self.log.warning("add_track refused: unsupported track type", cid=add.cid, type=add.type)
            self._add_track_refused(add, rtc.RequestResponse.Reason.UNSUPPORTED_TYPE)
            return
        info = models.TrackInfo(
            sid=new_sid("TR_"),
            type=add.type,
            name=add.name,
            muted=add.muted,
            width=add.width,
            height=add.height,
            disable_dtx=add.disable_dtx,
            source=add.source,
            stereo=add.stereo,
            disable_red=add.disable_red,
            encryption=add.encryption,
            stream=add.stream,
            mime_type="audio/opus" if add.type == _TrackType.AUDIO else "video/vp8",
            audio_features=add.audio_features,
        )
        self._pending[add.cid] = info
        self.send(rtc.SignalResponse(track_published=rtc.TrackPublishedResponse(cid=add.cid, track=info)))
        early = self._early_media.pop(add.cid, None)
        if early is not None:
            await self._publish(early)

    def _on_track(self, incoming: IncomingTrack) -> None:
        if incoming.cid in self._pending:
            self._spawn(self._publish(incoming))
        else:
            self._early_media[incoming.cid] = incoming

    async def _publish(self, incoming: IncomingTrack) -> None:
        info = self._pending.pop(incoming.cid)
        info.mid = incoming.mid
        forward = incoming.track.kind == "audio"
        published = PublishedTrack(info=info, fanout=TrackFanout(incoming.track, forward=forward))
        self._published_by_mid[incoming.mid] = info.sid
        self.log.info("track published", track=info.sid, kind=incoming.track.kind, cid=incoming.cid)
        if self._room is not None:
            await self._room.publish(self, published)

    def _on_mute(self, mute: rtc.MuteTrackRequest) -> None:
        for track in self.info.tracks:
            if track.sid == mute.sid:
                track.muted = mute.muted
                if self._room is not None:
                    self._room.broadcast_participant(self)
                return
        raise SignalingError(f"mute for unknown track {mute.sid}")

    async def _on_subscription(self, update: rtc.UpdateSubscription) -> None:
        if self._room is None:
            return
        for track_sid in update.track_sids:
            entry = self._room.tracks.get(track_sid)
            if entry is None:
                continue
            publisher, track = entry
            if update.subscribe and self.grant.can_subscribe:
                await self.subscribe(publisher.info, track)
            elif not update.subscribe:
                await self.unsubscribe(track_sid)

    def _on_update_metadata(self, update: rtc.UpdateParticipantMetadata) -> None:
        if not self.grant.can_update_own_metadata:
            self._request_refused(update.request_id, "does not have permission to update own metadata")
            return
        if update.name:
            self.info.name = update.name
        if update.metadata:
            self.info.metadata = update.metadata
        for key, value in update.attributes.items():
            if value:
                self.info.attributes[key] = value
            else:
                self.info.attributes.pop(key, None)
        if self._room is not None:
            self._room.broadcast_participant(self)
        if update.request_id:
            self.send(
                rtc.SignalResponse(
                    request_response=rtc.RequestResponse(
                        request_id=update.request_id, reason=rtc.RequestResponse.Reason.OK
                    )
                )
            )

    def _add_track_refused(self, add: rtc.AddTrackRequest, reason: rtc.RequestResponse.Reason) -> None:
        # As livekit-server: no message and no request_id (AddTrackRequest has none), only the echoed request
        # to say which cid was refused. livekit-client 2.23 ignores it and its publish times out.
        response = rtc.RequestResponse(reason=reason)
        response.add_track.CopyFrom(add)
        self.send(rtc.SignalResponse(request_response=response))

    def _request_refused(self, request_id: int, message: str) -> None:
        self.send(
            rtc.SignalResponse(
                request_response=rtc.RequestResponse(
                    request_id=request_id, reason=rtc.RequestResponse.Reason.NOT_ALLOWED, message=message
                )
            )
        )

    # -- media callbacks -------------------------------------------------------------------------------------

    def _on_publisher_state(self) -> None:
        # livekit-server marks a participant ACTIVE once its media connection is up
        joined = models.ParticipantInfo.State.JOINED
        if self.publisher.pc.connectionState == "connected" and self.info.state == joined:
            self.info.state = models.ParticipantInfo.State.ACTIVE
            if self._room is not None and not self._closed.is_set():
                self._room.broadcast_participant(self)

    async def _send_subscriber_offer(self, sdp: str) -> None:
        self.send(rtc.SignalResponse(offer=rtc.SessionDescription(type="offer", sdp=sdp)))

    def _on_datachannel(self, channel: RTCDataChannel) -> None:
        kind = CHANNEL_KINDS.get(channel.label)
        if kind is None:
            return
        self._channels[kind] = channel

        @channel.on("message")
        def _message(message: bytes | str) -> None:
            if isinstance(message, str):
                self.log.warning("text data channel message dropped")
                return
            if not self.grant.can_publish_data:
                self.log.warning("data dropped: token has no canPublishData")
                return
            try:
                forward = stamp_from_sender(message, kind, self.info)
            except DataPacketError as exc:
                self.log.warning("data dropped", error=str(exc))
                return
            if self._room is not None:
                self._room.route_data(self, forward.payload, kind, forward.destinations)


async def handle_rtc(request: web.Request) -> web.StreamResponse:
    """`/rtc`: verify the token before the upgrade (401 and a message, as livekit-server), then serve."""
    registry = request.app[REGISTRY_KEY]
    config = request.app[CONFIG_KEY]
    try:
        token = bearer_token(request.headers.get("Authorization"), request.query.get("access_token"))
        grant = verify_join_token(token, config.keys, room_param=request.query.get("room"))
    except AuthError as exc:
        log.warning("join refused", status=exc.status, reason=exc.message, remote=request.remote)
        return web.Response(status=exc.status, text=exc.message)
    try:
        client_protocol = int(request.query.get("protocol", "0"))
    except ValueError:
        return web.Response(status=400, text="protocol must be an integer")
    ws = web.WebSocketResponse(max_msg_size=MAX_SIGNAL_BYTES)
    await ws.prepare(request)
    if request.query.get("reconnect") in ("1", "true"):
        # Sessions are not resumable here. Like livekit-server when it cannot find the session, ask the
        # client for a full reconnect (a new join) instead of leaving it waiting for a ReconnectResponse.
        log.info("resume refused, asking for a full reconnect", identity=grant.identity, room=grant.room)
        leave = rtc.LeaveRequest(
            can_reconnect=True, reason=_Reason.STATE_MISMATCH, action=rtc.LeaveRequest.Action.RECONNECT
        )
        await ws.send_bytes(rtc.SignalResponse(leave=leave).SerializeToString())
        await ws.close()
        return ws
    auto_subscribe = request.query.get("auto_subscribe", "1") not in ("0", "false")
    session = ParticipantSession(ws, grant, config, client_protocol, auto_subscribe=auto_subscribe)
    await session.run(registry)
    return ws


async def handle_validate(request: web.Request) -> web.Response:
    """`/rtc/validate`: 200 "success" for a good token, else livekit-server's status and message."""
    config = request.app[CONFIG_KEY]
    headers = {"Access-Control-Allow-Origin": "*"}
    try:
        token = bearer_token(request.headers.get("Authorization"), request.query.get("access_token"))
        verify_join_token(token, config.keys, room_param=request.query.get("room"))
    except AuthError as exc:
        return web.Response(status=exc.status, text=exc.message, headers=headers)
    return web.Response(text="success", headers=headers)


async def handle_v1(request: web.Request) -> web.Response:
    """`/rtc/v1` (single peer connection) is not offered; 404 makes both SDKs fall back to `/rtc`."""
    headers = {"Access-Control-Allow-Origin": "*"} if request.path.endswith("/validate") else {}
    return web.Response(status=404, text="single peer connection mode is not supported", headers=headers)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/rtc", handle_rtc)
    app.router.add_get("/rtc/validate", handle_validate)
    app.router.add_get("/rtc/v1", handle_v1)
    app.router.add_get("/rtc/v1/validate", handle_v1)
