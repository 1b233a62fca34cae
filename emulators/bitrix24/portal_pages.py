"""HTML pages of the emulated portal: ``GET /`` (what the emulator serves) and ``GET /_emulator/open``, which
opens an app the way a portal does: a page with a title bar and a left menu, and an iframe into which a form is
POSTed to the app's handler (b24restdocs api-reference/widgets/_includes/widget_data.md). The page answers the
frame's ``postMessage`` commands as the portal's parent window does for BX24.js and @bitrix24/b24jssdk
(``getInitData``, ``refreshAuth``, ``resizeWindow``, ``setTitle``, ``setInstallFinish``, ``openApplication``,
``closeApplication``, ``openPath``...). The page is served on whatever host the browser used, so opened as
``http://localhost:PORT`` it is cross-site to an app at ``http://127.0.0.1:PORT2``.
"""
from __future__ import annotations

import html
import json
import secrets
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from werkzeug.wrappers import Request, Response

from . import apps
from .state import App, PortalState

OPEN_PATH = "/_emulator/open"
FRAMES_PREFIX = "/_emulator/frames/"
PLACEMENTS_IN_MENU = ("SONET_GROUP_DETAIL_TAB", "LEFT_MENU", "REST_APP_URI")
# [inferred] what a portal's app iframe allows; the docs do not list it
FRAME_SANDBOX = ("allow-same-origin allow-scripts allow-forms allow-popups allow-popups-to-escape-sandbox "
                 "allow-modals allow-downloads allow-top-navigation-by-user-activation")
FRAME_ALLOW = "clipboard-read; clipboard-write; camera; microphone; geolocation"


class PageError(Exception):
    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def handle(portal: PortalState, request: Request) -> Response:
    """Dispatch ``/``, ``/_emulator/open`` and the parent page's ``/_emulator/frames/<id>/<action>``."""
    try:
        if request.path == "/":
            with portal.lock:
                return _html(index_page(portal, request.host))
        if request.path.rstrip("/") == OPEN_PATH:
            with portal.lock:
                return _html(open_page(portal, request.args, request.host, request.scheme == "https"))
        if request.method != "POST":
            raise PageError("POST only", 405)
        frame_id, _, action = request.path[len(FRAMES_PREFIX):].strip("/").partition("/")
        body = json.loads(request.get_data(as_text=True) or "{}")
        return _json(frame_action(portal, frame_id, action, body if isinstance(body, dict) else {}))
    except PageError as error:
        return _html(_page("Ошибка", f"<p class='error'>{html.escape(str(error))}</p>"), error.status)
    except ValueError as error:
        return _html(_page("Ошибка", f"<p class='error'>{html.escape(str(error))}</p>"), 400)


def is_page(path: str) -> bool:
    return path == "/" or path.rstrip("/") == OPEN_PATH or path.startswith(FRAMES_PREFIX)


# -- what opens where -------------------------------------------------------------------------------

def _frames(portal: PortalState) -> dict[str, dict[str, Any]]:
    return portal.feature("portal_frames", dict)


def _handler(portal: PortalState, app: App, placement: str, user_id: int, handler_id: str | None) -> str:
    """DEFAULT opens the app's own page; a placement opens its bound handler, once the app is installed
    (b24restdocs api-reference/common/system/app-info.md: no placements while INSTALLED is false)."""
    if placement == "DEFAULT":
        if not app.installed and not portal.is_admin(user_id):
            raise PageError("Приложение ещё не установлено: до завершения установки оно доступно только "
                            "администраторам", 403)
        return app.handler_url
    if not app.installed:
        raise PageError("Встройки приложения не показываются до завершения установки", 404)
    bound = [row for row in portal.tables["placements"].values()
             if row["CLIENT_ID"] == app.client_id and row["PLACEMENT"] == placement
             and (not handler_id or str(row["ID"]) == handler_id)]
    if not bound:
        raise PageError(f"У приложения нет встройки {placement}", 404)
    return str(bound[0]["HANDLER"])


def _options(placement: str, raw: str | None) -> dict[str, Any]:
    try:
        options = json.loads(raw) if raw else {}
    except ValueError as error:
        raise PageError("options: ожидается JSON-объект", 400) from error
    if not isinstance(options, dict):
        raise PageError("options: ожидается JSON-объект", 400)
    if placement == "SONET_GROUP_DETAIL_TAB" and options.get("GROUP_ID") not in (None, ""):
        group_id = str(options["GROUP_ID"])  # workgroups/detail-tab.md: {"GROUP_ID":"10","URI":"/workgroups/group/10/"}
        options = {"GROUP_ID": group_id, "URI": f"/workgroups/group/{group_id}/", **options}
        options["GROUP_ID"] = group_id
    return options


def _open_frame(portal: PortalState, app: App, user_id: int, handler: str, placement: str,
                options: dict[str, Any], host: str, secure: bool) -> dict[str, Any]:
    """Issue tokens for ``user_id`` and ``app``, remember the frame, return what the page needs."""
    url, form = apps.frame_request(portal, app, user_id, handler, placement, options, domain=host, secure=secure)
    frame_id = secrets.token_hex(12)
    _frames(portal)[frame_id] = {"client_id": app.client_id, "user_id": user_id, "host": host, "secure": secure,
                                 "handler": handler, "placement": placement}
    user = portal.user(user_id) or {}
    init = {"AUTH_ID": form["AUTH_ID"], "REFRESH_ID": form["REFRESH_ID"], "AUTH_EXPIRES": str(form["AUTH_EXPIRES"]),
            "DOMAIN": host, "PROTOCOL": "1" if secure else "0", "PATH": "/rest", "LANG": "ru",
            "MEMBER_ID": portal.member_id,
            "IS_ADMIN": bool(user.get("ADMIN")), "APP_OPTIONS": app.options, "USER_OPTIONS": {},
            "PLACEMENT": placement, "PLACEMENT_OPTIONS": options, "INSTALL": not app.installed, "FIRST_RUN": False}
    app_sid = dict(parse_qsl(urlsplit(url).query))["APP_SID"]
    # the frame's window.name is "DOMAIN|PROTOCOL|APP_SID": @bitrix24/b24jssdk reads its parent from it
    # (packages/jssdk/src/loader-b24frame.ts, parseFrameQueryParams)
    name = f"{host}|{1 if secure else 0}|{app_sid}"
    return {"frame_id": frame_id, "url": url, "form": form, "init": init, "app_sid": app_sid,
            "app_origin": _origin(handler), "name": name}


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def frame_action(portal: PortalState, frame_id: str, action: str, body: dict[str, Any]) -> dict[str, Any]:
    """What the parent page asks the portal for: fresh tokens, installFinish, a slider frame."""
    with portal.lock:
        frame = _frames(portal).get(frame_id)
        if frame is None:
            raise PageError("unknown frame", 404)
        app = portal.app(frame["client_id"])
        if app is None:
            raise PageError("the app was removed", 404)
        if action == "refresh":  # the same user and app as the frame, never another
            token = portal.issue_token(app.client_id, frame["user_id"])
            return {"AUTH_ID": token["access_token"], "REFRESH_ID": token["refresh_token"],
                    "AUTH_EXPIRES": str(token["expires_in"])}
        if action == "install-finish":
            if not portal.is_admin(frame["user_id"]):
                raise PageError("only an administrator finishes an installation", 403)
            return {"installed": apps.finish_install(portal, app.client_id, frame["user_id"]).installed}
        if action == "open-application":  # open-application.md: the slider POSTs to the app's own handler
            options = body.get("options") if isinstance(body.get("options"), dict) else {}
            opened = _open_frame(portal, app, frame["user_id"], app.handler_url, "DEFAULT", options, frame["host"],
                                 frame["secure"])
            return {key: opened[key] for key in ("frame_id", "url", "form", "init", "app_sid", "app_origin", "name")}
    raise PageError(f"unknown action {action!r}", 404)


# -- pages --------------------------------------------------------------------------------------------

def open_page(portal: PortalState, args: Any, host: str, secure: bool) -> str:
    client_id = str(args.get("client_id") or "")
    app = portal.app(client_id) if client_id else next(iter(portal.apps.values()), None)
    if app is None:
        raise PageError(f"нет приложения {client_id!r}", 404)
    raw_user = str(args.get("user_id") or "1")
    user = portal.user(int(raw_user)) if raw_user.isdigit() else None
    if user is None or not user.get("ACTIVE"):
        raise PageError(f"нет активного пользователя {raw_user!r}", 404)
    placement = str(args.get("placement") or "DEFAULT").upper()
    handler = _handler(portal, app, placement, user["ID"], args.get("handler_id"))
    opened = _open_frame(portal, app, user["ID"], handler, placement, _options(placement, args.get("options")), host,
                         secure)
    title = _app_title(portal, app, placement)
    return _page(title, _frame_html(opened, title), menu=_menu(portal, app, user["ID"]), user=user, host=host,
                 script=PARENT_SCRIPT % {"config": _script_json({key: opened[key] for key in (
                     "frame_id", "init", "app_sid", "app_origin")})})


def _app_title(portal: PortalState, app: App, placement: str) -> str:
    for row in portal.tables["placements"].values():
        if row["CLIENT_ID"] == app.client_id and row["PLACEMENT"] == placement and row.get("TITLE"):
            return str(row["TITLE"])
    return f"Приложение {app.client_id}"


def _frame_html(opened: dict[str, Any], title: str) -> str:
    name = opened["name"]
    inputs = "".join(f"<input type='hidden' name='{html.escape(key)}' value='{html.escape(str(value))}'>"
                     for key, value in opened["form"].items())
    return (f"<h1 id='app-title'>{html.escape(title)}</h1>"
            f"<iframe id='app-frame' name='{name}' title='{html.escape(title)}' src='about:blank' "
            f"sandbox='{FRAME_SANDBOX}' allow='{FRAME_ALLOW}'></iframe>"
            f"<form id='app-form' method='post' target='{name}' action='{html.escape(opened['url'])}'>{inputs}</form>"
            "<section id='slider' hidden><button id='slider-close' type='button'>Закрыть</button>"
            f"<iframe id='slider-frame' name='slider' src='about:blank' sandbox='{FRAME_SANDBOX}' "
            f"allow='{FRAME_ALLOW}'></iframe></section>"
            "<details><summary>Сообщения приложения</summary><ol id='portal-log'></ol></details>")


def _menu(portal: PortalState, current: App | None, user_id: int) -> str:
    """The left menu: every app (its own page), then its placements a user can open from here."""
    items = []
    for app in portal.apps.values():
        link = _open_link(app.client_id, user_id, "DEFAULT")
        mark = " aria-current='page'" if current is not None and app.client_id == current.client_id else ""
        entries = [f"<li><a href='{html.escape(link)}'{mark}>{html.escape(app.client_id)}</a>"
                   + ("" if app.installed else " <small>(не установлено)</small>")]
        for row in portal.tables["placements"].values():
            if row["CLIENT_ID"] == app.client_id and row["PLACEMENT"] in PLACEMENTS_IN_MENU:
                sub_link = _open_link(app.client_id, user_id, row["PLACEMENT"], str(row["ID"]))
                label = row.get("TITLE") or row["PLACEMENT"]
                entries.append(f"<li class='placement'><a href='{html.escape(sub_link)}'>{html.escape(str(label))}"
                               f"</a> <small>{row['PLACEMENT']}</small></li>")
        items.append("".join(entries) + "</li>")
    return f"<nav id='portal-menu' aria-label='Меню портала'><ul>{''.join(items)}</ul></nav>"


def _open_link(client_id: str, user_id: int, placement: str, handler_id: str = "") -> str:
    query = {"client_id": client_id, "user_id": user_id, "placement": placement}
    if handler_id:
        query["handler_id"] = handler_id
    return f"{OPEN_PATH}?{urlencode(query)}"


def index_page(portal: PortalState, host: str) -> str:
    """``GET /``: the portal, its apps and a link to open each app as each active user."""
    users = [user for user in portal.tables["users"].values() if user.get("ACTIVE")]
    rows = []
    for app in portal.apps.values():
        links = " ".join(f"<a href='{html.escape(_open_link(app.client_id, user['ID'], 'DEFAULT'))}'>"
                         f"{html.escape(_user_name(user))}</a>" for user in users)
        rows.append(f"<tr><td>{html.escape(app.client_id)}</td><td>{'да' if app.installed else 'нет'}</td>"
                    f"<td>{html.escape(app.handler_url)}</td><td>{links}</td></tr>")
    table = ("<table><thead><tr><th>client_id</th><th>Установлено</th><th>Обработчик</th>"
             f"<th>Открыть как</th></tr></thead><tbody>{''.join(rows)}</tbody></table>") if rows else \
        "<p>Приложений нет: зарегистрируйте их через POST /_emulator/apps.</p>"
    body = (f"<dl><dt>Домен</dt><dd>{html.escape(portal.domain)}</dd><dt>member_id</dt>"
            f"<dd>{html.escape(portal.member_id)}</dd><dt>REST</dt><dd>{html.escape(portal.rest_url)}</dd>"
            f"<dt>OAuth-сервер</dt><dd>{html.escape(portal.oauth_base_url)}/oauth/token/</dd>"
            f"<dt>Тариф</dt><dd>{html.escape(portal.options.plan)}</dd><dt>Пользователей</dt>"
            f"<dd>{len(users)}</dd></dl><h2>Приложения</h2>{table}"
            "<h2>Служебное</h2><ul><li><a href='/_emulator/state'>/_emulator/state</a></li>"
            "<li><a href='/_emulator/apps'>/_emulator/apps</a></li>"
            "<li><a href='/bitrix/js/rest/bx24.js'>/bitrix/js/rest/bx24.js</a></li></ul>")
    return _page("Эмулятор Битрикс24", body, host=host)


def _user_name(user: dict[str, Any]) -> str:
    name = " ".join(str(user.get(key) or "") for key in ("NAME", "LAST_NAME")).strip()
    return f"{name or 'Пользователь'} (#{user['ID']})"


def _page(title: str, main: str, *, menu: str = "", user: dict[str, Any] | None = None, host: str = "",
          script: str = "") -> str:
    who = f"<span id='portal-user'>{html.escape(_user_name(user))}</span>" if user else ""
    return (f"<!doctype html><html lang='ru'><head><meta charset='utf-8'><title>{html.escape(title)} — Битрикс24"
            f"</title><style>{STYLE}</style></head><body><header id='portal-bar'><a href='/'>Битрикс24</a> "
            f"<span>{html.escape(host)}</span>{who}</header><div id='portal-body'>{menu}<main>{main}</main></div>"
            f"{script}</body></html>")


def _script_json(value: Any) -> str:
    """JSON safe inside a <script> element."""
    return json.dumps(value, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e")


def _html(text: str, status: int = 200) -> Response:
    return Response(text, status, content_type="text/html; charset=utf-8", headers={"Cache-Control": "no-store"})


def _json(body: Any) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), 200, content_type="application/json; charset=utf-8")


STYLE = """
body { margin: 0; font: 14px/1.4 system-ui, sans-serif; color: #333; background: #eef2f4; }
#portal-bar { display: flex; gap: 16px; align-items: center; padding: 8px 16px; background: #2fc6f6; color: #fff; }
#portal-bar a { color: #fff; font-weight: 600; text-decoration: none; }
#portal-user { margin-left: auto; }
#portal-body { display: flex; min-height: calc(100vh - 40px); }
#portal-menu { width: 240px; padding: 12px; background: #fff; border-right: 1px solid #dfe3e6; }
#portal-menu ul { list-style: none; margin: 0; padding: 0; }
#portal-menu li { margin: 4px 0; } #portal-menu li.placement { margin-left: 16px; }
main { flex: 1; padding: 16px; min-width: 0; }
#app-frame { width: 100%; height: 600px; border: 0; background: #fff; }
#slider { position: fixed; top: 40px; right: 0; bottom: 0; width: 70%; background: #fff;
          box-shadow: -4px 0 16px rgba(0,0,0,.2); }
#slider iframe { width: 100%; height: calc(100% - 32px); border: 0; }
table { border-collapse: collapse; background: #fff; } td, th { border: 1px solid #dfe3e6; padding: 4px 8px; }
.error { color: #b00020; }
"""

PARENT_SCRIPT = """<script>
(function (config) {
  "use strict";
  var frame = document.getElementById("app-frame"), slider = document.getElementById("slider");
  var sliderFrame = document.getElementById("slider-frame"), log = document.getElementById("portal-log");
  var frames = {};  // APP_SID -> {config, window}
  frames[config.app_sid] = {config: config, target: function () { return frame.contentWindow; }};
  var sliderClosed = null;
  window.portalMessages = [];
  function post(url, body) {
    return fetch(url, {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body || {})})
      .then(function (response) { return response.json(); });
  }
  function parse(data) {  // "cmd:params:callback:appSid" (BX24.js, b24jssdk) or {method, params, callback, appSid}
    if (data && typeof data === "object") {
      return {command: String(data.method), params: data.params || {}, callback: data.callback, appSid: data.appSid};
    }
    var parts = String(data).split(":");
    if (parts.length < 3) { return null; }
    var raw = parts.slice(1, -2).join(":"), params = {};
    if (raw) { try { params = JSON.parse(raw); } catch (error) { params = raw; } }
    return {command: parts[0], params: params, callback: parts[parts.length - 2], appSid: parts[parts.length - 1]};
  }
  function submit(target, opened) {
    var element = document.createElement("form");
    element.method = "post"; element.action = opened.url; element.target = target; element.hidden = true;
    Object.keys(opened.form).forEach(function (key) {
      var input = document.createElement("input");
      input.type = "hidden"; input.name = key; input.value = opened.form[key]; element.appendChild(input);
    });
    document.body.appendChild(element);
    element.submit();
  }
  function size(value) { return /^\\d+$/.test(String(value)) ? value + "px" : String(value); }
  function closeSlider() {
    slider.hidden = true; sliderFrame.src = "about:blank";
    if (sliderClosed) { var done = sliderClosed; sliderClosed = null; done(); }
  }
  document.getElementById("slider-close").addEventListener("click", closeSlider);
  var commands = {
    getInitData: function (params, entry) { return Promise.resolve(entry.config.init); },
    refreshAuth: function (params, entry) {
      return post("/_emulator/frames/" + entry.config.frame_id + "/refresh").then(function (fresh) {
        Object.assign(entry.config.init, fresh);
        return fresh;
      });
    },
    setInstallFinish: function (params, entry) {
      return post("/_emulator/frames/" + entry.config.frame_id + "/install-finish");
    },
    setInstall: function () { return Promise.resolve({}); },
    resizeWindow: function (params) {
      if (params && params.height) { frame.style.height = size(params.height); }
      if (params && params.width) { frame.style.width = size(params.width); }
      return Promise.resolve({});
    },
    setTitle: function (params) {
      var title = params && params.title !== undefined ? params.title : params;
      document.getElementById("app-title").textContent = String(title);
      return Promise.resolve({});
    },
    reloadWindow: function () { location.reload(); return Promise.resolve({}); },
    openApplication: function (params, entry) {
      return post("/_emulator/frames/" + entry.config.frame_id + "/open-application", {options: params})
        .then(function (opened) {
          var fresh = sliderFrame.cloneNode(false);  // a new frame: its window.name carries the slider's APP_SID
          fresh.name = opened.name;
          sliderFrame.replaceWith(fresh);
          sliderFrame = fresh;
          frames[opened.app_sid] = {config: opened, target: function () { return fresh.contentWindow; }};
          slider.hidden = false;
          submit(opened.name, opened);
          return new Promise(function (resolve) { sliderClosed = function () { resolve({}); }; });
        });
    },
    closeApplication: function () { closeSlider(); return Promise.resolve({}); },
    openPath: function (params) { return Promise.resolve({result: "opened", path: params && params.path}); }
  };
  window.addEventListener("message", function (event) {
    var message = parse(event.data);
    if (!message || !frames[message.appSid]) { return; }
    var entry = frames[message.appSid];
    if (event.origin !== entry.config.app_origin || event.source !== entry.target()) { return; }
    window.portalMessages.push({command: message.command, params: message.params});
    var item = document.createElement("li");
    item.textContent = message.command;
    log.appendChild(item);
    var handler = commands[message.command] || function () { return Promise.resolve({}); };
    handler(message.params, entry).then(function (result) {
      event.source.postMessage(message.callback + ":" + JSON.stringify(result === undefined ? {} : result),
                               entry.config.app_origin);
    });
  });
  document.getElementById("app-form").submit();
})(%(config)s);
</script>"""
