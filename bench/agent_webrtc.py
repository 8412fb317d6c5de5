"""Interviewer latency over WebRTC: simulated candidates talk to the real agent worker through livekit-server.

Everything runs as it does in production, inside a network namespace this script creates (needs root):
the pinned livekit-server (`make livekit-server`), the agent worker (`python -m agent start`) and the
simulated candidates (real rtc SDK, two to a process: bench/agent_webrtc_client.py). The real control
plane runs on a scratch database and is reached through a Unix socket; every candidate gets its token
from it, and that token dispatches the interviewer. The interviewer is the scripted one. Speech goes
through the agent's `openai` providers pointed at an OpenAI-compatible speech double in the namespace
that answers at once (a fixed transcript; a 300 ms tone), so only our stack and the WebRTC hop are
measured. With --real-models the agent runs its offline Whisper tiny.en and Piper instead.

For each level the worker starts afresh with that many warm job processes (as an operator would size
it), candidates arrive one every --stagger seconds and hear their greetings, then all answer together.
Reported per level: end of speech -> first agent audio as the candidate hears it (p50/p95), the same
as the agent measures it (from its transcript metrics), agent CPU % and memory (PSS) per session and in
all (the worker and all its processes), livekit-server's CPU % (in all and per session) and memory
(RSS), candidates greeted, and turns completed (agent audio within 20 s of the end of speech).

Usage: .venv/bin/python bench/agent_webrtc.py [--levels 1,5,10,25,50] [--turns 3]
       .venv/bin/python bench/agent_webrtc.py --real-models --levels 1,5
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import wave
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(REPO))
from _scratch_control_plane import ScratchControlPlane, scratch_control_plane  # noqa: E402
from agent_latency import ANSWERS, RATE, espeak, percentile  # noqa: E402

from control_plane.lib.livekit_server import binary_version, find_livekit_server  # noqa: E402
from tests.support.netns import NetnsLiveKit  # noqa: E402

CLIENT = BENCH / "agent_webrtc_client.py"
SPEECH_DOUBLE_PORT = 8790


def write_answers(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for index, text in enumerate(ANSWERS):
        with wave.open(str(directory / f"{index}.wav"), "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(RATE)
            wav.writeframes(espeak(text, directory))
    return directory


class ProcessTree:
    """CPU and memory of a process and all its descendants (the worker and its job processes)."""

    def __init__(self, pid: int) -> None:
        self.root = psutil.Process(pid)

    def processes(self) -> list[psutil.Process]:
        return [self.root, *self.root.children(recursive=True)]

    def cpu_seconds(self) -> dict[int, float]:
        seconds = {}
        for process in self.processes():
            try:
                times = process.cpu_times()
                seconds[process.pid] = times.user + times.system
            except psutil.NoSuchProcess:
                continue
        return seconds

    def pss_mb(self) -> float:
        """Proportional set size: shared pages (the forkserver's imports) split between their users, so
        the sum over the tree is what the tree really occupies (a sum of RSS counts them many times)."""
        total = 0
        for process in self.processes():
            try:
                total += process.memory_full_info().pss
            except psutil.NoSuchProcess:
                continue
        return total / 2**20


def cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    return sum(value - before.get(pid, 0.0) for pid, value in after.items())


def count_in(path: Path, text: str) -> int:
    return path.read_text(errors="replace").count(text) if path.exists() else 0


@contextmanager
def agent_worker(lk: NetnsLiveKit, env: dict[str, str], log_path: Path, warm: int) -> Iterator[int]:
    """The worker with `warm` job processes initialised before any candidate arrives; yields its pid."""
    with log_path.open("wb") as log_file:
        worker = subprocess.Popen(
            lk.exec_argv([sys.executable, "-m", "agent", "start"]),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env={
                **env,
                "CODEVOICE_AGENT_IDLE_PROCESSES": str(warm),
                "CODEVOICE_AGENT_MAX_INTERVIEWS": str(warm),
            },
            cwd=REPO,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 120 + 15 * warm
        while (
            count_in(log_path, "registered worker") == 0 or count_in(log_path, "process initialized") < warm
        ):
            if worker.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"the worker did not warm up:\n{log_path.read_text(errors='replace')[-4000:]}"
                )
            time.sleep(0.5)
        yield worker.pid
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(10)


class CandidatesFailedError(RuntimeError):
    def __init__(self, workdir: Path, said: str) -> None:
        kept = Path(tempfile.gettempdir()) / "agent-webrtc-failed"
        shutil.rmtree(kept, ignore_errors=True)
        shutil.copytree(workdir, kept, ignore=shutil.ignore_patterns("*.sock"))
        super().__init__(f"candidates said {said}; their logs and the worker's are kept in {kept}")


@dataclass
class LevelResult:
    sessions: int
    heard_s: list[float]
    agent_measured_s: list[float]
    greeted: int
    turns_completed: int
    turns_attempted: int
    agent_cpu_pct: float
    agent_pss_mb: float
    sfu_cpu_pct: float
    sfu_rss_mb: float


async def agent_measured_latencies(cp: ScratchControlPlane, session_ids: list[str]) -> list[float]:
    """End of speech -> first audio as the agent itself recorded it in each reply's transcript metrics."""
    values = []
    for session_id in session_ids:
        response = await cp.client.get(f"/sessions/{session_id}/transcript", headers=cp.headers)
        response.raise_for_status()
        for segment in response.json()["segments"]:
            ms = (segment.get("metrics") or {}).get("end_of_speech_to_first_audio_ms")
            if segment["speaker"] == "agent" and ms:
                values.append(ms / 1000)
    return values


class Candidates:
    """The simulated candidates, a few per process: the rtc SDK calls back into Python for every audio
    frame, and one interpreter hosting many rooms starves the SDK's own threads (pings stop)."""

    def __init__(
        self, lk: NetnsLiveKit, tokens: list[str], workdir: Path, turns: int, per_process: int, stagger: float
    ) -> None:
        self.workdir = workdir
        self.processes: list[subprocess.Popen[str]] = []
        self.logs = []
        for first in range(0, len(tokens), per_process):
            group = len(self.processes)
            tokens_file = workdir / f"tokens-{len(tokens)}-{group}.json"
            tokens_file.write_text(json.dumps(tokens[first : first + per_process]))
            log = (workdir / f"client-{len(tokens)}-{group}.log").open("wb")
            self.logs.append(log)
            argv = [sys.executable, str(CLIENT), "--url", lk.url, "--tokens", str(tokens_file)]
            argv += [
                "--answers",
                str(workdir / "answers"),
                "--turns",
                str(turns),
                "--first-arrival",
                str(first),
            ]
            self.processes.append(
                subprocess.Popen(
                    lk.exec_argv(argv),
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=log,
                    text=True,
                    cwd=REPO,
                )
            )

    async def _lines(self) -> list[str]:
        return list(await asyncio.gather(*(asyncio.to_thread(p.stdout.readline) for p in self.processes)))  # type: ignore[union-attr]

    def _failed(self, said: list[str]) -> CandidatesFailedError:
        codes = [p.poll() for p in self.processes]
        return CandidatesFailedError(self.workdir, f"{said!r}, exit codes {codes}")

    async def all_greeted(self) -> None:
        said = await self._lines()
        if any(line.strip() != "ready" for line in said):
            raise self._failed(said)

    def go(self) -> None:
        for process in self.processes:
            process.stdin.write("go\n")  # type: ignore[union-attr]
            process.stdin.flush()  # type: ignore[union-attr]

    async def results(self) -> list[dict[str, Any]]:
        said = await self._lines()
        if not all(said):
            raise self._failed(said)
        return [room for line in said for room in json.loads(line)]

    def close(self) -> None:
        for process in self.processes:
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
        for log in self.logs:
            log.close()


async def run_level(
    cp: ScratchControlPlane,
    lk: NetnsLiveKit,
    worker_env: dict[str, str],
    workdir: Path,
    sessions: int,
    turns: int,
    per_process: int,
    stagger: float,
) -> LevelResult:
    session_ids = [await cp.create_session() for _ in range(sessions)]
    tokens = [await cp.room_token(s) for s in session_ids]
    with agent_worker(lk, worker_env, workdir / f"worker-{sessions}.log", sessions) as worker_pid:
        tree, sfu = ProcessTree(worker_pid), psutil.Process(lk.server_pid)
        candidates = Candidates(lk, tokens, workdir, turns, per_process, stagger)
        try:
            await candidates.all_greeted()
            cpu_before, sfu_before, started = tree.cpu_seconds(), sum(sfu.cpu_times()[:2]), time.monotonic()
            candidates.go()
            results = await candidates.results()
            wall = time.monotonic() - started
            agent_cpu = cpu_used(cpu_before, tree.cpu_seconds())
            sfu_cpu = sum(sfu.cpu_times()[:2]) - sfu_before
            pss = tree.pss_mb()
            sfu_rss = sfu.memory_info().rss / 2**20
        finally:
            candidates.close()
    await asyncio.sleep(2)  # the last transcript turns reach the control plane as the jobs end
    return LevelResult(
        sessions=sessions,
        heard_s=[lat for r in results for lat in r["latencies_s"]],
        agent_measured_s=await agent_measured_latencies(cp, session_ids),
        greeted=sum(r["greeted"] for r in results),
        turns_completed=sum(len(r["latencies_s"]) for r in results),
        turns_attempted=sessions * turns,
        agent_cpu_pct=100 * agent_cpu / wall,
        agent_pss_mb=pss,
        sfu_cpu_pct=100 * sfu_cpu / wall,
        sfu_rss_mb=sfu_rss,
    )


def worker_env(cp: ScratchControlPlane, lk: NetnsLiveKit, workdir: Path, real_models: bool) -> dict[str, str]:
    env = {
        **cp.env,
        "LIVEKIT_URL": lk.url,
        "CODEVOICE_CONTROL_PLANE_SOCKET": str(workdir / "control-plane.sock"),
        "CODEVOICE_CONTROL_PLANE_URL": "http://control-plane",
        "CODEVOICE_TRANSCRIPT_SPOOL_DIR": str(workdir / "spool"),
        "CODEVOICE_LOG_LEVEL": "INFO",
        "CODEVOICE_AGENT_DRAIN_TIMEOUT_S": "20",
        # Candidates wait in silence until every room has greeted: no "are you still there?".
        "CODEVOICE_SILENCE_PROMPT_S": "900",
        "CODEVOICE_SILENCE_WRAP_UP_S": "1800",
        "PYTHONPATH": str(REPO),
        "PYTHONUNBUFFERED": "1",
    }
    if real_models:
        return env
    double = [sys.executable, "-m", "tests.support.openai_speech_double", "--port", str(SPEECH_DOUBLE_PORT)]
    lk.popen(double)
    lk.wait_for_port(SPEECH_DOUBLE_PORT)
    return env | {
        "CODEVOICE_STT": "openai",
        "CODEVOICE_TTS": "openai",
        "CODEVOICE_SPEECH_BASE_URL": f"http://127.0.0.1:{SPEECH_DOUBLE_PORT}/v1",
    }


def print_row(row: LevelResult) -> None:
    print(
        f"{row.sessions:>8} {percentile(row.heard_s, 0.5) * 1000:>9.0f} "
        f"{percentile(row.heard_s, 0.95) * 1000:>6.0f} "
        f"{percentile(row.agent_measured_s, 0.5) * 1000:>9.0f} "
        f"{percentile(row.agent_measured_s, 0.95) * 1000:>6.0f} "
        f"{row.agent_cpu_pct / row.sessions:>9.1f} {row.agent_cpu_pct:>8.0f} "
        f"{row.agent_pss_mb / row.sessions:>11.0f} {row.agent_pss_mb:>7.0f} "
        f"{row.sfu_cpu_pct:>8.1f} {row.sfu_cpu_pct / row.sessions:>9.2f} {row.sfu_rss_mb:>7.0f} "
        f"{row.greeted:>4}/{row.sessions:<3} "
        f"{row.turns_completed:>4}/{row.turns_attempted:<4}",
        flush=True,
    )


async def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # so the namespace cleanup still runs
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--levels", default="1,5,10,25,50")
    parser.add_argument("--turns", type=int, default=3)
    parser.add_argument("--real-models", action="store_true", help="offline Whisper and Piper, not doubles")
    parser.add_argument("--per-process", type=int, default=2, help="simulated candidates per client process")
    parser.add_argument("--keep-logs", type=Path, help="copy the worker, client and server logs here")
    # Each interview that takes a warm job process makes the worker warm a replacement (livekit-agents'
    # pool), which loads the models again: arrivals closer than that starve the machine.
    parser.add_argument("--stagger", type=float, default=3.0, help="seconds between two candidates arriving")
    args = parser.parse_args()
    speech = "offline Whisper tiny.en + Piper" if args.real_models else "zero-latency speech double"
    print(
        f"machine: {psutil.cpu_count()} CPUs; {speech}; {args.turns} answers per candidate; "
        f"WebRTC through livekit-server {binary_version(find_livekit_server())}"
    )
    print(
        f"{'sessions':>8} {'heard p50':>9} {'p95':>6} {'agent p50':>9} {'p95':>6} "
        f"{'CPU%/sess':>9} {'CPU% all':>8} {'PSS MB/sess':>11} {'PSS MB':>7} {'SFU CPU%':>8} "
        f"{'SFU %/sess':>9} {'SFU MB':>7} "
        f"{'greeted':>8} {'turns':>9}",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="agent-webrtc-") as tmp:
        workdir = Path(tmp)
        write_answers(workdir / "answers")
        async with scratch_control_plane(uds=workdir / "control-plane.sock") as cp:
            key, secret = cp.env["LIVEKIT_API_KEY"], cp.env["LIVEKIT_API_SECRET"]
            with NetnsLiveKit(workdir / "livekit", api_key=key, api_secret=secret) as lk:
                env = worker_env(cp, lk, workdir, args.real_models)
                for level in (int(x) for x in args.levels.split(",")):
                    print_row(
                        await run_level(
                            cp, lk, env, workdir, level, args.turns, args.per_process, args.stagger
                        )
                    )
                    time.sleep(7)  # the rooms of this level close before the next starts
            if args.keep_logs:
                shutil.copytree(
                    workdir, args.keep_logs, ignore=shutil.ignore_patterns("*.sock"), dirs_exist_ok=True
                )


if __name__ == "__main__":
    asyncio.run(main())
