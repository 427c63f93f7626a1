import pytest

from shortlink.config import ConfigError, Settings
from shortlink.domain.errors import InvalidUrl
from shortlink.domain.rate_limits import RateLimit
from shortlink.domain.urls import validate_target_url


def test_empty_env_gives_defaults():
    settings = Settings.from_env({})
    assert settings == Settings()
    assert settings.base_url == "http://127.0.0.1:8081"
    assert settings.rate_limit == RateLimit(10, 60)
    assert settings.secret_key == ""
    assert settings.initial_api_key is None
    assert settings.blocked_domains == ()
    assert (settings.api_port, settings.redirector_port, settings.workers) == (8080, 8081, 1)
    assert (settings.api_ops_port, settings.redirector_ops_port) == (9080, 9081)
    assert settings.redirector_db_timeout == 1.0


def test_empty_strings_fall_back_to_defaults():
    env = {"SHORTLINK_API_PORT": "", "SHORTLINK_ALLOW_ANONYMOUS": "", "SHORTLINK_RATE_LIMIT": ""}
    assert Settings.from_env(env) == Settings()


@pytest.mark.parametrize(
    ("name", "raw", "field", "value"),
    [
        ("DATABASE_URL", "postgresql://u@db/x", "database_url", "postgresql://u@db/x"),
        ("REDIS_URL", "redis://cache:6379/1", "redis_url", "redis://cache:6379/1"),
        ("SHORTLINK_BASE_URL", "https://sho.rt/", "base_url", "https://sho.rt"),
        ("SHORTLINK_SECRET_KEY", "s" * 20, "secret_key", "s" * 20),
        ("SHORTLINK_HOST", "127.0.0.1", "host", "127.0.0.1"),
        ("SHORTLINK_API_PORT", "9000", "api_port", 9000),
        ("SHORTLINK_REDIRECTOR_PORT", "9001", "redirector_port", 9001),
        ("SHORTLINK_API_OPS_PORT", "9100", "api_ops_port", 9100),
        ("SHORTLINK_REDIRECTOR_OPS_PORT", "9101", "redirector_ops_port", 9101),
        ("SHORTLINK_REDIRECTOR_DB_TIMEOUT", "0.25", "redirector_db_timeout", 0.25),
        ("SHORTLINK_REQUEST_TIMEOUT", "2.5", "request_timeout", 2.5),
        ("SHORTLINK_KEEP_ALIVE_TIMEOUT", "5", "keep_alive_timeout", 5.0),
        ("SHORTLINK_SHUTDOWN_DRAIN", "0", "shutdown_drain", 0.0),
        ("SHORTLINK_WORKERS", "4", "workers", 4),
        ("SHORTLINK_PROXIES_COUNT", "2", "proxies_count", 2),
        ("SHORTLINK_RATE_LIMIT", "100/hour", "rate_limit", RateLimit(100, 3600)),
        ("SHORTLINK_INITIAL_API_KEY", "sl_x", "initial_api_key", "sl_x"),
        ("SHORTLINK_ALLOW_ANONYMOUS", "yes", "allow_anonymous", True),
        ("SHORTLINK_BLOCKED_DOMAINS", " a.com, ,b.org ,", "blocked_domains", ("a.com", "b.org")),
        ("SHORTLINK_CACHE_TTL", "10", "cache_ttl", 10),
        ("SHORTLINK_NEGATIVE_CACHE_TTL", "0", "negative_cache_ttl", 0),
        ("SHORTLINK_LOCAL_CACHE_SIZE", "0", "local_cache_size", 0),
        ("SHORTLINK_LOCAL_CACHE_TTL", "5", "local_cache_ttl", 5),
        ("SHORTLINK_DB_POOL_MIN", "1", "db_pool_min", 1),
        ("SHORTLINK_DB_POOL_MAX", "50", "db_pool_max", 50),
        ("SHORTLINK_LOG_LEVEL", "debug", "log_level", "DEBUG"),
        ("SHORTLINK_LOG_FORMAT", "text", "log_format", "text"),
    ],
)
def test_each_variable_is_parsed(name, raw, field, value):
    assert getattr(Settings.from_env({name: raw}), field) == value


@pytest.mark.parametrize(
    ("raw", "value"),
    [("1", True), ("TRUE", True), ("on", True), ("0", False), ("False", False), ("off", False)],
)
def test_bool_spellings(raw, value):
    assert Settings.from_env({"SHORTLINK_ALLOW_ANONYMOUS": raw}).allow_anonymous is value


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"SHORTLINK_API_PORT": "eighty"}, "SHORTLINK_API_PORT"),
        ({"SHORTLINK_API_PORT": "0"}, "SHORTLINK_API_PORT"),
        ({"SHORTLINK_WORKERS": "1.5"}, "SHORTLINK_WORKERS"),
        ({"SHORTLINK_PROXIES_COUNT": "-1"}, "SHORTLINK_PROXIES_COUNT"),
        ({"SHORTLINK_CACHE_TTL": "0"}, "SHORTLINK_CACHE_TTL"),
        ({"SHORTLINK_ALLOW_ANONYMOUS": "maybe"}, "SHORTLINK_ALLOW_ANONYMOUS"),
        ({"SHORTLINK_RATE_LIMIT": "lots"}, "SHORTLINK_RATE_LIMIT"),
        ({"SHORTLINK_RATE_LIMIT": "0/minute"}, "SHORTLINK_RATE_LIMIT"),
        ({"SHORTLINK_BASE_URL": "ftp://sho.rt"}, "SHORTLINK_BASE_URL"),
        ({"SHORTLINK_BASE_URL": "sho.rt"}, "SHORTLINK_BASE_URL"),
        ({"SHORTLINK_BASE_URL": "https://"}, "SHORTLINK_BASE_URL"),
        ({"SHORTLINK_LOG_FORMAT": "xml"}, "SHORTLINK_LOG_FORMAT"),
        ({"SHORTLINK_DB_POOL_MIN": "5", "SHORTLINK_DB_POOL_MAX": "4"}, "SHORTLINK_DB_POOL_MIN"),
        ({"SHORTLINK_DB_POOL_MAX": "1"}, "SHORTLINK_DB_POOL_MAX"),  # default min 2 > 1
        ({"SHORTLINK_API_OPS_PORT": "8080"}, "SHORTLINK_API_OPS_PORT"),  # the public port
        ({"SHORTLINK_REDIRECTOR_OPS_PORT": "8081"}, "SHORTLINK_REDIRECTOR_OPS_PORT"),
        ({"SHORTLINK_REDIRECTOR_DB_TIMEOUT": "0"}, "SHORTLINK_REDIRECTOR_DB_TIMEOUT"),
        ({"SHORTLINK_REQUEST_TIMEOUT": "soon"}, "SHORTLINK_REQUEST_TIMEOUT"),
        ({"SHORTLINK_SHUTDOWN_DRAIN": "-1"}, "SHORTLINK_SHUTDOWN_DRAIN"),
        ({"SHORTLINK_SHUTDOWN_DRAIN": "5.5"}, "SHORTLINK_SHUTDOWN_DRAIN"),  # over the cap
    ],
)
def test_bad_values_raise_config_error_naming_the_variable(env, variable):
    with pytest.raises(ConfigError, match=variable):
        Settings.from_env(env)


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"SHORTLINK_API_PORT": "70000"}, "SHORTLINK_API_PORT"),
        ({"SHORTLINK_LOG_LEVEL": "verbose"}, "SHORTLINK_LOG_LEVEL"),
    ],
)
def test_out_of_range_port_and_unknown_log_level_are_config_errors(env, variable):
    with pytest.raises(ConfigError, match=variable):
        Settings.from_env(env)


@pytest.mark.parametrize("secret", ["", "short", "x" * 31])
def test_require_secret_refuses_short_secrets(secret):
    with pytest.raises(ConfigError, match="SHORTLINK_SECRET_KEY"):
        Settings.from_env({"SHORTLINK_SECRET_KEY": secret}).require_secret()


def test_require_secret_accepts_32_characters():
    assert Settings.from_env({"SHORTLINK_SECRET_KEY": "x" * 32}).require_secret() is None


def test_url_policy_refuses_the_base_url_host_and_blocked_domains():
    settings = Settings.from_env(
        {"SHORTLINK_BASE_URL": "https://SHO.RT:8443/", "SHORTLINK_BLOCKED_DOMAINS": "bad.com"}
    )
    policy = settings.url_policy
    assert policy.own_hosts == frozenset({"sho.rt"})
    for url in ["https://sho.rt/abc", "http://go.sho.rt/", "https://bad.com/"]:
        with pytest.raises(InvalidUrl):
            validate_target_url(url, policy)
    assert validate_target_url("https://fine.com/", policy) == "https://fine.com/"


def test_with_overrides_returns_a_changed_copy():
    base = Settings.from_env({})
    changed = base.with_overrides(workers=8)
    assert changed.workers == 8
    assert base.workers == 1


def test_blocked_domains_that_are_not_domain_names_are_a_config_error():
    with pytest.raises(ConfigError, match="SHORTLINK_BLOCKED_DOMAINS"):
        Settings.from_env({"SHORTLINK_BLOCKED_DOMAINS": "ok.com,bad..com"})


@pytest.mark.parametrize(("base", "secure"), [("https://sho.rt", True), ("http://sho.rt", False)])
def test_cookies_are_secure_when_the_base_url_is_https(base, secure):
    assert Settings.from_env({"SHORTLINK_BASE_URL": base}).secure_cookies is secure


def test_permanent_redirect_max_age_defaults_to_an_hour():
    assert Settings.from_env({}).permanent_redirect_max_age == 3600
    env = {"SHORTLINK_PERMANENT_REDIRECT_MAX_AGE": "60"}
    assert Settings.from_env(env).permanent_redirect_max_age == 60


SECRETS = {
    "DATABASE_URL": ("database_url", "postgresql://app:pw@db:5432/links"),
    "REDIS_URL": ("redis_url", "redis://:pw@cache:6379/0"),
    "SHORTLINK_SECRET_KEY": ("secret_key", "s" * 40),
    "SHORTLINK_INITIAL_API_KEY": ("initial_api_key", "sl_initial_0123456789"),
    "CLICKHOUSE_URL": ("clickhouse_url", "http://u:pw@ch:8123/db"),
}


@pytest.mark.parametrize("name", sorted(SECRETS))
def test_secrets_can_be_read_from_files(tmp_path, name):
    """Kubernetes mounts a Secret's keys as files: NAME_FILE names the file."""
    field, value = SECRETS[name]
    (tmp_path / name).write_text(value + "\n")  # as `kubectl create secret --from-file`
    settings = Settings.from_env({f"{name}_FILE": str(tmp_path / name)})
    assert getattr(settings, field) == value


def test_a_secret_given_twice_or_unreadable_is_a_config_error(tmp_path):
    (tmp_path / "url").write_text("redis://a:6379/0")
    both = {"REDIS_URL": "redis://b:6379/0", "REDIS_URL_FILE": str(tmp_path / "url")}
    with pytest.raises(ConfigError, match="REDIS_URL and REDIS_URL_FILE"):
        Settings.from_env(both)
    with pytest.raises(ConfigError, match="REDIS_URL_FILE"):
        Settings.from_env({"REDIS_URL_FILE": str(tmp_path / "missing")})


def test_the_database_password_joins_a_url_without_one(tmp_path):
    (tmp_path / "password").write_text("s3cr-t_\n")
    hosts = "postgresql://app@pg-0.pg:5432,pg-1.pg:5432/links?target_session_attrs=read-write"
    settings = Settings.from_env(
        {"DATABASE_URL": hosts, "SHORTLINK_DATABASE_PASSWORD_FILE": str(tmp_path / "password")}
    )
    assert settings.database_url == (
        "postgresql://app:s3cr-t_@pg-0.pg:5432,pg-1.pg:5432/links?target_session_attrs=read-write"
    )
    with pytest.raises(ConfigError, match="already has a password"):
        Settings.from_env(
            {"DATABASE_URL": "postgresql://app:x@db/links", "SHORTLINK_DATABASE_PASSWORD": "y"}
        )


def test_the_analytics_salt_is_not_the_token_signing_secret() -> None:
    """Issue 19, finding 9: the worker keys visitor ids; it must not hold what signs
    unlock tokens and seals sessions."""
    secret = "s" * 32
    derived = Settings(secret_key=secret).visitor_salt
    assert secret.encode() not in derived and derived != secret.encode()
    own = Settings.from_env({"SHORTLINK_ANALYTICS_SALT": "a" * 32})
    own.require_analytics_salt()  # enough for a worker without SHORTLINK_SECRET_KEY
    assert own.visitor_salt == b"a" * 32
    with pytest.raises(ConfigError, match="SHORTLINK_ANALYTICS_SALT"):
        Settings().require_analytics_salt()
