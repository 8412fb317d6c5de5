"""The aiohttp application: client signaling, the server API, agent workers and webhooks on one port."""

from __future__ import annotations

import socket
from dataclasses import dataclass, replace

import structlog
from aiohttp import web

from local_livekit import agent_workers, media, signaling, twirp, webhooks
from local_livekit.contracts import ServerConfig
from local_livekit.rooms import Registry

log = structlog.get_logger("local_livekit.server")

NOTICE = "local_livekit is for development and tests only; production uses livekit-server"


async def _health(_: web.Request) -> web.Response:
    return web.Response(text="OK")


def build_app(config: ServerConfig) -> web.Application:
    media.relay_encoded_media()
    app = web.Application()
    registry = Registry(config)
    app[signaling.CONFIG_KEY] = config
    app[signaling.REGISTRY_KEY] = registry
    app.router.add_get("/", _health)
    signaling.add_routes(app)

    twirp.add_routes(app, registry, config)
    hub = agent_workers.add_routes(app, registry, config)
    registry.add_listener(hub)
    notifier = webhooks.WebhookNotifier(config)
    registry.add_listener(notifier)

    async def start_notifier(_: web.Application) -> None:
        await notifier.start()

    async def shut_down(_: web.Application) -> None:
        await registry.close_all()
        await registry.aclose_timers()
        await hub.close()
        await notifier.close()

    app.on_startup.append(start_notifier)
    app.on_shutdown.append(shut_down)
    return app


@dataclass
class ServerHandle:
    """A running server: `url` is the ws:// address clients connect to."""

    config: ServerConfig
    runner: web.AppRunner

    @property
    def port(self) -> int:
        return self.config.port

    @property
    def url(self) -> str:
        return f"ws://{self.config.bind_addresses[0]}:{self.config.port}"

    @property
    def http_url(self) -> str:
        return f"http://{self.config.bind_addresses[0]}:{self.config.port}"

    @property
    def registry(self) -> Registry:
        return self.runner.app[signaling.REGISTRY_KEY]

    async def close(self) -> None:
        await self.runner.cleanup()


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


async def start_server(config: ServerConfig) -> ServerHandle:
    """Start serving; port 0 picks a free port (read it back from the handle)."""
    if config.port == 0:
        config = replace(config, port=_free_port(config.bind_addresses[0]))
    runner = web.AppRunner(build_app(config), handle_signals=False, access_log=None)
    await runner.setup()
    for host in config.bind_addresses:
        await web.TCPSite(runner, host, config.port).start()
    log.warning(NOTICE)
    log.info("local_livekit listening", addresses=list(config.bind_addresses), port=config.port)
    return ServerHandle(config, runner)
