"""Writing a SyncPlan: commands through ``B24Client.run_commands`` -> outcomes in the mapping table.

Order: groups (they must exist before users are invited into them) -> moderators -> users
(user.add, user.update and the memberships of users created so far, interleaved by the client)
-> the memberships still unconfirmed. Every create is written to the mapping as *pending* (no
Bitrix24 id) before it is sent, so a run that dies anywhere is reconciled by natural key on rerun
(``sync_jobs.reconcile``: users by XML_ID, groups by their KEYWORDS marker).
"""
from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator

from b24app.bitrix import Command, CommandOutcome

from sync_jobs.desired import DesiredGroup, DesiredUser, state_hash
from sync_jobs.errors import reason
from sync_jobs.keys import user_xml_id
from sync_jobs.plan import SyncPlan
from sync_jobs.reconcile import Reconciler
from sync_jobs.sender import MAX_ROUNDS, Sender, chunks

MEMBERSHIP_PREFIX = "sonet_group.user."


class PlanWriter:
    """Carries out a SyncPlan and records every outcome in the mapping table."""

    def __init__(self, sender: Sender, reconciler: Reconciler, *, owner_id: int) -> None:
        self.sender = sender
        self.reconciler = reconciler
        self.store = sender.store
        self.report = sender.report
        self.owner_id = owner_id

    # -- groups ---------------------------------------------------------------------------------

    def run_groups(self, plan: SyncPlan) -> None:
        for group in plan.group_creates:
            self.store.put("group", group.key, b24_id=None, state_hash=None, moderators=[], name=group.name)
        self.store.flush()
        self._create_groups(plan.group_creates)
        updates = [Command("sonet_group.update", {"GROUP_ID": gid, **group.fields}, ref=group)
                   for group, gid in plan.group_updates]
        for outcome in self.sender.send(updates):
            group = outcome.command.ref
            if outcome.status == "ok":
                self.store.put("group", group.key, b24_id=outcome.command.params["GROUP_ID"],
                               state_hash=state_hash(group.fields), name=group.name)
                self.report.count("groups_updated")
            else:
                self.sender.error(outcome, "group", group.key, group.name)
        self._add_moderators(plan.moderator_adds)
        self.store.flush()

    def _create_groups(self, groups: list[DesiredGroup]) -> None:
        remaining = groups
        for _ in range(MAX_ROUNDS):
            commands = [Command("sonet_group.create", {**g.fields, "OWNER_ID": self.owner_id}, ref=g)
                        for g in remaining]
            unknown = []
            for outcome in self.sender.send(commands):
                group = outcome.command.ref
                if outcome.status == "ok":
                    self._group_created(group, int(outcome.result))
                elif outcome.status == "error":
                    self.store.remove("group", group.key)
                    self.sender.error(outcome, "group", group.key, group.name)
                else:
                    unknown.append(group)
            if not unknown:
                return
            on_portal = self.reconciler.portal_groups()
            for group in unknown:
                if group.key in on_portal:
                    self._group_created(group, int(on_portal[group.key]["ID"]))
            remaining = [g for g in unknown if g.key not in on_portal]
        self.sender.left_pending("group", [(g.key, g.name) for g in remaining])

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
            for outcome in self.sender.send(commands):
                if outcome.status == "ok" and on_ok is not None:
                    on_ok(outcome)
                elif outcome.status == "error":
                    self.sender.error(outcome, kind, str(outcome.command.ref[0]), outcome.command.method)
                elif outcome.status == "unknown":
                    unknown.append(outcome.command)
            if not unknown:
                return
            commands = unknown
        self.sender.left_pending(kind, [(str(c.ref[0]), c.method) for c in commands])

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
        params = {**(user.fields or {}), "XML_ID": user_xml_id(user.key), "EXTRANET": "Y",
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
            for outcome in self.sender.send(itertools.chain(extra, map(self._user_add, remaining), early)):
                if outcome.command.method.startswith(MEMBERSHIP_PREFIX):
                    if outcome.status == "ok":
                        self._membership_done(outcome)
                    continue
                action, user = outcome.command.ref
                if outcome.status == "ok":
                    self._user_done(action, user, outcome)
                elif outcome.status == "error":
                    self._refused(action, user, outcome)
                    self.sender.error(outcome, "user", user.key, user.title)
                else:
                    unknown.append(user)
            if not unknown:
                return
            found = self.reconciler.users_by_xml_id([u.key for u in unknown])
            for user in unknown:
                if user.key in found:
                    self._user_done("create", user, None, int(found[user.key]["ID"]))
            remaining, extra, early = [u for u in unknown if u.key not in found], [], []
        self.sender.left_pending("user", [(u.key, u.title) for u in remaining])

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
