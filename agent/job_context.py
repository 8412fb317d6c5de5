"""What livekit-agents must be told about a job whose room Pipecat joins.

The interview joins its room through Pipecat's LiveKitTransport (its own rtc.Room, with the job's token),
never through `JobContext.connect()`. livekit-agents 1.8.6 learns that a job joined only from the
callback `connect()` invokes, so without it every job logs, 10 seconds in, "The room connection was not
established within 10 seconds after calling job_entry ..." (livekit/agents/ipc/job_proc_lazy_main.py,
`_warn_not_connected_task`), although the agent joined within a second. Calling `connect()` as well is no
fix: it would join a second participant with the same identity and push the transport's one out.
"""

from __future__ import annotations

from livekit.agents import JobContext


def report_room_joined(ctx: JobContext) -> None:
    """Tell livekit-agents that this job is in its room (call once the transport has joined).

    1.8.6 has no public way to say so: `_on_connect` is the job process's callback that `connect()` calls
    after joining, and it only records that the job connected (which silences the 10-second warning and
    the "job task completed without establishing a connection" one). Idempotent.
    """
    ctx._on_connect()
