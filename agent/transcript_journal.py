"""A local write-ahead journal of transcript segments, so a crashed job loses no finished turn.

Each finished turn is appended (and fsynced) to `<spool>/<session_id>.jsonl` before it is sent. A job
that ends normally deletes its journal once the control plane has everything. If the job process dies
first, the journal stays, and the next job on this machine replays it (the control plane ignores a
sequence number it already stored, so replaying delivered turns is harmless).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import msgspec
import structlog

from agent.control_plane_client import ControlPlaneError, ControlPlaneRejectedError, TranscriptSegment
from agent.transcript import MAX_SEGMENTS_PER_REQUEST, TranscriptSink

logger = structlog.get_logger(__name__)


class TranscriptJournal:
    def __init__(self, spool_dir: Path, session_id: uuid.UUID) -> None:
        spool_dir.mkdir(parents=True, exist_ok=True)
        self.path = spool_dir / f"{session_id}.jsonl"
        self._file = self.path.open("ab")
        # Held for the job's life: a replaying job skips journals whose owner is still running.
        fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def append(self, segment: TranscriptSegment) -> None:
        self._file.write(msgspec.json.encode(segment) + b"\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self, *, delivered_all: bool) -> None:
        if delivered_all:
            self.path.unlink(missing_ok=True)
        self._file.close()


def read_journal(path: Path) -> list[TranscriptSegment]:
    """Segments in a journal; a torn last line (the crash hit mid-write) is skipped."""
    segments: list[TranscriptSegment] = []
    for line in path.read_bytes().splitlines():
        with contextlib.suppress(msgspec.DecodeError, msgspec.ValidationError):
            segments.append(msgspec.json.decode(line, type=TranscriptSegment))
    return segments


def _journal_files(spool_dir: Path) -> list[Path]:
    return sorted(spool_dir.glob("*.jsonl")) if spool_dir.is_dir() else []


@contextlib.contextmanager
def _claimed(path: Path) -> Iterator[bool]:
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        yield False  # listed, then removed by its job as it ended: nothing is left to replay
        return
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False  # its job is alive, or another job is replaying it
            return
        yield True


async def replay_journals(spool_dir: Path, sink: TranscriptSink) -> int:
    """Deliver the journals that crashed jobs left behind; returns how many segments were new."""
    stored = 0
    for path in await asyncio.to_thread(_journal_files, spool_dir):
        try:
            session_id = uuid.UUID(path.stem)
        except ValueError:
            continue
        with _claimed(path) as mine:
            if not mine:
                continue
            segments = read_journal(path)
            try:
                for start in range(0, len(segments), MAX_SEGMENTS_PER_REQUEST):
                    batch = segments[start : start + MAX_SEGMENTS_PER_REQUEST]
                    stored += await sink.append_transcript(session_id, batch)
            except ControlPlaneRejectedError as exc:
                # Retrying cannot fix a 4xx (the session is gone or closed): keep it in the logs, drop it.
                logger.error("transcript.replay_rejected", session_id=str(session_id), error=str(exc))
            except ControlPlaneError as exc:
                logger.warning("transcript.replay_failed", session_id=str(session_id), error=str(exc))
                continue
            logger.info("transcript.replayed", session_id=str(session_id), segments=len(segments))
            path.unlink(missing_ok=True)
    return stored
