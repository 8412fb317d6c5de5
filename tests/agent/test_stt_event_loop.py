"""Model work stays off the event loop: a spoken candidate turn (VAD, Smart Turn v3, Whisper) and the
agent's spoken reply (Piper) never block the loop for more than 100 ms, so one interview's transcription
cannot stall the audio of every other interview in the worker process."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from agent.control_plane_client import ControlPlaneClient
from agent.speech import OfflineSpeechModels
from control_plane.settings import Settings
from tests.agent.audio import espeak_pcm, silence
from tests.agent.conftest import NewSession
from tests.agent.harness import spoken_harness

MAX_LOOP_BLOCK_S = 0.1


class SlowCallbacks(logging.Handler):
    """asyncio's debug mode times every callback and task step on the event loop, and logs the ones
    longer than `slow_callback_duration` ("Executing <Task ...> took 0.978 seconds"). Collected here: each
    is a stretch during which the loop could run nothing else. Unlike a sleeping probe task, this blames
    the code that blocked, not other processes on a busy machine taking the CPU."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("Executing"):
            self.seen.append(record.getMessage()[:300])

    def __enter__(self) -> SlowCallbacks:
        loop = asyncio.get_running_loop()
        self._was_debug = loop.get_debug()
        loop.set_debug(True)
        loop.slow_callback_duration = MAX_LOOP_BLOCK_S
        logging.getLogger("asyncio").addHandler(self)
        return self

    def __exit__(self, *_exc: object) -> None:
        logging.getLogger("asyncio").removeHandler(self)
        asyncio.get_running_loop().set_debug(self._was_debug)


async def test_a_spoken_turn_and_the_spoken_reply_do_not_block_the_event_loop(
    new_session: NewSession,
    cp_client: ControlPlaneClient,
    settings: Settings,
    speech_models: OfflineSpeechModels,
    tmp_path: Path,
) -> None:
    created = await new_session()
    answer = espeak_pcm("Yes, I am ready to begin the interview.", tmp_path) + silence(3.5)
    async with spoken_harness(created, settings, cp_client, speech_models) as h:
        await h.wait_for_agent_lines(1)
        with SlowCallbacks() as slow:
            await h.candidate_speaks(answer)
            await h.wait_until_node("warm_up")
            await h.wait_for_agent_lines(2)  # the reply, synthesised by Piper
    assert [s.speaker for s in h.segments] == ["agent", "candidate", "agent"]
    assert slow.seen == []
