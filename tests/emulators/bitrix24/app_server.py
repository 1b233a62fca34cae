"""A tiny application endpoint on 127.0.0.1 that records the form POSTs the portal sends."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator
from urllib.parse import parse_qsl

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response


@dataclass
class Received:
    path: str
    query: dict[str, str]
    form: dict[str, str]  # flat wire keys, e.g. "auth[access_token]"
    content_type: str


@dataclass
class AppEndpoint:
    """Answers ``page`` for every POST (default "OK") and records what arrived."""

    page: Callable[[Received], str] = lambda received: "OK"
    received: list[Received] = field(default_factory=list)
    url: str = ""

    def __call__(self, environ: dict, start_response: Callable) -> Iterator[bytes]:
        request = Request(environ)
        item = Received(request.path, dict(request.args), dict(parse_qsl(request.get_data(as_text=True))),
                        request.mimetype)
        self.received.append(item)
        return Response(self.page(item), content_type="text/html")(environ, start_response)

    def events(self, name: str) -> list[Received]:
        return [item for item in self.received if item.form.get("event") == name]

    def wait_events(self, name: str, count: int = 1, timeout_s: float = 10.0) -> list[Received]:
        """Poll for deliveries (a liveness bound, not a speed assertion)."""
        deadline = time.monotonic() + timeout_s
        while len(self.events(name)) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.events(name)


@pytest.fixture
def app_endpoint() -> Iterator[AppEndpoint]:
    endpoint = AppEndpoint()
    server = make_server("127.0.0.1", 0, endpoint, threaded=True)
    endpoint.url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield endpoint
    server.shutdown()
    thread.join(timeout=5)
