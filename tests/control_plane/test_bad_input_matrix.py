"""Bad input on every endpoint, public and internal: refused with an RFC 9457 problem document
(application/problem+json with status, title and detail) carrying the right 4xx, and nothing stored
changes.

"Nothing stored changes" is checked on the rows themselves: each refused request is bracketed by a
snapshot of the users, sessions, transcript segments, refresh tokens, webhook events and summaries,
read straight from Postgres. Each test runs all its cases and then lists every one that was not
refused properly, so one run shows the whole matrix.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text

from control_plane.domain.webhooks.controllers import MAX_WEBHOOK_BYTES
from control_plane.lib.db import get_alchemy_config
from control_plane.settings import get_settings
from tests.conftest import TEST_ENV, AuthedUser, MakeUser
from tests.control_plane.helpers import SESSION_BODY, create_session
from tests.control_plane.processes import serving
from tests.control_plane.test_webhooks import deliver, event_body, sign

Client = AsyncTestClient[Litestar]
JSON = {"Content-Type": "application/json"}

# One literal query per table whose rows a refused request must leave alone.
STORED_TABLES = {
    "users": "SELECT * FROM users ORDER BY id",
    "interview_sessions": "SELECT * FROM interview_sessions ORDER BY id",
    "transcript_segments": "SELECT * FROM transcript_segments ORDER BY id",
    "refresh_tokens": "SELECT * FROM refresh_tokens ORDER BY id",
    "webhook_events": "SELECT * FROM webhook_events ORDER BY id",
    "summaries": "SELECT * FROM summaries ORDER BY id",
}


async def stored_rows() -> dict[str, list[tuple[Any, ...]]]:
    async with get_alchemy_config().get_session() as db:
        return {
            table: [tuple(row) for row in await db.execute(text(query))]
            for table, query in STORED_TABLES.items()
        }


def problem_defects(response: Any, expected: set[int]) -> list[str]:
    """What keeps `response` from being a problem document with one of the `expected` statuses."""
    defects = []
    if response.status_code not in expected:
        defects.append(f"status {response.status_code}, expected {sorted(expected)}")
    if not response.headers.get("content-type", "").startswith("application/problem+json"):
        defects.append("not application/problem+json")
        return defects
    body = response.json()
    if body.get("status") != response.status_code:
        defects.append("body status differs from the HTTP status")
    for member in ("title", "detail"):
        if not isinstance(body.get(member), str) or not body[member]:
            defects.append(f"no {member}")
    return defects


class Refusals:
    """Sends requests that must be refused, and collects every one that was not refused properly."""

    def __init__(self) -> None:
        self.misses: list[str] = []

    async def check(self, request: Awaitable[Any], status: int | set[int], case: str) -> None:
        """`request` is a client call not awaited yet: it is sent between the two snapshots."""
        before = await stored_rows()
        response = await request
        after = await stored_rows()
        defects = problem_defects(response, {status} if isinstance(status, int) else status)
        changed = [table for table in STORED_TABLES if before[table] != after[table]]
        if changed:
            defects.append(f"stored rows changed in {changed}")
        elif response.is_success:
            defects.append("answered with a success status, but no stored row changed")
        if defects:
            got = f"{response.status_code} {response.headers.get('content-type')} {response.text[:200]}"
            self.misses.append(f"{case}: {'; '.join(defects)} <- got {got}")

    def assert_none(self) -> None:
        if self.misses:
            pytest.fail(f"{len(self.misses)} not refused properly:\n" + "\n".join(self.misses))


def segment(seq: int, **changes: Any) -> dict[str, Any]:
    return {
        "seq": seq,
        "speaker": "candidate",
        "text": "I would use a queue",
        "start_ms": seq * 1000,
        "end_ms": seq * 1000 + 900,
        **changes,
    }


@dataclass
class World:
    """One candidate with one fresh session, and the agent's service headers."""

    owner: AuthedUser
    session: dict[str, Any]
    service: dict[str, str]

    @property
    def session_id(self) -> str:
        return str(self.session["id"])


@pytest.fixture
async def world(client: Client, make_user: MakeUser, service_headers: dict[str, str]) -> World:
    owner = await make_user()
    return World(owner=owner, session=await create_session(client, owner), service=service_headers)


def new_registration() -> dict[str, Any]:
    return {
        "email": f"new-{uuid.uuid4().hex[:10]}@example.com",
        "password": "long enough pw",
        "display_name": "New Person",
    }


@dataclass(frozen=True)
class JsonEndpoint:
    """A POST endpoint taking a JSON body: a valid body for it, and the status that body gets."""

    name: str
    path: Callable[[World], str]
    headers: Callable[[World], dict[str, str]]
    valid: Callable[[World], dict[str, Any]]
    required: tuple[str, ...]
    ok_status: int
    # A list field whose items are objects, and those items' required fields.
    items: tuple[str, tuple[str, ...]] | None = None
    # Valid JSON bodies whose text reaches Postgres (stored or looked up) with a NUL in one field.
    nul_bodies: Callable[[World], dict[str, dict[str, Any]]] = field(default=lambda _: {})

    def __str__(self) -> str:
        return self.name


JSON_ENDPOINTS = [
    JsonEndpoint(
        "register",
        lambda _: "/auth/register",
        lambda _: {},
        lambda _: new_registration(),
        ("email", "password", "display_name"),
        202,
        nul_bodies=lambda _: {
            "email": {**new_registration(), "email": f"nul\u0000{uuid.uuid4().hex[:8]}@example.com"},
            "display_name": {**new_registration(), "display_name": "Ada\u0000Lovelace"},
        },
    ),
    JsonEndpoint(
        "login",
        lambda _: "/auth/login",
        lambda _: {},
        lambda w: {"email": w.owner.email, "password": w.owner.password},
        ("email", "password"),
        200,
        nul_bodies=lambda w: {"email": {"email": "a\u0000" + w.owner.email, "password": w.owner.password}},
    ),
    JsonEndpoint(
        "refresh",
        lambda _: "/auth/refresh",
        lambda _: {},
        lambda w: {"refresh_token": w.owner.refresh_token},
        ("refresh_token",),
        200,
    ),
    JsonEndpoint(
        "logout",
        lambda _: "/auth/logout",
        lambda _: {},
        lambda w: {"refresh_token": w.owner.refresh_token},
        ("refresh_token",),
        204,
    ),
    JsonEndpoint(
        "create session",
        lambda _: "/sessions",
        lambda w: w.owner.headers,
        lambda _: dict(SESSION_BODY),
        ("role_title", "seniority", "topics"),
        201,
        nul_bodies=lambda _: {
            "role_title": {**SESSION_BODY, "role_title": "Backend\u0000Engineer"},
            "topics": {**SESSION_BODY, "topics": ["python\u0000"]},
        },
    ),
    JsonEndpoint(
        "room token",
        lambda _: "/livekit/token",
        lambda w: w.owner.headers,
        lambda w: {"session_id": w.session_id},
        ("session_id",),
        201,
    ),
    JsonEndpoint(
        "agent transcript",
        lambda w: f"/internal/sessions/{w.session_id}/transcript",
        lambda w: w.service,
        lambda _: {"segments": [segment(0)]},
        ("segments",),
        200,
        items=("segments", ("seq", "speaker", "text", "start_ms", "end_ms")),
        nul_bodies=lambda _: {
            "text": {"segments": [segment(0, text="I would\u0000use a queue")]},
            "metrics": {"segments": [segment(0, metrics={"stt_model": "whisper\u0000"})]},
        },
    ),
    JsonEndpoint(
        "agent fail",
        lambda w: f"/internal/sessions/{w.session_id}/fail",
        lambda w: w.service,
        lambda _: {"reason": "agent job crashed"},
        ("reason",),
        200,
        nul_bodies=lambda _: {"reason": {"reason": "agent job\u0000crashed"}},
    ),
]


def post_raw(client: Client, endpoint: JsonEndpoint, w: World, body: str | bytes) -> Awaitable[Any]:
    return client.post(endpoint.path(w), content=body, headers={**endpoint.headers(w), **JSON})


def _wrong_scalar(value: Any) -> Any:
    """A JSON scalar of another type than `value`, one that no lax conversion turns into it."""
    if isinstance(value, str):
        return 12345
    if isinstance(value, int):
        return "twelve"
    return "not a list"


def bad_bodies(endpoint: JsonEndpoint, w: World) -> Iterator[tuple[str, str]]:
    valid = endpoint.valid(w)
    raw = json.dumps(valid)
    yield "truncated JSON", raw[:-1]
    yield "single-quoted pseudo-JSON", raw.replace('"', "'")
    yield "trailing garbage", raw + " }"
    yield "empty body", ""
    yield "JSON null", "null"
    yield "JSON array", json.dumps([valid])
    yield "JSON string", json.dumps(raw)
    yield "unknown field", json.dumps({**valid, "unexpected": True})
    for name in endpoint.required:
        yield f"missing {name}", json.dumps({k: v for k, v in valid.items() if k != name})
        yield f"{name} null", json.dumps({**valid, name: None})
        yield f"{name} an object", json.dumps({**valid, name: {"x": 1}})
        yield f"{name} of the wrong type", json.dumps({**valid, name: _wrong_scalar(valid[name])})
    if endpoint.items is not None:
        list_name, item_required = endpoint.items
        item = valid[list_name][0]
        for name in item_required:
            without = {k: v for k, v in item.items() if k != name}
            yield f"{list_name}[0] missing {name}", json.dumps({**valid, list_name: [without]})
            wrong = {**item, name: _wrong_scalar(item[name])}
            yield f"{list_name}[0].{name} of the wrong type", json.dumps({**valid, list_name: [wrong]})
        yield f"{list_name} items not objects", json.dumps({**valid, list_name: ["text"]})


def padded(body: dict[str, Any], size: int) -> bytes:
    """`body` as JSON, padded with trailing whitespace (still valid JSON) to exactly `size` bytes."""
    raw = json.dumps(body).encode()
    assert len(raw) < size
    return raw + b" " * (size - len(raw))


@pytest.mark.parametrize("endpoint", JSON_ENDPOINTS, ids=str)
async def test_bad_bodies_are_refused_and_a_valid_one_at_the_size_limit_still_works(
    client: Client, world: World, endpoint: JsonEndpoint
) -> None:
    """Malformed JSON, wrong types, missing and unknown fields: 400. One byte over the body size limit:
    413. Then the valid body, padded to exactly the limit, is accepted: none of the refused requests
    spent a token, moved a session or stored a row."""
    refusals = Refusals()
    for case, body in bad_bodies(endpoint, world):
        await refusals.check(post_raw(client, endpoint, world, body), 400, f"{endpoint} / {case}")
    limit = get_settings().app.max_body_bytes
    valid = endpoint.valid(world)
    over = padded(valid, limit + 1)
    await refusals.check(post_raw(client, endpoint, world, over), 413, f"{endpoint} / {limit + 1} bytes")
    refusals.assert_none()
    accepted = await post_raw(client, endpoint, world, padded(valid, limit))
    assert accepted.status_code == endpoint.ok_status, f"{limit} bytes: {accepted.text[:300]}"


async def test_bodies_that_cannot_be_decoded_are_refused(client: Client, world: World) -> None:
    """Within the size limit, but not UTF-8, or nested deeper than the decoder recurses: 400."""
    refusals = Refusals()
    depth = 5_000
    for endpoint in JSON_ENDPOINTS:
        raw = json.dumps(endpoint.valid(world)).encode()
        assert b'": "' in raw
        not_utf8 = raw.replace(b'": "', b'": "\xff\xfe', 1)  # at the start of the first string value
        await refusals.check(post_raw(client, endpoint, world, not_utf8), 400, f"{endpoint} / not UTF-8")
        deep = json.dumps({**endpoint.valid(world), endpoint.required[0]: "DEEP"})
        deep = deep.replace('"DEEP"', "[" * depth + "]" * depth)
        await refusals.check(
            post_raw(client, endpoint, world, deep), 400, f"{endpoint} / nested {depth} deep"
        )
    refusals.assert_none()


async def test_values_postgres_cannot_store_are_refused_as_bad_input(client: Client, world: World) -> None:
    """Valid JSON that the schema lets through but Postgres cannot hold: U+0000 in text, transcript
    offsets beyond the integer column. Bad input (400), not a conflict, a server error, or a success
    that was never stored. A login with an impossible email may also answer as bad credentials."""
    refusals = Refusals()
    for endpoint in JSON_ENDPOINTS:
        status = {400, 401} if endpoint.name == "login" else 400
        for name, body in endpoint.nul_bodies(world).items():
            request = post_raw(client, endpoint, world, json.dumps(body))
            await refusals.check(request, status, f"{endpoint} / NUL in {name}")
    transcript = f"/internal/sessions/{world.session_id}/transcript"
    for offset in (2**31, 2**63, 2**64):
        for name, batch in [
            ("start_ms", {"segments": [segment(0, start_ms=offset, end_ms=offset)]}),
            ("end_ms", {"segments": [segment(0, start_ms=0, end_ms=offset)]}),
        ]:
            request = client.post(transcript, json=batch, headers=world.service)
            await refusals.check(request, 400, f"agent transcript / {name}={offset}")
    refusals.assert_none()


@pytest.fixture
async def live_server(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    with serving({}) as (base_url, _):
        async with httpx.AsyncClient(base_url=base_url) as http:
            yield http


async def test_a_chunked_body_without_content_length_is_cut_off_at_the_limit(
    live_server: httpx.AsyncClient,
) -> None:
    """Over the wire, against a real server process: no Content-Length to refuse up front, the limit
    holds while the body streams in."""
    limit = get_settings().app.max_body_bytes
    registration = new_registration()

    def chunked(size: int) -> AsyncIterator[bytes]:
        body = padded(registration, size)

        async def chunks() -> AsyncIterator[bytes]:
            for start in range(0, len(body), 16 * 1024):
                yield body[start : start + 16 * 1024]

        return chunks()

    refusals = Refusals()
    request = live_server.post("/auth/register", content=chunked(limit + 1), headers=JSON)
    await refusals.check(request, 413, f"chunked register / {limit + 1} bytes")
    refusals.assert_none()
    accepted = await live_server.post("/auth/register", content=chunked(limit), headers=JSON)
    assert accepted.status_code == 202, accepted.text[:300]


def _b64url(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def bad_authorizations(user: AuthedUser, admin: AuthedUser) -> list[tuple[str, dict[str, str]]]:
    secret = TEST_ENV["CODEVOICE_JWT_SECRET"]
    now = datetime.now(UTC)

    def at(delta: timedelta) -> int:
        return int((now + delta).timestamp())

    def claims(**changes: Any) -> dict[str, Any]:
        merged = {"sub": str(user.id), "iat": at(timedelta()), "exp": at(timedelta(minutes=5)), **changes}
        return {k: v for k, v in merged.items() if v is not None}

    def bearer(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    header, payload, signature = user.access_token.split(".")
    altered = ("A" if signature[0] != "A" else "B") + signature[1:]
    genuine = jwt.decode(user.access_token, options={"verify_signature": False})
    as_admin = _b64url({**genuine, "sub": str(admin.id), "role": "admin"})
    expired = claims(iat=at(timedelta(minutes=-20)), exp=at(timedelta(minutes=-1)))
    return [
        ("no Authorization header", {}),
        ("expired", bearer(jwt.encode(expired, secret))),
        ("forged with another secret", bearer(jwt.encode(claims(), "another-secret-long-enough-0123456789"))),
        ("genuine token, signature altered", bearer(f"{header}.{payload}.{altered}")),
        ("payload swapped to an admin's", bearer(f"{header}.{as_admin}.{signature}")),
        ("alg none", bearer(f"{_b64url({'alg': 'none', 'typ': 'JWT'})}.{_b64url(claims())}.")),
        ("HS512, not the configured HS256", bearer(jwt.encode(claims(), secret, algorithm="HS512"))),
        ("no expiry claim", bearer(jwt.encode(claims(exp=None), secret))),
        ("subject not a user id", bearer(jwt.encode(claims(sub="admin"), secret))),
        ("subject an unknown user", bearer(jwt.encode(claims(sub=str(uuid.uuid4())), secret))),
        ("not a JWT", bearer("garbage")),
        ("empty bearer", {"Authorization": "Bearer "}),
    ]


AUTHENTICATED: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/auth/me", None),
    ("GET", "/sessions", None),
    ("POST", "/sessions", SESSION_BODY),
    ("GET", "/sessions/{id}", None),
    ("POST", "/sessions/{id}/cancel", None),
    ("GET", "/sessions/{id}/transcript", None),
    ("POST", "/livekit/token", {"session_id": "{id}"}),
    ("GET", "/sessions/{id}/summary", None),
    ("POST", "/sessions/{id}/summary/retry", None),
]


async def test_authenticated_endpoints_refuse_expired_forged_and_tampered_tokens(
    client: Client, make_user: MakeUser, world: World
) -> None:
    admin = await make_user(role="admin")
    refusals = Refusals()
    for method, path, body in AUTHENTICATED:
        url = path.replace("{id}", world.session_id)
        payload = json.loads(json.dumps(body).replace("{id}", world.session_id)) if body else None
        for case, headers in bad_authorizations(world.owner, admin):
            request = client.request(method, url, json=payload, headers=headers)
            await refusals.check(request, 401, f"{method} {url} / {case}")
    refusals.assert_none()


INTERNAL: list[tuple[str, dict[str, Any] | None]] = [
    ("live", None),
    ("complete", None),
    ("transcript", {"segments": [segment(0)]}),
    ("fail", {"reason": "agent job crashed"}),
]


async def test_internal_endpoints_refuse_anything_but_the_service_token(client: Client, world: World) -> None:
    token = TEST_ENV["CODEVOICE_AGENT_SERVICE_TOKEN"]
    cases = [
        ("no Authorization header", {}),
        ("wrong token", {"Authorization": "Bearer not-the-service-token"}),
        ("service token plus a character", {"Authorization": f"Bearer {token}x"}),
        ("service token less a character", {"Authorization": f"Bearer {token[:-1]}"}),
        ("another scheme", {"Authorization": f"Basic {token}"}),
        ("a user's valid JWT", world.owner.headers),
        ("empty bearer", {"Authorization": "Bearer "}),
    ]
    refusals = Refusals()
    for action, body in INTERNAL:
        url = f"/internal/sessions/{world.session_id}/{action}"
        for case, headers in cases:
            await refusals.check(client.post(url, json=body, headers=headers), 401, f"{action} / {case}")
    refusals.assert_none()


UNKNOWN_IDS = [str(uuid.uuid4()), "00000000-0000-0000-0000-000000000000"]


async def test_unknown_and_other_users_sessions_are_not_found(
    client: Client, make_user: MakeUser, world: World
) -> None:
    mallory, recruiter = await make_user(), await make_user(role="recruiter")
    targets = [(unknown, world.owner, f"unknown id {unknown}") for unknown in UNKNOWN_IDS]
    targets.append((world.session_id, mallory, "another candidate's session"))
    refusals = Refusals()
    for session_id, user, case in targets:
        for method, path in [
            ("GET", "/sessions/{id}"),
            ("POST", "/sessions/{id}/cancel"),
            ("GET", "/sessions/{id}/transcript"),
            ("GET", "/sessions/{id}/summary"),
        ]:
            request = client.request(method, path.replace("{id}", session_id), headers=user.headers)
            await refusals.check(request, 404, f"{method} {path} / {case}")
        request = client.post("/livekit/token", json={"session_id": session_id}, headers=user.headers)
        await refusals.check(request, 404, f"POST /livekit/token / {case}")
    for unknown in UNKNOWN_IDS:
        # Staff see every session, so only an unknown id is not found for them.
        request = client.post(f"/sessions/{unknown}/summary/retry", headers=recruiter.headers)
        await refusals.check(request, 404, f"POST /sessions/{{id}}/summary/retry / unknown id {unknown}")
    refusals.assert_none()


async def test_internal_endpoints_answer_404_for_unknown_or_malformed_session_ids(
    client: Client, world: World
) -> None:
    refusals = Refusals()
    for action, body in INTERNAL:
        for session_id in [*UNKNOWN_IDS, "not-a-uuid"]:
            request = client.post(
                f"/internal/sessions/{session_id}/{action}", json=body, headers=world.service
            )
            await refusals.check(request, 404, f"{action} / {session_id}")
    refusals.assert_none()


async def test_malformed_path_ids_and_query_parameters(client: Client, world: World) -> None:
    headers = world.owner.headers
    refusals = Refusals()
    for suffix in ("", "/transcript", "/summary"):
        path = f"/sessions/not-a-uuid{suffix}"
        await refusals.check(client.get(path, headers=headers), 404, f"GET {path}")
    await refusals.check(client.post("/sessions/not-a-uuid/cancel", headers=headers), 404, "cancel")
    for query in ("page=abc", "page_size=abc", "page=-1", "page_size=0", "page_size=101", "page=1.5"):
        await refusals.check(client.get(f"/sessions?{query}", headers=headers), 400, f"GET /sessions?{query}")
    refusals.assert_none()


async def test_webhook_size_limit_and_signed_bodies_of_the_wrong_shape(client: Client) -> None:
    """The webhook has its own, smaller limit; a validly signed body that is not a WebhookEvent is 400."""
    event = json.loads(event_body("room_finished", f"no-such-room-{uuid.uuid4().hex[:8]}"))
    over = padded(event, MAX_WEBHOOK_BYTES + 1)
    refusals = Refusals()
    await refusals.check(deliver(client, over, sign(over)), 413, f"{MAX_WEBHOOK_BYTES + 1} bytes")
    deep = b"[" * 5_000 + b"]" * 5_000
    for case, body in [
        ("event is a number", b'{"event": 5, "id": "EV_wrong_type"}'),
        ("JSON null", b"null"),
        ("JSON array", b"[]"),
        ("not UTF-8", b'{"event": "room_finished", "id": "EV_\xff\xfe"}'),
        ("nested too deep", b'{"event": "x", "id": "EV_deep", "room": {"metadata": ' + deep + b"}}"),
        ("empty body", b""),
    ]:
        await refusals.check(deliver(client, body, sign(body)), 400, case)
    refusals.assert_none()
    at_limit = padded(event, MAX_WEBHOOK_BYTES)
    accepted = await deliver(client, at_limit, sign(at_limit))
    assert accepted.json() == {"status": "applied"}, accepted.text
