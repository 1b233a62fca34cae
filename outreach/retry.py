"""The one retry policy of outreach: only RetriableError (nothing was accepted) is repeated, a few
times with exponential backoff; OutcomeUnknown is never repeated here — the outbox asks the provider
by our id first (outreach.outbox)."""
from __future__ import annotations

import time
from datetime import timedelta
from typing import Callable, TypeVar

from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from outreach.errors import RetriableError

T = TypeVar("T")


def call_with_retries(call: Callable[[], T], *, attempts: int = 3, first_wait_s: float = 0.5,
                      max_wait_s: float = 8.0, sleep: Callable[[float], None] = time.sleep) -> T:
    """Run ``call``; repeat it on RetriableError at most ``attempts`` times in all."""
    retrying = Retrying(retry=retry_if_exception_type(RetriableError), stop=stop_after_attempt(attempts),
                        wait=wait_exponential(multiplier=first_wait_s, max=max_wait_s), sleep=sleep,
                        reraise=True)
    return retrying(call)


def next_attempt_delay(attempt: int, base: timedelta, cap: timedelta) -> timedelta:
    """Outbox backoff between rounds (attempt 1, 2, …): base, 2·base, 4·base … at most ``cap``."""
    return min(base * (2 ** max(0, attempt - 1)), cap)
