"""Data packets between participants: check, stamp with the sender, and pick the recipients.

They carry chat, RPC, text/byte streams, transcriptions and Pipecat's RTVI messages; the server does not
look inside them beyond the routing fields.
"""

from __future__ import annotations

from dataclasses import dataclass

from google.protobuf.message import DecodeError
from livekit.protocol import models

CHANNEL_KINDS: dict[str, models.DataPacket.Kind] = {
    "_reliable": models.DataPacket.Kind.RELIABLE,
    "_lossy": models.DataPacket.Kind.LOSSY,
}


class DataPacketError(ValueError):
    """A data channel message that is not a LiveKit DataPacket."""


@dataclass(frozen=True)
class Forward:
    """A packet ready to send on: its bytes and who gets it (everyone else when `destinations` is empty)."""

    payload: bytes
    destinations: list[str]


def stamp_from_sender(raw: bytes, kind: models.DataPacket.Kind, sender: models.ParticipantInfo) -> Forward:
    """Set the sender's identity and sid (clients may not claim another's) and read the destinations."""
    packet = models.DataPacket()
    try:
        packet.ParseFromString(raw)
    except DecodeError as exc:
        raise DataPacketError(f"not a DataPacket ({len(raw)} bytes)") from exc
    packet.kind = kind
    packet.participant_identity = sender.identity
    packet.participant_sid = sender.sid
    destinations = list(packet.destination_identities)
    if packet.HasField("user"):
        # Older clients only fill the deprecated UserPacket fields.
        packet.user.participant_identity = sender.identity
        packet.user.participant_sid = sender.sid
        destinations = destinations or list(packet.user.destination_identities)
    return Forward(payload=packet.SerializeToString(), destinations=destinations)
