from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

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
