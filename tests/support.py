"""Test support shared by every test package: ports, config files, a live app server."""
from __future__ import annotations

import os
import socket
from typing import Any
import threading
from datetime import timedelta
from pathlib import Path

import yaml
from flask import Flask
from werkzeug.serving import make_server

from b24app.config import Config, generate_token_key
from b24app.models import utcnow
from b24app.portal import get_store
from b24app.store import NewInstallation, TokenSet
from service import load_config


def python_path(*first: str) -> str:
    """PYTHONPATH for a child process: ``first`` before what this process was given (CI's faketime
    run puts its sitecustomize there)."""
    return os.pathsep.join([*first, *filter(None, [os.environ.get("PYTHONPATH")])])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_config(tmp_path: Path, *, public_url: str, database_url: str, extra: dict | None = None,
                 env: dict | None = None) -> tuple[Config, dict[str, str]]:
    """A real app.yaml + environment, as an operator would write them."""
    data = {"mode": "app", "app": {"public_url": public_url, "version": 1,
                                   "oauth_token_url": "https://oauth.bitrix.info/oauth/token/"}}
    for key, value in (extra or {}).items():
        data[key] = {**data.get(key, {}), **value} if isinstance(value, dict) else value
    path = tmp_path / "app.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    environment = {"B24_CLIENT_ID": "local.test.1", "B24_CLIENT_SECRET": "secret",
                   "B24APP_TOKEN_KEY": generate_token_key(), "SECRET_KEY": "test",
                   "DATABASE_URL": database_url, **(env or {})}
    return load_config(path, env=environment), environment



class LiveServer:
    """A Flask app served over HTTP on 127.0.0.1 in a background thread."""

    def __init__(self, app: Flask, port: int) -> None:
        self.app = app
        self.url = f"http://127.0.0.1:{port}"
        self.server = make_server("127.0.0.1", port, app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(5)


class EmulatedInstall:
    """The app served on a real port and installed into a Bitrix24 emulator, as a portal does it."""

    SCOPES = ["bizproc", "lists", "user", "department", "sonet_group", "im", "disk", "placement", "messageservice"]

    def __init__(self, tmp_path: Path, database_url: str, *, extra: dict | None = None, env: dict | None = None,
                 **emulator_options) -> None:
        from emulators.bitrix24 import serve

        from service import create_app
        from b24app.worker import get_executor

        self.portal = serve(port=0, **emulator_options)
        self.port = free_port()
        self.public_url = f"http://127.0.0.1:{self.port}"
        registered = self.hook("apps", {"handler_url": f"{self.public_url}/b24/app",
                                        "install_url": f"{self.public_url}/b24/install", "scopes": self.SCOPES})
        self.client_id = registered["client_id"]
        self.client_secret = registered["client_secret"]
        base = {"app": {"oauth_token_url": f"{self.portal.oauth_url}/oauth/token/",
                        "bx24_js_url": f"{self.portal.url}/bitrix/js/rest/bx24.js"},  # the portal's own BX24.js
                "worker": {"poll_interval_s": 0.05, "lease_s": 2},
                # the app paces itself for the portal it is installed into (an enterprise portal's
                # burst of 250 is not spent at the standard plan's 2 requests/s)
                "bitrix24": {"plan": emulator_options.get("plan", "standard"),
                             "time_scale": emulator_options.get("time_scale", 1)}}
        for key, value in (extra or {}).items():
            base[key] = {**base.get(key, {}), **value}
        self.config, self.env = write_config(
            tmp_path, public_url=self.public_url, database_url=database_url, extra=base,
            env={"B24_CLIENT_ID": self.client_id, "B24_CLIENT_SECRET": self.client_secret, **(env or {})})
        self.config_path = tmp_path / "app.yaml"
        self.app = create_app(self.config)
        self.server = LiveServer(self.app, self.port)
        self.worker = get_executor(self.app)
        self.worker_thread = None

    def hook(self, path: str, body: dict | None = None, method: str = "POST"):  # type: ignore[no-untyped-def]
        import requests

        response = requests.request(method, f"{self.portal.url}/_emulator/{path}", json=body, timeout=60)
        response.raise_for_status()
        return response.json()

    def start_worker(self) -> None:
        self.worker_thread = self.worker.start_thread()

    def install(self, user_id: int = 1) -> dict:
        """Open the install page as the portal does; wait until ONAPPINSTALL was delivered."""
        answer = self.hook(f"apps/{self.client_id}/install", {"user_id": user_id})
        self.hook("events/flush")
        return answer

    def drain(self, timeout_s: float = 20.0) -> None:
        """Process the inbox until it is empty (in this thread)."""
        import time

        from b24app import inbox
        from b24app.db import get_db

        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self.hook("events/flush")
            if not self.worker.run_once() and not [
                    i for i in inbox.list_items(get_db(self.app)) if i.status in ("pending", "processing")]:
                return
        raise AssertionError("inbox not drained")

    def application_token(self) -> str:
        """The application_token the portal issued to the app (as every event carries it)."""
        return _find_application_token(self.hook("state", method="GET"), self.client_id)

    @property
    def oauth_url(self) -> str:
        """The OAuth server's token endpoint the app uses."""
        return self.config.oauth_token_url

    @property
    def member_id(self) -> str:
        return self.portal.member_id

    def stop(self) -> None:
        from b24app.db import get_db

        self.worker.stop()
        self.server.stop()
        self.portal.stop()
        get_db(self.app).dispose()


def _find_application_token(state: Any, client_id: str) -> str:
    for node in _dicts(state):
        if node.get("client_id") == client_id and node.get("application_token"):
            return str(node["application_token"])
    raise AssertionError("no application token in emulator state")


def _dicts(node: Any):  # type: ignore[no-untyped-def]
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _dicts(value)
    elif isinstance(node, list):
        for value in node:
            yield from _dicts(value)


def installed_stub(app: Flask, member_id: str) -> None:
    """An installation of ``member_id`` whose REST endpoint answers nothing (for what needs no portal calls)."""
    get_store(app).save(NewInstallation(
        member_id=member_id, domain=f"{member_id[:4]}.bitrix24.ru", client_endpoint="http://127.0.0.1:1/rest/",
        server_endpoint=None, tokens=TokenSet("a", "r", utcnow() + timedelta(hours=1)), application_token="t",
        scopes=("user",), admin_user_id=1, app_version=1))
