"""The SAQ plugin for the control plane and the summary worker process.

litestar-saq 0.8.0 starts a HeartbeatManager thread in every process whose app starts its workers (the web
app included, although its queue runs `separate_process`). The manager only serves jobs decorated with
litestar-saq's `monitored_job`; our summary job keeps its own heartbeat (domain/summaries/jobs.py), so
the thread has nothing to do. Worse, its `stop()` stops the thread's event loop while
`run_until_complete` still waits on the manager loop, so every shutdown logs "HeartbeatManager thread
crashed ... Event loop stopped before Future completed" (litestar-org/litestar-saq#110, fix proposed in
#111). No shutdown order avoids it; not starting the unused manager does.
"""

from __future__ import annotations

from litestar_saq import SAQPlugin
from litestar_saq.base import Worker


class CodeVoiceSAQPlugin(SAQPlugin):
    """SAQPlugin whose workers start no HeartbeatManager (see the module docstring)."""

    def get_workers(self) -> dict[str, Worker]:
        workers = super().get_workers()
        for worker in workers.values():
            # SAQPlugin.get_workers builds each Worker without passing `enable_heartbeat_manager`, so it
            # cannot be set through the config; the flag is read only in `on_app_startup`, which runs later.
            worker._enable_heartbeat_manager = False
        return workers
