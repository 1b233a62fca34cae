"""The cabinet's JSON API for the frame page: one endpoint per page part, each checking its role.

Every view runs with a proven frame session (``viewer_required``) and asks :class:`~cabinet.roles.Roles`
before reading anything: data outside the viewer's roles is refused with 403 and a body that says
only that. Parts read from the portal or 1C (requests, approvals, vacation balance) are their own
endpoints, so a slow system delays one card, not the page.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from flask import Blueprint, Response, abort, current_app, jsonify, request

from b24app.bitrix import B24Client
from b24app.bitrix.errors import B24Error
from b24app.frames import current_viewer, viewer_required
from b24app.portal import client_for
from bizproc_templates.acts import ActsList, NotWaiting
from cabinet import data, files, regulations, slots
from cabinet.acting import client_as_viewer
from cabinet.files import FileUnavailable
from cabinet.roles import Roles
from cabinet.sources import Person, Site
from onec.errors import OneCError
from sync_jobs.errors import SyncError

log = logging.getLogger(__name__)

bp = Blueprint("cabinet_api", __name__, url_prefix="/cabinet/api")

REFUSED = {"error": "forbidden", "message": "Нет доступа."}


@bp.after_request
def no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.errorhandler(403)
def forbidden(_error: Exception) -> tuple[Response, int]:
    return jsonify(REFUSED), 403


def _roles() -> Roles:
    return data.roles(current_app, current_viewer())


def _require(allowed: bool) -> None:
    if not allowed:
        abort(403)


@bp.get("/me")
@viewer_required
def me():  # type: ignore[no-untyped-def]
    viewer, roles = current_viewer(), _roles()
    return jsonify({"user_id": viewer.user_id, "name": viewer.name, "roles": roles.names, "pages": roles.pages})


# -- the employee's cabinet ----------------------------------------------------------------------

@bp.get("/cabinet")
@viewer_required
def cabinet():  # type: ignore[no-untyped-def]
    roles = _roles()
    _require(roles.employee is not None)
    person = roles.employee
    managers = data.managers_of_person(current_app, person, current_viewer().member_id)
    return jsonify({"person": _person(person), "managers": managers,
                    "request_forms": data.request_forms(current_app, current_viewer().member_id),
                    "timesheets": slots.fill(current_app, "employee_timesheets", user_id=roles.user_id)})


@bp.get("/cabinet/onec")
@viewer_required
def onec_card():  # type: ignore[no-untyped-def]
    """What only 1C knows now: today's vacation balance and the hire dates."""
    roles = _roles()
    _require(roles.employee is not None)
    return _from_onec(data.onec_card(current_app, roles.employee))


@bp.get("/cabinet/documents")
@viewer_required
def documents_of_employee():  # type: ignore[no-untyped-def]
    """The request documents 1C holds for the employee: what HR made of their requests, or made themselves."""
    roles = _roles()
    _require(roles.employee is not None)
    return _from_onec(data.onec_documents(current_app, roles.employee, _attached(roles.user_id)))


@bp.get("/cabinet/documents/<ref>/file")
@viewer_required
def certificate_file(ref: str):  # type: ignore[no-untyped-def]
    """The file 1C printed for one of the employee's certificates."""
    roles = _roles()
    _require(roles.employee is not None)
    client = client_for(current_app, current_viewer().member_id)
    try:
        found = data.certificate_file(current_app, roles.employee, ref, _attached(roles.user_id),
                                      lambda file_id: files.drive_file(client, file_id))
    except FileUnavailable as refused:
        return _refused(str(refused), refused.status)
    except (B24Error, LookupError) as exc:
        log.warning("cabinet: certificate not read from the portal: %s", getattr(exc, "code", type(exc).__name__))
        return _refused(PORTAL_DOWN, 503)
    return files.send(found) if found is not None else _refused(ONEC_DOWN, 503)


def _attached(user_id: int) -> Callable[[], data.Attached]:
    """The certificates attached to the employee's requests in Bitrix24, read when asked; none if the portal
    does not answer (the card then says where else to get them)."""
    member_id = current_viewer().member_id

    def read() -> data.Attached:
        try:
            return data.attached_certificates(current_app, client_for(current_app, member_id), member_id, user_id)
        except (B24Error, LookupError) as exc:
            log.warning("cabinet: attached certificates not read: %s", getattr(exc, "code", type(exc).__name__))
            return {}
    return read


# -- local regulations ---------------------------------------------------------------------------

@bp.get("/cabinet/regulations")
@viewer_required
def regulations_of_employee():  # type: ignore[no-untyped-def]
    """The acts published to the employee for acknowledgement, with their state."""
    roles = _roles()
    _require(roles.employee is not None)
    if not regulations.set_up(current_app, current_viewer().member_id):
        return jsonify({"available": False, "message": "Ознакомление с локальными актами на портале ещё не настроено."})
    return _from_portal(lambda client: {"acts": regulations.acts_of(client, roles.user_id)})


@bp.get("/cabinet/regulations/<int:element_id>/file")
@viewer_required
def regulation_file(element_id: int):  # type: ignore[no-untyped-def]
    """The act's file from Drive, read with the app's token: the act was published to this employee."""
    roles = _roles()
    _require(roles.employee is not None)
    try:
        return files.send(regulations.act_file(client_for(current_app, current_viewer().member_id),
                                               roles.user_id, element_id))
    except FileUnavailable as refused:
        return _refused(str(refused), refused.status)
    except (B24Error, LookupError) as exc:
        log.warning("cabinet: act file not read: %s", getattr(exc, "code", type(exc).__name__))
        return _refused(PORTAL_DOWN, 503)


@bp.post("/cabinet/regulations/<int:element_id>/acknowledge")
@viewer_required
def acknowledge_regulation(element_id: int):  # type: ignore[no-untyped-def]
    """«Ознакомлен(а)»: the employee's own review task completed with their own token
    ({"auth_id": <the portal's current AUTH_ID>})."""
    roles, proven = _roles(), current_viewer()
    _require(roles.employee is not None)
    body = request.get_json(silent=True)
    as_employee = client_as_viewer(current_app, proven, body.get("auth_id") if isinstance(body, dict) else None)
    _require(as_employee is not None)
    try:
        acts = ActsList(client_for(current_app, proven.member_id))
        act = regulations.act_of(acts, roles.user_id, element_id)
        if act is None:
            return _refused(regulations.NOT_YOURS, 404)
        if not act.acknowledged:
            acts.acknowledge(as_employee, roles.user_id, element_id)
            act = regulations.act_of(acts, roles.user_id, element_id) or act  # the date, once the workflow wrote it
    except NotWaiting:
        return _refused("Документ ещё готовится к ознакомлению: попробуйте через минуту.", 409)
    except (B24Error, LookupError) as exc:
        log.warning("cabinet: acknowledgement not sent: %s", getattr(exc, "code", type(exc).__name__))
        return _refused(PORTAL_DOWN, 503)
    return jsonify({"acknowledged": True, "acknowledged_at": regulations.iso_date(act.acknowledged_at)})


ONEC_DOWN = "1С:ЗУП сейчас не отвечает, попробуйте позже."
PORTAL_DOWN = "Битрикс24 сейчас не ответил, попробуйте позже."


def _from_onec(found: dict[str, Any] | None) -> Response:
    """What 1C answered, or that it is not answering now (None)."""
    if found is None:
        return jsonify({"available": False, "message": ONEC_DOWN})
    return jsonify({"available": True, **found})


def _refused(message: str, status: int) -> tuple[Response, int]:
    return jsonify({"error": "refused", "message": message}), status


@bp.get("/cabinet/requests")
@viewer_required
def requests_of_employee():  # type: ignore[no-untyped-def]
    roles = _roles()
    _require(roles.employee is not None)
    return _from_portal(lambda client: data.requests_of(client, roles.user_id))


# -- sites: client managers and brigade leaders --------------------------------------------------

@bp.get("/sites")
@viewer_required
def sites():  # type: ignore[no-untyped-def]
    roles = _roles()
    visible = [site for site in data.directory(current_app).sites() if roles.may_see_site(site.group_id)]
    _require(bool(visible))
    return jsonify({"sites": [_site(site, roles) for site in visible]})


@bp.get("/sites/<int:group_id>")
@viewer_required
def site(group_id: int):  # type: ignore[no-untyped-def]
    roles = _roles()
    _require(roles.may_see_site(group_id))
    directory = data.directory(current_app)
    found = directory.site(group_id)
    _require(found is not None)
    people = directory.people_of_site(found)
    return jsonify({"site": _site(found, roles), "people": [_member(p, found) for p in people],
                    "contacts": data.contacts(current_app, directory.managers_of(found.department_ref),
                                              current_viewer().member_id)})


@bp.get("/sites/<int:group_id>/approvals")
@viewer_required
def approvals(group_id: int):  # type: ignore[no-untyped-def]
    roles = _roles()
    _require(roles.may_see_site(group_id))
    return _from_portal(lambda client: {
        **data.approvals_of(client, roles.user_id),
        "timesheets": slots.fill(current_app, "timesheets_to_approve", user_id=roles.user_id, group_id=group_id)})


# -- the provider's view ---------------------------------------------------------------------------

@bp.get("/provider")
@viewer_required
def provider():  # type: ignore[no-untyped-def]
    roles = _roles()
    _require("provider" in roles.pages)
    directory = data.directory(current_app)
    people = {site: directory.people_of_site(site) for site in roles.provider_scope(directory.sites())}
    everyone = {person.ref: person for site_people in people.values() for person in site_people}
    return jsonify({"legal_entities": _entities(people), "onboarding": _onboarding(everyone.values()),
                    "outreach": slots.fill(current_app, "onboarding_outreach", person_refs=sorted(everyone)),
                    "last_sync": data.last_sync(current_app)})


# -- the admin console -----------------------------------------------------------------------------

@bp.get("/admin")
@viewer_required
def admin():  # type: ignore[no-untyped-def]
    _require(_roles().admin)
    return jsonify(data.admin_console(current_app, current_viewer().member_id))


@bp.post("/admin/sync/plan")
@viewer_required
def sync_plan():  # type: ignore[no-untyped-def]
    _require(_roles().admin)
    try:
        return jsonify({"available": True, **data.sync_plan(current_app)})
    except (SyncError, OneCError) as exc:
        return jsonify({"available": False, "message": f"План не построен: {exc}"})


@bp.post("/admin/sync/run")
@viewer_required
def sync_run():  # type: ignore[no-untyped-def]
    _require(_roles().admin)
    data.start_sync(current_app._get_current_object())  # type: ignore[attr-defined]  # the thread outlives the request
    return jsonify({"started": True}), 202


@bp.post("/admin/templates")
@viewer_required
def templates():  # type: ignore[no-untyped-def]
    _require(_roles().admin)
    return _from_portal(lambda client: {"objects": data.templates_status(current_app, client,
                                                                         current_viewer().member_id)})


@bp.post("/admin/inbox/<int:item_id>/retry")
@viewer_required
def retry_inbox_item(item_id: int):  # type: ignore[no-untyped-def]
    _require(_roles().admin)
    return jsonify({"retried": data.retry_inbox_item(current_app, item_id)})


# -- shapes ------------------------------------------------------------------------------------------

def _from_portal(read: Callable[[B24Client], dict[str, Any]]) -> Response:
    """One card's data read from Bitrix24 with the app's token; a portal that fails leaves the card empty."""
    try:
        return jsonify({"available": True, **read(client_for(current_app, current_viewer().member_id))})
    except (B24Error, LookupError) as exc:
        log.warning("cabinet: portal read failed: %s", getattr(exc, "code", type(exc).__name__))
        return jsonify({"available": False, "message": PORTAL_DOWN})


def _person(person: Person) -> dict[str, Any]:
    return {"name": person.name, "employments": [
        {"legal_entity": e.legal_entity, "department": e.department, "group_id": e.group_id, "position": e.position,
         "department_ref": e.department_ref, "personnel_number": e.personnel_number} for e in person.employments]}


def _site(site: Site, roles: Roles) -> dict[str, Any]:
    as_role = [name for name, held in (("client_manager", site.group_id in roles.client_sites),
                                       ("brigade_leader", site.group_id in roles.brigade_sites),
                                       ("provider_manager", site.group_id in roles.provider_sites)) if held]
    return {"group_id": site.group_id, "name": site.name, "legal_entity": site.legal_entity, "as": as_role}


def _member(person: Person, site: Site) -> dict[str, Any]:
    here = [e for e in person.employments if e.group_id == site.group_id]
    first = here[0] if here else None
    return {"name": person.name, "user_id": person.user_id, "position": first.position if first else "",
            "personnel_number": first.personnel_number if first else ""}


def _entities(people: dict[Site, list[Person]]) -> list[dict[str, Any]]:
    entities: dict[str, dict[str, Any]] = {}
    for site, site_people in people.items():
        entity = entities.setdefault(site.legal_entity_ref, {"name": site.legal_entity, "departments": []})
        entity["departments"].append({"group_id": site.group_id, "name": site.name, "people": len(site_people)})
    return sorted(entities.values(), key=lambda e: e["name"])


def _onboarding(people: Iterable[Person]) -> dict[str, Any]:
    people = list(people)
    no_email = [p.name for p in people if not p.has_email]
    not_invited = [p.name for p in people if p.user_id is None and p.has_email]
    by_name: dict[str, int] = {}
    for person in people:
        by_name[person.name] = by_name.get(person.name, 0) + 1
    return {"people": len(people), "invited": sum(1 for p in people if p.user_id is not None),
            "no_email": sorted(no_email), "not_invited": sorted(not_invited),
            "duplicates": sorted(name for name, count in by_name.items() if count > 1)}
