"""schemathesis hooks for test_fuzzing: keep out of generated requests the rules that
relate two fields, which JSON Schema cannot state (the document says them in words).

A request breaking one is refused with a 400 naming the field, and schemathesis would
call that "a schema-valid request rejected". Only these rules are filtered; every other
refusal of a schema-valid request still fails the run. Each rule has tests of its own
(tests/unit/test_link_option_parsing.py, tests/unit/test_stats_request.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import schemathesis

from shortlink.domain.click_erasure import parse_erasure_range
from shortlink.domain.errors import InvalidRequest, RangeTooLong
from shortlink.domain.expiry import parse_instant
from shortlink.domain.idempotency import HEADER as IDEMPOTENCY_HEADER
from shortlink.domain.idempotency import validate_key
from shortlink.domain.link_option_parsing import default_rule_id, default_variant_id
from shortlink.domain.stats_request import ORDER_REFUSED, parse_stats_request


def _instant(raw: object) -> datetime | None:
    if not isinstance(raw, str):
        return None
    try:
        return parse_instant(raw)
    except ValueError:
        return None


def _ordered(earlier: object, later: object) -> bool:
    """False when both are instants and ``earlier`` is not before ``later``."""
    first, second = _instant(earlier), _instant(later)
    return first is None or second is None or first < second


def _minutes(raw: object) -> int | None:
    if not isinstance(raw, str) or ":" not in raw:
        return None
    hours, _, minutes = raw.partition(":")
    return int(hours) * 60 + int(minutes) if hours.isdigit() and minutes.isdigit() else None


def _windows_fine(windows: object) -> bool:
    if not isinstance(windows, list):
        return True
    spans = []
    for window in windows:
        if not isinstance(window, dict):
            continue
        start, end = _minutes(window.get("start")), _minutes(window.get("end"))
        if start is None or end is None:
            continue
        if start >= end:
            return False
        days = window.get("days")
        spans.append((set(days) if isinstance(days, list) else None, start, end))
    for j, (days_b, start_b, end_b) in enumerate(spans):
        for days_a, start_a, end_a in spans[:j]:
            common = days_a is None or days_b is None or bool(days_a & days_b)
            if common and start_a < end_b and start_b < end_a:
                return False
    return True


def _unique_ids(items: object, default: Callable[[int], str]) -> bool:
    """No two items with one id, counting the ids the API gives those without one."""
    if not isinstance(items, list):
        return True
    ids = [
        str(item["id"]) if isinstance(item, dict) and "id" in item else default(position)
        for position, item in enumerate(items)
    ]
    return len(ids) == len(set(ids))


def _rules(link: dict[str, Any]) -> Iterator[dict[str, Any]]:
    rules = link.get("rules")
    yield from (r for r in rules if isinstance(r, dict)) if isinstance(rules, list) else ()


def _link_fine(link: object) -> bool:
    if not isinstance(link, dict):
        return True
    if not _ordered(link.get("valid_from"), link.get("expires_at")):
        return False
    if not _unique_ids(link.get("rules"), default_rule_id):
        return False
    if not _unique_ids(link.get("variants"), default_variant_id):
        return False
    for rule in _rules(link):
        action = rule.get("action")
        if isinstance(action, dict) and not _unique_ids(action.get("variants"), default_variant_id):
            return False
        time = (
            (rule.get("conditions") or {}).get("time")
            if isinstance(rule.get("conditions"), dict)
            else None
        )
        if isinstance(time, dict) and not (
            _ordered(time.get("from"), time.get("until")) and _windows_fine(time.get("windows"))
        ):
            return False
    return True


def _body_fine(body: Any) -> bool:
    if isinstance(body, dict) and isinstance(body.get("urls"), list):
        return all(_link_fine(item) for item in body["urls"])
    return _link_fine(body)


def _stats_range_fine(query: Any) -> bool:
    """What no schema can say of a stats query, the rules between two parameters, is
    left out: 'to' after 'from' (compare_to after compare_from), the span's limit, and
    compare=custom needing its range. Nothing else about the query is filtered."""
    if not isinstance(query, dict):
        return True
    given = query.get("filter")
    filters = [str(f) for f in (given if isinstance(given, list) else [given] if given else [])]
    single = {k: str(v) for k, v in query.items() if k != "filter"}
    try:
        parse_stats_request(single, datetime.now(UTC), filters)
    except RangeTooLong:
        return False
    except InvalidRequest as refused:
        return not (
            refused.message == ORDER_REFUSED
            or "must be after" in refused.message
            or refused.details.get("parameter") == "compare"
        )
    return True


def _erasure_range_fine(query: Any) -> bool:
    """A click erasure's one rule between two parameters: 'to' after 'from'."""
    if not isinstance(query, dict):
        return True
    try:
        parse_erasure_range({k: str(v) for k, v in query.items()})
    except InvalidRequest as refused:
        return refused.details.get("parameter") != "to" or "after" not in refused.message
    return True


@schemathesis.hook
def filter_case(context: Any, case: Any) -> bool:
    # filter_case is the one filter every phase applies (coverage, fuzzing, stateful).
    if case.operation.path.endswith("/stats") and not _stats_range_fine(case.query):
        return False
    if case.operation.path.endswith("/clicks") and not _erasure_range_fine(case.query):
        return False
    return _body_fine(case.body)


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    """A valid Idempotency-Key made unique per request (its generated text kept in
    front). A key the stateful phase reused after deleting the link it had created
    replayed that create's 201, as documented (a replay answers the stored response),
    and schemathesis then found the named link gone (ST302, in a rehearsal). Replays
    have tests of their own (test_idempotency_over_http.py); an invalid key still goes
    out as generated, to be refused."""
    headers = case.headers or {}
    for name, value in headers.items():
        if name.lower() == IDEMPOTENCY_HEADER.lower() and isinstance(value, str):
            try:
                validate_key(value)
            except InvalidRequest:
                return
            headers[name] = f"{value[:200]}-{uuid4().hex}"
            return
