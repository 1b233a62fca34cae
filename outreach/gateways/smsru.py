"""SMS.ru HTTP API, as its public documentation describes it.

- send: POST ``/sms/send`` with ``api_id``, ``to``, ``msg``, ``from``, ``json=1`` — https://sms.ru/api/send
  answers ``{"status": "OK", "status_code": 100, "sms": {"<phone>": {"status": "OK", "status_code": 100,
  "sms_id": "000000-10000000"}}, "balance": 4122.56}``; a refused request or number carries
  ``"status": "ERROR"``, a ``status_code`` from the code table of that page and ``status_text``.
- status: POST ``/sms/status`` with ``sms_id`` — https://sms.ru/api/status, codes 100–108, 110, 150,
  with ``cost``.
- balance: POST ``/my/balance`` — https://sms.ru/api/balance.
SMS.ru does not keep a client's own id, so a message whose submission outcome is unknown cannot be
looked up: it is never resent automatically (``can_find_by_our_id = False``).
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from outreach.errors import GatewayUnusable, MessageRejected, OutcomeUnknown, RetriableError
from outreach.gateways.base import (DELIVERED, FAILED, QUEUED, SENT, UNDELIVERED, Accepted, Delivery,
                                    HttpCaller, Sms, decimal_or_none, int_or_none)
from outreach.phones import digits

OK = 100
# https://sms.ru/api/send, "Коды ответов": which codes stop the gateway, which only the message.
GATEWAY_CODES = {200: "неправильный api_id", 201: "не хватает средств на лицевом счёте",
                 204: "имя отправителя не согласовано с администрацией SMS.ru",
                 206: "превышен дневной лимит на отправку сообщений", 210: "нужен метод POST",
                 211: "метод не найден", 212: "текст должен быть в кодировке UTF-8",
                 300: "неправильный token", 301: "неправильный api_id, логин или пароль",
                 302: "аккаунт не подтверждён"}
MESSAGE_CODES = {202: "неправильный номер получателя или нет маршрута", 203: "нет текста сообщения",
                 205: "сообщение слишком длинное", 207: "на этот номер нельзя отправлять сообщения",
                 208: "неверный параметр time", 209: "номер в стоп-листе",
                 230: "превышен дневной лимит сообщений на этот номер",
                 231: "превышен лимит одинаковых сообщений на этот номер в минуту",
                 232: "превышен лимит одинаковых сообщений на этот номер в день"}
RETRIABLE_CODES = {220: "сервис временно недоступен", 500: "ошибка на сервере SMS.ru"}
# https://sms.ru/api/status: delivery state per status code.
DELIVERY_STATES = {100: QUEUED, 101: QUEUED, 102: SENT, 103: DELIVERED, 104: UNDELIVERED, 105: UNDELIVERED,
                   106: UNDELIVERED, 107: UNDELIVERED, 108: UNDELIVERED, 110: DELIVERED, 150: UNDELIVERED}


class SmsRuGateway:
    """One SMS.ru account (``api_id`` from the environment)."""

    can_find_by_our_id = False

    def __init__(self, name: str, url: str, api_id: str, sender: str | None = None,
                 timeout_s: float = 15.0) -> None:
        self.name = name
        self.url = url.rstrip("/")
        self.api_id = api_id
        self.sender = sender
        self.http = HttpCaller(name, timeout_s)

    def send(self, sms: Sms) -> Accepted:
        form = {"api_id": self.api_id, "to": digits(sms.phone), "msg": sms.text, "json": "1"}
        if self.sender:
            form["from"] = self.sender
        answer = self._post("/sms/send", form)
        entry = (answer.get("sms") or {}).get(digits(sms.phone))
        if not isinstance(entry, dict):
            raise OutcomeUnknown(f"шлюз {self.name}: в ответе нет сообщения для номера")
        if entry.get("status") != "OK":
            raise _error(self.name, entry)
        return Accepted(str(entry["sms_id"]), decimal_or_none(entry.get("cost")))

    def find(self, sms: Sms) -> Accepted | None:
        raise NotImplementedError("SMS.ru не хранит идентификатор сообщения клиента")

    def delivery(self, sms: Sms, provider_id: str) -> Delivery:
        answer = self._post("/sms/status", {"api_id": self.api_id, "sms_id": provider_id, "json": "1"})
        entry = (answer.get("sms") or {}).get(provider_id) or {}
        code = int_or_none(entry.get("status_code"))
        if entry.get("status") != "OK" or code not in DELIVERY_STATES:
            return Delivery(FAILED, str(entry.get("status_text") or "сообщение не найдено"))
        return Delivery(DELIVERY_STATES[code], str(entry.get("status_text") or ""),
                        decimal_or_none(entry.get("cost")))

    def balance(self) -> Decimal:
        answer = self._post("/my/balance", {"api_id": self.api_id, "json": "1"})
        return Decimal(str(answer["balance"]))

    def _post(self, path: str, form: dict[str, str]) -> dict[str, Any]:
        answer = self.http.post_for_object(self.url + path, form)
        if answer.get("status") != "OK":
            raise _error(self.name, answer)
        return answer


def _error(gateway: str, entry: dict[str, Any]) -> Exception:
    code = int_or_none(entry.get("status_code"))
    if code in GATEWAY_CODES:
        return GatewayUnusable(f"SMS.ru ({gateway}): {GATEWAY_CODES[code]}", code=code)
    if code in MESSAGE_CODES:
        return MessageRejected(f"SMS.ru ({gateway}): {MESSAGE_CODES[code]}", code=code)
    if code in RETRIABLE_CODES:
        return RetriableError(f"SMS.ru ({gateway}): {RETRIABLE_CODES[code]}", code=code)
    return MessageRejected(f"SMS.ru ({gateway}): код {code}", code=code)
