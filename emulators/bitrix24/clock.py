"""Time source of the portal: the system clock, or a manual one tests move by hand or per request."""
from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float: ...

    def request_arrived(self) -> None:
        """Called once per REST request, before it is admitted (see ``ManualClock.per_request_s``)."""


class SystemClock:
    def now(self) -> float:
        return time.time()

    def request_arrived(self) -> None:
        return None


class ManualClock:
    """A clock that only moves when told to (deterministic limit tests).

    ``per_request_s`` > 0 also moves it by that much at every REST request the portal receives, so
    the leaky bucket drains ``rate * per_request_s`` requests per request whatever the machine's speed:
    a burst is refused after the same number of requests on a fast machine and on a busy one.
    """

    def __init__(self, start: float = 1_767_225_600.0, per_request_s: float = 0.0) -> None:
        self._now = start
        self._lock = threading.Lock()
        self.per_request_s = per_request_s

    def now(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds

    def request_arrived(self) -> None:
        if self.per_request_s:
            self.advance(self.per_request_s)
