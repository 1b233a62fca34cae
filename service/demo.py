"""``b24app demo``: the product's story on emulated systems, one chapter per capability.

1. The Bitrix24 portal emulator registers the app and installs it the way a portal does
   (install POST → installFinish → ONAPPINSTALL).
2. The 1C:ZUP emulator generates a staffing company (3 legal entities, 40 client sites,
   2,000 employees) and the first sync brings it into the portal as extranet workgroups and users.
3. The twelve business processes are installed and one vacation request runs end to end.
4. A brigade's month of timesheets: prefilled, typed in, approved by the client in the app and by the
   provider in Bitrix24's task list, exported as the T-13 form and priced as the invoice basis.
Then the app is served at http://127.0.0.1:<port> until Ctrl-C, with a link that opens each page of
the cabinet as one of the story's people through the emulated portal's own page.

Everything lives in ``instance/demo``: app.yaml and the keys (``.env``, which also names app.yaml,
so ``b24app -e instance/demo/.env …`` works on the demo), the database, the portal's state and
``demo.json`` (ports and people). The next ``b24app demo`` reuses that folder — no story, the same
links — and ``b24app demo --reset`` starts over. The emulated portal keeps Bitrix24's limits but
runs its clock ``PORTAL_TIME_SCALE`` times faster, so the story takes a minute, not an hour.
"""
from __future__ import annotations

import json
import logging
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import click
import requests
import yaml
from dotenv import dotenv_values
from flask import Flask
from werkzeug.serving import make_server

from b24app.app import upgrade
from b24app.bitrix import B24Client
from b24app.config import generate_token_key
from b24app.db import get_db
from b24app.frames import EXTRA_ANCESTORS_KEY
from b24app.portal import client_for, get_store
from b24app.verify import OneOffToken
from service import create_app, load_config
from sync_jobs.keys import person_of_xml_id
from b24app.worker import get_executor

DEMO_DIR = Path("instance") / "demo"
KEPT = DEMO_DIR / "demo.json"  # written once the story has finished: what a later run reuses
PORTAL_STATE = DEMO_DIR / "portal.json"
ENV_FILE = DEMO_DIR / ".env"
PORTAL_TIME_SCALE = 50
COMPANY = "employees=2000,orgs=3,departments=40"
ONEC_PASSWORD_ENV = "ONEC_ZUP_PASSWORD"


def step(text: str) -> None:
    click.echo(click.style("▸ ", fg="green") + text)


class DemoPortal:
    """The emulated Bitrix24 portal (its state kept in the demo folder), driven through its test hooks."""

    def __init__(self, port: int = 0, oauth_port: int = 0) -> None:
        from emulators.bitrix24 import serve

        self.emulator = serve(port=port, oauth_port=oauth_port, time_scale=PORTAL_TIME_SCALE,
                              state_file=str(PORTAL_STATE))
        self.url = self.emulator.url

    def hook(self, path: str, body: dict[str, Any] | None = None) -> Any:
        response = requests.post(f"{self.url}/_emulator/{path}", json=body or {}, timeout=60)
        response.raise_for_status()
        return response.json()

    def acting_user(self, client_id: str) -> Callable[[int], B24Client]:
        """A REST client acting as a portal user (what that user's page in the portal would hold)."""
        def client_of(user_id: int) -> B24Client:
            token = self.hook("tokens", {"client_id": client_id, "user_id": user_id})["access_token"]
            return B24Client(f"{self.url}/rest/", tokens=OneOffToken(token))
        return client_of

    def stop(self) -> None:
        self.emulator.stop()


def _write_config(public_url: str, portal: DemoPortal, zup: Any, registered: dict[str, str],
                  managers: dict[str, int]):  # type: ignore[no-untyped-def]
    DEMO_DIR.mkdir(parents=True, exist_ok=True)
    data = {"mode": "app",
            "app": {"public_url": public_url, "version": 1,
                    "oauth_token_url": f"{portal.emulator.oauth_url}/oauth/token/",
                    "bx24_js_url": f"{portal.url}/bitrix/js/rest/bx24.js"},
            "bitrix24": {"plan": "standard", "time_scale": PORTAL_TIME_SCALE},
            "onec": {"connections": [{"name": "zup", "mode": "soap", "url": zup.wsdl_url, "login": zup.login,
                                      "password_env": ONEC_PASSWORD_ENV}]},
            "sync": {"owner_id": managers["provider"],
                     "managers": {"default": {"client": [managers["client"]], "provider": [managers["provider"]]}}},
            "worker": {"poll_interval_s": 0.2}}
    path = DEMO_DIR / "app.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    env = {"B24_CLIENT_ID": registered["client_id"], "B24_CLIENT_SECRET": registered["client_secret"],
           "B24APP_TOKEN_KEY": generate_token_key(), "SECRET_KEY": generate_token_key(),
           ONEC_PASSWORD_ENV: zup.password,
           "DATABASE_URL": f"sqlite:///{(DEMO_DIR / 'demo.sqlite3').resolve()}",
           "B24APP_CONFIG": str(path.resolve())}
    ENV_FILE.write_text("".join(f"{key}={value}\n" for key, value in env.items()), encoding="utf-8")
    ENV_FILE.chmod(0o600)
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


def chapter_sync(app: Flask) -> None:
    """The first sync 1C:ZUP → Bitrix24, with its progress bar and summary."""
    from sync_jobs import run_sync

    summary = run_sync(app, full=True, progress=True)
    click.echo(summary.render())
    if summary.status not in ("ok", "partial"):  # partial: some records refused, each listed with its reason
        raise click.ClickException(f"синхронизация завершилась со статусом {summary.status}")


def synced_employee(app: Flask, portal: DemoPortal) -> int:
    """An extranet user the sync invited; they accept the invitation to take part in the story."""
    users = client_for(app).call("user.get", {"FILTER": {"USER_TYPE": "extranet", "ACTIVE": True},
                                              "ADMIN_MODE": True}).result
    employee = next(u for u in users if person_of_xml_id(u.get("XML_ID")) and u.get("EMAIL"))
    portal.hook(f"users/{employee['ID']}/accept-invite")
    step(f"Сотрудник {employee['LAST_NAME']} {employee['NAME']}: приглашение принято, вход в кабинет выполнен")
    return int(employee["ID"])


def run_demo(*, once: bool, port: int, reset: bool = False) -> None:
    from emulators.onec import serve as serve_onec

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the story, not the access log
    if reset:
        shutil.rmtree(DEMO_DIR, ignore_errors=True)
    kept = json.loads(KEPT.read_text(encoding="utf-8")) if KEPT.exists() else None
    if kept is None:
        shutil.rmtree(DEMO_DIR, ignore_errors=True)  # a story that did not finish leaves nothing to reuse
        DEMO_DIR.mkdir(parents=True)
    portal = DemoPortal(*((kept["portal_port"], kept["oauth_port"]) if kept else ()))
    zup = serve_onec(port=kept["onec_port"] if kept else 0, generate=COMPANY, seed=1)
    try:
        if kept is None:
            kept = tell_the_story(portal, zup, port, once=once)
        else:
            step(f"Демо уже подготовлено в {DEMO_DIR}: портал {portal.url}, 1С:ЗУП {zup.url} "
                 "(заново: b24app demo --reset)")
        serve_the_cabinet(portal, kept, once=once)
    finally:
        portal.stop()
        zup.stop()


def tell_the_story(portal: DemoPortal, zup: Any, port: int, *, once: bool) -> dict[str, Any]:
    """The chapters, on an empty portal; the ports and people are kept for the next run."""
    from bizproc_templates.demo import Cast, chapter_business_processes
    from timesheets.demo import chapter_timesheets

    step(f"Эмулятор портала Битрикс24: {portal.url} (лимиты тарифа, часы ускорены в {PORTAL_TIME_SCALE} раз)")
    step(f"Эмулятор 1С:ЗУП: {zup.odata_url} — сгенерирована кадровая компания ({COMPANY})")
    public_url = f"http://127.0.0.1:{port}"
    registered = portal.hook("apps", {"handler_url": f"{public_url}/b24/app",
                                      "install_url": f"{public_url}/b24/install",
                                      "scopes": ["bizproc", "lists", "user", "department", "sonet_group", "im",
                                                 "disk", "placement"]})
    step(f"Локальное приложение зарегистрировано: client_id {registered['client_id']}")
    managers = {role: int(portal.hook("users", {"NAME": name, "LAST_NAME": last, "EMAIL": f"{role}@demo.example"})["ID"])
                for role, name, last in (("client", "Клара", "Клиентова"), ("provider", "Пётр", "Провайдеров"))}
    step("Менеджеры: Клара Клиентова (со стороны клиента), Пётр Провайдеров (со стороны провайдера)")
    app, server = _start_app(_write_config(public_url, portal, zup, registered, managers), port)
    try:
        member_id = chapter_install(app, portal, registered["client_id"])
        step(f"Установлено на портале member_id={member_id}")
        chapter_sync(app)
        cast = Cast(client=managers["client"], provider=managers["provider"], employee=synced_employee(app, portal))
        chapter_business_processes(app, portal.url, zup.url, step, cast)
        chapter_timesheets(app, cast.employee, cast.provider, cast.client, portal.acting_user(registered["client_id"]),
                           DEMO_DIR, step)
    finally:
        _stop_app(app, server)
    kept = {"app_port": port, "portal_port": _port(portal.url), "oauth_port": _port(portal.emulator.oauth_url),
            "onec_port": _port(zup.url), "client_id": registered["client_id"],
            "people": {"employee": cast.employee, "client_manager": cast.client, "provider_manager": cast.provider,
                       "admin": 1}}
    portal.emulator.save()
    KEPT.write_text(json.dumps(kept, indent=2), encoding="utf-8")
    return kept


PAGES = (("employee", "Кабинет сотрудника"), ("client_manager", "Менеджер клиента: площадки"),
         ("provider_manager", "Менеджер провайдера: организации и оформление"), ("admin", "Администратор портала"))


def serve_the_cabinet(portal: DemoPortal, kept: dict[str, Any], *, once: bool) -> None:
    """The app with the kept configuration, and a link to each page of the cabinet as one of the people."""
    config = load_config(DEMO_DIR / "app.yaml", env={k: v or "" for k, v in dotenv_values(ENV_FILE).items()})
    app, server = _start_app(config, kept["app_port"])
    # the links open the portal on "localhost": the app on 127.0.0.1 is another site there, as in a real portal
    portal_page = portal.url.replace("//127.0.0.1:", "//localhost:")
    app.config[EXTRA_ANCESTORS_KEY] = [portal_page]
    try:
        click.echo("\nКабинет в портале (откройте в браузере):")
        for role, title in PAGES:
            user_id = kept["people"][role]
            click.echo(f"  {title} (пользователь {user_id}): {_open_link(portal_page, kept, user_id)}")
        group = _site_of(app, kept["people"]["employee"])
        click.echo(f"  Вкладка «Люди площадки» в группе: {_open_link(portal_page, kept, kept['people']['client_manager'], 'SONET_GROUP_DETAIL_TAB', {'GROUP_ID': str(group)})}")
        click.echo("\nТабели площадки из истории (заполнение, согласование, сводные и Т-13):")
        for role, title in TIMESHEET_PAGES:
            click.echo(f"  {title}: {_open_link(portal_page, kept, kept['people'][role], 'REST_APP_URI', {'page': 'timesheets', 'group_id': str(group)})}")
        click.echo(f"\nКоманды на данных демо: b24app -e {ENV_FILE} sync runs --id 1, "
                   f"b24app -e {ENV_FILE} portals list. Демо хранится в {DEMO_DIR}: следующий b24app demo "
                   "продолжит с ним, b24app demo --reset начнёт заново.")
        if once:
            return
        click.echo("Ctrl-C — выход.")
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        _stop_app(app, server)


TIMESHEET_PAGES = (("employee", "Сотрудник: свой табель"), ("client_manager", "Менеджер клиента: согласование"),
                   ("provider_manager", "Менеджер провайдера: сводный табель и Т-13"))


def _open_link(portal_page: str, kept: dict[str, Any], user_id: int, placement: str = "DEFAULT",
               options: dict[str, str] | None = None) -> str:
    """The emulated portal's page that opens the app as ``user_id`` (in a placement, with its options)."""
    query = {"user_id": user_id, "client_id": kept["client_id"]}
    if placement != "DEFAULT":
        query.update(placement=placement, options=json.dumps(options or {}))
    return f"{portal_page}/_emulator/open?{urlencode(query)}"


def _site_of(app: Flask, employee: int) -> int | None:
    """The workgroup of the story's employee: the site whose month of timesheets the story filled."""
    from sync_jobs.directory import directory

    people = directory(app)
    site = people.site_of_department(people.departments_of_user(employee)[0])
    return site.group_id if site else None


def _start_app(config: Any, port: int) -> tuple[Flask, Any]:
    app = create_app(config)
    logging.getLogger().setLevel(logging.WARNING)  # the story speaks for itself
    upgrade(app)
    get_executor(app).start_thread()
    server = _serve(app, port)
    step(f"Приложение слушает http://127.0.0.1:{port} (база {get_db(app).url})")
    return app, server


def _stop_app(app: Flask, server: Any) -> None:
    server.shutdown()
    get_executor(app).stop()
    get_db(app).dispose()


def _port(url: str) -> int:
    return int(url.rstrip("/").rsplit(":", 1)[1])
