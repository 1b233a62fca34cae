"""Helpers for the lists/bizproc tests: a REST client for one user of one app, and a tiny real
HTTP server playing the app's activity handler (it may answer with ``bizproc.event.send``)."""
from __future__ import annotations

import base64
import re
import threading
import time
import uuid
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator
from urllib.parse import parse_qsl

import phpserialize
import pytest
import requests
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

Answer = Callable[[dict], dict | None]  # callback payload -> RETURN_VALUES (None = stay silent)


def parse_php_form(body: str) -> dict:
    """``a[b][0]=x`` -> {"a": {"b": {"0": "x"}}}; written here so tests don't share the emulator's codec."""
    result: dict = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        parts = [key.split("[", 1)[0], *re.findall(r"\[([^\]]*)\]", key)]
        node = result
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return result


def as_list(value: Any) -> list:
    """A form-decoded ``{"0": a, "1": b}`` as a list."""
    return [value[str(i)] for i in range(len(value))] if isinstance(value, dict) else list(value)


def bpt_data(tree: list[dict], variables: dict | None = None, parameters: dict | None = None,
             document_fields: dict | None = None) -> list[str]:
    """TEMPLATE_DATA as a portal exports it: zlib level 9 of PHP serialize
    [not in the docs: core modules/bizproc/lib/workflow/template/packer/bpt.php]."""
    data = {"VERSION": 2, "TEMPLATE": tree, "PARAMETERS": parameters or {}, "VARIABLES": variables or {},
            "CONSTANTS": {}, "DOCUMENT_FIELDS": document_fields or {}}
    return ["template.bpt", base64.b64encode(zlib.compress(phpserialize.dumps(data), 9)).decode()]


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


@dataclass
class Rest:
    """Calls REST as one user of one app (OAuth token from the ``/_emulator/tokens`` hook)."""

    base_url: str
    access_token: str

    def call(self, method: str, **params: Any) -> requests.Response:
        return requests.post(f"{self.base_url}/rest/{method}.json", json={"auth": self.access_token, **params},
                             timeout=10)

    def result(self, method: str, **params: Any) -> Any:
        response = self.call(method, **params)
        body = response.json()
        assert response.status_code == 200 and "result" in body, body
        return body["result"]

    def error(self, method: str, **params: Any) -> tuple[int, str, str]:
        response = self.call(method, **params)
        body = response.json()
        assert "error" in body, body
        return response.status_code, body["error"], body["error_description"]


@dataclass
class ActivityHandler:
    """The app's HTTP endpoint: records callbacks, optionally answers via bizproc.event.send."""

    portal_url: str
    answer: Answer | None = None
    calls: list[dict] = field(default_factory=list)
    url: str = ""

    def __call__(self, environ: dict, start_response: Any) -> Any:
        request = Request(environ)
        payload = parse_php_form(request.get_data(as_text=True))
        self.calls.append(payload)
        if self.answer is not None and "event_token" in payload:
            threading.Thread(target=self._send, args=(payload,), daemon=True).start()
        return Response("OK")(environ, start_response)

    def _send(self, payload: dict) -> None:
        values = self.answer(payload) if self.answer else None
        if values is None:
            return
        requests.post(f"{self.portal_url}/rest/bizproc.event.send.json", timeout=10, json={
            "auth": payload["auth"]["access_token"], "EVENT_TOKEN": payload["event_token"],
            "RETURN_VALUES": values, "LOG_MESSAGE": "answered by the test handler"})


def wait_for(check: Callable[[], Any], timeout_s: float = 10.0) -> Any:
    """Poll until ``check()`` is truthy (a liveness bound, not a speed assertion)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.02)


@dataclass
class BpWorld:
    """A portal with one installed app, its admin client and a handler server."""

    portal_url: str
    client_id: str
    admin: Rest
    handler: ActivityHandler

    def rest_as(self, user_id: int) -> Rest:
        token = requests.post(f"{self.portal_url}/_emulator/tokens", timeout=10,
                              json={"client_id": self.client_id, "user_id": user_id}).json()
        return Rest(self.portal_url, token["access_token"])

    def add_user(self, name: str, last_name: str = "Тестов") -> int:
        response = requests.post(f"{self.portal_url}/_emulator/users", timeout=10, json={
            "NAME": name, "LAST_NAME": last_name, "EMAIL": f"{unique(name.lower())}@example.com"})
        return int(response.json()["ID"])

    def hook(self, path: str) -> dict:
        return requests.get(f"{self.portal_url}/_emulator/bizproc/{path}", timeout=10).json()

    def workflow(self, workflow_id: str) -> dict:
        return next(w for w in self.hook("workflows")["workflows"] if w["ID"] == workflow_id)

    def finished(self, workflow_id: str) -> dict | None:
        found = self.workflow(workflow_id)
        return found if found["STATUS"] != "running" else None

    def new_list(self, bizproc: bool = True) -> int:
        return self.admin.result("lists.add", IBLOCK_TYPE_ID="bitrix_processes", IBLOCK_CODE=unique("list"),
                                 FIELDS={"NAME": "Заявления", "BIZPROC": "Y" if bizproc else "N"})


@pytest.fixture
def bp_world(portal: Any) -> Iterator[BpWorld]:
    """Requires the core's ``portal`` fixture (a running emulator with ``.url``)."""
    handler = ActivityHandler(portal.url)
    server = make_server("127.0.0.1", 0, handler, threaded=True)
    handler.url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    app = requests.post(f"{portal.url}/_emulator/apps", timeout=10, json={
        "handler_url": f"{handler.url}/app", "install_url": f"{handler.url}/install",
        "scopes": ["bizproc", "lists", "user", "im"]}).json()
    requests.post(f"{portal.url}/_emulator/apps/{app['client_id']}/install-finish", timeout=10)
    token = requests.post(f"{portal.url}/_emulator/tokens", timeout=10,
                          json={"client_id": app["client_id"], "user_id": 1}).json()
    yield BpWorld(portal.url, app["client_id"], Rest(portal.url, token["access_token"]), handler)
    server.shutdown()
    thread.join(timeout=5)
