"""The server API over Twirp, as livekit-api calls it: POST /twirp/livekit.<Service>/<Method>.

Bodies are protobuf (`application/protobuf`, what livekit-api sends) or JSON (`application/json`); the answer
uses the request's encoding. Every call carries `Authorization: Bearer <jwt>` signed with one of the
configured keys, and its grants are checked like livekit-server does: CreateRoom and DeleteRoom need
roomCreate, ListRooms needs roomList, everything about one room (participants, metadata, data, agent
dispatch) needs roomAdmin for that room. Failures are Twirp errors: JSON {code, msg} with the code's HTTP
status.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import structlog
from aiohttp import web
from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from livekit.api.access_token import Claims
from livekit.protocol import agent_dispatch, models, room

from local_livekit import tokens
from local_livekit.agent_workers import HUB_KEY, AgentHub, DispatchNotFoundError
from local_livekit.contracts import RoomRegistry, ServerConfig

log = structlog.get_logger(__name__)

PREFIX = "/twirp"
PROTOBUF = "application/protobuf"
JSON = "application/json"

# Twirp's error codes and the HTTP status each one maps to (twirp's ServerHTTPStatusFromErrorCode).
HTTP_STATUS = {
    "canceled": 408,
    "unknown": 500,
    "invalid_argument": 400,
    "malformed": 400,
    "deadline_exceeded": 408,
    "not_found": 404,
    "bad_route": 404,
    "already_exists": 409,
    "permission_denied": 403,
    "unauthenticated": 401,
    "resource_exhausted": 429,
    "failed_precondition": 412,
    "aborted": 409,
    "out_of_range": 400,
    "unimplemented": 501,
    "internal": 500,
    "unavailable": 503,
    "dataloss": 500,
}


class TwirpError(Exception):
    """An error answered as Twirp JSON."""

    def __init__(self, code: str, msg: str, **meta: str) -> None:
        super().__init__(f"{code}: {msg}")
        self.code = code
        self.msg = msg
        self.meta = meta

    @property
    def status(self) -> int:
        return HTTP_STATUS[self.code]

    def to_response(self) -> web.Response:
        body: dict[str, Any] = {"code": self.code, "msg": self.msg}
        if self.meta:
            body["meta"] = self.meta
        return web.json_response(body, status=self.status)


def _permission_denied() -> TwirpError:
    # livekit-server wraps a failed grant check as Unauthenticated ("permissions denied").
    return TwirpError("unauthenticated", "permissions denied")


def _room_not_found() -> TwirpError:
    return TwirpError("not_found", "requested room does not exist")


def _participant_not_found() -> TwirpError:
    return TwirpError("not_found", "participant does not exist")


@dataclass(frozen=True)
class _Call:
    """What a handler sees of one request."""

    claims: Claims | None
    app: web.Application

    def ensure_create(self) -> None:
        if self.claims is None or self.claims.video is None or not self.claims.video.room_create:
            raise _permission_denied()

    def ensure_list(self) -> None:
        if self.claims is None or self.claims.video is None or not self.claims.video.room_list:
            raise _permission_denied()

    def ensure_admin(self, room_name: str) -> None:
        video = self.claims.video if self.claims else None
        if video is None or not video.room_admin or video.room != room_name:
            raise _permission_denied()


Handler = Callable[[_Call, Any], Awaitable[Message]]


@dataclass(frozen=True)
class _Method:
    request_type: type[Message]
    handler: Handler


class RoomServiceApi:
    """livekit.RoomService."""

    def __init__(self, registry: RoomRegistry, config: ServerConfig) -> None:
        self._registry = registry
        self._config = config

    async def create_room(self, call: _Call, req: room.CreateRoomRequest) -> models.Room:
        call.ensure_create()
        if not req.name:
            raise TwirpError("invalid_argument", "no room name")
        created = await self._registry.create_room(
            req.name,
            empty_timeout_s=req.empty_timeout or None,
            max_participants=req.max_participants,
            metadata=req.metadata,
        )
        if req.agents:
            hub = _hub(call)
            await hub.room_configured(created, room.RoomConfiguration(name=req.name, agents=req.agents))
        return created

    async def list_rooms(self, call: _Call, req: room.ListRoomsRequest) -> room.ListRoomsResponse:
        call.ensure_list()
        rooms = self._registry.list_rooms(list(req.names) or None)
        return room.ListRoomsResponse(rooms=rooms)

    async def delete_room(self, call: _Call, req: room.DeleteRoomRequest) -> room.DeleteRoomResponse:
        call.ensure_create()
        if self._registry.get_room(req.room) is None:
            raise _room_not_found()
        await self._registry.delete_room(req.room)
        return room.DeleteRoomResponse()

    async def list_participants(
        self, call: _Call, req: room.ListParticipantsRequest
    ) -> room.ListParticipantsResponse:
        call.ensure_admin(req.room)
        if self._registry.get_room(req.room) is None:
            # livekit-server answers an empty list for a room it does not hold.
            return room.ListParticipantsResponse()
        return room.ListParticipantsResponse(participants=self._registry.list_participants(req.room))

    async def get_participant(self, call: _Call, req: room.RoomParticipantIdentity) -> models.ParticipantInfo:
        call.ensure_admin(req.room)
        participant = self._registry.get_participant(req.room, req.identity)
        if participant is None:
            raise _participant_not_found()
        return participant

    async def remove_participant(
        self, call: _Call, req: room.RoomParticipantIdentity
    ) -> room.RemoveParticipantResponse:
        call.ensure_admin(req.room)
        if self._registry.get_participant(req.room, req.identity) is None:
            raise _participant_not_found()
        await self._registry.remove_participant(req.room, req.identity)
        return room.RemoveParticipantResponse()

    async def update_room_metadata(self, call: _Call, req: room.UpdateRoomMetadataRequest) -> models.Room:
        call.ensure_admin(req.room)
        if self._registry.get_room(req.room) is None:
            raise _room_not_found()
        return await self._registry.update_room_metadata(req.room, req.metadata)

    async def send_data(self, call: _Call, req: room.SendDataRequest) -> room.SendDataResponse:
        call.ensure_admin(req.room)
        if req.nonce and len(req.nonce) != 16:
            raise TwirpError(
                "invalid_argument", f"nonce should be 16-bytes or not present, got: {len(req.nonce)} bytes"
            )
        if self._registry.get_room(req.room) is None:
            raise _room_not_found()
        identities = list(req.destination_identities)
        if req.destination_sids:
            # destination_sids is deprecated but still honoured: translate sids to identities.
            wanted = set(req.destination_sids)
            identities += [p.identity for p in self._registry.list_participants(req.room) if p.sid in wanted]
        await self._registry.send_data(
            req.room,
            req.data,
            kind=req.kind,
            destination_identities=identities,
            topic=req.topic if req.HasField("topic") else None,
        )
        return room.SendDataResponse()


class AgentDispatchApi:
    """livekit.AgentDispatchService."""

    def __init__(self, registry: RoomRegistry) -> None:
        self._registry = registry

    async def create_dispatch(
        self, call: _Call, req: agent_dispatch.CreateAgentDispatchRequest
    ) -> agent_dispatch.AgentDispatch:
        call.ensure_admin(req.room)
        if not req.room:
            raise TwirpError("invalid_argument", "no room name")
        hub = _hub(call)
        # livekit-server creates the room when it does not exist yet (room auto-create).
        room_info = self._registry.get_room(req.room) or await self._registry.create_room(req.room)
        return await hub.create_dispatch(
            room_info,
            agent_name=req.agent_name,
            metadata=req.metadata,
            attributes=dict(req.attributes),
            restart_policy=req.restart_policy,
            deployment=req.deployment,
        )

    async def delete_dispatch(
        self, call: _Call, req: agent_dispatch.DeleteAgentDispatchRequest
    ) -> agent_dispatch.AgentDispatch:
        call.ensure_admin(req.room)
        try:
            return await _hub(call).delete_dispatch(req.room, req.dispatch_id)
        except DispatchNotFoundError as exc:
            raise TwirpError("not_found", "dispatch ID not found") from exc

    async def list_dispatch(
        self, call: _Call, req: agent_dispatch.ListAgentDispatchRequest
    ) -> agent_dispatch.ListAgentDispatchResponse:
        call.ensure_admin(req.room)
        if self._registry.get_room(req.room) is None:
            raise _room_not_found()
        dispatches = _hub(call).list_dispatches(req.room, req.dispatch_id)
        return agent_dispatch.ListAgentDispatchResponse(agent_dispatches=dispatches)


def _hub(call: _Call) -> AgentHub:
    hub = call.app.get(HUB_KEY)
    if hub is None:
        raise TwirpError("unavailable", "agent dispatch is not enabled on this server")
    return hub


class TwirpRouter:
    """Decodes, authenticates, dispatches to a service method and encodes the answer."""

    def __init__(self, registry: RoomRegistry, config: ServerConfig) -> None:
        self._config = config
        rooms = RoomServiceApi(registry, config)
        agents = AgentDispatchApi(registry)
        self._methods: dict[str, _Method] = {
            "livekit.RoomService/CreateRoom": _Method(room.CreateRoomRequest, rooms.create_room),
            "livekit.RoomService/ListRooms": _Method(room.ListRoomsRequest, rooms.list_rooms),
            "livekit.RoomService/DeleteRoom": _Method(room.DeleteRoomRequest, rooms.delete_room),
            "livekit.RoomService/ListParticipants": _Method(
                room.ListParticipantsRequest, rooms.list_participants
            ),
            "livekit.RoomService/GetParticipant": _Method(
                room.RoomParticipantIdentity, rooms.get_participant
            ),
            "livekit.RoomService/RemoveParticipant": _Method(
                room.RoomParticipantIdentity, rooms.remove_participant
            ),
            "livekit.RoomService/UpdateRoomMetadata": _Method(
                room.UpdateRoomMetadataRequest, rooms.update_room_metadata
            ),
            "livekit.RoomService/SendData": _Method(room.SendDataRequest, rooms.send_data),
            "livekit.AgentDispatchService/CreateDispatch": _Method(
                agent_dispatch.CreateAgentDispatchRequest, agents.create_dispatch
            ),
            "livekit.AgentDispatchService/DeleteDispatch": _Method(
                agent_dispatch.DeleteAgentDispatchRequest, agents.delete_dispatch
            ),
            "livekit.AgentDispatchService/ListDispatch": _Method(
                agent_dispatch.ListAgentDispatchRequest, agents.list_dispatch
            ),
        }

    async def handle(self, request: web.Request) -> web.StreamResponse:
        route = f"{request.match_info['service']}/{request.match_info['method']}"
        try:
            return await self._handle(request, route)
        except TwirpError as exc:
            log.info("twirp call failed", route=route, code=exc.code, msg=exc.msg)
            return exc.to_response()
        except Exception:
            log.exception("twirp call crashed", route=route)
            return TwirpError("internal", "internal server error").to_response()

    async def _handle(self, request: web.Request, route: str) -> web.StreamResponse:
        if request.method != "POST":
            raise TwirpError("bad_route", f"unsupported method {request.method} (only POST is allowed)")
        method = self._methods.get(route)
        if method is None:
            raise TwirpError("bad_route", f"no handler for path {request.path}")
        content_type = request.content_type
        if content_type not in (PROTOBUF, JSON):
            raise TwirpError("bad_route", f"unexpected Content-Type: {content_type!r}")

        claims = self._authenticate(request)
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge as exc:
            raise TwirpError("invalid_argument", f"request body too large: {exc.text}") from exc
        message = method.request_type()
        try:
            if content_type == PROTOBUF:
                message.ParseFromString(body)
            else:
                json_format.Parse(body or b"{}", message, ignore_unknown_fields=True)
        except (DecodeError, json_format.ParseError, UnicodeDecodeError) as exc:
            raise TwirpError("malformed", f"the request body could not be decoded: {exc}") from exc

        result = await method.handler(_Call(claims=claims, app=request.app), message)
        log.debug("twirp call", route=route)
        if content_type == PROTOBUF:
            return web.Response(body=result.SerializeToString(), content_type=PROTOBUF)
        # Twirp's JSON: proto field names, zero values included.
        as_dict = json_format.MessageToDict(
            result, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
        )
        return web.Response(text=json.dumps(as_dict), content_type=JSON)

    def _authenticate(self, request: web.Request) -> Claims | None:
        """The token's claims; None without a token (every method then answers permission denied)."""
        try:
            token = tokens.bearer_token(request.headers.get("Authorization"))
            if token is None:
                return None
            _, claims = tokens.verify_token(token, self._config.keys)
        except tokens.TokenError as exc:
            raise TwirpError("unauthenticated", str(exc)) from exc
        return claims


def add_routes(app: web.Application, registry: RoomRegistry, config: ServerConfig) -> None:
    """Serve RoomService and AgentDispatchService under /twirp on the app."""
    router = TwirpRouter(registry, config)
    app.router.add_route("*", PREFIX + "/{service}/{method}", router.handle)
