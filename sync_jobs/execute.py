"""Writing a SyncPlan: commands through ``B24Client.run_commands`` -> outcomes in the mapping table.

Order: groups (they must exist before users are invited into them) -> moderators -> users
(user.add, user.update and the memberships of users created so far, interleaved by the client)
-> the memberships still unconfirmed. Every create is written to the mapping as *pending* (no
Bitrix24 id) before it is sent, so a run that dies anywhere is reconciled by natural key on rerun
(``sync_jobs.reconcile``: users by XML_ID, groups by their KEYWORDS marker).
"""
from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from b24app.bitrix import Command, CommandOutcome
from b24app.bitrix.commands import PAUSE
from b24app.bitrix.pacing import BATCH_MAX

from sync_jobs.desired import DesiredGroup, DesiredUser, state_hash
from sync_jobs.errors import reason
from sync_jobs.keys import user_xml_id
from sync_jobs.pipeline import DecidedFeed
from sync_jobs.plan import SyncPlan, UserUpdate
from sync_jobs.reconcile import UNSURE, Reconciler
from sync_jobs.sender import MAX_ROUNDS, Sender, chunks

MEMBERSHIP_PREFIX = "sonet_group.user."
MEMBERSHIP_WAIT_S = 3.0  # a group's ready membership adds go out at 50 users, or once the first waited this long


@dataclass
class PlanCursor:
    """How much of a growing plan the stream has taken."""

    group_creates: int = 0
    group_updates: int = 0
    user_creates: int = 0
    user_updates: int = 0


def _group_update(group: DesiredGroup, group_id: int) -> Command:
    return Command("sonet_group.update", {"GROUP_ID": group_id, **group.fields}, ref=group)


def _user_update(update: UserUpdate) -> Command:
    return Command("user.update", {"ID": update.b24_id, **(update.user.fields or {}), "ACTIVE": "Y"},
                   ref=("reactivate" if update.reactivate else "update", update.user))


class PlanWriter:
    """Carries out a SyncPlan and records every outcome in the mapping table."""

    def __init__(self, sender: Sender, reconciler: Reconciler, *, owner_id: int) -> None:
        self.sender = sender
        self.reconciler = reconciler
        self.store = sender.store
        self.report = sender.report
        self.owner_id = owner_id

    # -- groups ---------------------------------------------------------------------------------

    # -- the pipelined stream -------------------------------------------------------------------

    def run_pipelined(self, feed: DecidedFeed) -> None:
        """Everything ``feed`` plans while 1C is read, in one stream of commands: group creates and
        updates, user updates, a user's user.add once its groups exist, and memberships (50 users a
        command) once user and group exist. Removals and deactivations are left to ``finish``."""
        self._waiting: list[DesiredUser] = []  # creates whose groups are not confirmed yet
        self._unknown_groups: list[DesiredGroup] = []
        self._unknown_users: list[DesiredUser] = []
        self._ready_adds: dict[str, list[str]] = {}  # group key -> person keys of existing users to add
        self._ready_since: dict[str, float] = {}  # group key -> when its first waiting add became ready
        self._adds_of_new_user: dict[str, list[str]] = {}  # person key -> group keys, once user.add succeeds
        self._recheck_creates = False  # a group create or a user create was planned or settled since the last look
        self._recheck_adds = False  # a user or group a waiting membership add needs was settled since the last look
        self._in_flight = 0  # creates sent whose outcome is not in yet
        for outcome in self.sender.send(self._stream(feed)):
            if self.report.first_write_at is None:
                self.report.first_write_at = time.monotonic()
            self._stream_outcome(outcome)
        self.store.flush()

    def _stream(self, feed: DecidedFeed) -> Iterator[Command]:
        cursor = PlanCursor()
        while True:
            feed.pump()
            commands = [*self._group_commands(feed.plan, cursor), *self._user_updates(feed.plan, cursor)]
            creatable = self._user_creates(feed, cursor)
            memberships = self._ready_memberships(everything=feed.complete and self._in_flight == 0)
            if commands or creatable or memberships:
                self.store.flush()  # pending creates and unsure memberships are on record before they go out
                yield from commands
                yield from map(self._user_add, creatable)  # made as the sender asks (memory: its lookahead)
                yield from memberships
            elif feed.error is not None or (feed.complete and self._in_flight == 0):
                return
            else:
                yield PAUSE

    def _group_commands(self, plan: SyncPlan, cursor: PlanCursor) -> list[Command]:
        creates = plan.group_creates[cursor.group_creates:]
        updates = plan.group_updates[cursor.group_updates:]
        cursor.group_creates, cursor.group_updates = len(plan.group_creates), len(plan.group_updates)
        for group in creates:
            self._record_pending_group(group)
        self._in_flight += len(creates)
        return [*(self._group_create(group) for group in creates), *(_group_update(*pair) for pair in updates)]

    def _group_create(self, group: DesiredGroup) -> Command:
        return Command("sonet_group.create", {**group.fields, "OWNER_ID": self.owner_id}, ref=group)

    def _record_pending_group(self, group: DesiredGroup) -> None:
        """The group's create on record before it goes out (its outcome unknown until answered)."""
        self.store.put("group", group.key, b24_id=None, state_hash=None, moderators=[], name=group.name)

    def _record_pending_user(self, user: DesiredUser) -> None:
        """The user's create on record before it goes out, its memberships unsure until read back."""
        self.store.put("user", user.key, b24_id=None, state_hash=None, groups=[], active=True,
                       **{UNSURE: sorted(user.groups)})

    def _user_updates(self, plan: SyncPlan, cursor: PlanCursor) -> list[Command]:
        updates = plan.user_updates[cursor.user_updates:]
        cursor.user_updates = len(plan.user_updates)
        return list(map(_user_update, updates))

    def _user_creates(self, feed: DecidedFeed, cursor: PlanCursor) -> list[DesiredUser]:
        """The planned creates whose groups exist now, put on record as pending; the rest wait."""
        plan = feed.plan
        if len(plan.user_creates) > cursor.user_creates:
            self._waiting += plan.user_creates[cursor.user_creates:]
            self._recheck_creates = True
        cursor.user_creates = len(plan.user_creates)
        for group, person in feed.new_adds:
            self._add_membership(group, person)
        feed.new_adds.clear()
        creatable: list[DesiredUser] = []
        if self._waiting and self._recheck_creates:
            creatable, self._waiting = self._creatable(self._waiting, final=False)
            self._recheck_creates = False
        for user in creatable:
            self._record_pending_user(user)
        self._in_flight += len(creatable)
        return creatable

    def _add_membership(self, group: str, person: str) -> None:
        """A planned membership add: ready once the user exists (``_user_outcome`` moves it)."""
        row = self.store.get("user", person)
        if row is not None and row.b24_id is not None:
            self._ready_add(group, person)
        else:
            self._adds_of_new_user.setdefault(person, []).append(group)

    def _creatable(self, users: list[DesiredUser], *, final: bool) -> tuple[list[DesiredUser], list[DesiredUser]]:
        """(users whose groups all exist, users still waiting for a group create); a user whose group
        could not be created is listed, and so is every one still waiting when ``final``."""
        creatable, waiting = [], []
        for user in users:
            rows = [self.store.get("group", key) for key in user.groups]
            if rows and all(row is not None and row.b24_id is not None for row in rows):
                creatable.append(user)
            elif final or any(row is None for row in rows) or not rows:
                self.report.skip("user", user.key, user.title, "группа подразделения не создана")
            else:
                waiting.append(user)
        return creatable, waiting

    def _ready_add(self, group: str, person: str) -> None:
        self._ready_adds.setdefault(group, []).append(person)
        self._ready_since.setdefault(group, time.monotonic())
        self._recheck_adds = True

    def _ready_memberships(self, *, everything: bool) -> list[Command]:
        """Membership adds whose user and group exist: a command per 50 users of a group, the rest of a
        group whose first add waited MEMBERSHIP_WAIT_S (so few are left for the end of the run), and the
        rest of every group with ``everything``; marked unsure before they go out."""
        due = time.monotonic() - MEMBERSHIP_WAIT_S
        if not (self._recheck_adds or everything or any(since <= due for since in self._ready_since.values())):
            return []
        self._recheck_adds = False
        ready: dict[str, list[str]] = {}
        for group_key, person_keys in list(self._ready_adds.items()):
            group = self.store.get("group", group_key)
            if group is None or (everything and group.b24_id is None):
                del self._ready_adds[group_key]  # not created: listed as such, and by the final membership pass
                self._ready_since.pop(group_key, None)
            elif group.b24_id is not None and (everything or len(person_keys) >= BATCH_MAX
                                               or self._ready_since[group_key] <= due):
                ready[group_key] = person_keys
                del self._ready_adds[group_key], self._ready_since[group_key]
        commands = list(self._membership_commands(ready, MEMBERSHIP_PREFIX + "add", "add"))
        self._mark_unsure(commands)
        return commands

    def _stream_outcome(self, outcome: CommandOutcome) -> None:
        method = outcome.command.method
        if method.startswith(MEMBERSHIP_PREFIX):
            if outcome.status == "ok":
                self._membership_done(outcome)
        elif method == "sonet_group.create":
            self._in_flight -= 1
            self._recheck_creates = self._recheck_adds = True
            if (group := self._group_outcome(outcome)) is not None:
                self._unknown_groups.append(group)
        elif method == "sonet_group.update":
            self._group_updated(outcome)
        else:
            action, user = outcome.command.ref
            if action == "create":
                self._in_flight -= 1
                for group in self._adds_of_new_user.pop(user.key, []) if outcome.status == "ok" else []:
                    self._ready_add(group, user.key)
            if self._user_outcome(outcome) is not None:
                self._unknown_users.append(user)

    # -- after the read -------------------------------------------------------------------------

    def finish(self, plan: SyncPlan, *, allowed: Callable[[SyncPlan], None],
               revise: Callable[[Callable[[str], bool]], SyncPlan] = lambda settled: SyncPlan()) -> None:
        """After a successful read: settle the creates left unknown, then send what ``revise`` plans
        for the users decided again at the read's end (those whose first writes are settled), add
        moderators; then, once ``allowed(plan)`` did not raise (the safety guard), deactivations and
        membership removals, and the memberships still unconfirmed."""
        if self._unknown_groups:
            self._create_groups(self._adopt_groups(self._unknown_groups))
        creatable, _ = self._creatable(self._waiting, final=True)
        self._create_users([*creatable, *self._adopt_found(self._unknown_users)], [])
        self._send_revised(revise(self._settled))
        self._add_moderators(plan.moderator_adds)
        self.store.flush()
        allowed(plan)
        self._create_users([], [Command("user.update", {"ID": b24_id, "ACTIVE": "N"}, ref=("deactivate", user))
                                for user, b24_id in plan.deactivations])
        self.run_memberships(plan)

    def _settled(self, person: str) -> bool:
        """No create of the person's user is left pending (unknown outcome) in the mapping."""
        row = self.store.get("user", person)
        return row is None or row.b24_id is not None

    def _send_revised(self, delta: SyncPlan) -> None:
        """Groups, user updates and invitations of a revised plan (``Planner.revise``); memberships go with
        the plan's."""
        for group in delta.group_creates:
            self._record_pending_group(group)
        self._create_groups(delta.group_creates)
        for outcome in self.sender.send(_group_update(*pair) for pair in delta.group_updates):
            self._group_updated(outcome)
        creatable, _ = self._creatable(delta.user_creates, final=True)
        for user in creatable:
            self._record_pending_user(user)
        self.store.flush()
        self._create_users(creatable, list(map(_user_update, delta.user_updates)))

    def _adopt_groups(self, unknown: list[DesiredGroup]) -> list[DesiredGroup]:
        """Groups whose create outcome is unknown: those on the portal are adopted; the rest are returned."""
        on_portal = self.reconciler.portal_groups()
        for group in unknown:
            if group.key in on_portal:
                self._group_created(group, int(on_portal[group.key]["ID"]))
        return [group for group in unknown if group.key not in on_portal]

    def _create_groups(self, groups: list[DesiredGroup]) -> None:
        """Groups known not to exist yet; unknown outcomes are looked up by marker and resent (MAX_ROUNDS)."""
        remaining = groups
        for _ in range(MAX_ROUNDS):
            if not remaining:
                return
            unknown = [group for outcome in self.sender.send(map(self._group_create, remaining))
                       if (group := self._group_outcome(outcome)) is not None]
            remaining = self._adopt_groups(unknown) if unknown else []
        self.sender.left_pending("group", [(g.key, g.name) for g in remaining])

    def _group_outcome(self, outcome: CommandOutcome) -> DesiredGroup | None:
        """Record a group create's outcome; the group when it is unknown."""
        group = outcome.command.ref
        if outcome.status == "ok":
            self._group_created(group, int(outcome.result))
        elif outcome.status == "error":
            self.store.remove("group", group.key)
            self.sender.error(outcome, "group", group.key, group.name)
        else:
            return group
        return None

    def _group_updated(self, outcome: CommandOutcome) -> None:
        group = outcome.command.ref
        if outcome.status == "ok":
            self.store.put("group", group.key, b24_id=outcome.command.params["GROUP_ID"],
                           state_hash=state_hash(group.fields), name=group.name)
            self.report.count("groups_updated")
        else:
            self.sender.error(outcome, "group", group.key, group.name)

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

    def _group_ids(self, user: DesiredUser) -> list[int]:
        return [row.b24_id for key in sorted(user.groups)
                if (row := self.store.get("group", key)) is not None and row.b24_id is not None]

    def _user_add(self, user: DesiredUser) -> Command:
        params = {**(user.fields or {}), "XML_ID": user_xml_id(user.key), "EXTRANET": "Y",
                  "SONET_GROUP_ID": self._group_ids(user)}
        return Command("user.add", params, ref=("create", user))

    def _create_users(self, creates: list[DesiredUser], extra: list[Command]) -> None:
        """user.add of ``creates`` and the user commands ``extra``; unknown creates are looked up by
        XML_ID and resent until known (MAX_ROUNDS)."""
        remaining = creates
        for _ in range(MAX_ROUNDS):
            unknown = [user for outcome in self.sender.send(itertools.chain(extra, map(self._user_add, remaining)))
                       if (user := self._user_outcome(outcome)) is not None]
            if not unknown:
                return
            remaining, extra = self._adopt_found(unknown), []
        self.sender.left_pending("user", [(u.key, u.title) for u in remaining])

    def _adopt_found(self, unknown: list[DesiredUser]) -> list[DesiredUser]:
        """Users whose user.add outcome is unknown: those on the portal are adopted; the rest are returned."""
        found = self.reconciler.users_by_xml_id([u.key for u in unknown])
        for user in unknown:
            if user.key in found:
                self._user_done("create", user, None, int(found[user.key]["ID"]))
        return [u for u in unknown if u.key not in found]

    def _user_outcome(self, outcome: CommandOutcome) -> DesiredUser | None:
        """Record a user command's outcome; the user when a create's outcome is unknown."""
        action, user = outcome.command.ref
        if outcome.status == "ok":
            self._user_done(action, user, outcome)
        elif outcome.status == "error":
            self._refused(action, user, outcome)
            self.sender.error(outcome, "user", user.key, user.title)
        elif action == "create":
            return user
        return None

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
        """The memberships not yet confirmed (most went out in the pipelined stream)."""
        commands = list(self._memberships(plan))
        self._mark_unsure(commands)
        self._resend_until_known(commands, self._membership_done, "membership")
        self.store.flush()

    def _memberships(self, plan: SyncPlan) -> Iterator[Command]:
        yield from self._membership_commands(plan.membership_removes, MEMBERSHIP_PREFIX + "delete", "remove")
        yield from self._membership_commands(plan.membership_adds, MEMBERSHIP_PREFIX + "add", "add")

    def _mark_unsure(self, commands: list[Command]) -> None:
        """Before membership commands go out: their users' groups are unsure until the outcome is recorded
        (a run that dies in between leaves them to ``Reconciler.reconcile_memberships``)."""
        for command in commands:
            group_key, _, person_keys = command.ref
            for key in person_keys:
                if (row := self.store.get("user", key)) is not None:
                    row.state[UNSURE] = sorted(set(row.state.get(UNSURE, ())) | {group_key})
                    self.store.touch(row)
        self.store.flush()

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
            if (unsure := set(row.state.get(UNSURE, ())) - {group_key}):
                row.state[UNSURE] = sorted(unsure)
            else:
                row.state.pop(UNSURE, None)
            self.store.touch(row)
        self.report.count("memberships_added" if action == "add" else "memberships_removed", len(person_keys))
