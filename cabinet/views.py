"""The frame home: the cabinet's single page with its boot data (session token, start page)."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, current_app, render_template, url_for

from b24app.frames import FrameSession, get_sessions
from b24app.portal import get_store
from cabinet import data
from cabinet.roles import start_page

STATIC_DIR = Path(__file__).resolve().parent / "static"
MANIFEST = STATIC_DIR / ".vite" / "manifest.json"
ENTRY = "src/main.js"

bp = Blueprint("cabinet", __name__, url_prefix="/cabinet", static_folder="static", template_folder="templates")


@lru_cache(maxsize=1)
def assets() -> dict[str, Any]:
    """The built entry script and its stylesheets (Vite's manifest, committed with the build)."""
    entry = json.loads(MANIFEST.read_text(encoding="utf-8"))[ENTRY]
    return {"script": entry["file"], "styles": list(entry.get("css", ()))}


def home(session: FrameSession) -> str:
    """Render the page for a proven frame session; it starts where the placement points."""
    roles = data.roles(current_app, session.viewer)
    boot = {"token": session.token, "expires_in": session.expires_in,
            "renew_url": url_for("frames.renew"), "api": url_for("cabinet_api.me").rsplit("/", 1)[0],
            "start": start_page(roles, session.placement, dict(session.options)),
            "portal": _portal_origin(session.viewer.member_id)}
    return render_template("cabinet/frame.html", boot=boot, assets=assets())


def _portal_origin(member_id: str) -> str:
    """The portal's origin (for opening its own forms), from the stored REST endpoint."""
    installation = get_store(current_app).find(member_id=member_id)
    if installation is None:
        return ""
    parts = urlsplit(installation.client_endpoint)
    return f"{parts.scheme}://{parts.netloc}"
