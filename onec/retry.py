"""The one retry policy of the connector: retry only ``Transient`` failures of idempotent calls."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from tenacity import (
    Retrying,
    before_sleep_log,
    retry_if_exception_type,
    stop_after_attempt,
    wait_random_exponential,
)

from onec.errors import Transient

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    """How many times and how long to retry a transient failure."""

    attempts: int = 4
    max_wait_s: float = 10.0

    def retrying(self) -> Retrying:
        """A fresh tenacity ``Retrying`` object for one call."""
        return Retrying(
            retry=retry_if_exception_type(Transient),
            stop=stop_after_attempt(self.attempts),
            wait=wait_random_exponential(multiplier=0.2, max=self.max_wait_s),
            before_sleep=before_sleep_log(log, logging.WARNING),
            reraise=True,
        )
