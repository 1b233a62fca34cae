"""The portal as a WSGI application (``/rest/``, ``/oauth/authorize/``, file downloads, ``/_emulator/`` hooks)
and the OAuth server as another (``/oauth/token/``), each on its own port like portal.bitrix24.com and
oauth.bitrix.info (b24restdocs settings/oauth/index.md)."""
from __future__ import annotations

import importlib
import json
import re
import socket
import struct
import time
from typing import Any
from urllib.parse import quote

from werkzeug.wrappers import Request, Response

from . import hooks, portal_pages
from .apps import authorize_redirect, grant_token
from .bx24js import SHIM_PATH, shim_source
from .disk import file_bytes
from .faults import Fault
from .oauth import OAuthError
from .registry import RestError
from .state import PortalState
from .transport import (Executor, authenticate_oauth, authenticate_webhook, error_body, request_params, run_batch,
                        success_body)

CORE_MODULES = ("events", "users", "departments", "sonet", "im", "disk", "placement", "system", "messageservice")
FEATURE_MODULES = ("bizproc", "lists", "runtime")  # written in parallel; loaded when present
REST_PATH = re.compile(r"^/rest/(?:(?P<user>\d+)/(?P<code>[^/]+)/)?(?P<method>[^/]+?)(?:\.(?:json|xml))?/?$")
GATEWAY_PAGE = "<html><head><title>{status} {title}</title></head><body><center><h1>{status} {title}</h1>" \
               "</center><hr><center>nginx</center></body></html>"
GATEWAY_TITLES = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Temporarily Unavailable",
                  504: "Gateway Time-out"}


def load_methods() -> None:
    """Import every module that registers REST methods; feature modules may not exist yet."""
    for name in CORE_MODULES:
        importlib.import_module(f"{__package__}.{name}")
    for name in FEATURE_MODULES:
        try:
            importlib.import_module(f"{__package__}.{name}")
        except ModuleNotFoundError as error:
            if error.name != f"{__package__}.{name}":
                raise


def json_response(body: Any, status: int = 200) -> Response:
    response = Response(json.dumps(body, ensure_ascii=False), status, content_type="application/json; charset=utf-8")
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


class PortalApp:
    """WSGI entry point of one emulated portal."""

    def __init__(self, portal: PortalState) -> None:
        load_methods()
        self.portal = portal

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        return self.dispatch(request)(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        path = request.path
        if path.startswith("/rest/"):
            return self.rest(request)
        if portal_pages.is_page(path):
            return portal_pages.handle(self.portal, request)
        if path.rstrip("/") == "/oauth/authorize":
            return self.oauth_authorize(request)
        if path.startswith("/_emulator/"):
            return hooks.handle(self.portal, request)
        if path == SHIM_PATH:
            return self.bx24_shim(request)
        download = re.fullmatch(r"/disk/downloadFile/(\d+)/?", path)
        if download:
            return self.download(int(download.group(1)))
        return json_response({"error": "NOT_FOUND", "error_description": "Not found"}, 404)

    # -- REST -------------------------------------------------------------------------------------

    def rest(self, request: Request) -> Response:
        if request.method == "OPTIONS":
            return _preflight(request)
        route = REST_PATH.match(request.path)
        name = route.group("method").lower() if route else ""
        with self.portal.lock:
            self.portal.clock.request_arrived()
            self.portal.counters.requests += 1
        fault = self.portal.faults.pick(name)
        if fault is not None and fault.kind == "slow":
            time.sleep(fault.delay_s)
        elif fault is not None and not fault.after:
            return self.fault_response(fault, request)
        status, body, charged_s = self.execute(request, route, name)
        if self.portal.options.realtime:
            time.sleep(charged_s * self.portal.options.realtime)
        if fault is not None and fault.after and fault.kind != "slow":
            return self.fault_response(fault, request)  # the call ran: an ambiguous failure for the client
        return json_response(body, status)

    def execute(self, request: Request, route: re.Match[str] | None, name: str) -> tuple[int, dict[str, Any], float]:
        """Rate limit, auth, then the call or the batch; returns (status, body, charged seconds)."""
        with self.portal.lock:
            if self.portal.options.rate_limit and not self.portal.bucket.admit():
                self.portal.counters.rejected_503 += 1
                return 503, error_body(RestError("QUERY_LIMIT_EXCEEDED", "Too many requests", 503)), 0.0
            if route is None:
                return 404, error_body(RestError("ERROR_METHOD_NOT_FOUND", "Method not found!", 404)), 0.0
            params = request_params(request)
            try:
                identity = (authenticate_webhook(self.portal, route.group("user"), route.group("code"), request.scheme)
                            if route.group("code") else authenticate_oauth(self.portal, request, params))
            except RestError as error:
                return error.status, error_body(error), 0.0
            start = self.portal.clock.now()
            executor = Executor(self.portal, identity, start)
            if name == "batch":
                sections = run_batch(executor, params)
                executor.commit()
                return 200, {"result": sections, "time": executor.batch_time_block(start)}, executor.charged_s
            outcome = executor.run(name, params)
            executor.commit()
        if outcome.error is not None:
            return outcome.error.status, error_body(outcome.error), executor.charged_s
        return 200, success_body(outcome.result, outcome.time), executor.charged_s

    def fault_response(self, fault: Fault, request: Request) -> Response:
        if fault.kind == "reset":
            _drop_connection(request)
            return Response(b"", 500)
        if fault.kind == "timeout":
            time.sleep(fault.delay_s)
            return _gateway_page(504)
        if fault.kind == "html":
            return _gateway_page(fault.status)
        error = RestError("INTERNAL_SERVER_ERROR", "Internal server error", fault.status)
        return json_response(error_body(error), fault.status)

    # -- the portal's side of OAuth ---------------------------------------------------------------

    def oauth_authorize(self, request: Request) -> Response:
        with self.portal.lock:
            try:
                target = authorize_redirect(self.portal, request_params(request))
            except OAuthError as error:
                return json_response({"error": error.code, "error_description": error.description}, error.status)
        return Response("", 302, headers={"Location": target})

    def bx24_shim(self, request: Request) -> Response:
        with self.portal.lock:
            source = shim_source(self.portal, request.args.get("client_id"))
        return Response(source, 200, content_type="application/javascript; charset=utf-8",
                        headers={"Cache-Control": "no-store", "Access-Control-Allow-Origin": "*"})

    def download(self, object_id: int) -> Response:
        with self.portal.lock:
            found = file_bytes(self.portal, object_id)
        if found is None:
            return json_response({"error": "NOT_FOUND", "error_description": "File not found"}, 404)
        name, content = found
        return Response(content, 200, content_type="application/octet-stream",
                        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"})  # RFC 5987


class OAuthApp:
    """The OAuth server: every exchange with the client secret happens here, never on the portal
    (b24restdocs settings/oauth/index.md, "Application Authorization")."""

    def __init__(self, portal: PortalState) -> None:
        self.portal = portal

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        if request.path.rstrip("/") != "/oauth/token":
            response = json_response({"error": "NOT_FOUND", "error_description": "Not found"}, 404)
        else:
            response = self.token(request)
        return response(environ, start_response)

    def token(self, request: Request) -> Response:
        params = request_params(request)
        with self.portal.lock:
            try:
                return json_response(grant_token(self.portal, params))
            except OAuthError as error:
                return json_response({"error": error.code, "error_description": error.description}, error.status)


def _preflight(request: Request) -> Response:
    """A browser's CORS preflight before a JSON POST from an app frame (b24jssdk's axios calls /rest/ that way):
    answered without touching limits or auth. [inferred] the exact headers a portal sends."""
    requested = request.headers.get("Access-Control-Request-Headers", "Content-Type")
    return Response(b"", 204, headers={"Access-Control-Allow-Origin": "*",
                                       "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
                                       "Access-Control-Allow-Headers": requested, "Access-Control-Max-Age": "600"})


def _gateway_page(status: int) -> Response:
    title = GATEWAY_TITLES.get(status, "Error")
    return Response(GATEWAY_PAGE.format(status=status, title=title), status, content_type="text/html")


def _drop_connection(request: Request) -> None:
    """Abort the TCP connection without an answer (linger 0 -> RST where the OS allows it)."""
    connection = request.environ.get("werkzeug.socket")
    if isinstance(connection, socket.socket):
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        connection.shutdown(socket.SHUT_RDWR)
