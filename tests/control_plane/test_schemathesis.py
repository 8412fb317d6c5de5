"""Schemathesis against the real control plane: a served process (`codevoice serve`) on this run's
Postgres and Redis, every operation of /docs/openapi.json, positive and negative generated cases, and the
conformance checks the document promises.

Checks left out, and why:
- use_after_free: the API deletes nothing (no DELETE operation), so there is nothing to use after it.
- ensure_resource_availability: needs the stateful phase's links between operations; these stateless
  cases have no parent request, so the check could only ever pass vacuously.
- unsupported_method, allow_header_conformance, object_level_authorization, max_response_time: not part of
  what the document promises (and the last needs two identities set up per resource).

Unknown query parameters are not generated: they are ignored (the document cannot say otherwise).

Generated strings contain no NUL: Postgres cannot store it, so the body guard refuses it in any JSON text
(400, said once in the document's description instead of on every string field).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, reject, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config._checks import (
    NEGATIVE_DATA_REJECTION_EXPECTED_STATUSES,
    NegativeDataRejectionConfig,
)
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    missing_required_header,
    negative_data_rejection,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from control_plane.domain.accounts.email_address import canonical_email
from tests.conftest import TEST_ENV
from tests.control_plane.helpers import SESSION_BODY, sign_up_confirmed
from tests.control_plane.processes import serving
from tests.support.mailbox import Mailbox

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    missing_required_header,
    ignored_auth,
]
SEED = 20251028
MAX_EXAMPLES = 80
REQUEST_TIMEOUT_S = 10
# Positive cases on these run against a real session of the signed-in user (else a drawn id is a 404).
# Not appendTranscript: its segments' end_ms >= start_ms rule is one JSON Schema cannot state, so a
# positive batch with end_ms < start_ms would be a 400 there.
REAL_SESSION_OPERATIONS = {
    "getSession",
    "getTranscript",
    "getSummary",
    "cancelSession",
    "markSessionLive",
    "markSessionCompleted",
    "markSessionFailed",
}


# Positive cases these operations refuse with 400 for rules their schemas cannot state:
# - confirmEmail: a token of the right shape whose signature does not verify (what makes a token valid is
#   the server's secret);
# - createRoomToken: a body naming neither room_name nor session_id (LiveKit's token request makes both
#   optional; one of them is required here, which msgspec cannot declare).
EXCLUDED = {
    "confirmEmail": (positive_data_acceptance,),
    "createRoomToken": (positive_data_acceptance,),
}


def _canonical_email(body: object) -> bool:
    """An email address must also be in Unicode normal form without invisible characters (its description
    says so): a rule JSON Schema's regular expressions cannot state, so positive cases breaking it are
    drawn again. Negative cases keep every address."""
    if not isinstance(body, dict) or not isinstance(body.get("email"), str):
        return True
    try:
        canonical_email(body["email"])
    except ValueError:
        return False
    return True


class Identity:
    """A confirmed candidate with one session, and the credentials of each security scheme."""

    def __init__(self, base: str, mailbox: Mailbox) -> None:
        email = f"schemathesis-{uuid.uuid4().hex[:10]}@example.com"
        password = "correct horse battery"
        sign_up_confirmed(base, mailbox, email, password)
        with httpx.Client(base_url=base, timeout=30) as http:
            tokens = http.post("/auth/login", json={"email": email, "password": password}).json()
            self.authorization = {
                "BearerToken": f"Bearer {tokens['access_token']}",
                "ServiceToken": f"Bearer {TEST_ENV['CODEVOICE_AGENT_SERVICE_TOKEN']}",
            }
            created = http.post(
                "/sessions",
                json=SESSION_BODY,
                headers={"Authorization": self.authorization["BearerToken"]},
            )
            assert created.status_code == 201, created.text
            self.session_id = created.json()["id"]


@pytest.fixture(scope="module")
def served(database_url: str, mailbox: Mailbox) -> Iterator[str]:
    with serving({}) as (base, _):
        yield base


@pytest.fixture(scope="module")
def identity(served: str, mailbox: Mailbox) -> Identity:
    return Identity(served, mailbox)


def _document() -> dict[str, Any]:
    from control_plane.app import create_app

    document: dict[str, Any] = create_app().openapi_schema.to_schema()
    return document


# The document is built in-process at collection, so each operation is a test of its own; the cases go to
# the served process, and test_the_served_document_is_the_one_tested checks the two are the same.
# (schemathesis.pytest.from_fixture would load it from the server, but it does not run on pytest 9.)
DOCUMENT = _document()
schema = schemathesis.openapi.from_dict(DOCUMENT)
schema.config.seed = SEED
# Unknown query parameters are ignored, as HTTP APIs commonly do: OpenAPI cannot declare a closed set of
# parameters, so the document promises nothing either way (unknown body fields, which it can forbid, are 400).
schema.config.generation.update(allow_x00=False, deterministic=True, allow_extra_parameters=False)
# A body over the size limit (413) or one sent as another media type (415) is rejected too.
schema.config.checks.negative_data_rejection = NegativeDataRejectionConfig(
    expected_statuses=[*NEGATIVE_DATA_REJECTION_EXPECTED_STATUSES, "413", "415"]
)
CASES_SENT: list[str] = []


@pytest.fixture(scope="module", autouse=True)
def _report_cases() -> Iterator[None]:
    yield
    print(f"\nschemathesis: {len(CASES_SENT)} cases over {len(set(CASES_SENT))} operations")


def test_the_served_document_is_the_one_tested(served: str) -> None:
    assert httpx.get(f"{served}/docs/openapi.json").json() == DOCUMENT


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_conforms_to_the_document(case: Any, served: str, identity: Identity) -> None:
    operation = case.operation.definition.raw
    headers = {}
    for requirement in operation.get("security", []):
        for scheme in requirement:
            if scheme in identity.authorization:
                headers["Authorization"] = identity.authorization[scheme]
    positive = case.meta is not None and case.meta.generation.mode.is_positive
    if positive and not _canonical_email(case.body):
        reject()
    if positive and operation.get("operationId") in REAL_SESSION_OPERATIONS:
        case.path_parameters["session_id"] = identity.session_id
    CASES_SENT.append(operation.get("operationId", ""))
    checks = [check for check in CHECKS if check not in EXCLUDED.get(operation.get("operationId"), ())]
    case.call_and_validate(base_url=served, headers=headers, checks=checks, timeout=REQUEST_TIMEOUT_S)
