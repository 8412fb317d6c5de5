"""Deactivating an account (`codevoice deactivate-user`) ends its sessions for good: reactivating it does
not bring its old refresh tokens back."""

from __future__ import annotations

import os
import subprocess
import sys

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.conftest import MakeUser
from tests.control_plane.test_bad_input_matrix import Refusals


def codevoice(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "control_plane", *args],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_refresh_tokens_of_a_deactivated_account_stay_dead_after_reactivation(
    client: AsyncTestClient[Litestar], make_user: MakeUser
) -> None:
    user = await make_user()
    # A second login: a second refresh-token family, also revoked.
    second = await client.post("/auth/login", json={"email": user.email, "password": user.password})
    refresh_tokens = [user.refresh_token, second.json()["refresh_token"]]

    deactivated = codevoice("deactivate-user", "--email", user.email.upper())
    assert deactivated.returncode == 0, deactivated.stderr
    assert deactivated.stdout.strip() == str(user.id)
    refusals = Refusals()
    await refusals.check(client.get("/auth/me", headers=user.headers), 401, "access token while deactivated")
    reactivated = codevoice("activate-user", "--email", user.email)
    assert reactivated.returncode == 0, reactivated.stderr

    for n, token in enumerate(refresh_tokens):
        request = client.post("/auth/refresh", json={"refresh_token": token})
        await refusals.check(request, 401, f"refresh token of login {n + 1} after reactivation")
    refusals.assert_none()
    login = await client.post("/auth/login", json={"email": user.email, "password": user.password})
    assert login.status_code == 200
    fresh = await client.post("/auth/refresh", json={"refresh_token": login.json()["refresh_token"]})
    assert fresh.status_code == 200


def test_unknown_account_is_named_without_a_traceback(database_url: str) -> None:
    result = codevoice("deactivate-user", "--email", "nobody@example.com")
    assert result.returncode == 1
    assert "nobody@example.com" in result.stderr
    assert "Traceback" not in result.stderr
