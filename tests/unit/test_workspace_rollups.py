"""Which UTC days the whole-workspace rollups may hold (domain.workspace_rollups)."""

from __future__ import annotations

from shortlink.domain.workspace_rollups import DAY, GRACE, late_days, rollable

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
