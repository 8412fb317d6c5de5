from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from control_plane.domain.accounts.auth import PUBLIC_PATHS


async def test_openapi_lists_the_api(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get("/docs/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in ("/auth/login", "/sessions", "/livekit/token", "/livekit/webhook", "/healthz", "/readyz"):
        assert path in paths, path
    assert (await client.get("/docs")).status_code == 200


async def _document(client: AsyncTestClient[Litestar]) -> dict[str, Any]:
    response = await client.get("/docs/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                yield method.upper(), path, operation


def _schemes(operation: dict[str, Any]) -> set[str]:
    return {scheme for requirement in operation.get("security", []) for scheme in requirement}


async def test_each_operation_declares_the_credentials_it_takes(client: AsyncTestClient[Litestar]) -> None:
    document = await _document(client)
    assert "security" not in document, "no requirement for the whole API: each operation says its own"
    assert set(document["components"]["securitySchemes"]) == {
        "BearerToken",
        "ServiceToken",
        "LiveKitWebhookSignature",
    }
    declared = {f"{method} {path}": _schemes(op) for method, path, op in _operations(document)}
    for public in (
        "GET /healthz",
        "GET /readyz",
        "POST /auth/register",
        "POST /auth/login",
        "POST /auth/refresh",
        "POST /auth/logout",
    ):
        assert declared[public] == set(), public
    assert declared["POST /livekit/webhook"] == {"LiveKitWebhookSignature"}
    assert declared["POST /sessions"] == {"BearerToken"}
    assert declared["GET /auth/me"] == {"BearerToken"}
    for method_path, schemes in declared.items():
        path = method_path.split(" ", 1)[1]
        if path.startswith("/internal/"):
            assert schemes == {"ServiceToken"}, method_path
        # The JWT middleware checks exactly the paths it does not exclude.
        jwt_checked = not any(re.search(pattern, path) for pattern in PUBLIC_PATHS)
        assert ("BearerToken" in schemes) == jwt_checked, method_path
        if schemes:
            assert "401" in document["paths"][path][method_path.split()[0].lower()]["responses"], method_path


async def test_errors_are_problem_documents(client: AsyncTestClient[Litestar]) -> None:
    document = await _document(client)
    problem = document["components"]["schemas"]["ProblemDetails"]
    assert set(problem["required"]) == {"type", "title", "status", "detail"}
    assert "extra" in problem["properties"]
    for method, path, operation in _operations(document):
        for status, response in operation["responses"].items():
            if int(status) >= 400:
                assert list(response["content"]) == ["application/problem+json"], (method, path, status)
    responses = {f"{method} {path}": set(op["responses"]) for method, path, op in _operations(document)}
    assert {"400", "401", "404", "409", "413", "415"} <= responses["POST /sessions/{session_id}/cancel"]
    assert {"400", "413", "415", "429"} <= responses["POST /auth/register"]
    assert {"401", "403"} <= responses["POST /sessions/{session_id}/summary/retry"]
    # A malformed path parameter matches no route: no 400 where only path parameters are taken.
    assert responses["GET /sessions/{session_id}"] == {"200", "401", "404"}
    assert responses["GET /healthz"] == {"200"}
    assert responses["GET /readyz"] == {"200", "503"}


async def test_request_schemas_are_as_strict_as_the_server(client: AsyncTestClient[Litestar]) -> None:
    document = await _document(client)
    schemas = document["components"]["schemas"]
    session = schemas["SessionCreate"]
    assert session["properties"]["topics"]["items"]["minLength"] == 1
    assert session["properties"]["topics"]["items"]["maxLength"] == 64
    language = session["properties"]["language"]["pattern"]
    for accepted in ("en", "en-GB", "en-US"):
        assert re.search(language, accepted), accepted
    for refused in ("fr", "de-DE", "EN", "en-gb", "english"):
        assert not re.search(language, refused), refused
    # Every request body refuses unknown fields (forbid_unknown_fields), and says so.
    for method, path, operation in _operations(document):
        if "requestBody" in operation:
            ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            body = schemas[ref.rsplit("/", 1)[1]]
            assert body["additionalProperties"] is False, (method, path)
    assert schemas["SegmentIn"]["additionalProperties"] is False


async def test_every_operation_has_a_unique_operation_id(client: AsyncTestClient[Litestar]) -> None:
    document = await _document(client)
    ids = [operation.get("operationId", "") for _, _, operation in _operations(document)]
    assert all(re.fullmatch(r"[a-z]+(?:[A-Z][a-z]+|[A-Z]{2,}(?=[A-Z]|$))*", i) for i in ids), ids
    assert len(ids) == len(set(ids)), ids
