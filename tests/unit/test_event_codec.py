from __future__ import annotations

from dataclasses import replace

import orjson
import pytest

from shortlink.adapters.event_codec import (
    PoisonMessage,
    decode_clicks,
    encode_clicks,
    encode_link_event,
)
from shortlink.domain.clicks import ClickEvent
from shortlink.domain.events import LinkEvent


def _click(n: int) -> ClickEvent:
    return ClickEvent(f"ev{n}", "abc1234", 1_700_000_000.5 + n, "203.0.113.9", "UA", "", "GET")


def test_clicks_round_trip_in_one_record() -> None:
    events = [_click(n) for n in range(3)]
    decoded, malformed = decode_clicks(encode_clicks(events))
    assert decoded == events
    assert malformed == 0


def test_record_is_a_versioned_envelope_with_named_fields() -> None:
    document = orjson.loads(encode_clicks([_click(1)]))
    assert document["v"] == 1 and document["type"] == "url.clicked"
    assert document["events"][0] == {
        "event_id": "ev1",
        "code": "abc1234",
        "timestamp": 1_700_000_001.5,
        "ip": "203.0.113.9",
        "user_agent": "UA",
        "referrer": "",
        "method": "GET",
        "rule_id": "",
        "variant_id": "",
        "tags": [],
    }


def test_what_served_a_click_travels_and_older_events_still_decode() -> None:
    served = ClickEvent("ev9", "abc", 1.0, "", "UA", "", "GET", "de", "b", ("spring", "nl"))
    assert decode_clicks(encode_clicks([served])) == ([served], 0)
    older = b'{"v":1,"type":"url.clicked","events":[{"event_id":"e","code":"c","timestamp":1,'
    older += b'"ip":"","user_agent":"","referrer":"","method":"GET"}]}'
    [event], bad = decode_clicks(older)
    assert bad == 0 and (event.rule_id, event.variant_id, event.tags) == ("", "", ())
    wrong = older.replace(b'"GET"}', b'"GET","tags":[1]}')
    assert decode_clicks(wrong) == ([], 1)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, "empty"),
        (b"{not json", "invalid JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"v": 2, "type": "url.clicked", "events": []}', "unknown version"),
        (b'{"type": "url.clicked", "events": []}', "unknown version"),
        (b'{"v": 1, "type": "url.created", "events": []}', "unexpected type"),
        (b'{"v": 1, "type": "url.clicked", "events": {}}', "not a list"),
    ],
)
def test_unusable_records_are_poison(value: bytes | None, reason: str) -> None:
    with pytest.raises(PoisonMessage, match=reason):
        decode_clicks(value)


def test_malformed_events_are_dropped_and_counted_the_rest_kept() -> None:
    good = orjson.loads(encode_clicks([_click(1)]))["events"][0]
    record = orjson.dumps(
        {
            "v": 1,
            "type": "url.clicked",
            "events": [
                good,
                {**good, "timestamp": "yesterday"},
                {**good, "timestamp": True},
                {**good, "code": ""},
                {**good, "event_id": None},
                {k: v for k, v in good.items() if k != "method"},
                "not an object",
                {**good, "ip": 7},
                {**good, "rule_id": None},
                {**good, "tags": "a"},
                {**good, "tags": ["a", 1]},
                {**good, "timestamp": [1]},
                {**good, "event_id": "e2", "timestamp": 1_700_000_000, "tags": ["a"]},
            ],
        }
    )
    decoded, malformed = decode_clicks(record)
    whole_second = replace(_click(1), event_id="e2", timestamp=1_700_000_000.0, tags=("a",))
    assert decoded == [_click(1), whole_second]
    assert malformed == 11


def test_link_events_carry_type_owner_codes_and_count() -> None:
    event = LinkEvent("url.bulk_created", "team-a", ("a", "b"), 1_700_000_000.0)
    assert orjson.loads(encode_link_event(event)) == {
        "v": 1,
        "type": "url.bulk_created",
        "owner": "team-a",
        "codes": ["a", "b"],
        "count": 2,
        "timestamp": 1_700_000_000.0,
    }


@pytest.mark.parametrize("timestamp", [1e308, -1.0, 2.0**32, -1e308])
def test_a_timestamp_no_store_can_hold_is_a_malformed_event(timestamp: float) -> None:
    """Issue 19, finding 6: 1e308 passed, then wedged the ingest loop for good."""
    good = orjson.loads(encode_clicks([_click(1)]))["events"][0]
    record = orjson.dumps(
        {"v": 1, "type": "url.clicked", "events": [{**good, "timestamp": timestamp}, good]}
    )
    assert decode_clicks(record) == ([_click(1)], 1)
