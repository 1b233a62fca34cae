"""Test support shared by every test package: ports, config files, a live app server."""
from __future__ import annotations

import socket
import threading
from pathlib import Path

import yaml
from flask import Flask
from werkzeug.serving import make_server

from b24app.config import Config, generate_token_key, load_config


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
