"""PostgresCluster spec/status <-> the failover domain (shortlink.operator.postgres.status), and the
conninfo the standbys are pointed with (adapters/pg_cluster.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from shortlink.adapters.pg_cluster import Credentials, parse_upstream, primary_conninfo
from shortlink.domain.failover import (
    Decision,
    FailureTracker,
    Intent,
    Member,
    Probe,
    Replica,
    decide,
)
from shortlink.operator.postgres.status import (
    cluster_config,
    cluster_status,
    conditions,
    intent_status,
    refused_status,
    remembered,
)

SPEC = {
    "members": [
        {"name": "pg0", "host": "h0", "port": 5432},
        {"name": "pg1", "host": "h1", "port": 5433},
    ],
    "credentialsSecretRef": {"name": "creds"},
    "failoverDelay": 2,
    "probeInterval": 0.5,
    "durability": "preferred",
    "readWriteService": "pg-rw",
    "switchover": {"to": "pg1"},
}
NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


def test_spec() -> None:
    config = cluster_config(SPEC)
    assert config.cluster.members == (Member("pg0", "h0", 5432), Member("pg1", "h1", 5433))
    assert (config.cluster.failover_delay, config.cluster.probe_interval) == (2.0, 0.5)
    assert config.cluster.probe_timeout == 2 and config.cluster.max_lag == 1024 * 1024
    assert config.cluster.durability == "preferred" and config.cluster.switchover_to == "pg1"
    assert config.secret.name == "creds" and config.secret.superuser == "superuser"
    assert (config.read_write_service, config.read_only_service) == ("pg-rw", None)
    assert config.database == "postgres"


def test_remembered_and_intent_round_trip() -> None:
    intent = Intent("failover", "pg0", "pg1", "2026-01-01T12:00:00Z", "2026-01-01T12:00:02Z")
    status = {
        "currentPrimary": "pg0",
        "timeline": 3,
        "primaryLsn": "0/3000060",
        "synchronousStandbys": ["pg1"],
        "failover": intent_status(intent),
        "members": [{"name": "pg0", "fenced": True}, {"name": "pg1", "fenced": False}],
    }
    memory = remembered(status)
    assert (memory.current_primary, memory.timeline, memory.primary_lsn) == ("pg0", 3, 0x3000060)
    assert memory.synchronous_standbys == ("pg1",) and memory.fenced == {"pg0"}
    assert memory.intent == intent
    assert intent_status(Intent("failover", "pg0", None)) == {"kind": "failover", "from": "pg0"}
    assert remembered({}).intent is None


def test_status_of_a_healthy_cluster() -> None:
    probes = {
        "pg0": Probe(
            "pg0",
            True,
            timeline=1,
            received_lsn=2000,
            committed=True,
            replicas=(Replica("pg1", True, True),),
            synchronous_names='ANY 1 ("pg1")',
        ),
        "pg1": Probe(
            "pg1", True, in_recovery=True, timeline=1, received_lsn=1900, replayed_lsn=1800
        ),
    }
    decision = Decision("pg0", "Healthy")
    status = cluster_status(cluster_config(SPEC), probes, decision, {}, 4, NOW)
    assert status["currentPrimary"] == "pg0" and status["phase"] == "Healthy"
    assert status["timeline"] == 1 and status["primaryLsn"] == "0/7D0"
    assert status["synchronousStandbys"] == ["pg1"] and status["observedGeneration"] == 4
    pg0, pg1 = status["members"]
    assert (pg0["role"], pg0["lagBytes"], pg0["lastSeen"]) == ("primary", 0, "2026-01-01T12:00:00Z")
    assert (pg1["role"], pg1["lagBytes"], pg1["streaming"], pg1["synchronous"]) == (
        "standby",
        100,
        True,
        True,
    )
    assert pg1["receivedLsn"] == "0/76C" and pg1["replayedLsn"] == "0/708"
    ready, replicated, published = status["conditions"]
    assert (ready["type"], ready["status"], ready["reason"]) == ("Ready", "True", "Healthy")
    assert (replicated["status"], replicated["reason"]) == ("True", "Healthy")
    assert (published["type"], published["status"]) == ("Published", "True")


def test_status_keeps_last_seen_of_a_member_that_is_down() -> None:
    before = {"members": [{"name": "pg1", "lastSeen": "2025-12-31T00:00:00Z"}]}
    probes = {
        "pg0": Probe("pg0", True, received_lsn=10, committed=True),
        "pg1": Probe("pg1", False, error="connection refused"),
    }
    decision = Decision("pg0", "Degraded", (("StandbyUnreachable", "pg1: connection refused"),))
    status = cluster_status(cluster_config(SPEC), probes, decision, before, 1, NOW, ["pg1"])
    pg1 = status["members"][1]
    assert pg1["lastSeen"] == "2025-12-31T00:00:00Z" and pg1["error"] == "connection refused"
    assert pg1["fenced"] and pg1["role"] == "fenced"


def test_conditions_split_writes_from_replication() -> None:
    failing = Decision("pg0", "Degraded", (("PrimaryUnreachable", "pg0 failing"),))
    ready, replicated = conditions(failing, takes_writes=False)
    assert (ready.status, ready.reason) == ("False", "PrimaryUnreachable")
    assert replicated.status == "True"
    blocked = Decision("pg0", "Degraded", (("SwitchoverTargetNotReady", "pg1 behind"),))
    ready, _ = conditions(blocked, takes_writes=True)
    assert (ready.status, ready.reason) == ("True", "SwitchoverTargetNotReady")
    lonely = Decision("pg0", "Degraded", (("NoSynchronousStandby", "writes wait"),))
    ready, replicated = conditions(lonely, takes_writes=True)
    assert ready.status == "True" and (replicated.status, replicated.reason) == (
        "False",
        "NoSynchronousStandby",
    )


def test_primary_conninfo_round_trips_through_parse_upstream() -> None:
    credentials = Credentials("root", "", "replicator", "pa ss'word")
    conninfo = primary_conninfo(Member("pg1", "h1", 5433), Member("pg-2", "h2"), credentials)
    assert "application_name='pg-2'" in conninfo and "user='replicator'" in conninfo
    assert "password='pa ss\\'word'" in conninfo
    assert parse_upstream(conninfo) == ("h1", 5433)
    assert parse_upstream("host=10.0.0.1 user=x") == ("10.0.0.1", 5432)
    assert parse_upstream("") is None
    assert parse_upstream("user=x port=1") is None


def test_a_service_left_alone_is_reported() -> None:
    config = cluster_config(SPEC)
    probes = {"pg0": Probe("pg0", True, received_lsn=10, committed=True)}
    decision = decide(config.cluster, probes, remembered({}), FailureTracker(2), 0.0)
    refused = [("ServiceNotManaged", "Service ns/pg-rw exists and is not the operator's")]
    status = cluster_status(config, probes, decision, {}, 1, NOW, (), refused)
    published = next(c for c in status["conditions"] if c["type"] == "Published")
    assert (published["status"], published["reason"]) == ("False", "ServiceNotManaged")
    assert "pg-rw" in published["message"]
    bare = cluster_config({**SPEC, "readWriteService": None})
    assert "Published" not in {
        c["type"] for c in cluster_status(bare, probes, decision, {}, 1, NOW)["conditions"]
    }


def test_a_refused_cluster_says_why_and_keeps_its_members() -> None:
    before = {"currentPrimary": "pg0", "members": [{"name": "pg0"}], "phase": "Healthy"}
    status = refused_status("SecretNotAllowed", "label it", before, 3, NOW)
    assert status["phase"] == "Degraded" and "members" not in status
    ready, replicated = status["conditions"]
    assert (ready["status"], ready["reason"], ready["message"]) == (
        "False",
        "SecretNotAllowed",
        "label it",
    )
    assert (replicated["status"], replicated["reason"]) == ("Unknown", "SecretNotAllowed")
    assert refused_status("NamespaceNotAllowed", "no", {}, 1, NOW)["phase"] == "Initializing"
