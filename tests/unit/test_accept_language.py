from __future__ import annotations

import pytest

from shortlink.domain.accept_language import language_matches, preferred_languages


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("de-AT, de;q=0.9, en;q=0.8", ("de-at", "de", "en")),
        ("en;q=0.5, fr, de;q=0.9", ("fr", "de", "en")),
        ("en;q=0, fr", ("fr",)),
        ("*, es;q=0.1", ("es",)),
        ("en;q=2, de;q=abc, fr;q=0.3", ("fr",)),
        ("en, de", ("en", "de")),
        ("", ()),
        ("x<script>, en", ("en",)),
        ("en;Q=0.4;level=1, de", ("de", "en")),
    ],
)
def test_preferred_languages(header, expected):
    assert preferred_languages(header) == expected


def test_a_hostile_header_is_bounded():
    assert len(preferred_languages(", ".join(["en"] * 10_000))) <= 20


@pytest.mark.parametrize(
    ("tag", "wanted", "matches"),
    [("de-at", "de", True), ("de", "de", True), ("de", "de-at", False), ("den", "de", False)],
)
def test_basic_filtering(tag, wanted, matches):
    assert language_matches(tag, wanted) is matches
