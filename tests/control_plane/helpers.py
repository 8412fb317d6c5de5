from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.conftest import AuthedUser

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
