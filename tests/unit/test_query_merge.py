"""The documented merge rule: target's own keys, then the link's, then the visitor's;
the first writer of a key wins."""

from __future__ import annotations

import pytest

from shortlink.domain.query_merge import append_params, pass_visitor_query


@pytest.mark.parametrize(
    ("url", "params", "expected"),
    [
        ("https://a.example/", [("utm_source", "nl")], "https://a.example/?utm_source=nl"),
        ("https://a.example/p?x=1", [("utm_source", "nl")], "https://a.example/p?x=1&utm_source=nl"),
        ("https://a.example/p?utm_source=own", [("utm_source", "nl")], "https://a.example/p?utm_source=own"),
        ("https://a.example/p#top", [("a", "b c")], "https://a.example/p?a=b%20c#top"),
        ("https://a.example/p?x=1#top", [("a", "&")], "https://a.example/p?x=1&a=%26#top"),
        ("https://a.example/", [("a", "1"), ("a", "2")], "https://a.example/?a=1"),
        ("https://a.example/", [], "https://a.example/"),
    ],
)  # fmt: skip
def test_link_parameters_are_appended_unless_the_target_has_them(url, params, expected):
    assert append_params(url, params) == expected


def test_visitor_query_never_overrides_the_links_keys():
    built = append_params("https://a.example/?id=7", [("utm_source", "nl")])
    merged = pass_visitor_query(built, "utm_source=spam&id=8&ref=tw&unlock_token=secret&ref=2")
    assert merged == "https://a.example/?id=7&utm_source=nl&ref=tw"


def test_no_visitor_query_leaves_the_url_alone():
    assert pass_visitor_query("https://a.example/?x=1", "") == "https://a.example/?x=1"
