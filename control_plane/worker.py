"""The summary worker without the web app: `python -m control_plane.worker`.

Same worker as `litestar --app control_plane.app:create_app workers run`, built from the same settings
(`settings.worker.get_config()`), for deployments and tests that run workers as separate processes."""

from __future__ import annotations

from litestar_saq import SAQPlugin
from litestar_saq.cli import run_saq_worker

from control_plane.settings import settings_or_exit


def main() -> None:
    settings = settings_or_exit("control_plane.worker")
    plugin = SAQPlugin(settings.worker.get_config())
    worker = plugin.get_workers()[settings.worker.saq_queue_name(settings.redis)]
    # Logging is configured by the worker's startup hook (structlog), so none is passed here.
    run_saq_worker(worker, logging_config=None)


if __name__ == "__main__":
    main()
