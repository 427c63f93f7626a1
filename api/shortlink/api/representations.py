"""What the API answers, as pydantic models: the handlers build and serialize these,
and the OpenAPI document's response schemas are generated from them (api/openapi.py),
so the document can't drift from the responses. Class names are the document's
component names."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, RootModel, Tag, WithJsonSchema
from sanic.response import HTTPResponse, raw

from shortlink.api.link_option_schema import RESPONSE_PROPERTIES as OPTION_RESPONSES
from shortlink.domain import (
    access,
    analytics,
    api_keys,
    audit,
    links,
    routing,
    sessions,
    workspaces,
)
from shortlink.domain.expiry import format_instant
from shortlink.domain.link_options import options_document
from shortlink.domain.unlock_tokens import LINK_TOKEN_TTL, UNLOCK_TOKEN_TTL
from shortlink.services.bulk_links import BulkItemResult
from shortlink.services.links import Page
from shortlink.services.unlocks import Unlocked as Unlocking

Instant = Annotated[str, Field(json_schema_extra={"format": "date-time"})]
Uri = Annotated[str, Field(json_schema_extra={"format": "uri"})]
Role = Annotated[
    workspaces.RoleLabel,
    Field(description="viewer < editor < admin < owner; each may do what those before may"),
]


class Body(BaseModel):
    """A response body: every field always present (required), null where it says so."""

    model_config = ConfigDict(frozen=True)

    def json_bytes(self) -> bytes:
        return self.__pydantic_serializer__.to_json(self, by_alias=True)

    def as_json(self) -> dict[str, Any]:
        """As parsed JSON: what an Idempotency-Key stores and replays."""
        return self.model_dump(mode="json", by_alias=True)


def respond(body: Body, status: int = 200, headers: dict[str, str] | None = None) -> HTTPResponse:
    return raw(body.json_bytes(), status=status, headers=headers, content_type="application/json")


class Link(Body):
    short_code: str
    short_url: Uri
    original_url: Uri
    expires_at: Instant | None
    created_at: Instant
    updated_at: Instant
    is_custom_alias: bool
    password_protected: bool
    redirect_type: Literal[301, 302, 307, 308]
    is_active: bool
    # Link options (docs/link-rules.md), every field present: null or empty when unset.
    rules: Annotated[list[Any], WithJsonSchema(OPTION_RESPONSES["rules"])]
    variants: Annotated[list[Any], WithJsonSchema(OPTION_RESPONSES["variants"])]
    max_clicks: Annotated[int | None, WithJsonSchema(OPTION_RESPONSES["max_clicks"])]
    valid_from: Annotated[str | None, WithJsonSchema(OPTION_RESPONSES["valid_from"])]
    fallbacks: Annotated[dict[str, Any], WithJsonSchema(OPTION_RESPONSES["fallbacks"])]
    utm: Annotated[dict[str, Any], WithJsonSchema(OPTION_RESPONSES["utm"])]
    query_params: Annotated[dict[str, Any], WithJsonSchema(OPTION_RESPONSES["query_params"])]
    pass_query: Annotated[bool, WithJsonSchema(OPTION_RESPONSES["pass_query"])]
    tags: Annotated[list[str], WithJsonSchema(OPTION_RESPONSES["tags"])]
    folder: Annotated[str | None, WithJsonSchema(OPTION_RESPONSES["folder"])]
    managed_by: Annotated[
        Literal["kubernetes"] | None,
        Field(description="kubernetes: declared by a ShortLink resource (its namespace is "
                          "labelled with this workspace), read-only here: PATCH and DELETE "
                          "answer 409 MANAGED_BY_KUBERNETES; null: made through the API"),
    ]  # fmt: skip
    managed_resource: Annotated[
        str | None,
        Field(description="The ShortLink to edit instead, as namespace/name; null when "
                          "managed_by is null"),
    ]  # fmt: skip

    @staticmethod
    def fields_of(link: links.Link, base_url: str) -> dict[str, Any]:
        return {
            "short_code": link.code,
            "short_url": links.short_url(base_url, link.code),
            "original_url": link.target,
            "expires_at": format_instant(link.expires_at) if link.expires_at else None,
            "created_at": format_instant(link.created_at),
            "updated_at": format_instant(link.updated_at),
            "is_custom_alias": link.is_custom_alias,
            "password_protected": link.password_hash is not None,
            "redirect_type": link.redirect_type,
            "is_active": link.is_active,
            **options_document(link.options),
            "managed_by": None if link.managed_by is None else "kubernetes",
            "managed_resource": link.managed_by,
        }

    @classmethod
    def of(cls, link: links.Link, base_url: str) -> Link:
        return cls.model_validate(cls.fields_of(link, base_url))


class ClickCounts(Body):
    total: Annotated[int, Field(ge=0, description="Human clicks, all time")]
    last_7_days: Annotated[
        list[int],
        Field(min_length=7, max_length=7,
              description="Human clicks per UTC day, oldest first; the last is today"),
    ]  # fmt: skip


class LinkPage(Body):
    items: list[Link]
    next_cursor: str | None
    clicks: Annotated[
        dict[str, ClickCounts] | None,
        Field(description="With include=clicks: each listed link's clicks by short_code, "
                          "from one analytics query; null without it, or while click "
                          "analytics is unavailable (the list itself still answers)"),
    ]  # fmt: skip

    @classmethod
    def of(
        cls,
        page: Page,
        base_url: str,
        clicks: dict[str, analytics.ClickSummary] | None = None,
    ) -> LinkPage:
        # Validated as one document: a model built per item costs 1.3x the time.
        return cls.model_validate(
            {
                "items": [Link.fields_of(link, base_url) for link in page.links],
                "next_cursor": page.next_cursor,
                "clicks": None if clicks is None else {
                    code: {"total": summary.total, "last_7_days": list(summary.recent_days)}
                    for code, summary in clicks.items()
                },
            }
        )  # fmt: skip


class BulkCreated(Link):
    """A bulk item that was created: the link, and its index in the request."""

    index: int


class BulkFailed(Body):
    """A bulk item that was not created (its alias was taken)."""

    index: int
    error: str
    message: str
    suggestions: list[str]


def _bulk_item_kind(item: Any) -> str:
    failed = "error" in item if isinstance(item, dict) else isinstance(item, BulkFailed)
    return "failed" if failed else "created"


BulkItem = Annotated[
    Annotated[BulkCreated, Tag("created")] | Annotated[BulkFailed, Tag("failed")],
    Discriminator(_bulk_item_kind),
]


class BulkResult(Body):
    created: int
    failed: int
    results: list[BulkItem]

    @classmethod
    def of(cls, results: list[BulkItemResult], base_url: str) -> BulkResult:
        items: list[dict[str, Any]] = []
        for result in results:
            if result.link is not None:
                items.append({"index": result.index, **Link.fields_of(result.link, base_url)})
            else:
                assert result.error is not None
                items.append(
                    {
                        "index": result.index,
                        "error": result.error.code,
                        "message": result.error.message,
                        "suggestions": result.error.details.get("suggestions", []),
                    }
                )
        created = sum(1 for r in results if r.link is not None)
        return cls.model_validate(
            {"created": created, "failed": len(results) - created, "results": items}
        )


class BulkCheck(Body):
    valid: Literal[True]
    count: int = Field(description="Links that would be made")


class Unlocked(Body):
    unlock_token: str = Field(
        description="Session token (expires_in seconds): send it as the cookie "
        "'unlock_token=<token>' on GET /<code>; never put it in a URL"
    )
    redirect_url: Uri = Field(
        description="The short URL with a link token good for redirect_url_expires_in "
        "seconds; a browser opening it gets the session cookie and the URL without the token"
    )
    redirect_url_expires_in: int
    original_url: Uri
    expires_in: int

    @classmethod
    def of(cls, unlocked: Unlocking, code: str, base_url: str) -> Unlocked:
        return cls(
            unlock_token=unlocked.token,
            # A URL is logged and shared: it carries the 60-second token only.
            redirect_url=f"{links.short_url(base_url, code)}?unlock_token={unlocked.link_token}",
            redirect_url_expires_in=int(LINK_TOKEN_TTL.total_seconds()),
            original_url=unlocked.link.target,
            expires_in=int(UNLOCK_TOKEN_TTL.total_seconds()),
        )


class ApiKey(Body):
    id: int
    prefix: str
    name: str
    owner: str = Field(description="The workspace (same as workspace)")
    workspace: str = Field(description="The workspace the key belongs to")
    role: Role
    is_admin: bool = Field(description="An instance administrator's key")
    created_at: Instant
    revoked_at: Instant | None
    created_by: int | None = Field(
        description="The key that minted this one (null: initial or CLI)"
    )

    @staticmethod
    def fields_of(key: api_keys.ApiKey) -> dict[str, Any]:
        return {
            "id": key.id,
            "prefix": key.prefix,
            "name": key.name,
            "owner": key.owner,
            "workspace": key.owner,
            "role": key.role.label,
            "is_admin": key.is_admin,
            "created_at": format_instant(key.created_at),
            "revoked_at": format_instant(key.revoked_at) if key.revoked_at else None,
            "created_by": key.created_by,
        }

    @classmethod
    def of(cls, key: api_keys.ApiKey) -> ApiKey:
        return cls.model_validate(cls.fields_of(key))


class NewApiKey(ApiKey):
    key: str = Field(description="Shown only once")


class RevokedApiKey(ApiKey):
    also_revoked: list[int] = Field(
        description="Ids of the keys this key minted, transitively: revoked with it"
    )


class ApiKeyList(Body):
    items: list[ApiKey]

    @classmethod
    def of(cls, keys: list[api_keys.ApiKey]) -> ApiKeyList:
        return cls.model_validate({"items": [ApiKey.fields_of(key) for key in keys]})


def _epoch_instant(seconds: int) -> str:
    return format_instant(datetime.fromtimestamp(seconds, UTC))


class Totals(Body):
    clicks: int = Field(description="Human GET clicks")
    bot_clicks: int
    unique_visitors: int


class SeriesPoint(Body):
    t: Instant
    clicks: int


class Count(Body):
    value: str
    clicks: int


class Breakdown(RootModel[list[Count]]):
    """Human clicks by value, largest first"""

    model_config = ConfigDict(frozen=True)


class Comparison(Body):
    """The period compared with: its totals and series (bucket by bucket with the main one)."""

    start: Instant = Field(alias="from")
    end: Instant = Field(alias="to")
    totals: Totals
    series: list[SeriesPoint]


class LinkStats(Body):
    code: str | None = Field(description="The link; null for a workspace's stats")
    start: Instant = Field(alias="from", description="Range start, aligned down to the hour")
    end: Instant = Field(alias="to", description="Range end (exclusive), aligned up to the hour")
    interval: Literal["day", "hour", "minute"] = Field(description="minute: realtime")
    timezone: str = Field(description="The IANA zone the buckets start in")
    filters: list[str] = Field(description="The filters applied, as given")
    comparison: Comparison | None = Field(description="With compare: the other period")
    totals: Totals
    series: list[SeriesPoint] = Field(description="One point per bucket, zero buckets included")
    # One per analytics.BREAKDOWNS (a unit test holds them equal).
    countries: Breakdown
    cities: Breakdown
    devices: Breakdown
    os: Breakdown
    browsers: Breakdown
    referrers: Breakdown
    rules: Breakdown = Field(description="Clicks by the rule that served them (rule id)")
    variants: Breakdown = Field(
        description="Clicks by A/B variant: '<rule id>/<variant id>', 'link/<variant id>'"
    )
    tags: Breakdown = Field(description="Clicks by the link's tags")
    links: Breakdown = Field(
        description="A workspace's stats: clicks by link (code); empty for one link's"
    )

    @classmethod
    def of(
        cls,
        stats: analytics.LinkStats,
        timezone: str = "UTC",
        filters: Sequence[str] = (),
        previous: analytics.LinkStats | None = None,
    ) -> LinkStats:
        return cls.model_validate(
            {
                "code": stats.code or None,
                "from": _epoch_instant(stats.start),
                "to": _epoch_instant(stats.end),
                "interval": stats.interval,
                "timezone": timezone,
                "filters": list(filters),
                "comparison": previous
                and {
                    "from": _epoch_instant(previous.start),
                    "to": _epoch_instant(previous.end),
                    **_totals_and_series(previous),
                },
                **_totals_and_series(stats),
                **{
                    name: [{"value": c.value, "clicks": c.clicks} for c in getattr(stats, name)]
                    for name in analytics.BREAKDOWNS
                },
            }
        )


def _totals_and_series(stats: analytics.LinkStats) -> dict[str, Any]:
    totals = stats.totals
    return {
        "totals": {
            "clicks": totals.clicks,
            "bot_clicks": totals.bot_clicks,
            "unique_visitors": totals.unique_visitors,
        },
        "series": [{"t": _epoch_instant(p.t), "clicks": p.clicks} for p in stats.series],
    }


class Session(Body):
    kind: Literal["key", "person"] = Field(
        description="key: signed in with an API key; person: with single sign-on (OIDC)"
    )
    owner: str = Field(description="The workspace acted in (the same as workspace)")
    workspace: str
    role: Role
    subject: str | None = Field(description="The person's e-mail address; null for a key")
    key_name: str | None = Field(description="The API key's name; null for a person")
    key_prefix: str | None
    is_admin: bool
    csrf_token: str = Field(
        description="Send as X-CSRF-Token on every POST/PATCH/DELETE made with the session cookie"
    )
    expires_at: Instant

    @classmethod
    def of(
        cls, session: sessions.Session, principal: access.Principal, key: api_keys.ApiKey | None
    ) -> Session:
        return cls(
            kind="key" if key is not None else "person",
            owner=principal.workspace,
            workspace=principal.workspace,
            role=principal.effective_role.label,
            subject=session.subject,
            key_name=key.name if key else None,
            key_prefix=key.prefix if key else None,
            is_admin=principal.instance_admin,
            csrf_token=session.csrf_token,
            expires_at=_epoch_instant(int(session.expires_at)),
        )


class OidcStatus(Body):
    """Whether people can sign in to the web UI with single sign-on here."""

    enabled: bool
    login_url: str | None = Field(description="Where the browser goes to sign in; null: off")


class Preview(Body):
    """What the redirector would answer the visitor (the link's click budget aside)."""

    outcome: Literal["redirect", "not_yet", "expired", "exhausted", "password_required"]
    location: str | None = Field(description="Where it redirects; null: a 404/410 page")
    redirect_type: Literal[301, 302, 307, 308]
    rule_id: str = Field(description="The rule that matched; empty when none did")
    variant_id: str = Field(description="The A/B variant picked; empty when none")

    @classmethod
    def of(cls, decision: routing.Decision) -> Preview:
        return cls.model_validate(
            {
                "outcome": decision.outcome,
                "location": decision.target,
                "redirect_type": decision.redirect_type,
                "rule_id": decision.rule_id,
                "variant_id": decision.variant_id,
            }
        )


class AliasAvailability(Body):
    alias: str
    available: bool
    suggestions: list[str] = Field(description="Free alternatives when taken (else empty)")


# Workspaces, members and the audit log (issue 21).


class Workspace(Body):
    slug: str
    name: str
    audit_retention_days: int
    click_retention_days: int
    created_at: Instant

    @staticmethod
    def fields_of(workspace: workspaces.Workspace) -> dict[str, Any]:
        return {
            "slug": workspace.slug,
            "name": workspace.name,
            "audit_retention_days": workspace.audit_retention_days,
            "click_retention_days": workspace.click_retention_days,
            "created_at": format_instant(workspace.created_at),
        }

    @classmethod
    def of(cls, workspace: workspaces.Workspace) -> Workspace:
        return cls.model_validate(cls.fields_of(workspace))


class CurrentWorkspace(Workspace):
    role: Role = Field(description="Yours here")


class WorkspaceList(Body):
    items: list[Workspace]

    @classmethod
    def of(cls, found: list[workspaces.Workspace]) -> WorkspaceList:
        return cls.model_validate({"items": [Workspace.fields_of(w) for w in found]})


class Member(Body):
    member: str = Field(description="An e-mail address")
    role: Role
    added_at: Instant

    @staticmethod
    def fields_of(member: workspaces.Member) -> dict[str, Any]:
        return {
            "member": member.subject,
            "role": member.role.label,
            "added_at": format_instant(member.added_at),
        }

    @classmethod
    def of(cls, member: workspaces.Member) -> Member:
        return cls.model_validate(cls.fields_of(member))


class MemberList(Body):
    items: list[Member]

    @classmethod
    def of(cls, members: list[workspaces.Member]) -> MemberList:
        return cls.model_validate({"items": [Member.fields_of(m) for m in members]})


class AuditEntry(Body):
    id: int
    at: Instant
    actor_kind: Literal["user", "key", "service_account", "operator", "system"]
    actor: str = Field(
        description="key:<id>, an e-mail address, system:serviceaccount:<ns>:<name>, "
        "a ShortLink, or a database role"
    )
    action: str = Field(
        description="<target_type>.<create|update|delete|revoke|restore>, or the endpoint "
        "of a denied attempt"
    )
    target_type: Literal["link", "key", "member", "workspace", "endpoint"]
    target: str
    outcome: Literal["ok", "denied"]
    before: dict[str, Any] | None = Field(description="Old values of the fields that changed")
    after: dict[str, Any] | None = Field(description="New values of the fields that changed")
    ip: str | None
    user_agent: str | None
    request_id: str | None


class AuditPage(Body):
    items: list[AuditEntry]
    next_cursor: str | None

    @classmethod
    def of(cls, entries: list[audit.AuditEntry], next_cursor: str | None) -> AuditPage:
        return cls.model_validate(
            {
                "items": [
                    {
                        "id": e.id,
                        "at": format_instant(e.at),
                        "actor_kind": e.actor_kind,
                        "actor": e.actor,
                        "action": e.action,
                        "target_type": e.target_type,
                        "target": e.target,
                        "outcome": e.outcome,
                        "before": e.before,
                        "after": e.after,
                        "ip": e.ip,
                        "user_agent": e.user_agent,
                        "request_id": e.request_id,
                    }
                    for e in entries
                ],
                "next_cursor": next_cursor,
            }
        )


# What the operations answer; the models these refer to come along (ApiKey, Breakdown...).
RESPONSE_MODELS: tuple[type[Body], ...] = (
    Link,
    LinkPage,
    BulkResult,
    BulkCheck,
    Unlocked,
    NewApiKey,
    RevokedApiKey,
    ApiKeyList,
    LinkStats,
    Session,
    OidcStatus,
    AliasAvailability,
    Preview,
    Workspace,
    CurrentWorkspace,
    WorkspaceList,
    Member,
    MemberList,
    AuditPage,
)
