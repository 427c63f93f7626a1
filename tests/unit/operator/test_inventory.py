from __future__ import annotations

import asyncio

from shortlink.operator.links.inventory import Inventory, Tracked
from shortlink.operator.links.reconcile import Desired
from shortlink.operator.resource import ObjectRef

DESIRED = Desired(None, "https://e.com", None, 302, True, None)


def test_track_and_forget() -> None:
    inventory = Inventory()
    tracked = Tracked(ObjectRef("ns", "a", "uid"), DESIRED, "abc1234", None, None, "ns-uid")
    inventory.track(tracked)
    assert inventory.get("ns/a") is tracked
    assert len(inventory) == 1 and inventory.snapshot() == [tracked]
    inventory.forget("ns/a")
    inventory.forget("ns/a")
    assert inventory.get("ns/a") is None and len(inventory) == 0


def test_not_ready_counts_each_resource_once_until_ready_or_forgotten() -> None:
    inventory = Inventory()
    inventory.note_ready("ns/a", False)
    inventory.note_ready("ns/a", False)  # retried, still not Ready: still one
    inventory.note_ready("ns/b", False)
    inventory.note_ready("ns/c", True)
    assert inventory.not_ready == 2
    inventory.note_ready("ns/a", True)
    inventory.forget_readiness("ns/b")  # deleted
    assert inventory.not_ready == 0


async def test_lock_is_exclusive_per_key_and_dropped_when_idle() -> None:
    inventory = Inventory()
    order: list[str] = []

    async def hold(key: str, label: str, seconds: float) -> None:
        async with inventory.lock(key):
            order.append(f"{label}+")
            await asyncio.sleep(seconds)
            order.append(f"{label}-")

    await asyncio.gather(hold("k", "a", 0.05), hold("k", "b", 0), hold("other", "c", 0))
    assert order.index("a-") < order.index("b+")  # same key: one after the other
    assert order.index("c+") < order.index("a-")  # another key: concurrently
    assert inventory._locks == {} and inventory._waiters == {}
