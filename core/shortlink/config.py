"""Settings from the environment. Every variable and default is listed in the README."""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from urllib.parse import quote, urlsplit

from shortlink.adapters.redis_connection import RedisUrlError, parse_redis_url
from shortlink.domain.errors import InvalidRateLimit, InvalidUrl
from shortlink.domain.oidc import GroupRole, parse_group_roles
from shortlink.domain.rate_limits import RateLimit, parse_rate_limit
from shortlink.domain.service_accounts import parse_service_account_roles
from shortlink.domain.urls import UrlPolicy


class ConfigError(Exception):
    """A setting is missing or malformed; the message names the variable."""


def env_bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be true or false, not {raw!r}")


def env_int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, not {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}")
    return value


def env_port(env: Mapping[str, str], name: str, default: int, minimum: int = 1) -> int:
    port = env_int(env, name, default, minimum)
    if port > 65535:
        raise ConfigError(f"{name} must be a TCP port ({minimum}-65535), not {port}")
    return port


def env_float(env: Mapping[str, str], name: str, default: float, minimum: float = 0) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, not {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum:g}")
    return value


def env_rate_limit(env: Mapping[str, str], name: str, default: str) -> RateLimit:
    try:
        return parse_rate_limit(env.get(name) or default)
    except InvalidRateLimit as exc:
        raise ConfigError(f"{name}: {exc.message}") from None


# Where Kubernetes mounts a pod's service-account token and the cluster's CA.
_IN_CLUSTER = "/var/run/secrets/kubernetes.io/serviceaccount"

# The drain comes out of the 10 s shutdown budget (http/limits.py): leave in-flight
# requests most of it.
MAX_SHUTDOWN_DRAIN = 5.0

# Below the Redis writer fence (15 s) less the redirector's read budget: see Settings.
MAX_READ_LAG = 10.0

_LOG_LEVELS = frozenset({"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"})


_EVENT_TRANSPORTS = ("kafka", "redis", "off")
_KAFKA_COMPRESSIONS = ("zstd", "lz4", "gzip", "snappy", "none")


def _events(env: Mapping[str, str]) -> str:
    # Kafka when a broker is named, unless told otherwise.
    default = "kafka" if env.get("KAFKA_BOOTSTRAP_SERVERS") else "off"
    return (env.get("SHORTLINK_EVENTS") or default).lower()


def env_list(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in env.get(name, "").split(",") if item.strip())


# Secrets may come as files (a Kubernetes Secret volume, Docker secrets): NAME_FILE
# names a file holding NAME's value, so the value is never in the process environment.
SECRET_VARIABLES = (
    "DATABASE_URL",
    "DATABASE_READ_URL",
    "SHORTLINK_DATABASE_PASSWORD",
    "REDIS_URL",
    "SHORTLINK_SECRET_KEY",
    "SHORTLINK_INITIAL_API_KEY",
    "SHORTLINK_ANALYTICS_SALT",
    "CLICKHOUSE_URL",
    "SHORTLINK_OIDC_CLIENT_SECRET",
)


def secrets_from_files(env: Mapping[str, str]) -> Mapping[str, str]:
    """``env`` with each ``NAME_FILE`` of SECRET_VARIABLES read into NAME (one trailing
    newline dropped, as files written by editors and ``echo`` end with one)."""
    files = {name: env[f"{name}_FILE"] for name in SECRET_VARIABLES if env.get(f"{name}_FILE")}
    if not files:
        return env
    merged = dict(env)
    for name, path in files.items():
        if env.get(name):
            raise ConfigError(f"{name} and {name}_FILE are both set: give one")
        try:
            merged[name] = Path(path).read_text().removesuffix("\n").removesuffix("\r")
        except OSError as exc:
            raise ConfigError(f"{name}_FILE: can't read {path} ({exc.strerror})") from None
    return merged


def _group_roles(env: Mapping[str, str]) -> tuple[GroupRole, ...]:
    try:
        return parse_group_roles(env.get("SHORTLINK_OIDC_GROUP_ROLES", ""))
    except ValueError as exc:
        raise ConfigError(f"SHORTLINK_OIDC_GROUP_ROLES: {exc}") from None


def _service_account_roles(env: Mapping[str, str]) -> tuple[GroupRole, ...]:
    try:
        return parse_service_account_roles(env.get("SHORTLINK_SERVICE_ACCOUNT_ROLES", ""))
    except ValueError as exc:
        raise ConfigError(f"SHORTLINK_SERVICE_ACCOUNT_ROLES: {exc}") from None


def _is_http_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in {"http", "https"} and bool(parts.hostname)


def with_database_password(url: str, password: str) -> str:
    """SHORTLINK_DATABASE_PASSWORD spliced into a DATABASE_URL that names no password
    (a chart keeps the URL in its ConfigMap and only the password in a Secret)."""
    if not password:
        return url
    scheme, _, rest = url.partition("://")
    user, at, hosts = rest.partition("@")
    if not at or ":" in user:
        raise ConfigError(
            "SHORTLINK_DATABASE_PASSWORD needs a DATABASE_URL with a user and no password; "
            "this one already has a password or names no user"
        )
    return f"{scheme}://{user}:{quote(password, safe='')}@{hosts}"


@dataclass(frozen=True)
class Settings:
    database_url: str = "postgresql://shortlink@127.0.0.1:5432/shortlink"
    redis_url: str = "redis://127.0.0.1:6379/0"
    # Redirect misses read a standby here first ("" = the primary only), if it is at
    # most read_max_lag seconds behind; below the cache's 15 s writer fence, so a
    # stale read is never written back into Redis (see adapters/standby_reads.py).
    database_read_url: str = ""
    read_max_lag: float = 5.0
    base_url: str = "http://127.0.0.1:8081"
    secret_key: str = ""
    host: str = "0.0.0.0"
    api_port: int = 8080
    redirector_port: int = 8081
    api_ops_port: int = 9080
    redirector_ops_port: int = 9081
    workers: int = 1
    proxies_count: int = 0
    rate_limit: RateLimit = field(default_factory=lambda: parse_rate_limit("10/minute"))
    # API keys a non-admin owner may mint (rotation), per owner.
    key_mint_limit: RateLimit = field(default_factory=lambda: parse_rate_limit("20/hour"))
    # Passwords waiting for bcrypt per API process before creates get 503 + Retry-After.
    bcrypt_queue: int = 200
    initial_api_key: str | None = None
    allow_anonymous: bool = False
    blocked_domains: tuple[str, ...] = ()
    cache_ttl: int = 86400
    negative_cache_ttl: int = 60
    local_cache_size: int = 100_000
    local_cache_ttl: int = 30
    db_pool_min: int = 2
    db_pool_max: int = 10
    # Per-host budget to connect to one of DATABASE_URL's hosts and learn its role:
    # a black-holed or frozen host costs this much, not the whole connect.
    db_connect_timeout: float = 2.0
    # How long a write keeps retrying (3 retries, doubling pauses) across a
    # PostgreSQL failover before answering 503: the operator's default
    # failoverDelay (10 s) plus promotion and reconnecting.
    db_retry_window: float = 15.0
    # The redirector's budget for a PostgreSQL lookup before it answers 503.
    redirector_db_timeout: float = 1.0
    permanent_redirect_max_age: int = 3600
    # Public ports: a whole request must arrive within this (else 408); idle
    # keep-alive connections close after the other (above the 60 s idle timeout of
    # common load balancers, so they close first and never send into a closing socket).
    request_timeout: float = 10.0
    keep_alive_timeout: float = 75.0
    # On SIGTERM, seconds the public ports keep serving, every answer saying
    # "Connection: close", before they stop listening (http/drain.py). Taken out
    # of the 10 s in-flight requests get, so the exit bound does not move.
    shutdown_drain: float = 1.0
    log_level: str = "INFO"
    log_format: str = "json"
    # Events (clicks and link changes) on a bus: Kafka, a Redis stream (dev), or off.
    events: str = "off"
    kafka_bootstrap_servers: str = ""
    kafka_compression: str = "zstd"
    # Durability of clicks on the bus: acknowledged by every in-sync replica (with the
    # topic's min.insync.replicas=2 that survives losing a broker), retried without
    # duplicates by the idempotent producer.
    kafka_acks: str = "all"
    kafka_idempotence: bool = True
    # A production deployment: readiness then names what would lose data there
    # (a clicks topic with replication 1 or min.insync.replicas < 2).
    production: bool = False
    clicks_topic: str = "shortlink.clicks"
    links_topic: str = "shortlink.links"
    # Audit log entries, published from PostgreSQL (the outbox) by the API.
    audit_topic: str = "shortlink.audit"
    event_buffer_size: int = 100_000
    # Analytics: where clicks are stored and read back.
    clickhouse_url: str = ""
    # A ClickHouse cluster's name (or a macro, "{cluster}"): the schema is then created
    # ON CLUSTER, Replicated*MergeTree tables behind Distributed ones (unproven here:
    # no ClickHouse server or Keeper on the test machine; see charts/shortlink/README).
    clickhouse_cluster: str = ""
    analytics_embedded: bool = False
    analytics_group: str = "shortlink-analytics"
    analytics_batch_events: int = 20_000
    analytics_flush_ms: int = 1000
    analytics_port: int = 8082
    geoip_database: str = ""
    keep_raw_ip: bool = False
    # Keys the visitor-id hashes; given to the analytics worker instead of the secret key.
    analytics_salt: str = ""
    # Web UI sign-in: how long a browser session lives (seconds).
    session_ttl: int = 8 * 3600
    # Sign-in with OpenID Connect (off while no issuer is set): a public client using
    # the authorization code flow with PKCE; members are named by their e-mail address.
    oidc_issuer: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: str = ""  # "": a public client
    oidc_redirect_uri: str = ""  # "": the API's /v1/oidc/callback under SHORTLINK_BASE_URL
    oidc_scopes: str = "openid email"
    # The claim listing a person's groups, and which role each group gives where.
    oidc_roles_claim: str = "groups"
    oidc_group_roles: tuple[GroupRole, ...] = ()
    # Seconds a browser has to come back from the provider.
    oidc_login_ttl: int = 600
    # Kubernetes ServiceAccounts calling with their projected token (off while no
    # account is given a role): reviewed by the API server (TokenReview), which the API
    # reaches with its own service-account token.
    service_account_roles: tuple[GroupRole, ...] = ()
    service_account_audience: str = "shortlink"
    kubernetes_url: str = "https://kubernetes.default.svc"
    kubernetes_token_file: str = f"{_IN_CLUSTER}/token"
    kubernetes_ca_file: str = f"{_IN_CLUSTER}/ca.crt"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = secrets_from_files(os.environ if env is None else env)
        d = cls()
        rate_limit = env_rate_limit(env, "SHORTLINK_RATE_LIMIT", "10/minute")
        settings = cls(
            database_url=with_database_password(
                env.get("DATABASE_URL") or d.database_url,
                env.get("SHORTLINK_DATABASE_PASSWORD", ""),
            ),
            redis_url=env.get("REDIS_URL") or d.redis_url,
            database_read_url=with_database_password(
                env.get("DATABASE_READ_URL", ""), env.get("SHORTLINK_DATABASE_PASSWORD", "")
            )
            if env.get("DATABASE_READ_URL")
            else "",
            read_max_lag=env_float(env, "SHORTLINK_READ_MAX_LAG", d.read_max_lag, 0.1),
            base_url=(env.get("SHORTLINK_BASE_URL") or d.base_url).rstrip("/"),
            secret_key=env.get("SHORTLINK_SECRET_KEY", ""),
            host=env.get("SHORTLINK_HOST") or d.host,
            api_port=env_port(env, "SHORTLINK_API_PORT", d.api_port),
            redirector_port=env_port(env, "SHORTLINK_REDIRECTOR_PORT", d.redirector_port),
            api_ops_port=env_port(env, "SHORTLINK_API_OPS_PORT", d.api_ops_port),
            redirector_ops_port=env_port(
                env, "SHORTLINK_REDIRECTOR_OPS_PORT", d.redirector_ops_port
            ),
            workers=env_int(env, "SHORTLINK_WORKERS", d.workers, 1),
            proxies_count=env_int(env, "SHORTLINK_PROXIES_COUNT", d.proxies_count),
            rate_limit=rate_limit,
            key_mint_limit=env_rate_limit(env, "SHORTLINK_KEY_MINT_LIMIT", "20/hour"),
            bcrypt_queue=env_int(env, "SHORTLINK_BCRYPT_QUEUE", d.bcrypt_queue, 1),
            initial_api_key=env.get("SHORTLINK_INITIAL_API_KEY") or None,
            allow_anonymous=env_bool(env, "SHORTLINK_ALLOW_ANONYMOUS", d.allow_anonymous),
            blocked_domains=env_list(env, "SHORTLINK_BLOCKED_DOMAINS"),
            cache_ttl=env_int(env, "SHORTLINK_CACHE_TTL", d.cache_ttl, 1),
            negative_cache_ttl=env_int(env, "SHORTLINK_NEGATIVE_CACHE_TTL", d.negative_cache_ttl),
            local_cache_size=env_int(env, "SHORTLINK_LOCAL_CACHE_SIZE", d.local_cache_size),
            local_cache_ttl=env_int(env, "SHORTLINK_LOCAL_CACHE_TTL", d.local_cache_ttl),
            db_pool_min=env_int(env, "SHORTLINK_DB_POOL_MIN", d.db_pool_min, 1),
            db_pool_max=env_int(env, "SHORTLINK_DB_POOL_MAX", d.db_pool_max, 1),
            permanent_redirect_max_age=env_int(
                env, "SHORTLINK_PERMANENT_REDIRECT_MAX_AGE", d.permanent_redirect_max_age
            ),
            db_connect_timeout=env_float(
                env, "SHORTLINK_DB_CONNECT_TIMEOUT", d.db_connect_timeout, 0.05
            ),
            db_retry_window=env_float(env, "SHORTLINK_DB_RETRY_WINDOW", d.db_retry_window, 0),
            redirector_db_timeout=env_float(
                env, "SHORTLINK_REDIRECTOR_DB_TIMEOUT", d.redirector_db_timeout, 0.05
            ),
            request_timeout=env_float(env, "SHORTLINK_REQUEST_TIMEOUT", d.request_timeout, 0.1),
            keep_alive_timeout=env_float(
                env, "SHORTLINK_KEEP_ALIVE_TIMEOUT", d.keep_alive_timeout, 0.1
            ),
            shutdown_drain=env_float(env, "SHORTLINK_SHUTDOWN_DRAIN", d.shutdown_drain),
            log_level=(env.get("SHORTLINK_LOG_LEVEL") or d.log_level).upper(),
            log_format=env.get("SHORTLINK_LOG_FORMAT") or d.log_format,
            events=_events(env),
            kafka_bootstrap_servers=env.get("KAFKA_BOOTSTRAP_SERVERS", ""),
            kafka_compression=env.get("KAFKA_COMPRESSION") or d.kafka_compression,
            kafka_acks=(env.get("KAFKA_ACKS") or d.kafka_acks).lower(),
            kafka_idempotence=env_bool(env, "KAFKA_IDEMPOTENCE", d.kafka_idempotence),
            production=env_bool(env, "SHORTLINK_PRODUCTION", d.production),
            clicks_topic=env.get("SHORTLINK_CLICKS_TOPIC") or d.clicks_topic,
            links_topic=env.get("SHORTLINK_LINKS_TOPIC") or d.links_topic,
            audit_topic=env.get("SHORTLINK_AUDIT_TOPIC") or d.audit_topic,
            event_buffer_size=env_int(env, "SHORTLINK_EVENT_BUFFER", d.event_buffer_size, 1),
            clickhouse_url=env.get("CLICKHOUSE_URL", ""),
            clickhouse_cluster=env.get("CLICKHOUSE_CLUSTER", ""),
            analytics_embedded=env_bool(env, "SHORTLINK_ANALYTICS_EMBEDDED", d.analytics_embedded),
            analytics_group=env.get("SHORTLINK_ANALYTICS_GROUP") or d.analytics_group,
            analytics_batch_events=env_int(
                env, "SHORTLINK_ANALYTICS_BATCH", d.analytics_batch_events, 1
            ),
            analytics_flush_ms=env_int(
                env, "SHORTLINK_ANALYTICS_FLUSH_MS", d.analytics_flush_ms, 1
            ),
            analytics_port=env_port(env, "SHORTLINK_ANALYTICS_PORT", d.analytics_port),
            geoip_database=env.get("SHORTLINK_GEOIP_DATABASE", ""),
            keep_raw_ip=env_bool(env, "SHORTLINK_KEEP_RAW_IP", d.keep_raw_ip),
            analytics_salt=env.get("SHORTLINK_ANALYTICS_SALT", ""),
            session_ttl=env_int(env, "SHORTLINK_SESSION_TTL", d.session_ttl, 60),
            oidc_issuer=(env.get("SHORTLINK_OIDC_ISSUER") or "").rstrip("/"),
            oidc_client_id=env.get("SHORTLINK_OIDC_CLIENT_ID", ""),
            oidc_client_secret=env.get("SHORTLINK_OIDC_CLIENT_SECRET", ""),
            oidc_redirect_uri=env.get("SHORTLINK_OIDC_REDIRECT_URI", ""),
            oidc_scopes=env.get("SHORTLINK_OIDC_SCOPES") or d.oidc_scopes,
            oidc_roles_claim=env.get("SHORTLINK_OIDC_ROLES_CLAIM") or d.oidc_roles_claim,
            oidc_group_roles=_group_roles(env),
            oidc_login_ttl=env_int(env, "SHORTLINK_OIDC_LOGIN_TTL", d.oidc_login_ttl, 30),
            service_account_roles=_service_account_roles(env),
            service_account_audience=env.get("SHORTLINK_SERVICE_ACCOUNT_AUDIENCE")
            or d.service_account_audience,
            kubernetes_url=(env.get("SHORTLINK_KUBERNETES_URL") or d.kubernetes_url).rstrip("/"),
            kubernetes_token_file=env.get("SHORTLINK_KUBERNETES_TOKEN_FILE")
            or d.kubernetes_token_file,
            kubernetes_ca_file=env.get("SHORTLINK_KUBERNETES_CA_FILE") or d.kubernetes_ca_file,
        )
        settings.validate()
        return settings

    def validate(self) -> None:
        if not _is_http_url(self.base_url):
            raise ConfigError(f"SHORTLINK_BASE_URL must be an http(s) URL, not {self.base_url!r}")
        if self.log_level not in _LOG_LEVELS:
            raise ConfigError(
                f"SHORTLINK_LOG_LEVEL must be one of {', '.join(sorted(_LOG_LEVELS))}"
            )
        if self.log_format not in {"json", "text"}:
            raise ConfigError("SHORTLINK_LOG_FORMAT must be 'json' or 'text'")
        if self.events not in _EVENT_TRANSPORTS:
            raise ConfigError(f"SHORTLINK_EVENTS must be one of {', '.join(_EVENT_TRANSPORTS)}")
        if self.events == "kafka" and not self.kafka_bootstrap_servers:
            raise ConfigError("SHORTLINK_EVENTS=kafka needs KAFKA_BOOTSTRAP_SERVERS")
        if self.kafka_compression not in _KAFKA_COMPRESSIONS:
            raise ConfigError(f"KAFKA_COMPRESSION must be one of {', '.join(_KAFKA_COMPRESSIONS)}")
        if self.kafka_acks not in {"all", "1"}:
            raise ConfigError("KAFKA_ACKS must be all or 1")
        if self.kafka_idempotence and self.kafka_acks != "all":
            raise ConfigError("KAFKA_IDEMPOTENCE needs KAFKA_ACKS=all (or KAFKA_IDEMPOTENCE=false)")
        if self.analytics_embedded and not self.clickhouse_url:
            raise ConfigError("SHORTLINK_ANALYTICS_EMBEDDED needs CLICKHOUSE_URL")
        for public, ops, name in (
            (self.api_port, self.api_ops_port, "SHORTLINK_API_OPS_PORT"),
            (self.redirector_port, self.redirector_ops_port, "SHORTLINK_REDIRECTOR_OPS_PORT"),
        ):
            if public == ops:
                raise ConfigError(f"{name} must differ from the public port ({public})")
        if self.shutdown_drain > MAX_SHUTDOWN_DRAIN:
            raise ConfigError(f"SHORTLINK_SHUTDOWN_DRAIN must be at most {MAX_SHUTDOWN_DRAIN:g}")
        try:
            parse_redis_url(self.redis_url)
        except RedisUrlError as exc:
            raise ConfigError(str(exc)) from None
        if self.read_max_lag > MAX_READ_LAG:
            raise ConfigError(f"SHORTLINK_READ_MAX_LAG must be at most {MAX_READ_LAG:g}")
        if self.db_pool_min > self.db_pool_max:
            raise ConfigError("SHORTLINK_DB_POOL_MIN must not exceed SHORTLINK_DB_POOL_MAX")
        self._validate_oidc()
        if self.service_account_roles and urlsplit(self.kubernetes_url).scheme != "https":
            raise ConfigError("SHORTLINK_KUBERNETES_URL must be an https URL")
        try:
            self.url_policy  # noqa: B018 - builds (and so checks) the blocked domains
        except InvalidUrl:
            raise ConfigError(
                "SHORTLINK_BLOCKED_DOMAINS must list domain names "
                f"(not {', '.join(self.blocked_domains)!r})"
            ) from None

    @property
    def oidc_enabled(self) -> bool:
        return bool(self.oidc_issuer)

    @property
    def oidc_callback_url(self) -> str:
        return self.oidc_redirect_uri or f"{self.base_url}/v1/oidc/callback"

    def _validate_oidc(self) -> None:
        if not self.oidc_enabled:
            return
        if not _is_http_url(self.oidc_issuer):
            raise ConfigError("SHORTLINK_OIDC_ISSUER must be an http(s) URL")
        if not self.oidc_client_id:
            raise ConfigError("SHORTLINK_OIDC_ISSUER needs SHORTLINK_OIDC_CLIENT_ID")
        if not _is_http_url(self.oidc_callback_url):
            raise ConfigError("SHORTLINK_OIDC_REDIRECT_URI must be an http(s) URL")
        if "openid" not in self.oidc_scopes.split():
            raise ConfigError("SHORTLINK_OIDC_SCOPES must include openid")

    def require_secret(self) -> None:
        # Unlock tokens are signed with it; API and redirector must share one.
        if len(self.secret_key) < 32:
            raise ConfigError("SHORTLINK_SECRET_KEY must be set (at least 32 characters)")

    def require_analytics_salt(self) -> None:
        if len(self.analytics_salt) < 32 and len(self.secret_key) < 32:
            raise ConfigError(
                "SHORTLINK_ANALYTICS_SALT (or SHORTLINK_SECRET_KEY) must be set "
                "(at least 32 characters): it keys the visitor-id hashes"
            )

    @property
    def visitor_salt(self) -> bytes:
        """SHORTLINK_ANALYTICS_SALT, else one derived from the secret key: never the
        secret key itself, so whoever holds the salt can't sign unlock tokens."""
        if self.analytics_salt:
            return self.analytics_salt.encode()
        return hmac.new(self.secret_key.encode(), b"shortlink visitor ids", hashlib.sha256).digest()

    @property
    def public_origin(self) -> str:
        """scheme://host[:port] of SHORTLINK_BASE_URL: what browsers send as Origin."""
        base = urlsplit(self.base_url)
        return f"{base.scheme}://{base.netloc}".lower()

    @property
    def secure_cookies(self) -> bool:
        """Cookies get Secure when the public base URL is https, whatever scheme the
        request reached us with (TLS usually ends at the ingress)."""
        return urlsplit(self.base_url).scheme == "https"

    @cached_property
    def url_policy(self) -> UrlPolicy:
        return UrlPolicy.build(self.blocked_domains, [urlsplit(self.base_url).hostname or ""])

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]
