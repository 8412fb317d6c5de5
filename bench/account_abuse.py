"""The public account endpoints under abuse, on the real control plane (scratch database, real Redis):

- sign-up timing: a new address vs one that already has an account (the answer must not tell them apart);
- a real user's login latency, alone and while one client sprays 200 logins at 200 emails.

Clients are told apart by X-Forwarded-For, which the benchmark's uvicorn trusts from loopback (its default).

    .venv/bin/python bench/account_abuse.py [--tries 15]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _scratch_control_plane import scratch_control_plane

PASSWORD = "bench password 123"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def timed(client: httpx.AsyncClient, path: str, body: dict[str, str], who: str) -> tuple[float, int]:
    started = time.perf_counter()
    response = await client.post(path, json=body, headers={"X-Forwarded-For": who})
    return (time.perf_counter() - started) * 1000, response.status_code


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tries", type=int, default=15)
    args = parser.parse_args()
    env = {"CODEVOICE_REGISTER_RATE_LIMIT": "100000"}
    async with scratch_control_plane(env=env) as cp:
        client, existing = cp.client, cp.email
        signup = {"password": PASSWORD, "display_name": "Bench"}
        await timed(
            client, "/auth/register", {**signup, "email": f"warm-{uuid.uuid4().hex}@example.com"}, "10.9.0.1"
        )
        taken, new = [], []
        for i in range(args.tries):
            taken.append(
                (await timed(client, "/auth/register", {**signup, "email": existing}, f"10.9.1.{i}"))[0]
            )
            fresh = f"new-{uuid.uuid4().hex[:10]}@example.com"
            new.append((await timed(client, "/auth/register", {**signup, "email": fresh}, f"10.9.2.{i}"))[0])

        login = {"email": existing, "password": PASSWORD}
        alone = [(await timed(client, "/auth/login", login, f"10.8.0.{i}"))[0] for i in range(args.tries)]
        statuses: list[int] = []

        async def spray(worker: int) -> None:
            for attempt in range(25):
                body = {"email": f"spray-{worker}-{attempt}@example.com", "password": "Winter2026!"}
                statuses.append((await timed(client, "/auth/login", body, "10.66.6.6"))[1])

        attack = asyncio.gather(*(spray(worker) for worker in range(8)))
        answered = [await timed(client, "/auth/login", login, f"10.8.1.{i}") for i in range(args.tries)]
        during = [ms for ms, _ in answered]
        await attack

    print("| measure | median ms | p95 ms |")
    print("| --- | --- | --- |")
    for name, values in (
        ("register, address already has an account", taken),
        ("register, new address", new),
        ("login alone", alone),
        ("login while one client sprays 200 logins", during),
    ):
        print(f"| {name} | {statistics.median(values):.0f} | {percentile(values, 0.95):.0f} |")
    print(f"\ntaken/new median ratio: {statistics.median(taken) / statistics.median(new):.2f}")
    print(f"login during/alone median ratio: {statistics.median(during) / statistics.median(alone):.2f}")
    print(f"real logins during the spray answered: {sorted({status for _, status in answered})}")
    checked, refused = statuses.count(401), statuses.count(429)
    print(f"spray: {len(statuses)} attempts, {checked} checked (401), {refused} refused (429)")


if __name__ == "__main__":
    asyncio.run(main())
