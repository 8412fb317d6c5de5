from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient


async def test_openapi_lists_the_api(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get("/docs/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in ("/auth/login", "/sessions", "/livekit/token", "/livekit/webhook", "/healthz", "/readyz"):
        assert path in paths, path
    assert (await client.get("/docs")).status_code == 200
