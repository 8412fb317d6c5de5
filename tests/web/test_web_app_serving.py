"""The control plane serves the web app at / beside the API, which keeps its paths and its 404s."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from control_plane.lib import web_app

INDEX = "<!doctype html><title>CodeVoice</title><div id=root></div>"


def _build(root: Path) -> Path:
    dist = root / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text(INDEX)
    (dist / "assets" / "index-abc123.js").write_text("console.log('app')")
    (dist / "favicon.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    return dist


async def _client(dist: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[AsyncTestClient[Litestar]]:
    monkeypatch.setattr(web_app, "WEB_DIST", dist)
    from control_plane.app import create_app

    async with AsyncTestClient(app=create_app()) as client:
        yield client


@pytest.fixture
async def built(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async for client in _client(_build(tmp_path), monkeypatch):
        yield client


@pytest.fixture
async def unbuilt(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async for client in _client(tmp_path / "missing", monkeypatch):
        yield client


CLIENT_ROUTES = ["/", "/confirm-email?token=abc", "/interviews/0b5c", "/staff/rooms", "/index.html"]


@pytest.mark.parametrize("path", CLIENT_ROUTES)
async def test_client_routes_get_the_app(built: AsyncTestClient[Litestar], path: str) -> None:
    response = await built.get(path)
    assert response.status_code == 200
    assert response.text == INDEX
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-cache"


async def test_hashed_assets_are_cached_and_top_level_files_served(built: AsyncTestClient[Litestar]) -> None:
    asset = await built.get("/assets/index-abc123.js")
    assert asset.status_code == 200
    assert "immutable" in asset.headers["cache-control"]
    icon = await built.get("/favicon.svg")
    assert (icon.status_code, icon.headers["content-type"]) == (200, "image/svg+xml")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/auth/nope"),
        ("POST", "/auth/nope"),
        ("GET", "/rooms/nope"),
        ("GET", "/sessions/not-a-uuid/nope"),
        ("DELETE", "/interviews/1"),
        ("GET", "/missing.js"),
        ("GET", "/assets/missing.js"),
    ],
)
async def test_unknown_paths_get_the_api_404(
    built: AsyncTestClient[Litestar], method: str, path: str
) -> None:
    response = await built.request(method, path)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_the_api_keeps_its_paths(built: AsyncTestClient[Litestar]) -> None:
    assert (await built.get("/healthz")).json() == {"status": "ok"}
    assert (await built.get("/auth/me")).status_code == 401
    assert (await built.get("/docs/openapi.json")).status_code == 200
    document = (await built.get("/docs/openapi.json")).json()
    assert "/" not in document["paths"]
    assert not any("{path}" in path for path in document["paths"])


async def test_without_a_build_the_root_says_how_to_make_one(unbuilt: AsyncTestClient[Litestar]) -> None:
    response = await unbuilt.get("/")
    assert response.status_code == 503
    assert "make web" in response.text
    assert (await unbuilt.get("/healthz")).status_code == 200
