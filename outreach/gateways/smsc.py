"""SMSC.ru HTTP API, as its public documentation describes it (``fmt=3``: JSON answers).

- send: POST ``/sys/send.php`` with ``login``, ``psw``, ``phones``, ``mes``, ``id`` (our message id,
  an integer 1..2147483647), ``sender``, ``charset=utf-8``, ``cost=3``, ``fmt=3`` —
  https://smsc.ru/api/http/send/sms/ ; answers ``{"id": <id>, "cnt": <n>, "cost": "<sum>",
  "balance": "<sum>"}`` or ``{"error": "<text>", "error_code": N}`` with N from
  https://smsc.ru/api/http/send/sms/sms_answer/ (1 parameters, 2 login/password, 3 balance, 4 blocked
  IP, 5 date format, 6 forbidden text or sender name, 7 number format, 8 cannot be delivered,
  9 duplicate or too frequent requests).
- status: POST ``/sys/status.php`` with ``phone`` and ``id`` (our id), ``all=1`` for the cost —
  https://smsc.ru/api/http/status_messages/status_answer/ ; status codes (-3 not found, -1 waiting,
  0 handed to the operator, 1 delivered, 2 read, 3 expired, 20 cannot be delivered, 22 wrong number,
  23 prohibited, 24 no funds, 25 unavailable number) — https://smsc.ru/api/http/status_messages/statuses/
- balance: POST ``/sys/balance.php`` — https://smsc.ru/api/http/balance/balance_answer/
Because SMSC keeps our id, a message whose outcome is unknown is looked up by (phone, id).
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from outreach.errors import GatewayUnusable, MessageRejected, OutcomeUnknown, RetriableError
from outreach.gateways.base import (DELIVERED, FAILED, QUEUED, SENT, UNDELIVERED, Accepted, Delivery,
                                    HttpCaller, Sms, decimal_or_none, int_or_none)
from outreach.phones import digits

MAX_ID = 2147483647
GATEWAY_CODES = {2: "неверный логин или пароль", 3: "недостаточно средств на счёте",
                 4: "IP-адрес временно заблокирован из-за частых ошибок"}
MESSAGE_CODES = {1: "ошибка в параметрах", 5: "неверный формат даты",
                 6: "сообщение запрещено (по тексту или по имени отправителя)",
                 7: "неверный формат номера телефона", 8: "сообщение на этот номер не может быть доставлено"}
# 9: "more than one identical send request": the first may have been taken — ask by our id.
UNKNOWN_CODES = {9: "повторный или слишком частый запрос"}
NOT_FOUND = -3
DELIVERY_STATES = {-1: QUEUED, 0: SENT, 1: DELIVERED, 2: DELIVERED, 3: UNDELIVERED, 4: DELIVERED,
                   20: UNDELIVERED, 22: FAILED, 23: FAILED, 24: FAILED, 25: UNDELIVERED}


class SmscGateway:
    """One SMSC.ru account (password or API key from the environment)."""

    can_find_by_our_id = True

    def __init__(self, name: str, url: str, login: str, password: str, sender: str | None = None,
                 timeout_s: float = 15.0) -> None:
        self.name = name
        self.url = url.rstrip("/")
        self.login = login
        self.password = password
        self.sender = sender
        self.http = HttpCaller(name, timeout_s)

    def send(self, sms: Sms) -> Accepted:
        form = {"phones": digits(sms.phone), "mes": sms.text, "id": str(_our_id(sms)), "cost": "3"}
        if self.sender:
            form["sender"] = self.sender
        answer = self._post("/sys/send.php", form)
        if "error_code" in answer:
            raise _error(self.name, answer)
        if "id" not in answer:
            raise OutcomeUnknown(f"шлюз {self.name}: в ответе нет id сообщения")
        return Accepted(str(answer["id"]), decimal_or_none(answer.get("cost")))

    def find(self, sms: Sms) -> Accepted | None:
        answer = self._status(sms)
        if int_or_none(answer.get("status")) == NOT_FOUND:
            return None
        return Accepted(str(_our_id(sms)), decimal_or_none(answer.get("cost")))

    def delivery(self, sms: Sms, provider_id: str) -> Delivery:
        answer = self._status(sms)
        code = int_or_none(answer.get("status"))
        state = DELIVERY_STATES.get(code, FAILED) if code != NOT_FOUND else FAILED
        return Delivery(state, str(answer.get("status_name") or code), decimal_or_none(answer.get("cost")))

    def balance(self) -> Decimal:
        answer = self._post("/sys/balance.php", {})
        if "error_code" in answer:
            raise _error(self.name, answer)
        return Decimal(str(answer["balance"]))

    def _status(self, sms: Sms) -> dict[str, Any]:
        answer = self._post("/sys/status.php", {"phone": digits(sms.phone), "id": str(_our_id(sms)), "all": "1"})
        if "error_code" in answer:
            raise _status_error(self.name, answer)
        return answer

    def _post(self, path: str, form: dict[str, str]) -> dict[str, Any]:
        auth = {"login": self.login, "psw": self.password, "fmt": "3", "charset": "utf-8"}
        return self.http.post_for_object(self.url + path, {**auth, **form})


def _our_id(sms: Sms) -> int:
    if not 1 <= sms.message_id <= MAX_ID:
        raise MessageRejected(f"номер сообщения {sms.message_id} вне диапазона SMSC (1..{MAX_ID})")
    return sms.message_id


def _error(gateway: str, answer: dict[str, Any]) -> Exception:
    code = int_or_none(answer.get("error_code"))
    if code in GATEWAY_CODES:
        return GatewayUnusable(f"SMSC ({gateway}): {GATEWAY_CODES[code]}", code=code)
    if code in UNKNOWN_CODES:
        return OutcomeUnknown(f"SMSC ({gateway}): {UNKNOWN_CODES[code]}", code=code)
    return MessageRejected(f"SMSC ({gateway}): {MESSAGE_CODES.get(code, f'код {code}')}", code=code)


def _status_error(gateway: str, answer: dict[str, Any]) -> Exception:
    """status.php errors (status_answer page): 9 is "too many status requests", safe to repeat."""
    code = int_or_none(answer.get("error_code"))
    if code in (2, 4):
        return GatewayUnusable(f"SMSC ({gateway}): {GATEWAY_CODES[code]}", code=code)
    return RetriableError(f"SMSC ({gateway}): проверка статуса не удалась (код {code})", code=code)
