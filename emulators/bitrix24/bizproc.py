"""Business processes (scope ``bizproc``): templates, app activities/robots, workflows, events, tasks.

Messages and codes follow REST docs: api-reference/bizproc/ and, where an older core differs from or goes beyond
them, core modules/bizproc/lib/restservice.php; the tree itself is executed by ``runtime.py``.
Test hooks live in ``HOOKS`` (mounted under ``/_emulator/bizproc/...``).
"""
from __future__ import annotations

import re
from typing import Any, Callable
from urllib.parse import urlparse

from . import bp_bpt, lists, registry, runtime
from .bp_activities import template_errors
from .bp_common import as_int, dict_param, now_iso, user_id_of
from .bp_state import (RUNNING, AppActivity, BizprocState, Task, Template, Workflow, app_activity_type,
                       bizproc_state)
from .listing import TEMPLATE_OPERATORS, Query, paginate, parse_condition, select_fields
from .phpcodec import upper_keys
from .registry import Call, ListPage, Portal, RestError, method

LIST_ENTITIES = ("BizprocDocument", "Bitrix\\Lists\\BizprocDocumentLists")
TEMPLATE_FIELDS = ("ID", "MODULE_ID", "ENTITY", "DOCUMENT_TYPE", "AUTO_EXECUTE", "NAME", "DESCRIPTION",
                   "TEMPLATE", "PARAMETERS", "VARIABLES", "CONSTANTS", "MODIFIED", "IS_MODIFIED", "USER_ID",
                   "SYSTEM_CODE")
ACTIVITY_CODE = re.compile(r"^[a-z0-9.\-_]+$", re.IGNORECASE)
PROPERTY_KEY = re.compile(r"^[a-z][a-z0-9_]*$", re.IGNORECASE)
ROBOT_TYPES = ("bool", "date", "datetime", "double", "int", "select", "string", "text", "user")
TASK_STATUSES = {"1": 1, "yes": 1, "2": 2, "no": 2, "3": 3, "ok": 3, "4": 4, "cancel": 4}
TASK_ALLOWED = {"ApproveActivity": (1, 2), "ReviewActivity": (3,), "RequestInformationActivity": (3,),
                "RequestInformationOptionalActivity": (3, 4)}
TASK_PARAMETER_NAMES = {"CommentLabelMessage": "CommentLabel", "CommentRequired": "CommentRequired",
                        "ShowComment": "ShowComment", "TaskButtonMessage": "StatusOkLabel",
                        "TaskButton1Message": "StatusYesLabel", "TaskButton2Message": "StatusNoLabel",
                        "TaskButtonCancelMessage": "StatusCancelLabel", "Fields": "Fields"}
DOCUMENT_FIELD_TYPES = {"string": "S", "text": "S", "int": "N", "double": "N", "select": "L", "bool": "L",
                        "user": "S:employee", "S:UserID": "S:employee", "UserID": "S:employee",
                        "date": "S:Date", "datetime": "S:DateTime", "file": "F"}


@registry.on_app_wipe
def forget_app_activities(portal: Portal, client_id: str) -> None:
    """App update/uninstall deletes its activities and robots
    [not in the docs: core modules/bizproc/lib/restservice.php onRestAppUpdate/onRestAppDelete]."""
    state = bizproc_state(portal)
    with state.lock:
        state.activities = [a for a in state.activities if a.client_id != client_id]


def _app(call: Call) -> Any:
    app = call.portal.app(call.client_id) if call.client_id else None
    if app is None:
        raise RestError("ACCESS_DENIED", "Application context required", 403)
    return app


def _triplet(value: Any) -> list[str] | None:
    if isinstance(value, dict):
        value = [value.get(k, value.get(int(k))) for k in ("0", "1", "2")]
    if isinstance(value, (list, tuple)) and len(value) == 3 and all(isinstance(v, (str, int)) for v in value):
        return [str(v) for v in value]
    return None


def _list_document_type(portal: Portal, value: Any) -> list[str] | None:
    """A lists DOCUMENT_TYPE whose list exists and has business processes enabled
    (REST docs: api-reference/bizproc/template/bizproc-workflow-template-add.md,
    api-reference/lists/lists/lists-add.md BIZPROC)."""
    document_type = _triplet(value)
    if not document_type or document_type[0] != "lists" or document_type[1] not in LIST_ENTITIES:
        return None
    iblock = lists.iblock_for_document_type(portal, document_type[2])
    return document_type if iblock is not None and iblock.bizproc else None


# ---------------------------------------------------------------- templates


def _template_error(description: str) -> RestError:
    return RestError("ERROR_TEMPLATE_VALIDATION_FAILURE", description, 400)


def _auto_execute(state: BizprocState, raw: Any) -> int:
    """0..3 (REST docs: api-reference/bizproc/template/bizproc-workflow-template-add.md); strict mode reproduces
    ``$flag === (string)(int)$flag``, JSON ints rejected
    [not in the docs: core modules/bizproc/lib/restservice.php]."""
    if raw is None or raw == "":
        return 0
    if state.strict_auto_execute and not isinstance(raw, str):
        raise _template_error("Incorrect field AUTO_EXECUTE!")
    value = as_int(raw)
    if value not in (0, 1, 2, 3) or (isinstance(raw, str) and raw.strip() != str(value)):
        raise _template_error("Incorrect field AUTO_EXECUTE!")
    return value


def _template_data(state: BizprocState, raw: Any) -> dict:
    content = bp_bpt.file_bytes(raw)
    if not content:
        raise _template_error("Incorrect field TEMPLATE_DATA!")
    try:
        data = bp_bpt.unpack(content)
    except bp_bpt.BptError:
        raise RestError("ERROR_ARGUMENT", "wrong data", 400, argument="TEMPLATE_DATA") from None
    errors = template_errors(data["TEMPLATE"], lambda type_: _app_required(state, type_))
    if errors:
        # plain exception text [not in the docs: core modules/bizproc/classes/general/workflowtemplateloader.php]
        raise RestError("", ". ".join(errors[:5]), 400)
    return data


def _app_required(state: BizprocState, type_: str) -> tuple[str, ...] | None:
    activity = state.app_activity_by_type(type_)
    if activity is None:
        return None
    return tuple(k for k, p in activity.properties.items() if str((p or {}).get("REQUIRED", "N")).upper() == "Y")


def _import_document_fields(portal: Portal, document_type: list[str], fields: dict) -> None:
    """Missing list properties from DOCUMENT_FIELDS are created on the list
    [not in the docs: core modules/bizproc/classes/general/workflowtemplateloader.php importDocumentFields]."""
    iblock_id = as_int(document_type[2][7:])
    for key, spec in fields.items():
        if not str(key).upper().startswith("PROPERTY_") or not isinstance(spec, dict):
            continue
        type_ = str(spec.get("Type", "string"))
        definition = {"NAME": spec.get("Name") or key, "TYPE": DOCUMENT_FIELD_TYPES.get(type_, type_),
                      "MULTIPLE": "Y" if spec.get("Multiple") else "N",
                      "IS_REQUIRED": "Y" if spec.get("Required") else "N"}
        if isinstance(spec.get("Options"), dict):
            definition["LIST"] = [{"VALUE": title, "XML_ID": xml_id} for xml_id, title in spec["Options"].items()]
        try:
            lists.ensure_property(portal, iblock_id, str(key)[9:], definition)
        except RestError as error:
            raise RestError("", f"Document field {key}: {error.description}", 400) from None


@method("bizproc.workflow.template.add", scope="bizproc", app_only=True, admin_only=True)
def template_add(call: Call) -> int:
    app, state = _app(call), bizproc_state(call.portal)
    document_type = _list_document_type(call.portal, call.param("DOCUMENT_TYPE"))
    if document_type is None:
        raise _template_error("Incorrect field DOCUMENT_TYPE!")
    name = str(call.param("NAME") or "").strip()
    if not name:
        # sic: the core's message for an empty NAME [not in the docs: core modules/bizproc/lib/restservice.php;
        # REST docs: api-reference/bizproc/template/bizproc-workflow-template-add.md has "Empty template name!"]
        raise _template_error("Empty activity code!")
    auto_execute = _auto_execute(state, call.param("AUTO_EXECUTE"))
    data = _template_data(state, call.param("TEMPLATE_DATA"))
    _import_document_fields(call.portal, document_type, data["DOCUMENT_FIELDS"])
    with state.lock:
        template = Template(
            id=next(state.template_ids), document_type=document_type, name=name,
            description=str(call.param("DESCRIPTION") or ""), auto_execute=auto_execute,
            template=data["TEMPLATE"], parameters=data["PARAMETERS"], variables=data["VARIABLES"],
            constants=data["CONSTANTS"], document_fields=data["DOCUMENT_FIELDS"], user_id=call.user_id,
            system_code=f"rest_app_{app.app_id}", modified=now_iso(),
        )
        state.templates[template.id] = template
    return template.id


def _owned_template(call: Call, state: BizprocState, action: str) -> Template:
    template_id = as_int(call.param("ID"))
    template = state.templates.get(template_id) if template_id is not None else None
    if template is None:
        raise RestError("ERROR_TEMPLATE_NOT_FOUND", "Workflow template not found.", 400)
    if template.system_code != f"rest_app_{_app(call).app_id}":
        raise RestError("", f"You can {action} ONLY templates created by current application", 400)
    return template


@method("bizproc.workflow.template.update", scope="bizproc", app_only=True, admin_only=True)
def template_update(call: Call) -> int:
    state = bizproc_state(call.portal)
    fields = upper_keys(dict_param(call, "FIELDS"))
    with state.lock:
        template = _owned_template(call, state, "update")
    if not fields:
        raise _template_error("No fields to update.")
    if "NAME" in fields and not str(fields["NAME"]).strip():
        raise _template_error("Empty activity code!")  # same core message as add
    auto_execute = _auto_execute(state, fields["AUTO_EXECUTE"]) if "AUTO_EXECUTE" in fields else None
    data = _template_data(state, fields["TEMPLATE_DATA"]) if "TEMPLATE_DATA" in fields else None
    if data is not None:
        _import_document_fields(call.portal, template.document_type, data["DOCUMENT_FIELDS"])
    with state.lock:
        template.name = str(fields.get("NAME", template.name)).strip()
        template.description = str(fields.get("DESCRIPTION", template.description))
        template.auto_execute = template.auto_execute if auto_execute is None else auto_execute
        if data is not None:
            template.template, template.parameters = data["TEMPLATE"], data["PARAMETERS"]
            template.variables, template.document_fields = data["VARIABLES"], data["DOCUMENT_FIELDS"]
            template.constants = data["CONSTANTS"]
        template.modified = now_iso()
    return template.id


@method("bizproc.workflow.template.delete", scope="bizproc", app_only=True, admin_only=True)
def template_delete(call: Call) -> None:
    state = bizproc_state(call.portal)
    with state.lock:
        template = _owned_template(call, state, "delete")
        del state.templates[template.id]


def template_row(template: Template) -> dict:
    return {
        "ID": template.id, "MODULE_ID": template.document_type[0], "ENTITY": template.entity,
        "DOCUMENT_TYPE": list(template.document_type), "AUTO_EXECUTE": str(template.auto_execute),
        "NAME": template.name, "DESCRIPTION": template.description, "TEMPLATE": template.template,
        "PARAMETERS": template.parameters, "VARIABLES": template.variables, "CONSTANTS": template.constants,
        "MODIFIED": template.modified, "IS_MODIFIED": "N", "USER_ID": str(template.user_id),
        "SYSTEM_CODE": template.system_code,
    }


@method("bizproc.workflow.template.list", scope="bizproc", admin_only=True)
def template_list(call: Call) -> ListPage:
    state = bizproc_state(call.portal)
    with state.lock:
        # no automation-rule templates [not in the docs: core modules/bizproc/lib/restservice.php]
        rows = [template_row(t) for t in state.templates.values() if t.auto_execute != 8]
    query = Query.from_params(dict_param(call, "FILTER"), dict_param(call, "ORDER") or {"ID": "ASC"},
                              TEMPLATE_OPERATORS)
    return paginate([select_fields(r, call.param("SELECT"), ["ID"]) for r in query.apply(rows)], call.param("start"))


# ---------------------------------------------------------------- app activities and robots


def _activity_error(description: str) -> RestError:
    return RestError("ERROR_ACTIVITY_VALIDATION_FAILURE", description, 400)


def _normalized_properties(raw: Any, is_robot: bool) -> dict:
    """Keys upper-cased except property names and OPTIONS keys; validated
    [not in the docs: core modules/bizproc/lib/restservice.php prepareActivityData]."""
    if raw in (None, "", []):
        return {}
    if not isinstance(raw, dict):
        raise _activity_error("Wrong properties array!")
    result: dict = {}
    for key, spec in raw.items():
        if not PROPERTY_KEY.match(str(key)):
            raise _activity_error(f"Wrong property key ({key})!")
        spec = upper_keys(spec) if isinstance(spec, dict) else {}
        if not spec.get("NAME"):
            raise _activity_error(f"Empty property NAME ({key})!")
        type_ = str(spec.get("TYPE") or "string")
        if is_robot and type_ not in ROBOT_TYPES:
            raise _activity_error(f"Unsupported property type ({type_})!")
        result[str(key)] = spec | {"TYPE": type_}
    return result


def _check_handler(app: Any, handler: Any) -> str:
    """http(s), a host with a dot, and the host of the app's handler or install URL (REST docs:
    api-reference/bizproc/bizproc-activity/bizproc-activity-add.md: "the same domain where the application is
    installed")."""
    parsed = urlparse(str(handler or ""))
    if parsed.scheme not in ("http", "https"):
        raise RestError("ERROR_UNSUPPORTED_PROTOCOL", "Unsupported protocol", 400)
    if not parsed.hostname or "." not in parsed.hostname:
        raise RestError("ERROR_WRONG_HANDLER_URL", "Wrong handler URL", 400)
    app_hosts = {urlparse(str(getattr(app, attr, "") or "")).hostname for attr in ("handler_url", "install_url")}
    if parsed.hostname not in app_hosts:
        raise RestError("ERROR_HANDLER_URL_MATCH", "Handler URL host doesn't match application url", 400)
    return str(handler)


def _activity_fields(call: Call, app: Any, fields: dict, is_robot: bool, partial: bool) -> dict:
    """Validated activity fields (all of them for add, the given ones for update)."""
    result: dict = {}
    if not partial or "HANDLER" in fields:
        result["handler"] = _check_handler(app, fields.get("HANDLER"))
    if not partial or "NAME" in fields:
        if not fields.get("NAME"):
            raise _activity_error("Empty activity NAME!")
        result["name"] = fields["NAME"]
    for key, attr in (("PROPERTIES", "properties"), ("RETURN_PROPERTIES", "return_properties")):
        if not partial or key in fields:
            result[attr] = _normalized_properties(fields.get(key), is_robot)
    if fields.get("DOCUMENT_TYPE") not in (None, "", []):
        if _list_document_type(call.portal, fields["DOCUMENT_TYPE"]) is None:
            raise _activity_error("Wrong activity DOCUMENT_TYPE!")
        result["document_type"] = _triplet(fields["DOCUMENT_TYPE"])
    if fields.get("FILTER") not in (None, "", []):
        if not isinstance(fields["FILTER"], dict):
            raise _activity_error("Wrong activity FILTER!")
        result["filter"] = fields["FILTER"]
    for key, attr, default in (("USE_SUBSCRIPTION", "use_subscription", ""), ("USE_PLACEMENT", "use_placement", "N"),
                               ("DESCRIPTION", "description", "")):
        if not partial or key in fields:
            result[attr] = str(fields.get(key) or default).upper() if attr.startswith("use") else fields.get(key, default)
    if not partial or "AUTH_USER_ID" in fields:
        result["auth_user_id"] = as_int(fields.get("AUTH_USER_ID")) or 0
    return result


def _activity_code(call: Call) -> str:
    code = str(call.param("CODE") or "").strip()
    if not code:
        raise _activity_error("Empty activity code!")
    if not ACTIVITY_CODE.match(code):
        raise _activity_error("Wrong activity code!")
    return code


def _find_activity(state: BizprocState, client_id: str, code: str, is_robot: bool) -> AppActivity:
    found = next((a for a in state.activities if a.client_id == client_id and a.code.lower() == code.lower()
                  and a.is_robot == is_robot), None)
    if found is None:
        raise RestError("ERROR_ACTIVITY_NOT_FOUND", "Activity or Robot not found!", 400)
    return found


def _add_activity(call: Call, is_robot: bool) -> bool:
    app, state = _app(call), bizproc_state(call.portal)
    if not call.params or not any(k.lower() != "auth" for k in call.params):
        raise _activity_error("Empty data!")
    code = _activity_code(call)
    fields = _activity_fields(call, app, upper_keys(call.params), is_robot, partial=False)
    with state.lock:
        if any(a.type_name == app_activity_type(app.client_id, code) for a in state.activities):
            raise RestError("ERROR_ACTIVITY_ALREADY_INSTALLED", "Activity or Robot already installed!", 400)
        state.activities.append(AppActivity(client_id=app.client_id, code=code, is_robot=is_robot,
                                            document_type=fields.pop("document_type", None),
                                            filter=fields.pop("filter", None), **fields))
    return True


def _update_activity(call: Call, is_robot: bool) -> bool:
    app, state = _app(call), bizproc_state(call.portal)
    code = _activity_code(call)
    with state.lock:
        activity = _find_activity(state, app.client_id, code, is_robot)
    fields = upper_keys(dict_param(call, "FIELDS"))
    if not fields:
        raise _activity_error("No fields to update")
    changes = _activity_fields(call, app, fields, is_robot, partial=True)
    with state.lock:
        for attr, value in changes.items():
            setattr(activity, attr, value)
    return True


def _delete_activity(call: Call, is_robot: bool) -> bool:
    app, state = _app(call), bizproc_state(call.portal)
    code = _activity_code(call)
    with state.lock:
        state.activities.remove(_find_activity(state, app.client_id, code, is_robot))
    return True


def _list_activities(call: Call, is_robot: bool) -> list[str]:
    app, state = _app(call), bizproc_state(call.portal)
    with state.lock:
        return [a.code for a in state.activities if a.client_id == app.client_id and a.is_robot == is_robot]


def _register_activity_methods(prefix: str, is_robot: bool) -> None:
    """bizproc.activity.* and bizproc.robot.* share one implementation
    [not in the docs: core modules/bizproc/lib/restservice.php addActivityInternal]."""
    operations: dict[str, Callable[[Call, bool], Any]] = {
        "add": _add_activity, "update": _update_activity, "delete": _delete_activity, "list": _list_activities}
    for name, operation in operations.items():
        method(f"{prefix}.{name}", scope="bizproc", app_only=True, admin_only=True)(
            lambda call, op=operation: op(call, is_robot))


_register_activity_methods("bizproc.activity", is_robot=False)
_register_activity_methods("bizproc.robot", is_robot=True)


# ---------------------------------------------------------------- workflows


@method("bizproc.workflow.start", scope="bizproc", admin_only=True)
def workflow_start(call: Call) -> str:
    state = bizproc_state(call.portal)
    template_id = call.param("TEMPLATE_ID")
    if template_id in (None, "", 0, "0"):
        raise RestError("ERROR_WRONG_WORKFLOW_ID", "Empty TEMPLATE_ID", 400)
    with state.lock:
        template = state.templates.get(as_int(template_id) or -1)
    if template is None:
        raise RestError("ERROR_WRONG_WORKFLOW_ID", "Template not found", 400)
    document_id = _triplet(call.param("DOCUMENT_ID"))
    if document_id is None or not document_id[2]:
        raise RestError("", "Wrong DOCUMENT_ID!", 400)
    entity = lists.document_entity(call.portal, as_int(document_id[2]) or -1)
    if document_id[0] != "lists" or document_id[1] not in LIST_ENTITIES or entity is None:
        raise RestError("", "Incorrect document type!", 400)
    if document_id[:2] != template.document_type[:2] or template.document_type[2] != f"iblock_{entity[0]}":
        raise RestError("", "Template type and DOCUMENT_ID mismatch!", 400)
    parameters = dict_param(call, "PARAMETERS")
    _check_parameters(template, parameters)
    return runtime.start_workflow(call.portal, template, document_id, call.user_id, parameters)


def _check_parameters(template: Template, parameters: dict) -> None:
    for code, spec in template.parameters.items():
        if code == "TargetUser" or not isinstance(spec, dict):
            continue
        required = str(spec.get("Required", "")).upper() in ("1", "Y", "TRUE")
        if required and parameters.get(code) in (None, "", []) and spec.get("Default") in (None, "", []):
            raise RestError("", f"Parameter '{spec.get('Name') or code}' is required", 400)


@method("bizproc.workflow.instance.list", scope="bizproc", admin_only=True)
def instance_list(call: Call) -> ListPage:
    state = bizproc_state(call.portal)
    with state.lock:
        # finished ones vanish (REST docs: api-reference/bizproc/bizproc-workflow-instances.md: running workflows)
        rows = [w.row() for w in state.workflows.values() if w.status == RUNNING]
    query = Query.from_params(dict_param(call, "FILTER"), dict_param(call, "ORDER") or {"MODIFIED": "DESC"})
    default = ["ID", "MODIFIED", "OWNED_UNTIL"]
    return paginate([select_fields(r, call.param("SELECT"), default) for r in query.apply(rows)], call.param("start"))


# alias (REST docs: api-reference/bizproc/bizproc-workflow-instances.md)
method("bizproc.workflow.instances", scope="bizproc", admin_only=True)(instance_list)


def _workflow(call: Call, state: BizprocState) -> Workflow:
    workflow_id = str(call.param("ID") or "").strip()
    if not workflow_id:
        raise RestError("ERROR_WRONG_WORKFLOW_ID", "Empty workflow instance ID", 400)
    workflow = state.workflows.get(workflow_id)
    if workflow is None or workflow.status != RUNNING:
        raise RestError("ERROR_WRONG_WORKFLOW_ID", "Workflow instance not found", 400)
    return workflow


@method("bizproc.workflow.terminate", scope="bizproc", admin_only=True)
def workflow_terminate(call: Call) -> bool:
    state = bizproc_state(call.portal)
    with state.lock:
        workflow = _workflow(call, state)
        workflow.log.append({"time": now_iso(), "activity": "Template", "type": "terminate",
                             "message": str(call.param("STATUS") or "Terminated via REST")})
        runtime.stop_workflow(state, workflow)
    return True


@method("bizproc.workflow.kill", scope="bizproc", admin_only=True)
def workflow_kill(call: Call) -> bool:
    """Terminate and delete the instance with its tasks (newer docs)."""
    state = bizproc_state(call.portal)
    with state.lock:
        workflow = _workflow(call, state)
        runtime.stop_workflow(state, workflow, "killed")
        del state.workflows[workflow.id]
        for task_id in [t.id for t in state.tasks.values() if t.workflow_id == workflow.id]:
            del state.tasks[task_id]
    return True


# ---------------------------------------------------------------- events from app activities


def _event_token(call: Call, state: BizprocState) -> tuple[str, str, str]:
    parsed = runtime.verify_event_token(state, str(call.param("EVENT_TOKEN") or ""))
    if parsed is None:
        raise RestError("ACCESS_DENIED", "Access denied!", 403)
    return parsed


@method("bizproc.event.send", scope="bizproc")
def event_send(call: Call) -> bool:
    """Close the waiting app activity (REST docs: api-reference/bizproc/bizproc-robot/bizproc-event-send.md); a
    repeated send is ignored [not in the docs: core modules/bizproc/classes/general/restactivity.php]."""
    state = bizproc_state(call.portal)
    return_values = dict_param(call, "RETURN_VALUES")
    with state.lock:
        _, _, event_id = _event_token(call, state)
        subscription = state.subscriptions.pop(event_id, None)
        if subscription is None:
            return True
        declared = {name.upper(): (name, spec) for name, spec in subscription.activity.return_properties.items()}
        values = {declared[key.upper()][0]: _internal(declared[key.upper()][1], value)
                  for key, value in return_values.items() if key.upper() in declared}
        subscription.log_message = str(call.param("LOG_MESSAGE") or "")
        subscription.return_values = values
        state.changed.notify_all()
    return True


def _internal(spec: dict, value: Any) -> Any:
    """Values internalized by type: users become ``user_<id>``."""
    if str((spec or {}).get("TYPE", "")).lower() == "user" and user_id_of(value):
        return f"user_{user_id_of(value)}"
    return value


@method("bizproc.activity.log", scope="bizproc")
def activity_log(call: Call) -> bool:
    state = bizproc_state(call.portal)
    with state.lock:
        workflow_id, activity_name, _ = _event_token(call, state)
        message = str(call.param("LOG_MESSAGE") or "").strip()
        if not message:
            raise RestError("ERROR_EMPTY_LOG_MESSAGE", "Empty log message!", 400)
        workflow = state.workflows.get(workflow_id)
        if workflow is not None:
            workflow.log.append({"time": now_iso(), "activity": activity_name, "type": "log", "message": message})
    return True


# ---------------------------------------------------------------- tasks


def _document_url(task: Task, portal: Portal) -> str:
    entity = lists.document_entity(portal, as_int(task.document_id[2]) or -1)
    if entity is None:
        return ""
    section = "bizproc/processes" if entity[1] == "bitrix_processes" else "company/lists"
    return f"/{section}/{entity[0]}/element/0/{task.document_id[2]}/"


def task_rows(state: BizprocState, task: Task, portal: Portal) -> list[dict]:
    """One row per assignee, as CBPTaskService lists them."""
    workflow = state.workflows.get(task.workflow_id)
    template = state.templates.get(workflow.template_id) if workflow else None
    common = {
        "ID": str(task.id), "ACTIVITY": task.activity, "ACTIVITY_NAME": task.activity_name,
        "WORKFLOW_ID": task.workflow_id, "DOCUMENT_NAME": task.document_name, "DESCRIPTION": task.description,
        "NAME": task.name, "MODIFIED": task.modified, "OVERDUE_DATE": task.overdue_date,
        "WORKFLOW_STARTED": workflow.started if workflow else None,
        "WORKFLOW_STARTED_BY": str(workflow.started_by) if workflow else None,
        "WORKFLOW_TEMPLATE_ID": str(template.id) if template else None,
        "WORKFLOW_TEMPLATE_NAME": template.name if template else None,
        "WORKFLOW_STATE": workflow.state_title if workflow else "", "STATUS": str(task.status),
        "MODULE_ID": task.document_id[0], "ENTITY": task.document_id[1], "DOCUMENT_ID": task.document_id[2],
        "PARAMETERS": {TASK_PARAMETER_NAMES[k]: v for k, v in task.parameters.items() if k in TASK_PARAMETER_NAMES},
        "DOCUMENT_URL": _document_url(task, portal),
    }
    return [common | {"USER_ID": str(user), "USER_STATUS": str(status)} for user, status in task.user_statuses.items()]


@method("bizproc.task.list", scope="bizproc")
def task_list(call: Call) -> ListPage:
    state = bizproc_state(call.portal)
    conditions = dict_param(call, "FILTER")
    if not call.portal.is_admin(call.user_id):
        requested = {str(v) for k, v in conditions.items() if parse_condition(str(k), v).field == "USER_ID"}
        if requested - {str(call.user_id)}:
            raise RestError("ACCESS_DENIED", "Access denied!", 403)
        # non-admins see their own tasks (REST docs: api-reference/bizproc/bizproc-task/bizproc-task-list.md)
        conditions = conditions | {"USER_ID": call.user_id}
    with state.lock:
        rows = [row for task in state.tasks.values() for row in task_rows(state, task, call.portal)]
    query = Query.from_params(conditions, dict_param(call, "ORDER") or {"ID": "DESC"})
    select = call.param("SELECT")
    default = ["ID", "WORKFLOW_ID", "DOCUMENT_NAME", "NAME", "ENTITY", "DOCUMENT_ID"]
    wanted = (list(select) if isinstance(select, list) and select else default) + ["DOCUMENT_URL"]
    return paginate([select_fields(r, wanted, default) for r in query.apply(rows)], call.param("start"))


def _task_status(raw: Any) -> int:
    status = TASK_STATUSES.get(str(raw if raw is not None else "").strip().lower())
    if status is None:
        raise RestError("ERROR_TASK_VALIDATION", "incorrect STATUS", 400)
    return status


def _request_fields(task: Task, raw: Any) -> dict:
    """RequestInformation FIELDS matched to RequestedInformation; required ones enforced."""
    given = upper_keys(raw) if isinstance(raw, dict) else {}
    values: dict = {}
    for spec in task.parameters.get("Fields") or []:
        name = str(spec.get("Name", ""))
        value = given.get(name.upper(), spec.get("Default"))
        if str(spec.get("Required", "0")) in ("1", "Y") and value in (None, "", []):
            raise RestError("ERROR_TASK_EXECUTION", f"Field \"{spec.get('Title') or name}\" is required", 400)
        values[name] = value
    return values


def _check_comment(task: Task, status: int, comment: str) -> None:
    """CommentRequired: Y always, YA on approve, YR on reject."""
    rule = str(task.parameters.get("CommentRequired", "N")).upper()
    needed = rule == "Y" or (rule == "YA" and status == 1) or (rule == "YR" and status == 2)
    if needed and not comment.strip():
        raise RestError("ERROR_TASK_EXECUTION", "Comment is required", 400)


@method("bizproc.task.complete", scope="bizproc")
def task_complete(call: Call) -> bool:
    """Only the assignee completes a task (REST docs: api-reference/bizproc/bizproc-task/bizproc-task-complete.md):
    the lookup is by TASK_ID and the caller's user id
    [not in the docs: core modules/bizproc/lib/restservice.php]."""
    task_id = as_int(call.param("TASK_ID"))
    if not task_id:
        raise RestError("ERROR_TASK_VALIDATION", "empty TASK_ID", 400)
    status = _task_status(call.param("STATUS"))
    comment = str(call.param("COMMENT") or "")
    state = bizproc_state(call.portal)
    with state.lock:
        task = state.tasks.get(task_id)
        if task is None or call.user_id not in task.user_statuses:
            raise RestError("ERROR_TASK_NOT_FOUND", "Task not found", 400)
        if not task.waiting_for(call.user_id):
            raise RestError("ERROR_TASK_COMPLETED", "Task already completed", 400)
        if task.activity not in TASK_ALLOWED:
            raise RestError("ERROR_TASK_TYPE", "Incorrect task type", 400)
        if status not in TASK_ALLOWED[task.activity]:
            raise RestError("ERROR_TASK_EXECUTION", "Incorrect task status for this activity", 400)
        _check_comment(task, status, comment)
        fields = _request_fields(task, call.param("FIELDS")) if "RequestInformation" in task.activity else {}
        task.user_statuses[call.user_id] = status
        task.responses.append({"user_id": call.user_id, "status": status, "comment": comment,
                               "fields": fields, "time": now_iso(call.portal)})
        task.modified = now_iso(call.portal)
        state.changed.notify_all()
    return True


@method("bizproc.task.delegate", scope="bizproc")
def task_delegate(call: Call) -> bool:
    """Hand one's own waiting tasks to another intranet user, as the task's DelegationType allows
    (b24restdocs api-reference/bizproc/bizproc-task/bizproc-task-delegate.md); errors of several tasks are
    joined with ';'."""
    raw_ids = call.param("TASK_IDS")
    task_ids = [as_int(item) for item in (raw_ids if isinstance(raw_ids, list) else [raw_ids])]
    if not task_ids or any(not task_id for task_id in task_ids):
        raise RestError("ERROR_TASK_VALIDATION", "Invalid TASK_IDS", 400)
    from_user, to_user = as_int(call.param("FROM_USER_ID")), as_int(call.param("TO_USER_ID"))
    if not from_user or call.portal.user(from_user) is None:
        raise RestError("ERROR_INVALID_USER_ID", "Invalid FROM_USER_ID", 400)
    target = call.portal.user(to_user) if to_user else None
    if target is None:
        raise RestError("ERROR_INVALID_USER_ID", "Invalid TO_USER_ID", 400)
    if target.get("USER_TYPE") != "employee" or not target.get("ACTIVE"):
        raise RestError("ERROR_DELEGATION_NOT_ALLOWED", "Task delegation is only available for intranet users", 400)
    state = bizproc_state(call.portal)
    with state.lock:
        tasks = [state.tasks.get(task_id) for task_id in task_ids]
        errors = [_delegation_error(call, task, from_user, to_user) for task in tasks]
        if any(errors):
            raise RestError("ERROR_DELEGATION_NOT_ALLOWED", ";".join(error for error in errors if error), 400)
        for task in filter(None, tasks):
            task.user_statuses = {(to_user if user == from_user else user): status
                                  for user, status in task.user_statuses.items()}
            task.users = [to_user if user == from_user else user for user in task.users]
            task.modified = now_iso(call.portal)
        state.changed.notify_all()
    return True


def _delegation_error(call: Call, task: Task | None, from_user: int, to_user: int) -> str:
    """Why ``task`` cannot go from ``from_user`` to ``to_user`` ('' when it can): only the caller's own waiting
    task, and only to whom its DelegationType allows (0 subordinates, 1 all employees, 2 nobody:
    [not in the docs: core modules/bizproc/classes/general/constants.php])."""
    if task is None or from_user != call.user_id or not task.waiting_for(from_user) or to_user in task.user_statuses:
        return "User is not responsible for the task"
    subordinate = to_user in _subordinates(call.portal, from_user)
    if task.delegation_type == 2 or (task.delegation_type == 0 and not subordinate):
        return "Task delegation is not allowed for this user"  # [inferred] text
    return ""


def _subordinates(portal: Portal, head_id: int) -> set[int]:
    """Users of the departments ``head_id`` heads (UF_HEAD), sub-departments included."""
    departments = getattr(portal, "tables", {}).get("departments", {})
    headed = {department_id for department_id, row in departments.items() if row.get("UF_HEAD") == head_id}
    grown = True
    while grown:
        below = {department_id for department_id, row in departments.items() if row.get("PARENT") in headed}
        grown = not below <= headed
        headed |= below
    users = getattr(portal, "tables", {}).get("users", {}).values()
    return {user["ID"] for user in users if headed.intersection(user.get("UF_DEPARTMENT") or [])} - {head_id}


# ---------------------------------------------------------------- test hooks


def hook_workflows(portal: Portal, body: dict) -> dict:
    """GET /_emulator/bizproc/workflows: every instance with status, log and variables."""
    state = bizproc_state(portal)
    with state.lock:
        return {"workflows": [
            w.row() | {"STATUS": w.status, "STATE_TITLE": w.state_title, "LOG": list(w.log),
                       "VARIABLES": dict(w.variables), "PARAMETERS": dict(w.parameters),
                       "RESULTS": {k: dict(v) for k, v in w.results.items()}}
            for w in state.workflows.values()]}


def hook_tasks(portal: Portal, body: dict) -> dict:
    """GET /_emulator/bizproc/tasks: every task with its assignees and responses."""
    state = bizproc_state(portal)
    with state.lock:
        return {"tasks": [{"ID": t.id, "WORKFLOW_ID": t.workflow_id, "ACTIVITY": t.activity,
                           "ACTIVITY_NAME": t.activity_name, "NAME": t.name, "STATUS": t.status,
                           "USERS": dict(t.user_statuses), "RESPONSES": list(t.responses)}
                          for t in state.tasks.values()]}


def hook_quirks(portal: Portal, body: dict) -> dict:
    """POST /_emulator/bizproc/quirks {"strict_auto_execute": bool}."""
    state = bizproc_state(portal)
    with state.lock:
        if "strict_auto_execute" in body:
            state.strict_auto_execute = bool(body["strict_auto_execute"])
        return {"strict_auto_execute": state.strict_auto_execute}


HOOKS: dict[tuple[str, str], Callable[[Portal, dict], dict]] = {
    ("GET", "/_emulator/bizproc/workflows"): hook_workflows,
    ("GET", "/_emulator/bizproc/tasks"): hook_tasks,
    ("POST", "/_emulator/bizproc/quirks"): hook_quirks,
}

_register_hook = getattr(registry, "hook", None)  # asked of the core: registry.hook(path, methods)(func)
if callable(_register_hook):
    for (_verb, _path), _func in HOOKS.items():
        _register_hook(_path, [_verb])(_func)
