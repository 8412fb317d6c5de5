"""Webhooks as livekit-server sends them.

Each room event becomes a livekit.WebhookEvent with a unique `EV_` id and `created_at` (unix seconds),
POSTed to every configured URL. The body is the event as protobuf JSON, `Content-Type:
application/webhook+json`, and `Authorization` holds a JWT signed with the webhook key's secret whose
`sha256` claim is base64(sha256(body)), so livekit-api's WebhookReceiver accepts it.

Listener calls only enqueue: a background task per (URL, room) sends that room's events in order and retries
failed deliveries with exponential backoff, so a slow or failing receiver never blocks a room.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from dataclasses import dataclass, field

import aiohttp
import structlog
from google.protobuf import json_format
from livekit.protocol import models, room, webhook

from local_livekit import tokens
from local_livekit.contracts import ServerConfig

log = structlog.get_logger(__name__)

CONTENT_TYPE = "application/webhook+json"
USER_AGENT = "LiveKit"
# A room's queue holds at most this many undelivered events; newer ones are dropped, as livekit-server does.
MAX_QUEUE_DEPTH = 200


class WebhookConfigError(ValueError):
    """Webhook URLs are configured without a usable signing key."""


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6
    initial_backoff_s: float = 0.5
    max_backoff_s: float = 8.0
    request_timeout_s: float = 5.0

    def backoff(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        return float(min(self.initial_backoff_s * 2 ** (attempt - 1), self.max_backoff_s))


@dataclass(eq=False)
class _Queue:
    """The undelivered events of one room for one URL."""

    url: str
    events: deque[webhook.WebhookEvent] = field(default_factory=deque)
    task: asyncio.Task[None] | None = None


def _is_retryable(status: int) -> bool:
    # The same statuses go-retryablehttp (livekit-server's client) retries.
    return status == 429 or (status >= 500 and status != 501)


def encode_event(event: webhook.WebhookEvent) -> bytes:
    """The event as protobuf JSON (camelCase names, int64 as strings), like Go's protojson."""
    return json.dumps(json_format.MessageToDict(event), separators=(",", ":")).encode()


class WebhookNotifier:
    """A RoomListener that posts webhooks; `start()` before the server serves, `close()` after."""

    def __init__(self, config: ServerConfig, *, retry: RetryPolicy | None = None) -> None:
        self._urls = tuple(config.webhook_urls)
        self._retry = retry or RetryPolicy()
        self._api_key = ""
        self._api_secret = ""
        if self._urls:
            if not config.webhook_api_key:
                raise WebhookConfigError("webhook.api_key is required to use webhooks")
            secret = config.keys.secret_for(config.webhook_api_key)
            if secret is None:
                raise WebhookConfigError(f"webhook.api_key {config.webhook_api_key!r} is not one of the keys")
            self._api_key, self._api_secret = config.webhook_api_key, secret
        self._queues: dict[tuple[str, str], _Queue] = {}
        # Events lost per URL since its last delivery attempt; reported in the next event's num_dropped.
        self._dropped: dict[str, int] = {}
        self._session: aiohttp.ClientSession | None = None
        self._closed = False

    async def start(self) -> None:
        if self._session is None and self._urls:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self._retry.request_timeout_s),
                headers={"User-Agent": USER_AGENT},
            )
        for key, queue in self._queues.items():
            if queue.events:
                self._wake(key, queue)

    async def close(self, *, drain_timeout_s: float = 2.0) -> None:
        """Give queued events a moment to go out, then stop."""
        if self._closed:
            return
        self._closed = True
        tasks = [q.task for q in self._queues.values() if q.task is not None]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=drain_timeout_s)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        undelivered = sum(len(q.events) for q in self._queues.values())
        if undelivered:
            log.warning("webhooks not delivered before shutdown", count=undelivered)
        if self._session is not None:
            await self._session.close()

    # ----------------------------------------------------------------- RoomListener

    async def room_started(self, room_info: models.Room) -> None:
        self._notify(webhook.WebhookEvent(event="room_started", room=room_info))

    async def room_finished(self, room_info: models.Room) -> None:
        self._notify(webhook.WebhookEvent(event="room_finished", room=room_info))

    async def participant_joined(self, room_info: models.Room, participant: models.ParticipantInfo) -> None:
        self._notify(
            webhook.WebhookEvent(event="participant_joined", room=room_info, participant=participant)
        )

    async def participant_left(self, room_info: models.Room, participant: models.ParticipantInfo) -> None:
        self._notify(webhook.WebhookEvent(event="participant_left", room=room_info, participant=participant))

    async def track_published(
        self, room_info: models.Room, participant: models.ParticipantInfo, track: models.TrackInfo
    ) -> None:
        self._notify(
            webhook.WebhookEvent(
                event="track_published", room=room_info, participant=participant, track=track
            )
        )

    async def track_unpublished(
        self, room_info: models.Room, participant: models.ParticipantInfo, track: models.TrackInfo
    ) -> None:
        self._notify(
            webhook.WebhookEvent(
                event="track_unpublished", room=room_info, participant=participant, track=track
            )
        )

    async def room_configured(self, room_info: models.Room, config: room.RoomConfiguration) -> None:
        return None

    # ----------------------------------------------------------------- queueing and sending

    def _notify(self, event: webhook.WebhookEvent) -> None:
        if not self._urls or self._closed:
            return
        event.id = tokens.new_id("EV_")
        event.created_at = int(time.time())
        resource = event.room.name
        for url in self._urls:
            key = (url, resource)
            queue = self._queues.setdefault(key, _Queue(url=url))
            if len(queue.events) >= MAX_QUEUE_DEPTH:
                log.warning("webhook dropped: queue full", url=url, room=resource, webhook_event=event.event)
                self._dropped[url] = self._dropped.get(url, 0) + 1
                continue
            copy = webhook.WebhookEvent()
            copy.CopyFrom(event)
            queue.events.append(copy)
            self._wake(key, queue)

    def _wake(self, key: tuple[str, str], queue: _Queue) -> None:
        if self._session is None or (queue.task is not None and not queue.task.done()):
            return
        queue.task = asyncio.create_task(self._drain(key, queue), name=f"webhooks-{key[1]}")

    async def _drain(self, key: tuple[str, str], queue: _Queue) -> None:
        while queue.events:
            await self._deliver(queue.url, queue.events[0])
            queue.events.popleft()
        if self._queues.get(key) is queue and not queue.events:
            del self._queues[key]

    async def _deliver(self, url: str, event: webhook.WebhookEvent) -> bool:
        assert self._session is not None
        event.num_dropped = self._dropped.pop(url, 0)
        body = encode_event(event)
        fields = {"url": url, "webhook_event": event.event, "id": event.id, "room": event.room.name}
        for attempt in range(1, self._retry.max_attempts + 1):
            headers = {
                "Authorization": tokens.sign_webhook(body, self._api_key, self._api_secret),
                "Content-Type": CONTENT_TYPE,
            }
            error: str
            try:
                async with self._session.post(url, data=body, headers=headers) as response:
                    await response.read()
                    if 200 <= response.status < 300:
                        log.info("sent webhook", attempt=attempt, **fields)
                        return True
                    error = f"HTTP {response.status}"
                    if not _is_retryable(response.status):
                        log.warning("webhook rejected", error=error, **fields)
                        break
            except (aiohttp.ClientError, TimeoutError) as exc:
                error = f"{type(exc).__name__}: {exc}"
            if attempt < self._retry.max_attempts:
                delay = self._retry.backoff(attempt)
                log.info("webhook failed; retrying", attempt=attempt, error=error, retry_in_s=delay, **fields)
                await asyncio.sleep(delay)
            else:
                log.warning("failed to send webhook", attempts=attempt, error=error, **fields)
        self._dropped[url] = self._dropped.get(url, 0) + event.num_dropped + 1
        return False
