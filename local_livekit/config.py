"""Build a `ServerConfig` from livekit.yaml and the command line, the way livekit-server does.

Only the keys this development server honours are read; others are ignored so that the same file that
production's livekit-server reads can be passed unchanged.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any

import yaml

from local_livekit.contracts import ApiKeys, ServerConfig

DEV_KEYS = {"devkey": "secret"}


class ConfigError(ValueError):
    """livekit.yaml or the command line is unusable; the message says which key and why."""


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{where} must be a mapping, got {type(value).__name__}")
    return value


def _int(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"{where} must be a non-negative integer, got {value!r}")
    return value


def _str_list(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"{where} must be a list of strings, got {value!r}")
    return tuple(value)


def config_from_mapping(raw: dict[str, Any], *, dev: bool = False) -> ServerConfig:
    """Turn the parsed YAML document into a `ServerConfig`. `dev` adds devkey/secret like `--dev`."""
    defaults = ServerConfig()
    raw = _mapping(raw, "livekit.yaml")

    keys = {str(k): str(v) for k, v in _mapping(raw.get("keys"), "keys").items()}
    if dev:
        keys = {**DEV_KEYS, **keys}
    if not keys:
        raise ConfigError("no API keys: set `keys` in livekit.yaml or start with --dev")
    for key, secret in keys.items():
        if not secret:
            raise ConfigError(f"keys.{key} has an empty secret")

    webhook = _mapping(raw.get("webhook"), "webhook")
    webhook_api_key = webhook.get("api_key")
    if webhook_api_key is not None and str(webhook_api_key) not in keys:
        raise ConfigError(f"webhook.api_key {webhook_api_key!r} is not one of `keys`")
    room = _mapping(raw.get("room"), "room")
    rtc = _mapping(raw.get("rtc"), "rtc")

    bind = _str_list(raw.get("bind_addresses"), "bind_addresses") or defaults.bind_addresses
    node_ip = rtc.get("node_ip")
    return ServerConfig(
        port=_int(raw.get("port", defaults.port), "port"),
        bind_addresses=bind,
        keys=ApiKeys(keys),
        webhook_urls=_str_list(webhook.get("urls"), "webhook.urls"),
        webhook_api_key=str(webhook_api_key) if webhook_api_key is not None else None,
        empty_timeout_s=_int(room.get("empty_timeout", defaults.empty_timeout_s), "room.empty_timeout"),
        departure_timeout_s=_int(
            room.get("departure_timeout", defaults.departure_timeout_s), "room.departure_timeout"
        ),
        rtc_node_ip=str(node_ip) if node_ip else None,
    )


def load_config(path: Path, *, dev: bool = False) -> ServerConfig:
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from exc
    return config_from_mapping(raw or {}, dev=dev)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="local-livekit",
        description="Local LiveKit-protocol server for development and tests only; "
        "production uses livekit-server.",
    )
    parser.add_argument("--config", type=Path, help="livekit.yaml (the file livekit-server reads)")
    parser.add_argument("--dev", action="store_true", help="add the API key devkey with secret 'secret'")
    parser.add_argument("--port", type=int, help="override `port`")
    parser.add_argument("--bind", action="append", help="override `bind_addresses` (repeatable)")
    parser.add_argument("--node-ip", help="override `rtc.node_ip`")
    return parser


def config_from_args(argv: list[str] | None = None) -> ServerConfig:
    args = build_parser().parse_args(argv)
    if args.config is not None:
        config = load_config(args.config, dev=args.dev)
    elif args.dev:
        config = config_from_mapping({}, dev=True)
    else:
        raise ConfigError("pass --config livekit.yaml or --dev")
    overrides: dict[str, Any] = {}
    if args.port is not None:
        overrides["port"] = _int(args.port, "--port")
    if args.bind:
        overrides["bind_addresses"] = tuple(args.bind)
    if args.node_ip:
        overrides["rtc_node_ip"] = args.node_ip
    return dataclasses.replace(config, **overrides)
