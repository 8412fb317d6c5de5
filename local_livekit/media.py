"""WebRTC transports (aiortc) for one participant, and the audio fan-out from a publisher to its subscribers.

Each participant has two peer connections, as in LiveKit's dual-PC mode: the publisher connection (the
client offers, we answer, it carries the client's tracks and its `_reliable`/`_lossy` data channels) and
the subscriber connection (we offer, it carries the other participants' tracks to the client).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from fractions import Fraction

import aiortc.rtcrtpreceiver
import structlog
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCDataChannel,
    RTCIceCandidate,
    RTCPeerConnection,
    RTCRtpTransceiver,
    RTCSessionDescription,
)
from aiortc.exceptions import InvalidStateError
from aiortc.jitterbuffer import JitterFrame
from aiortc.mediastreams import MediaStreamError
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.sdp import SessionDescription, candidate_from_sdp
from av.frame import Frame
from av.packet import Packet

log = structlog.get_logger("local_livekit.media")

# How many 20 ms frames a slow subscriber may lag before the oldest are dropped (keeps latency bounded).
FANOUT_QUEUE_FRAMES = 10


class _PassthroughDecoder:
    """Hands each received frame on still encoded, as an av.Packet carrying its RTP timestamp."""

    def __init__(self, clock_rate: int) -> None:
        self.time_base = Fraction(1, clock_rate)

    def decode(self, encoded_frame: JitterFrame) -> list[Packet]:
        packet = Packet(encoded_frame.data)
        packet.pts = encoded_frame.timestamp
        packet.time_base = self.time_base
        return [packet]


def _passthrough_decoder(codec: RTCRtpCodecParameters) -> _PassthroughDecoder:
    return _PassthroughDecoder(codec.clockRate)


def relay_encoded_media() -> None:
    """Make aiortc's receivers yield encoded packets instead of decoded frames, for this whole process.

    An SFU only forwards: decoding every Opus frame and encoding it again for each subscriber cost about a
    tenth of a core per room and added latency. aiortc's senders take encoded packets as they are
    (`RTCRtpSender` packs an av.Packet without encoding), but aiortc has no switch for the receive side,
    so its decoder factory is replaced. Only the server process calls this.
    """
    aiortc.rtcrtpreceiver.get_decoder = _passthrough_decoder  # type: ignore[attr-defined,assignment]


class SignalingError(ValueError):
    """A client's SDP or ICE candidate could not be used."""


def new_peer_connection() -> RTCPeerConnection:
    # An empty list stops aiortc from falling back to a public STUN server; ICE stays on local addresses.
    return RTCPeerConnection(RTCConfiguration(iceServers=[]))


def _is_mdns(candidate_line: str) -> bool:
    parts = candidate_line.split()
    return len(parts) > 4 and parts[4].endswith(".local")


def drop_mdns_candidates(sdp: str) -> str:
    """Remove `.local` (mDNS) candidates: aioice cannot resolve them and would stall on them."""
    lines = sdp.splitlines()
    kept = [line for line in lines if not (line.startswith("a=candidate:") and _is_mdns(line[2:]))]
    return "\r\n".join(kept) + "\r\n"


def keep_node_ip_candidates(sdp: str, node_ip: str | None) -> str:
    """Advertise only `rtc.node_ip` candidates when configured (and present), like livekit-server."""
    if not node_ip:
        return sdp
    lines = sdp.splitlines()
    matching = [line for line in lines if line.startswith("a=candidate:") and f" {node_ip} " in line]
    if not matching:
        return sdp
    kept = [line for line in lines if not line.startswith("a=candidate:") or line in matching]
    return "\r\n".join(kept) + "\r\n"


@dataclass(frozen=True)
class OfferLayout:
    """What the publisher offer says per m-section.

    `cids` maps mid -> the track id in `a=msid:<stream> <track>`, which is the client's `cid` in
    AddTrackRequest. aiortc cannot be asked: the Rust SDK writes `a=msid:- <cid>` with an empty
    msid-semantic, and aiortc then names the remote track randomly, so the transceiver's mid is the key.
    `stopped` lists the mids the client no longer sends on (it unpublished their tracks).
    """

    cids: dict[str, str]
    stopped: list[str]


def read_offer(sdp: str) -> OfferLayout:
    try:
        description = SessionDescription.parse(sdp)
    except (ValueError, IndexError, AttributeError) as exc:
        raise SignalingError(f"unparsable SDP: {exc}") from exc
    cids: dict[str, str] = {}
    stopped: list[str] = []
    for media in description.media:
        mid = media.rtp.muxId
        if not mid or media.kind not in ("audio", "video"):
            continue
        if media.port == 0 or media.direction in ("recvonly", "inactive"):
            stopped.append(mid)
        if media.msid and len(media.msid.split()) == 2:
            cids[mid] = media.msid.split()[1]
    return OfferLayout(cids=cids, stopped=stopped)


def parse_trickle(candidate_init: str) -> RTCIceCandidate | None:
    """Parse TrickleRequest.candidateInit (JSON {candidate, sdpMid, sdpMLineIndex}); None when unusable."""
    try:
        init = json.loads(candidate_init)
    except json.JSONDecodeError as exc:
        raise SignalingError("candidateInit is not JSON") from exc
    if not isinstance(init, dict):
        raise SignalingError("candidateInit is not a JSON object")
    line = init.get("candidate")
    if not isinstance(line, str) or not line:
        return None  # end-of-candidates
    line = line.removeprefix("candidate:")
    if _is_mdns(line):
        return None
    try:
        candidate = candidate_from_sdp(line)
    except (AssertionError, ValueError, IndexError) as exc:
        raise SignalingError(f"bad ICE candidate {line!r}") from exc
    mid = init.get("sdpMid")
    index = init.get("sdpMLineIndex")
    candidate.sdpMid = mid if isinstance(mid, str) else None
    candidate.sdpMLineIndex = index if isinstance(index, int) else None
    if candidate.sdpMid is None and candidate.sdpMLineIndex is None:
        candidate.sdpMLineIndex = 0
    return candidate


class ForwardedTrack(MediaStreamTrack):
    """One subscriber's copy of a published track, fed by `TrackFanout`."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self._queue: asyncio.Queue[Frame | Packet | None] = asyncio.Queue(maxsize=FANOUT_QUEUE_FRAMES)

    def push(self, frame: Frame | Packet | None) -> None:
        if self._queue.full():
            self._queue.get_nowait()
        self._queue.put_nowait(frame)

    async def recv(self) -> Frame | Packet:
        if self.readyState != "live":
            raise MediaStreamError
        frame = await self._queue.get()
        if frame is None:
            self.stop()
            raise MediaStreamError
        return frame


class TrackFanout:
    """Reads a published track continuously and copies each frame to every subscriber's `ForwardedTrack`.

    Reading even with no subscriber matters: aiortc's remote track queue is unbounded, so an unread track
    would grow without limit and a late subscriber would hear stale audio.
    """

    def __init__(self, source: MediaStreamTrack, *, forward: bool) -> None:
        self.source = source
        self.forward = forward
        self._outputs: set[ForwardedTrack] = set()
        self._task = asyncio.create_task(self._pump(), name=f"fanout-{source.kind}")

    def subscribe(self) -> ForwardedTrack:
        output = ForwardedTrack(self.source.kind)
        self._outputs.add(output)
        return output

    def unsubscribe(self, output: ForwardedTrack) -> None:
        self._outputs.discard(output)
        output.push(None)

    async def _pump(self) -> None:
        try:
            while True:
                frame = await self.source.recv()
                if self.forward:
                    for output in self._outputs:
                        output.push(frame)
        except MediaStreamError:
            pass
        finally:
            for output in self._outputs:
                output.push(None)
            self._outputs.clear()

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self.source.stop()


class _Transport:
    """A peer connection plus the ICE candidates that arrived before its remote description."""

    def __init__(self, name: str, node_ip: str | None) -> None:
        self.name = name
        self.node_ip = node_ip
        self.pc = new_peer_connection()
        self._early_candidates: list[RTCIceCandidate] = []

    async def add_candidate(self, candidate: RTCIceCandidate) -> None:
        if self.pc.remoteDescription is None:
            self._early_candidates.append(candidate)
            return
        await self.pc.addIceCandidate(candidate)

    async def _flush_candidates(self) -> None:
        early, self._early_candidates = self._early_candidates, []
        for candidate in early:
            await self.pc.addIceCandidate(candidate)

    def local_sdp(self) -> str:
        return keep_node_ip_candidates(self.pc.localDescription.sdp, self.node_ip)

    async def close(self) -> None:
        await self.pc.close()


@dataclass(frozen=True)
class IncomingTrack:
    mid: str
    cid: str
    track: MediaStreamTrack


class PublisherTransport(_Transport):
    """The client's publisher connection: the client offers, we answer."""

    def __init__(
        self,
        node_ip: str | None,
        on_track: Callable[[IncomingTrack], None],
        on_datachannel: Callable[[RTCDataChannel], None],
    ) -> None:
        super().__init__("publisher", node_ip)
        self._cids: dict[str, str] = {}
        self._stopped: list[str] = []
        self._on_track = on_track

        @self.pc.on("track")
        def _track(track: MediaStreamTrack) -> None:
            transceiver = self._transceiver_of(track)
            mid = transceiver.mid if transceiver is not None and transceiver.mid else ""
            self._on_track(IncomingTrack(mid=mid, cid=self._cids.get(mid, track.id), track=track))

        self.pc.on("datachannel", on_datachannel)

    def _transceiver_of(self, track: MediaStreamTrack) -> RTCRtpTransceiver | None:
        for transceiver in self.pc.getTransceivers():
            if transceiver.receiver.track is track:
                return transceiver
        return None

    async def answer(self, offer_sdp: str) -> str:
        offer_sdp = drop_mdns_candidates(offer_sdp)
        layout = read_offer(offer_sdp)
        self._cids.update(layout.cids)
        self._stopped = layout.stopped
        try:
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
            await self._flush_candidates()
            await self.pc.setLocalDescription(await self.pc.createAnswer())
        except (ValueError, AssertionError, InvalidStateError) as exc:
            # InvalidStateError: an offer that raced the session's close (an evicted or timed-out client).
            raise SignalingError(f"publisher offer refused: {exc}") from exc
        return self.local_sdp()

    def stopped_mids(self) -> list[str]:
        return list(self._stopped)


@dataclass
class _Sending:
    transceiver: RTCRtpTransceiver
    output: ForwardedTrack
    fanout: TrackFanout


class SubscriberTransport(_Transport):
    """The client's subscriber connection: we offer the other participants' tracks, the client answers.

    Offers are serialised: a change made while an offer is outstanding is sent in the next offer, once
    the answer has arrived.
    """

    def __init__(self, node_ip: str | None, send_offer: Callable[[str], Awaitable[None]]) -> None:
        super().__init__("subscriber", node_ip)
        self._send_offer = send_offer
        self._sending: dict[str, _Sending] = {}
        self._awaiting_answer = False
        self._dirty = False
        self._lock = asyncio.Lock()

    @property
    def track_sids(self) -> set[str]:
        return set(self._sending)

    async def add_track(self, participant_sid: str, track_sid: str, fanout: TrackFanout) -> None:
        if track_sid in self._sending:
            return
        output = fanout.subscribe()
        transceiver = self._idle_transceiver(fanout.source.kind)
        if transceiver is None:
            transceiver = self.pc.addTransceiver(output, direction="sendonly")
        else:
            transceiver.direction = "sendonly"
            transceiver.sender.replaceTrack(output)
        # LiveKit clients read `participant_sid|track_sid` from the msid stream id to place the track.
        # aiortc has no public setter for the msid, so set the sender's ids directly.
        transceiver.sender._stream_id = f"{participant_sid}|{track_sid}"
        transceiver.sender._track_id = track_sid
        self._sending[track_sid] = _Sending(transceiver, output, fanout)
        await self.negotiate()

    async def remove_track(self, track_sid: str) -> None:
        sending = self._sending.pop(track_sid, None)
        if sending is None:
            return
        sending.fanout.unsubscribe(sending.output)
        sending.transceiver.sender.replaceTrack(None)
        sending.transceiver.direction = "inactive"
        await self.negotiate()

    def _idle_transceiver(self, kind: str) -> RTCRtpTransceiver | None:
        busy = {id(s.transceiver) for s in self._sending.values()}
        for transceiver in self.pc.getTransceivers():
            if transceiver.kind == kind and transceiver.mid is not None and id(transceiver) not in busy:
                return transceiver
        return None

    async def negotiate(self) -> None:
        async with self._lock:
            if self.pc.connectionState == "closed":
                return
            if self._awaiting_answer:
                self._dirty = True
                return
            self._awaiting_answer = True
            self._dirty = False
            await self.pc.setLocalDescription(await self.pc.createOffer())
            sdp = self.local_sdp()
        await self._send_offer(sdp)

    async def accept_answer(self, answer_sdp: str) -> None:
        if not self._awaiting_answer:
            raise SignalingError("subscriber answer without an offer")
        answer_sdp = drop_mdns_candidates(answer_sdp)
        try:
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer_sdp, type="answer"))
        except (ValueError, AssertionError, InvalidStateError) as exc:
            raise SignalingError(f"subscriber answer refused: {exc}") from exc
        await self._flush_candidates()
        self._awaiting_answer = False
        if self._dirty:
            await self.negotiate()

    async def close(self) -> None:
        for sending in self._sending.values():
            sending.fanout.unsubscribe(sending.output)
        self._sending.clear()
        await super().close()
