"""Local regulations (ЛНА): publish an act to employees and report who has not acknowledged it.

The «Ознакомление с локальными нормативными актами» list holds one element per act–employee pair;
adding an element starts the acknowledgement process (a ReviewActivity for the employee), which
sets STATUS to «Ознакомлен» and records who and when. Publishing is idempotent: the element code
is ``lna-<act>-<user>``, so publishing an act again only adds the employees who were missing.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from b24app.bitrix import B24Client, Command
from bizproc_templates.compiler import IBLOCK_TYPE_ID, iblock_code
from bizproc_templates.source import PROCESSES_DIR, Process, load_process

ACKNOWLEDGED = "acknowledged"
REVIEWED = 3  # bizproc.task.complete STATUS «ok»: what a ReviewActivity task takes (REST docs:
              # api-reference/bizproc/bizproc-task/bizproc-task-complete.md)


@dataclass(frozen=True)
class Acknowledgement:
    """One employee's state for one act."""

    user_id: int
    name: str
    acknowledged: bool
    acknowledged_at: str | None


@dataclass(frozen=True)
class EmployeeAct:
    """One act published to one employee: the list element, its file on Drive and the state."""

    element_id: int
    act_code: str
    title: str
    file_id: int | None
    deadline: str | None
    acknowledged: bool
    acknowledged_at: str | None


class NotWaiting(LookupError):
    """The employee has no waiting acknowledgement task for the act (already done, or not created yet)."""


class ActsList:
    """The acknowledgement list of one portal, addressed through the portal's REST client."""

    def __init__(self, client: B24Client, process: Process | None = None) -> None:
        self.client = client
        self.process = process or load_process(PROCESSES_DIR / "lna_acknowledgement.yaml")
        self.target = {"IBLOCK_TYPE_ID": IBLOCK_TYPE_ID, "IBLOCK_CODE": iblock_code(self.process)}
        self.fields = {str(spec.get("CODE") or field_id): (field_id, spec)
                       for field_id, spec in client.call("lists.field.get", self.target).result.items()}

    def publish(self, act_code: str, title: str, file_id: int, user_ids: Iterable[int],
                deadline: str | None = None) -> int:
        """Add the act for every user who does not have it yet; return how many were added."""
        already = {a.user_id for a in self.report(act_code, with_names=False)}
        commands = [Command("lists.element.add", {**self.target, "ELEMENT_CODE": f"lna-{act_code}-{user_id}",
                                                  "FIELDS": self._fields(act_code, title, file_id, user_id, deadline)})
                    for user_id in dict.fromkeys(user_ids) if user_id not in already]
        outcomes = list(self.client.run_commands(commands))
        failed = [o for o in outcomes if o.status != "ok" and not _already_exists(o.error)]
        if failed:
            raise RuntimeError(f"не удалось добавить {len(failed)} из {len(commands)}: {failed[0].error}")
        return len(commands)

    def report(self, act_code: str, *, with_names: bool = True) -> list[Acknowledgement]:
        """Every employee the act was published to, acknowledged or not."""
        act_field = self._field_id("ACT_CODE")
        select = [self._field_id(code) for code in ("ACT_CODE", "STATUS", "EMPLOYEE", "ACKNOWLEDGED_AT")]
        rows = self.client.get_all("lists.element.get", {**self.target, "FILTER": {act_field: act_code},
                                                         "SELECT": ["ID", *select]})  # the default is ID only
        states = [self._state(row) for row in rows if self._value(row, "ACT_CODE") == act_code]
        names = self._names([s.user_id for s in states]) if with_names else {}
        return [Acknowledgement(s.user_id, names.get(s.user_id, ""), s.acknowledged, s.acknowledged_at)
                for s in sorted(states, key=lambda s: s.user_id)]

    def of_employee(self, user_id: int) -> list[EmployeeAct]:
        """Every act published to the employee, the newest first."""
        codes = ("ACT_CODE", "ACT_TITLE", "ACT_FILE", "EMPLOYEE", "DEADLINE", "STATUS", "ACKNOWLEDGED_AT")
        rows = self.client.get_all("lists.element.get", {
            **self.target, "FILTER": {self._field_id("EMPLOYEE"): user_id},
            "SELECT": ["ID", *(self._field_id(code) for code in codes)]})
        mine = [row for row in rows if self._user(row) == user_id]
        return [self._act(row) for row in sorted(mine, key=lambda row: -int(row["ID"]))]

    def acknowledge(self, as_employee: B24Client, user_id: int, element_id: int) -> None:
        """Complete the employee's own review task of the act's workflow (only the assignee may: their
        token); the workflow then writes «Ознакомлен», who and when to the element."""
        tasks = as_employee.get_all("bizproc.task.list", {"SELECT": ["ID", "DOCUMENT_ID"],
                                                          "FILTER": {"USER_ID": user_id, "USER_STATUS": 0}})
        task = next((t for t in tasks if str(t.get("DOCUMENT_ID", "")) == str(element_id)), None)
        if task is None:
            raise NotWaiting(element_id)
        as_employee.call("bizproc.task.complete", {"TASK_ID": int(task["ID"]), "STATUS": REVIEWED, "COMMENT": ""})

    def _act(self, row: dict[str, Any]) -> EmployeeAct:
        state = self._state(row)
        # a File (Drive) value is written "n<Drive file id>" (REST docs: lists/elements/lists-element-add.md);
        # read back alike [inferred]
        file_id = str(self._value(row, "ACT_FILE") or "").removeprefix("n")
        return EmployeeAct(element_id=int(row["ID"]), act_code=str(self._value(row, "ACT_CODE") or ""),
                           title=str(self._value(row, "ACT_TITLE") or ""),
                           file_id=int(file_id) if file_id.isdigit() else None,
                           deadline=self._value(row, "DEADLINE") or None, acknowledged=state.acknowledged,
                           acknowledged_at=state.acknowledged_at)

    def _user(self, row: dict[str, Any]) -> int | None:
        text = str(self._value(row, "EMPLOYEE") or "").removeprefix("user_")
        return int(text) if text.isdigit() else None

    def _fields(self, act_code: str, title: str, file_id: int, user_id: int, deadline: str | None) -> dict:
        fields = {"NAME": f"{title} — ознакомление", "PROPERTY_ACT_CODE": act_code, "PROPERTY_ACT_TITLE": title,
                  "PROPERTY_ACT_FILE": file_id, "PROPERTY_EMPLOYEE": user_id}
        if deadline:
            fields["PROPERTY_DEADLINE"] = deadline
        return fields

    def _state(self, row: dict[str, Any]) -> Acknowledgement:
        status_id = self._value(row, "STATUS")
        labels = self.fields["STATUS"][1].get("DISPLAY_VALUES_FORM") or {}
        acknowledged_label = self.process_options("STATUS")[ACKNOWLEDGED]
        return Acknowledgement(user_id=self._user(row) or 0, name="",
                               acknowledged=labels.get(str(status_id), status_id) == acknowledged_label,
                               acknowledged_at=self._value(row, "ACKNOWLEDGED_AT"))

    def process_options(self, code: str) -> dict[str, str]:
        return next(f["options"] for f in self.process.list_fields() if f["code"] == code)

    def _field_id(self, code: str) -> str:
        return self.fields[code][0]

    def _value(self, row: dict[str, Any], code: str) -> Any:
        raw = row.get(self._field_id(code))
        values = list(raw.values()) if isinstance(raw, dict) else ([raw] if raw not in (None, "") else [])
        return values[0] if values else None

    def _names(self, user_ids: list[int]) -> dict[int, str]:
        if not user_ids:
            return {}
        users = self.client.get_all("user.get", {"FILTER": {"ID": user_ids}, "ADMIN_MODE": True})
        return {int(u["ID"]): f"{u.get('LAST_NAME', '')} {u.get('NAME', '')}".strip() for u in users}


def _already_exists(error: Any) -> bool:
    return getattr(error, "code", "") == "ERROR_ELEMENT_ALREADY_EXISTS"
