"""Keep the agent from downloading anything at run time.

Some libraries fetch data on first use: Hugging Face hubs (faster-whisper resolves model names there) and
NLTK (Pipecat's sentence splitter downloads `punkt_tab` when `pipecat.utils.string` is imported). The
agent ships or installs every model it needs, so it switches those paths to offline before they run.
`agent/__init__.py` calls this, so importing any agent module first is enough.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

NLTK_DATA_DIR: Final = Path(__file__).with_name("nltk_data")

_OFFLINE_FLAGS: Final = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
}


def enforce_offline_models() -> None:
    for name, value in _OFFLINE_FLAGS.items():
        os.environ[name] = value
    import nltk.data

    if str(NLTK_DATA_DIR) not in nltk.data.path:
        nltk.data.path.insert(0, str(NLTK_DATA_DIR))
