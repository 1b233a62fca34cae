"""Execution: a SyncPlan -> commands through ``B24Client.run_commands`` -> the mapping table.

Order: groups (they must exist before users are invited into them) -> moderators -> users
(user.add, user.update and the memberships of users created so far, interleaved by the client)
-> the memberships still unconfirmed. Every create is written to
the mapping as *pending* (no Bitrix24 id) before it is sent, so a run that dies anywhere is
reconciled by natural key on rerun (users by XML_ID, groups by their KEYWORDS marker).
"""
from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from b24app.bitrix import B24Client, Command, CommandOutcome
from b24app.bitrix.pacing import BATCH_MAX

from sync_jobs.desired import (USER_FIELDS, DesiredGroup, DesiredState, DesiredUser, Skipped, state_hash,
                               xml_id)
from sync_jobs.errors import SyncFatal, classify, reason
from sync_jobs.plan import SyncPlan
from sync_jobs.store import MappingStore, Row

MEMBERSHIP_PREFIX = "sonet_group.user."
MAX_ROUNDS = 4  # sends of one create before its outcome is left to the next run's reconciliation
READ_VERBS = ("get", "list", "fields")
DRIFT_FIELDS = ("NAME", "LAST_NAME", "SECOND_NAME", "EMAIL", "WORK_POSITION")


def chunks(items: Sequence[Any], size: int = BATCH_MAX) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _is_write(method: str) -> bool:
    return method.rsplit(".", 1)[-1].lower() not in READ_VERBS


def _active(value: Any) -> bool:
    return value in (True, "Y", "y", "true", 1, "1")


@dataclass
class Report:
    """What a run did: counts of confirmed writes, records left out, write commands sent."""

    counts: dict[str, int] = field(default_factory=dict)
    records: list[Skipped] = field(default_factory=list)
    write_commands: int = 0

    def count(self, name: str, amount: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + amount

    def skip(self, kind: str, key: str, title: str, why: str) -> None:
        self.records.append(Skipped(kind, key, title, why))


class Executor:
    """Sends commands and records their outcomes in the mapping table."""

    def __init__(self, client: B24Client, store: MappingStore, report: Report, *, owner_id: int,
                 on_outcome: Callable[[], None] = lambda: None) -> None:
        self.client = client
        self.store = store
        self.report = report
        self.owner_id = owner_id
        self.on_outcome = on_outcome

    # -- sending --------------------------------------------------------------------------------

    def send(self, commands: Iterable[Command]) -> Iterator[CommandOutcome]:
        """Outcomes of ``commands``; per-command errors are classified, fatal ones stop the run."""
        for outcome in self.client.run_commands(commands):
            if _is_write(outcome.command.method):
                self.report.write_commands += 1
                self.on_outcome()
            if outcome.status == "error" and classify(outcome.error, per_command=True) == "fatal":
                self.store.flush()
                raise SyncFatal(f"Битрикс24 отказал: {reason(outcome.error)}")
            yield outcome

    def _error(self, outcome: CommandOutcome, kind: str, key: str, title: str) -> None:
        self.report.skip(kind, key, title, reason(outcome.error))
        self.report.count("errors")

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
            for outcome in self.send(commands):
                if outcome.status == "error":
                    raise SyncFatal(f"Не удалось создать поле пользователя: {reason(outcome.error)}")
        raise SyncFatal("Не удалось создать поля пользователя UF_USR_ZUP_*: исход неизвестен после повторов")

    def user_fields_known(self) -> bool:
        return {row.key for row in self.store.of_kind("userfield")} >= set(USER_FIELDS)

    # -- reconciliation by natural key ----------------------------------------------------------

    def portal_groups(self) -> dict[str, dict[str, Any]]:
        """Our groups on the portal by their department key (read with the list export)."""
        groups = self.client.get_all("sonet_group.get", {"IS_ADMIN": "Y"})
        return {str(g["KEYWORDS"])[len("zup-"):]: g for g in groups
                if str(g.get("KEYWORDS") or "").startswith("zup-")}

    def users_by_xml_id(self, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Portal users of the given person keys, 50 XML_IDs per user.get, 50 user.get per request."""
        commands = [Command("user.get", {"FILTER": {"@XML_ID": [xml_id(k) for k in chunk]}, "ADMIN_MODE": "Y"})
                    for chunk in chunks(list(keys))]
        found: dict[str, dict[str, Any]] = {}
        for outcome in self.send(commands):
            if outcome.status != "ok":
                raise SyncFatal(f"Не удалось найти пользователей по XML_ID: {reason(outcome.error)}")
            for user in outcome.result or []:
                found[str(user.get("XML_ID"))[len("zup:"):]] = user
        return found

    def reconcile_pending(self) -> None:
        """Creates of a run that died: adopt what exists on the portal, forget the rest (replanned)."""
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
        self.store.flush()

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

    def observe_portal(self, desired: DesiredState) -> None:
        """Compare the portal with the mapping; anything changed by hand is marked for a re-push."""
        self._observe_groups()
        users = self.client.get_all("user.get", {"FILTER": {"USER_TYPE": "extranet"}, "ADMIN_MODE": "Y"})
        by_key = {str(u["XML_ID"])[len("zup:"):]: u for u in users if str(u.get("XML_ID") or "").startswith("zup:")}
        for key, user in by_key.items():
            if self.store.get("user", key) is None and key in desired.users:
                self._adopt_user(key, user)
        for row in [r for r in self.store.of_kind("user") if r.b24_id is not None]:
            self._observe_user(row, by_key.get(row.key), desired.users.get(row.key))
        self._observe_memberships()
        self.store.flush()

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

    def _observe_user(self, row: Row, portal: dict[str, Any] | None, desired: DesiredUser | None) -> None:
        if portal is None:
            self.store.remove("user", row.key)  # gone from the portal: invited again if still wanted
            return
        row.b24_id = int(portal["ID"])
        row.state["active"] = _active(portal.get("ACTIVE"))
        if desired is not None and desired.fields is not None and any(
                str(portal.get(name) or "") != str(desired.fields.get(name) or portal.get(name) or "")
                for name in DRIFT_FIELDS):
            row.state_hash = None
        self.store.touch(row)

    def _observe_memberships(self) -> None:
        groups = {row.b24_id: row.key for row in self.store.of_kind("group") if row.b24_id is not None}
        members: dict[str, set[int]] = {}
        commands = [Command("sonet_group.user.get", {"ID": gid}, ref=key) for gid, key in groups.items()]
        for outcome in self.send(commands):
            if outcome.status != "ok":
                raise SyncFatal(f"Не удалось прочитать участников группы: {reason(outcome.error)}")
            members[outcome.command.ref] = {int(m["USER_ID"]) for m in outcome.result or []}
        for row in self.store.of_kind("user"):
            if row.b24_id is not None:
                actual = sorted(key for key, ids in members.items() if row.b24_id in ids)
                if actual != sorted(row.state.get("groups", [])):
                    row.state["groups"] = actual
                    self.store.touch(row)

    # -- groups ---------------------------------------------------------------------------------

    def run_groups(self, plan: SyncPlan) -> None:
        for group in plan.group_creates:
            self.store.put("group", group.key, b24_id=None, state_hash=None, moderators=[], name=group.name)
        self.store.flush()
        self._create_groups(plan.group_creates)
        updates = [Command("sonet_group.update", {"GROUP_ID": gid, **group.fields}, ref=group)
                   for group, gid in plan.group_updates]
        for outcome in self.send(updates):
            group = outcome.command.ref
            if outcome.status == "ok":
                self.store.put("group", group.key, b24_id=outcome.command.params["GROUP_ID"],
                               state_hash=state_hash(group.fields), name=group.name)
                self.report.count("groups_updated")
            else:
                self._error(outcome, "group", group.key, group.name)
        self._add_moderators(plan.moderator_adds)
        self.store.flush()

    def _create_groups(self, groups: list[DesiredGroup]) -> None:
        remaining = groups
        for _ in range(MAX_ROUNDS):
            commands = [Command("sonet_group.create", {**g.fields, "OWNER_ID": self.owner_id}, ref=g)
                        for g in remaining]
            unknown = []
            for outcome in self.send(commands):
                group = outcome.command.ref
                if outcome.status == "ok":
                    self._group_created(group, int(outcome.result))
                elif outcome.status == "error":
                    self.store.remove("group", group.key)
                    self._error(outcome, "group", group.key, group.name)
                else:
                    unknown.append(group)
            if not unknown:
                return
            on_portal = self.portal_groups()
            for group in unknown:
                if group.key in on_portal:
                    self._group_created(group, int(on_portal[group.key]["ID"]))
            remaining = [g for g in unknown if g.key not in on_portal]
        self._left_pending("group", [(g.key, g.name) for g in remaining])

    def _group_created(self, group: DesiredGroup, group_id: int) -> None:
        self.store.put("group", group.key, b24_id=group_id, state_hash=state_hash(group.fields), name=group.name)
        self.report.count("groups_created")

    def _add_moderators(self, moderator_adds: dict[str, tuple[int, ...]]) -> None:
        """Managers join as members, then become moderators (role E)."""
        targets = [(key, ids, row.b24_id) for key, ids in moderator_adds.items()
                   if (row := self.store.get("group", key)) is not None and row.b24_id is not None]
        for method, extra in (("sonet_group.user.add", {}), ("sonet_group.user.update", {"ROLE": "E"})):
            commands = [Command(method, {"GROUP_ID": gid, "USER_ID": list(ids), **extra}, ref=(key, ids))
                        for key, ids, gid in targets]
            self._resend_until_known(commands, self._moderators_done if extra else None, "group")

    def _moderators_done(self, outcome: CommandOutcome) -> None:
        key, ids = outcome.command.ref
        row = self.store.get("group", key)
        if row is not None:
            row.state["moderators"] = sorted(set(row.state.get("moderators", [])) | set(ids))
            self.store.touch(row)
            self.report.count("moderators_added", len(ids))

    def _resend_until_known(self, commands: list[Command], on_ok: Callable[[CommandOutcome], None] | None,
                            kind: str) -> None:
        """Commands that are safe to repeat (membership changes): resend those with an unknown outcome."""
        for _ in range(MAX_ROUNDS):
            unknown = []
            for outcome in self.send(commands):
                if outcome.status == "ok" and on_ok is not None:
                    on_ok(outcome)
                elif outcome.status == "error":
                    self._error(outcome, kind, str(outcome.command.ref[0]), outcome.command.method)
                elif outcome.status == "unknown":
                    unknown.append(outcome.command)
            if not unknown:
                return
            commands = unknown
        self._left_pending(kind, [(str(c.ref[0]), c.method) for c in commands])

    def _left_pending(self, kind: str, items: list[tuple[str, str]]) -> None:
        for key, title in items:
            self.report.skip(kind, key, title, reason(None))
            self.report.count("unknown")

    # -- users ----------------------------------------------------------------------------------

    def run_users(self, plan: SyncPlan) -> None:
        creatable: list[DesiredUser] = []
        for user in plan.user_creates:
            if self._group_ids(user) is None:
                self.report.skip("user", user.key, user.title, "группа подразделения не создана")
            else:
                creatable.append(user)
                self.store.put("user", user.key, b24_id=None, state_hash=None, groups=[], active=True)
        self.store.flush()
        self._create_users(creatable, self._updates(plan), self._memberships(plan))
        self.store.flush()

    def _group_ids(self, user: DesiredUser) -> list[int] | None:
        rows = [self.store.get("group", key) for key in sorted(user.groups)]
        ids = [row.b24_id for row in rows if row is not None and row.b24_id is not None]
        return ids if len(ids) == len(rows) and ids else None

    def _updates(self, plan: SyncPlan) -> list[Command]:
        updates = [Command("user.update", {"ID": u.b24_id, **(u.user.fields or {}), "ACTIVE": "Y"},
                           ref=("reactivate" if u.reactivate else "update", u.user))
                   for u in plan.user_updates]
        return updates + [Command("user.update", {"ID": b24_id, "ACTIVE": "N"}, ref=("deactivate", user))
                          for user, b24_id in plan.deactivations]

    def _user_add(self, user: DesiredUser) -> Command:
        params = {**(user.fields or {}), "XML_ID": xml_id(user.key), "EXTRANET": "Y",
                  "SONET_GROUP_ID": self._group_ids(user)}
        return Command("user.add", params, ref=("create", user))

    def _create_users(self, creates: list[DesiredUser], updates: list[Command],
                      memberships: Iterable[Command]) -> None:
        """user.add, user.update and memberships in one stream, so the client interleaves their budgets.

        ``memberships`` is read lazily, after the last user command was taken: it holds the users created
        by then, and their memberships go out while user.add waits for its budget. What it misses (or
        what fails) is sent by ``run_memberships``.
        """
        remaining, extra, early = creates, updates, memberships
        for _ in range(MAX_ROUNDS):
            unknown = []
            for outcome in self.send(itertools.chain(extra, map(self._user_add, remaining), early)):
                if outcome.command.method.startswith(MEMBERSHIP_PREFIX):
                    if outcome.status == "ok":
                        self._membership_done(outcome)
                    continue
                action, user = outcome.command.ref
                if outcome.status == "ok":
                    self._user_done(action, user, outcome)
                elif outcome.status == "error":
                    self._refused(action, user, outcome)
                    self._error(outcome, "user", user.key, user.title)
                else:
                    unknown.append(user)
            if not unknown:
                return
            found = self.users_by_xml_id([u.key for u in unknown])
            for user in unknown:
                if user.key in found:
                    self._user_done("create", user, None, int(found[user.key]["ID"]))
            remaining, extra, early = [u for u in unknown if u.key not in found], [], []
        self._left_pending("user", [(u.key, u.title) for u in remaining])

    def _refused(self, action: str, user: DesiredUser, outcome: CommandOutcome) -> None:
        """Remember a refused invitation or update: not resent until the person's data changes in 1C."""
        digest, why = state_hash(user.fields or {}), reason(outcome.error)
        if action == "create":
            self.store.remove("user", user.key)
            self.store.put("rejected", user.key, b24_id=None, state_hash=digest, reason=why)
        elif action != "deactivate" and (row := self.store.get("user", user.key)) is not None:
            row.state["refused"] = [digest, why]
            self.store.touch(row)

    def _user_done(self, action: str, user: DesiredUser, outcome: CommandOutcome | None,
                   found_id: int | None = None) -> None:
        row = self.store.get("user", user.key)
        if action == "create":
            self.store.remove("rejected", user.key)
            b24_id = found_id if found_id is not None else int(outcome.result)  # type: ignore[union-attr]
            row = self.store.put("user", user.key, b24_id=b24_id, state_hash=None, groups=[], active=True)
        if row is None:
            return
        if action == "deactivate":
            row.state["active"] = False
        else:
            row.state_hash = state_hash(user.fields or {})
            row.state["active"] = True
            row.state.pop("refused", None)
        self.store.touch(row)
        self.report.count({"create": "users_created", "update": "users_updated", "reactivate": "users_reactivated",
                           "deactivate": "users_deactivated"}[action])

    # -- memberships ----------------------------------------------------------------------------

    def run_memberships(self, plan: SyncPlan) -> None:
        """The memberships not yet confirmed (most went out with the users, see ``_create_users``)."""
        self._resend_until_known(list(self._memberships(plan)), self._membership_done, "membership")
        self.store.flush()

    def _memberships(self, plan: SyncPlan) -> Iterator[Command]:
        yield from self._membership_commands(plan.membership_removes, MEMBERSHIP_PREFIX + "delete", "remove")
        yield from self._membership_commands(plan.membership_adds, MEMBERSHIP_PREFIX + "add", "add")

    def _membership_commands(self, changes: dict[str, list[str]], method: str, action: str) -> Iterator[Command]:
        """Commands for the users that exist and whose membership is not already as wanted."""
        for group_key, person_keys in changes.items():
            group = self.store.get("group", group_key)
            users = [(key, row.b24_id) for key in person_keys
                     if (row := self.store.get("user", key)) is not None and row.b24_id is not None
                     and (group_key in row.state.get("groups", ())) != (action == "add")]
            if group is None or group.b24_id is None or not users:
                continue
            for chunk in chunks(users):
                yield Command(method, {"GROUP_ID": group.b24_id, "USER_ID": [uid for _, uid in chunk]},
                              ref=(group_key, action, tuple(key for key, _ in chunk)))

    def _membership_done(self, outcome: CommandOutcome) -> None:
        group_key, action, person_keys = outcome.command.ref
        for key in person_keys:
            row = self.store.get("user", key)
            if row is None:
                continue
            groups = set(row.state.get("groups", []))
            groups = groups | {group_key} if action == "add" else groups - {group_key}
            row.state["groups"] = sorted(groups)
            self.store.touch(row)
        self.report.count("memberships_added" if action == "add" else "memberships_removed", len(person_keys))
