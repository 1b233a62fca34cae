"""One portal's limits shared by every process and machine that calls it, kept in Redis.

The leaky bucket (`SharedRequestPacer`) and each method's operating-time state (`SharedGovernor`)
live in Redis and change only inside Lua scripts, which Redis runs atomically (redis.io docs:
"Scripting with Lua"); times come from the Redis server's clock (`TIME`), the one clock all the
machines share. The limits themselves are Bitrix24's (REST docs: settings/performance/limits.md).

When Redis does not answer, each process falls back to a conservative local limit — the plan's rate
divided by `fallback_share` (how many processes may call one portal at once), no burst — and tries
Redis again after `RETRY_REDIS_S`. Calls are never unbounded.
"""
from __future__ import annotations

import collections
import itertools
import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import TypeVar

import redis

from .pacing import Clock, OperatingGovernor, RateLimits, RequestPacer

log = logging.getLogger(__name__)

RETRY_REDIS_S = 5.0
ARRIVAL_JITTER_S = 0.25  # how much later than booked a request may reach the portal from another machine
KEY_TTL_MS = 3_600_000  # an idle portal's state disappears after an hour
IN_FLIGHT_LEASE_S = 90.0  # a booking lapses this long after its slot: over the client's 5 s + 60 s timeouts

T = TypeVar("T")

# KEYS[1] bucket hash, KEYS[2] in-flight bookings (sorted set: booking id -> when it lapses); ARGV rate,
# capacity, mode ("reserve" | "saturate"), key TTL in ms, booking id, lease in s, now ('' = the server's
# TIME). The level never drains below the bookings in flight. Returns the delay in seconds.
_BUCKET = """
local now
if ARGV[7] ~= '' then now = tonumber(ARGV[7]) else
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1e6
end
local rate, capacity = tonumber(ARGV[1]), tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local in_flight = redis.call('ZCARD', KEYS[2])
local level = tonumber(redis.call('HGET', KEYS[1], 'level') or '0')
local updated = tonumber(redis.call('HGET', KEYS[1], 'updated') or tostring(now))
level = math.max(in_flight, level - math.max(0, now - updated) * rate)
local delay = 0
if ARGV[3] == 'reserve' then
  delay = math.max(0, (level + 1 - capacity) / rate)
  level = level + 1
  redis.call('ZADD', KEYS[2], now + delay + tonumber(ARGV[6]), ARGV[5])
else
  level = math.max(level, capacity)
end
redis.call('HSET', KEYS[1], 'level', tostring(level), 'updated', tostring(now))
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
return tostring(delay)
"""

# KEYS[1] method hash. ARGV[1] op: observe (operating, reset_in, cost, smoothing), block (budget, probe),
# state (-). Every op returns {operating, seconds until reset, seconds blocked, cost} as strings.
_METHOD = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
local key, op = KEYS[1], ARGV[1]
local function num(field) return tonumber(redis.call('HGET', key, field) or '0') end
if op == 'observe' then
  if ARGV[2] ~= '' then redis.call('HSET', key, 'operating', ARGV[2]) end
  if ARGV[3] ~= '' then redis.call('HSET', key, 'reset_at', tostring(now + math.max(0, tonumber(ARGV[3])))) end
  if ARGV[4] ~= '' then
    local cost, old = tonumber(ARGV[4]), num('cost')
    if old > 0 then cost = tonumber(ARGV[5]) * cost + (1 - tonumber(ARGV[5])) * old end
    redis.call('HSET', key, 'cost', tostring(cost))
  end
elseif op == 'block' then
  local reset_at = num('reset_at')
  local hold = reset_at
  if reset_at <= now then hold = now + tonumber(ARGV[3]) end
  redis.call('HSET', key, 'blocked_until', tostring(math.max(num('blocked_until'), hold)),
             'operating', tostring(math.max(num('operating'), tonumber(ARGV[2]))))
end
redis.call('PEXPIRE', key, ARGV[6])
local reset_at = num('reset_at')
local reset_in = -1
if reset_at > 0 then reset_in = reset_at - now end
return {tostring(num('operating')), tostring(reset_in), tostring(num('blocked_until') - now), tostring(num('cost'))}
"""


class RedisLink:
    """One Redis connection pool and its scripts; remembers an outage for `RETRY_REDIS_S`."""

    def __init__(self, url: str, *, clock: Clock = time.monotonic) -> None:
        self.client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self.bucket = self.client.register_script(_BUCKET)
        self.method = self.client.register_script(_METHOD)
        self._clock = clock
        self._down_until = 0.0
        self._lock = threading.Lock()

    def run(self, action: Callable[[], T], fallback: Callable[[], T]) -> T:
        """`action()` against Redis, or `fallback()` while Redis is (recently found) down."""
        with self._lock:
            down = self._clock() < self._down_until
        if down:
            return fallback()
        try:
            return action()
        except redis.RedisError as error:
            with self._lock:
                self._down_until = self._clock() + RETRY_REDIS_S
            log.warning("redis unavailable (%s): conservative local limits for %.0f s",
                        type(error).__name__, RETRY_REDIS_S)
            return fallback()

    def attempt(self, action: Callable[[], object]) -> None:
        """`action()` unless Redis is (recently found) down; a failure is ignored and does not count as
        an outage (for what may be left undone: a booking ended here otherwise lapses by itself)."""
        with self._lock:
            if self._clock() < self._down_until:
                return
        try:
            action()
        except redis.RedisError as error:
            log.debug("redis call skipped (%s)", type(error).__name__)

    def ping(self) -> bool:
        try:
            return bool(self.client.ping())
        except redis.RedisError:
            return False


def conservative(limits: RateLimits, share: int) -> RateLimits:
    """The limits one of `share` processes keeps to on its own: its part of the rate, no burst."""
    return RateLimits(requests_per_s=limits.requests_per_s / max(1, share), burst=1,
                      operating_budget_s=limits.operating_budget_s / max(1, share), window_s=limits.window_s)


class SharedRequestPacer:
    """The portal's leaky bucket in Redis: every process books its requests in the same bucket.

    As in `RequestPacer`, the level never drains below the requests booked and not yet answered (by
    any process): each booking is a member of the portal's in-flight set until ``answered`` removes
    it, or until it lapses ``lease_s`` after its slot (longer than a request may take: the client's
    connect and read timeouts), so a process that dies holds no slot for longer than that.
    """

    def __init__(self, link: RedisLink, portal: str, limits: RateLimits, *, fallback_share: int = 4,
                 lease_s: float = IN_FLIGHT_LEASE_S, clock: Clock | None = None) -> None:
        self.link = link
        self.key = f"b24app:limits:{{{portal}}}:bucket"
        self.in_flight_key = f"b24app:limits:{{{portal}}}:in_flight"
        self._rate = limits.requests_per_s
        self._capacity = max(1.0, limits.burst - 1.0 - min(limits.burst / 2, self._rate * ARRIVAL_JITTER_S))
        self._ttl = str(KEY_TTL_MS)
        self._lease = lease_s
        self._clock = clock  # None: the Redis server's clock, the one every machine shares
        self._prefix = uuid.uuid4().hex
        self._numbers = itertools.count()
        self._booked: collections.deque[str | None] = collections.deque()  # None: booked in the fallback
        self.fallback = RequestPacer(conservative(limits, fallback_share), headroom=0, clock=clock or time.monotonic)

    def reserve(self) -> float:
        booking = f"{self._prefix}:{next(self._numbers)}"
        delay, where = self.link.run(lambda: (self._script("reserve", booking), booking),
                                     lambda: (self.fallback.reserve(), None))
        self._booked.append(where)
        return delay

    def answered(self) -> None:
        """One of this process's bookings has its answer (they are alike: the oldest is ended)."""
        try:
            booking = self._booked.popleft()
        except IndexError:
            return
        if booking is None:
            self.fallback.answered()
        else:
            self.link.attempt(lambda: self.link.client.zrem(self.in_flight_key, booking))

    def saturate(self) -> None:
        self.fallback.saturate()
        self.link.run(lambda: self._script("saturate"), lambda: 0.0)

    def _script(self, mode: str, booking: str = "") -> float:
        now = "" if self._clock is None else repr(self._clock())
        return float(self.link.bucket(keys=[self.key, self.in_flight_key],
                                      args=[self._rate, self._capacity, mode, self._ttl, booking, self._lease, now]))


class SharedGovernor(OperatingGovernor):
    """Each method's operating time in Redis (the server's figures, from whichever process saw them).

    What this process has in flight stays local (a process that dies leaves no count behind); the
    figures, the reset time and a block are shared.
    """

    def __init__(self, link: RedisLink, portal: str, limits: RateLimits, *, fallback_share: int = 4,
                 clock: Clock = time.monotonic) -> None:
        super().__init__(limits, clock=clock)
        self.link = link
        self.prefix = f"b24app:limits:{{{portal}}}:method:"
        self.fallback = OperatingGovernor(conservative(limits, fallback_share), clock=clock)

    def observe(self, method: str, *, operating: float | None, reset_in: float | None,
                cost: float | None) -> None:
        args = ["observe", _text(operating), _text(reset_in), _text(cost), "0.3", str(KEY_TTL_MS)]
        self.fallback.observe(method, operating=operating, reset_in=reset_in, cost=cost)
        self.link.run(lambda: self._sync(method, args), lambda: None)

    def block(self, method: str) -> None:
        self.fallback.block(method)
        args = ["block", str(self._limits.operating_budget_s), str(self._limits.retry_probe_s), "", "",
                str(KEY_TTL_MS)]
        self.link.run(lambda: self._sync(method, args), lambda: None)

    def allowance(self, method: str) -> int:
        return self.link.run(lambda: self._refresh(method) or super(SharedGovernor, self).allowance(method),
                             lambda: self.fallback.allowance(method))

    def delay(self, method: str) -> float:
        return self.link.run(lambda: self._refresh(method) or super(SharedGovernor, self).delay(method),
                             lambda: self.fallback.delay(method))

    def _refresh(self, method: str) -> None:
        self._sync(method, ["state", "", "", "", "", str(KEY_TTL_MS)])

    def _sync(self, method: str, args: list[str]) -> None:
        """Run the script and copy the shared state into this process's bookkeeping."""
        operating, reset_in, blocked_in, cost = (float(v) for v in self.link.method(
            keys=[self.prefix + method.lower()], args=args))
        with self._lock:
            budget = self._budget(method)
            now = self._clock()
            budget.operating = operating
            budget.reset_deadline = now + reset_in if reset_in >= 0 else 0.0
            budget.blocked_until = now + blocked_in if blocked_in > 0 else 0.0
            budget.cost = cost


def _text(value: float | None) -> str:
    return "" if value is None else repr(float(value))

