"""Whether the candidate is in the interview room, with a grace period to come back after dropping out.

A candidate who drops out (a page reload, a lost connection, a second tab taking over) usually rejoins
with the same identity within seconds. `RejoinGrace` turns the room's participant events into three
callbacks: `on_away` once no candidate connection is left, `on_back(away_s)` when a new candidate
connection arrives (within `grace_s` of leaving; 0 s away when it took over from an older connection
still in the room), and `on_gone` once the grace has run out with nobody back. The interview itself
(agent.job) decides what each means.

Connections are told apart by their participant sid: livekit-server gives every connection a new one,
even for the same identity. A second tab's swap reaches the agent in either order (the old connection
leaving, then the new one joining, or the reverse), and either way it is one return.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


class RejoinGrace:
    """The away / back / gone state of one interview's candidate.

    Args:
        grace_s: how long, in seconds, a candidate who left has to rejoin before `on_gone` runs.
        on_away: runs once when the last candidate connection leaves (not again until they are back).
        on_back: runs with the seconds they were away (0 when nobody was) for every candidate connection
            after the first.
        on_gone: runs once, `grace_s` after they left, if nobody came back; nothing runs after it.
        clock: monotonic seconds (tests may pass their own).
    """

    def __init__(
        self,
        grace_s: float,
        *,
        on_away: Callable[[], Awaitable[None]],
        on_back: Callable[[float], Awaitable[None]],
        on_gone: Callable[[], Awaitable[None]],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.grace_s = max(0.0, grace_s)
        self._on_away = on_away
        self._on_back = on_back
        self._on_gone = on_gone
        self._clock = clock
        self._left_at: float | None = None
        self._connections: set[str] = set()
        self._expiry: asyncio.Task[None] | None = None
        self._closed = False

    @property
    def away(self) -> bool:
        """The candidate left and the grace is running."""
        return self._left_at is not None and not self._closed

    @property
    def gone(self) -> bool:
        """The grace ran out (or `close` was called): nothing more happens."""
        return self._closed

    async def candidate_left(self, *, candidates_present: bool) -> None:
        """A participant left; `candidates_present` says whether another candidate connection is still
        in the room (a second tab that took over), in which case nobody is away."""
        if candidates_present or self._closed or self._left_at is not None:
            return
        self._left_at = self._clock()
        self._expiry = asyncio.get_running_loop().create_task(self._expire(), name="rejoin-grace")
        await self._on_away()

    async def candidate_connected(self, sid: str) -> None:
        """A candidate connection (participant `sid`) is in the room; reporting one twice is harmless. The
        first is the interview's start; each later one is the candidate coming back."""
        if sid in self._connections or self._closed:
            return
        first = not self._connections
        self._connections.add(sid)
        if first:
            return
        away_s = 0.0 if self._left_at is None else self._clock() - self._left_at
        self._left_at = None
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        await self._on_back(away_s)

    def close(self) -> None:
        """The interview is over: stop waiting, and run no callback from now on."""
        self._closed = True
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None

    async def _expire(self) -> None:
        await asyncio.sleep(self.grace_s)
        # From here on the candidate is gone for good: a rejoin now finds the interview ending.
        self._closed = True
        self._expiry = None
        await self._on_gone()
