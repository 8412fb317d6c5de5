from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import TEST_ENV, MakeUser
from tests.control_plane.processes import serving
from tests.support.mailbox import Mailbox

PASSWORD = "correct horse battery"


def assert_problem(response: object, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    assert response.headers["content-type"].startswith("application/problem+json")  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert body["status"] == status
    assert body["title"]
    return body  # type: ignore[no-any-return]


async def register(client: AsyncTestClient[Litestar], email: str, password: str = PASSWORD) -> object:
    return await client.post(
        "/auth/register", json={"email": email, "password": password, "display_name": "Ada Lovelace"}
    )


async def test_register_confirm_login_me(client: AsyncTestClient[Litestar], mailbox: Mailbox) -> None:
    response = await register(client, "Ada@Example.com")
    assert response.status_code == 202, response.text  # type: ignore[attr-defined]
    token = mailbox.confirmation_token(mailbox.wait_for("ada@example.com")[0])
    confirmed = await client.post("/auth/confirm-email", json={"token": token})
    assert confirmed.status_code == 200, confirmed.text
    user = confirmed.json()
    assert user["email"] == "ada@example.com"
    assert user["role"] == "candidate"
    assert "password" not in str(user)

    login = await client.post("/auth/login", json={"email": "ADA@example.com", "password": PASSWORD})
    assert login.status_code == 200, login.text
    tokens = login.json()
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == 15 * 60
    claims = jwt.decode(tokens["access_token"], TEST_ENV["CODEVOICE_JWT_SECRET"], algorithms=["HS256"])
    assert claims["exp"] - claims["iat"] <= 15 * 60

    me = await client.get("/auth/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.status_code == 200
    assert me.json()["id"] == user["id"]


async def test_register_duplicate_email_is_case_insensitive(
    client: AsyncTestClient[Litestar], mailbox: Mailbox, db_session: AsyncSession
) -> None:
    assert (await register(client, "grace@example.com")).status_code == 202  # type: ignore[attr-defined]
    assert (await register(client, "GRACE@example.com")).status_code == 202  # type: ignore[attr-defined]
    mailbox.wait_for("grace@example.com", count=2)
    count = await db_session.scalar(
        text("SELECT count(*) FROM users WHERE lower(email) = 'grace@example.com'")
    )
    assert count == 1


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ('{"email": "x@example.com", "password": ', "malformed JSON"),
        ('{"email": 5, "password": "long enough pw", "display_name": "X"}', "wrong type"),
        ('{"email": "x@example.com", "display_name": "X"}', "missing field"),
        ('{"email": "not-an-email", "password": "long enough pw", "display_name": "X"}', "bad email"),
        ('{"email": "x@example.com", "password": "short", "display_name": "X"}', "short password"),
        (
            '{"email": "x@example.com", "password": "long enough pw", "display_name": "X", "role": "admin"}',
            "cannot choose a role",
        ),
    ],
)
async def test_register_rejects_bad_input(client: AsyncTestClient[Litestar], body: str, why: str) -> None:
    response = await client.post("/auth/register", content=body, headers={"Content-Type": "application/json"})
    assert_problem(response, 400)
    assert (
        await client.post("/auth/login", json={"email": "x@example.com", "password": "long enough pw"})
    ).status_code == 401


async def test_oversized_body_is_rejected(client: AsyncTestClient[Litestar]) -> None:
    huge = '{"email": "big@example.com", "password": "' + "p" * 400_000 + '", "display_name": "X"}'
    response = await client.post("/auth/register", content=huge, headers={"Content-Type": "application/json"})
    assert_problem(response, 413)


async def test_wrong_password_and_unknown_email_look_the_same(
    client: AsyncTestClient[Litestar], make_user: MakeUser
) -> None:
    user = await make_user()
    wrong = await client.post("/auth/login", json={"email": user.email, "password": "wrong password!"})
    unknown = await client.post(
        "/auth/login", json={"email": "nobody@example.com", "password": "wrong password!"}
    )
    assert assert_problem(wrong, 401)["detail"] == assert_problem(unknown, 401)["detail"]


async def test_login_rate_limit_holds_across_processes(make_user: MakeUser, database_url: str) -> None:
    """Attempts alternate between two control plane processes: the count lives in Redis, so the
    limit is shared."""
    user = await make_user()
    statuses: list[int] = []
    with serving({}) as (first_url, _), serving({}) as (second_url, _):
        async with (
            httpx.AsyncClient(base_url=first_url) as first,
            httpx.AsyncClient(base_url=second_url) as second,
        ):
            for attempt in range(11):
                target = first if attempt % 2 == 0 else second
                response = await target.post(
                    "/auth/login", json={"email": user.email, "password": "wrong password!"}
                )
                statuses.append(response.status_code)
            limited = await second.post("/auth/login", json={"email": user.email, "password": PASSWORD})
    assert statuses[:10] == [401] * 10
    assert statuses[10:] == [429]
    body = assert_problem(limited, 429)
    assert "Try again" in str(body["detail"])
    assert int(limited.headers["retry-after"]) >= 1


async def test_refresh_rotates_and_reuse_revokes_the_family(
    client: AsyncTestClient[Litestar], make_user: MakeUser
) -> None:
    user = await make_user()
    first = await client.post("/auth/refresh", json={"refresh_token": user.refresh_token})
    assert first.status_code == 200, first.text
    rotated = first.json()["refresh_token"]
    assert rotated != user.refresh_token

    # The old token again: theft is assumed, so the new one dies with it.
    assert_problem(await client.post("/auth/refresh", json={"refresh_token": user.refresh_token}), 401)
    assert_problem(await client.post("/auth/refresh", json={"refresh_token": rotated}), 401)


async def test_logout_revokes_refresh_token(client: AsyncTestClient[Litestar], make_user: MakeUser) -> None:
    user = await make_user()
    assert (await client.post("/auth/logout", json={"refresh_token": user.refresh_token})).status_code == 204
    assert_problem(await client.post("/auth/refresh", json={"refresh_token": user.refresh_token}), 401)


async def test_unknown_refresh_token(client: AsyncTestClient[Litestar]) -> None:
    assert_problem(await client.post("/auth/refresh", json={"refresh_token": "x" * 43}), 401)


def _token(secret: str, sub: str, exp: datetime) -> str:
    return jwt.encode(
        {"sub": sub, "exp": int(exp.timestamp()), "iat": int(datetime.now(UTC).timestamp())}, secret
    )


async def test_expired_and_forged_access_tokens_are_rejected(
    client: AsyncTestClient[Litestar], make_user: MakeUser
) -> None:
    user = await make_user()
    now = datetime.now(UTC)
    expired = _token(TEST_ENV["CODEVOICE_JWT_SECRET"], str(user.id), now - timedelta(minutes=1))
    forged = _token(
        "not-the-server-secret-but-long-enough-0123456789", str(user.id), now + timedelta(minutes=5)
    )
    for token in (expired, forged, "garbage"):
        assert_problem(await client.get("/auth/me", headers={"Authorization": f"Bearer {token}"}), 401)
    assert_problem(await client.get("/auth/me"), 401)


async def test_concurrent_refresh_with_one_token_yields_one_winner(
    client: AsyncTestClient[Litestar], make_user: MakeUser
) -> None:
    user = await make_user()
    responses = await asyncio.gather(
        *(client.post("/auth/refresh", json={"refresh_token": user.refresh_token}) for _ in range(3))
    )
    assert sorted(r.status_code for r in responses) == [200, 401, 401]
