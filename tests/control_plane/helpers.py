from __future__ import annotations

from typing import Any

import httpx
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.conftest import AuthedUser
from tests.support.mailbox import Mailbox

SESSION_BODY = {
    "role_title": "Backend Engineer",
    "seniority": "senior",
    "topics": ["python", "databases"],
    "planned_duration_minutes": 20,
}


async def create_session(
    client: AsyncTestClient[Litestar], user: AuthedUser, **changes: Any
) -> dict[str, Any]:
    response = await client.post("/sessions", json={**SESSION_BODY, **changes}, headers=user.headers)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


def sign_up_confirmed(base_url: str, mailbox: Mailbox, email: str, password: str, name: str = "T") -> None:
    """Sign up through a running control plane and follow the emailed confirmation link."""
    registered = httpx.post(
        f"{base_url}/auth/register", json={"email": email, "password": password, "display_name": name}
    )
    assert registered.status_code == 202, registered.text
    token = mailbox.confirmation_token(mailbox.wait_for(email)[0])
    confirmed = httpx.post(f"{base_url}/auth/confirm-email", json={"token": token})
    assert confirmed.status_code == 200, confirmed.text
