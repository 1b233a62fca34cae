"""Before a plan is trusted: the portal's word on what a dead run left pending, and, nightly, on drift.

A create whose answer was lost is found again by its natural key (``sync_jobs.keys``): a group by
its KEYWORDS marker, a user by XML_ID. The nightly full run also compares the portal with the
mapping table, so groups, users and memberships changed by hand are pushed again.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from b24app.bitrix import Command

from sync_jobs.desired import USER_FIELDS, DesiredUser
from sync_jobs.errors import SyncFatal, reason
from sync_jobs.keys import department_of_marker, person_of_xml_id, user_xml_id
from sync_jobs.sender import MAX_ROUNDS, Sender, chunks
from sync_jobs.store import Row

DRIFT_FIELDS = ("NAME", "LAST_NAME", "SECOND_NAME", "EMAIL", "WORK_POSITION")
UNSURE = "unsure"  # a user row's groups whose membership a sent command may have changed


def _active(value: Any) -> bool:
    return value in (True, "Y", "y", "true", 1, "1")


class Reconciler:
    """Settles the mapping table with the portal: pending creates, user fields, drift."""

    def __init__(self, sender: Sender) -> None:
        self.sender = sender
        self.client = sender.client
        self.store = sender.store
        self.portal_users: dict[str, dict[str, Any]] = {}

    # -- user fields ----------------------------------------------------------------------------

    def ensure_user_fields(self) -> None:
        """Create the UF_ fields for табельный номер, legal entity and department if missing.

        An add with an unknown outcome is settled by listing the fields again before resending.
        """
        for _ in range(MAX_ROUNDS):
            existing = {str(f.get("FIELD_NAME")): f for f in self.client.get_all("user.userfield.list", {})}
            missing = [name for name in USER_FIELDS if name not in existing]
            if not missing:
                for name in USER_FIELDS:
                    self.store.put("userfield", name, b24_id=int(existing[name]["ID"]), state_hash=None)
                self.store.flush()
                return
            commands = [Command("user.userfield.add", {"fields": {
                "FIELD_NAME": name, "USER_TYPE_ID": "string", "XML_ID": name,
                "EDIT_FORM_LABEL": {"ru": USER_FIELDS[name]}, "LIST_COLUMN_LABEL": {"ru": USER_FIELDS[name]}}})
                for name in missing]
            for outcome in self.sender.send(commands):
                if outcome.status == "error":
                    raise SyncFatal(f"Не удалось создать поле пользователя: {reason(outcome.error)}")
        raise SyncFatal("Не удалось создать поля пользователя UF_USR_ZUP_*: исход неизвестен после повторов")

    def user_fields_known(self) -> bool:
        return {row.key for row in self.store.of_kind("userfield")} >= set(USER_FIELDS)

    # -- reconciliation by natural key ----------------------------------------------------------

    def portal_groups(self) -> dict[str, dict[str, Any]]:
        """Our groups on the portal by their department key (read with the list export)."""
        groups = self.client.get_all("sonet_group.get", {"IS_ADMIN": "Y"})
        return {key: g for g in groups if (key := department_of_marker(g.get("KEYWORDS"))) is not None}

    def users_by_xml_id(self, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Portal users of the given person keys, 50 XML_IDs per user.get, 50 user.get per request."""
        commands = [Command("user.get", {"FILTER": {"@XML_ID": [user_xml_id(k) for k in chunk]}, "ADMIN_MODE": "Y"})
                    for chunk in chunks(list(keys))]
        found: dict[str, dict[str, Any]] = {}
        for outcome in self.sender.send(commands):
            if outcome.status != "ok":
                raise SyncFatal(f"Не удалось найти пользователей по XML_ID: {reason(outcome.error)}")
            for user in outcome.result or []:
                if (key := person_of_xml_id(user.get("XML_ID"))) is not None:
                    found[key] = user
        return found

    def reconcile_pending(self) -> None:
        """What a run that died left unsettled: adopt the creates that exist on the portal, forget the
        rest (replanned), and read back the memberships it may have changed."""
        pending_groups = self.store.pending("group")
        if pending_groups:
            on_portal = self.portal_groups()
            for row in pending_groups:
                self._adopt_group(row.key, on_portal.get(row.key))
        pending_users = self.store.pending("user")
        if pending_users:
            on_portal = self.users_by_xml_id([row.key for row in pending_users])
            for row in pending_users:
                self._adopt_user(row.key, on_portal.get(row.key))
        self.reconcile_memberships()
        self.store.flush()

    def reconcile_memberships(self) -> None:
        """Users whose membership of a group a dead run may have changed (``unsure``, written before the
        command was sent): their groups as the portal has them, so nobody stays in a group left in 1C."""
        unsure = [row for row in self.store.of_kind("user") if row.state.get(UNSURE)]
        group_keys = sorted({key for row in unsure for key in row.state[UNSURE]})
        members = self._members({key: group.b24_id for key in group_keys
                                 if (group := self.store.get("group", key)) is not None and group.b24_id is not None})
        for row in unsure:
            groups = set(row.state.get("groups", []))
            for key in row.state.pop(UNSURE):
                groups = groups | {key} if row.b24_id in members.get(key, ()) else groups - {key}
            row.state["groups"] = sorted(groups)
            self.store.touch(row)

    def _members(self, groups: dict[str, int]) -> dict[str, set[int]]:
        """Group key -> ids of its members on the portal."""
        members: dict[str, set[int]] = {}
        commands = [Command("sonet_group.user.get", {"ID": gid}, ref=key) for key, gid in groups.items()]
        for outcome in self.sender.send(commands):
            if outcome.status != "ok":
                raise SyncFatal(f"Не удалось прочитать участников группы: {reason(outcome.error)}")
            members[outcome.command.ref] = {int(m["USER_ID"]) for m in outcome.result or []}
        return members

    def _adopt_group(self, key: str, group: dict[str, Any] | None) -> None:
        if group is None:
            self.store.remove("group", key)
        else:
            self.store.put("group", key, b24_id=int(group["ID"]), state_hash=None, moderators=[])

    def _adopt_user(self, key: str, user: dict[str, Any] | None) -> None:
        """A found user gets a stale hash and no known groups: the plan re-sends fields and memberships."""
        if user is None:
            self.store.remove("user", key)
        else:
            self.store.put("user", key, b24_id=int(user["ID"]), state_hash=None, groups=[],
                           active=_active(user.get("ACTIVE")))

    # -- nightly drift repair -------------------------------------------------------------------

    def observe_portal(self) -> None:
        """Compare the portal with the mapping; anything changed by hand is marked for a re-push.

        The users the sync created are kept by key (a few fields): ``observe_user`` compares each
        desired user with them as the run decides it."""
        self._observe_groups()
        users = self.client.get_all("user.get", {"FILTER": {"USER_TYPE": "extranet"}, "ADMIN_MODE": "Y"})
        self.portal_users = {key: {name: u.get(name) for name in ("ID", "ACTIVE", *DRIFT_FIELDS)}
                             for u in users if (key := person_of_xml_id(u.get("XML_ID"))) is not None}
        for row in [r for r in self.store.of_kind("user") if r.b24_id is not None]:
            self._observe_user(row, self.portal_users.get(row.key))
        self._observe_memberships()
        self.store.flush()

    def observe_user(self, desired: DesiredUser) -> None:
        """After ``observe_portal``: adopt the desired user's account when the mapping lost it, and mark
        fields changed by hand for a re-push."""
        portal = self.portal_users.get(desired.key)
        if portal is None:
            return
        row = self.store.get("user", desired.key)
        if row is None:
            self._adopt_user(desired.key, portal)
        elif row.b24_id is not None and desired.fields is not None and any(
                str(portal.get(name) or "") != str(desired.fields.get(name) or portal.get(name) or "")
                for name in DRIFT_FIELDS):
            row.state_hash = None
            self.store.touch(row)

    def _observe_groups(self) -> None:
        on_portal = self.portal_groups()
        for key, group in on_portal.items():
            row = self.store.get("group", key)
            if row is None or row.b24_id != int(group["ID"]):
                self._adopt_group(key, group)
            elif row.state_hash is not None and str(group.get("NAME")) != row.state.get("name"):
                row.state_hash = None
                self.store.touch(row)
        for row in self.store.of_kind("group"):
            if row.key not in on_portal:
                self.store.remove("group", row.key)  # deleted by hand: created again

    def _observe_user(self, row: Row, portal: dict[str, Any] | None) -> None:
        if portal is None:
            self.store.remove("user", row.key)  # gone from the portal: invited again if still wanted
            return
        row.b24_id = int(portal["ID"])
        row.state["active"] = _active(portal.get("ACTIVE"))
        self.store.touch(row)

    def _observe_memberships(self) -> None:
        groups = {row.key: row.b24_id for row in self.store.of_kind("group") if row.b24_id is not None}
        members = self._members(groups)
        for row in self.store.of_kind("user"):
            if row.b24_id is not None:
                actual = sorted(key for key, ids in members.items() if row.b24_id in ids)
                if actual != sorted(row.state.get("groups", [])):
                    row.state["groups"] = actual
                    self.store.touch(row)
