"""What reaches TTS is plain speech: Markdown, links, emoji, symbols, abbreviations and numerals are said
as a person would say them, by the filters create_tts gives every TTS service (agent.spoken_text)."""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pipecat.frames.frames import Frame, TTSSpeakFrame, TTSTextFrame
from pipecat.pipeline.worker import PipelineParams
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.services.tts_service import TTSService
from pipecat.tests.utils import run_test

from agent.control_plane_client import ControlPlaneClient
from agent.interview import InterviewIO, create_interviewer_llm
from agent.planner import plan_by_rules
from agent.question_bank import default_question_bank
from agent.speech import OfflineSpeechModels, create_tts
from agent.spoken_text import (
    CodeBlockFilter,
    number_words,
    ordinal_words,
    spoken_text_filters,
    spoken_text_transforms,
)
from control_plane.settings import LLMSettings, Settings
from tests.agent.audio import RATE
from tests.agent.conftest import NewSession
from tests.agent.harness import InterviewHarness
from tests.agent.llm_double import OpenAICompatibleLLMDouble, Reply, ToolCall, last_role, tool_names


async def said(text: str) -> str:
    """What a TTS service made by create_tts says for `text` (and so what the transcript records)."""
    for text_filter in spoken_text_filters():
        text = await text_filter.filter(text)
    return " ".join(text.split())


async def spoken(text: str) -> str:
    """The text that TTS service gives its voice for `text`: its filters, then its transforms."""
    text = await said(text)
    for _, transform in spoken_text_transforms():
        text = await transform(text, "sentence")
    return " ".join(text.split())


SPOKEN = [
    # emphasis and headings
    ("**Great** answer, *really*.", "Great answer, really."),
    ("__Bold__ and _italic_ words.", "Bold and italic words."),
    ("## Next question\nTell me about caching.", "Next question Tell me about caching."),
    # lists
    ("- first point\n- second point", "first point second point"),
    ("* one\n* two", "one two"),
    # inline and fenced code
    ("Use `asyncio.gather` here.", "Use asyncio dot gather here."),
    ("Like this: ```python\nprint('hi')\n``` and done.", "Like this: and done."),
    # links, bare URLs, emails
    ("Read [the guide](https://example.com/guide) first.", "Read the guide first."),
    (
        "See https://docs.python.org/3/library/asyncio.html for details.",
        "See docs dot python dot org for details.",
    ),
    ("Visit www.codevoice.dev/jobs?id=3.", "Visit codevoice dot dev."),
    ("Go to <https://example.com>.", "Go to example dot com."),
    ("Write to jane.doe@example.com.", "Write to jane dot doe at example dot com."),
    # emoji: plain, skin tone, ZWJ sequences, flags, keycaps
    ("Nice work 😊", "Nice work"),
    ("Thumbs up 👍🏽 from the team 👨‍👩‍👧.", "Thumbs up from the team."),
    ("Based in 🇬🇧 and 🇺🇸, with 🏳️‍🌈 pride.", "Based in and, with pride."),
    ("Step 1️⃣ done ✅", "Step 1 done"),
    # symbols
    ("R&D grew 15% last year.", "R and D grew 15 percent last year."),
    ("C++, C#, F# and .NET", "C plus plus, C sharp, F sharp and dot net"),
    ("We pay $120k or €90k.", "We pay 120 thousand dollars or 90 thousand euros."),
    ("3-5 years, 5+ years", "3 to 5 years, 5 plus years"),
    ("Input -> output", "Input to output"),
    ("™ Acme® ©", "Acme"),
    # abbreviations and initialisms
    ("Sr. Backend Eng. (C++/Go) II", "Senior Backend Engineer, C plus plus slash Go two"),
    ("Staff Engineer (Platform) at Acme.", "Staff Engineer, Platform at Acme."),
    ("Jr. Dev, Eng Manager, Sr Mgr.", "Junior Dev, Engineering Manager, Senior Manager."),
    ("We hire an SRE.", "We hire an S R E."),
    ("ML/AI and CI/CD on AWS", "M L slash A I and C I C D on A W S"),
    ("Our REST APIs return JSON.", "Our REST A P I's return JSON."),
    ("PostgreSQL, MySQL, GraphQL, iOS", "Postgres Q L, My S Q L, Graph Q L, i O S"),
    ("Node.js and Vue.js", "Node J S and Vue J S"),
    ("gRPC or JSON over HTTP", "g R P C or JSON over H T T P"),
    ("k8s, i18n, e.g. this, vs. that", "Kubernetes, internationalization, for example this, versus that"),
    # version numbers, multipliers, 24/7
    ("Move to v2 then v2.1.3.", "Move to version 2 then version 2 point 1 point 3."),
    ("Release 1.4.0 is out.", "Release 1 point 4 point 0 is out."),
    ("A 10x engineer, 10x faster.", "A 10 X engineer, 10 times faster."),
    ("On call 24/7.", "On call 24 7."),
    # ordinals
    ("1st, 2nd, 3rd, 22nd and 101st", "first, second, third, twenty-second and one hundred first"),
    # Roman numerals in titles (but not the pronoun I or a lone letter)
    ("Software Engineer III", "Software Engineer three"),
    ("Staff Engineer IV, Level VII", "Staff Engineer four, Level seven"),
    ("I think I can.", "I think I can."),
    # plain text and numbers are left as they are
    ("Tell me about a time you disagreed.", "Tell me about a time you disagreed."),
    ("Python 3.11 shipped in 2022 with 100000 users.", "Python 3.11 shipped in 2022 with 100000 users."),
]


@pytest.mark.parametrize(("text", "expected"), SPOKEN, ids=[t for t, _ in SPOKEN])
async def test_text_is_said_as_a_person_would_say_it(text: str, expected: str) -> None:
    assert await spoken(text) == expected


@pytest.mark.parametrize("text", ["😊", "👍🏽🎉", "**", "```", "---", " "])
async def test_nothing_speakable_becomes_empty(text: str) -> None:
    assert await spoken(text) == ""


SAID = [
    (
        "**Great** answer 😊, see https://docs.python.org/3/library/ too.",
        "Great answer, see docs.python.org too.",
    ),
    ("Sr. Backend Eng. (C++/Go) II", "Sr. Backend Eng. (C++/Go) II"),
    ("Our REST APIs & `asyncio.gather` 👍🏽", "Our REST APIs & asyncio.gather"),
]


@pytest.mark.parametrize(("text", "recorded"), SAID, ids=[t for t, _ in SAID])
async def test_the_transcript_keeps_the_words_as_written_without_markup(text: str, recorded: str) -> None:
    """The filters decide what is said (and recorded); only the voice gets the words spelled out."""
    assert await said(text) == recorded


async def test_the_question_banks_questions_are_recorded_exactly_as_written() -> None:
    """Plain questions pass the filters unchanged, so scripted transcripts read as the bank wrote them."""
    bank = default_question_bank()
    texts = [t for q in bank.questions for t in (q.text, *q.follow_up_hints)]
    assert len(texts) > 100
    assert [t for t in texts if await said(t) != t] == []


def test_numbers_in_words() -> None:
    assert [number_words(n) for n in (0, 7, 24, 100, 315, 4001)] == [
        "zero",
        "seven",
        "twenty-four",
        "one hundred",
        "three hundred fifteen",
        "four thousand one",
    ]
    assert [ordinal_words(n) for n in (1, 12, 20, 21, 40, 103)] == [
        "first",
        "twelfth",
        "twentieth",
        "twenty-first",
        "fortieth",
        "one hundred third",
    ]


async def test_a_code_block_split_over_pieces_is_dropped_until_it_closes() -> None:
    """The TTS aggregator hands a streamed reply over sentence by sentence, so a block spans pieces."""
    code = CodeBlockFilter()
    pieces = ["Here is one: ```python", "x = compute()", "print(x)", "``` That's all."]
    assert [await code.filter(p) for p in pieces] == ["Here is one:", "", "", "That's all."]
    # An interruption ends the reply, so the next one starts outside any block.
    await code.filter("Look: ```")
    await code.handle_interruption()
    assert await code.filter("A new reply.") == "A new reply."


def has_no_markup(text: str) -> bool:
    return not any(mark in text for mark in ("*", "`", "[", "](", "http", "://", "/about")) and all(
        unicodedata.category(c) != "So" and c not in "\u200d\ufe0f" for c in text
    )


def is_plain_speech(text: str) -> bool:
    return not any(
        mark in text for mark in ("*", "`", "#", "[", "](", "http", "://", "www.", "@", "_")
    ) and all(unicodedata.category(c) != "So" and c not in "\u200d\ufe0f" for c in text)


class SpokenTextCapture(FrameProcessor):
    """Records the TTSTextFrames the TTS service pushes (the text it spoke, after its filters)."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, TTSTextFrame):
            self.texts.append(frame.text)
        await self.push_frame(frame, direction)


def capture_tts_requests(tts: TTSService) -> list[str]:
    """The exact text handed to the TTS service's run_tts, through Pipecat's on_tts_request event."""
    requests: list[str] = []

    @tts.event_handler("on_tts_request")
    async def on_tts_request(service: TTSService, context_id: str, text: str) -> None:
        requests.append(text)

    return requests


async def test_every_tts_provider_gets_the_filters(
    settings: Settings, speech_models: OfflineSpeechModels
) -> None:
    tts = create_tts(settings.speech, speech_models)
    requests = capture_tts_requests(tts)
    await run_test(
        tts,
        frames_to_send=[TTSSpeakFrame("**Hi** 😊 see https://example.com/x.")],
        pipeline_params=PipelineParams(audio_out_sample_rate=RATE),
    )
    assert [r.strip() for r in requests] == ["Hi see example dot com."]
    openai = create_tts(
        dataclasses.replace(settings.speech, tts_provider="openai", openai_base_url="http://127.0.0.1:9/v1"),
        OfflineSpeechModels(),
    )
    assert [type(f).__name__ for f in openai._text_filters] == [type(f).__name__ for f in tts._text_filters]
    assert len(openai._text_transforms) == len(tts._text_transforms) == 1


MARKDOWN_GREETING = (
    "**Welcome!** 😊 I'm your interviewer for the `backend` role. "
    "The process is described at https://codevoice.example.com/about/process — see "
    "[our guide](https://example.com/guide) too. Are you ready? 👍🏽"
)
PLAIN_GREETING = [
    "Welcome!",
    "I'm your interviewer for the backend role.",
    "codevoice dot example dot com",
    "see our guide too.",
    "Are you ready?",
]


@pytest.fixture
async def markdown_llm() -> AsyncIterator[OpenAICompatibleLLMDouble]:
    def policy(request: dict[str, Any]) -> Reply:
        if last_role(request) == "user" and "record_consent" in tool_names(request):
            return Reply(tool_calls=(ToolCall("record_consent", {"consent": True}),))
        return Reply(text=MARKDOWN_GREETING)

    double = OpenAICompatibleLLMDouble(policy)
    await double.start()
    yield double
    await double.stop()


async def test_llm_markdown_urls_and_emoji_reach_tts_as_plain_speech(
    new_session: NewSession,
    cp_client: ControlPlaneClient,
    settings: Settings,
    speech_models: OfflineSpeechModels,
    markdown_llm: OpenAICompatibleLLMDouble,
) -> None:
    settings = dataclasses.replace(
        settings,
        llm=LLMSettings(
            api_key=None,
            base_url=markdown_llm.base_url,
            model=markdown_llm.model,
            timeout_s=10.0,
            context_tokens=16000,
            developer_role=True,
        ),
    )
    created = await new_session()
    tts = create_tts(settings.speech, speech_models)
    requests = capture_tts_requests(tts)
    capture = SpokenTextCapture()
    harness = InterviewHarness(
        session=created.session,
        plan=plan_by_rules(created.session, default_question_bank()),
        settings=settings,
        client=cp_client,
        llm_mode=True,
        llm=create_interviewer_llm(settings),
        io=InterviewIO(tts=tts, transport_output=capture),
    )
    async with harness as h:
        await h.wait_for_agent_lines(1)
        await h.candidate_says("Yes, I'm ready.")
        await h.wait_for_agent_lines(2)
    said = " ".join(" ".join(requests).split())
    assert requests, "nothing reached the TTS service"
    assert all(is_plain_speech(r) for r in requests), requests
    for phrase in PLAIN_GREETING:
        assert phrase in said, (phrase, said)
    # What the TTS service reports it said (TTSTextFrame), and so the transcript, carries no markup either.
    assert capture.texts
    assert all(has_no_markup(t) for t in capture.texts), capture.texts
    assert all(has_no_markup(line) for line in h.agent_lines), h.agent_lines
    assert "codevoice.example.com" in h.agent_lines[0]


async def test_a_typed_role_title_is_spoken_sensibly_in_the_scripted_greeting(
    new_session: NewSession,
    cp_client: ControlPlaneClient,
    settings: Settings,
    speech_models: OfflineSpeechModels,
) -> None:
    created = await new_session(role="Sr. Backend Eng. (C++/Go)")
    tts = create_tts(settings.speech, speech_models)
    requests = capture_tts_requests(tts)
    harness = InterviewHarness(
        session=created.session,
        plan=plan_by_rules(created.session, default_question_bank()),
        settings=settings,
        client=cp_client,
        io=InterviewIO(tts=tts),
    )
    async with harness as h:
        await h.wait_for_agent_lines(1)
    said = " ".join(" ".join(requests).split())
    # Pipecat's sentence aggregator (NLTK) may end a sentence at "Eng." before "(", so the title can
    # reach TTS in two pieces; each piece is still said in words.
    assert re.search(r"for the Senior Backend Engineer[.,] C plus plus slash Go role\.", said), said
    assert not any(mark in said for mark in ("Sr.", "Eng.", "++", "/", "("))
    # The transcript keeps the title as the user typed it.
    assert "for the Sr. Backend Eng. (C++/Go) role." in h.agent_lines[0], h.agent_lines
