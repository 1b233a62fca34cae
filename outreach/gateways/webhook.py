"""A generic JSON webhook: any in-house or third-party sender that implements this small contract
(docs/outreach.md, "Generic JSON webhook").

- send: ``POST <url>`` with ``{"id": "<our id>", "phone": "+7…", "text": "…"}``, headers
  ``Authorization: Bearer <token>`` (from the environment) and ``Idempotency-Key: <our id>``.
  ``200``/``201``/``202`` ``{"id": "<provider id>", "cost": 1.2?}`` = accepted; ``409`` with the same
  body = already accepted under this id; ``400``/``422`` ``{"error": "…"}`` = message refused;
  ``401``/``402``/``403`` = the channel is unusable; ``429``/``5xx`` = try again.
- find and status: ``GET <url>/<our id>`` → ``200 {"id", "status": queued|sent|delivered|undelivered|failed,
  "cost"?}`` or ``404`` when the receiver has no such message.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import requests

from outreach.errors import GatewayUnusable, MessageRejected, OutcomeUnknown, RetriableError
from outreach.gateways.base import FAILED, Accepted, Delivery, HttpCaller, Sms, decimal_or_none, json_body

STATES = {"queued", "sent", "delivered", "undelivered", "failed"}


class WebhookGateway:
    can_find_by_our_id = True

    def __init__(self, name: str, url: str, token: str = "", timeout_s: float = 15.0) -> None:
        self.name = name
        self.url = url.rstrip("/")
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = HttpCaller(name, timeout_s)

    def send(self, sms: Sms) -> Accepted:
        key = str(sms.message_id)
        response = self.http.call("POST", self.url, json={"id": key, "phone": sms.phone, "text": sms.text},
                                  headers={**self.headers, "Idempotency-Key": key})
        answer = self._check(response)
        if "id" not in answer:
            raise OutcomeUnknown(f"шлюз {self.name}: в ответе нет id сообщения")
        return Accepted(str(answer["id"]), decimal_or_none(answer.get("cost")))

    def find(self, sms: Sms) -> Accepted | None:
        response = self.http.call("GET", f"{self.url}/{sms.message_id}", headers=self.headers)
        if response.status_code == 404:
            return None
        answer = self._check(response)
        return Accepted(str(answer.get("id", sms.message_id)), decimal_or_none(answer.get("cost")))

    def delivery(self, sms: Sms, provider_id: str) -> Delivery:
        response = self.http.call("GET", f"{self.url}/{sms.message_id}", headers=self.headers)
        if response.status_code == 404:
            return Delivery(FAILED, "получатель вебхука не знает такого сообщения")
        answer = self._check(response)
        state = answer.get("status") if answer.get("status") in STATES else FAILED
        return Delivery(state, str(answer.get("detail") or ""), decimal_or_none(answer.get("cost")))

    def balance(self) -> Decimal:
        raise NotImplementedError("вебхук не сообщает баланс")

    def _check(self, response: requests.Response) -> dict[str, Any]:
        status = response.status_code
        if status == 429 or status >= 500:
            raise RetriableError(f"шлюз {self.name}: HTTP {status}", code=status)
        answer = json_body(response, self.name)
        if not isinstance(answer, dict):
            raise OutcomeUnknown(f"шлюз {self.name}: неожиданный ответ")
        if status in (401, 402, 403):
            raise GatewayUnusable(f"шлюз {self.name}: отказ HTTP {status} ({answer.get('error', '')})", code=status)
        if status in (200, 201, 202, 409):
            return answer
        raise MessageRejected(f"шлюз {self.name}: сообщение отклонено ({answer.get('error', status)})", code=status)
