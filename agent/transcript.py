"""Sends every finished turn to the control plane as soon as it ends, in order, with a sequence number.

Turns queue in memory and one sender task delivers them oldest first; the control plane stores each seq
once, so a resend after a lost response is harmless. While the control plane is down the sender keeps
retrying (the client backs off), and no finished turn is dropped: the job flushes before it reports the
session complete, and a 4xx (which retrying cannot fix) is logged with the segments it refused. A 409
means the session is already final (cancelled): `session_closed` is set so the interview can end.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Protocol

import structlog

from agent.control_plane_client import (
    ControlPlaneRejectedError,
    ControlPlaneUnavailableError,
    Speaker,
    TranscriptSegment,
    TurnMetrics,
)

logger = structlog.get_logger(__name__)

# Pause before another round of attempts once the client's own retries are spent.
_RESEND_PAUSE_S = 2.0
# The control plane's limits for one request and one segment.
MAX_SEGMENTS_PER_REQUEST = 100
MAX_SEGMENT_CHARS = 20_000


class TranscriptSink(Protocol):
    """Where segments go: the control plane client (the benchmark plugs in a sink that only counts)."""

    async def append_transcript(
        self, session_id: uuid.UUID, segments: Sequence[TranscriptSegment]
    ) -> int: ...


class SegmentJournal(Protocol):
    def append(self, segment: TranscriptSegment) -> None: ...


class TranscriptRecorder:
    def __init__(
        self,
        client: TranscriptSink,
        session_id: uuid.UUID,
        *,
        clock: Callable[[], float] = time.monotonic,
        resend_pause_s: float = _RESEND_PAUSE_S,
        journal: SegmentJournal | None = None,
    ) -> None:
        self._client = client
        self._journal = journal
        self._session_id = session_id
        self._clock = clock
        self._origin = clock()
        self._resend_pause_s = resend_pause_s
        self._next_seq = 0
        self._pending: list[TranscriptSegment] = []
        self._wakeup = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._sender: asyncio.Task[None] | None = None
        self.recorded: list[TranscriptSegment] = []
        self.delivered: list[TranscriptSegment] = []
        self.rejected: list[TranscriptSegment] = []
        self.session_closed = asyncio.Event()

    def now_ms(self) -> int:
        """Milliseconds since the recorder started (the interview's time origin)."""
        return int((self._clock() - self._origin) * 1000)

    def record(
        self, speaker: Speaker, text: str, *, start_ms: int, end_ms: int, metrics: TurnMetrics | None = None
    ) -> TranscriptSegment | None:
        """Queue a finished turn for delivery; blank turns are not part of the transcript."""
        text = text.strip()[:MAX_SEGMENT_CHARS]
        if not text:
            return None
        segment = TranscriptSegment(
            seq=self._next_seq,
            speaker=speaker,
            text=text,
            start_ms=max(0, start_ms),
            end_ms=max(start_ms, end_ms),
            metrics=metrics,
        )
        self._next_seq += 1
        if self._journal is not None:
            # Written before it is sent: if the process dies now, the next job replays it.
            self._journal.append(segment)
        self.recorded.append(segment)
        self._pending.append(segment)
        self._idle.clear()
        self._wakeup.set()
        self._ensure_sender()
        logger.info(
            "transcript.turn",
            session_id=str(self._session_id),
            seq=segment.seq,
            speaker=speaker,
            chars=len(text),
            metrics=None if metrics is None else {k: v for k, v in _metrics_items(metrics)},
        )
        return segment

    async def flush(self, timeout_s: float) -> bool:
        """Wait until every recorded turn is delivered (or refused). False if time ran out."""
        if self._pending:
            self._ensure_sender()
        try:
            await asyncio.wait_for(self._idle.wait(), timeout_s)
        except TimeoutError:
            logger.error(
                "transcript.flush_timeout", session_id=str(self._session_id), undelivered=len(self._pending)
            )
            return False
        return True

    async def aclose(self) -> None:
        if self._sender is not None:
            self._sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sender
            self._sender = None

    @property
    def undelivered(self) -> int:
        return len(self._pending)

    def _ensure_sender(self) -> None:
        if self._sender is None or self._sender.done():
            self._sender = asyncio.get_running_loop().create_task(self._send_loop(), name="transcript-sender")

    async def _send_loop(self) -> None:
        while True:
            if not self._pending:
                self._idle.set()
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            batch = self._pending[:MAX_SEGMENTS_PER_REQUEST]
            try:
                await self._client.append_transcript(self._session_id, batch)
            except ControlPlaneRejectedError as exc:
                # Retrying cannot fix a 4xx; keep the segments for the logs and the job's failure report.
                logger.error(
                    "transcript.rejected",
                    session_id=str(self._session_id),
                    status=exc.status,
                    problem=exc.problem,
                    seqs=[s.seq for s in batch],
                )
                self.rejected.extend(batch)
                if exc.session_is_final:
                    self.session_closed.set()
            except ControlPlaneUnavailableError as exc:
                logger.warning(
                    "transcript.control_plane_down", session_id=str(self._session_id), error=str(exc)
                )
                await asyncio.sleep(self._resend_pause_s)
                continue
            else:
                self.delivered.extend(batch)
            del self._pending[: len(batch)]


def _metrics_items(metrics: TurnMetrics) -> list[tuple[str, float]]:
    return [
        (name, value) for name in metrics.__struct_fields__ if (value := getattr(metrics, name)) is not None
    ]
