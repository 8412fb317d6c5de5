"""OpenAISpeechDouble: an OpenAI-compatible speech server (transcriptions and speech) on loopback.

It stands in for a paid cloud speech API at the protocol boundary, answering the real requests that
Pipecat's OpenAISTTService and OpenAITTSService send, at once: a prepared transcript for every audio
upload, and a short tone (24 kHz 16-bit mono PCM, as OpenAI's `pcm` format is) for every text. Requests
are kept for assertions. The WebRTC benchmark runs it as a process inside its network namespace:

    python -m tests.support.openai_speech_double --port 8790 --text "An answer." --tone-ms 300
"""

from __future__ import annotations

import argparse
import asyncio
import io
import math
import wave
from array import array
from dataclasses import dataclass

from aiohttp import web

PCM_RATE = 24000  # what OpenAI's speech API returns for response_format=pcm


def tone(duration_ms: int, frequency_hz: float = 440.0, amplitude: int = 8000) -> bytes:
    samples = PCM_RATE * duration_ms // 1000
    return array(
        "h", (int(amplitude * math.sin(2 * math.pi * frequency_hz * n / PCM_RATE)) for n in range(samples))
    ).tobytes()


@dataclass(frozen=True)
class Transcription:
    model: str
    audio_seconds: float


@dataclass(frozen=True)
class Speech:
    model: str
    voice: str
    text: str


class OpenAISpeechDouble:
    def __init__(self, *, text: str = "I would add an index.", tone_ms: int = 300) -> None:
        self.text = text
        self.audio = tone(tone_ms)
        self.transcriptions: list[Transcription] = []
        self.speeches: list[Speech] = []
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    def app(self) -> web.Application:
        app = web.Application(client_max_size=32 * 2**20)
        app.router.add_post("/v1/audio/transcriptions", self._transcriptions)
        app.router.add_post("/v1/audio/speech", self._speech)
        return app

    async def start(self, port: int = 0) -> None:
        self._runner = web.AppRunner(self.app())
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        bound = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{bound}/v1"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _transcriptions(self, request: web.Request) -> web.Response:
        form = await request.post()
        upload = form.get("file")
        if not isinstance(upload, web.FileField):
            return web.json_response({"error": {"message": "file is required"}}, status=400)
        with wave.open(io.BytesIO(upload.file.read()), "rb") as wav:
            seconds = wav.getnframes() / wav.getframerate()
        self.transcriptions.append(Transcription(model=str(form.get("model", "")), audio_seconds=seconds))
        return web.json_response({"text": self.text})

    async def _speech(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        if body.get("response_format") != "pcm":
            return web.json_response({"error": {"message": "only pcm is supported"}}, status=400)
        self.speeches.append(Speech(model=body["model"], voice=body["voice"], text=body["input"]))
        return web.Response(body=self.audio, content_type="application/octet-stream")


async def serve_forever(port: int, text: str, tone_ms: int) -> None:
    double = OpenAISpeechDouble(text=text, tone_ms=tone_ms)
    await double.start(port)
    print(f"speech double on {double.base_url}", flush=True)
    await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description="OpenAI-compatible speech double (tests and benchmarks)")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--text", default="I would add an index.")
    parser.add_argument("--tone-ms", type=int, default=300)
    args = parser.parse_args()
    asyncio.run(serve_forever(args.port, args.text, args.tone_ms))


if __name__ == "__main__":
    main()
