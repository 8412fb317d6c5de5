from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.netns import NetnsLiveKit

CLIENTS = Path(__file__).parent / "clients"


@pytest.fixture(scope="module")
def netns_livekit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NetnsLiveKit]:
    """The real livekit-server running in a fresh network namespace, shared by the tests of one module."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.fail("netns tests need root and iproute2 (`ip netns`)")
    with NetnsLiveKit(tmp_path_factory.mktemp("netns")) as lk:
        yield lk
        print(f"--- server log ({lk.ns}) ---\n{lk.server_log()[-8000:]}")


def server_log_entries(lk: NetnsLiveKit, **match: Any) -> list[dict[str, Any]]:
    """The real server's JSON log lines whose fields equal all of `match` (e.g. msg=..., participant=...)."""
    entries = []
    for line in lk.server_log().splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and all(entry.get(key) == value for key, value in match.items()):
            entries.append(entry)
    return entries
