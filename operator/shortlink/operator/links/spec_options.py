"""A ShortLink spec's link options (camelCase, as Kubernetes fields are spelled) as
the domain's document (snake_case, as the API's), and its errors' field paths back.

Only structural keys are renamed: the names inside ``queryParams`` are the link
maker's own parameter names, kept as written.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

# spec field -> document field, for every camelCase name the options use.
_RENAMED: Final = {
    "maxClicks": "max_clicks",
    "validFrom": "valid_from",
    "queryParams": "query_params",
    "passQuery": "pass_query",
    "notYet": "not_yet",
    "referrerHost": "referrer_host",
    "timeZone": "time_zone",
    "redirectType": "redirect_type",
}
_BACK: Final = {snake: camel for camel, snake in _RENAMED.items()}
# The spec's option fields (the rest of the spec is the link itself).
SPEC_FIELDS: Final = (
    "rules", "variants", "maxClicks", "validFrom", "fallbacks", "utm", "queryParams",
    "passQuery", "tags", "folder",
)  # fmt: skip
_VERBATIM: Final = frozenset({"query_params"})  # user-named keys inside


def _renamed(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {
            _RENAMED.get(key, key): (
                value[key] if _RENAMED.get(key, key) in _VERBATIM else _renamed(value[key])
            )
            for key in value
        }
    if isinstance(value, list):
        return [_renamed(item) for item in value]
    return value


def options_document(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The spec's option fields as the domain's link-options document."""
    document: dict[str, Any] = _renamed({key: spec[key] for key in SPEC_FIELDS if key in spec})
    return document


def spec_path(field: str) -> str:
    """A document field path (``rules[2].conditions.referrer_host``) as the spec's
    (``spec.rules[2].conditions.referrerHost``)."""
    parts = []
    for part in field.split("."):
        name, bracket, index = part.partition("[")
        parts.append(_BACK.get(name, name) + bracket + index)
    return "spec." + ".".join(parts)
