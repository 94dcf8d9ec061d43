"""Gateway settings: defaults for a first run, a YAML file for real deployments, env overrides.

Precedence: command-line flags > ``GUARDRAIL_*`` environment variables > config file >
defaults. Secrets (API keys, app secrets, upstream tokens) are held as ``SecretStr`` or
only as hashes, so they never end up in logs or reprs.
"""

from __future__ import annotations

import hashlib
import os
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from guardrail.durations import Duration
from guardrail.platforms.registry import UpstreamConfig
from guardrail.problems import Problem, ProblemError, at, compose, construct, validation_problems

DEFAULT_TENANT = "default"
AUDIT_KEY_FILE = "guardrail-audit.key"
"""The audit key file's name when ``audit_key_file`` is unset (beside the config file)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


Role = Literal["bot", "ingest", "auditor", "admin", "operator"]


class ApiKeyConfig(_Strict):
    """One API key, stored as the SHA-256 of the key; give ``key`` only in local files.

    Roles: ``bot`` asks for outreach decisions and posts receipts; ``ingest`` posts what
    users did (messages, opt-ins, opt-outs, receipts: the platform's side, never the bot's);
    ``auditor`` reads the audit log; ``admin`` does everything, in its own tenant;
    ``operator`` does everything in any tenant a request names (``X-Guardrail-Tenant``, each
    use recorded in that tenant's audit log), else in its own: the gateway operator's key.
    """

    name: str = Field(description="label used in logs instead of the key")
    tenant: str | None = Field(
        default=None,
        description="the key's tenant; an operator key may leave it out (then: default)",
    )
    bots: list[str] = Field(default_factory=lambda: ["*"], description='"*" = every bot')
    role: Role = "bot"
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    key: SecretStr | None = None

    @model_validator(mode="after")
    def _one_secret(self) -> ApiKeyConfig:
        if (self.sha256 is None) == (self.key is None):
            raise ValueError("give exactly one of sha256 or key")
        if self.tenant is None and self.role != "operator":
            raise ValueError("give the key's tenant (only an operator key may leave it out)")
        return self

    @property
    def home_tenant(self) -> str:
        """The tenant the key acts in unless a request names another (operators only)."""
        return self.tenant or DEFAULT_TENANT

    def digest(self) -> str:
        if self.sha256 is not None:
            return self.sha256
        assert self.key is not None
        return hash_key(self.key.get_secret_value())


class BotConfig(_Strict):
    tenant: str = DEFAULT_TENANT
    upstream: UpstreamConfig | None = None
    forwards_user_events: bool = Field(
        default=False,
        description="this bot's engine is where user messages, opt-ins and opt-outs come from, "
        "so its bot key may post them; they are recorded as the bot's evidence, and an opt-in "
        "it forwards never lifts an opt-out the user made elsewhere",
    )
    proxy_token_sha256: str | None = Field(
        default=None,
        pattern=r"^[0-9a-f]{64}$",
        description="SHA-256 of the token the bot's own platform client sends to guardrail's "
        "proxy (never the real platform token, which stays in upstream.token_env)",
    )
    proxy_media: Literal["refuse", "pass"] = Field(
        default="refuse",
        description="media guardrail cannot inspect (photos, files, stickers): refused, or "
        "passed through with only their caption guarded",
    )
    proxy_unguarded: Literal["pass", "refuse"] = Field(
        default="pass",
        description="platform calls that send nothing to a user (getMe, getUpdates, "
        "setWebhook...): forwarded untouched, or refused",
    )
    proxy_unknown: Literal["refuse", "pass"] = Field(
        default="refuse",
        description="platform calls the proxy does not know (a new Bot API method, a Graph "
        "endpoint it does not read): they may show a user text nobody checked, so they are "
        "refused, or forwarded untouched",
    )


class ReviewWebhookConfig(_Strict):
    """The operator's review webhook: where crisis and review notices go, signed, retried."""

    url: str
    secret: SecretStr
    retries: int = Field(default=5, ge=0, le=10)
    backoff_s: float = Field(default=0.5, ge=0, le=30)
    timeout_s: float = Field(default=5.0, gt=0, le=60)
    include_text: bool = Field(
        default=False, description="send the user's message too (reviewers' context; it is PII)"
    )


class AuditWitnessConfig(_Strict):
    """Where the gateway publishes the audit log's signed head (seq, hash, time), so that a
    log cut short or rolled back to an older copy fails verification against it."""

    file: Path | None = Field(
        default=None,
        description="a file the head is written to (keep it off the log's disk and out of "
        "reach of whoever can write the log); `guardrail audit verify` checks against it",
    )
    url: str | None = Field(default=None, description="a webhook the head is POSTed to (JSON)")
    interval: Duration = Field(
        default=timedelta(minutes=5), description="how often the head is published"
    )


class RetentionConfig(_Strict):
    """How long state is kept, and how often the background prune runs.

    Each duration is a floor raised to the longest look-back of the active policies, so a
    prune never drops what a rule still reads (a 7-day cap keeps 7 days of sends)."""

    enabled: bool = True
    interval: Duration = Field(default=timedelta(hours=1), description="how often prune runs")
    messages: Duration = Field(default=timedelta(days=90), description="user and sent messages")
    risk: Duration = Field(
        default=timedelta(days=30),
        description="self-harm and dependency signals (health data: kept no longer than needed)",
    )
    records: Duration = Field(
        default=timedelta(days=5 * 365),
        description="consent and first-contact records, from their last change",
    )


class WhatsAppNumber(_Strict):
    tenant: str = DEFAULT_TENANT
    bot: str


class WhatsAppConfig(_Strict):
    app_secret: SecretStr
    verify_token: SecretStr | None = None
    phone_numbers: dict[str, WhatsAppNumber] = Field(
        default_factory=dict, description="phone_number_id → the bot that number belongs to"
    )


class MetaWebhookConfig(_Strict):
    """Messenger and Instagram inbound webhooks (one Meta app; pages and accounts by id)."""

    app_secret: SecretStr
    verify_token: SecretStr | None = None
    pages: dict[str, WhatsAppNumber] = Field(
        default_factory=dict,
        description="Facebook page id or Instagram account id → the bot it belongs to",
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GUARDRAIL_", extra="forbid")

    host: str = "127.0.0.1"
    port: int = 8080
    db: str | None = Field(default=None, description="SQLite file (default ./guardrail.db)")
    redis_url: str | None = None
    redis_prefix: str = Field(
        default="gr", min_length=1, pattern=r"^[^{}]+$", description="Redis key prefix"
    )
    redis_allow_eviction: bool = Field(
        default=False,
        description="start, and answer /readyz, even when the Redis server may evict keys "
        "(a maxmemory-policy other than noeviction, or one guardrail cannot read because "
        "CONFIG and INFO are disabled): opt-outs and risk holds could then vanish under "
        "memory pressure. Only for a server you know never evicts (see the README)",
    )
    policy: Path | None = Field(default=None, description="policy file; built-in default if unset")
    api_key: SecretStr | None = Field(
        default=None,
        description="the operator's key (role operator): acts in the default tenant, and in "
        "any other a request names with X-Guardrail-Tenant (first runs need nothing else)",
    )
    keys: list[ApiKeyConfig] = Field(default_factory=list)
    bots: dict[str, BotConfig] = Field(default_factory=dict)
    default_upstream: UpstreamConfig | None = None
    whatsapp: WhatsAppConfig | None = None
    meta: MetaWebhookConfig | None = None
    assessor: str = Field(
        default="classifier",
        description="self-harm assessor of user messages: lexicon (EN/FR), classifier "
        "(the classifier stack, lexicon until it loads) or none",
    )
    classifiers: bool = Field(
        default=True,
        description="load the classifier stack (MiniLM + heads) in the background at start-up",
    )
    classifiers_config: Path | None = Field(
        default=None, description="YAML list of extra classifier backends (hf, detoxify)"
    )
    blas_threads: int = Field(
        default=1,
        ge=1,
        description="BLAS threads per process for the classifier heads and encoder: the "
        "heads' small matrix products lose to thread start-up and spinning when given "
        "more; scale with `serve --workers` instead",
    )
    review_webhook: ReviewWebhookConfig | None = Field(
        default=None, description="where crisis notifications go (signed, retried)"
    )
    retention: RetentionConfig = Field(default_factory=RetentionConfig)
    max_text_chars: int = Field(default=4096, ge=1)
    classify_max_in_flight: int = Field(
        default=256,
        ge=1,
        description="texts one tenant may have in /v1/classify at once, per process; more "
        "is refused (429) so bulk traffic cannot queue ahead of other tenants' work",
    )
    max_body_bytes: int = Field(default=256 * 1024, ge=1024)
    trust_client_time: bool = Field(
        default=False, description="accept any outreach ts (history replay, tests)"
    )
    client_time_skew: timedelta = Field(
        default=timedelta(minutes=5),
        description="how far an outreach ts may stray from the gateway clock, and how far "
        "ahead of it an event's ts may be",
    )
    event_max_age: timedelta | None = Field(
        default=None,
        description="refuse events older than this (None: only the year-2000 floor applies)",
    )
    log_level: str = "info"
    log_format: Literal["text", "json"] = Field(
        default="text",
        description="json: one JSON object per log line, the access log on, and a line per "
        "decision (GUARDRAIL_LOG_FORMAT=json)",
    )
    metrics_key: SecretStr | None = Field(
        default=None,
        min_length=16,
        description="a key that may read /metrics and nothing else (GUARDRAIL_METRICS_KEY), "
        "for the scraper; the operator's admin keys may read it too",
    )
    metrics_public: bool = Field(
        default=False,
        description="serve /metrics without a key: only where no tenant can reach the "
        "gateway's port (the metrics cover every tenant)",
    )
    metrics_tenant_labels: bool = Field(
        default=False,
        description="name tenant- and bot-specific policies in metric labels (otherwise "
        "they are counted as 'tenant-policy')",
    )
    body_read_timeout_s: float = Field(
        default=10.0,
        gt=0,
        le=300,
        description="a request body must arrive whole within this many seconds (else 408)",
    )
    max_slow_bodies: int = Field(
        default=32,
        ge=1,
        description="request bodies still arriving after slow_body_s at once; more are "
        "refused with 503 at once",
    )
    slow_body_s: float = Field(
        default=1.0, gt=0, description="a body not in by then counts as slow"
    )
    audit_db: str | None = Field(
        default=None,
        description="SQLite file of the audit log (default: <state db stem>-audit.db beside it)",
    )
    audit_url: str | None = Field(
        default=None,
        description="PostgreSQL URL of a shared audit log (several replicas, one chain)",
    )
    audit_key: SecretStr | None = Field(
        default=None,
        min_length=16,
        description="the audit key (GUARDRAIL_AUDIT_KEY): seals the chain, signs heads and "
        "checkpoints, keys pseudonyms and text hashes; never stored in the log",
    )
    audit_previous_keys: list[SecretStr] = Field(
        default_factory=list,
        description="earlier audit keys, to verify records sealed before a rotation",
    )
    audit_key_file: Path | None = Field(
        default=None,
        description="the audit key file (mode 0600): read when it exists, written at the "
        f"first start when no key is configured [default: {AUDIT_KEY_FILE} beside the "
        "config file, or in the working folder]",
    )
    audit_key_provider: str | None = Field(
        default=None,
        description="'package.module:callable' returning a key provider (a KMS hook)",
    )
    audit_witness: AuditWitnessConfig | None = Field(
        default=None, description="where the audit log's signed head is published"
    )
    audit_synchronous: Literal["NORMAL", "FULL"] = Field(
        default="NORMAL",
        description="SQLite audit log sync: NORMAL survives kill -9, FULL also power loss",
    )
    audit_per_replica: bool = Field(
        default=False,
        description="with redis_url and no audit_url: let each replica keep its own SQLite "
        "audit log (several chains, and pseudonyms that differ unless audit_key is set)",
    )

    @model_validator(mode="after")
    def _one_store(self) -> Settings:
        if self.db and self.redis_url:
            raise ValueError("choose one store: db (SQLite) or redis_url, not both")
        return self

    @model_validator(mode="after")
    def _one_audit_log(self) -> Settings:
        if self.audit_db and self.audit_url:
            raise ValueError("choose one audit log: audit_db (SQLite) or audit_url, not both")
        return self

    @model_validator(mode="after")
    def _shared_audit_log(self) -> Settings:
        """Replicas on one Redis must share one audit log, or say they do not on purpose."""
        if self.redis_url and not (self.audit_url or self.audit_db or self.audit_per_replica):
            raise ValueError(
                "redis_url (several replicas) needs a shared audit log: set audit_url to a "
                "PostgreSQL database, audit_db to one file every process on this host opens, "
                "or audit_per_replica: true to keep one log per replica (one chain each)"
            )
        return self

    def all_keys(self) -> list[ApiKeyConfig]:
        keys = list(self.keys)
        if self.api_key is not None:
            keys.append(
                ApiKeyConfig(
                    name="GUARDRAIL_API_KEY",
                    tenant=DEFAULT_TENANT,
                    role="operator",
                    key=self.api_key,
                )
            )
        return keys


def audit_db_path(settings: Settings) -> str:
    """``audit_db``, else ``<state db stem>-audit.db`` beside the state database."""
    if settings.audit_db:
        return settings.audit_db
    state = settings.db or "guardrail.db"
    if state == ":memory:":
        return ":memory:"
    path = Path(state)
    return str(path.with_name(f"{path.stem}-audit{path.suffix or '.db'}"))


def audit_key_file_path(settings: Settings) -> Path:
    """``audit_key_file``, else ``guardrail-audit.key`` in the working folder."""
    return settings.audit_key_file or Path(AUDIT_KEY_FILE)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ConfigError(ProblemError):
    """A gateway configuration that cannot be used: each problem names the file and line,
    or the environment variable or command-line value, it comes from."""


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Settings from an optional YAML file, the environment, then explicit overrides.

    Raises :class:`ConfigError` with ``file:line:column: key: message (did you mean …)``
    for what the file says, ``GUARDRAIL_<KEY>: message`` for the environment and
    ``--<option>: message`` for overrides."""
    source = str(config_file) if config_file is not None else "<config>"
    root: yaml.Node | None = None
    file_values: dict[str, Any] = {}
    if config_file is not None:
        try:
            text = config_file.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(
                [Problem(source, 0, 0, f"cannot read: {exc.strerror or exc}")]
            ) from exc
        try:
            root = compose(text, source)
            loaded = construct(root) if root is not None else None
        except ProblemError as exc:
            raise ConfigError(exc.problems) from exc
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError([at(root, "the config file must be a mapping", source)])
        file_values = loaded or {}
    if config_file is not None:  # the audit key file lives beside the config by default
        file_values.setdefault("audit_key_file", str(config_file.parent / AUDIT_KEY_FILE))
    try:
        env = Settings()  # reads GUARDRAIL_* only
    except ValidationError as exc:
        raise ConfigError(_outside_problems(exc, "GUARDRAIL_")) from exc
    from_env = env.model_dump(exclude_unset=True)
    given = {k: v for k, v in overrides.items() if v is not None}
    merged = {**file_values, **from_env, **given}
    try:
        return Settings.model_validate(merged)
    except ValidationError as exc:
        problems = validation_problems(exc, root, source, Settings)
        outside = {k: f"GUARDRAIL_{k.upper()}" for k in from_env}
        outside |= {k: f"--{k.replace('_', '-')}" for k in given}
        raise ConfigError(_sourced(problems, exc, outside)) from exc


def _sourced(
    problems: list[Problem], exc: ValidationError, outside: dict[str, str]
) -> list[Problem]:
    """Name the environment variable or option behind an error that is not the file's."""
    out = []
    for problem, err in zip(problems, exc.errors(), strict=True):
        top = str(err["loc"][0]) if err["loc"] else ""
        prefix = outside.get(top)
        if prefix is None:
            out.append(problem)
            continue
        name = (
            f"GUARDRAIL_{top.upper()}" if prefix == "GUARDRAIL_" else f"--{top.replace('_', '-')}"
        )
        message = problem.message.split(": ", 1)[-1]
        out.append(Problem(name, 0, 0, message))
    return out


def _outside_problems(exc: ValidationError, prefix: str) -> list[Problem]:
    """Errors in ``GUARDRAIL_*`` variables, each named by its variable."""
    problems = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"])
        problems.append(Problem(f"{prefix}{key.upper()}", 0, 0, err["msg"]))
    return problems


def missing_secrets(settings: Settings) -> list[Problem]:
    """Secrets the settings name but the environment does not hold (an upstream's
    ``token_env``): found at start-up, one line each, not as a traceback mid-request."""
    upstreams = {f"bots.{bot}.upstream": cfg.upstream for bot, cfg in settings.bots.items()}
    upstreams["default_upstream"] = settings.default_upstream
    problems = []
    for where, upstream in upstreams.items():
        if upstream is None or upstream.token_env is None:
            continue
        if not os.environ.get(upstream.token_env):
            problems.append(
                Problem(
                    f"{where}.token_env",
                    0,
                    0,
                    f"environment variable {upstream.token_env} is not set",
                )
            )
    return problems
