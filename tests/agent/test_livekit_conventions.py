"""agent.livekit_conventions against a recording stand-in for rtc.Room: which frames move `lk.agent.state`,
what goes on `lk.transcription` (attributes, sender, segment ids, deltas), once per frame although the
observer sees each frame at several processors, and sends that fail or find no room never reach the
pipeline. The same module runs against real livekit-server and livekit-client in test_e2e_browser.py."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, cast

from livekit import rtc
from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    BotStoppedSpeakingFrame,
    Frame,
    InterimTranscriptionFrame,
    InterruptionFrame,
    TranscriptionFrame,
    TTSTextFrame,
    UserStartedSpeakingFrame,
    UserStoppedSpeakingFrame,
)
from pipecat.observers.base_observer import FramePushed
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from structlog.testing import capture_logs

from agent.livekit_conventions import LiveKitConventions

DOWN, UP = FrameDirection.DOWNSTREAM, FrameDirection.UPSTREAM


@dataclass
class Publication:
    sid: str
    source: int = rtc.TrackSource.SOURCE_MICROPHONE


@dataclass
class Person:
    identity: str
    sid: str
    track_publications: dict[str, Publication]
    kind: int = rtc.ParticipantKind.PARTICIPANT_KIND_STANDARD


@dataclass
class Stream:
    topic: str
    sender_identity: str | None
    attributes: dict[str, str]
    chunks: list[str] = field(default_factory=list)
    trailer: dict[str, str] | None = None
    closed: bool = False

    async def write(self, text: str) -> None:
        self.chunks.append(text)

    async def aclose(self, *, attributes: dict[str, str] | None = None) -> None:
        self.closed, self.trailer = True, attributes


class LocalStandIn:
    identity = "codevoice-interviewer-AJ_1"
    track_publications = {"TR_agent": Publication("TR_agent")}

    def __init__(self) -> None:
        self.attributes: list[dict[str, str]] = []
        self.streams: list[Stream] = []
        self.legacy: list[rtc.Transcription] = []
        self.fail_next = False

    async def set_attributes(self, attributes: dict[str, str]) -> None:
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("signal connection lost")
        self.attributes.append(attributes)

    async def stream_text(
        self, *, topic: str, attributes: dict[str, str], sender_identity: str | None = None
    ) -> Stream:
        self.streams.append(Stream(topic, sender_identity, attributes))
        return self.streams[-1]

    async def publish_transcription(self, transcription: rtc.Transcription) -> None:
        self.legacy.append(transcription)


class RoomStandIn:
    def __init__(self) -> None:
        self.local_participant = LocalStandIn()
        self.remote_participants = {
            "user-1": Person("user-1", "PA_cand", {"TR_mic": Publication("TR_mic")}),
            "codevoice-other": Person(
                "codevoice-other", "PA_bot", {}, rtc.ParticipantKind.PARTICIPANT_KIND_AGENT
            ),
        }
        self.connected = True

    def isconnected(self) -> bool:
        return self.connected


class Harness:
    """The observer between a few stand-in processors, fed as a pipeline would (each frame at each hop)."""

    def __init__(self) -> None:
        self.stt, self.tts, self.output, self.assistant = (FrameProcessor(name=n) for n in "abcd")
        self.conventions = LiveKitConventions(spoken_at=self.output)
        self.room = RoomStandIn()
        self.local = self.room.local_participant

    async def push(
        self, frame: Frame, *hops: tuple[FrameProcessor, FrameProcessor], direction: Any = DOWN
    ) -> None:
        for source, destination in hops or ((self.stt, self.tts), (self.tts, self.output)):
            await self.conventions.on_push_frame(FramePushed(source, destination, frame, direction, 0))

    async def bot_speaks(self, *words: str) -> None:
        started = BotStartedSpeakingFrame()
        await self.push(started, (self.output, self.assistant))
        await self.push(BotStartedSpeakingFrame(), (self.output, self.tts), direction=UP)
        for word in words:
            spoken = TTSTextFrame(word, aggregated_by="word")
            await self.push(spoken, (self.tts, self.output))  # ahead of its audio: not yet spoken
            await self.push(spoken, (self.output, self.assistant))
        await self.push(BotStoppedSpeakingFrame(), (self.output, self.assistant))

    def join(self) -> None:
        self.conventions.attach(cast("rtc.Room", self.room))

    async def settle(self) -> None:
        await asyncio.sleep(0)
        await self.conventions.aclose(2.0)

    @property
    def states(self) -> list[str]:
        return [a["lk.agent.state"] for a in self.local.attributes]


async def test_state_follows_the_pipeline_and_each_frame_counts_once() -> None:
    h = Harness()
    h.join()
    await h.conventions.on_pipeline_started()
    await h.bot_speaks("Hello.")
    await h.push(UserStartedSpeakingFrame())
    stopped = UserStoppedSpeakingFrame()
    await h.push(stopped)
    await h.push(stopped, (h.tts, h.output), direction=UP)
    await h.bot_speaks("Next", "question.")
    await h.settle()
    assert h.states == [
        "initializing",
        "listening",
        "speaking",
        "listening",
        "thinking",
        "speaking",
        "listening",
    ]


async def test_state_before_the_join_is_published_at_the_join() -> None:
    h = Harness()
    await h.conventions.on_pipeline_started()
    h.join()
    await h.settle()
    assert h.states == ["listening"]


async def test_agent_speech_is_one_delta_stream_per_turn_closed_final() -> None:
    h = Harness()
    h.join()
    await h.bot_speaks("Hello,", "I am", "your interviewer.")
    await h.bot_speaks("Shall we start?")
    await h.settle()
    first, second = h.local.streams
    assert first.topic == "lk.transcription"
    assert first.sender_identity is None  # the agent itself
    assert first.attributes["lk.transcription_final"] == "false"
    assert first.attributes["lk.transcribed_track_id"] == "TR_agent"
    assert first.attributes["lk.segment_id"].startswith("SG_")
    assert "".join(first.chunks) == "Hello, I am your interviewer."
    assert first.closed
    assert first.trailer == {"lk.transcription_final": "true", "lk.transcribed_track_id": "TR_agent"}
    assert second.attributes["lk.segment_id"] != first.attributes["lk.segment_id"]
    assert "".join(second.chunks) == "Shall we start?"
    finals = [t for t in h.local.legacy if t.segments[0].final]
    assert [(t.participant_identity, t.track_sid, t.segments[0].text) for t in finals] == [
        (LocalStandIn.identity, "TR_agent", "Hello, I am your interviewer."),
        (LocalStandIn.identity, "TR_agent", "Shall we start?"),
    ]


async def test_an_interruption_closes_the_agent_segment() -> None:
    h = Harness()
    h.join()
    await h.push(BotStartedSpeakingFrame(), (h.output, h.assistant))
    await h.push(TTSTextFrame("Tell me", aggregated_by="word"), (h.output, h.assistant))
    interruption = InterruptionFrame()
    await h.push(interruption)
    await h.push(interruption, (h.output, h.assistant))
    await h.settle()
    (stream,) = h.local.streams
    assert stream.closed
    assert stream.trailer is not None
    assert stream.trailer["lk.transcription_final"] == "true"


async def test_candidate_speech_is_sent_on_their_behalf_interims_and_final_sharing_a_segment() -> None:
    h = Harness()
    h.join()
    # Our input normaliser drops Pipecat's user id: the one non-agent participant is the candidate.
    for text in ("I am", "I am ready"):
        interim = InterimTranscriptionFrame(text=text, user_id="", timestamp="")
        await h.push(interim)
    await h.push(TranscriptionFrame(text="I am ready.", user_id="", timestamp=""))
    await h.push(TranscriptionFrame(text="Let's go.", user_id="PA_cand", timestamp=""))
    await h.settle()
    streams = h.local.streams
    assert [s.sender_identity for s in streams] == ["user-1"] * 4
    assert [s.attributes["lk.transcription_final"] for s in streams] == ["false", "false", "true", "true"]
    assert {s.attributes["lk.transcribed_track_id"] for s in streams} == {"TR_mic"}
    assert len({s.attributes["lk.segment_id"] for s in streams[:3]}) == 1
    assert streams[3].attributes["lk.segment_id"] != streams[0].attributes["lk.segment_id"]
    assert ["".join(s.chunks) for s in streams] == ["I am", "I am ready", "I am ready.", "Let's go."]
    assert all(s.closed and s.trailer is None for s in streams)
    assert [t.participant_identity for t in h.local.legacy] == ["user-1"] * 4


async def test_failed_sends_are_logged_and_skipped_and_a_closed_room_gets_nothing() -> None:
    h = Harness()
    h.local.fail_next = True
    with capture_logs() as logs:
        h.join()
        await h.conventions.on_pipeline_started()
        await h.settle()
    assert h.states == ["listening"]
    assert [(e["event"], e["what"], e["error_type"]) for e in logs if e["log_level"] == "warning"] == [
        ("livekit_conventions.send_failed", "agent_state", "RuntimeError")
    ]
    h.room.connected = False
    await h.bot_speaks("Goodbye.")
    await h.settle()
    assert h.states == ["listening"]
    assert h.local.streams == []


async def test_nothing_is_sent_before_the_join() -> None:
    h = Harness()
    await h.push(TranscriptionFrame(text="Hello?", user_id="", timestamp=""))
    await h.bot_speaks("Welcome.")
    await h.settle()
    assert h.local.streams == []
    assert h.conventions.state == "listening"
