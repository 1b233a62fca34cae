"""``b24app demo``: the product's story on emulated systems, one chapter per capability.

It starts the Bitrix24 portal emulator, registers and installs the app the way a portal does
(install POST → installFinish → ONAPPINSTALL), then serves the app at http://127.0.0.1:<port>
until Ctrl-C. Everything lives in ``instance/demo`` and is recreated on every run.
"""
from __future__ import annotations

import logging
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import click
import requests
import yaml
from flask import Flask
from werkzeug.serving import make_server

from b24app import create_app
from b24app.config import generate_token_key, load_config
from b24app.db import get_db, upgrade_schema
from b24app.portal import client_for, get_store
from b24app.worker import get_executor

DEMO_DIR = Path("instance") / "demo"


def step(text: str) -> None:
    click.echo(click.style("▸ ", fg="green") + text)


class DemoPortal:
    """The emulated Bitrix24 portal, driven through its test hooks."""

    def __init__(self) -> None:
        from emulators.bitrix24 import serve

        self.emulator = serve(port=0)
        self.url = self.emulator.url

    def hook(self, path: str, body: dict[str, Any] | None = None) -> Any:
        response = requests.post(f"{self.url}/_emulator/{path}", json=body or {}, timeout=60)
        response.raise_for_status()
        return response.json()

    def stop(self) -> None:
        self.emulator.stop()


def _write_config(public_url: str, portal: DemoPortal, client_id: str, client_secret: str):  # type: ignore[no-untyped-def]
    DEMO_DIR.mkdir(parents=True, exist_ok=True)
    data = {"mode": "app",
            "app": {"public_url": public_url, "version": 1, "oauth_token_url": f"{portal.url}/oauth/token/",
                    "bx24_js_url": f"{portal.url}/bitrix/js/rest/bx24.js"},
            "worker": {"poll_interval_s": 0.2}}
    path = DEMO_DIR / "app.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    env = {"B24_CLIENT_ID": client_id, "B24_CLIENT_SECRET": client_secret, "B24APP_TOKEN_KEY": generate_token_key(),
           "SECRET_KEY": generate_token_key(), "DATABASE_URL": f"sqlite:///{(DEMO_DIR / 'demo.sqlite3').resolve()}"}
    return load_config(path, env=env)


def _serve(app: Flask, port: int) -> Any:
    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _wait_installed(app: Flask, timeout_s: float = 20.0) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        installed = [i for i in get_store(app).all() if i.status == "installed"]
        if installed:
            return installed[0].member_id
        time.sleep(0.1)
    raise click.ClickException("портал не прислал ONAPPINSTALL — установка не завершена")


def chapter_install(app: Flask, portal: DemoPortal, client_id: str) -> str:
    """Install the app into the emulated portal exactly as a portal admin would."""
    answer = portal.hook(f"apps/{client_id}/install", {"user_id": 1})
    step(f"Портал открыл страницу установки: HTTP {answer.get('status')}, "
         f"installFinish {'вызван' if answer.get('installed') else 'не вызван'}")
    portal.hook("events/flush")
    member_id = _wait_installed(app)
    bound = client_for(app, member_id).call("event.get", {}).result
    step(f"ONAPPINSTALL получен и проверен; привязано событий: {len(bound)} "
         f"({', '.join(sorted(str(b.get('event')) for b in bound))})")
    return member_id


def run_demo(*, once: bool, port: int) -> None:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the story, not the access log
    shutil.rmtree(DEMO_DIR, ignore_errors=True)
    portal = DemoPortal()
    step(f"Эмулятор портала Битрикс24: {portal.url}")
    public_url = f"http://127.0.0.1:{port}"
    registered = portal.hook("apps", {"handler_url": f"{public_url}/b24/app",
                                      "install_url": f"{public_url}/b24/install",
                                      "scopes": ["bizproc", "lists", "user", "department", "sonet_group", "im",
                                                 "disk", "placement"]})
    step(f"Локальное приложение зарегистрировано: client_id {registered['client_id']}")
    config = _write_config(public_url, portal, registered["client_id"], registered["client_secret"])
    app = create_app(config)
    upgrade_schema(get_db(app).url)
    get_executor(app).start_thread()
    server = _serve(app, port)
    step(f"Приложение слушает {public_url} (база {get_db(app).url})")
    try:
        member_id = chapter_install(app, portal, registered["client_id"])
        step(f"Установлено на портале member_id={member_id}")
        if once:
            return
        click.echo(f"\nОткройте {public_url}/b24/app или эмулятор {portal.url}. Ctrl-C — выход.")
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
        get_executor(app).stop()
        portal.stop()
