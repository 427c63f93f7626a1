"""Failover decisions (shortlink.domain.failover) with hand-made probes and a fake clock."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from shortlink.domain.failover import (
    Blocked,
    ClusterSpec,
    FailureTracker,
    Intent,
    Member,
    Probe,
    Remembered,
    Replica,
    caught_up,
    choose_candidate,
    decide,
    format_lsn,
    identify_primary,
    member_views,
    parse_lsn,
    parse_synchronous_names,
    promotion_waits_for_fence,
    synchronous_names_setting,
    synchronous_standbys,
)
from shortlink.operator.postgres.status import cluster_config, cluster_status, remembered

MEMBERS = (Member("pg0", "h0"), Member("pg1", "h1"), Member("pg2", "h2"))
SPEC = ClusterSpec(MEMBERS, failover_delay=10, probe_interval=1)
ON_PG0 = ("h0", 5432)
SYNC_BOTH = 'ANY 1 ("pg1", "pg2")'


def primary(name: str = "pg0", lsn: int = 1000, **kwargs: object) -> Probe:
    defaults: dict[str, object] = {
        "reachable": True,
        "in_recovery": False,
        "timeline": 1,
        "received_lsn": lsn,
        "committed": True,
        "replicas": (Replica("pg1", True, True), Replica("pg2", True, True)),
        "synchronous_names": SYNC_BOTH,
    }
    return Probe(name, **{**defaults, **kwargs})  # type: ignore[arg-type]


def standby(name: str, lsn: int = 1000, replay: int | None = None, **kwargs: object) -> Probe:
    defaults: dict[str, object] = {
        "reachable": True,
        "in_recovery": True,
        "timeline": 1,
        "received_lsn": lsn,
        "replayed_lsn": lsn if replay is None else replay,
        "upstream": ON_PG0,
    }
    return Probe(name, **{**defaults, **kwargs})  # type: ignore[arg-type]


def down(name: str) -> Probe:
    return Probe(name, reachable=False, error="connection refused")


def probes(*items: Probe) -> dict[str, Probe]:
    return {p.name: p for p in items}


REMEMBERED = Remembered("pg0", 1, 1000, ("pg1", "pg2"))
HEALTHY = probes(primary(), standby("pg1"), standby("pg2"))


def test_healthy_cluster_needs_nothing() -> None:
    decision = decide(SPEC, HEALTHY, REMEMBERED, FailureTracker(10), now=0)
    assert decision.phase == "Healthy" and decision.primary == "pg0"
    assert decision.step == "none" and decision.fence == () and decision.repoint == ()
    assert decision.set_synchronous is None and decision.problems == ()


def test_failover_only_after_failover_delay_of_continuous_failure() -> None:
    tracker = FailureTracker(10)
    dead = probes(down("pg0"), standby("pg1"), standby("pg2"))
    for second in range(10):
        decision = decide(SPEC, dead, REMEMBERED, tracker, now=100 + second)
        assert decision.step == "none" and decision.phase == "Degraded"
        assert decision.problems[0][0] == "PrimaryUnreachable"
    decision = decide(SPEC, dead, REMEMBERED, tracker, now=110)
    assert decision.step == "failover" and decision.phase == "FailingOver"


def test_a_primary_back_within_the_delay_resets_the_clock() -> None:
    """A restart (or one slow probe) inside failoverDelay triggers nothing."""
    tracker = FailureTracker(10)
    dead = probes(down("pg0"), standby("pg1"), standby("pg2"))
    for second in range(9):
        assert decide(SPEC, dead, REMEMBERED, tracker, now=second).step == "none"
    assert decide(SPEC, HEALTHY, REMEMBERED, tracker, now=9).phase == "Healthy"
    for second in range(10, 19):
        assert decide(SPEC, dead, REMEMBERED, tracker, now=second).step == "none"
    assert decide(SPEC, dead, REMEMBERED, tracker, now=20).step == "failover"


def test_a_probe_that_timed_out_counts_its_whole_wait_as_failure() -> None:
    """Sent at 100, given up at 102 (probeTimeout 2): the primary answered nothing for
    2 s, so with failoverDelay 2 this round fails over, not the next one."""
    tracker = FailureTracker(2)
    spec = replace(SPEC, failover_delay=2)
    dead = probes(down("pg0"), standby("pg1"), standby("pg2"))
    assert decide(spec, dead, REMEMBERED, tracker, now=102, probed_at=100).step == "failover"
    # Without it, the failure counts from when the answer came: one more round.
    later = FailureTracker(2)
    assert decide(spec, dead, REMEMBERED, later, now=102).step == "none"


def test_a_primary_that_answers_but_cannot_commit_is_failing() -> None:
    tracker = FailureTracker(2)
    stuck = probes(
        primary(committed=False, error="heartbeat timed out"), standby("pg1"), standby("pg2")
    )
    spec = replace(SPEC, failover_delay=2)
    assert decide(spec, stuck, REMEMBERED, tracker, now=0).step == "none"
    decision = decide(spec, stuck, REMEMBERED, tracker, now=2)
    assert decision.step == "failover"
    assert "heartbeat timed out" in decision.problems[0][1]


def test_candidate_is_the_highest_received_then_replayed_then_name() -> None:
    old = "pg0"
    assert (
        choose_candidate(SPEC, probes(standby("pg1", 900), standby("pg2", 1000)), REMEMBERED, old)
        == "pg2"
    )
    by_replay = probes(standby("pg1", 1000, 990), standby("pg2", 1000, 950))
    assert choose_candidate(SPEC, by_replay, REMEMBERED, old) == "pg1"
    tie = probes(standby("pg2", 1000), standby("pg1", 1000))
    assert choose_candidate(SPEC, tie, REMEMBERED, old) == "pg1"


def test_required_only_promotes_a_synchronous_standby_and_only_when_all_were_seen() -> None:
    only_pg1 = replace(REMEMBERED, synchronous_standbys=("pg1",))
    both = probes(standby("pg1", 900), standby("pg2", 1000))
    assert choose_candidate(SPEC, both, only_pg1, "pg0") == "pg1"  # pg2 was async
    preferred = replace(SPEC, durability="preferred")
    assert choose_candidate(preferred, both, only_pg1, "pg0") == "pg2"

    unseen = choose_candidate(SPEC, probes(standby("pg1"), down("pg2")), REMEMBERED, "pg0")
    assert isinstance(unseen, Blocked) and unseen.reason == "SynchronousStandbyUnreachable"
    none = choose_candidate(SPEC, both, replace(REMEMBERED, synchronous_standbys=()), "pg0")
    assert isinstance(none, Blocked) and none.reason == "NoSynchronousStandby"


def test_no_promotion_beyond_max_lag() -> None:
    spec = replace(SPEC, max_lag=100, durability="preferred")
    behind = probes(standby("pg1", 800), standby("pg2", 850))
    blocked = choose_candidate(spec, behind, REMEMBERED, "pg0")  # primary was at 1000
    assert isinstance(blocked, Blocked) and blocked.reason == "LagTooHigh"
    assert choose_candidate(spec, probes(standby("pg1", 900)), REMEMBERED, "pg0") == "pg1"

    tracker = FailureTracker(10)
    dead = probes(down("pg0"), standby("pg1", 800), standby("pg2", 850))
    decide(spec, dead, REMEMBERED, tracker, now=0)
    decision = decide(spec, dead, REMEMBERED, tracker, now=10)
    assert decision.step == "none" and decision.phase == "Degraded"
    assert decision.blocked is not None and decision.blocked.reason == "LagTooHigh"


def test_a_writable_member_that_is_not_the_primary_is_fenced_at_once() -> None:
    """The old primary comes back after a failover: fenced the moment it is seen."""
    after = Remembered("pg1", 2, 2000, ("pg2",), fenced=frozenset())
    back = probes(
        primary("pg0", 1500, timeline=1, replicas=()),
        primary(
            "pg1",
            2000,
            timeline=2,
            replicas=(Replica("pg2", True, True),),
            synchronous_names='ANY 1 ("pg2")',
        ),
        standby("pg2", 2000, timeline=2, upstream=("h1", 5432)),
    )
    decision = decide(SPEC, back, after, FailureTracker(10), now=0)
    assert decision.primary == "pg1" and decision.fence == ("pg0",)


def test_a_fenced_member_is_never_the_primary_again() -> None:
    fenced = Remembered("pg0", 1, 1000, ("pg1", "pg2"), fenced=frozenset({"pg0"}))
    observed = probes(primary(), standby("pg1"), standby("pg2"))  # unfenced by hand?
    found = identify_primary(observed, fenced)
    assert found.name is None
    decision = decide(SPEC, observed, fenced, FailureTracker(10), now=0)
    assert "pg0" in decision.fence


def test_two_primaries_on_the_same_timeline_at_first_sight_is_ambiguous() -> None:
    found = identify_primary(probes(primary("pg0"), primary("pg1")), Remembered())
    assert found.ambiguous
    decision = decide(
        SPEC, probes(primary("pg0"), primary("pg1")), Remembered(), FailureTracker(1), 0
    )
    assert decision.phase == "Degraded" and decision.problems[0][0] == "MultiplePrimaries"
    assert decision.fence == ()  # never fence on a guess


def test_first_sight_adopts_the_only_writable_member() -> None:
    decision = decide(SPEC, HEALTHY, Remembered(), FailureTracker(10), 0)
    assert decision.primary == "pg0" and decision.phase == "Healthy"
    newest = identify_primary(
        probes(primary("pg0", timeline=3), primary("pg1", timeline=2)), Remembered()
    )
    assert newest.name == "pg0"


def test_nothing_writable_and_nothing_remembered_is_initializing() -> None:
    decision = decide(SPEC, probes(down("pg0"), standby("pg1")), Remembered(), FailureTracker(1), 0)
    assert decision.phase == "Initializing" and decision.step == "none"


# -- never promote twice ----------------------------------------------------------------


def test_a_recorded_intent_without_target_resumes_the_failover_without_waiting() -> None:
    intent = Intent("failover", "pg0", None, "t0", "t1")
    remembered = replace(REMEMBERED, intent=intent)
    dead = probes(down("pg0"), standby("pg1"), standby("pg2"))
    decision = decide(SPEC, dead, remembered, FailureTracker(10), now=0)
    assert decision.step == "failover" and decision.phase == "FailingOver"


def test_a_recorded_target_is_promoted_not_another() -> None:
    intent = Intent("failover", "pg0", "pg1", "t0", "t1")
    remembered = replace(REMEMBERED, intent=intent)
    # pg2 is now further ahead, but pg1 was chosen: switching could promote twice.
    observed = probes(down("pg0"), standby("pg1", 1000), standby("pg2", 1200))
    decision = decide(SPEC, observed, remembered, FailureTracker(10), now=0)
    assert (decision.step, decision.target) == ("promote", "pg1")


def test_a_target_already_promoted_is_finished_not_promoted_again() -> None:
    intent = Intent("failover", "pg0", "pg1", "t0", "t1")
    remembered = replace(REMEMBERED, intent=intent)
    promoted = probes(
        down("pg0"),
        primary("pg1", 1100, timeline=2, replicas=(), synchronous_names=""),
        standby("pg2", 1000, upstream=None),  # detached by the failover
    )
    decision = decide(SPEC, promoted, remembered, FailureTracker(10), now=0)
    assert decision.step == "none" and decision.primary == "pg1"
    assert decision.finish == intent
    assert decision.repoint == ("pg2",)
    assert decision.set_synchronous == ("pg2",)  # the dead old primary is left out


def test_an_old_primary_back_before_any_promotion_calls_the_failover_off() -> None:
    intent = Intent("failover", "pg0", None, "t0", "t1")
    remembered = replace(REMEMBERED, intent=intent)
    observed = probes(
        primary(replicas=()), standby("pg1", upstream=None), standby("pg2", upstream=None)
    )
    decision = decide(SPEC, observed, remembered, FailureTracker(10), now=0)
    assert decision.abort == intent and decision.primary == "pg0"
    assert decision.repoint == ("pg1", "pg2")
    # ... but once it was fenced, the failover goes on.
    fenced = probes(
        primary(fenced=True), standby("pg1", upstream=None), standby("pg2", upstream=None)
    )
    assert decide(SPEC, fenced, remembered, FailureTracker(10), now=0).step == "failover"


def test_an_unfenced_old_primary_is_fenced_before_a_resumed_promotion() -> None:
    intent = Intent("switchover", "pg0", "pg1", "t0", "t1")
    remembered = replace(REMEMBERED, intent=intent)
    spec = replace(SPEC, switchover_to="pg1")
    decision = decide(spec, HEALTHY, remembered, FailureTracker(10), now=0)
    assert decision.step == "promote" and decision.fence == ("pg0",)


# -- an intent written into status by someone else (issue 19, finding 10) ---------------


def test_a_recorded_failover_from_a_healthy_primary_is_called_off() -> None:
    remembered = replace(REMEMBERED, intent=Intent("failover", "pg0", "pg2", "t0", "t1"))
    decision = decide(SPEC, HEALTHY, remembered, FailureTracker(10), now=0)
    assert decision.step == "none" and decision.fence == ()
    assert decision.abort is not None


def test_a_recorded_switchover_the_spec_does_not_ask_for_is_called_off() -> None:
    remembered = replace(REMEMBERED, intent=Intent("switchover", "pg0", "pg1", "t0", "t1"))
    decision = decide(SPEC, HEALTHY, remembered, FailureTracker(10), now=0)
    assert decision.step == "none" and decision.fence == ()


def test_a_recorded_target_is_rechecked_before_its_promotion() -> None:
    dead = probes(primary(reachable=False), standby("pg1", 5_000_000), standby("pg2", 10))
    lagging = replace(REMEMBERED, intent=Intent("failover", "pg0", "pg2", "t0", "t1"))
    decision = decide(SPEC, dead, lagging, FailureTracker(10), now=0)
    assert decision.step != "promote"
    assert decision.blocked is not None and decision.blocked.reason == "IntentTargetIneligible"
    fenced = probes(primary(reachable=False), standby("pg1"), standby("pg2", fenced=True))
    decision = decide(SPEC, fenced, lagging, FailureTracker(10), now=0)
    assert decision.step != "promote"
    required = replace(SPEC, durability="required")
    not_sync = replace(lagging, synchronous_standbys=("pg1",))
    decision = decide(required, probes(primary(reachable=False), standby("pg1"), standby("pg2")),
                      not_sync, FailureTracker(10), now=0)  # fmt: skip
    assert decision.step != "promote"


# -- switchover -------------------------------------------------------------------------


def test_switchover_to_a_streaming_standby() -> None:
    spec = replace(SPEC, switchover_to="pg2")
    decision = decide(spec, HEALTHY, REMEMBERED, FailureTracker(10), 0)
    assert (decision.step, decision.target, decision.phase) == (
        "switchover",
        "pg2",
        "SwitchingOver",
    )
    assert (
        decide(replace(SPEC, switchover_to="pg0"), HEALTHY, REMEMBERED, FailureTracker(10), 0).step
        == "none"
    )


def test_switchover_to_a_standby_that_is_not_streaming_is_refused() -> None:
    spec = replace(SPEC, switchover_to="pg2")
    observed = probes(
        primary(replicas=(Replica("pg1", True, True),)), standby("pg1"), standby("pg2", 10)
    )
    decision = decide(spec, observed, REMEMBERED, FailureTracker(10), 0)
    assert decision.step == "none" and decision.phase == "Degraded"
    assert decision.blocked is not None and decision.blocked.reason == "SwitchoverTargetNotReady"


def test_caught_up() -> None:
    assert caught_up(1000, 1000).caught_up
    assert caught_up(1000, 900).behind == 100
    assert not caught_up(1000, None).caught_up


# -- synchronous replication ------------------------------------------------------------


def test_synchronous_standbys_drop_dead_members() -> None:
    one_down = probes(primary(replicas=(Replica("pg2", True, True),)), down("pg1"), standby("pg2"))
    assert synchronous_standbys(SPEC, one_down, "pg0") == ("pg2",)
    decision = decide(SPEC, one_down, REMEMBERED, FailureTracker(10), 0)
    assert decision.set_synchronous == ("pg2",) and decision.phase == "Degraded"
    assert decision.problems[0][0] == "StandbyUnreachable"


def test_with_no_healthy_standby_required_waits_and_preferred_goes_async() -> None:
    alone = probes(primary(replicas=()), down("pg1"), down("pg2"))
    assert synchronous_standbys(SPEC, alone, "pg0") == ("pg1", "pg2")
    preferred = replace(SPEC, durability="preferred")
    assert synchronous_standbys(preferred, alone, "pg0") == ()
    decision = decide(preferred, alone, REMEMBERED, FailureTracker(10), 0)
    assert decision.set_synchronous == ()
    assert (
        "NoSynchronousStandby",
        "no standby acknowledges commits: commits are asynchronous",
    ) in decision.problems


def test_synchronous_names_round_trip() -> None:
    assert synchronous_names_setting(("pg1", "pg-2")) == 'ANY 1 ("pg1", "pg-2")'
    assert synchronous_names_setting(()) == ""
    assert parse_synchronous_names('ANY 1 ("pg1", "pg-2")') == ("pg-2", "pg1")
    assert parse_synchronous_names("pg1, pg2") == ("pg1", "pg2")
    assert parse_synchronous_names("shortlink_fenced") == ()
    assert parse_synchronous_names("") == ()


def test_standbys_following_someone_else_are_repointed_but_detached_ones_left_alone() -> None:
    observed = probes(
        primary(replicas=()), standby("pg1", upstream=("h2", 5432)), standby("pg2", upstream=None)
    )
    decision = decide(SPEC, observed, REMEMBERED, FailureTracker(10), 0)
    assert decision.repoint == ("pg1",)


# -- views and LSNs ---------------------------------------------------------------------


def test_member_views() -> None:
    observed = probes(primary(lsn=5000), standby("pg1", 4000), down("pg2"))
    views = {v.name: v for v in member_views(SPEC, observed, "pg0", REMEMBERED, ("pg1",))}
    assert (views["pg0"].role, views["pg0"].lag_bytes) == ("primary", 0)
    assert (views["pg1"].role, views["pg1"].lag_bytes, views["pg1"].synchronous) == (
        "standby",
        1000,
        True,
    )
    assert (views["pg2"].role, views["pg2"].reachable, views["pg2"].lag_bytes) == (
        "unknown",
        False,
        None,
    )
    fenced = member_views(SPEC, probes(primary("pg0", fenced=True)), "pg1", REMEMBERED)
    assert fenced[0].role == "fenced" and fenced[0].fenced


@pytest.mark.parametrize("text", ["0/0", "0/3000060", "16/B374D848", "FFFFFFFF/FFFFFFFF"])
def test_lsn_round_trip(text: str) -> None:
    assert format_lsn(parse_lsn(text)) == text
    assert parse_lsn(None) is None and format_lsn(None) is None


def test_lsn_order() -> None:
    assert (parse_lsn("1/0") or 0) > (parse_lsn("0/FFFFFFFF") or 0)


# -- a primary restarted without the operator asking (kill -9, a crash, its container)


BOOTED = replace(REMEMBERED, primary_started_at="2026-12-07 06:00:00.1+00")


def test_a_primary_whose_server_restarted_is_failed_over_at_once() -> None:
    """Back and healthy within failoverDelay, but on a new postmaster: a failure."""
    restarted = probes(
        primary(started_at="2026-12-07 06:00:03.9+00"), standby("pg1"), standby("pg2")
    )
    decision = decide(SPEC, restarted, BOOTED, FailureTracker(10), now=0)
    assert decision.step == "failover" and decision.phase == "FailingOver"
    assert decision.primary == "pg0"
    reason, message = decision.problems[0]
    assert reason == "PrimaryRestarted"
    assert "06:00:03.9" in message and "06:00:00.1" in message


def test_the_same_postmaster_or_none_remembered_is_no_restart() -> None:
    same = probes(primary(started_at="2026-12-07 06:00:00.1+00"), standby("pg1"), standby("pg2"))
    assert decide(SPEC, same, BOOTED, FailureTracker(10), now=0).phase == "Healthy"
    # A status written before primaryStartedAt existed: nothing to compare with.
    later = probes(primary(started_at="2026-12-07 06:00:03.9+00"), standby("pg1"), standby("pg2"))
    assert decide(SPEC, later, REMEMBERED, FailureTracker(10), now=0).phase == "Healthy"


def test_a_restarted_primary_with_no_eligible_standby_stays_primary() -> None:
    alone = probes(primary(started_at="2026-12-07 06:00:03.9+00"), down("pg1"), standby("pg2"))
    decision = decide(SPEC, alone, BOOTED, FailureTracker(10), now=0)
    # required durability: pg1 (synchronous) unseen, so nobody may be promoted.
    assert decision.step == "none" and decision.primary == "pg0"


def test_the_status_remembers_each_members_start_and_the_primarys_is_compared() -> None:
    """members[].startedAt as probed; remembered() takes the current primary's, so a
    newly promoted primary is compared with its own start, never the old one's."""
    config = cluster_config(
        {"members": [{"name": m.name, "host": m.host} for m in MEMBERS],
         "credentialsSecretRef": {"name": "s"}, "failoverDelay": 10}
    )  # fmt: skip
    seen = probes(
        down("pg0"),
        primary("pg1", timeline=2, started_at="05:00", replicas=(Replica("pg2", True, True),)),
        standby("pg2", upstream=("h1", 5432), started_at="04:00"),
    )
    before = {"currentPrimary": "pg0", "members": [{"name": "pg0", "startedAt": "06:00"}]}
    decision = decide(config.cluster, seen, remembered(before), FailureTracker(10), now=0)
    written = cluster_status(config, seen, decision, before, 1, datetime.now(UTC))
    started = {m["name"]: m.get("startedAt") for m in written["members"]}
    # pg0 unreachable keeps what was last seen.
    assert started == {"pg0": "06:00", "pg1": "05:00", "pg2": "04:00"}
    assert written["currentPrimary"] == "pg1"
    assert remembered(written).primary_started_at == "05:00"
    again = decide(config.cluster, seen, remembered(written), FailureTracker(10), now=1)
    assert again.step == "none" and again.primary == "pg1"


def test_a_failover_waits_for_the_fence_unless_an_unanswering_primary_cant_commit() -> None:
    """In `required` durability an old primary that didn't answer can't get a
    synchronous acknowledgement once its standbys are detached: its fence isn't waited
    for. One that answered, or any in `preferred` (it may commit alone), is."""
    silent, answering = Probe("pg0", reachable=False), Probe("pg0", reachable=True)
    preferred = replace(SPEC, durability="preferred")
    assert not promotion_waits_for_fence(SPEC, silent)
    assert promotion_waits_for_fence(SPEC, answering)
    assert promotion_waits_for_fence(preferred, silent)
    assert promotion_waits_for_fence(preferred, answering)
    assert promotion_waits_for_fence(SPEC, None)  # no old primary: nothing to wait for
