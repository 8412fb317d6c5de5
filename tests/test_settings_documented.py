"""Every environment variable the settings module reads is documented in the README's table and in
.env.example, and neither documents one that no longer exists."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NAME = re.compile(r"\b(?:CODEVOICE|DATABASE|REDIS|LIVEKIT|OPENAI)_[A-Z0-9_]+\b")


def test_every_setting_is_documented_in_both_places() -> None:
    read = set(
        re.findall(
            r'"((?:CODEVOICE|DATABASE|REDIS|LIVEKIT|OPENAI)_[A-Z0-9_]+)"',
            (REPO / "control_plane/settings.py").read_text(),
        )
    )
    assert read, "no settings found"
    readme = set(NAME.findall((REPO / "README.md").read_text()))
    example = set(NAME.findall((REPO / ".env.example").read_text()))
    assert sorted(read - readme) == [], "settings missing from README.md"
    assert sorted(read - example) == [], "settings missing from .env.example"
    # .env.example lists only real settings (the README may also name variables of other programs)
    assert sorted(example - read) == [], ".env.example names variables settings.py does not read"
