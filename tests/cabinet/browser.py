"""Real Chromium for page tests: Debian's /usr/bin/chromium driven by Playwright (no browser download),
with third-party cookies blocked the way a user blocks them (the profile setting), desktop and phone.

The app is opened through the emulated portal's own page on ``localhost`` (``/_emulator/open``): it
POSTs the frame form into an iframe to the app on ``127.0.0.1`` — another site, so the app is
third-party content there, as in a real portal.
"""
from __future__ import annotations

import json
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from werkzeug.serving import make_server
from werkzeug.wrappers import Response

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[1] / "output" / "screenshots"
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
PHONE_DEVICE = "Pixel 7"


def chromium_profile(folder: Path, *, block_third_party_cookies: bool) -> Path:
    """A Chromium profile whose settings block (or allow) third-party cookies."""
    (folder / "Default").mkdir(parents=True, exist_ok=True)
    prefs = {"profile": {"block_third_party_cookies": block_third_party_cookies,
                         "cookie_controls_mode": 1 if block_third_party_cookies else 0}}
    (folder / "Default" / "Preferences").write_text(json.dumps(prefs), encoding="utf-8")
    return folder


@contextmanager
def browser_context(playwright: Any, *, phone: bool = False, block_third_party_cookies: bool = True) -> Iterator[Any]:
    """A persistent Chromium context (the profile holds the cookie setting) on a desktop or a phone."""
    folder = Path(tempfile.mkdtemp(prefix="cabinet-chromium-"))
    options = dict(playwright.devices[PHONE_DEVICE]) if phone else dict(DESKTOP)
    options.pop("default_browser_type", None)
    context = playwright.chromium.launch_persistent_context(
        str(chromium_profile(folder, block_third_party_cookies=block_third_party_cookies)),
        executable_path=str(CHROMIUM), headless=True, locale="ru-RU", **options)
    try:
        yield context
    finally:
        context.close()
        shutil.rmtree(folder, ignore_errors=True)


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
