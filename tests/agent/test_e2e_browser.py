"""The interviewer through LiveKit's own client conventions, read by livekit-client in real Chromium.

The stack of test_e2e_webrtc.py (real livekit-server, the worker, the control plane; tests/agent/e2e_stack.py)
with the candidate played by tests/browser/candidate.html: it joins with the control plane's token, reads
the agent's `lk.agent.state` attribute and the `lk.transcription` text streams exactly as LiveKit's React
hooks do (ParticipantAttributesChanged, `registerTextStreamHandler`), answers the greeting with espeak
speech from a WebAudio microphone, and leaves after the agent's reply.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.agent.audio import espeak_pcm, silence, word_error_rate
from tests.agent.conftest import NewSession
from tests.agent.e2e_stack import InterviewStack, interview_stack, write_wav
from tests.support.netns import PYTHON

pytestmark = [pytest.mark.netns, pytest.mark.browser, pytest.mark.slow]

BROWSER_DIR = Path(__file__).resolve().parents[1] / "browser"
BUNDLE = BROWSER_DIR / "node_modules" / "livekit-client" / "dist" / "livekit-client.umd.js"
DRIVER = Path(__file__).parent / "clients" / "browser_candidate.py"
ANSWER = "Yes, I am ready to begin the interview."


@contextlib.contextmanager
def serve_page(stack: InterviewStack) -> Iterator[str]:
    """tests/browser over loopback inside the namespace (livekit-client comes from node_modules)."""
    port = random.randrange(32000, 32700)
    server = stack.lk.popen(
        [PYTHON, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(BROWSER_DIR)]
    )
    stack.lk.wait_for_port(port)
    try:
        yield f"http://127.0.0.1:{port}/candidate.html"
    finally:
        server.terminate()


def in_order(states: list[str], *sequence: str) -> bool:
    """`sequence` occurs in `states` in this order, other states allowed between."""
    remaining = iter(states)
    return all(wanted in remaining for wanted in sequence)


def final(stream: dict[str, Any]) -> bool:
    return bool(stream["attributes"]["lk.transcription_final"] == "true")


async def test_browser_reads_agent_state_and_transcriptions_as_livekit_hooks_do(
    new_session: NewSession, client: AsyncTestClient[Litestar], tmp_path: Path
) -> None:
    if not BUNDLE.exists():
        pytest.fail(f"{BUNDLE} missing: run `npm ci --prefix tests/browser`")
    if shutil.which("chromium") is None:
        pytest.fail("this test needs Debian's chromium")
    created = await new_session(duration_minutes=20)
    session_id = created.session.session_id
    response = await client.post(
        "/livekit/token", json={"session_id": str(session_id)}, headers=created.owner_headers
    )
    assert response.status_code == 201, response.text
    answer_wav = write_wav(
        tmp_path / "answer.wav", silence(0.3) + espeak_pcm(ANSWER, tmp_path) + silence(4.0)
    )

    async with interview_stack(tmp_path, client) as stack:
        with serve_page(stack) as page:
            browser = stack.lk.popen_python(
                DRIVER,
                "--page",
                page,
                "--url",
                stack.lk.url,
                "--token",
                response.json()["participant_token"],
                "--answer-wav",
                str(answer_wav),
            )
            outcome = await asyncio.to_thread(stack.lk.wait, browser, 420)
        result = outcome.check().json
        assert result["ok"], f"{result}\n{outcome.stderr[-6000:]}\nworker log:\n{stack.log_tail()}"
        transcript = await stack.wait_for_candidate_turn(session_id, created.owner_headers, timeout=30)

    me, agent = result["identity"], result["agent_identity"]
    states = [s["state"] for s in result["states"]]
    print(f"agent states: {result['states']}")
    for stream in result["streams"]:
        print(f"lk.transcription from {stream['identity']}: {stream['attributes']} {stream['text']!r}")
    # What useVoiceAssistant().state / useAgent().state go through in one question and answer.
    assert states[0] in ("initializing", "listening"), states
    assert in_order(states, "speaking", "listening", "thinking", "speaking"), states
    assert set(states) <= {"initializing", "listening", "thinking", "speaking"}, states

    streams = result["streams"]
    assert all(s.get("done") for s in streams), streams
    agent_streams = [s for s in streams if s["identity"] == agent]
    candidate_streams = [s for s in streams if s["identity"] == me]
    assert len(agent_streams) + len(candidate_streams) == len(streams), streams

    # The greeting: one stream from the agent, opened interim and closed final, with the agent's track.
    greeting = agent_streams[0]
    assert greeting["header"]["lk.transcription_final"] == "false"
    assert final(greeting)
    assert greeting["attributes"]["lk.transcribed_track_id"] == result["agent_track_sid"]
    assert greeting["attributes"]["lk.segment_id"].startswith("SG_")
    stored_agent = [str(s["text"]) for s in transcript if s["speaker"] == "agent"]
    assert " ".join(greeting["text"].split()) == " ".join(stored_agent[0].split())
    assert len({s["attributes"]["lk.segment_id"] for s in agent_streams}) == len(agent_streams)

    # The candidate's words: sent by the agent on the candidate's behalf (so useTranscriptions attributes
    # them to the candidate), about the candidate's own microphone track; interims share the final's id.
    finals = [s for s in candidate_streams if final(s)]
    assert finals, candidate_streams
    for stream in candidate_streams:
        assert stream["attributes"]["lk.transcribed_track_id"] == result["mic_track_sid"]
    final_ids = {s["attributes"]["lk.segment_id"] for s in finals}
    assert len(final_ids) == len(finals)
    assert {s["attributes"]["lk.segment_id"] for s in candidate_streams} <= final_ids
    heard = " ".join(s["text"] for s in finals)
    assert word_error_rate(ANSWER, heard) <= 0.4, heard
    stored_candidate = next(str(s["text"]) for s in transcript if s["speaker"] == "candidate")
    assert " ".join(heard.split()) == " ".join(stored_candidate.split())
