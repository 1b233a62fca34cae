"""A stateful Bitrix24 portal emulator served over real HTTP (docs/architecture.md, issue 3).

    portal = serve(port=0, plan="standard", time_scale=1.0)
    portal.url, portal.webhook_url, portal.member_id
    portal.oauth_url  # the separate OAuth server: f"{portal.oauth_url}/oauth/token/"
    portal.stop()

Each behaviour cites the Bitrix24 REST documentation (GitHub ``bitrix24/b24restdocs``) by path, as
"REST docs: <path>". What no page there states is marked "[not in the docs: ...]" with where it
comes from: "core <path>" is a file of Bitrix's PHP core in the public mirror
``avshatalov48/bitrix-core-business``, "observed" a behaviour seen in real portal responses;
"[inferred]" marks a choice of ours.
"""
from __future__ import annotations

import threading
from dataclasses import fields
from pathlib import Path
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server

from .clock import Clock, ManualClock, SystemClock
from .server import OAuthApp, PortalApp
from .state import Options, PortalState
from .tls import self_signed_context

__all__ = ["ManualClock", "RunningBitrix24", "SystemClock", "serve"]


class RunningBitrix24:
    """A portal running in background threads; ``state`` is there for in-process inspection."""

    def __init__(self, state: PortalState, servers: list[BaseWSGIServer], oauth_server: BaseWSGIServer,
                 state_file: str | None, ca_file: str | None) -> None:
        self.state = state
        self._servers = servers
        self._oauth_server = oauth_server
        self._threads = [threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                         daemon=True, name="b24-emulator")
                         for server in [*servers, oauth_server]]
        self._state_file = state_file
        self.ca_file = ca_file
        for thread in self._threads:
            thread.start()

    @property
    def url(self) -> str:
        return self.state.base_url

    @property
    def oauth_url(self) -> str:
        """Base URL of the OAuth server (oauth.bitrix.info's part): tokens are exchanged at ``/oauth/token/``."""
        return self.state.oauth_base_url

    @property
    def https_url(self) -> str | None:
        return f"https://127.0.0.1:{self._servers[1].server_port}" if len(self._servers) > 1 else None

    @property
    def member_id(self) -> str:
        return self.state.member_id

    @property
    def webhook_url(self) -> str:
        """The seeded incoming webhook of admin user 1 (all scopes)."""
        return f"{self.url}/rest/1/{self.state.admin_webhook}/"

    def save(self) -> None:
        if self._state_file:
            with self.state.lock:
                self.state.save(self._state_file)

    def stop(self) -> None:
        for server in [*self._servers, self._oauth_server]:
            server.shutdown()
            server.server_close()
        self.state.close_features()
        self.state.dispatcher.stop()
        self.save()


def serve(port: int = 0, plan: str = "standard", time_scale: float = 1.0, state_file: str | None = None,
          seed: int = 1, *, clock: Clock | None = None, https: bool = False, host: str = "127.0.0.1",
          oauth_port: int = 0, **options: Any) -> RunningBitrix24:
    """Start a portal and its OAuth server (``oauth_port``, any free one by default); ``options`` set
    ``state.Options`` fields (rate_limit, operating_limit_s, ...)."""
    known = {item.name for item in fields(Options)}
    unknown = set(options) - known
    if unknown:
        raise TypeError(f"unknown emulator options: {', '.join(sorted(unknown))}")
    if plan not in ("standard", "enterprise") or time_scale <= 0:
        raise ValueError("plan must be standard|enterprise and time_scale positive")
    state = PortalState(Options(plan=plan, time_scale=time_scale, seed=seed, **options), clock)
    if state_file and Path(state_file).exists():
        state.load(state_file)
    app = PortalApp(state)
    servers = [make_server(host, port, app, threaded=True)]
    ca_file = None
    if https:
        context, ca_file = self_signed_context()
        servers.append(make_server(host, 0, app, threaded=True, ssl_context=context))
    oauth_server = make_server(host, oauth_port, OAuthApp(state), threaded=True)
    state.base_url = f"http://{host}:{servers[0].server_port}"
    state.oauth_base_url = f"http://{host}:{oauth_server.server_port}"
    return RunningBitrix24(state, servers, oauth_server, state_file, ca_file)
