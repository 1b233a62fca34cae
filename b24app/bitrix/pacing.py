"""Client-side pacing for the two cloud limits (Bitrix24 REST docs: settings/performance/limits.md).

`RequestPacer` mirrors the portal's leaky bucket so the portal never has to answer 503 in the
steady state; `OperatingGovernor` tracks each method's server-time budget from the `operating` /
`operating_reset_at` figures of every response and says how many commands of a method fit now.
Both are thread-safe and take an injectable monotonic clock.
"""
from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

Clock = Callable[[], float]

BATCH_MAX = 50
COST_SMOOTHING = 0.3  # weight of the newest per-call cost in the moving average


@dataclass(frozen=True)
class RateLimits:
    """A plan's limits: leaky bucket (drain `requests_per_s`, capacity `burst`) and per-method budget."""

    requests_per_s: float = 2.0
    burst: int = 50
    operating_budget_s: float = 480.0
    window_s: float = 600.0

    def scaled(self, time_scale: float) -> RateLimits:
        """The same plan on a portal whose clock runs `time_scale` times faster (the emulator's knob)."""
        return RateLimits(requests_per_s=self.requests_per_s * time_scale, burst=self.burst,
                          operating_budget_s=self.operating_budget_s / time_scale,
                          window_s=self.window_s / time_scale)

    @property
    def retry_probe_s(self) -> float:
        """How long to wait before re-probing a blocked method whose reset time is unknown."""
        return self.window_s / 40


ARRIVAL_JITTER_S = 0.05  # how much later than booked a request may reach the portal


class RequestPacer:
    """A local leaky bucket: a request may start once the bucket holds less than `burst - headroom`.

    The portal counts requests when they arrive, not when we book them; requests delayed by thread
    scheduling or the network arrive bunched. The headroom keeps `ARRIVAL_JITTER_S` worth of
    requests in reserve (one request at 2 req/s, ten at 200 req/s on a time-scaled emulator). A request
    booked and not yet answered may not have reached the portal, whose bucket does not drain for it:
    the level never drains below the requests in flight (``answered`` ends one), so a stall longer
    than the jitter (a busy machine) cannot make a cold bucket look emptier here than at the portal.
    """

    def __init__(self, limits: RateLimits, *, clock: Clock = time.monotonic, headroom: float | None = None) -> None:
        self._rate = limits.requests_per_s
        if headroom is None:
            headroom = 1.0 + limits.requests_per_s * ARRIVAL_JITTER_S
        self._capacity = max(1.0, limits.burst - headroom)
        self._clock = clock
        self._level = 0.0
        self._in_flight = 0
        self._updated = clock()
        self._lock = threading.Lock()

    def reserve(self) -> float:
        """Book the next request slot; return how long to wait before sending."""
        with self._lock:
            now = self._drain()
            delay = max(0.0, (self._level + 1 - self._capacity) / self._rate)
            self._level += 1
            self._in_flight += 1
            self._updated = now
            return delay

    def answered(self) -> None:
        """A booked request has its answer (or failed): the portal has counted it, or never will."""
        with self._lock:
            self._in_flight = max(0, self._in_flight - 1)

    def saturate(self) -> None:
        """The portal said 503: assume its bucket is full, so the next requests go at the drain rate."""
        with self._lock:
            self._drain()
            self._level = max(self._level, self._capacity)

    def _drain(self) -> float:
        now = self._clock()
        self._level = max(float(self._in_flight), self._level - (now - self._updated) * self._rate)
        self._updated = now
        return now


@dataclass
class _Budget:
    operating: float = 0.0  # the server's last figure for this method (sum over the window)
    reset_deadline: float = 0.0  # local clock time when the oldest bucket expires
    blocked_until: float = 0.0
    cost: float = 0.0  # moving average of server time per call
    in_flight: int = 0


class OperatingGovernor:
    """Per-method operating-time bookkeeping; methods have independent budgets."""

    def __init__(self, limits: RateLimits, *, clock: Clock = time.monotonic) -> None:
        self._limits = limits
        self._clock = clock
        self._budgets: dict[str, _Budget] = {}
        self._lock = threading.Lock()

    def _budget(self, method: str) -> _Budget:
        return self._budgets.setdefault(method.lower(), _Budget())

    def observe(self, method: str, *, operating: float | None, reset_in: float | None,
                cost: float | None) -> None:
        """Record one call's time figures (`reset_in` = operating_reset_at minus the server's now)."""
        with self._lock:
            budget = self._budget(method)
            now = self._clock()
            if operating is not None:
                budget.operating = operating
            if reset_in is not None:
                budget.reset_deadline = now + max(0.0, reset_in)
            if cost is not None:
                budget.cost = cost if budget.cost == 0 else (
                    COST_SMOOTHING * cost + (1 - COST_SMOOTHING) * budget.cost)

    def block(self, method: str) -> None:
        """The portal refused `method` (OPERATION_TIME_LIMIT): hold it until its oldest bucket expires."""
        with self._lock:
            budget = self._budget(method)
            now = self._clock()
            until = budget.reset_deadline if budget.reset_deadline > now else now + self._limits.retry_probe_s
            budget.blocked_until = max(budget.blocked_until, until)
            budget.operating = max(budget.operating, self._limits.operating_budget_s)

    def allowance(self, method: str) -> int:
        """How many calls of `method` may be sent now (0 = wait for `delay`)."""
        with self._lock:
            budget = self._budget(method)
            now = self._clock()
            if budget.blocked_until > now:
                return 0
            if budget.reset_deadline and now >= budget.reset_deadline:
                return BATCH_MAX  # a bucket aged out: the next answers tell how much was freed
            left = self._limits.operating_budget_s - budget.operating - budget.in_flight * budget.cost
            if left < 0:
                return 0
            if budget.cost <= 0:
                return BATCH_MAX
            return min(BATCH_MAX, math.floor(left / budget.cost) + 1)

    def delay(self, method: str) -> float:
        """Seconds until `method` may be called again (0 when it may be called now)."""
        if self.allowance(method):
            return 0.0
        with self._lock:
            budget = self._budget(method)
            ready = max(budget.blocked_until, budget.reset_deadline)
            return max(0.0, ready - self._clock()) or self._limits.retry_probe_s

    def dispatch(self, method: str, count: int) -> None:
        """`count` calls of `method` are being sent."""
        with self._lock:
            self._budget(method).in_flight += count

    def settle(self, method: str, count: int) -> None:
        """`count` calls of `method` came back (their time arrived through `observe`)."""
        with self._lock:
            budget = self._budget(method)
            budget.in_flight = max(0, budget.in_flight - count)
