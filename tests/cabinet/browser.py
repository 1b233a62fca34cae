"""Real Chromium for page tests: Debian's /usr/bin/chromium driven by Playwright (no browser download),
with third-party cookies blocked the way a user blocks them (the profile setting), desktop and phone.

The app is opened through the emulated portal's own page on ``localhost`` (``/_emulator/open``): it
POSTs the frame form into an iframe to the app on ``127.0.0.1`` — another site, so the app is
third-party content there, as in a real portal.

Chromium runs on the machine's own clock even when the tests run under faketime (CI's year-end pass):
under libfaketime one navigation takes Chromium some 18 seconds, and the pages take every date from the
server's clock anyway, as a user's browser whose clock differs from the server's would.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from playwright.sync_api import Frame, Page
from werkzeug.serving import make_server
from werkzeug.wrappers import Response

from b24app.frames import EXTRA_ANCESTORS_KEY

if TYPE_CHECKING:
    from tests.cabinet.stack import CabinetStack

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[1] / "output" / "screenshots"
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
PHONE_DEVICE = "Pixel 7"
NARROW_PHONE = 375


def chromium_profile(folder: Path, *, block_third_party_cookies: bool) -> Path:
    """A Chromium profile whose settings block (or allow) third-party cookies."""
    (folder / "Default").mkdir(parents=True, exist_ok=True)
    prefs = {"profile": {"block_third_party_cookies": block_third_party_cookies,
                         "cookie_controls_mode": 1 if block_third_party_cookies else 0}}
    (folder / "Default" / "Preferences").write_text(json.dumps(prefs), encoding="utf-8")
    return folder


@contextmanager
def browser_context(playwright: Any, *, phone: bool = False, block_third_party_cookies: bool = True,
                    width: int | None = None) -> Iterator[Any]:
    """A persistent Chromium context (the profile holds the cookie setting) on a desktop or a phone; ``width``
    narrows the phone's screen (``NARROW_PHONE``: the 375 px of the most common small phones)."""
    folder = Path(tempfile.mkdtemp(prefix="cabinet-chromium-"))
    options = dict(playwright.devices[PHONE_DEVICE]) if phone else dict(DESKTOP)
    options.pop("default_browser_type", None)
    if phone and width:
        options["viewport"] = {"width": width, "height": options["viewport"]["height"]}
        options["screen"] = {"width": width, "height": options["viewport"]["height"]}
    context = playwright.chromium.launch_persistent_context(
        str(chromium_profile(folder, block_third_party_cookies=block_third_party_cookies)),
        executable_path=str(CHROMIUM), headless=True, locale="ru-RU", env=real_clock_environment(), **options)
    try:
        yield context
    finally:
        context.close()
        shutil.rmtree(folder, ignore_errors=True)


def real_clock_environment() -> dict[str, str]:
    """This process's environment without libfaketime (see the module's docstring)."""
    return {key: value for key, value in os.environ.items()
            if not key.startswith("FAKETIME") and not (key == "LD_PRELOAD" and "faketime" in value)}


class Served:
    """A WSGI callable served on 127.0.0.1 in a background thread."""

    def __init__(self, wsgi: Callable, host_name: str = "127.0.0.1") -> None:
        self.server = make_server("127.0.0.1", 0, wsgi, threaded=True)
        self.url = f"http://{host_name}:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(5)


def cookie_setter(environ: dict, start_response: Callable) -> Any:
    """A page on the app's host (127.0.0.1, cookies ignore the port) that sets a cookie, as a cookie session would."""
    response = Response("<p id=done>cookie sent</p>", content_type="text/html; charset=utf-8")
    response.set_cookie("probe", "1", samesite="None", secure=True)
    return response(environ, start_response)


def portal_page(stack: CabinetStack) -> str:
    """The emulated portal's own page, opened on ``localhost``: the app on 127.0.0.1 is another site there."""
    url = stack.install.portal.url.replace("//127.0.0.1:", "//localhost:")
    stack.app.config[EXTRA_ANCESTORS_KEY] = [url]  # the portal answers on both names; frames allow this one too
    return url


PHONE_WIDTH = 600
FULL_WIDTH_FRAME = ("#app-frame { position: absolute !important; left: 0; top: 0; width: 100vw !important;"
                    " z-index: 100; }")
PHONE_VIEWPORT = ("() => { const meta = document.createElement('meta'); meta.name = 'viewport';"
                  " meta.content = 'width=device-width, initial-scale=1'; document.head.appendChild(meta); }")


def open_app(page: Page, portal: str, stack: CabinetStack, user_id: int, placement: str = "DEFAULT",
             options: dict | None = None) -> Frame:
    """Open the app in the portal as ``user_id``, the way the portal does; the app's frame once drawn."""
    query = urlencode({"user_id": user_id, "client_id": stack.install.client_id, "placement": placement,
                       "options": json.dumps(options or {})})
    with page.expect_event("framenavigated", predicate=lambda f: "/b24/app" in f.url) as navigated:
        page.goto(f"{portal}/_emulator/open?{query}")
        if page.viewport_size["width"] < PHONE_WIDTH:  # the mobile app shows an app full-width, not in a desktop page
            page.add_style_tag(content=FULL_WIDTH_FRAME)
            page.evaluate(PHONE_VIEWPORT)
    frame = navigated.value
    frame.wait_for_selector("[data-test=title]")
    return frame


NEXT_PAINT = "() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(() => done(true))))"


def settle(frame: Frame) -> None:
    """Wait until no card shows a skeleton and the portal has fitted its frame to the content: the page
    asks it with BX24.fitWindow whenever its size changes."""
    frame.wait_for_function("() => !document.querySelector('.animate-pulse')")
    frame.wait_for_function(NEXT_PAINT)
    height = frame.evaluate("() => document.documentElement.scrollHeight")
    frame.page.wait_for_function("height => Math.abs(parseFloat(document.getElementById('app-frame').style.height)"
                                 " - height) <= 2", arg=height)


def shoot(page: Page, name: str, *, phone: bool) -> None:
    """The portal page on a desktop; on a phone the app's frame alone, as the Bitrix24 mobile app shows
    an app full-screen. The viewport grows to the page first: Chromium paints a cross-site frame only
    inside the viewport (a capture beyond it comes out blank)."""
    height = page.evaluate("() => document.documentElement.scrollHeight")
    page.set_viewport_size({"width": page.viewport_size["width"], "height": height})
    page.evaluate(NEXT_PAINT)
    next(f for f in page.frames if "/b24/app" in f.url).wait_for_function(NEXT_PAINT)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = str(SCREENSHOTS / f"{name}-{'phone' if phone else 'desktop'}.png")
    if phone:
        page.locator("#app-frame").screenshot(path=path)
    else:
        page.screenshot(path=path)


OVERFLOWING = """() => {
  const width = document.documentElement.clientWidth
  const shown = [...document.querySelectorAll('button, a, [data-slot=labelInner]')].filter((el) => el.offsetParent)
  return {
    page: document.documentElement.scrollWidth - width,
    out: shown.filter((el) => el.getBoundingClientRect().right > width + 0.5 || el.getBoundingClientRect().left < -0.5)
      .map((el) => el.innerText.trim()),
    clipped: shown.filter((el) => el.scrollWidth > el.clientWidth + 1).map((el) => el.innerText.trim())
  }
}"""


def overflowing(frame: Frame) -> dict[str, Any]:
    """What does not fit the frame's width: the page's horizontal overflow in px, buttons and links that run
    past the edge, and labels cut short (text wider than its box)."""
    return frame.evaluate(OVERFLOWING)
