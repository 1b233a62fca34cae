"""The two cloud limits: the request leaky bucket and operating time (REST docs: limits.md)."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from .clock import Clock

PLANS: dict[str, tuple[int, float]] = {"standard": (50, 2.0), "enterprise": (250, 5.0)}
BUCKETS_PER_WINDOW = 10
BUCKET_SECONDS = 60.0
OPERATING_LIMIT_S = 480.0
MINIMAL_FIX_S = 0.1

Key = tuple[str, str]  # (auth entity, method)


class LeakyBucket:
    """Per-portal request counter draining at ``rate`` per second; refuses once it would exceed ``capacity``."""

    def __init__(self, capacity: int, rate: float, clock: Clock) -> None:
        self.capacity = capacity
        self.rate = rate
        self._clock = clock
        self._level = 0.0
        self._updated = clock.now()

    def admit(self) -> bool:
        """Count one request; a refused request is not added to the counter.

        The docs (limits.md) leave this open: [inferred] we chose "refusals don't count", so a client that
        backs off recovers at the drain rate instead of being locked out by its own retries.
        """
        now = self._clock.now()
        self._level = max(0.0, self._level - (now - self._updated) * self.rate)
        self._updated = now
        if self._level + 1 > self.capacity:
            return False
        self._level += 1
        return True

    def reset(self) -> None:
        self._level = 0.0
        self._updated = self._clock.now()


@dataclass
class _Bucket:
    seconds: float
    first_call: float


@dataclass
class RequestCharges:
    """Operating time charged by one HTTP request, per (entity, method), before it is persisted."""

    pending: dict[Key, float] = field(default_factory=lambda: defaultdict(float))


class OperatingLimiter:
    """Per (app or webhook, method) server-time budget over ten one-minute buckets.

    REST docs: limits.md (480 s of a method's time in 10 minutes); [not in the docs: the per-app key, the
    buckets and the 0.1 s floor, core modules/rest/lib/engine/access/loadlimiter.php].
    """

    def __init__(self, clock: Clock, limit_s: float, time_scale: float = 1.0) -> None:
        self._clock = clock
        self.limit_s = limit_s
        self.time_scale = time_scale
        self.bucket_s = BUCKET_SECONDS / time_scale
        self.window_s = self.bucket_s * BUCKETS_PER_WINDOW
        self.minimal_fix_s = MINIMAL_FIX_S / time_scale
        self._buckets: dict[Key, dict[int, _Bucket]] = defaultdict(dict)

    def _live(self, key: Key) -> dict[int, _Bucket]:
        current = int(self._clock.now() // self.bucket_s)
        buckets = self._buckets[key]
        for index in [index for index in buckets if index <= current - BUCKETS_PER_WINDOW]:
            del buckets[index]
        return buckets

    def operating(self, key: Key, charges: RequestCharges) -> float:
        """Persisted time in the window plus what this request already charged."""
        return sum(bucket.seconds for bucket in self._live(key).values()) + charges.pending.get(key, 0.0)

    def blocked(self, key: Key, charges: RequestCharges) -> bool:
        """Checked before executing a call: blocked once the sum already exceeds the limit."""
        return self.operating(key, charges) > self.limit_s

    def reset_at(self, key: Key) -> int | float:
        """Expiry of the oldest non-empty bucket, or now + window."""
        buckets = self._live(key)
        return self.window_end(min((bucket.first_call for bucket in buckets.values()), default=self._clock.now()))

    def window_end(self, start: float) -> int | float:
        """``start`` + window as ``operating_reset_at``: an integer second like the cloud
        (REST docs: api-reference/data-types.md#time);
        a float when time runs K times faster, where a whole second is a large part of the window."""
        end = start + self.window_s
        return int(end) if self.time_scale == 1 else end

    def charge(self, key: Key, seconds: float, charges: RequestCharges) -> None:
        charges.pending[key] += seconds

    def commit(self, charges: RequestCharges) -> None:
        """Persist the request's per-method totals; totals up to 0.1 s are not persisted
        [not in the docs: core modules/rest/lib/engine/access/loadlimiter.php]."""
        now = self._clock.now()
        index = int(now // self.bucket_s)
        for key, seconds in charges.pending.items():
            if seconds <= self.minimal_fix_s:
                continue
            bucket = self._live(key).setdefault(index, _Bucket(0.0, now))
            bucket.seconds += seconds

    def reset(self) -> None:
        self._buckets.clear()
