from __future__ import annotations

from datetime import UTC, datetime
from ipaddress import ip_address

import pytest

from shortlink.domain.errors import InvalidRequest
from shortlink.domain.visitor_preview import parse_preview
from shortlink.domain.visitors import anonymize_ip, sticky_key

SALT = b"s" * 32
NOW = datetime(2026, 3, 4, 12, tzinfo=UTC)


def test_facts_as_the_edge_would_work_them_out():
    facts, at = parse_preview(
        {"country": "DE", "city": " Berlin ", "device": "mobile", "os": "ios",
         "accept_language": "fr;q=0.5, de-AT", "query": {"ref": "x"}, "ip": "203.0.113.9",
         "referrer": "https://www.news.example/a", "user_agent": "UA",
         "at": "2030-01-01T09:00:00Z"},
        "abc", SALT, NOW,
    )  # fmt: skip
    assert (facts.country, facts.city, facts.device, facts.os) == ("DE", "berlin", "mobile", "ios")
    assert facts.languages == ("de-at", "fr") and facts.query == {"ref": "x"}
    assert facts.ip == ip_address("203.0.113.9") and facts.referrer_host == "news.example"
    assert facts.sticky == sticky_key("abc", anonymize_ip("203.0.113.9"), "UA", SALT)
    assert at == datetime(2030, 1, 1, 9, tzinfo=UTC).timestamp()
    assert parse_preview({}, "abc", SALT, NOW)[1] == NOW.timestamp()


@pytest.mark.parametrize(
    ("raw", "field"),
    [({"country": "UK"}, "country"), ({"device": "phone"}, "device"), ({"ip": "300.1.1.1"}, "ip"),
     ({"at": "soon"}, "at"), ({"query": {"a": 1}}, "query"), ({"colour": "red"}, "colour")],
)  # fmt: skip
def test_bad_facts_name_their_field(raw, field):
    with pytest.raises(InvalidRequest) as caught:
        parse_preview(raw, "abc", SALT, NOW)
    assert caught.value.details["field"] == field
