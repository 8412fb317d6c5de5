"""The dispatch metadata the control plane attaches to the interviewer's job (JSON in the dispatch)."""

from __future__ import annotations

import uuid
from typing import Annotated

import msgspec

from agent.question_bank import SessionSeniority


class InvalidDispatchMetadataError(ValueError):
    """The job's metadata is not a valid interview description; the job cannot run."""

    def __init__(self, reason: str, raw: str) -> None:
        super().__init__(f"invalid dispatch metadata: {reason}")
        self.reason = reason
        # Kept short: the raw metadata goes into logs.
        self.raw_excerpt = raw[:200]
        # When the session is still identifiable, the job can fail it instead of leaving it waiting.
        self.session_id = _session_id_in(raw)


def _session_id_in(raw: str) -> uuid.UUID | None:
    try:
        fields = msgspec.json.decode(raw)
        return uuid.UUID(str(fields["session_id"])) if isinstance(fields, dict) else None
    except (msgspec.DecodeError, KeyError, ValueError):
        return None


class InterviewSession(msgspec.Struct, frozen=True, forbid_unknown_fields=False):
    """One interview, as the control plane describes it when it dispatches the agent."""

    session_id: uuid.UUID
    role: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    seniority: SessionSeniority
    topics: Annotated[
        list[Annotated[str, msgspec.Meta(min_length=1, max_length=64)]], msgspec.Meta(max_length=20)
    ]
    duration_minutes: Annotated[int, msgspec.Meta(ge=1, le=180)]
    language: Annotated[str, msgspec.Meta(min_length=2, max_length=16)] = "en"


def parse_dispatch_metadata(raw: str) -> InterviewSession:
    """Decode and validate the metadata string. Raises InvalidDispatchMetadataError with the reason."""
    if not raw or not raw.strip():
        raise InvalidDispatchMetadataError("metadata is empty", raw)
    try:
        session = msgspec.json.decode(raw, type=InterviewSession)
    except msgspec.ValidationError as exc:
        raise InvalidDispatchMetadataError(str(exc), raw) from exc
    except msgspec.DecodeError as exc:
        raise InvalidDispatchMetadataError(f"not JSON: {exc}", raw) from exc
    if not session.role.strip():
        raise InvalidDispatchMetadataError("role is blank", raw)
    return session
