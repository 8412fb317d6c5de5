"""Security issue 11: what every request and every response of the real app goes through, whatever its
route, method, headers or status. Refused requests must leave every stored row as it was (the
snapshots of test_bad_input_matrix.py)."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import structlog
from litestar import Litestar, get
from litestar.routes import HTTPRoute
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from control_plane.domain.accounts.auth import PUBLIC_PATHS
from control_plane.lib import api_docs
from control_plane.settings import get_settings
from tests.conftest import TEST_ENV, MakeUser
from tests.control_plane.helpers import create_session
from tests.control_plane.test_bad_input_matrix import (
    JSON_ENDPOINTS,
    Refusals,
    World,
    padded,
    problem_defects,
    stored_rows,
)

Client = AsyncTestClient[Litestar]


@pytest.fixture
async def world(client: Client, make_user: MakeUser, service_headers: dict[str, str]) -> World:
    owner = await make_user()
    return World(owner=owner, session=await create_session(client, owner), service=service_headers)


# --- 5: every body the app parses is declared JSON and passes the same guard ---------------------------

NOT_JSON_TYPES = [None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]


def undecodable_bodies(valid: dict[str, Any]) -> Iterator[tuple[str, bytes]]:
    raw = json.dumps(valid).encode()
    yield "valid JSON", raw
    yield "invalid UTF-8", raw.replace(b'": "', b'": "\xff\xfe', 1)
    yield "nested 10,000 deep", b'{"a": ' + b"[" * 10_000 + b"]" * 10_000 + b"}"
    yield "a NUL", raw.replace(b'": "', b'": "\\u0000', 1)


async def test_bodies_not_declared_json_are_415_whatever_they_hold(client: Client, world: World) -> None:
    """Litestar decodes a handler's JSON `data` whatever the Content-Type says; a text/plain body with
    invalid UTF-8 or deep nesting was a 500, one with a NUL a 409."""
    refusals = Refusals()
    for endpoint in JSON_ENDPOINTS:
        for content_type in NOT_JSON_TYPES:
            headers = endpoint.headers(world) | ({"Content-Type": content_type} if content_type else {})
            for case, body in undecodable_bodies(endpoint.valid(world)):
                request = client.post(endpoint.path(world), content=body, headers=headers)
                await refusals.check(request, 415, f"{endpoint} / {content_type} / {case}")
    refusals.assert_none()


async def test_json_bodies_pass_the_guard_under_any_json_media_type(client: Client, world: World) -> None:
    """`application/<x>+json` (LiveKit's webhook+json) is JSON too, and gets the same checks."""
    refusals = Refusals()
    for endpoint in JSON_ENDPOINTS:
        headers = endpoint.headers(world) | {"Content-Type": "application/merge-patch+json; charset=utf-8"}
        for case, body in list(undecodable_bodies(endpoint.valid(world)))[1:]:
            request = client.post(endpoint.path(world), content=body, headers=headers)
            await refusals.check(request, 400, f"{endpoint} / +json / {case}")
    refusals.assert_none()


async def test_webhook_bodies_must_be_json(client: Client) -> None:
    refusals = Refusals()
    for content_type in NOT_JSON_TYPES:
        headers = {"Content-Type": content_type} if content_type else {}
        request = client.post("/livekit/webhook", content=b'{"event": "room_finished"}', headers=headers)
        await refusals.check(request, 415, f"webhook / {content_type}")
    refusals.assert_none()


# --- 6: no method on any guarded path reaches a guard without credentials -----------------------------

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def concrete_paths(app: Litestar) -> Iterator[tuple[str, set[str], bool]]:
    """Every HTTP route of the app, its path parameters filled in, with the methods it answers and
    whether it is guarded (by a user's token, or on /internal/ by the agent's service token)."""
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            path = re.sub(r"\{[^}]+\}", str(uuid.uuid4()), route.path)
            # Litestar adds an OPTIONS handler to every route; the route's own handlers say if it is public.
            own = [handler for handler in route.route_handlers if handler.http_methods != {"OPTIONS"}]
            public = any(re.search(pattern, path) for pattern in PUBLIC_PATHS) or all(
                handler.opt.get("exclude_from_auth") for handler in own
            )
            yield path, set(route.methods), path.startswith("/internal/") or not public


async def test_every_method_on_every_guarded_path_without_credentials_is_401(
    app: Litestar, client: Client
) -> None:
    """`OPTIONS /saq/api/queues` reached the admin guard with no user in scope: a 500."""
    paths = list(concrete_paths(app))
    assert ("/saq/api/queues", {"GET", "OPTIONS"}, True) in paths
    refusals = Refusals()
    for path, methods, guarded in paths:
        for method in METHODS:
            if not guarded and method in methods:
                response = await client.request(method, path)
                assert response.status_code < 500, f"{method} {path}: {response.status_code} {response.text}"
                continue
            expected = 401 if method in methods else 405
            if method == "HEAD":  # no body: the status says it all
                response = await client.request(method, path)
                assert response.status_code == expected, f"HEAD {path}: {response.status_code}"
                continue
            await refusals.check(client.request(method, path), expected, f"{method} {path}")
    refusals.assert_none()


@pytest.fixture
def cors_origin(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    origin = "https://app.example.com"
    monkeypatch.setenv("CODEVOICE_CORS_ORIGINS", origin)
    get_settings.cache_clear()
    yield origin
    get_settings.cache_clear()


async def test_preflights_on_guarded_paths_get_the_cors_answer(database_url: str, cors_origin: str) -> None:
    from control_plane.app import create_app

    preflight = {"Origin": cors_origin, "Access-Control-Request-Method": "GET"}
    async with AsyncTestClient(app=create_app()) as client:
        for path in ("/saq/api/queues", "/auth/me", f"/sessions/{uuid.uuid4()}"):
            response = await client.options(path, headers=preflight)
            assert response.status_code == 204, f"{path}: {response.status_code} {response.text}"
            assert response.headers["access-control-allow-origin"] == cors_origin
            assert response.headers["x-request-id"]
            other = await client.options(path, headers={**preflight, "Origin": "https://evil.example"})
            assert other.status_code == 400
            assert "access-control-allow-origin" not in other.headers
            assert (await client.options(path)).status_code == 401


# --- 7: every response carries X-Request-ID and leaves exactly one access-log line ---------------------


class AccessLines:
    """Stands in for the access logger: the request id bound when each line was written."""

    def __init__(self) -> None:
        self.request_ids: list[str | None] = []

    def info(self, event: str, **_: Any) -> None:
        assert event == "request"
        self.request_ids.append(structlog.contextvars.get_contextvars().get("request_id"))


@pytest.fixture
def access_lines(monkeypatch: pytest.MonkeyPatch) -> AccessLines:
    lines = AccessLines()
    monkeypatch.setattr("control_plane.log._access_log", lines)
    return lines


@get("/issue-11-crash", opt={"exclude_from_auth": True}, include_in_schema=False)
async def crash() -> None:
    raise RuntimeError("a bug")


@pytest.fixture
async def crashing_client(app: Litestar) -> AsyncIterator[Client]:
    app.register(crash)
    async with AsyncTestClient(app=app) as client:
        yield client


async def test_every_response_has_a_request_id_and_one_access_line(
    crashing_client: Client, make_user: MakeUser, access_lines: AccessLines
) -> None:
    client = crashing_client
    user = await make_user()
    limit = get_settings().app.max_body_bytes
    json_type = {"Content-Type": "application/json"}
    cases: list[tuple[str, int, str, str, dict[str, str], bytes | None]] = [
        ("200", 200, "GET", "/healthz", {}, None),
        ("404 for an unknown API path", 404, "GET", "/auth/no/such/path", {}, None),
        ("405 from routing", 405, "DELETE", "/healthz", {}, None),
        ("401 from the auth middleware", 401, "GET", "/auth/me", {}, None),
        ("413", 413, "POST", "/sessions", user.headers | json_type, padded({}, limit + 1)),
        ("415", 415, "POST", "/sessions", user.headers | {"Content-Type": "text/plain"}, b"{}"),
        ("400", 400, "POST", "/sessions", user.headers | json_type, b"{"),
        ("500", 500, "GET", "/issue-11-crash", {}, None),
    ]
    for case, status, method, path, headers, body in cases:
        request_id = f"issue11-{uuid.uuid4().hex[:12]}"
        before = await stored_rows()
        response = await client.request(
            method, path, headers={**headers, "X-Request-ID": request_id}, content=body
        )
        assert await stored_rows() == before, case
        assert response.status_code == status, f"{case}: {response.status_code} {response.text[:300]}"
        if status >= 400:
            assert not problem_defects(response, {status}), case
        assert response.headers.get("x-request-id") == request_id, case
        assert response.headers.get("x-content-type-options") == "nosniff", case
        assert access_lines.request_ids.count(request_id) == 1, case
    generated = (await client.get("/auth/no/such/path")).headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    assert access_lines.request_ids.count(generated) == 1


# --- hardening: Bearer only, headers, the docs page --------------------------------------------------


async def test_user_tokens_and_the_service_token_are_accepted_with_the_bearer_scheme_only(
    client: Client, world: World
) -> None:
    """`Basic <jwt>` authenticated (Litestar took whatever followed the first space), and a bare
    service token passed the agent's guard."""
    jwt, service = world.owner.access_token, TEST_ENV["CODEVOICE_AGENT_SERVICE_TOKEN"]
    refusals = Refusals()
    for case, authorization in [
        ("Basic", f"Basic {jwt}"),
        ("Token", f"Token {jwt}"),
        ("bare token", jwt),
        ("scheme only", "Bearer"),
        ("Bearer twice", f"Bearer Bearer {jwt}"),
    ]:
        headers = {"Authorization": authorization}
        await refusals.check(client.get("/auth/me", headers=headers), 401, f"/auth/me / {case}")
        request = client.post(
            "/sessions", json={"role_title": "X", "seniority": "mid", "topics": ["sql"]}, headers=headers
        )
        await refusals.check(request, 401, f"POST /sessions / {case}")
    live = f"/internal/sessions/{world.session_id}/live"
    for case, authorization in [
        ("bare", service),
        ("Basic", f"Basic {service}"),
        ("Token", f"Token {service}"),
    ]:
        await refusals.check(
            client.post(live, headers={"Authorization": authorization}), 401, f"service / {case}"
        )
    refusals.assert_none()
    # The scheme is case-insensitive (RFC 9110 11.1).
    assert (await client.get("/auth/me", headers={"Authorization": f"bearer {jwt}"})).status_code == 200
    assert (await client.post(live, headers={"Authorization": f"BEARER {service}"})).status_code == 200


async def test_responses_with_tokens_are_not_stored_and_none_is_sniffed(client: Client, world: World) -> None:
    login = await client.post(
        "/auth/login", json={"email": world.owner.email, "password": world.owner.password}
    )
    refresh = await client.post("/auth/refresh", json={"refresh_token": login.json()["refresh_token"]})
    room = await client.post(
        "/livekit/token", json={"session_id": world.session_id}, headers=world.owner.headers
    )
    for name, response in [("login", login), ("refresh", refresh), ("room token", room)]:
        assert response.is_success, f"{name}: {response.text}"
        assert response.headers["cache-control"] == "no-store", name
        assert response.headers["x-content-type-options"] == "nosniff", name
    for path in ("/healthz", "/docs", "/docs/openapi.json", "/nowhere"):
        assert (await client.get(path)).headers["x-content-type-options"] == "nosniff", path


async def test_the_docs_page_loads_only_a_pinned_script_with_its_integrity_hash(client: Client) -> None:
    page = (await client.get("/docs")).text
    external = re.findall(r"<script[^>]*\bsrc=[^>]*>", page)
    assert external, page
    for tag in external:
        assert f'src="{api_docs.SCALAR_JS_URL}"' in tag
        assert f'integrity="{api_docs.SCALAR_JS_INTEGRITY}"' in tag
    assert f"@{api_docs.SCALAR_VERSION}/" in api_docs.SCALAR_JS_URL
    assert "stylesheet" not in page


async def test_sql_errors_do_not_carry_their_parameters(db_session: AsyncSession) -> None:
    """An error's message (what the unhandled-error log prints) names no parameter: they hold emails and
    token hashes."""
    marker = f"someone-{uuid.uuid4().hex}@example.com"
    with pytest.raises(DBAPIError) as raised:
        await db_session.execute(text("SELECT CAST(:value AS text), 1 / 0"), {"value": marker})
    assert marker not in str(raised.value)
    assert "[SQL parameters hidden" in str(raised.value)
