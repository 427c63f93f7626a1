from __future__ import annotations

import pytest

from shortlink.domain.errors import InvalidRequest
from shortlink.domain.idempotency import fingerprint, validate_key


@pytest.mark.parametrize("key", ["a", "order-42:retry", "~" * 255, "with space"])
def test_printable_ascii_keys_up_to_255_are_accepted(key: str) -> None:
    assert validate_key(key) == key


@pytest.mark.parametrize("key", ["", "x" * 256, "tab\there", "é", "nul\x00"])
def test_other_keys_are_refused(key: str) -> None:
    with pytest.raises(InvalidRequest):
        validate_key(key)


def test_fingerprint_ignores_key_order_but_not_values() -> None:
    assert fingerprint({"a": 1, "b": [1, 2]}) == fingerprint({"b": [1, 2], "a": 1})
    assert fingerprint({"a": 1}) != fingerprint({"a": 2})
    assert fingerprint({"a": [1, 2]}) != fingerprint({"a": [2, 1]})
    assert len(fingerprint(None)) == 64
