"""Known built-in activity types and the import-time check of a template tree
[not in the docs: core modules/bizproc/classes/general/workflowtemplateloader.php].

Each row: activity type -> properties its ``ValidateProperties`` insists on. Sources: the activity
classes in core ``modules/bizproc/install/activities/bitrix/*`` as used by core
``modules/bizproc/templates_bp/vacation.php``; rows for types the runtime only walks through are kept so real
exports import.
"""
from __future__ import annotations

from typing import Callable, Iterator

REQUIRED_PROPERTIES: dict[str, tuple[str, ...]] = {
    "SequentialWorkflowActivity": (),
    "StateMachineWorkflowActivity": (),
    "SequenceActivity": (),
    "ParallelActivity": (),
    "IfElseActivity": (),
    "IfElseBranchActivity": (),
    "WhileActivity": (),
    "ApproveActivity": ("Users", "Name"),
    "ReviewActivity": ("Users", "Name"),
    "RequestInformationActivity": ("Users", "Name", "RequestedInformation"),
    "RequestInformationOptionalActivity": ("Users", "Name", "RequestedInformation"),
    "SetFieldActivity": ("FieldValue",),
    "SetVariableActivity": ("VariableValue",),
    "SetStateTitleActivity": ("TargetStateTitle",),
    "SocNetMessageActivity": ("MessageText", "MessageUserFrom", "MessageUserTo"),
    "IMNotifyActivity": ("MessageUserFrom", "MessageUserTo", "MessageSite"),
    "MailActivity": ("MailUserFrom", "MailUserTo", "MailSubject", "MailText"),
    "AbsenceActivity": ("AbsenceUser", "AbsenceName", "AbsenceFrom", "AbsenceTo"),
    "DelayActivity": (),
    "TerminateActivity": (),
    "EmptyBlockActivity": (),
    "LogActivity": ("Text",),
    "PublishDocumentActivity": (),
    "UnpublishDocumentActivity": (),
    "GetUserActivity": ("UserType", "UserParameter"),
    "WebHookActivity": ("Handler",),
    "SmsActivity": ("ProviderId", "PhoneNumber", "MessageText"),  # [inferred] names, see runtime.Runner.send_sms
}


def walk(nodes: list[dict]) -> Iterator[dict]:
    """Every activity node of a tree, depth first."""
    for node in nodes:
        if isinstance(node, dict):
            yield node
            yield from walk(node.get("Children") or [])


def _is_empty(value: object) -> bool:
    return value is None or value == "" or value == [] or value == {}


def template_errors(
    tree: list[dict], app_activity_required: Callable[[str], tuple[str, ...] | None]
) -> list[str]:
    """Validation messages for a tree; ``app_activity_required(type)`` knows ``rest_*`` types."""
    errors: list[str] = []
    for node in walk(tree):
        type_ = str(node.get("Type", ""))
        required = REQUIRED_PROPERTIES.get(type_)
        if required is None and type_.lower().startswith("rest_"):
            required = app_activity_required(type_)
        if required is None:
            errors.append(f"Activity '{type_}' is not found")
            continue
        properties = node.get("Properties") if isinstance(node.get("Properties"), dict) else {}
        errors += [f"{type_} ({node.get('Name', '')}): Property '{name}' is not specified"
                   for name in required if _is_empty(properties.get(name))]
    return errors
