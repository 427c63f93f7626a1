"""Domain errors. Each carries a stable machine-readable code for API clients."""

from __future__ import annotations

from typing import Any

# Seconds a client is asked to wait after a 503 for an unreachable database: about
# what a PostgreSQL failover or a restart takes.
DATABASE_RETRY_AFTER = 5


class DomainError(Exception):
    """A rule was broken. ``code`` is the public error code (e.g. ``INVALID_URL``)."""

    code = "INVALID_REQUEST"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidRequest(DomainError):
    code = "INVALID_REQUEST"


class InvalidUrl(DomainError):
    code = "INVALID_URL"


class InvalidAlias(DomainError):
    code = "INVALID_ALIAS"


class InvalidExpiry(DomainError):
    code = "INVALID_EXPIRY"


class InvalidPassword(DomainError):
    """The password given when *setting* one is unacceptable (not a failed unlock)."""

    code = "INVALID_PASSWORD_FORMAT"


class InvalidLinkOption(DomainError):
    """A rule, variant, click limit, schedule, UTM, tag or folder is unacceptable;
    ``details['field']`` is its exact path, e.g. ``rules[2].conditions.country``."""

    code = "INVALID_LINK_OPTION"

    def __init__(self, field: str, message: str, **details: Any) -> None:
        super().__init__(f"{field}: {message}", field=field, **details)


class InvalidRateLimit(DomainError):
    code = "INVALID_RATE_LIMIT"


class NotFound(DomainError):
    code = "NOT_FOUND"


class AliasTaken(DomainError):
    code = "ALIAS_TAKEN"


class LinkExpired(DomainError):
    code = "URL_EXPIRED"


class NotPasswordProtected(DomainError):
    code = "NOT_PASSWORD_PROTECTED"


class WrongPassword(DomainError):
    code = "INVALID_PASSWORD"


class TooManyAttempts(DomainError):
    code = "TOO_MANY_ATTEMPTS"


class Unauthorized(DomainError):
    code = "UNAUTHORIZED"


class Forbidden(DomainError):
    code = "FORBIDDEN"


class Conflict(DomainError):
    """The request contradicts the current state (a workspace that exists already,
    a workspace left without an owner)."""

    code = "CONFLICT"


class ManagedByKubernetes(DomainError):
    """The link is declared by a ShortLink resource: it is changed there, not here."""

    code = "MANAGED_BY_KUBERNETES"

    def __init__(self, code: str, resource: str) -> None:
        namespace, _, name = resource.partition("/")
        super().__init__(
            f"The link '{code}' is managed by Kubernetes: edit or delete the "
            f"ShortLink {resource} instead",
            namespace=namespace,
            name=name,
        )


class RateLimited(DomainError):
    code = "RATE_LIMIT_EXCEEDED"


class BulkInvalid(DomainError):
    """Some bulk items are invalid; ``details['invalid_urls']`` lists them."""

    code = "INVALID_URLS"


class AnalyticsUnavailable(DomainError):
    """Click analytics is not configured here, or its store did not answer."""

    code = "ANALYTICS_UNAVAILABLE"


class Unavailable(DomainError):
    """Something this request needs did not answer; the client is to retry after
    ``retry_after`` seconds (echoed as Retry-After)."""

    default_message = "A service this needs is unreachable; try again shortly"

    def __init__(
        self, message: str | None = None, retry_after: int = DATABASE_RETRY_AFTER, **details: Any
    ) -> None:
        super().__init__(message or self.default_message, retry_after=retry_after, **details)


class DatabaseUnavailable(Unavailable):
    """PostgreSQL could not be reached (or no primary accepts writes), even after
    the retries that span a failover. ``retry_after`` (seconds) goes to the client."""

    code = "DATABASE_UNAVAILABLE"

    default_message = "The database is unreachable; try again shortly"


class CacheUnavailable(Unavailable):
    """Redis could not be told of a change to a link, so the change was not made:
    the cache could otherwise keep serving the old link for up to its TTL."""

    code = "CACHE_UNAVAILABLE"

    default_message = "The link cache is unreachable, so nothing was changed; try again shortly"


class CsrfRejected(DomainError):
    """A state-changing request carried the session cookie without proof that
    this site's own page sent it (CSRF token header, same Origin)."""

    code = "CSRF_FAILED"


class IdempotencyKeyReused(DomainError):
    """The Idempotency-Key was used (within 24 h) for a request with another body."""

    code = "IDEMPOTENCY_KEY_REUSED"


class HashingBusy(DomainError):
    """Too many passwords are waiting for bcrypt on this process: try again shortly
    (``retry_after`` seconds, about how long the queue takes to drain)."""

    code = "PASSWORD_HASHING_BUSY"

    def __init__(self, message: str, retry_after: int, **details: Any) -> None:
        super().__init__(message, retry_after=retry_after, **details)


# -- signing in with OpenID Connect -----------------------------------------------------


class OidcDisabled(DomainError):
    """No OpenID provider is configured here (SHORTLINK_OIDC_ISSUER)."""

    code = "OIDC_DISABLED"


class InvalidLoginState(Forbidden):
    """The callback's ``state`` is missing, not this browser's, expired or used already."""

    code = "INVALID_STATE"


class InvalidIdToken(Unauthorized):
    """The provider refused the code, or its ID token failed a check (signature by a key
    of its JWKS, issuer, audience, expiry, nonce) or names no verified e-mail address."""

    code = "INVALID_ID_TOKEN"


class SignInRefused(Unauthorized):
    """The provider sent the browser back with an error (the person cancelled, say)."""

    code = "SIGN_IN_REFUSED"


class NotAMember(Forbidden):
    """A person signed in at the provider, but is in no workspace here (no membership,
    no group mapped to a role)."""

    code = "NOT_A_MEMBER"


class IdentityProviderUnavailable(Unavailable):
    """The OpenID provider did not answer (discovery, JWKS or the code exchange)."""

    code = "IDENTITY_PROVIDER_UNAVAILABLE"

    default_message = "The identity provider did not answer; try signing in again shortly"


class KubernetesUnavailable(Unavailable):
    """The Kubernetes API server did not answer a TokenReview: a ServiceAccount's token
    can be neither accepted nor refused."""

    code = "KUBERNETES_UNAVAILABLE"

    default_message = "The Kubernetes API server did not answer; try again shortly"


class SessionsUnavailable(Unavailable):
    """Redis, where sessions and sign-ins under way are kept, did not answer."""

    code = "SESSIONS_UNAVAILABLE"
    default_message = "Signing in is unavailable right now (the session store did not answer)"


# Stats queries (issue 23): each refusal its own code, all of them 400s.
class RangeTooLong(InvalidRequest):
    code = "RANGE_TOO_LONG"


class InvalidTimezone(InvalidRequest):
    code = "INVALID_TIMEZONE"


class InvalidDimension(InvalidRequest):
    code = "INVALID_DIMENSION"


class InvalidFilter(InvalidRequest):
    code = "INVALID_FILTER"
