"""PostgreSQL failover decisions: pure, from what the probes saw and what the status says.

No I/O and no clock of its own: the operator probes every member, then asks
``decide`` what to do next, and carries it out (shortlink.operator.postgres).
Every decision is derived from the observed state plus the resource's status, never
from memory of a previous decision, so an operator that restarts half-way through a
failover finishes it instead of starting a second one: the promotion target is
written to the status (the *intent*) before the promotion, and a promoted target is
recognised by what it is (writable), not by what we remember doing.

The rules (operator/README.md, "PostgreSQL failover", explains why):

- a primary is dead only after ``failover_delay`` seconds of continuous failure;
- the new primary is the eligible standby with the highest received LSN, then replay
  LSN, then name; in ``required`` durability only a synchronous standby, and only when
  every synchronous standby was seen (otherwise the unseen one may hold the newest
  acknowledged commit); never one more than ``max_lag`` bytes behind;
- fence first: every writable member that is not the primary is fenced the moment it
  is seen, and a fenced member is never primary again until it rejoined as a standby;
- a primary whose server restarted without the operator asking (its postmaster start
  time changed: a crash, a kill -9, its container restarted) has failed: it is fenced
  and a standby promoted at once, without waiting for ``failover_delay`` (its crash
  recovery may have replayed commits no client saw acknowledged; a standby that
  acknowledged every commit is the safer primary). With no eligible standby it stays.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Final, Literal

Durability = Literal["required", "preferred"]
Phase = Literal["Initializing", "Healthy", "Degraded", "FailingOver", "SwitchingOver"]
PHASES: Final[tuple[Phase, ...]] = (
    "Initializing",
    "Healthy",
    "Degraded",
    "FailingOver",
    "SwitchingOver",
)
IntentKind = Literal["failover", "switchover"]
# synchronous_standby_names on a fenced member: no standby is ever called that, so a
# commit there waits forever and is never acknowledged.
FENCE_STANDBY_NAME: Final = "shortlink_fenced"


@dataclass(frozen=True, slots=True)
class Member:
    name: str
    host: str
    port: int = 5432

    @property
    def slot(self) -> str:
        """Its physical replication slot on the primary (slot names allow no '-')."""
        return self.name.replace("-", "_")


@dataclass(frozen=True, slots=True)
class ClusterSpec:
    members: tuple[Member, ...]
    failover_delay: float = 10
    probe_interval: float = 1
    probe_timeout: float = 2
    max_lag: int = 1024 * 1024
    durability: Durability = "required"
    switchover_to: str | None = None

    def member(self, name: str) -> Member | None:
        return next((m for m in self.members if m.name == name), None)


@dataclass(frozen=True, slots=True)
class Replica:
    """One row of pg_stat_replication on a primary."""

    name: str  # application_name: the member name
    streaming: bool
    synchronous: bool  # sync_state sync or quorum
    flush_lsn: int | None = None


@dataclass(frozen=True, slots=True)
class Probe:
    """What one probe of one member saw. ``reachable`` False: nothing else is known."""

    name: str
    reachable: bool
    error: str | None = None
    in_recovery: bool = False
    timeline: int | None = None
    received_lsn: int | None = None  # standby: received; primary: current insert LSN
    replayed_lsn: int | None = None
    committed: bool = False  # primary: the heartbeat row committed within the timeout
    fenced: bool = False
    upstream: tuple[str, int] | None = None  # standby: host, port of its primary_conninfo
    replicas: tuple[Replica, ...] = ()  # primary: who streams from it
    synchronous_names: str = ""  # primary: synchronous_standby_names
    started_at: str | None = None  # pg_postmaster_start_time(): changes on every restart

    @property
    def writable(self) -> bool:
        """Takes writes: a reachable primary that isn't fenced."""
        return self.reachable and not self.in_recovery and not self.fenced

    @property
    def healthy_primary(self) -> bool:
        return self.writable and self.committed

    @property
    def standby(self) -> bool:
        return self.reachable and self.in_recovery


@dataclass(frozen=True, slots=True)
class Intent:
    """A failover or switchover under way, as recorded in status.failover."""

    kind: IntentKind
    from_member: str | None
    to: str | None  # None: the target is not chosen yet (standbys being detached)
    detected_at: str | None = None
    started_at: str | None = None


@dataclass(frozen=True, slots=True)
class Remembered:
    """The parts of the status decisions depend on."""

    current_primary: str | None = None
    timeline: int | None = None
    primary_lsn: int | None = None
    synchronous_standbys: tuple[str, ...] = ()
    intent: Intent | None = None
    fenced: frozenset[str] = frozenset()  # members last seen fenced
    primary_started_at: str | None = None  # its postmaster's start, as last probed


# -- failure tracking ------------------------------------------------------------------


@dataclass(slots=True)
class FailureTracker:
    """How long the primary has failed every probe, by the operator's monotonic clock.

    Kept in memory only: a restarted operator starts counting again, which can only
    delay a failover, never hasten one.
    """

    delay: float
    member: str | None = None
    since: float | None = None

    def observe(self, member: str | None, failed: bool, now: float) -> None:
        if not failed or member != self.member:
            self.member, self.since = member, (now if failed else None)
        elif self.since is None:
            self.since = now

    def failing_for(self, now: float) -> float:
        return 0.0 if self.since is None else now - self.since

    def expired(self, now: float) -> bool:
        return self.since is not None and now - self.since >= self.delay


# -- choosing ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Blocked:
    reason: str  # NoCandidate, LagTooHigh, NoSynchronousStandby, SynchronousStandbyUnreachable
    message: str


def reference_lsn(remembered: Remembered, probes: Iterable[Probe]) -> int:
    """The newest WAL position known anywhere: the last one seen on the primary, or
    a standby's, whichever is further."""
    seen = [p.received_lsn for p in probes if p.received_lsn is not None]
    return max([remembered.primary_lsn or 0, *seen])


def _rank(probe: Probe) -> tuple[int, int, str]:
    return (probe.received_lsn or 0, probe.replayed_lsn or 0, probe.name)


def choose_candidate(
    spec: ClusterSpec, probes: Mapping[str, Probe], remembered: Remembered, old: str | None
) -> str | Blocked:
    """The standby to promote in place of ``old``, or why there is none."""
    standbys = [p for p in probes.values() if p.standby and not p.fenced and p.name != old]
    if spec.durability == "required":
        synchronous = [name for name in remembered.synchronous_standbys if name != old]
        if not synchronous:
            return Blocked(
                "NoSynchronousStandby",
                "no standby was synchronous with the old primary: promoting one could "
                "lose acknowledged commits (durability: required)",
            )
        unseen = [name for name in synchronous if not probes.get(name, _UNSEEN).standby]
        if unseen:
            return Blocked(
                "SynchronousStandbyUnreachable",
                f"synchronous standby {', '.join(unseen)} not reachable: it may hold the "
                "newest acknowledged commit, so none is promoted",
            )
        standbys = [p for p in standbys if p.name in synchronous]
    if not standbys:
        return Blocked("NoCandidate", "no reachable standby to promote")
    # Highest received LSN, then replay LSN; the name breaks ties (the smaller wins).
    best = max(standbys, key=lambda p: (p.received_lsn or 0, p.replayed_lsn or 0))
    ties = [p for p in standbys if _rank(p)[:2] == _rank(best)[:2]]
    best = min(ties, key=lambda p: p.name)
    lag = reference_lsn(remembered, probes.values()) - (best.received_lsn or 0)
    if lag > spec.max_lag:
        return Blocked(
            "LagTooHigh",
            f"the best standby {best.name} is {lag} bytes behind (maxLagOnFailover "
            f"{spec.max_lag}): waiting for the primary rather than losing that much",
        )
    return best.name


_UNSEEN = Probe("", reachable=False)


# -- who is the primary --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Primary:
    name: str | None
    adopted: bool = False  # found writable without us having promoted it
    ambiguous: bool = False  # several writable members, no way to tell which


def identify_primary(probes: Mapping[str, Probe], remembered: Remembered) -> Primary:
    """Which member is the primary now.

    A promoted intent target wins (its promotion may have happened just before an
    operator restart); then the remembered primary while it takes writes; if it
    doesn't, a member on a newer timeline (promoted by someone else) is adopted; at
    first sight, the only writable member, or the one on the highest timeline.
    """
    writable = {p.name: p for p in probes.values() if p.writable}
    intent = remembered.intent
    if intent is not None and intent.to in writable:
        return Primary(intent.to)
    current = remembered.current_primary
    usable = current is not None and current not in remembered.fenced
    if usable and current in writable:
        return Primary(current)  # any other writable member gets fenced
    base = remembered.timeline if current is not None else None
    newer = [
        p
        for p in writable.values()
        if p.name != current and (base is None or (p.timeline or 0) > base)
    ]
    if newer:
        top = max(p.timeline or 0 for p in newer)
        best = [p for p in newer if (p.timeline or 0) == top]
        if len(best) > 1:
            return Primary(None, ambiguous=True)
        return Primary(best[0].name, adopted=current is not None)
    return Primary(current if usable else None)


def to_fence(
    probes: Mapping[str, Probe], primary: str | None, intent: Intent | None
) -> tuple[str, ...]:
    """Writable members that must stop taking writes now: every one but the primary
    (and the intent's promoted target, which *is* the primary)."""
    keep = {primary, intent.to if intent is not None else None} - {None}
    return tuple(sorted(p.name for p in probes.values() if p.writable and p.name not in keep))


def promotion_waits_for_fence(spec: ClusterSpec, old: Probe | None) -> bool:
    """Whether a failover promotes only once its attempt to fence the old primary
    ended. In ``required`` durability an old primary that didn't answer this round's
    probe is not waited for: with its standbys detached it can't get a synchronous
    acknowledgement, and its fence would cost a whole probeTimeout (a deleted pod's
    address answers nothing). It is fenced when it answers. In ``preferred`` it could
    commit alone, so the fence comes first."""
    return old is None or old.reachable or spec.durability != "required"


# -- synchronous replication ---------------------------------------------------------


def synchronous_standbys(
    spec: ClusterSpec, probes: Mapping[str, Probe], primary: str, *, after_promotion: bool = False
) -> tuple[str, ...]:
    """Who should acknowledge commits on ``primary``: the standbys streaming from it
    (right after a promotion: the reachable ones about to be repointed). Dead members
    are left out, so a stale name can't hang writes (CloudNativePG #5257); with none,
    ``required`` names every other unfenced member (writes wait for the first back)
    and ``preferred`` none (asynchronous)."""
    probe = probes.get(primary)
    if after_promotion:
        healthy = [
            p.name for p in probes.values() if p.standby and not p.fenced and p.name != primary
        ]
    else:
        streaming = {r.name for r in probe.replicas if r.streaming} if probe else set()
        healthy = [m.name for m in spec.members if m.name in streaming and m.name != primary]
    if healthy:
        return tuple(sorted(healthy))
    if spec.durability == "preferred":
        return ()
    return tuple(
        m.name
        for m in spec.members
        if m.name != primary and not probes.get(m.name, _UNSEEN).writable
    )


def synchronous_names_setting(standbys: Sequence[str]) -> str:
    """synchronous_standby_names for ANY 1 of ``standbys`` ('' = asynchronous)."""
    if not standbys:
        return ""
    return "ANY 1 (" + ", ".join(f'"{name}"' for name in standbys) + ")"


def parse_synchronous_names(value: str) -> tuple[str, ...]:
    """The member names in a synchronous_standby_names value (our ANY 1 (...) form or
    a plain list); '*' and the fence marker name no member."""
    text = value.strip()
    if "(" in text and text.endswith(")"):
        text = text[text.index("(") + 1 : -1]
    names = (item.strip().strip('"') for item in text.split(","))
    return tuple(sorted(n for n in names if n and n not in {"*", FENCE_STANDBY_NAME}))


# -- what to do ----------------------------------------------------------------------

Step = Literal["none", "failover", "promote", "switchover"]


@dataclass(frozen=True, slots=True)
class Decision:
    """One tick's verdict, carried out by the controller in this order: ``fence``;
    then ``step`` — ``failover``: record the intent, fence the old primary, detach the
    standbys, choose (``choose_candidate``) and promote; ``promote``: finish the
    recorded intent's promotion; ``switchover``: record it, fence, wait until the
    target has all WAL, promote — then ``repoint`` and ``set_synchronous``; and
    ``phase`` and ``problems`` go to the status."""

    primary: str | None
    phase: Phase
    problems: tuple[tuple[str, str], ...] = ()  # (reason, message); the first is the main
    fence: tuple[str, ...] = ()
    step: Step = "none"
    target: str | None = None  # promote / switchover: the member to promote
    repoint: tuple[str, ...] = ()  # standbys to stream from ``primary``
    set_synchronous: tuple[str, ...] | None = None  # new synchronous standbys, if changed
    finish: Intent | None = None  # the intent's target is primary: record completion
    abort: Intent | None = None  # the intent is moot (the old primary is back)
    blocked: Blocked | None = None
    adopted: bool = False


def decide(
    spec: ClusterSpec,
    probes: Mapping[str, Probe],
    remembered: Remembered,
    tracker: FailureTracker,
    now: float,
    *,
    probed_at: float | None = None,
) -> Decision:
    """What to do after a round of probes. ``tracker`` is updated (it is the one piece
    of state that lives only in memory); ``now`` is the monotonic clock, ``probed_at``
    when the probes were sent (default ``now``): a primary whose probe failed only when
    it timed out answered nothing since it was sent, so its failure counts from then."""
    found = identify_primary(probes, remembered)
    primary = found.name
    intent = remembered.intent
    probe = probes.get(primary) if primary is not None else None
    healthy = probe is not None and probe.healthy_primary
    tracker.observe(primary, not healthy, now if probed_at is None else probed_at)
    if found.ambiguous:
        return Decision(
            None,
            "Degraded",
            (("MultiplePrimaries", "several members take writes on the same timeline"),),
        )
    fence = to_fence(probes, primary, intent)
    if intent is not None:
        return _resume(spec, probes, remembered, intent, primary, healthy, fence)
    if healthy and primary is not None and not found.adopted:
        restart = _restarted(spec, probes, remembered, primary, fence)
        if restart is not None:
            return restart
    if healthy and primary is not None:
        steady = _steady(spec, probes, primary, fence, adopted=found.adopted)
        wanted = spec.switchover_to
        if wanted is None or wanted == primary:
            return steady
        blocked = _switchover_blocked(spec, probes, remembered, primary, wanted)
        if blocked is None:
            return Decision(
                primary,
                "SwitchingOver",
                (("SwitchingOver", f"switching over from {primary} to {wanted}"),),
                fence,
                "switchover",
                wanted,
            )
        return replace(
            steady,
            phase="Degraded",
            problems=((blocked.reason, blocked.message), *steady.problems),
            blocked=blocked,
        )
    if primary is None and remembered.current_primary is None:
        return Decision(
            None, "Initializing", (("NoPrimary", "no writable member found yet"),), fence
        )
    old = primary or remembered.current_primary
    failing = tracker.failing_for(now)
    why = probe.error if probe is not None and probe.error else "its heartbeat did not commit"
    if not tracker.expired(now):
        message = (
            f"{old} failing for {failing:.1f}s of failoverDelay {spec.failover_delay:g}s: {why}"
        )
        return Decision(primary, "Degraded", (("PrimaryUnreachable", message),), fence)
    choice = choose_candidate(spec, probes, remembered, old)
    if isinstance(choice, Blocked):
        return Decision(
            primary, "Degraded", ((choice.reason, choice.message),), fence, blocked=choice
        )
    message = f"{old} failed every probe for {failing:.1f}s: {why}"
    return Decision(primary, "FailingOver", (("FailingOver", message),), fence, "failover")


def _restarted(
    spec: ClusterSpec,
    probes: Mapping[str, Probe],
    remembered: Remembered,
    primary: str,
    fence: tuple[str, ...],
) -> Decision | None:
    """The remembered primary back from a restart nobody asked for: fail over now (the
    failover step fences it first), if a standby may be promoted; otherwise None: it
    stays the primary."""
    started = probes[primary].started_at
    before = remembered.primary_started_at
    if primary != remembered.current_primary or None in (started, before) or started == before:
        return None
    choice = choose_candidate(spec, probes, remembered, primary)
    if isinstance(choice, Blocked):
        return None
    message = (
        f"{primary} restarted (postmaster started {started}, was {before}) without the"
        " operator asking: it is replaced"
    )
    return Decision(primary, "FailingOver", (("PrimaryRestarted", message),), fence, "failover")


def _resume(
    spec: ClusterSpec,
    probes: Mapping[str, Probe],
    remembered: Remembered,
    intent: Intent,
    primary: str | None,
    healthy: bool,
    fence: tuple[str, ...],
) -> Decision:
    """A recorded failover/switchover: finish it from what is observed, never repeat it."""
    if intent.to is not None and healthy and primary == intent.to:
        return _steady(spec, probes, primary, fence, finish=intent, after_promotion=True)
    old_is_fine = (
        healthy
        and primary is not None
        and primary == intent.from_member
        and primary not in remembered.fenced
    )
    # Whoever may patch status can write an intent: act on one only while what is
    # observed (and the spec) still backs it (issue 19, finding 10). The old primary
    # healthy and unfenced, nothing promoted: a failover is moot, and a switchover
    # the spec doesn't ask for is no one's.
    unasked = intent.kind == "switchover" and spec.switchover_to != intent.to
    if (
        old_is_fine
        and primary is not None
        and (intent.kind == "failover" or not intent.to or unasked)
    ):
        return _steady(spec, probes, primary, fence, abort=intent, after_promotion=True)
    phase: Phase = "FailingOver" if intent.kind == "failover" else "SwitchingOver"
    ineligible = _ineligible_target(spec, probes, remembered, intent)
    if ineligible is not None:
        return Decision(
            primary, phase, ((ineligible.reason, ineligible.message),), fence, blocked=ineligible
        )
    old = intent.from_member
    if old is not None and old not in fence and probes.get(old, _UNSEEN).writable:
        fence = (*fence, old)  # the old primary stops taking writes before any promotion
    if intent.to is None:
        return Decision(primary, phase, ((phase, "choosing a standby"),), fence, "failover")
    if probes.get(intent.to, _UNSEEN).standby:
        return Decision(
            primary, phase, ((phase, f"promoting {intent.to}"),), fence, "promote", intent.to
        )
    message = f"{intent.to} (being promoted) is not reachable; waiting for it"
    return Decision(primary, phase, (("TargetUnreachable", message),), fence)


def _ineligible_target(
    spec: ClusterSpec, probes: Mapping[str, Probe], remembered: Remembered, intent: Intent
) -> Blocked | None:
    """Why a recorded failover's target must not be promoted now (fenced, too far
    behind, or not synchronous in ``required`` durability), re-checked every round."""
    target = probes.get(intent.to) if intent.to is not None else None
    if intent.kind != "failover" or target is None or not target.standby:
        return None
    why = None
    if target.fenced:
        why = f"{target.name} is fenced"
    elif spec.durability == "required" and target.name not in remembered.synchronous_standbys:
        why = f"{target.name} was not a synchronous standby (durability: required)"
    else:
        lag = reference_lsn(remembered, probes.values()) - (target.received_lsn or 0)
        if lag > spec.max_lag:
            why = f"{target.name} is {lag} bytes behind (maxLagOnFailover {spec.max_lag})"
    if why is None:
        return None
    return Blocked("IntentTargetIneligible", f"the recorded failover target is not promoted: {why}")


def _switchover_blocked(
    spec: ClusterSpec,
    probes: Mapping[str, Probe],
    remembered: Remembered,
    primary: str,
    wanted: str,
) -> Blocked | None:
    target = probes.get(wanted, _UNSEEN)
    head = probes[primary]
    streams = any(r.name == wanted and r.streaming for r in head.replicas)
    lag = reference_lsn(remembered, probes.values()) - (target.received_lsn or 0)
    if not target.standby or not streams:
        return Blocked("SwitchoverTargetNotReady", f"{wanted} is not streaming from {primary}")
    if lag > spec.max_lag:
        return Blocked(
            "SwitchoverTargetNotReady",
            f"{wanted} is {lag} bytes behind (maxLagOnFailover {spec.max_lag})",
        )
    return None


def _steady(
    spec: ClusterSpec,
    probes: Mapping[str, Probe],
    primary: str,
    fence: tuple[str, ...],
    *,
    finish: Intent | None = None,
    abort: Intent | None = None,
    after_promotion: bool = False,
    adopted: bool = False,
) -> Decision:
    """A writable primary: keep standbys on it, synchronous names right, report problems."""
    head = probes[primary]
    member = spec.member(primary)
    address = (member.host, member.port) if member is not None else None
    repoint: list[str] = []
    for other in spec.members:
        p = probes.get(other.name, _UNSEEN)
        if other.name == primary or not p.standby or p.upstream == address:
            continue
        # A standby with no upstream was detached on purpose (by a person, or by a
        # failover in progress): only a finished or aborted failover reattaches it.
        if p.upstream is not None or after_promotion:
            repoint.append(other.name)
    wanted = synchronous_standbys(spec, probes, primary, after_promotion=after_promotion)
    current = parse_synchronous_names(head.synchronous_names)
    set_synchronous = wanted if wanted != current else None

    problems: list[tuple[str, str]] = []
    streaming = {r.name for r in head.replicas if r.streaming}
    for other in spec.members:
        p = probes.get(other.name, _UNSEEN)
        if other.name == primary:
            continue
        if not p.reachable:
            problems.append(("StandbyUnreachable", f"{other.name}: {p.error or 'unreachable'}"))
        elif not p.in_recovery:
            problems.append(("MemberFenced", f"{other.name} is fenced until it rejoins"))
        elif other.name not in streaming:
            problems.append(("StandbyNotStreaming", f"{other.name} is not streaming"))
    if not (set(wanted) & streaming) and not after_promotion:
        problems.append(
            (
                "NoSynchronousStandby",
                "no standby acknowledges commits: "
                + ("writes wait" if spec.durability == "required" else "commits are asynchronous"),
            )
        )
    return Decision(
        primary,
        "Healthy" if not problems else "Degraded",
        tuple(problems),
        fence,
        repoint=tuple(repoint),
        set_synchronous=set_synchronous,
        finish=finish,
        abort=abort,
        adopted=adopted,
    )


# -- status of members -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MemberView:
    name: str
    role: Literal["primary", "standby", "fenced", "unknown"]
    reachable: bool
    lag_bytes: int | None
    streaming: bool
    synchronous: bool
    fenced: bool


def member_views(
    spec: ClusterSpec,
    probes: Mapping[str, Probe],
    primary: str | None,
    remembered: Remembered,
    synchronous: Sequence[str] = (),
) -> list[MemberView]:
    """Per member: role, lag behind the primary, streaming, synchronous, fenced."""
    head = probes.get(primary) if primary is not None else None
    reference = (
        head.received_lsn
        if head is not None and head.reachable and head.received_lsn is not None
        else reference_lsn(remembered, probes.values())
    )
    streaming = {r.name for r in head.replicas if r.streaming} if head is not None else set()
    views = []
    for member in spec.members:
        p = probes.get(member.name, _UNSEEN)
        fenced = p.fenced or (not p.reachable and member.name in remembered.fenced)
        role: Literal["primary", "standby", "fenced", "unknown"]
        if fenced or (p.writable and member.name != primary):
            role = "fenced"
        elif member.name == primary:
            role = "primary"
        elif p.standby:
            role = "standby"
        else:
            role = "unknown"
        lag = None
        if p.reachable and p.received_lsn is not None and role == "standby":
            lag = max(0, reference - p.received_lsn)
        elif role == "primary":
            lag = 0
        views.append(
            MemberView(
                member.name,
                role,
                p.reachable,
                lag,
                member.name in streaming,
                member.name in synchronous,
                fenced,
            )
        )
    return views


# -- LSNs ------------------------------------------------------------------------------


def parse_lsn(text: str | None) -> int | None:
    """'16/B374D848' → bytes."""
    if not text:
        return None
    high, _, low = text.partition("/")
    return (int(high, 16) << 32) | int(low, 16)


def format_lsn(lsn: int | None) -> str | None:
    if lsn is None:
        return None
    return f"{lsn >> 32:X}/{lsn & 0xFFFFFFFF:X}"


@dataclass(frozen=True, slots=True)
class SwitchoverCheck:
    """Whether a fenced old primary's WAL is all on the target."""

    caught_up: bool
    behind: int


def caught_up(primary_flush: int, target_received: int | None) -> SwitchoverCheck:
    behind = max(0, primary_flush - (target_received or 0))
    return SwitchoverCheck(behind == 0, behind)


__all__ = [
    "FENCE_STANDBY_NAME",
    "PHASES",
    "Blocked",
    "ClusterSpec",
    "Decision",
    "FailureTracker",
    "Intent",
    "Member",
    "MemberView",
    "Primary",
    "Probe",
    "Remembered",
    "Replica",
    "caught_up",
    "choose_candidate",
    "decide",
    "format_lsn",
    "identify_primary",
    "member_views",
    "parse_lsn",
    "parse_synchronous_names",
    "reference_lsn",
    "synchronous_names_setting",
    "synchronous_standbys",
    "to_fence",
]
