"""The summary worker without the web app: `python -m control_plane.worker`.

Same worker as `litestar --app control_plane.app:create_app workers run`, built from the same settings
(`settings.worker.get_config()`), for deployments and tests that run workers as separate processes.

Logging is configured (structlog, control_plane.log) before the worker starts, so every line the process
writes is rendered the same way, JSON without a TTY: also SAQ's lines from before the worker's startup hook
runs ("Worker starting", a Redis that cannot be reached) and Python warnings."""

from __future__ import annotations

from litestar_saq.cli import run_saq_worker

from control_plane import log
from control_plane.lib.saq import CodeVoiceSAQPlugin
from control_plane.settings import settings_or_exit


def main() -> None:
    settings = settings_or_exit("control_plane.worker")
    plugin = CodeVoiceSAQPlugin(settings.worker.get_config())
    worker = plugin.get_workers()[settings.worker.saq_queue_name(settings.redis)]
    # Configured here, before the worker starts (the startup hook configures it again, identically), and
    # not passed to litestar-saq, whose own logging config would replace ours.
    log.configure(settings.log)
    run_saq_worker(worker, logging_config=None)


if __name__ == "__main__":
    main()
