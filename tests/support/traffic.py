"""Requests in a loop on a thread while a test breaks something: every status counted."""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx


@dataclass
class Traffic:
    """Requests in a loop on a thread, every status counted."""

    send: list[tuple[str, object]]
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> Traffic:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        assert self._thread is not None
        self._thread.join(30)

    def _run(self) -> None:
        while not self._stop.is_set():
            for name, send in self.send:
                try:
                    status = send()  # type: ignore[operator]
                except httpx.HTTPError as error:  # a connection the server dropped
                    status = f"{type(error).__name__}"
                self.statuses[name, status] += 1
            time.sleep(0.01)
