"""Typed client for the control plane's internal API, the agent's only way to report on a session.

Every call is safe to repeat (the transcript endpoint ignores a sequence number it already stored), so
the client retries 5xx, 429 and connection errors with exponential backoff while the control plane is
briefly down. Other 4xx answers are RFC 9457 problem details and are raised at once; a 409 means the
session is already final (cancelled, failed or completed elsewhere), which no retry can change.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import httpx
import msgspec
import structlog

logger = structlog.get_logger(__name__)

Speaker = Literal["candidate", "agent"]
RETRYABLE_STATUS = frozenset({429})
SESSION_FINAL_STATUS = 409


class TurnMetrics(msgspec.Struct, frozen=True, omit_defaults=True):
    """Latency of one agent turn, in milliseconds; absent values were not measured."""

    end_of_speech_to_first_audio_ms: float | None = None
    stt_ttfb_ms: float | None = None
    llm_ttfb_ms: float | None = None
    tts_ttfb_ms: float | None = None


class TranscriptSegment(msgspec.Struct, frozen=True):
    seq: int
    speaker: Speaker
    text: str
    start_ms: int
    end_ms: int
    metrics: TurnMetrics | None = None


class _TranscriptBody(msgspec.Struct, frozen=True):
    segments: Sequence[TranscriptSegment]


class _StoredResponse(msgspec.Struct, frozen=True):
    stored: int


class _FailBody(msgspec.Struct, frozen=True):
    reason: str


class _CompleteBody(msgspec.Struct, frozen=True, omit_defaults=True):
    end_reason: str | None = None


class ControlPlaneError(RuntimeError):
    """A call to the control plane's internal API failed for good."""


class ControlPlaneRejectedError(ControlPlaneError):
    """The control plane answered a 4xx that retrying cannot fix (its problem details are attached)."""

    def __init__(self, status: int, problem: dict[str, Any] | None, path: str) -> None:
        title = (problem or {}).get("title") or (problem or {}).get("detail") or "request rejected"
        super().__init__(f"control plane rejected {path}: {status} {title}")
        self.status = status
        self.problem = problem

    @property
    def session_is_final(self) -> bool:
        return self.status == SESSION_FINAL_STATUS


class ControlPlaneUnavailableError(ControlPlaneError):
    """The control plane stayed unreachable (or kept failing) through every retry."""


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    base_delay_s: float = 0.25
    max_delay_s: float = 8.0

    def delay(self, attempt: int) -> float:
        # Full jitter keeps many agents from retrying in lockstep after a control plane restart.
        ceiling = min(self.max_delay_s, self.base_delay_s * (2**attempt))
        return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not security


class ControlPlaneClient:
    """POSTs to /internal/sessions/{id}/... with the agent service token."""

    def __init__(
        self,
        base_url: str,
        service_token: str,
        *,
        timeout_s: float = 5.0,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._retry = retry or RetryPolicy()
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {service_token}"},
            timeout=timeout_s,
            transport=transport,
        )

    async def __aenter__(self) -> ControlPlaneClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def mark_live(self, session_id: uuid.UUID) -> None:
        await self._post(f"/internal/sessions/{session_id}/live", None)

    async def append_transcript(self, session_id: uuid.UUID, segments: Sequence[TranscriptSegment]) -> int:
        """Store segments; returns how many were new (repeats of a stored seq count zero)."""
        response = await self._post(
            f"/internal/sessions/{session_id}/transcript", msgspec.json.encode(_TranscriptBody(segments))
        )
        try:
            return msgspec.json.decode(response.content, type=_StoredResponse).stored
        except (msgspec.DecodeError, msgspec.ValidationError):
            # The segments are stored (200); an odd body only loses the count.
            logger.warning("control_plane.unexpected_transcript_response", body=response.text[:200])
            return 0

    async def complete(self, session_id: uuid.UUID, *, end_reason: str | None = None) -> None:
        """The interview ended; `end_reason` says why (`completed`, `time_up`, `candidate_left`, ...: lower
        case snake case, at most 32 characters). A repeat changes nothing on the control plane."""
        body = msgspec.json.encode(_CompleteBody(end_reason)) if end_reason is not None else None
        await self._post(f"/internal/sessions/{session_id}/complete", body)

    async def fail(self, session_id: uuid.UUID, reason: str) -> None:
        await self._post(
            f"/internal/sessions/{session_id}/fail", msgspec.json.encode(_FailBody(reason[:500]))
        )

    async def _post(self, path: str, body: bytes | None) -> httpx.Response:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        last_problem = "no attempt made"
        for attempt in range(self._retry.max_attempts):
            try:
                response = await self._http.post(path, content=body, headers=headers)
            except httpx.TransportError as exc:
                last_problem = f"{type(exc).__name__}: {exc}"
            else:
                if response.is_success:
                    return response
                if 400 <= response.status_code < 500 and response.status_code not in RETRYABLE_STATUS:
                    raise ControlPlaneRejectedError(response.status_code, _problem(response), path)
                last_problem = f"HTTP {response.status_code}"
            if attempt + 1 < self._retry.max_attempts:
                delay = self._retry.delay(attempt)
                logger.warning(
                    "control_plane.retrying",
                    path=path,
                    attempt=attempt + 1,
                    problem=last_problem,
                    delay_s=delay,
                )
                await asyncio.sleep(delay)
        raise ControlPlaneUnavailableError(
            f"control plane {path} failed after {self._retry.max_attempts} attempts: {last_problem}"
        )


def _problem(response: httpx.Response) -> dict[str, Any] | None:
    try:
        problem = response.json()
    except ValueError:
        return None
    return problem if isinstance(problem, dict) else None
