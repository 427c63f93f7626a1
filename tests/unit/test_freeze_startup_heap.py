"""shortlink.http.component.freeze_startup_heap: start-up objects leave the collector's scans."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from shortlink.http.component import freeze_startup_heap


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


@pytest.mark.usefixtures("unfrozen")
def test_everything_alive_is_frozen_and_new_objects_are_still_collected() -> None:
    alive = [[index] for index in range(1000)]
    assert gc.get_freeze_count() == 0
    freeze_startup_heap()
    assert gc.get_freeze_count() >= len(alive)

    class Cycle:
        other: object

    first, second = Cycle(), Cycle()
    first.other, second.other = second, first
    del first, second
    assert gc.collect() >= 2  # garbage made after the freeze is found as before
