"""Single sign-on's pure rules: groups to roles, who a token is about, a person's
roles and workspace, their sealed session record, and the OIDC settings."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from shortlink.config import ConfigError, Settings
from shortlink.domain.access import person_principal, person_roles
from shortlink.domain.errors import (
    DomainError,
    Forbidden,
    IdentityProviderUnavailable,
    InvalidIdToken,
    KubernetesUnavailable,
    NotAMember,
)
from shortlink.domain.oidc import (
    GroupRole,
    LoginAttempt,
    parse_group_roles,
    person_of,
    roles_from_groups,
)
from shortlink.domain.sessions import Session, seal, sealing_key, unseal
from shortlink.domain.workspaces import Role
from shortlink.http.errors import domain_error_response

RULES = parse_group_roles("devs=team-a:editor, leads=team-a:admin,ops=team-b:viewer")
OIDC = {"SHORTLINK_OIDC_ISSUER": "https://id.example.com/", "SHORTLINK_OIDC_CLIENT_ID": "ui"}


def test_group_roles_parse_from_the_setting() -> None:
    assert (
        GroupRole("devs", "team-a", Role.EDITOR),
        GroupRole("leads", "team-a", Role.ADMIN),
        GroupRole("ops", "team-b", Role.VIEWER),
    ) == RULES
    assert parse_group_roles("cn=x=team-a:owner") == (GroupRole("cn=x", "team-a", Role.OWNER),)
    assert parse_group_roles(" , ") == ()


@pytest.mark.parametrize(
    "spec", ["devs", "devs=team-a", "=team-a:viewer", "devs=Team A:viewer", "devs=team-a:boss"]
)
def test_a_malformed_group_role_is_refused(spec: str) -> None:
    with pytest.raises(ValueError, match=r"devs|team-a|viewer"):
        parse_group_roles(spec)
    with pytest.raises(ConfigError, match="SHORTLINK_OIDC_GROUP_ROLES"):
        Settings.from_env({**OIDC, "SHORTLINK_OIDC_GROUP_ROLES": spec})


def test_the_highest_role_a_persons_groups_give_wins() -> None:
    assert roles_from_groups(["devs", "leads", "other"], RULES) == {"team-a": Role.ADMIN}
    assert roles_from_groups("ops", RULES) == {"team-b": Role.VIEWER}
    assert roles_from_groups(None, RULES) == roles_from_groups([1, {"devs": 1}], RULES) == {}


def test_a_person_is_their_verified_e_mail_address_in_lower_case() -> None:
    assert person_of({"email": "Alice@Example.com", "email_verified": True}) == (
        "alice@example.com"
    )
    assert person_of({"email": "bob@example.com"}) == "bob@example.com"  # not said: trusted
    with pytest.raises(InvalidIdToken, match="not verified"):
        person_of({"email": "eve@example.com", "email_verified": False})
    for claims in ({}, {"email": "not an address"}, {"email": ["a@b.c"]}):
        with pytest.raises(InvalidIdToken, match="e-mail"):
            person_of(claims)


def test_membership_and_groups_combine_to_the_higher_role() -> None:
    roles = person_roles(
        [("team-a", Role.VIEWER), ("team-c", Role.OWNER)],
        {"team-a": Role.EDITOR, "team-b": Role.VIEWER},
    )
    assert roles == {"team-a": Role.EDITOR, "team-b": Role.VIEWER, "team-c": Role.OWNER}
    assert person_roles([("team-a", Role.ADMIN)], {"team-a": Role.VIEWER}) == {"team-a": Role.ADMIN}


def test_a_person_acts_in_the_workspace_asked_for_or_their_first() -> None:
    roles = {"zeta": Role.OWNER, "alpha": Role.VIEWER}
    assert person_principal("a@b.c", roles, None).workspace == "alpha"
    chosen = person_principal("a@b.c", roles, "zeta")
    assert (chosen.actor_kind, chosen.actor, chosen.role) == ("user", "a@b.c", Role.OWNER)
    assert chosen.reachable == ("alpha", "zeta")
    with pytest.raises(Forbidden, match="not a member of workspace 'other'"):
        person_principal("a@b.c", roles, "other")
    with pytest.raises(NotAMember):
        person_principal("a@b.c", {}, None)


def test_a_person_session_record_round_trips_sealed() -> None:
    key = sealing_key("k" * 32)
    session = Session(None, "csrf", 1e9, "a@b.c", {"team-a": Role.EDITOR})
    stored = seal(session.record(), "sid", key)
    opened = unseal(stored, "sid", key)
    assert opened is not None and Session.from_record(opened) == session
    # Edited in Redis (a role raised): the seal breaks.
    assert unseal({**stored, "roles": {"team-a": "owner"}}, "sid", key) is None


@pytest.mark.parametrize(
    "record",
    [
        {"key_hash": "ab", "subject": "a@b.c", "roles": {}, "csrf": "c", "expires_at": 1},
        {"csrf": "c", "expires_at": 1},
        {"subject": "a@b.c", "csrf": "c", "expires_at": 1},  # no roles
        {"subject": "a@b.c", "roles": {"w": "boss"}, "csrf": "c", "expires_at": 1},
    ],
)
def test_a_session_record_is_a_keys_or_a_persons(record: dict[str, object]) -> None:
    assert Session.from_record(record) is None


def test_a_login_attempt_keeps_its_nonce_and_verifier() -> None:
    attempt = LoginAttempt("state", "nonce", "verifier")
    assert LoginAttempt.from_record("state", attempt.record()) == attempt
    assert LoginAttempt.from_record("state", {"nonce": "n"}) is None


def test_oidc_is_off_unless_an_issuer_is_set() -> None:
    assert not Settings.from_env({}).oidc_enabled
    settings = Settings.from_env({**OIDC, "SHORTLINK_BASE_URL": "https://s.example.com"})
    assert settings.oidc_enabled and settings.oidc_issuer == "https://id.example.com"
    assert settings.oidc_callback_url == "https://s.example.com/v1/oidc/callback"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SHORTLINK_OIDC_ISSUER": "https://id.example.com"}, "CLIENT_ID"),
        ({**OIDC, "SHORTLINK_OIDC_ISSUER": "id.example.com"}, "ISSUER"),
        ({**OIDC, "SHORTLINK_OIDC_SCOPES": "email"}, "openid"),
        ({**OIDC, "SHORTLINK_OIDC_REDIRECT_URI": "/cb"}, "REDIRECT_URI"),
    ],
)
def test_incomplete_oidc_settings_are_refused(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(env)


@pytest.mark.parametrize(
    ("error", "dependency"),
    [(IdentityProviderUnavailable(), "oidc"), (KubernetesUnavailable(), "kubernetes")],
)
def test_an_unanswering_provider_or_api_server_is_a_counted_503(
    error: DomainError, dependency: str
) -> None:
    def count() -> float:
        sample = REGISTRY.get_sample_value(
            "shortlink_unavailable_responses_total", {"dependency": dependency}
        )
        return sample or 0.0

    before = count()
    response = domain_error_response(error)
    assert response.status == 503 and response.headers["Retry-After"] == "5"
    assert count() == before + 1
