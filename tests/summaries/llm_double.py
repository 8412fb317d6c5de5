"""OpenAICompatibleLLMDouble: a stand-in for a paid LLM at the protocol boundary.

An aiohttp server on loopback that speaks OpenAI's `POST /v1/chat/completions`. It answers the way
LangChain's `with_structured_output` asks: a forced tool call when the request has `tools`, JSON content
when it has a `json_schema` response format. Tests script its replies (a structured document, raw text
such as invalid JSON, an HTTP error, a delay) and read back the requests it received.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import inspect
import itertools
import json
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass(frozen=True)
class ChatRequest:
    body: dict[str, Any]

    @property
    def schema_name(self) -> str | None:
        tools = self.body.get("tools") or []
        if tools:
            return str(tools[0]["function"]["name"])
        response_format = self.body.get("response_format") or {}
        if response_format.get("type") == "json_schema":
            return str(response_format["json_schema"]["name"])
        return None

    @property
    def wants_tool_call(self) -> bool:
        return bool(self.body.get("tools"))

    @property
    def text(self) -> str:
        parts: list[str] = []
        for message in self.body.get("messages", []):
            content = message.get("content")
            if isinstance(content, str):
                parts.append(content)
            elif isinstance(content, list):
                parts.extend(str(block.get("text", "")) for block in content if isinstance(block, dict))
        return "\n".join(parts)


@dataclass(frozen=True)
class Structured:
    """A well-formed structured answer."""

    document: dict[str, Any]
    delay_s: float = 0.0


@dataclass(frozen=True)
class RawContent:
    """Text returned where the structured document belongs (content or tool arguments), e.g. bad JSON."""

    text: str
    delay_s: float = 0.0


@dataclass(frozen=True)
class HTTPFailure:
    status: int = 500
    message: str = "the LLM double failed on purpose"
    delay_s: float = 0.0


Reply = Structured | RawContent | HTTPFailure
Responder = Callable[[ChatRequest], Reply | Awaitable[Reply]]


@dataclass
class OpenAICompatibleLLMDouble:
    responder: Responder
    requests: list[ChatRequest] = field(default_factory=list)
    _runner: web.AppRunner | None = None
    _port: int = 0
    _ids: itertools.count[int] = field(default_factory=itertools.count)
    arrived: asyncio.Condition = field(default_factory=asyncio.Condition)
    # Set on stop, so slow replies still in flight end at once instead of holding up the shutdown.
    _stopping: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}/v1"

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat_completions)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self._port = server.sockets[0].getsockname()[1]
        return self.base_url

    async def stop(self) -> None:
        self._stopping.set()
        if self._runner is not None:
            await self._runner.cleanup()

    async def wait_for_requests(self, count: int, timeout_s: float = 120.0) -> None:
        async with self.arrived:
            await asyncio.wait_for(self.arrived.wait_for(lambda: len(self.requests) >= count), timeout_s)

    def requests_for(self, marker: str) -> list[ChatRequest]:
        return [r for r in self.requests if marker in r.text]

    async def _chat_completions(self, http_request: web.Request) -> web.StreamResponse:
        request = ChatRequest(body=await http_request.json())
        async with self.arrived:
            self.requests.append(request)
            self.arrived.notify_all()
        reply = self.responder(request)
        if inspect.isawaitable(reply):
            reply = await reply
        if reply.delay_s:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), reply.delay_s)
        if isinstance(reply, HTTPFailure):
            return web.json_response(
                {"error": {"message": reply.message, "type": "server_error", "code": None}},
                status=reply.status,
            )
        text = json.dumps(reply.document) if isinstance(reply, Structured) else reply.text
        return web.json_response(self._completion(request, text))

    def _completion(self, request: ChatRequest, text: str) -> dict[str, Any]:
        number = next(self._ids)
        message: dict[str, Any] = {"role": "assistant", "content": text, "refusal": None}
        finish_reason = "stop"
        if request.wants_tool_call:
            message["content"] = None
            message["tool_calls"] = [
                {
                    "id": f"call_double_{number}",
                    "type": "function",
                    "function": {"name": request.schema_name, "arguments": text},
                }
            ]
            finish_reason = "tool_calls"
        return {
            "id": f"chatcmpl-double-{number}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": request.body.get("model", "double"),
            "choices": [{"index": 0, "message": message, "finish_reason": finish_reason, "logprobs": None}],
            "usage": {
                "prompt_tokens": len(request.text) // 4,
                "completion_tokens": len(text) // 4,
                "total_tokens": 0,
            },
        }


# ---- answers built from the request, so a double can serve any transcript ----------------------------

_CANDIDATE_LINE = re.compile(r"^\[(\d+)\] candidate: (.+)$", re.MULTILINE)
_NOTE_LINE = re.compile(r'^\[(\d+)\] \((.+?)\) .+ — quote: "(.+)"$', re.MULTILINE)
_COMPETENCY_LINE = re.compile(r"^- (.+)$", re.MULTILINE)


def candidate_lines(request: ChatRequest) -> list[tuple[int, str]]:
    return [(int(seq), text) for seq, text in _CANDIDATE_LINE.findall(request.text)]


def requested_competencies(request: ChatRequest) -> list[str]:
    instructions = request.text.split("using these exact names:", 1)
    if len(instructions) < 2:
        return []
    block = instructions[1].split("For each score", 1)[0]
    return _COMPETENCY_LINE.findall(block)


def first_words(text: str, count: int = 6) -> str:
    return " ".join(text.split()[:count])


def evidence_pool(request: ChatRequest) -> list[tuple[int, str]]:
    """Quotes the model could honestly use: candidate lines, or quotes carried in notes."""
    lines = [(seq, first_words(text)) for seq, text in candidate_lines(request)]
    notes = [(int(seq), quote) for seq, _, quote in _NOTE_LINE.findall(request.text)]
    return lines or notes


def honest_scorecard(request: ChatRequest, *, score: int = 4, recommendation: str = "yes") -> dict[str, Any]:
    pool = evidence_pool(request) or [(0, "nothing")]
    competencies = requested_competencies(request)
    return {
        "recommendation": recommendation,
        "competencies": [
            {
                "competency": name,
                "score": score,
                "evidence": {"segment": pool[i % len(pool)][0], "quote": pool[i % len(pool)][1]},
                "rationale": f"The candidate showed {name}.",
            }
            for i, name in enumerate(competencies)
        ],
        "strengths": ["Clear explanations"],
        "areas_to_improve": ["More detail on trade-offs"],
        "summary": "A solid interview with clear, concrete answers.",
    }


def honest_notes(request: ChatRequest) -> dict[str, Any]:
    return {
        "observations": [
            {"competency": "communication", "note": "Explains clearly.", "segment": seq, "quote": quote}
            for seq, quote in evidence_pool(request)[:12]
        ]
    }


def honest_answer(request: ChatRequest) -> Reply:
    """What a well-behaved model would answer: notes for a notes request, else a scorecard."""
    if request.schema_name == "TranscriptNotes":
        return Structured(honest_notes(request))
    return Structured(honest_scorecard(request))


def slowed(reply: Reply, delay_s: float) -> Reply:
    return dataclasses.replace(reply, delay_s=delay_s)
