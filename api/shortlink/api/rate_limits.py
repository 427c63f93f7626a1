"""Spending a request against a rate limit: the one way handlers count what they limit
(creates, minted keys, sign-ins started)."""

from __future__ import annotations

from shortlink.api import metrics
from shortlink.api.context import ApiRequest
from shortlink.domain.access import Principal
from shortlink.domain.errors import RateLimited
from shortlink.domain.expiry import format_instant
from shortlink.domain.rate_limits import RateDecision, rate_limit_subject
from shortlink.http import client_ip
from shortlink.services.rate_limiter import RateLimiter


async def spend(
    request: ApiRequest, limiter: RateLimiter, principal: Principal | None, cost: int, noun: str
) -> dict[str, str]:
    """Count ``cost`` against the request's subject (rate_limit_subject: the workspace,
    or an anonymous client's network) on ``limiter``; returns the RateLimit headers, or
    raises RateLimited."""
    subject = rate_limit_subject(principal.workspace if principal else None, client_ip(request))
    decision: RateDecision = await limiter.check(subject, cost)
    if not decision.allowed:
        metrics.RATE_LIMITED.inc()
        raise RateLimited(
            limiter.rule.describe(noun),
            retry_after=decision.retry_after,
            rate_limit={
                "limit": decision.limit,
                "remaining": decision.remaining,
                "reset_at": format_instant(decision.reset_at),
            },
            headers=decision.headers(),
        )
    return decision.headers()
