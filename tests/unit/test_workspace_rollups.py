"""Which UTC days the whole-workspace rollups may hold (domain.workspace_rollups)."""

from __future__ import annotations

from shortlink.domain.workspace_rollups import (
    DAY,
    GRACE,
    RollupWork,
    late_days,
    month_start,
    next_month,
    rollable,
    rollable_month,
    whole_months,
)

MIDNIGHT = 1_760_054_400  # a UTC midnight


def test_a_day_is_rollable_only_once_its_grace_after_its_end_is_over() -> None:
    yesterday = MIDNIGHT - DAY
    assert not rollable(yesterday, MIDNIGHT)
    assert not rollable(yesterday, MIDNIGHT + GRACE - 1)
    assert rollable(yesterday, MIDNIGHT + GRACE)
    assert not rollable(MIDNIGHT, MIDNIGHT + GRACE)


def test_late_days_are_the_rollable_days_of_the_clicks() -> None:
    now = MIDNIGHT + GRACE
    stamps = [MIDNIGHT - 1, MIDNIGHT - DAY, MIDNIGHT - 3 * DAY + 5.5, MIDNIGHT + 10, now - 1]
    assert late_days(stamps, now) == {MIDNIGHT - DAY, MIDNIGHT - 3 * DAY}
    assert late_days([], now) == set()


def test_months_are_whole_utc_months_rollable_once_their_last_day_is() -> None:
    feb = 1_769_904_000  # 2026-02-01T00:00Z
    mar = feb + 28 * DAY
    assert month_start(feb + 27 * DAY) == feb and month_start(mar) == mar
    assert next_month(feb) == mar and next_month(1_764_547_200) == 1_767_225_600  # Dec -> Jan
    assert not rollable_month(feb, mar + GRACE - 1)
    assert rollable_month(feb, mar + GRACE)
    assert whole_months(feb, mar) == [feb]
    assert whole_months(feb + DAY, mar + 40 * DAY) == [mar]  # February begins before
    assert whole_months(feb, mar - DAY) == []


def test_rollup_work_counts_days_and_months() -> None:
    assert not RollupWork()
    assert len(RollupWork(days=(MIDNIGHT,), months=(MIDNIGHT, MIDNIGHT))) == 3
