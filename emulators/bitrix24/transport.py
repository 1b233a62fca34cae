"""REST transport: auth, input merging, envelopes, limits and ``batch``.

REST docs: settings/how-to-call-rest-api/ (general-principles.md, batch.md), limits.md, error-codes.md.
"""
from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_plus, urlsplit

from werkzeug.wrappers import Request

from .limits import RequestCharges
from .phpcodec import as_php_arrays, parse_query, php_bool
from .registry import METHODS, Call, ListPage, RestError
from .state import PortalState

log = logging.getLogger(__name__)

BATCH_MAX_LENGTH = 50
NOT_IN_BATCH = {"batch", "upload", "download"}
FREE_SCOPES = {"basic", "app"}


@dataclass
class Identity:
    """Who is calling: an app's user (OAuth) or an incoming webhook."""

    user_id: int
    scopes: frozenset[str]
    entity: str  # operating-time key part: the app or the webhook
    client_id: str | None = None

    @property
    def token_kind(self) -> str:
        return "webhook" if self.client_id is None else "access"


@dataclass
class Outcome:
    """One executed call: a result or an error, and its ``time`` block."""

    result: Any = None
    error: RestError | None = None
    time: dict[str, Any] = field(default_factory=dict)


# -- input ----------------------------------------------------------------------------------------

def request_params(request: Request) -> dict[str, Any]:
    """Query and body merged, the body winning (REST docs: settings/how-to-call-rest-api/general-principles.md
    names the forms; [not in the docs: the merge, core modules/rest/classes/general/rest_util.php])."""
    query = parse_query(request.query_string.decode("utf-8", "replace"))
    return {**query, **body_params(request)}


def body_params(request: Request) -> dict[str, Any]:
    if request.method != "POST":
        return {}
    if request.mimetype == "application/json":
        try:
            body = json.loads(request.get_data(as_text=True) or "null")
        except ValueError:
            # broken JSON: no parameters [not in the docs: core modules/rest/classes/general/rest_util.php]
            return {}
        if isinstance(body, list):
            return {str(index): item for index, item in enumerate(body)}
        return body if isinstance(body, dict) else {}
    if request.mimetype == "multipart/form-data":
        pairs = [f"{quote_plus(key)}={quote_plus(value)}" for key, value in request.form.items(multi=True)]
        return parse_query("&".join(pairs))
    return parse_query(request.get_data(as_text=True))


def _pop_case_insensitive(params: dict[str, Any], *names: str) -> Any:
    for key in list(params):
        if key.lower() in names:
            return params.pop(key)
    return None


# -- auth -----------------------------------------------------------------------------------------

def authenticate_webhook(portal: PortalState, user_id: str, code: str, scheme: str) -> Identity:
    if portal.options.https_required and scheme != "https":
        raise RestError("INVALID_REQUEST", "Https required.", 401)  # b24restdocs _includes/system-errors.md
    hook = portal.webhooks.get(code)
    if hook is None or str(hook.user_id) != user_id:
        raise RestError("INVALID_CREDENTIALS", "Invalid request credentials", 401)
    _require_active_user(portal, hook.user_id)
    return Identity(hook.user_id, frozenset(hook.scopes), f"hook:{hook.hook_id}")


def authenticate_oauth(portal: PortalState, request: Request, params: dict[str, Any]) -> Identity:
    """Bearer header first, then ``auth``/``access_token``: ``auth`` is in REST docs:
    settings/how-to-call-rest-api/authorization.md; the others are
    [not in the docs: core modules/rest/lib/oauth/auth.php]."""
    header = request.headers.get("Authorization", "")
    token = _pop_case_insensitive(params, "auth", "access_token")
    if header.lower().startswith("bearer "):
        token = header[7:].strip()
    if not token or not isinstance(token, str):
        raise RestError("NO_AUTH_FOUND", "Wrong authorization data", 401)
    grant = portal.tokens.authenticate(token)
    app = portal.app(grant.client_id)
    if app is None or not app.active:
        raise RestError("APPLICATION_NOT_FOUND", "Application not found", 401)
    _require_active_user(portal, grant.user_id)
    return Identity(grant.user_id, frozenset(app.scopes), f"app:{app.client_id}", app.client_id)


def _require_active_user(portal: PortalState, user_id: int) -> None:
    user = portal.user(user_id)
    if user is None or not user.get("ACTIVE"):
        raise RestError("authorization_error", "Unable to authorize user", 401)


# -- execution ------------------------------------------------------------------------------------

class Executor:
    """Runs calls for one HTTP request, charging operating time (REST docs: limits.md)."""

    def __init__(self, portal: PortalState, identity: Identity, start: float) -> None:
        self.portal = portal
        self.identity = identity
        self.charges = RequestCharges()
        self.cursor = start
        self.charged_s = 0.0

    def run(self, name: str, params: dict[str, Any], *, in_batch: bool = False) -> Outcome:
        spec = METHODS.get(name)
        if spec is None:
            return self._failed(RestError("ERROR_METHOD_NOT_FOUND", "Method not found!", 404), name)
        try:
            self._check_access(spec.scope, spec.app_only, spec.admin_only, in_batch)
        except RestError as error:
            return self._failed(error, name)
        key = (self.identity.entity, name)
        if self.portal.operating.blocked(key, self.charges):
            self.portal.counters.rejected_429 += 1
            error = RestError("OPERATION_TIME_LIMIT", "Method is blocked due to operation time limit.", 429)
            return self._failed(error, name)
        outcome = self._invoke(spec.func, name, params)
        seconds = self.portal.server_time(name)
        self.portal.operating.charge(key, seconds, self.charges)
        self.portal.counters.record(name, seconds)
        outcome.time = self._time_block(seconds, key)
        return outcome

    def _check_access(self, scope: str, app_only: bool, admin_only: bool, in_batch: bool) -> None:
        if scope not in FREE_SCOPES and scope not in self.identity.scopes:
            description = "" if in_batch else (  # b24restdocs _includes/system-errors.md: 401, "webhook token"
                f"The request requires higher privileges than provided by the {self.identity.token_kind} token")
            raise RestError("insufficient_scope", description, 401)
        if app_only and self.identity.client_id is None:  # b24restdocs api-reference/widgets/placement-get.md
            raise RestError("WRONG_AUTH_TYPE", "Current authorization type is denied for this method", 403)
        if admin_only and not self.portal.is_admin(self.identity.user_id):
            raise RestError("ACCESS_DENIED", "Access denied! Administrator authorization required", 403)

    def _invoke(self, func: Any, name: str, params: dict[str, Any]) -> Outcome:
        call = Call(self.portal, name, params, self.identity.user_id, self.identity.client_id, self.identity.scopes)
        try:
            return Outcome(result=func(call))
        except RestError as error:
            return Outcome(error=error)
        except (ValueError, TypeError, KeyError, AttributeError, IndexError) as error:
            # an unexpected exception: ERROR_CORE, HTTP 400
            # [not in the docs: core modules/rest/classes/general/rest.php]
            log.warning("method %s failed on its input: %s", name, type(error).__name__)
            return Outcome(error=RestError("ERROR_CORE", f"Wrong input: {type(error).__name__}", 400))

    def _failed(self, error: RestError, name: str) -> Outcome:
        return Outcome(error=error, time=self._time_block(0.0, (self.identity.entity, name)))

    def _time_block(self, seconds: float, key: tuple[str, str]) -> dict[str, Any]:
        start, self.cursor = self.cursor, self.cursor + seconds
        self.charged_s += seconds
        return {"start": start, "finish": self.cursor, "duration": seconds, "processing": seconds,
                "date_start": self.portal.iso(start), "date_finish": self.portal.iso(self.cursor),
                "operating_reset_at": self.portal.operating.reset_at(key),
                "operating": round(self.portal.operating.operating(key, self.charges), 6)}

    def batch_time_block(self, start: float) -> dict[str, Any]:
        """The outer ``time`` of a batch: ``operating`` 0
        [not in the docs: observed in cloud batch responses]."""
        return {"start": start, "finish": self.cursor, "duration": self.cursor - start,
                "processing": self.cursor - start, "date_start": self.portal.iso(start),
                "date_finish": self.portal.iso(self.cursor),
                "operating_reset_at": self.portal.operating.window_end(start), "operating": 0}

    def commit(self) -> None:
        self.portal.operating.commit(self.charges)


# -- batch ----------------------------------------------------------------------------------------

_REFERENCE = re.compile(r"\$(result|next|total|time|error)((?:\[[^\]]+\])+)", re.IGNORECASE)
BATCH_SECTIONS = ("result", "result_error", "result_total", "result_next", "result_time")
_SECTION = {"result": "result", "next": "result_next", "total": "result_total", "time": "result_time",
            "error": "result_error"}


def run_batch(executor: Executor, params: dict[str, Any]) -> dict[str, Any]:
    """``CRestProvider::methodsBatch`` (REST docs: settings/how-to-call-rest-api/batch.md)."""
    upper = {key.upper(): value for key, value in params.items()}
    commands = upper.get("CMD") or {}
    halt = php_bool(upper.get("HALT", False))
    sections: dict[str, dict[Any, Any]] = {name: {} for name in BATCH_SECTIONS}
    items = commands.items() if isinstance(commands, dict) else enumerate(commands if isinstance(commands, list) else [])
    for position, (label, command) in enumerate(items):
        if not isinstance(command, str):
            continue  # non-string commands are skipped silently
        outcome = _batch_command(executor, position, command, sections)
        _record(sections, label, outcome)
        if outcome.error is not None and halt:
            break
    return {name: as_php_arrays(section) for name, section in sections.items()}


def _batch_command(executor: Executor, position: int, command: str, sections: dict[str, Any]) -> Outcome:
    if position >= BATCH_MAX_LENGTH:
        return Outcome(error=RestError("ERROR_BATCH_LENGTH_EXCEEDED", "Max batch length exceeded"))
    parts = urlsplit(command)
    name = re.sub(r"\.(json|xml)$", "", parts.path.strip("/")).lower()
    if name in NOT_IN_BATCH:
        return Outcome(error=RestError("ERROR_BATCH_METHOD_NOT_ALLOWED", "Method is not allowed for batch usage", 405))
    sub_params = parse_query(parts.query)
    _pop_case_insensitive(sub_params, "auth", "access_token")  # the outer auth is used for every command
    return executor.run(name, substitute(sub_params, sections), in_batch=True)


def _record(sections: dict[str, dict[Any, Any]], label: Any, outcome: Outcome) -> None:
    if outcome.error is not None:
        sections["result_error"][label] = {"error": outcome.error.code,
                                           "error_description": outcome.error.description}
        return
    result = outcome.result
    if isinstance(result, ListPage):
        sections["result_total"][label] = result.total
        if result.next is not None:
            sections["result_next"][label] = result.next
        result = result.items
    sections["result"][label] = result
    if outcome.time:
        sections["result_time"][label] = outcome.time


def substitute(value: Any, sections: dict[str, dict[Any, Any]]) -> Any:
    """Resolve ``$result[key][...]`` style references in parsed command parameters."""
    if isinstance(value, dict):
        return {key: substitute(item, sections) for key, item in value.items()}
    if isinstance(value, list):
        return [substitute(item, sections) for item in value]
    if not isinstance(value, str) or "$" not in value:
        return value
    whole = _REFERENCE.fullmatch(value.strip())
    if whole:
        return _resolve(whole, sections)  # the whole value: raw (possibly array) substitution
    return _REFERENCE.sub(lambda match: _scalar(_resolve(match, sections), match.group(0)), value)


def _resolve(match: re.Match[str], sections: dict[str, dict[Any, Any]]) -> Any:
    """Walk the path; a missing step stops at the deepest existing level
    [not in the docs: core modules/rest/classes/general/rest_util.php]."""
    node: Any = sections[_SECTION[match.group(1).lower()]]
    for step in re.findall(r"\[([^\]]+)\]", match.group(2)):
        found, node = _step(node, step)
        if not found:
            break
    return node


def _step(node: Any, step: str) -> tuple[bool, Any]:
    if isinstance(node, dict):
        for key in (step, int(step) if step.lstrip("-").isdigit() else None):
            if key is not None and key in node:
                return True, node[key]
    if isinstance(node, list) and step.isdigit() and int(step) < len(node):
        return True, node[int(step)]
    return False, node


def _scalar(value: Any, original: str) -> str:
    if isinstance(value, bool):
        return "1" if value else ""
    if isinstance(value, (str, int, float)):
        return str(value)
    return original


# -- envelopes ------------------------------------------------------------------------------------

def success_body(result: Any, time_block: dict[str, Any]) -> dict[str, Any]:
    """``{"result", ["next"], ["total"], "time"}``; list results lift total/next
    (REST docs: settings/how-to-call-rest-api/list-methods-pecularities.md)."""
    body: dict[str, Any] = {}
    if isinstance(result, ListPage):
        body["result"] = as_php_arrays(result.items)
        if result.next is not None:
            body["next"] = result.next
        body["total"] = result.total
    else:
        body["result"] = as_php_arrays(result)
    body["time"] = time_block
    return body


def error_body(error: RestError) -> dict[str, Any]:
    """Error envelope, in place of the data: no ``time`` key (REST docs: error-codes.md)."""
    return {"error": error.code, "error_description": error.description, **error.extra}
