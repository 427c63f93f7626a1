import random
from datetime import date

import pytest

from shortlink.domain.aliases import (
    MAX_LENGTH,
    could_be_code,
    random_suffix,
    suggestion_candidates,
    validate_alias,
)
from shortlink.domain.codes import ALPHABET
from shortlink.domain.errors import InvalidAlias

TODAY = date(2026, 3, 14)


@pytest.mark.parametrize("alias", ["abc", "my-link", "My_Link_2", "a" * 20, "___", "API2", "x-y"])
def test_valid_aliases_are_returned_unchanged(alias):
    assert validate_alias(alias) == alias


@pytest.mark.parametrize(
    "alias",
    [
        "",
        "ab",  # too short
        "a" * 21,  # too long
        "has space",
        "dot.ted",
        "slash/es",
        "emoji😀",
        "ümlaut",
        "abc\n",  # a trailing newline must not sneak past the pattern
        "percent%20",
    ],
)
def test_invalid_aliases_raise_invalid_alias(alias):
    with pytest.raises(InvalidAlias) as exc:
        validate_alias(alias)
    assert exc.value.code == "INVALID_ALIAS"
    assert exc.value.details == {"alias": alias}


@pytest.mark.parametrize("alias", ["api", "API", "Metrics", "healthz", "ADMIN", "Unlock", "Docs"])
def test_reserved_words_are_refused_case_insensitively(alias):
    with pytest.raises(InvalidAlias, match="reserved") as exc:
        validate_alias(alias)
    assert exc.value.code == "INVALID_ALIAS"


@pytest.mark.parametrize("alias", ["mylink", "a" * 20, "abc", "x_y-z", "ends-with-dash-"])
def test_suggestions_are_all_valid_unique_and_short_enough(alias):
    out = suggestion_candidates(alias, TODAY, ["k3x", "9zz"])
    assert out
    assert len(out) == len(set(out))
    for candidate in out:
        assert len(candidate) <= MAX_LENGTH
        assert validate_alias(candidate) == candidate


def test_suggestions_start_with_numbered_then_year_then_random():
    assert suggestion_candidates("mylink", TODAY, ["k3x"]) == [
        "mylink-2",
        "mylink-3",
        "mylink-4",
        "mylink-5",
        "mylink-2026",
        "mylink-k3x",
    ]


def test_long_alias_is_truncated_to_fit_the_suffix():
    alias = "abcdefghijklmnopqrst"  # 20 chars
    out = suggestion_candidates(alias, TODAY, [])
    assert out[0] == "abcdefghijklmnopqr-2"
    assert "abcdefghijklmno-2026" in out
    assert all(len(c) == 20 for c in out)


def test_truncation_does_not_leave_doubled_separators():
    alias = "abcdefghijklmnopq-xy"  # cut at 18 chars leaves "...q-"
    out = suggestion_candidates(alias, TODAY, [])
    assert out[0] == "abcdefghijklmnopq-2"
    assert not any("--" in c or "_-" in c for c in out)


def test_suggestions_drop_duplicate_and_invalid_random_suffixes():
    out = suggestion_candidates("mylink", TODAY, ["2", "2026", "a b", "ok1"])
    assert out == ["mylink-2", "mylink-3", "mylink-4", "mylink-5", "mylink-2026", "mylink-ok1"]


def test_suggestions_are_deterministic_for_given_inputs():
    first = suggestion_candidates("promo", TODAY, ["abc", "def"])
    assert first == suggestion_candidates("promo", TODAY, ["abc", "def"])
    assert "promo-2027" in suggestion_candidates("promo", date(2027, 1, 1), [])


def test_suggestions_for_separator_only_alias_are_valid():
    for candidate in suggestion_candidates("___", TODAY, ["abc"]):
        validate_alias(candidate)


def test_random_suffix_with_seeded_choice_is_reproducible():
    a = random_suffix(random.Random(1).choice)
    b = random_suffix(random.Random(1).choice)
    assert a == b
    assert len(a) == 3


def test_random_suffix_uses_only_digits_and_lowercase():
    rng = random.Random(1)
    suffixes = [random_suffix(rng.choice, length=5) for _ in range(300)]
    assert all(len(s) == 5 for s in suffixes)
    used = set("".join(suffixes))
    assert used <= set(ALPHABET[:36])
    assert used == set("0123456789abcdefghijklmnopqrstuvwxyz")


def test_random_suffix_makes_a_valid_suggestion():
    suffix = random_suffix(random.Random(1).choice)
    assert suggestion_candidates("mylink", TODAY, [suffix])[-1] == f"mylink-{suffix}"


@pytest.mark.parametrize("code", ["abc1234", "my-alias_2", "x", "a" * 20])
def test_codes_of_the_stored_shape(code):
    assert could_be_code(code)


@pytest.mark.parametrize("code", ["", "a" * 21, "ab\x00c", "été", "a/b", "a.b", "\ud800"])
def test_codes_that_cannot_exist(code):
    assert not could_be_code(code)
