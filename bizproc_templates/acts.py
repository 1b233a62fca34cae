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


@dataclass(frozen=True)
class Acknowledgement:
    """One employee's state for one act."""

    user_id: int
    name: str
    acknowledged: bool
    acknowledged_at: str | None


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
        return Acknowledgement(user_id=int(str(self._value(row, "EMPLOYEE")).removeprefix("user_")), name="",
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
