"""A livekit-agents worker for the dispatch tests (explicit dispatch by AGENT_NAME).

It runs inside the test namespace and registers with the real livekit-server at LIVEKIT_URL. Each job writes
what it was given (job id, dispatch id, agent name, metadata, room, its participant identity and kind) to
RECORD_DIR/<job id>.json. When the job's metadata is a JSON object with "tone_hz" (or TONE_HZ is set), the job
then joins its room and plays that tone for TONE_SECONDS (20), so a listener can check that the agent's audio
reaches it; otherwise it ends without joining.

Run as `python recording_agent.py start`; the `__main__` guard matters because jobs start in forkserver
processes that import this file again.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
from livekit import rtc
from livekit.agents import AgentServer, AutoSubscribe, JobContext, cli

SAMPLE_RATE = 48000
FRAME_SAMPLES = 480  # 10 ms

# Always available (an infinite load threshold), one warm process, generous start-up time on a busy machine.
server = AgentServer(
    port=0,
    num_idle_processes=1,
    load_threshold=math.inf,
    initialize_process_timeout=60,
    shutdown_process_timeout=5,
    drain_timeout=5,
)


async def record_and_maybe_play(ctx: JobContext) -> None:
    record = {
        "job_id": ctx.job.id,
        "dispatch_id": ctx.job.dispatch_id,
        "agent_name": ctx.job.agent_name,
        "metadata": ctx.job.metadata,
        "room": ctx.job.room.name,
        "identity": ctx.token_claims().identity,
        "kind": ctx.token_claims().kind,
    }
    out = Path(os.environ["RECORD_DIR"])
    partial = out / f"{ctx.job.id}.partial"
    partial.write_text(json.dumps(record))
    partial.rename(out / f"{ctx.job.id}.json")

    tone_hz = float(os.environ.get("TONE_HZ", "0"))
    try:
        requested = json.loads(ctx.job.metadata or "null")
    except ValueError:
        requested = None
    if isinstance(requested, dict) and "tone_hz" in requested:
        tone_hz = float(requested["tone_hz"])
    if not tone_hz:
        return
    await ctx.connect(auto_subscribe=AutoSubscribe.SUBSCRIBE_NONE)
    source = rtc.AudioSource(SAMPLE_RATE, 1, queue_size_ms=20)
    track = rtc.LocalAudioTrack.create_audio_track("agent-tone", source)
    options = rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
    await ctx.room.local_participant.publish_track(track, options)
    seconds = float(os.environ.get("TONE_SECONDS", "20"))
    for index in range(int(seconds * SAMPLE_RATE / FRAME_SAMPLES)):
        frame = rtc.AudioFrame.create(SAMPLE_RATE, 1, FRAME_SAMPLES)
        t = (index * FRAME_SAMPLES + np.arange(FRAME_SAMPLES)) / SAMPLE_RATE
        samples = np.frombuffer(frame.data, dtype=np.int16)
        samples[:] = (0.5 * 32767 * np.sin(2 * math.pi * tone_hz * t)).astype(np.int16)
        await source.capture_frame(frame)


server.rtc_session(record_and_maybe_play, agent_name=os.environ.get("AGENT_NAME", "recording-agent"))

if __name__ == "__main__":
    cli.run_app(server)
