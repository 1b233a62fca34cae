"""Pages shown inside the portal's iframe (placement DEFAULT and REST_APP_URI)."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template, request

from b24app.portal import get_store
from handlers.formparse import MalformedBody, parse_body

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
    member_id = form.get("member_id")
    token = form.get("APPLICATION_TOKEN")
    store = get_store(current_app)
    if not isinstance(member_id, str) or not isinstance(token, str) or not store.application_token_matches(
            member_id=member_id, application_token=token):
        return render_template("app.html", installation=None,
                               message="Откройте приложение из меню Битрикс24."), 401
    installation = store.find(member_id=member_id)
    return render_template("app.html", installation=installation,
                           status_text=STATUS_TEXT.get(installation.status, installation.status))
