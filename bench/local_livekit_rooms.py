"""Bench: the local LiveKit server with N concurrent rooms (one publisher, one subscriber each).

Runs inside a private network namespace (tests/support/netns.py; needs root). For N = 1, 5, 10 it prints
the server's CPU (percent of one core) and RSS growth per room while every room carries audio, and the
p50/p95 latency from a tone burst starting at the publisher to the subscriber hearing it.

    .venv/bin/python bench/local_livekit_rooms.py [--rooms 1 5 10] [--bursts 8]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from tests.support.netns import NetnsLiveKit  # noqa: E402

CLIENT = REPO / "bench" / "local_livekit_rooms_client.py"
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def run(lk: NetnsLiveKit, rooms: int, bursts: int) -> dict[str, float]:
    pid = lk.server_pid
    rss_idle = rss_mib(pid)
    client = lk.popen_python(CLIENT, str(rooms), "--bursts", str(bursts))
    assert client.stdout is not None
    steady = client.stdout.readline()
    if not steady:
        raise RuntimeError(f"bench client failed:\n{lk.wait(client).stderr[-4000:]}")
    cpu0, wall0 = cpu_seconds(pid), time.monotonic()
    result_line = client.stdout.readline()
    cpu1, wall1 = cpu_seconds(pid), time.monotonic()
    rss_loaded = rss_mib(pid)
    done = lk.wait(client, 60)
    if not result_line:
        raise RuntimeError(f"bench client failed:\n{done.stderr[-4000:]}")
    result = json.loads(result_line)
    latencies = np.asarray(result["latencies_ms"])
    cpu_pct = 100 * (cpu1 - cpu0) / (wall1 - wall0)
    return {
        "rooms": rooms,
        "server_cpu_pct_total": cpu_pct,
        "server_cpu_pct_per_room": cpu_pct / rooms,
        "server_rss_mib": rss_loaded,
        "server_rss_mib_per_room": (rss_loaded - rss_idle) / rooms,
        "latency_p50_ms": float(np.percentile(latencies, 50)) if latencies.size else float("nan"),
        "latency_p95_ms": float(np.percentile(latencies, 95)) if latencies.size else float("nan"),
        "bursts_heard": int(latencies.size),
        "bursts_missed": int(result["missed"]),
    }


def main() -> None:
    # a SIGTERM (e.g. from `timeout`) must still run the namespace cleanup below
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rooms", type=int, nargs="+", default=[1, 5, 10])
    parser.add_argument("--bursts", type=int, default=8)
    args = parser.parse_args()
    print(
        f"{'rooms':>5} {'cpu%/room':>9} {'cpu% all':>8} {'rss MiB':>8} {'rss/room':>8} "
        f"{'p50 ms':>7} {'p95 ms':>7} {'heard':>6} {'missed':>6}"
    )
    with tempfile.TemporaryDirectory(prefix="lk-bench-") as workdir, NetnsLiveKit(Path(workdir)) as lk:
        for rooms in args.rooms:
            row = run(lk, rooms, args.bursts)
            print(
                f"{rooms:>5} {row['server_cpu_pct_per_room']:>9.1f} {row['server_cpu_pct_total']:>8.1f} "
                f"{row['server_rss_mib']:>8.0f} {row['server_rss_mib_per_room']:>8.1f} "
                f"{row['latency_p50_ms']:>7.0f} {row['latency_p95_ms']:>7.0f} "
                f"{row['bursts_heard']:>6} {row['bursts_missed']:>6}",
                flush=True,
            )
            time.sleep(7)  # let the rooms of this round close (departure_timeout 5 s) before the next


if __name__ == "__main__":
    main()
