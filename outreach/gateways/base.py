"""What every SMS gateway offers, and the one HTTP call they share.

A gateway sends one SMS under *our* message id, tells the delivery state of a message it accepted,
and — where the provider keeps our id — finds a message by that id, so an unknown outcome is
resolved by asking instead of resending.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

import requests
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from outreach.errors import OutcomeUnknown, RetriableError

log = logging.getLogger(__name__)

# Delivery states, the vocabulary of messageservice.message.status.update (b24restdocs:
# api-reference/messageservice/messageservice-message-status-update.md).
QUEUED, SENT, DELIVERED, UNDELIVERED, FAILED = "queued", "sent", "delivered", "undelivered", "failed"
FINAL_STATES = frozenset({DELIVERED, UNDELIVERED, FAILED})


@dataclass(frozen=True)
class Sms:
    """One SMS to send: ``message_id`` is ours (the outbox row id), ``phone`` is E.164."""

    message_id: int
    phone: str
    text: str


@dataclass(frozen=True)
class Accepted:
    """The provider took the message under ``provider_id``; ``cost`` where it reports one."""

    provider_id: str
    cost: Decimal | None = None


@dataclass(frozen=True)
class Delivery:
    """Where the message is now (one of the delivery states) and the provider's words about it."""

    state: str
    detail: str = ""
    cost: Decimal | None = None


class Gateway(Protocol):
    name: str
    can_find_by_our_id: bool

    def send(self, sms: Sms) -> Accepted: ...

    def find(self, sms: Sms) -> Accepted | None:
        """The message the provider holds under our id, or None when it has none (only if can_find_by_our_id)."""

    def delivery(self, sms: Sms, provider_id: str) -> Delivery: ...

    def balance(self) -> Decimal: ...


def decimal_or_none(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


class HttpCaller:
    """POSTs or GETs one request and turns transport failures into the exception tree."""

    def __init__(self, name: str, timeout_s: float = 15.0, session: requests.Session | None = None) -> None:
        self.name = name
        self.timeout = (min(5.0, timeout_s), timeout_s)
        self.session = session or requests.Session()

    def call(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        try:
            return self.session.request(method, url, timeout=self.timeout, **kwargs)
        except requests.ConnectionError as exc:
            if _nothing_sent(exc):
                raise RetriableError(f"шлюз {self.name} недоступен (нет соединения)") from None
            raise OutcomeUnknown(f"шлюз {self.name}: соединение оборвалось после отправки запроса") from None
        except requests.Timeout:
            raise OutcomeUnknown(f"шлюз {self.name} не ответил вовремя") from None

    def post_for_object(self, url: str, form: dict[str, str]) -> dict[str, Any]:
        """POST a form and return the provider's JSON object; 5xx and 429 are retriable, any other
        answer that is not a JSON object leaves the outcome unknown."""
        response = self.call("POST", url, data=form)
        if response.status_code >= 500 or response.status_code == 429:
            raise RetriableError(f"шлюз {self.name}: ошибка HTTP {response.status_code}")
        answer = json_body(response, self.name)
        if not isinstance(answer, dict):
            raise OutcomeUnknown(f"шлюз {self.name}: неожиданный ответ")
        return answer

    def close(self) -> None:
        self.session.close()


def _nothing_sent(exc: requests.ConnectionError) -> bool:
    """A refused or timed-out connect sent no request; a reset after connecting may have."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, (NewConnectionError, ConnectTimeoutError))


def int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def json_body(response: requests.Response, gateway: str) -> Any:
    """The JSON answer; a non-JSON answer with 5xx is retriable, otherwise the outcome is unknown."""
    try:
        return response.json()
    except ValueError:
        if response.status_code >= 500 or response.status_code == 429:
            raise RetriableError(f"шлюз {gateway}: ошибка HTTP {response.status_code}") from None
        raise OutcomeUnknown(f"шлюз {gateway}: ответ не JSON (HTTP {response.status_code})") from None
