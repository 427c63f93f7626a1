"""Session records are sealed for one session id with the server's secret."""

from __future__ import annotations

from shortlink.domain.sessions import Session, seal, sealing_key, unseal

KEY = sealing_key("x" * 32)
RECORD = Session("ab" * 32, "csrf", 1e9).record()


def test_a_sealed_record_opens_only_for_its_id_and_its_secret() -> None:
    sealed = seal(RECORD, "session-1", KEY)
    assert unseal(sealed, "session-1", KEY) == RECORD
    assert unseal(sealed, "session-2", KEY) is None
    assert unseal(sealed, "session-1", sealing_key("y" * 32)) is None


def test_any_edited_or_added_field_breaks_the_seal() -> None:
    sealed = seal(RECORD, "s", KEY)
    assert unseal({**sealed, "expires_at": 2e9}, "s", KEY) is None
    assert unseal({**sealed, "role": "admin"}, "s", KEY) is None
    # Fields added later (a person's identity, issue 21) are sealed like the rest.
    extended = seal({**RECORD, "subject": "oidc|42"}, "s", KEY)
    assert unseal(extended, "s", KEY) == {**RECORD, "subject": "oidc|42"}


def test_unsealed_or_malformed_records_are_refused() -> None:
    for stored in (RECORD, None, [], "x", {"mac": 5}, {**RECORD, "mac": "0" * 64}):
        assert unseal(stored, "s", KEY) is None
    assert Session.from_record({"key_hash": 1, "csrf": "c", "expires_at": 1}) is None
    assert Session.from_record({"key_hash": "k", "csrf": "c", "expires_at": True}) is None
