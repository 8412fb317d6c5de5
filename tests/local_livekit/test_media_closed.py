"""A publisher offer that arrives after the session closed its peer connection (an evicted or timed-out
client racing its own close) is a refused signal request, not an unhandled error in the server."""

from __future__ import annotations

import pytest
from aiortc import RTCPeerConnection

from local_livekit.media import PublisherTransport
from local_livekit.signaling import SignalingError


async def test_an_offer_after_close_is_refused() -> None:
    client = RTCPeerConnection()
    client.addTransceiver("audio", direction="sendonly")
    await client.setLocalDescription(await client.createOffer())
    publisher = PublisherTransport(None, on_track=lambda _track: None, on_datachannel=lambda _channel: None)
    await publisher.close()
    try:
        with pytest.raises(SignalingError, match=r"publisher offer refused: .*closed"):
            await publisher.answer(client.localDescription.sdp)
    finally:
        await client.close()
