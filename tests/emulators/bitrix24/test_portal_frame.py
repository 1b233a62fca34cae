"""The portal page opens an app in a cross-site iframe and answers BX24.js / b24jssdk over postMessage
(real headless Chromium, Debian's /usr/bin/chromium driven by Playwright, third-party cookies blocked)."""
from __future__ import annotations

import json
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
import requests
from playwright.sync_api import sync_playwright
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from emulators.bitrix24 import RunningBitrix24
from tests.cabinet.browser import CHROMIUM, chromium_profile, real_clock_environment
from tests.emulators.bitrix24.bp_fixtures import wait_for
from tests.emulators.bitrix24.conftest import hook


BX24_PAGE = """<!doctype html><html><head><meta charset="utf-8"><script src="%(shim)s"></script></head><body>
<pre id="out"></pre><script>
BX24.init(function () {
  var out = {auth: BX24.getAuth(), info: BX24.placement.info(), admin: BX24.isAdmin(), lang: BX24.getLang()};
  BX24.callMethod("user.current", {}, function (result) {
    out.me = result.data().ID;
    BX24.refreshAuth(function (auth) {
      out.refreshed = auth.access_token !== out.auth.access_token;
      BX24.callMethod("profile", {}, function (profile) {
        out.profile = profile.data().ID;
        BX24.fitWindow(function () { document.getElementById("out").textContent = JSON.stringify(out); });
      });
    });
  });
});
</script></body></html>"""

# What @bitrix24/b24jssdk does: DOMAIN|PROTOCOL|APP_SID from window.name (src/loader-b24frame.ts), then
# "getInitData:<callback>:<APP_SID>" to PROTOCOL://DOMAIN, reading "<callback>:<JSON>" back from that origin only
# (src/frame/message/controller.ts), then REST as a JSON POST, which a browser preflights (axios).
SDK_PAGE = """<!doctype html><html><head><meta charset="utf-8"></head><body><pre id="out"></pre><script>
var parts = window.name.split("|");
var origin = (parts[1] === "1" ? "https://" : "http://") + parts[0];
window.addEventListener("message", function (event) {
  if (event.origin !== origin) { return; }
  var at = event.data.indexOf(":");
  if (event.data.slice(0, at) !== "sdk1") { return; }
  var init = JSON.parse(event.data.slice(at + 1));
  fetch(origin + init.PATH + "/user.current", {method: "POST", headers: {"Content-Type": "application/json"},
                                               body: JSON.stringify({auth: init.AUTH_ID})})
    .then(function (response) { return response.json(); })
    .then(function (answer) {
      init.me = answer.result.ID;
      document.getElementById("out").textContent = JSON.stringify(init);
    });
});
parent.postMessage("getInitData:sdk1:" + parts[2], origin);
</script></body></html>"""


class AppSite:
    """The app on 127.0.0.1: answers every POST with ``page`` and records what the portal posted."""

    def __init__(self) -> None:
        self.page = "OK"
        self.posts: list[dict[str, Any]] = []
        self.server = make_server("127.0.0.1", 0, self, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def __call__(self, environ: dict, start_response: Any) -> Any:
        request = Request(environ)
        if request.method == "POST":
            self.posts.append({"path": request.path, "query": dict(request.args),
                               "form": dict(parse_qsl(request.get_data(as_text=True)))})
        return Response(self.page, content_type="text/html; charset=utf-8")(environ, start_response)


@pytest.fixture
def app_site() -> Iterator[AppSite]:
    site = AppSite()
    yield site
    site.server.shutdown()


@pytest.fixture
def chromium() -> Iterator[Any]:
    """A Chromium profile that blocks third-party cookies, as a careful user sets it."""
    folder = chromium_profile(Path(tempfile.mkdtemp(prefix="emu-chromium-")), block_third_party_cookies=True)
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(str(folder), executable_path=str(CHROMIUM),
                                                                headless=True, env=real_clock_environment())
        yield context
        context.close()
    shutil.rmtree(folder, ignore_errors=True)


def _installed_app(portal: RunningBitrix24, site: AppSite) -> tuple[dict, str]:
    app = hook(portal, "apps", {"handler_url": f"{site.url}/app", "install_url": f"{site.url}/install",
                                "scopes": ["user", "sonet_group", "placement"]})
    hook(portal, f"apps/{app['client_id']}/install-finish", {"user_id": 1})
    token = hook(portal, "tokens", {"client_id": app["client_id"], "user_id": 1})["access_token"]
    return app, token


def _portal_page(portal: RunningBitrix24, **query: Any) -> str:
    """The page on ``localhost``: another site than the app on 127.0.0.1."""
    encoded = "&".join(f"{key}={requests.utils.quote(str(value))}" for key, value in query.items())
    return f"{portal.url.replace('127.0.0.1', 'localhost')}/_emulator/open?{encoded}"


def test_group_tab_frame_runs_bx24_against_the_parent(portal: RunningBitrix24, app_site: AppSite,
                                                      chromium: Any) -> None:
    app, token = _installed_app(portal, app_site)
    requests.post(f"{portal.url}/rest/placement.bind", timeout=10, json={
        "auth": token, "PLACEMENT": "SONET_GROUP_DETAIL_TAB", "HANDLER": f"{app_site.url}/tab", "TITLE": "Табель"})
    employee = hook(portal, "users", {"NAME": "Анна", "EMAIL": "anna@example.org", "UF_DEPARTMENT": [1]})["ID"]
    shim = f"{portal.url.replace('127.0.0.1', 'localhost')}/bitrix/js/rest/bx24.js"
    app_site.page = BX24_PAGE % {"shim": shim}
    page = chromium.new_page()
    page.goto(_portal_page(portal, client_id=app["client_id"], user_id=employee,
                           placement="SONET_GROUP_DETAIL_TAB", options=json.dumps({"GROUP_ID": 7})))
    out = page.frame_locator("#app-frame").locator("#out")
    out.wait_for(state="attached")
    page.wait_for_function("() => window.portalMessages.some(m => m.command === 'resizeWindow')")
    seen = json.loads(out.text_content() or "{}")
    assert (seen["me"], seen["profile"], seen["admin"], seen["refreshed"]) == (str(employee), str(employee), False, True)
    assert seen["info"] == {"placement": "SONET_GROUP_DETAIL_TAB",
                            "options": {"GROUP_ID": "7", "URI": "/workgroups/group/7/"}}
    assert set(seen["auth"]) == {"access_token", "refresh_token", "expires_in", "domain", "member_id"}
    assert seen["auth"]["domain"] == portal.url.replace("127.0.0.1", "localhost").split("//")[1]
    [posted] = app_site.posts
    assert posted["path"] == "/tab" and set(posted["query"]) == {"DOMAIN", "PROTOCOL", "LANG", "APP_SID"}
    assert json.loads(posted["form"]["PLACEMENT_OPTIONS"])["GROUP_ID"] == "7"
    assert posted["form"]["SERVER_ENDPOINT"] == f"{portal.oauth_url}/rest/"
    commands = [message["command"] for message in page.evaluate("window.portalMessages")]
    assert commands[:2] == ["getInitData", "refreshAuth"] and "resizeWindow" in commands
    assert "Табель" in page.locator("#portal-menu").inner_text()


def test_b24jssdk_init_data_over_the_wire(portal: RunningBitrix24, app_site: AppSite, chromium: Any) -> None:
    app, _ = _installed_app(portal, app_site)
    app_site.page = SDK_PAGE
    page = chromium.new_page()
    page.goto(_portal_page(portal, client_id=app["client_id"], user_id=1))
    out = page.frame_locator("#app-frame").locator("#out")
    page.wait_for_function("() => window.portalMessages.length > 0")
    out.filter(has_text='"me"').wait_for()
    init = json.loads(out.text_content() or "{}")
    assert {"AUTH_ID", "REFRESH_ID", "AUTH_EXPIRES", "DOMAIN", "PROTOCOL", "PATH", "LANG", "MEMBER_ID", "IS_ADMIN",
            "APP_OPTIONS", "USER_OPTIONS", "PLACEMENT", "PLACEMENT_OPTIONS", "INSTALL", "FIRST_RUN"} <= set(init)
    assert (init["PLACEMENT"], init["IS_ADMIN"], init["MEMBER_ID"]) == ("DEFAULT", True, portal.member_id)
    assert init["me"] == "1"  # the JSON POST from the frame passed the CORS preflight


def test_open_page_refuses_what_a_portal_would_not_show(portal: RunningBitrix24, app_site: AppSite) -> None:
    app = hook(portal, "apps", {"handler_url": f"{app_site.url}/app", "install_url": f"{app_site.url}/i"})
    employee = hook(portal, "users", {"NAME": "Анна", "EMAIL": "anna@example.org", "UF_DEPARTMENT": [1]})["ID"]
    not_installed = requests.get(_portal_page(portal, client_id=app["client_id"], user_id=employee), timeout=10)
    assert not_installed.status_code == 403  # app-info.md: only administrators see an app before installFinish
    no_tab = requests.get(_portal_page(portal, client_id=app["client_id"], user_id=1,
                                       placement="SONET_GROUP_DETAIL_TAB"), timeout=10)
    assert no_tab.status_code == 404
    index = requests.get(portal.url + "/", timeout=10)
    assert index.status_code == 200 and app["client_id"] in index.text and "/_emulator/open?" in index.text


INSTALL_AND_SLIDER_PAGE = """<!doctype html><html><head><meta charset="utf-8"><script src="%(shim)s"></script></head>
<body><pre id="out"></pre><script>
BX24.init(function () {
  var info = BX24.placement.info();
  if (info.options.action === "settings") { document.getElementById("out").textContent = "slider"; return; }
  BX24.installFinish();
  BX24.openApplication({action: "settings"}, function () {});
  document.getElementById("out").textContent = "main";
});
</script></body></html>"""


def test_install_finish_and_slider_from_the_frame(portal: RunningBitrix24, app_site: AppSite, chromium: Any) -> None:
    app = hook(portal, "apps", {"handler_url": f"{app_site.url}/app", "install_url": f"{app_site.url}/install"})
    app_site.page = INSTALL_AND_SLIDER_PAGE % {
        "shim": f"{portal.url.replace('127.0.0.1', 'localhost')}/bitrix/js/rest/bx24.js"}
    page = chromium.new_page()
    page.goto(_portal_page(portal, client_id=app["client_id"], user_id=1))  # an admin sees it before install
    page.frame_locator("#slider-frame").locator("#out").filter(has_text="slider").wait_for()
    installed = lambda: [row["installed"] for row in hook(portal, "apps", http_method="GET")]  # noqa: E731
    assert wait_for(lambda: installed() == [True])  # setInstallFinish reached the portal
    slider_post = app_site.posts[-1]
    assert json.loads(slider_post["form"]["PLACEMENT_OPTIONS"]) == {"action": "settings"}
    assert slider_post["form"]["PLACEMENT"] == "DEFAULT"
    commands = [message["command"] for message in page.evaluate("window.portalMessages")]
    assert "setInstallFinish" in commands and "openApplication" in commands
