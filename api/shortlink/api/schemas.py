"""Request bodies. Pydantic checks shape and types; the domain checks meaning.

The same models generate the OpenAPI request schemas, so the document can't
drift from what the server accepts.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shortlink.domain.errors import InvalidRequest
from shortlink.domain.text import unstorable_error, unstorable_field

_Body = TypeVar("_Body", bound=BaseModel)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class _LinkOptionFields(_Strict):
    """Link options (docs/link-rules.md), on create and on PATCH (where each given one
    replaces the link's; null: back to none). Shapes and meaning are the domain's to
    check, so a refusal names its exact path (rules[2].conditions.country)."""

    rules: Any = None
    variants: Any = None
    max_clicks: Any = None
    valid_from: Any = None
    fallbacks: Any = None
    utm: Any = None
    query_params: Any = None
    pass_query: Any = None
    tags: Any = None
    folder: Any = None


class CreateUrl(_LinkOptionFields):
    original_url: str = Field(description="http(s) URL to redirect to, at most 2048 characters")
    custom_alias: str | None = Field(
        None, description="3-20 of [a-zA-Z0-9_-]; a generated 7-character code when absent"
    )
    expires_at: str | None = Field(
        None, description="ISO 8601 instant in the future (UTC when no offset is given)"
    )
    password: str | None = Field(None, description="Visitors must enter it (1-72 bytes)")
    redirect_type: int = Field(302, description="301, 302, 307 or 308")


class BulkCreate(_Strict):
    urls: list[CreateUrl] = Field(description="1 to 1000 links, each as for POST /v1/urls")


class UpdateUrl(_LinkOptionFields):
    """Fields present are changed; null clears expires_at or password."""

    original_url: str | None = None
    expires_at: str | None = None
    password: str | None = None
    is_active: bool | None = None
    redirect_type: int | None = None


class Unlock(_Strict):
    password: str


class PreviewVisitor(_Strict):
    """A made-up visitor (every fact optional); the domain checks each one."""

    country: Any = None
    city: Any = None
    device: Any = None
    os: Any = None
    browser: Any = None
    accept_language: Any = None
    query: Any = None
    ip: Any = None
    referrer: Any = None
    user_agent: Any = None
    at: Any = None


class CreateApiKey(_Strict):
    name: str = Field(min_length=1, max_length=100)
    owner: str | None = Field(
        None, min_length=1, max_length=200, description="Admins only; default: your own owner"
    )
    is_admin: bool = False
    role: str | None = Field(
        None,
        description="owner, admin, editor or viewer (at most your own; default: your role, "
        "or admin for a key an instance administrator mints for another workspace)",
    )


class CreateWorkspace(_Strict):
    slug: str = Field(
        min_length=1, max_length=63, description="Lower-case letters, digits and '-' (a DNS label)"
    )
    name: str = Field(min_length=1, max_length=200)


class UpdateWorkspace(_Strict):
    """Fields present are changed."""

    name: str | None = Field(None, min_length=1, max_length=200)
    # A JSON number with no fraction is an integer (1554.0 too): the domain decides.
    audit_retention_days: int | float | None = Field(
        None, ge=1, le=3650, description="Owners only: audit entries older than this are deleted"
    )
    click_retention_days: int | float | None = Field(
        None,
        ge=0,
        le=36600,
        description="Owners only: stored clicks older than this many whole UTC days are"
        " erased (daily sweep); 0 keeps every click",
    )


class PutMember(_Strict):
    role: str = Field(description="owner, admin, editor or viewer")


class CreateSession(_Strict):
    api_key: str = Field(min_length=1, max_length=200, description="Your API key")


def parse(model: type[_Body], payload: Any) -> _Body:
    """``payload`` (parsed JSON) as ``model``; InvalidRequest (400) for a string
    PostgreSQL can't store anywhere in it, or for a shape or type the model refuses."""
    unstorable = unstorable_field(payload)
    if unstorable is not None:
        raise unstorable_error(unstorable)
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        problems = [
            {"field": ".".join(str(p) for p in err["loc"]), "message": err["msg"]}
            for err in exc.errors(include_url=False)
        ]
        first = problems[0]
        raise InvalidRequest(
            f"{first['field'] or 'body'}: {first['message']}", problems=problems
        ) from None
