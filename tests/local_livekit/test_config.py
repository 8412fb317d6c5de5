"""livekit.yaml parsing and the command line, without a server."""

from __future__ import annotations

from pathlib import Path

import pytest

from local_livekit.config import ConfigError, config_from_args, load_config
from local_livekit.contracts import ApiKeys

LIVEKIT_YAML = """
port: 7881
bind_addresses: ["127.0.0.1", "::1"]
rtc:
  node_ip: 10.78.0.1
  port_range_start: 50000
keys:
  prodkey: prodsecret-0123456789
  otherkey: othersecret
webhook:
  api_key: prodkey
  urls:
    - http://127.0.0.1:9000/livekit/webhook
room:
  empty_timeout: 60
  departure_timeout: 7
logging:
  level: info
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "livekit.yaml"
    path.write_text(text)
    return path


def test_reads_the_keys_livekit_server_reads(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, LIVEKIT_YAML))
    assert config.port == 7881
    assert config.bind_addresses == ("127.0.0.1", "::1")
    assert config.keys == ApiKeys({"prodkey": "prodsecret-0123456789", "otherkey": "othersecret"})
    assert config.webhook_urls == ("http://127.0.0.1:9000/livekit/webhook",)
    assert config.webhook_api_key == "prodkey"
    assert (config.empty_timeout_s, config.departure_timeout_s) == (60, 7)
    assert config.rtc_node_ip == "10.78.0.1"


def test_dev_flag_adds_devkey_and_flags_override_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, LIVEKIT_YAML)
    config = config_from_args(["--config", str(path), "--dev", "--port", "0", "--bind", "10.0.0.5"])
    assert config.keys.secret_for("devkey") == "secret"
    assert config.keys.secret_for("prodkey") == "prodsecret-0123456789"
    assert config.port == 0
    assert config.bind_addresses == ("10.0.0.5",)


def test_dev_alone_uses_livekit_server_defaults() -> None:
    config = config_from_args(["--dev"])
    assert config.keys == ApiKeys({"devkey": "secret"})
    assert config.port == 7880
    assert config.bind_addresses == ("127.0.0.1",)
    assert config.webhook_urls == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("port: 7880\n", "no API keys"),
        ("keys: [a, b]\n", "keys must be a mapping"),
        ("keys: {k: s}\nport: -1\n", "port must be a non-negative integer"),
        ("keys: {k: s}\nroom: {empty_timeout: soon}\n", "room.empty_timeout"),
        ("keys: {k: s}\nwebhook: {api_key: nokey, urls: [http://x]}\n", "webhook.api_key"),
        ("keys: {k: ''}\n", "empty secret"),
        ("keys: {k: s\n", "not valid YAML"),
    ],
)
def test_bad_files_get_a_clear_error(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(_write(tmp_path, text))


def test_missing_file_and_missing_flags(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "absent.yaml")
    with pytest.raises(ConfigError, match=r"--config livekit\.yaml or --dev"):
        config_from_args([])
