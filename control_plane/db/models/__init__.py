"""SQLAlchemy models. Postgres is the source of truth for every interview and its transcript."""

from control_plane.db.models._enums import SessionStatus, Speaker, SummaryStatus, UserRole
from control_plane.db.models._interview_session import InterviewSession
from control_plane.db.models._refresh_token import RefreshToken
from control_plane.db.models._summary import Summary
from control_plane.db.models._transcript_segment import TranscriptSegment
from control_plane.db.models._user import User
from control_plane.db.models._webhook_event import WebhookEvent

__all__ = (
    "InterviewSession",
    "RefreshToken",
    "SessionStatus",
    "Speaker",
    "Summary",
    "SummaryStatus",
    "TranscriptSegment",
    "User",
    "UserRole",
    "WebhookEvent",
)
