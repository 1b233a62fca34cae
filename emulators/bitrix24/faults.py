"""Fault injection for REST requests: errors, HTML pages, timeouts, resets, slow answers.

Errors are those of REST docs error-codes.md; the others are [not in the docs: observed failures of real
portals, e.g. HTML gateway pages in leshchenko1979/fast_bitrix24 issue 216].
"""
from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from typing import Any

KINDS = ("error", "html", "timeout", "reset", "slow")


class FaultSpecError(ValueError):
    """A fault definition the hook cannot accept."""


@dataclass
class Fault:
    kind: str = "error"
    status: int = 503
    rate: float | None = None
    on_call: int | None = None
    method: str | None = None
    delay_s: float = 0.0
    count: int | None = None
    after: bool = False  # True: the call is executed first, then the fault replaces the answer
    seen: int = 0

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Fault:
        kind = str(data.get("kind", "error"))
        if kind not in KINDS:
            raise FaultSpecError(f"kind must be one of {', '.join(KINDS)}")
        if data.get("rate") is None and data.get("on_call") is None and data.get("method") is None:
            raise FaultSpecError("one of rate, on_call or method is required")
        try:
            fault = cls(kind=kind, status=int(data.get("status", 503)),
                        rate=None if data.get("rate") is None else float(data["rate"]),
                        on_call=None if data.get("on_call") is None else int(data["on_call"]),
                        method=str(data["method"]).lower() if data.get("method") else None,
                        delay_s=float(data.get("delay_s", 5.0 if kind == "timeout" else 0.0)),
                        count=None if data.get("count") is None else int(data["count"]),
                        after=bool(data.get("after", False)))
        except (TypeError, ValueError) as error:
            raise FaultSpecError(f"bad fault field: {error}") from error
        if fault.on_call is not None and fault.count is None:
            fault.count = 1
        return fault


class FaultInjector:
    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self.faults: list[Fault] = []

    def add(self, fault: Fault) -> None:
        with self._lock:
            self.faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self.faults.clear()

    def pick(self, method: str) -> Fault | None:
        """The fault this request should suffer, if any (each matching request advances the counters)."""
        with self._lock:
            for fault in self.faults:
                if fault.method and fault.method != method:
                    continue
                fault.seen += 1
                if fault.count is not None and fault.count <= 0:
                    continue
                if self._fires(fault):
                    if fault.count is not None:
                        fault.count -= 1
                    return fault
        return None

    def _fires(self, fault: Fault) -> bool:
        if fault.on_call is not None:
            return fault.seen == fault.on_call
        if fault.rate is not None:
            return self._random.random() < fault.rate
        return True
