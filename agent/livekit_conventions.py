"""LiveKit's agent conventions, spoken beside Pipecat's RTVI, so LiveKit's own front ends work unchanged.

LiveKit's React hooks (`useVoiceAssistant`, `useAgent`, `useTranscriptions`) and the Agents Playground read
what livekit-agents' room I/O (`livekit/agents/voice/room_io/`) publishes; this module publishes the same,
from Pipecat frames:

- the participant attribute `lk.agent.state` on the agent: `initializing` from the join until the pipeline
  has started, `listening` while it waits for the candidate, `thinking` from the end of the candidate's
  turn until the agent's audio starts, `speaking` while the agent's audio plays out;
- text streams on the topic `lk.transcription`, one segment id (`lk.segment_id`, "SG_" + 12 hex digits)
  per spoken segment. The candidate's speech: one stream per interim and one for the final (Pipecat's
  InterimTranscriptionFrame / TranscriptionFrame), all of one segment sharing its id, sent by the agent
  on the candidate's behalf (the stream's sender identity is the candidate's, which livekit-server keeps
  for text streams sent by an agent), with `lk.transcribed_track_id` = the candidate's microphone track
  sid. The agent's speech: one stream per turn, opened with the first words played out (Pipecat's
  TTSTextFrame once the output transport has played the audio before it), written word by word as they
  are spoken, and closed when the agent stops speaking or is interrupted, with `lk.transcribed_track_id`
  = the agent's own audio track sid. `lk.transcription_final` is "false" on interims and on the agent's
  opening header, "true" on the candidate's final stream and on the agent's closing trailer;
- the same segments as legacy transcriptions (`publish_transcription`), which `useVoiceAssistant`'s
  `agentTranscriptions` still reads.

It is a Pipecat observer (give it to the pipeline worker) plus `attach(room)` once the transport has
joined. Sending never blocks the pipeline: everything goes through one queue drained by one task, in
order; a failed send is logged (`livekit_conventions.send_failed`) and dropped, and nothing is sent
while the room is not connected.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import structlog
from livekit import rtc
from livekit.agents.types import (
    ATTRIBUTE_AGENT_STATE,
    ATTRIBUTE_TRANSCRIPTION_FINAL,
    ATTRIBUTE_TRANSCRIPTION_SEGMENT_ID,
    ATTRIBUTE_TRANSCRIPTION_TRACK_ID,
    TOPIC_TRANSCRIPTION,
)
from livekit.agents.utils import shortuuid
from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    BotStoppedSpeakingFrame,
    CancelFrame,
    EndFrame,
    InterimTranscriptionFrame,
    InterruptionFrame,
    TranscriptionFrame,
    TTSTextFrame,
    UserStartedSpeakingFrame,
    UserStoppedSpeakingFrame,
)
from pipecat.observers.base_observer import BaseObserver
from pipecat.processors.frame_processor import FrameDirection
from pipecat.utils.string import TextPartForConcatenation, concatenate_aggregated_text

if TYPE_CHECKING:
    from pipecat.observers.base_observer import FramePushed
    from pipecat.processors.frame_processor import FrameProcessor

logger = structlog.get_logger(__name__)

AgentState = Literal["initializing", "listening", "thinking", "speaking"]
SEND_TIMEOUT_S = 5.0
MAX_PENDING_SENDS = 512
# Frame ids remembered to react once per frame although the observer sees it at every processor.
_SEEN_FRAMES = 256

Send = Callable[[rtc.Room], Awaitable[None]]


@dataclass
class _AgentSegment:
    """The agent's current spoken segment: one delta text stream, opened by its first words."""

    id: str = field(default_factory=lambda: shortuuid("SG_"))
    parts: list[TextPartForConcatenation] = field(default_factory=list)
    queued_text: str = ""  # everything handed to the sender so far
    writer: rtc.TextStreamWriter | None = None


class LiveKitConventions(BaseObserver):
    """Publishes the agent's state and both speakers' transcriptions the way livekit-agents does.

    `spoken_at` is the processor whose downstream TTSTextFrames mean "played out" (the output transport:
    it holds each one back until the audio queued before it has been written to the room). `attach(room)`
    gives it the joined room; `aclose()` stops the sender.
    """

    def __init__(self, *, spoken_at: FrameProcessor | None, log_context: dict[str, Any] | None = None):
        super().__init__()
        self._spoken_at = spoken_at
        self._log = logger.bind(**(log_context or {}))
        self._room: rtc.Room | None = None
        self.state: AgentState = "initializing"
        self._seen: deque[int] = deque(maxlen=_SEEN_FRAMES)
        self._agent_segment: _AgentSegment | None = None
        self._user_segment_id: str | None = None
        self._outbox: asyncio.Queue[tuple[str, Send]] = asyncio.Queue(MAX_PENDING_SENDS)
        self._sender: asyncio.Task[None] | None = None

    # ------------------------------------------------------------ lifecycle
    def attach(self, room: rtc.Room) -> None:
        """The transport has joined `room` (and published the agent's audio): publish the current state."""
        self._room = room
        self._send("agent_state", self._state_sender(self.state))

    async def aclose(self, timeout_s: float = 2.0) -> None:
        """Let queued sends finish for at most `timeout_s`, then stop the sender."""
        if self._sender is None:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._outbox.join(), timeout_s)
        self._sender.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._sender
        self._sender = None

    # ------------------------------------------------------------ observer
    async def on_pipeline_started(self) -> None:
        if self.state == "initializing":
            self._set_state("listening")

    async def on_push_frame(self, data: FramePushed) -> None:
        frame = data.frame
        if isinstance(frame, TTSTextFrame):
            # Only where it has been played out; TTS pushed it earlier, ahead of its audio.
            if data.source is self._spoken_at and data.direction == FrameDirection.DOWNSTREAM:
                self._agent_spoke(frame)
            return
        if not isinstance(frame, _WATCHED) or data.direction != FrameDirection.DOWNSTREAM:
            return
        if frame.id in self._seen:
            return
        self._seen.append(frame.id)
        if isinstance(frame, BotStartedSpeakingFrame):
            self._set_state("speaking")
        elif isinstance(frame, BotStoppedSpeakingFrame):
            self._finish_agent_segment()
            self._set_state("listening")
        elif isinstance(frame, (InterruptionFrame, EndFrame, CancelFrame)):
            self._finish_agent_segment()
        elif isinstance(frame, UserStartedSpeakingFrame):
            if self.state == "thinking":
                self._set_state("listening")
        elif isinstance(frame, UserStoppedSpeakingFrame):
            if self.state != "speaking":
                self._set_state("thinking")
        elif isinstance(frame, InterimTranscriptionFrame | TranscriptionFrame):
            self._candidate_spoke(frame)

    # --------------------------------------------------------------- state
    def _set_state(self, state: AgentState) -> None:
        if state == self.state:
            return
        self.state = state
        self._send("agent_state", self._state_sender(state))

    @staticmethod
    def _state_sender(state: AgentState) -> Send:
        async def send(room: rtc.Room) -> None:
            await room.local_participant.set_attributes({ATTRIBUTE_AGENT_STATE: state})

        return send

    # ----------------------------------------------------- agent's speech
    def _agent_spoke(self, frame: TTSTextFrame) -> None:
        if not frame.text:
            return
        segment = self._agent_segment = self._agent_segment or _AgentSegment()
        segment.parts.append(TextPartForConcatenation(frame.text, frame.includes_inter_frame_spaces))
        # The same concatenation Pipecat's assistant aggregator uses, so the streamed text matches the
        # stored transcript; the stream carries only what is new.
        text = concatenate_aggregated_text(segment.parts)
        if text.startswith(segment.queued_text):
            delta = text[len(segment.queued_text) :]
        else:
            delta = (" " if segment.queued_text else "") + frame.text.strip()
            text = segment.queued_text + delta
        segment.queued_text = text
        if delta:
            self._send("agent_transcription", self._agent_write_sender(segment, delta, text))

    def _finish_agent_segment(self) -> None:
        segment, self._agent_segment = self._agent_segment, None
        if segment is not None:
            self._send("agent_transcription", self._agent_close_sender(segment))

    @staticmethod
    def _agent_write_sender(segment: _AgentSegment, delta: str, text: str) -> Send:
        async def send(room: rtc.Room) -> None:
            local = room.local_participant
            track_sid = _microphone_sid(local)
            if segment.writer is None:
                attributes = {ATTRIBUTE_TRANSCRIPTION_FINAL: "false"}
                attributes.update(_segment_attributes(segment.id, track_sid))
                segment.writer = await local.stream_text(topic=TOPIC_TRANSCRIPTION, attributes=attributes)
            await segment.writer.write(delta)
            await _publish_legacy(local, local.identity, track_sid, segment.id, text, final=False)

        return send

    @staticmethod
    def _agent_close_sender(segment: _AgentSegment) -> Send:
        async def send(room: rtc.Room) -> None:
            local = room.local_participant
            track_sid = _microphone_sid(local)
            if segment.writer is not None:
                attributes = {ATTRIBUTE_TRANSCRIPTION_FINAL: "true"}
                if track_sid:
                    attributes[ATTRIBUTE_TRANSCRIPTION_TRACK_ID] = track_sid
                writer, segment.writer = segment.writer, None
                await writer.aclose(attributes=attributes)
            text = segment.queued_text
            await _publish_legacy(local, local.identity, track_sid, segment.id, text, final=True)

        return send

    # ------------------------------------------------- candidate's speech
    def _candidate_spoke(self, frame: InterimTranscriptionFrame | TranscriptionFrame) -> None:
        text = frame.text.strip()
        if not text:
            return
        segment_id = self._user_segment_id = self._user_segment_id or shortuuid("SG_")
        final = isinstance(frame, TranscriptionFrame)
        if final:
            self._user_segment_id = None  # the next words open a new segment, as livekit-agents does
        self._send("candidate_transcription", self._candidate_sender(frame.user_id, segment_id, text, final))

    @staticmethod
    def _candidate_sender(user_id: str, segment_id: str, text: str, final: bool) -> Send:
        async def send(room: rtc.Room) -> None:
            candidate = _find_candidate(room, user_id)
            if candidate is None:
                raise LookupError(f"no candidate in the room for user id {user_id!r}")
            track_sid = _microphone_sid(candidate)
            attributes = {ATTRIBUTE_TRANSCRIPTION_FINAL: "true" if final else "false"}
            attributes.update(_segment_attributes(segment_id, track_sid))
            # Not delta: each interim is a whole new stream of the segment, as livekit-agents sends them.
            writer = await room.local_participant.stream_text(
                topic=TOPIC_TRANSCRIPTION, sender_identity=candidate.identity, attributes=attributes
            )
            await writer.write(text)
            await writer.aclose()
            await _publish_legacy(
                room.local_participant, candidate.identity, track_sid, segment_id, text, final=final
            )

        return send

    # -------------------------------------------------------------- sender
    def _send(self, what: str, send: Send) -> None:
        if self._room is None:
            return  # not joined yet: the state is sent by attach(), transcriptions have nobody to reach
        if self._sender is None:
            self._sender = asyncio.get_running_loop().create_task(self._drain(), name="livekit-conventions")
        try:
            self._outbox.put_nowait((what, send))
        except asyncio.QueueFull:
            self._log.warning("livekit_conventions.send_dropped", what=what, reason="queue_full")

    async def _drain(self) -> None:
        while True:
            what, send = await self._outbox.get()
            try:
                room = self._room
                if room is None or not room.isconnected():
                    continue  # the room is gone: nobody to tell
                await asyncio.wait_for(send(room), SEND_TIMEOUT_S)
            except Exception as exc:
                failure = {"error_type": type(exc).__name__, "error": str(exc)}
                self._log.warning("livekit_conventions.send_failed", what=what, **failure)
            finally:
                self._outbox.task_done()


_WATCHED = (
    BotStartedSpeakingFrame,
    BotStoppedSpeakingFrame,
    InterruptionFrame,
    EndFrame,
    CancelFrame,
    UserStartedSpeakingFrame,
    UserStoppedSpeakingFrame,
    InterimTranscriptionFrame,
    TranscriptionFrame,
)


def _segment_attributes(segment_id: str, track_sid: str | None) -> dict[str, str]:
    attributes = {ATTRIBUTE_TRANSCRIPTION_SEGMENT_ID: segment_id}
    if track_sid:
        attributes[ATTRIBUTE_TRANSCRIPTION_TRACK_ID] = track_sid
    return attributes


def _microphone_sid(participant: rtc.Participant) -> str | None:
    for publication in participant.track_publications.values():
        if publication.source == rtc.TrackSource.SOURCE_MICROPHONE:
            return publication.sid
    return None


def _find_candidate(room: rtc.Room, user_id: str) -> rtc.RemoteParticipant | None:
    """The participant a transcription belongs to. Pipecat's LiveKit transport labels audio with the
    participant's sid, but frames rebuilt on the way (our input normaliser) lose it: then the candidate
    is the one non-agent participant, the newest if a second tab replaced the first."""
    people = [
        p for p in room.remote_participants.values() if p.kind != rtc.ParticipantKind.PARTICIPANT_KIND_AGENT
    ]
    for participant in people:
        if user_id and user_id in (participant.sid, participant.identity):
            return participant
    return people[-1] if people else None


async def _publish_legacy(
    local: rtc.LocalParticipant,
    identity: str,
    track_sid: str | None,
    segment_id: str,
    text: str,
    *,
    final: bool,
) -> None:
    # The pre-text-stream transcription packet: useVoiceAssistant's agentTranscriptions reads only this.
    if not track_sid or not text:
        return
    segment = rtc.TranscriptionSegment(
        id=segment_id, text=text, start_time=0, end_time=0, language="", final=final
    )
    await local.publish_transcription(rtc.Transcription(identity, track_sid, [segment]))
