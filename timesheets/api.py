"""The timesheets' JSON API for the frame pages: the grid, submitting, the approval view, summaries.

Every view runs with a proven frame session (``b24app.frames.viewer_required``) and checks the
viewer's roles (``timesheets.access``) before reading or writing anything: another role's timesheet
is refused with 403 and a body that says only that. Cell saves name the version they were typed over:
a stale one gets 409 with what the cell holds now, a bad value 400 with the Russian reason, and
nothing of a refused batch is written. Completing approval tasks needs the approver's own token
(only the assignee may complete a task): the page sends its current AUTH_ID, which must prove the
same portal user as the session.
"""
from __future__ import annotations

import datetime as dt
import io
import logging
from typing import Any

from flask import Blueprint, Response, abort, current_app, jsonify, request, send_file
from sqlalchemy import select

from b24app.bitrix.errors import B24Error
from b24app.db import get_db
from b24app.frames import current_viewer, viewer_required
from b24app.portal import client_for
from cabinet.acting import client_as_viewer
from cabinet.settings import brigade_leaders
from sync_jobs.directory import Directory, directory
from timesheets.access import Viewer, can_edit, viewer_of, visible
from timesheets.approval import (ApprovalError, Decision, complete_tasks, open_tasks, process_list, start_workflows,
                                 submit)
from timesheets.codes import all_codes
from timesheets.exports.t13 import t13_of_department
from timesheets.jobs import clock_of, refresh_outcomes, settings_of
from timesheets.models import Timesheet
from timesheets.roster import directory_approvers
from timesheets.sheets import (STATUS_TITLES, BadCell, CellEdit, CellState, Conflict, NotEditable, TimesheetError,
                               cells, edit_cells, first_of_month)
from timesheets.summaries import brigade_departments, load_summary, render_summary

log = logging.getLogger(__name__)

bp = Blueprint("timesheets_api", __name__, url_prefix="/timesheets/api")

REFUSED = {"error": "forbidden", "message": "Нет доступа."}
MAX_EDITS = 2000  # one paste of a week across a big brigade


@bp.after_request
def no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.errorhandler(403)
def forbidden(_error: Exception) -> tuple[Response, int]:
    return jsonify(REFUSED), 403


def _viewer() -> Viewer:
    proven = current_viewer()
    return viewer_of(current_app, proven.user_id, settings_of(current_app), admin=proven.is_admin)


def _bad(message: str, status: int = 400, **extra: Any) -> tuple[Response, int]:
    return jsonify({"error": "refused", "message": message, **extra}), status


def _month(text: str | None) -> dt.date | None:
    try:
        return first_of_month(dt.datetime.strptime(text or "", "%Y-%m").date())
    except ValueError:
        return None


BAD_MONTH = "месяц в виде ГГГГ-ММ, например 2026-12"


def _requested_month() -> dt.date:
    """``?month=YYYY-MM`` of the request, or a 400 that says how to write it."""
    month = _month(request.args.get("month"))
    if month is None:
        response, status = _bad(BAD_MONTH)
        response.status_code = status
        abort(response)
    return month


def _sheet_row(timesheet: Timesheet) -> dict[str, Any]:
    return {"id": timesheet.id, "name": timesheet.employee_name, "personnel_number": timesheet.personnel_number,
            "position": timesheet.position, "site": timesheet.site_name, "department_ref": timesheet.department_ref,
            "group_id": timesheet.group_id, "month": f"{timesheet.period_start:%Y-%m}",
            "status": timesheet.status, "status_title": STATUS_TITLES[timesheet.status],
            "revision": timesheet.revision, "return_comment": timesheet.return_comment,
            "onec_number": timesheet.onec_number}


def _cell(state: CellState) -> dict[str, Any]:
    return {"day": state.day, "text": state.text, "version": state.version, "planned": state.planned}


@bp.get("/me")
@viewer_required
def me():  # type: ignore[no-untyped-def]
    """What the pages offer the viewer: the month to open, the sites of each role, the brigades, the codes."""
    viewer, app = _viewer(), current_app._get_current_object()  # type: ignore[attr-defined]
    people = directory(app)
    roles = {"brigade_leader": viewer.brigades, "client_manager": viewer.client_sites,
             "provider_manager": viewer.provider_sites}
    sites = []
    for ref in sorted(_sites_of(viewer)):
        site = people.site_of_department(ref)
        sites.append({"ref": ref, "group_id": site.group_id if site else None, "name": site.name if site else ref,
                      "as": [role for role, refs in roles.items() if ref in refs]})
    sites.sort(key=lambda site: site["name"])
    return jsonify({"month": f"{clock_of(app)().date():%Y-%m}", "user_id": viewer.user_id,
                    "roles": [role for role, refs in roles.items() if refs] + (["employee"] if viewer.person_ref else []),
                    "sites": sites, "brigades": _brigades(viewer, people),
                    "codes": [{"letter": code.letter, "name": code.name, "hours": code.hours}
                              for code in all_codes().values()]})


def _sites_of(viewer: Viewer) -> frozenset[str]:
    """The sites whose timesheets the viewer sees as a brigade leader or a manager."""
    return viewer.brigades | viewer.client_sites | viewer.provider_sites


def _brigades(viewer: Viewer, people: Directory) -> list[dict[str, Any]]:
    """The brigades (``cabinet.brigade_leaders``) whose every site the viewer sees, named by their leader."""
    leaders = brigade_leaders(current_app)
    brigades = []
    for leader in sorted({user for users in leaders.values() for user in users}):
        refs = brigade_departments(leaders, leader)
        if not set(refs) <= _sites_of(viewer):
            continue
        person_ref = people.person_of_user(leader)
        person = people.person(person_ref) if person_ref else None
        name = "моя бригада" if leader == viewer.user_id else f"бригадир {person.name if person else f'№ {leader}'}"
        brigades.append({"leader": leader, "name": name, "sites": refs})
    return brigades


@bp.get("/sheets")
@viewer_required
def sheets():  # type: ignore[no-untyped-def]
    """The viewer's timesheets of a month, optionally of one site, with their cells."""
    viewer, month = _viewer(), _requested_month()
    refresh_outcomes(current_app, Timesheet.period_start == month, visible(viewer))
    statement = select(Timesheet).where(Timesheet.period_start == month, visible(viewer))
    if request.args.get("site"):
        statement = statement.where(Timesheet.department_ref == request.args["site"].lower())
    with get_db(current_app).read_session() as session:
        rows = list(session.scalars(statement.order_by(Timesheet.site_name, Timesheet.employee_name)))
        body = [{**_sheet_row(ts), "editable": can_edit(viewer, ts) and ts.status in ("draft", "returned"),
                 "cells": [_cell(state) for state in cells(session, ts.id)]} for ts in rows]
    return jsonify({"month": f"{month:%Y-%m}", "sheets": body})


@bp.post("/cells")
@viewer_required
def save_cells():  # type: ignore[no-untyped-def]
    """Save typed cells all or none: {"edits": [{"timesheet_id", "day", "text", "version"}]}."""
    edits = _edits(request.get_json(silent=True))
    if edits is None:
        return _bad(f"ожидается {{\"edits\": [...]}} — не больше {MAX_EDITS} ячеек с timesheet_id, day, text, version")
    viewer, db = _viewer(), get_db(current_app)
    with db.read_session() as session:
        owned = {ts.id: ts for ts in session.scalars(select(Timesheet).where(
            Timesheet.id.in_({edit.timesheet_id for edit in edits})))}
    if len(owned) != len({edit.timesheet_id for edit in edits}) or not all(can_edit(viewer, ts) for ts in owned.values()):
        abort(403)
    try:
        with db.session() as session:
            saved = edit_cells(session, edits, viewer.user_id, clock_of(current_app)())
    except Conflict as conflict:
        return _bad(str(conflict), 409, current={"timesheet_id": conflict.current.timesheet_id,
                                                 **_cell(conflict.current)})
    except BadCell as error:
        return _bad(str(error), 400, timesheet_id=error.timesheet_id, day=error.day)
    except NotEditable as error:
        return _bad(str(error), 409)
    return jsonify({"saved": [{"timesheet_id": state.timesheet_id, **_cell(state)} for state in saved]})


def _edits(body: Any) -> list[CellEdit] | None:
    raw = body.get("edits") if isinstance(body, dict) else None
    if not isinstance(raw, list) or not 0 < len(raw) <= MAX_EDITS:
        return None
    try:
        return [CellEdit(int(item["timesheet_id"]), int(item["day"]), str(item["text"]), int(item["version"]))
                for item in raw]
    except (KeyError, TypeError, ValueError):
        return None


def _ids(body: Any) -> list[int] | None:
    raw = body.get("ids") if isinstance(body, dict) else None
    if not isinstance(raw, list) or not raw or not all(isinstance(i, int) and not isinstance(i, bool) for i in raw):
        return None
    return sorted(set(raw))


@bp.post("/submit")
@viewer_required
def submit_sheets():  # type: ignore[no-untyped-def]
    """Send timesheets for approval (all or none) and start their workflows: {"ids": [...]}."""
    ids = _ids(request.get_json(silent=True))
    if ids is None:
        return _bad("ожидается {\"ids\": [номера табелей]}")
    viewer, app = _viewer(), current_app._get_current_object()  # type: ignore[attr-defined]
    db = get_db(app)
    with db.read_session() as session:
        found = list(session.scalars(select(Timesheet).where(Timesheet.id.in_(ids))))
    if len(found) != len(ids) or not all(can_edit(viewer, ts) for ts in found):
        abort(403)
    approvers, now = directory_approvers(app), clock_of(app)()
    try:
        submit(db, ids, viewer.user_id, now, approvers)
    except TimesheetError as error:
        return _bad(str(error), 409)
    try:
        member_id = current_viewer().member_id
        admin = client_for(app, member_id)
        report = start_workflows(admin, db, process_list(admin, db, member_id), approvers, now)
    except (TimesheetError, B24Error) as error:  # submitted all the same: the approval job starts them later
        log.warning("timesheets: workflows not started at submission: %s", type(error).__name__)
        return jsonify({"submitted": ids, "started": [], "waiting": {ts_id: LATER for ts_id in ids}})
    return jsonify({"submitted": ids, "started": report.started, "waiting": report.waiting})


LATER = "Битрикс24 сейчас не ответил: согласование запустится автоматически в течение нескольких минут"
PORTAL_DOWN = "Битрикс24 сейчас не ответил, попробуйте позже."


@bp.get("/approvals")
@viewer_required
def approvals():  # type: ignore[no-untyped-def]
    """The viewer's waiting approval tasks (of one site: ?group=<workgroup id>) with the days that
    differ from the schedule."""
    app, proven = current_app._get_current_object(), current_viewer()  # type: ignore[attr-defined]
    group = request.args.get("group", type=int)
    db = get_db(app)
    refresh_outcomes(app, visible(_viewer()))  # the steps shown are the current ones, not the last job's
    try:
        admin = client_for(app, proven.member_id)
        tasks = open_tasks(admin, db, process_list(admin, db, proven.member_id), proven.user_id, group)
    except ApprovalError as error:
        return _bad(str(error), 409)
    except B24Error as error:
        log.warning("timesheets: approval tasks not read: %s", getattr(error, "code", type(error).__name__))
        return _bad(PORTAL_DOWN, 503)
    with db.read_session() as session:
        sheets = {ts.id: ts for ts in session.scalars(select(Timesheet).where(
            Timesheet.member_id == proven.member_id, Timesheet.id.in_([task.timesheet_id for task in tasks])))}
        body = [{"task_id": task.task_id, "step": task.step, **_sheet_row(sheets[task.timesheet_id]),
                 "cells": [_cell(state) for state in cells(session, task.timesheet_id)]}
                for task in tasks if task.timesheet_id in sheets]
    return jsonify({"tasks": body})


@bp.post("/approvals")
@viewer_required
def decide():  # type: ignore[no-untyped-def]
    """Approve or return many at once with the approver's own token:
    {"auth_id": <BX24.getAuth().access_token>, "decisions": [{"task_id", "approve", "comment"}]}."""
    body = request.get_json(silent=True) or {}
    app, proven = current_app._get_current_object(), current_viewer()  # type: ignore[attr-defined]
    decisions = _decisions(body)
    if decisions is None:
        return _bad("ожидается {\"auth_id\": ..., \"decisions\": [{\"task_id\", \"approve\", \"comment\"}]}")
    client = client_as_viewer(app, proven, body.get("auth_id"))
    if client is None:
        abort(403)
    try:
        report = complete_tasks(client, decisions)
    except ApprovalError as error:
        return _bad(str(error))
    except B24Error as error:
        log.warning("timesheets: approval tasks not completed: %s", getattr(error, "code", type(error).__name__))
        return _bad(PORTAL_DOWN, 503)
    return jsonify({"done": report.done, "failed": report.failed})


def _decisions(body: dict[str, Any]) -> list[Decision] | None:
    raw = body.get("decisions")
    if not isinstance(raw, list) or not raw:
        return None
    try:
        return [Decision(int(item["task_id"]), bool(item["approve"]), str(item.get("comment") or ""))
                for item in raw]
    except (KeyError, TypeError, ValueError):
        return None


@bp.get("/summary")
@viewer_required
def summary():  # type: ignore[no-untyped-def]
    """The summary of the sites the viewer may see, as an HTML fragment: ?site=<ref> for one site,
    ?leader=<user id> for one brigade (the sites that user leads), else all of them."""
    viewer, month = _viewer(), _requested_month()
    sites, leader = _sites_of(viewer), request.args.get("leader", type=int)
    if request.args.get("site"):
        ref = request.args["site"].lower()
        site = directory(current_app).site_of_department(ref) if ref in sites or viewer.admin else None
        wanted, title = {ref}, f"Сводный табель площадки «{site.name if site else ref}»"
    elif leader is not None:
        wanted, title = set(brigade_departments(brigade_leaders(current_app), leader)), "Сводный табель бригады"
    else:
        wanted, title = sites, "Сводный табель"
    if not wanted or not (wanted <= sites or viewer.admin):
        abort(403)
    refresh_outcomes(current_app, Timesheet.period_start == month, Timesheet.department_ref.in_(sorted(wanted)))
    with get_db(current_app).read_session() as session:
        html = render_summary(load_summary(session, viewer.member_id, title, month, sorted(wanted)))
    return jsonify({"html": html})


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.get("/t13")
@viewer_required
def t13():  # type: ignore[no-untyped-def]
    """The unified form T-13 of one site and month as XLSX: ?site=<ref>&month=YYYY-MM."""
    viewer, month = _viewer(), _requested_month()
    ref = (request.args.get("site") or "").lower()
    if not ref or not (ref in _sites_of(viewer) or viewer.admin):
        abort(403)
    out = io.BytesIO()
    try:
        with get_db(current_app).read_session() as session:
            t13_of_department(session, viewer.member_id, ref, month, out, clock_of(current_app)().date())
    except TimesheetError as error:
        return _bad(str(error), 404)
    out.seek(0)
    return send_file(out, mimetype=XLSX, as_attachment=True, download_name=f"T-13 {month:%Y-%m}.xlsx")

