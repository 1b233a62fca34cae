"""What the fake gateways remember: accounts, accepted messages, faults, the request rate."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

PROVIDERS = ("smsru", "smsc", "webhook")


@dataclass
class Message:
    """One accepted SMS; ``our_id`` is the client's id where the provider keeps one (SMSC, webhook)."""

    provider: str
    provider_id: str
    our_id: str | None
    phone: str
    text: str
    sender: str | None
    cost: Decimal
    status: str = "queued"  # queued | delivered | undelivered (mapped to each provider's codes)

    def as_json(self) -> dict[str, Any]:
        return {"provider": self.provider, "provider_id": self.provider_id, "our_id": self.our_id,
                "phone": self.phone, "text": self.text, "sender": self.sender, "cost": str(self.cost),
                "status": self.status}


@dataclass
class Fault:
    """``kind``: ``http500`` (refused before accepting), ``timeout`` (accepted, answer after
    ``delay_s``), ``code`` (the provider's error ``code``); applied to the next ``count`` sends."""

    provider: str
    kind: str
    count: int = 1
    code: int | None = None
    delay_s: float = 2.0


@dataclass
class GatewayState:
    """Accounts are valid when credentials match; ``rate_per_s`` caps the requests per provider."""

    smsru_api_id: str = "test-api-id"
    smsc_login: str = "test"
    smsc_password: str = "secret"
    webhook_token: str = "hook-token"
    balance: Decimal = Decimal("1000.00")
    price: Decimal = Decimal("2.50")
    approved_senders: set[str] = field(default_factory=lambda: {"B24APP"})
    stop_list: set[str] = field(default_factory=set)
    rate_per_s: float = 0.0  # 0 = no limit
    messages: list[Message] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=lambda: {"requests": 0, "rate_limited": 0})
    lock: threading.RLock = field(default_factory=threading.RLock)
    _windows: dict[str, list[float]] = field(default_factory=dict)
    _next_id: int = 10000000

    def next_provider_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def over_rate(self, provider: str) -> bool:
        """Sliding one-second window per provider; over the rate is counted and refused."""
        self.counters["requests"] += 1
        if not self.rate_per_s:
            return False
        now = time.monotonic()
        window = [t for t in self._windows.get(provider, []) if now - t < 1.0]
        if len(window) >= self.rate_per_s:
            self._windows[provider] = window
            self.counters["rate_limited"] += 1
            return True
        window.append(now)
        self._windows[provider] = window
        return False

    def take_fault(self, provider: str) -> Fault | None:
        for fault in self.faults:
            if fault.provider == provider and fault.count > 0:
                fault.count -= 1
                return fault
        return None

    def charge(self, provider: str, our_id: str | None, phone: str, text: str, sender: str | None) -> Message:
        self.balance -= self.price
        message = Message(provider, str(self.next_provider_id()), our_id, phone, text, sender, self.price)
        self.messages.append(message)
        return message

    def find(self, provider: str, **match: str | None) -> Message | None:
        for message in reversed(self.messages):
            if message.provider == provider and all(getattr(message, k) == v for k, v in match.items()):
                return message
        return None
