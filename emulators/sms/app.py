"""The WSGI app: SMS.ru under ``/smsru``, SMSC.ru under ``/smsc``, the JSON webhook under ``/webhook``,
test hooks under ``/_emulator``. Each answer body follows the provider's documentation page cited
beside it; the app imports nothing from the product."""
from __future__ import annotations

import json
import time
from decimal import Decimal
from typing import Any, Callable

from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from .state import Fault, GatewayState

# https://sms.ru/api/send, "Коды ответов" (status_text as the page words them)
SMSRU_TEXTS = {
    200: "Неправильный api_id", 201: "Не хватает средств на лицевом счету",
    202: "Неправильно указан номер телефона получателя, либо на него нет маршрута",
    203: "Нет текста сообщения", 204: "Имя отправителя не согласовано с администрацией",
    209: "Вы добавили этот номер (или один из номеров) в стоп-лист",
    220: "Сервис временно недоступен, попробуйте чуть позже",
}
# https://sms.ru/api/status: status codes and texts
SMSRU_STATUS = {"queued": (100, "Сообщение находится в нашей очереди"),
                "delivered": (103, "Сообщение доставлено"),
                "undelivered": (104, "Не может быть доставлено: время жизни истекло")}
# https://smsc.ru/api/http/send/sms/sms_answer/
SMSC_TEXTS = {1: "parameters error", 2: "invalid login or password", 3: "insufficient funds",
              6: "message is denied", 7: "invalid phone number format", 8: "message can not be delivered"}
# https://smsc.ru/api/http/status_messages/statuses/
SMSC_STATUS = {"queued": (-1, "Ожидает отправки"), "delivered": (1, "Доставлено"),
               "undelivered": (20, "Невозможно доставить")}


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status=status, mimetype="application/json")


def _valid_phone(phone: str) -> bool:
    return phone.isdigit() and 11 <= len(phone) <= 15


class GatewayApp:
    def __init__(self, state: GatewayState) -> None:
        self.state = state
        self.routes = Map([
            Rule("/smsru/sms/send", endpoint="smsru_send", methods=["POST"]),
            Rule("/smsru/sms/status", endpoint="smsru_status", methods=["POST"]),
            Rule("/smsru/my/balance", endpoint="smsru_balance", methods=["POST"]),
            Rule("/smsc/sys/send.php", endpoint="smsc_send", methods=["POST"]),
            Rule("/smsc/sys/status.php", endpoint="smsc_status", methods=["POST"]),
            Rule("/smsc/sys/balance.php", endpoint="smsc_balance", methods=["POST"]),
            Rule("/webhook", endpoint="webhook_send", methods=["POST"]),
            Rule("/webhook/<our_id>", endpoint="webhook_get", methods=["GET"]),
            Rule("/_emulator/messages", endpoint="hook_messages", methods=["GET"]),
            Rule("/_emulator/reset", endpoint="hook_reset", methods=["POST"]),
            Rule("/_emulator/config", endpoint="hook_config", methods=["POST"]),
            Rule("/_emulator/faults", endpoint="hook_faults", methods=["POST", "DELETE"]),
            Rule("/_emulator/deliver", endpoint="hook_deliver", methods=["POST"]),
            Rule("/_emulator/counters", endpoint="hook_counters", methods=["GET"]),
        ])

    def __call__(self, environ: dict, start_response: Callable) -> Any:
        request = Request(environ)
        try:
            endpoint, args = self.routes.bind_to_environ(environ).match()
            provider = endpoint.split("_")[0]
            if provider in ("smsru", "smsc", "webhook"):
                with self.state.lock:
                    if self.state.over_rate(provider):
                        response = _json({"error": "rate limit"}, 429)  # the emulator's own, see README
                        return response(environ, start_response)
            response = getattr(self, endpoint)(request, **args)
        except HTTPException as exc:
            response = exc.get_response()
        return response(environ, start_response)

    # --- SMS.ru ---------------------------------------------------------------------------------
    def smsru_send(self, request: Request) -> Response:
        form = request.form
        with self.state.lock:
            refused = self._smsru_refusal(form)
            if refused:
                return refused
            fault = self.state.take_fault("smsru")
            if fault and fault.kind == "http500":
                return Response("Internal Server Error", 500)
            if fault and fault.kind == "code":
                return _json(_smsru_error(fault.code or 220))
            phone = form.get("to", "")
            if not _valid_phone(phone) or phone in self.state.stop_list:
                code = 209 if phone in self.state.stop_list else 202
                entry = {"status": "ERROR", "status_code": code, "status_text": SMSRU_TEXTS[code]}
                return _json({"status": "OK", "status_code": 100, "sms": {phone: entry},
                              "balance": float(self.state.balance)})
            message = self.state.charge("smsru", None, phone, form.get("msg", ""), form.get("from"))
            body = {"status": "OK", "status_code": 100,
                    "sms": {phone: {"status": "OK", "status_code": 100, "sms_id": message.provider_id}},
                    "balance": float(self.state.balance)}
        return self._answer(body, fault)

    def _smsru_refusal(self, form: Any) -> Response | None:
        """Request-level errors (https://sms.ru/api/send): api_id, balance, sender, empty text."""
        if form.get("api_id") != self.state.smsru_api_id:
            return _json(_smsru_error(200))
        if not form.get("msg"):
            return _json(_smsru_error(203))
        if form.get("from") and form["from"] not in self.state.approved_senders:
            return _json(_smsru_error(204))
        if self.state.balance < self.state.price:
            return _json(_smsru_error(201))
        return None

    def smsru_status(self, request: Request) -> Response:
        if request.form.get("api_id") != self.state.smsru_api_id:
            return _json(_smsru_error(200))
        result = {}
        with self.state.lock:
            for sms_id in request.form.get("sms_id", "").split(","):
                message = self.state.find("smsru", provider_id=sms_id)
                if message is None:
                    result[sms_id] = {"status": "ERROR", "status_code": -1, "status_text": "Сообщение не найдено"}
                    continue
                code, text = SMSRU_STATUS[message.status]
                result[sms_id] = {"status": "OK", "status_code": code, "cost": float(message.cost),
                                  "status_text": text}
        return _json({"status": "OK", "status_code": 100, "sms": result})

    def smsru_balance(self, request: Request) -> Response:
        if request.form.get("api_id") != self.state.smsru_api_id:
            return _json(_smsru_error(200))
        return _json({"status": "OK", "status_code": 100, "balance": float(self.state.balance)})

    # --- SMSC.ru --------------------------------------------------------------------------------
    def smsc_send(self, request: Request) -> Response:
        form = request.form
        with self.state.lock:
            refused = self._smsc_refusal(form)
            if refused:
                return refused
            fault = self.state.take_fault("smsc")
            if fault and fault.kind == "http500":
                return Response("Internal Server Error", 500)
            if fault and fault.kind == "code":
                return _json(_smsc_error(fault.code or 1))
            message = self.state.charge("smsc", form.get("id"), form["phones"], form["mes"], form.get("sender"))
            body = {"id": int(form.get("id") or message.provider_id), "cnt": 1}
            if form.get("cost") == "3":
                body.update(cost=str(message.cost), balance=str(self.state.balance))
        return self._answer(body, fault)

    def _smsc_refusal(self, form: Any) -> Response | None:
        """Errors of https://smsc.ru/api/http/send/sms/sms_answer/ (fmt=3)."""
        if (form.get("login"), form.get("psw")) != (self.state.smsc_login, self.state.smsc_password):
            return _json(_smsc_error(2))
        if not form.get("phones") or not form.get("mes"):
            return _json(_smsc_error(1))
        if form.get("sender") and form["sender"] not in self.state.approved_senders:
            return _json(_smsc_error(6))
        if not _valid_phone(form["phones"]):
            return _json(_smsc_error(7))
        if form["phones"] in self.state.stop_list:
            return _json(_smsc_error(8))
        if self.state.balance < self.state.price:
            return _json(_smsc_error(3))
        return None

    def smsc_status(self, request: Request) -> Response:
        """https://smsc.ru/api/http/status_messages/status_answer/ (fmt=3, all=1)."""
        form = request.form
        if (form.get("login"), form.get("psw")) != (self.state.smsc_login, self.state.smsc_password):
            return _json({"error": "invalid login or password", "error_code": 2})
        with self.state.lock:
            message = self.state.find("smsc", our_id=form.get("id"), phone=form.get("phone"))
        if message is None:
            return _json({"status": -3, "last_date": "", "last_timestamp": 0, "flag": 0, "err": 0})
        code, name = SMSC_STATUS[message.status]
        return _json({"status": code, "last_date": time.strftime("%d.%m.%Y %H:%M:%S"),
                      "last_timestamp": int(time.time()), "flag": 0, "err": 0, "phone": message.phone,
                      "cost": str(message.cost), "sender_id": message.sender, "status_name": name,
                      "message": message.text, "type": 0})

    def smsc_balance(self, request: Request) -> Response:
        """https://smsc.ru/api/http/balance/balance_answer/ (fmt=3)."""
        form = request.form
        if (form.get("login"), form.get("psw")) != (self.state.smsc_login, self.state.smsc_password):
            return _json({"error": "invalid login or password", "error_code": 2})
        return _json({"balance": str(self.state.balance)})

    # --- generic JSON webhook (docs/outreach.md) --------------------------------------------------
    def webhook_send(self, request: Request) -> Response:
        if request.headers.get("Authorization") != f"Bearer {self.state.webhook_token}":
            return _json({"error": "unauthorized"}, 401)
        body = request.get_json(silent=True) or {}
        our_id, phone, text = str(body.get("id") or ""), str(body.get("phone") or ""), body.get("text")
        if not our_id or not text or not _valid_phone(phone.lstrip("+")):
            return _json({"error": "id, phone (E.164) and text are required"}, 422)
        with self.state.lock:
            known = self.state.find("webhook", our_id=our_id)
            if known:
                return _json({"id": known.provider_id, "cost": float(known.cost)}, 409)
            fault = self.state.take_fault("webhook")
            if fault and fault.kind == "http500":
                return _json({"error": "internal"}, 500)
            if fault and fault.kind == "code":
                return _json({"error": "refused"}, fault.code or 422)
            if self.state.balance < self.state.price:
                return _json({"error": "insufficient funds"}, 402)
            message = self.state.charge("webhook", our_id, phone, text, None)
            answer = {"id": message.provider_id, "cost": float(message.cost)}
        return self._answer(answer, fault, status=202)

    def webhook_get(self, request: Request, our_id: str) -> Response:
        if request.headers.get("Authorization") != f"Bearer {self.state.webhook_token}":
            return _json({"error": "unauthorized"}, 401)
        with self.state.lock:
            message = self.state.find("webhook", our_id=our_id)
        if message is None:
            return _json({"error": "not found"}, 404)
        return _json({"id": message.provider_id, "status": message.status, "cost": float(message.cost)})

    def _answer(self, body: Any, fault: Fault | None, status: int = 200) -> Response:
        """A ``timeout`` fault: the message is accepted, but the answer comes too late for the client."""
        if fault and fault.kind == "timeout":
            time.sleep(fault.delay_s)
        return _json(body, status)

    # --- test hooks -----------------------------------------------------------------------------
    def hook_messages(self, request: Request) -> Response:
        with self.state.lock:
            return _json([m.as_json() for m in self.state.messages])

    def hook_counters(self, request: Request) -> Response:
        with self.state.lock:
            return _json({**self.state.counters, "messages": len(self.state.messages),
                          "balance": str(self.state.balance)})

    def hook_reset(self, request: Request) -> Response:
        with self.state.lock:
            self.state.messages.clear()
            self.state.faults.clear()
            self.state.counters.update(requests=0, rate_limited=0)
        return _json({"ok": True})

    def hook_config(self, request: Request) -> Response:
        body = request.get_json(silent=True) or {}
        with self.state.lock:
            for key in ("balance", "price"):
                if key in body:
                    setattr(self.state, key, Decimal(str(body[key])))
            for key in ("approved_senders", "stop_list"):
                if key in body:
                    setattr(self.state, key, set(body[key]))
            if "rate_per_s" in body:
                self.state.rate_per_s = float(body["rate_per_s"])
        return _json({"ok": True})

    def hook_faults(self, request: Request) -> Response:
        with self.state.lock:
            if request.method == "DELETE":
                self.state.faults.clear()
            else:
                body = request.get_json(silent=True) or {}
                self.state.faults.append(Fault(**body))
        return _json({"ok": True})

    def hook_deliver(self, request: Request) -> Response:
        """``{"status": "delivered"|"undelivered", "provider_id"?: "…"}``: move queued messages on."""
        body = request.get_json(silent=True) or {}
        status = body.get("status", "delivered")
        if status not in SMSRU_STATUS:
            raise NotFound()
        with self.state.lock:
            moved = 0
            for message in self.state.messages:
                if message.status == "queued" and body.get("provider_id") in (None, message.provider_id):
                    message.status = status
                    moved += 1
        return _json({"moved": moved})


def _smsru_error(code: int) -> dict[str, Any]:
    return {"status": "ERROR", "status_code": code, "status_text": SMSRU_TEXTS.get(code, "Ошибка")}


def _smsc_error(code: int) -> dict[str, Any]:
    return {"error": SMSC_TEXTS.get(code, "error"), "error_code": code}
