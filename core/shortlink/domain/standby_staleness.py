"""How stale a standby's answer may be, measured against the primary's WAL positions.

The redirector asks the primary for its WAL position every fraction of a second and
notes when it asked. A standby whose replay position has reached a sample taken at
``t`` holds every commit made before ``t``: its answer is at most ``now - t`` old.
Idle primaries don't fool it (unlike replay timestamps), and a standby that stopped
streaming ages out by itself.
"""

from __future__ import annotations

import math
from collections import deque


class WalSamples:
    """Primary WAL positions (bytes) with when they were asked for (monotonic
    seconds), the last ``keep`` seconds of them (and always the newest)."""

    def __init__(self, keep: float) -> None:
        self._keep = keep
        self._samples: deque[tuple[float, int]] = deque()

    def add(self, at: float, lsn: int) -> None:
        self._samples.append((at, lsn))
        while len(self._samples) > 1 and self._samples[0][0] < at - self._keep:
            self._samples.popleft()

    def staleness(self, replay_lsn: int | None, now: float) -> float:
        """Seconds of commits ``replay_lsn`` may lack; 0 for a primary (None), inf
        when no sample kept vouches for it."""
        if replay_lsn is None:
            return 0.0
        for at, lsn in reversed(self._samples):
            if lsn <= replay_lsn:
                return max(0.0, now - at)
        return math.inf

    def __len__(self) -> int:
        return len(self._samples)
