"""Token endpoint throughput: the real control plane vs a bare handler that only signs a JWT.

Both run as uvicorn processes on loopback. The control plane gets a scratch, migrated database; a
user logs in once, creates a session, then concurrent clients POST /livekit/token for it.

    .venv/bin/python bench/token_endpoint.py [--clients 32] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _scratch_control_plane import free_port, scratch_control_plane, start_process


async def drive(
    url: str, headers: dict[str, str], body: dict[str, str], clients: int, seconds: float
) -> list[float]:
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def worker() -> None:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                response = await client.post(url, json=body, headers=headers)
                if response.status_code != 201:
                    raise RuntimeError(f"{url}: {response.status_code} {response.text[:200]}")
                latencies.append(time.perf_counter() - started)

        await asyncio.gather(*(worker() for _ in range(clients)))
    return latencies


def report(name: str, latencies: list[float], seconds: float) -> float:
    ordered = sorted(latencies)
    q = statistics.quantiles(ordered, n=100)
    rps = len(ordered) / seconds
    print(
        f"{name:<14} {rps:8.0f} req/s   p50 {q[49] * 1000:6.1f} ms   p95 {q[94] * 1000:6.1f} ms   "
        f"p99 {q[98] * 1000:6.1f} ms   ({len(ordered)} requests)"
    )
    return rps


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()

    async with scratch_control_plane() as cp:
        session_id = await cp.create_session(seniority="mid", topics=["python"])
        bare_port = free_port()
        bare = start_process(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--app-dir",
                "bench",
                "_bare_token_app:app",
                "--port",
                str(bare_port),
                "--no-access-log",
                "--log-level",
                "warning",
            ],
            cp.env,
            httpx.HTTPTransport(),
            f"http://127.0.0.1:{bare_port}",
        )
        try:
            body = {"session_id": session_id}
            url = f"{cp.base_url}/livekit/token"
            print(f"{args.clients} concurrent clients, {args.seconds:.0f} s each, 2 cores, loopback")
            await drive(url, cp.headers, body, 4, 1.0)  # warm-up
            real = report(
                "control plane", await drive(url, cp.headers, body, args.clients, args.seconds), args.seconds
            )
            bare_url = f"http://127.0.0.1:{bare_port}/livekit/token"
            await drive(bare_url, {}, body, 4, 1.0)
            baseline = report(
                "bare handler", await drive(bare_url, {}, body, args.clients, args.seconds), args.seconds
            )
            print(f"ratio control plane / bare = {real / baseline:.2f}")
        finally:
            bare.terminate()
            bare.wait(timeout=15)


if __name__ == "__main__":
    asyncio.run(main())
