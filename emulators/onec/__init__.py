"""Fake 1C:ZUP 3.1 infobase: OData standard interface + B24Sync SOAP service over real HTTP.

    zup = serve(port=0, generate="employees=200,orgs=3,departments=20", seed=1)
    zup.odata_url, zup.wsdl_url, zup.login, zup.password
    zup.stop()

Sources the emulator's modules cite, by these short names:

- 1C DG: 1C:Enterprise 8.3.23 Developer Guide, 17.4 «Standard OData interface» (the Russian
  «Руководство разработчика», chapter «Стандартный интерфейс OData», on its.1c.ru/db/v83doc),
  https://kb.1ci.com/1C_Enterprise_Platform/Guides/Developer_Guides/1C_Enterprise_8.3.23_Developer_Guide/Chapter_17._Integration_with_external_systems/17.4._Standard_OData_interface/
  cited by section title («Data presentation», «Resource name generation rules», «Query
  parameters», «JSON format», «Methods of modifying data», «Publishing the standard OData
  interface»).
- 1C integration book: «Технологии интеграции 1С:Предприятия 8.3» (1C), the section on errors of
  the REST interface, https://rutlib.com/book/43553/p/66
- captured replies: JSON replies of a real 1C server kept in the public repository
  roman-nevr/Client, app/src/main/java/ru/rubicon/client/IncomeJSON.java
- ZUP dumps: public «dumps to files» of ZUP КОРП 3.1 on GitHub, scriperirkth/zup-structure
  (RU 3.1.38) and yevgeniy1212/zup-korp (KZ 3.1.2.21), cited by path.

What no public source states is marked plainly: [not in the docs: …] for a behaviour seen on real
servers (with where it was seen), [inferred] for a choice of ours.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from .app import SOAP_ALIAS, OneCEmulator

DEFAULT_LOGIN = "Администратор"
DEFAULT_PASSWORD = "Пароль123"


class QuietHandler(WSGIRequestHandler):
    """No access log lines: tests and benchmarks make tens of thousands of requests."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


@dataclass
class RunningOneC:
    """A started emulator; `app` gives tests direct access to the infobase state."""

    url: str
    publication: str
    login: str
    password: str
    app: OneCEmulator
    server: BaseWSGIServer
    thread: threading.Thread | None

    @property
    def odata_url(self) -> str:
        return f"{self.url}/{self.publication}/odata/standard.odata/"

    @property
    def wsdl_url(self) -> str:
        return f"{self.url}/{self.publication}/ws/{SOAP_ALIAS}?wsdl"

    @property
    def soap_url(self) -> str:
        return f"{self.url}/{self.publication}/ws/{SOAP_ALIAS}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        if self.thread is not None:
            self.thread.join(timeout=10)


def start(port: int = 0, generate: str = "employees=200,orgs=3,departments=20", seed: int = 1,
          login: str = DEFAULT_LOGIN, password: str = DEFAULT_PASSWORD, publication: str = "zup",
          host: str = "127.0.0.1", **options: Any) -> RunningOneC:
    """Build the emulator and bind its server without serving yet (the CLI serves in the foreground)."""
    app = OneCEmulator(generate, seed, login, password, publication, **options)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = make_server(host, port, app, threaded=True, request_handler=QuietHandler)
    return RunningOneC(f"http://{host}:{server.server_port}", publication, login, password, app, server, None)


def serve(port: int = 0, generate: str = "employees=200,orgs=3,departments=20", seed: int = 1,
          login: str = DEFAULT_LOGIN, password: str = DEFAULT_PASSWORD, publication: str = "zup",
          **options: Any) -> RunningOneC:
    """Start the emulator on 127.0.0.1 in a background thread.

    options: error_status (1C code -> HTTP status),
    unpublished (sets left out of the standard interface).
    """
    running = start(port, generate, seed, login, password, publication, **options)
    running.thread = threading.Thread(target=running.server.serve_forever, name="onec-emulator", daemon=True)
    running.thread.start()
    return running
