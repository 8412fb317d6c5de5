"""Pipecat's OpenAI LLM service, fitted to whichever OpenAI-compatible server the settings name."""

from __future__ import annotations

from typing import Any

from openai import AsyncOpenAI
from pipecat.services.openai.llm import OpenAILLMService


class InterviewerLLMService(OpenAILLMService):  # type: ignore[misc]
    """Bounds every request by the configured timeout (the OpenAI client's own default is ten minutes,
    far too long for a candidate waiting on a reply), and sends the flow's "developer" messages only to
    servers that understand that role."""

    def __init__(self, *, timeout_s: float, developer_role: bool, **kwargs: Any) -> None:
        # create_client runs inside the parent's __init__, so the timeout must be known first.
        self._request_timeout_s = timeout_s
        super().__init__(**kwargs)
        self.supports_developer_role = developer_role

    def create_client(self, *args: Any, **kwargs: Any) -> AsyncOpenAI:
        client: AsyncOpenAI = super().create_client(*args, **kwargs)  # type: ignore[no-untyped-call]
        return client.with_options(timeout=self._request_timeout_s)
