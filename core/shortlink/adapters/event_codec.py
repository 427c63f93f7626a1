"""The wire format of events on the bus: versioned JSON envelopes.

Clicks travel in batches (one record holds many ``url.clicked`` events): a
record per click would cost the redirector more in producer overhead than the
redirect itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from shortlink.domain.audit import AuditEntry
from shortlink.domain.clicks import ClickEvent, storable_timestamp
from shortlink.domain.events import LinkEvent

WIRE_VERSION = 1
CLICKED = "url.clicked"


class PoisonMessage(ValueError):
    """A record that can never be processed: skipped and counted, never retried."""


class Unencodable(ValueError):
    """An event that can't be put on the wire (e.g. text that isn't valid Unicode)."""


def encode_clicks(events: Sequence[ClickEvent]) -> bytes:
    # orjson serialises slotted dataclasses natively, field by field.
    try:
        return orjson.dumps({"v": WIRE_VERSION, "type": CLICKED, "events": events})
    except orjson.JSONEncodeError as exc:
        raise Unencodable(str(exc)) from None


def decode_clicks(value: bytes | None) -> tuple[list[ClickEvent], int]:
    """The valid events of one record, and how many malformed events it held.

    Raises PoisonMessage when the record as a whole is unusable."""
    if value is None:
        raise PoisonMessage("empty record")
    try:
        document = orjson.loads(value)
    except orjson.JSONDecodeError:
        raise PoisonMessage("invalid JSON") from None
    if not isinstance(document, dict):
        raise PoisonMessage("not a JSON object")
    if document.get("v") != WIRE_VERSION:
        raise PoisonMessage(f"unknown version {document.get('v')!r}")
    if document.get("type") != CLICKED:
        raise PoisonMessage(f"unexpected type {document.get('type')!r}")
    raw_events = document.get("events")
    if not isinstance(raw_events, list):
        raise PoisonMessage("'events' is not a list")
    events: list[ClickEvent] = []
    for raw in raw_events:
        event = _click_from(raw)
        if event is not None:
            events.append(event)
    return events, len(raw_events) - len(events)


def _click_from(raw: Any) -> ClickEvent | None:
    # The ingest's hottest Python (one call per click): exact type checks (orjson makes
    # only plain str/int/float/bool, and type() is never bool for a number) and no
    # per-field loop cost ~40 % less than isinstance over a list of names.
    if type(raw) is not dict:
        return None
    get = raw.get
    timestamp = get("timestamp")
    if type(timestamp) is not float and type(timestamp) is not int:
        return None
    if not storable_timestamp(timestamp):  # 1e308 once wedged the ingest loop
        return None
    event_id, code, ip = get("event_id"), get("code"), get("ip")
    user_agent, referrer, method = get("user_agent"), get("referrer"), get("method")
    if not (
        type(event_id) is str
        and type(code) is str
        and type(ip) is str
        and type(user_agent) is str
        and type(referrer) is str
        and type(method) is str
    ):
        return None
    if not event_id or not code:
        return None
    # Optional (issue 22; events from older redirectors lack them).
    rule_id, variant_id, tags = get("rule_id", ""), get("variant_id", ""), get("tags", [])
    if type(rule_id) is not str or type(variant_id) is not str or type(tags) is not list:
        return None
    if tags and not all(type(tag) is str for tag in tags):
        return None
    return ClickEvent(
        event_id, code, float(timestamp), ip, user_agent, referrer, method,
        rule_id, variant_id, tuple(tags),
    )  # fmt: skip


def encode_link_event(event: LinkEvent) -> bytes:
    try:
        return orjson.dumps(
            {
                "v": WIRE_VERSION,
                "type": event.type,
                "owner": event.owner,
                "codes": event.codes,
                "count": len(event.codes),
                "timestamp": event.timestamp,
            }
        )
    except orjson.JSONEncodeError as exc:
        raise Unencodable(str(exc)) from None


def encode_audit_entry(entry: AuditEntry) -> bytes:
    """One audit log entry as its bus record (topic SHORTLINK_AUDIT_TOPIC)."""
    return orjson.dumps(
        {
            "v": WIRE_VERSION,
            "id": entry.id,
            "workspace": entry.workspace,
            "at": entry.at.isoformat(),
            "actor_kind": entry.actor_kind,
            "actor": entry.actor,
            "action": entry.action,
            "target_type": entry.target_type,
            "target": entry.target,
            "outcome": entry.outcome,
            "before": entry.before,
            "after": entry.after,
            "ip": entry.ip,
            "user_agent": entry.user_agent,
            "request_id": entry.request_id,
        }
    )
