"""OpenAICompatibleLLMDouble: an OpenAI-compatible chat-completions server on loopback (aiohttp).

It stands in for a paid cloud LLM at the protocol boundary: it accepts the real requests Pipecat's
OpenAILLMService sends (streaming, with tools) and answers with streamed SSE chunks, text or tool calls,
as a test-supplied policy decides. Every request is kept for assertions.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass(frozen=True)
class ToolCall:
    name: str
    arguments: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Reply:
    text: str = ""
    tool_calls: tuple[ToolCall, ...] = ()


Policy = Callable[[dict[str, Any]], Reply]


def tool_names(request: dict[str, Any]) -> list[str]:
    return [tool["function"]["name"] for tool in request.get("tools") or []]


def last_role(request: dict[str, Any]) -> str:
    messages = request.get("messages") or []
    return str(messages[-1].get("role")) if messages else ""


def function_result(request: dict[str, Any]) -> Any:
    """The result of the function call the newest message reports, or None when it reports none.

    Pipecat answers a tool call at once with a "running" tool message and sends the handler's result as
    a later message (role developer, or user for servers without that role) of type async_tool."""
    messages = request.get("messages") or []
    if not messages or not isinstance(messages[-1].get("content"), str):
        return None
    try:
        report = json.loads(messages[-1]["content"])
    except ValueError:
        return None
    if (
        not isinstance(report, dict)
        or report.get("type") != "async_tool"
        or report.get("status") != "finished"
    ):
        return None
    result = report.get("result")
    return json.loads(result) if isinstance(result, str) else result


class OpenAICompatibleLLMDouble:
    def __init__(self, policy: Policy, *, model: str = "double-model") -> None:
        self.policy = policy
        self.model = model
        self.requests: list[dict[str, Any]] = []
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat_completions)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}/v1"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _chat_completions(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append(body)
        reply = self.policy(body)
        if not body.get("stream"):
            return web.json_response(self._whole(reply))
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        for chunk in self._chunks(reply):
            await response.write(f"data: {json.dumps(chunk)}\n\n".encode())
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response

    def _envelope(self, delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
        return {
            "id": "chatcmpl-double",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }

    def _chunks(self, reply: Reply) -> list[dict[str, Any]]:
        chunks = [self._envelope({"role": "assistant", "content": ""}, None)]
        # Text streams word by word, like a real model.
        words = reply.text.split(" ") if reply.text else []
        for i, word in enumerate(words):
            chunks.append(self._envelope({"content": word if i == 0 else f" {word}"}, None))
        for index, call in enumerate(reply.tool_calls):
            call_id = f"call_{next(self._ids)}"
            arguments = json.dumps(call.arguments)
            chunks.append(
                self._envelope(
                    {
                        "tool_calls": [
                            {
                                "index": index,
                                "id": call_id,
                                "type": "function",
                                "function": {"name": call.name, "arguments": ""},
                            }
                        ]
                    },
                    None,
                )
            )
            half = len(arguments) // 2
            for part in (arguments[:half], arguments[half:]):
                chunks.append(
                    self._envelope({"tool_calls": [{"index": index, "function": {"arguments": part}}]}, None)
                )
        chunks.append(self._envelope({}, "tool_calls" if reply.tool_calls else "stop"))
        return chunks

    def _whole(self, reply: Reply) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": reply.text or None}
        if reply.tool_calls:
            message["tool_calls"] = [
                {
                    "id": f"call_{next(self._ids)}",
                    "type": "function",
                    "function": {"name": c.name, "arguments": json.dumps(c.arguments)},
                }
                for c in reply.tool_calls
            ]
        return {
            "id": "chatcmpl-double",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self.model,
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        }
