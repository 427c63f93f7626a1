"""How links and keys look in JSON responses."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from shortlink.domain.analytics import BREAKDOWNS, LinkStats
from shortlink.domain.api_keys import ApiKey
from shortlink.domain.expiry import format_instant
from shortlink.domain.links import Link, short_url
from shortlink.domain.sessions import Session


def link_json(link: Link, base_url: str) -> dict[str, Any]:
    return {
        "short_code": link.code,
        "short_url": short_url(base_url, link.code),
        "original_url": link.target,
        "expires_at": format_instant(link.expires_at) if link.expires_at else None,
        "created_at": format_instant(link.created_at),
        "updated_at": format_instant(link.updated_at),
        "is_custom_alias": link.is_custom_alias,
        "password_protected": link.password_hash is not None,
        "redirect_type": link.redirect_type,
        "is_active": link.is_active,
    }


def api_key_json(key: ApiKey) -> dict[str, Any]:
    return {
        "id": key.id,
        "prefix": key.prefix,
        "name": key.name,
        "owner": key.owner,
        "is_admin": key.is_admin,
        "created_at": format_instant(key.created_at),
        "revoked_at": format_instant(key.revoked_at) if key.revoked_at else None,
        "created_by": key.created_by,
    }


def epoch_instant(seconds: int) -> str:
    return format_instant(datetime.fromtimestamp(seconds, UTC))


def stats_json(stats: LinkStats) -> dict[str, Any]:
    totals = stats.totals
    return {
        "code": stats.code,
        "from": epoch_instant(stats.start),
        "to": epoch_instant(stats.end),
        "interval": stats.interval,
        "totals": {
            "clicks": totals.clicks,
            "bot_clicks": totals.bot_clicks,
            "unique_visitors": totals.unique_visitors,
        },
        "series": [{"t": epoch_instant(p.t), "clicks": p.clicks} for p in stats.series],
        **{
            name: [{"value": c.value, "clicks": c.clicks} for c in getattr(stats, name)]
            for name in BREAKDOWNS
        },
    }


def session_json(session: Session, key: ApiKey) -> dict[str, Any]:
    return {
        "owner": key.owner,
        "key_name": key.name,
        "key_prefix": key.prefix,
        "is_admin": key.is_admin,
        "csrf_token": session.csrf_token,
        "expires_at": epoch_instant(int(session.expires_at)),
    }
