"""Pages shown inside the portal's iframe (placement DEFAULT and REST_APP_URI)."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, render_template, request

from b24app.formparse import MalformedBody, parse_body
from b24app.portal import get_store
from b24app.store import Installation
from b24app.verify import get_verifier

bp = Blueprint("pages", __name__, url_prefix="/b24")

STATUS_TEXT = {
    "installing": "установка не завершена (откройте приложение администратором)",
    "installed": "установлено",
    "uninstalled": "удалено",
}


@bp.route("/app", methods=["GET", "POST"])
def app_page():  # type: ignore[no-untyped-def]
    """The app's main page; Bitrix24 opens it with a POST carrying the viewer's tokens."""
    try:
        form = parse_body(request.get_data(cache=False), request.content_type) if request.method == "POST" else {}
    except MalformedBody:
        form = {}
    installation = _verified_installation(form)
    if installation is None:
        return render_template("app.html", installation=None,
                               message="Откройте приложение из меню Битрикс24."), 401
    return render_template("app.html", installation=installation,
                           status_text=STATUS_TEXT.get(installation.status, installation.status))


def _verified_installation(form: dict[str, Any]) -> Installation | None:
    """The installation the frame POST belongs to, if it proves it.

    Newer portals send APPLICATION_TOKEN; older ones only the viewer's AUTH_ID, which the verifier
    proves on the portal we stored for that member_id.
    """
    member_id = form.get("member_id")
    if not isinstance(member_id, str) or not member_id:
        return None
    store = get_store(current_app)
    installation = store.find(member_id=member_id)
    if installation is None or installation.status == "uninstalled":
        return None
    token, auth_id = form.get("APPLICATION_TOKEN"), form.get("AUTH_ID")
    if isinstance(token, str) and token:
        return installation if store.application_token_matches(member_id=member_id, application_token=token) else None
    if isinstance(auth_id, str) and auth_id and get_verifier(current_app).viewer(form) is not None:
        return installation
    return None
