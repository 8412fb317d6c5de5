"""Sign-up confirmed by email: registering answers the same for a new and a taken address (status, body and
time), the new address gets a confirmation link and the taken one a note, and nothing stored changes for an
existing account. Mail goes through a real SMTP server on loopback (aiosmtpd)."""

from __future__ import annotations

import statistics
import time
import uuid
from typing import Any

import jwt
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import TEST_ENV, MakeUser
from tests.control_plane.helpers import assert_problem
from tests.support.mailbox import Mailbox

PASSWORD = "correct horse battery"


def new_email() -> str:
    return f"signup-{uuid.uuid4().hex[:10]}@example.com"


async def register(
    client: AsyncTestClient[Litestar], email: str, password: str = PASSWORD, name: str = "Ada"
) -> Any:
    return await client.post(
        "/auth/register", json={"email": email, "password": password, "display_name": name}
    )


async def stored_account(db_session: AsyncSession, email: str) -> dict[str, Any]:
    row = (
        await db_session.execute(
            text(
                "SELECT id, display_name, password_hash, email_confirmed_at, updated_at FROM users "
                "WHERE email = :email"
            ),
            {"email": email},
        )
    ).one()
    await db_session.rollback()
    return dict(row._mapping)


async def test_new_and_taken_addresses_get_the_same_answer_and_different_mail(
    client: AsyncTestClient[Litestar], make_user: MakeUser, mailbox: Mailbox, db_session: AsyncSession
) -> None:
    existing = await make_user()
    before = await stored_account(db_session, existing.email)
    fresh = new_email()

    taken = await register(client, existing.email, password="another password entirely", name="Mallory")
    new = await register(client, fresh)

    assert taken.status_code == new.status_code == 202, (taken.text, new.text)
    assert taken.content == new.content
    assert taken.headers["content-type"] == new.headers["content-type"]
    assert "inbox" in new.json()["detail"]

    (note,) = mailbox.wait_for(existing.email)
    assert "already has one" in mailbox.body(note)
    assert "confirm-email" not in mailbox.body(note)
    (confirmation,) = mailbox.wait_for(fresh)
    assert mailbox.confirmation_token(confirmation)

    # the existing account is untouched: same name, same password, still usable
    assert await stored_account(db_session, existing.email) == before
    login = await client.post("/auth/login", json={"email": existing.email, "password": existing.password})
    assert login.status_code == 200


async def test_new_and_taken_addresses_take_the_same_time(
    client: AsyncTestClient[Litestar], make_user: MakeUser, mailbox: Mailbox
) -> None:
    """Both paths do one argon2 hash and one lookup; before, a taken address answered in ~6 ms and a new one
    in ~144 ms. Medians of several tries keep scheduling noise out."""
    existing = await make_user()

    async def timed(email: str) -> float:
        started = time.perf_counter()
        response = await register(client, email)
        elapsed = time.perf_counter() - started
        assert response.status_code == 202
        return elapsed

    await timed(new_email())  # warm-up
    taken = statistics.median([await timed(existing.email) for _ in range(7)])
    new = statistics.median([await timed(new_email()) for _ in range(7)])
    assert 0.5 < taken / new < 2.0, (taken, new)


async def test_an_account_signs_in_only_after_confirming(
    client: AsyncTestClient[Litestar], mailbox: Mailbox, db_session: AsyncSession
) -> None:
    email = new_email()
    assert (await register(client, email)).status_code == 202
    token = mailbox.confirmation_token(mailbox.wait_for(email)[0])

    # right password, unconfirmed address: 403 that says what to do; a wrong password still says 401
    problem = assert_problem(
        await client.post("/auth/login", json={"email": email, "password": PASSWORD}), 403
    )
    assert "Confirm your email" in problem["detail"]
    assert_problem(
        await client.post("/auth/login", json={"email": email, "password": "wrong password!"}), 401
    )
    # the confirmation token is not an access token
    assert (await client.get("/auth/me", headers={"Authorization": f"Bearer {token}"})).status_code == 401

    confirmed = await client.post("/auth/confirm-email", json={"token": token})
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["email"] == email
    assert (await stored_account(db_session, email))["email_confirmed_at"] is not None
    assert (await client.post("/auth/confirm-email", json={"token": token})).status_code == 200  # idempotent
    assert (await client.post("/auth/login", json={"email": email, "password": PASSWORD})).status_code == 200

    # registering an unconfirmed address again sends a fresh link, not a second account
    other = new_email()
    assert (await register(client, other)).status_code == 202
    assert (await register(client, other, password="some other password")).status_code == 202
    links = mailbox.wait_for(other, count=2)
    assert all(mailbox.confirmation_token(message) for message in links)


async def test_forged_expired_and_access_tokens_do_not_confirm(
    client: AsyncTestClient[Litestar], make_user: MakeUser, mailbox: Mailbox, db_session: AsyncSession
) -> None:
    email = new_email()
    assert (await register(client, email)).status_code == 202
    real = mailbox.confirmation_token(mailbox.wait_for(email)[0])
    claims = jwt.decode(real, options={"verify_signature": False})
    user = await make_user()
    forged = [
        jwt.encode({**claims}, TEST_ENV["CODEVOICE_JWT_SECRET"], algorithm="HS256"),  # the access-token key
        jwt.encode({**claims}, "x" * 40, algorithm="HS256"),
        real[:-4] + "AAAA",
        user.access_token,
        "not-a-token-at-all-but-long-enough",
    ]
    for token in forged:
        problem = assert_problem(await client.post("/auth/confirm-email", json={"token": token}), 400)
        assert "invalid or has expired" in problem["detail"]
    assert (await stored_account(db_session, email))["email_confirmed_at"] is None


async def test_one_address_one_canonical_form(
    client: AsyncTestClient[Litestar], make_user: MakeUser, mailbox: Mailbox
) -> None:
    """`$` matches before a final newline, so "victim@example.com\\n" used to pass validation, log in as the
    victim and count in its own rate-limit bucket. Every spelling that normalisation would change (apart
    from letter case) is refused with 400 everywhere an email is read."""
    victim = await make_user()
    variants = [
        victim.email + "\n",
        " " + victim.email,
        victim.email + " ",
        victim.email.replace("@", "\u200b@"),
        victim.email.replace("e", "\uff45", 1),  # a full-width letter, which NFKC folds to "e"
        victim.email + "\r\n",
    ]
    for variant in variants:
        for path, body in (
            ("/auth/login", {"email": variant, "password": victim.password}),
            ("/auth/register", {"email": variant, "password": PASSWORD, "display_name": "X"}),
        ):
            assert_problem(await client.post(path, json=body), 400)
    # letter case is not a different address
    upper = await client.post(
        "/auth/login", json={"email": victim.email.upper(), "password": victim.password}
    )
    assert upper.status_code == 200
    assert mailbox.to(victim.email) == []
