"""The plan (pure): desired state + what was last pushed -> the writes that close the gap.

Nothing here talks to Bitrix24 or the database; ``sync_jobs.execute`` turns a SyncPlan into
commands. Groups and users are referred to by their 1C keys; ids are resolved at execution.
"""
from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from sync_jobs.desired import NO_EMAIL, DesiredGroup, DesiredState, DesiredUser, Skipped, state_hash


@dataclass(frozen=True)
class MappedGroup:
    key: str
    b24_id: int
    state_hash: str | None
    moderators: frozenset[int]


@dataclass(frozen=True)
class MappedUser:
    key: str
    b24_id: int
    state_hash: str | None
    groups: frozenset[str]
    active: bool
    refused: tuple[str, str] | None = None  # (fields hash, reason) of an update Bitrix24 refused


@dataclass(frozen=True)
class PushedState:
    """What the mapping table says was pushed (confirmed rows only)."""

    groups: Mapping[str, MappedGroup] = field(default_factory=dict)
    users: Mapping[str, MappedUser] = field(default_factory=dict)
    rejected: Mapping[str, tuple[str, str]] = field(default_factory=dict)  # never invited: (fields hash, reason)


@dataclass(frozen=True)
class UserUpdate:
    user: DesiredUser
    b24_id: int
    reactivate: bool


@dataclass
class SyncPlan:
    group_creates: list[DesiredGroup] = field(default_factory=list)
    group_updates: list[tuple[DesiredGroup, int]] = field(default_factory=list)
    moderator_adds: dict[str, tuple[int, ...]] = field(default_factory=dict)  # group key -> user ids
    user_creates: list[DesiredUser] = field(default_factory=list)
    user_updates: list[UserUpdate] = field(default_factory=list)
    deactivations: list[tuple[DesiredUser, int]] = field(default_factory=list)
    membership_adds: dict[str, list[str]] = field(default_factory=dict)  # group key -> person keys
    membership_removes: dict[str, list[str]] = field(default_factory=dict)
    skipped: list[Skipped] = field(default_factory=list)
    active_users: int = 0  # mapped active users: the base of the deactivation share

    removed_from_all: set[str] = field(default_factory=set)  # users taken out of every group they were in

    @property
    def removed_users(self) -> int:
        """Users the plan deactivates or takes out of every group (a move between groups is not counted):
        what the safety guard weighs."""
        return len({user.key for user, _ in self.deactivations} | self.removed_from_all)

    @property
    def deactivate_percent(self) -> float:
        return 100.0 * self.removed_users / self.active_users if self.active_users else 0.0

    def counts(self) -> dict[str, int]:
        return {"groups_create": len(self.group_creates), "groups_update": len(self.group_updates),
                "moderators_add": sum(map(len, self.moderator_adds.values())),
                "users_create": len(self.user_creates),
                "users_update": sum(1 for u in self.user_updates if not u.reactivate),
                "users_reactivate": sum(1 for u in self.user_updates if u.reactivate),
                "users_deactivate": len(self.deactivations),
                "memberships_add": sum(map(len, self.membership_adds.values())),
                "memberships_remove": sum(map(len, self.membership_removes.values())),
                "skipped": len(self.skipped)}


class Planner:
    """Plans groups and users one at a time, as the desired state is decided (``plan``: so far).

    ``mapped_user(key)`` is the user as last pushed (None: never). Membership removals and
    deactivations are only collected in ``plan``: ``finish`` adds the users 1C no longer has, once the
    whole read succeeded, and only then may they be sent.
    """

    def __init__(self, mapped_group: Callable[[str], MappedGroup | None], mapped_user: Callable[[str], MappedUser | None],
                 rejected: Callable[[str], tuple[str, str] | None], active_users: int) -> None:
        self.plan = SyncPlan(active_users=active_users)
        self.mapped_group, self.mapped_user, self.rejected = mapped_group, mapped_user, rejected
        self.adds: dict[str, list[str]] = defaultdict(list)
        self.removes: dict[str, list[str]] = defaultdict(list)
        self.planned_groups: set[str] = set()

    def group(self, group: DesiredGroup) -> None:
        if group.key not in self.planned_groups:
            self.planned_groups.add(group.key)
            _plan_group(self.plan, group, self.mapped_group(group.key))

    def user(self, user: DesiredUser) -> list[str]:
        """Plan one user; the groups it is to be added to."""
        before = {group: len(self.adds[group]) for group in user.groups}
        mapped = self.mapped_user(user.key)
        if mapped is None:
            _plan_new_user(self.plan, user, self.adds, self.rejected(user.key))
        else:
            _plan_mapped_user(self.plan, user, mapped, self.adds, self.removes)
        return [group for group in sorted(user.groups) if len(self.adds[group]) > before[group]]

    def revise(self, users: list[DesiredUser], groups: Mapping[str, DesiredGroup]) -> SyncPlan:
        """Plan again users decided anew once the read ended (sync_jobs.desired.DesiredStateBuilder.finish)
        against the mapping as it is now (their first plan sent and settled): the adds, removals,
        deactivations and listings planned for them before are replaced; the group and user writes
        they still need are returned (``finish`` was called: the plan's memberships are updated)."""
        keys = {user.key for user in users}
        plan = self.plan
        if not keys:
            return SyncPlan()
        for planned in (*self.adds.values(), *self.removes.values()):
            planned[:] = [key for key in planned if key not in keys]
        plan.deactivations = [(user, b24_id) for user, b24_id in plan.deactivations if user.key not in keys]
        plan.removed_from_all -= keys
        plan.skipped = [record for record in plan.skipped if record.key not in keys]
        start = len(plan.group_creates), len(plan.group_updates), len(plan.user_creates), len(plan.user_updates)
        for user in users:
            for key in sorted(user.groups):
                self.group(groups[key])
            self.user(user)
        plan.membership_adds, plan.membership_removes = dict(self.adds), dict(self.removes)
        return SyncPlan(group_creates=plan.group_creates[start[0]:], group_updates=plan.group_updates[start[1]:],
                        user_creates=plan.user_creates[start[2]:], user_updates=plan.user_updates[start[3]:])

    def finish(self, desired: DesiredState, mapped_users: Iterable[MappedUser]) -> SyncPlan:
        """The whole plan: the users mapped but no longer in 1C leave every group and are deactivated."""
        for mapped in mapped_users:
            if mapped.key not in desired.users and (mapped.active or mapped.groups):
                _plan_mapped_user(self.plan, gone_from_1c(mapped.key), mapped, self.adds, self.removes)
        self.plan.membership_adds, self.plan.membership_removes = dict(self.adds), dict(self.removes)
        return self.plan


def plan_sync(desired: DesiredState, mapping: PushedState) -> SyncPlan:
    planner = Planner(mapping.groups.get, mapping.users.get, mapping.rejected.get,
                      sum(1 for user in mapping.users.values() if user.active))
    for group in desired.groups.values():
        planner.group(group)
    for user in desired.users.values():
        planner.user(user)
    return planner.finish(desired, mapping.users.values())


def gone_from_1c(key: str) -> DesiredUser:
    """A user whose person 1C no longer has (deleted, marked for deletion, or no employee card left):
    out of every group and deactivated, counted against ``max_deactivate_percent`` like dismissals."""
    return DesiredUser(key, f"физическое лицо {key} (удалено в 1С)", None, frozenset(), False, False)


def _plan_group(plan: SyncPlan, group: DesiredGroup, mapped: MappedGroup | None) -> None:
    if mapped is None:
        plan.group_creates.append(group)
        missing = group.moderators
    else:
        if mapped.state_hash != state_hash(group.fields):
            plan.group_updates.append((group, mapped.b24_id))
        missing = tuple(m for m in group.moderators if m not in mapped.moderators)
    if missing:
        plan.moderator_adds[group.key] = missing


def _plan_new_user(plan: SyncPlan, user: DesiredUser, adds: dict[str, list[str]],
                   rejected: tuple[str, str] | None) -> None:
    """Invite; not without an e-mail, and not again with the very data Bitrix24 already rejected."""
    if user.active is not True:
        return  # left before we ever invited them
    if not user.has_email:
        plan.skipped.append(Skipped("user", user.key, user.title, NO_EMAIL))
        return
    if _refused_again(plan, user, rejected):
        return
    plan.user_creates.append(user)
    for group in sorted(user.groups):
        adds[group].append(user.key)  # user.add only sends a join request; membership is forced after


def _plan_mapped_user(plan: SyncPlan, user: DesiredUser, mapped: MappedUser,
                      adds: dict[str, list[str]], removes: dict[str, list[str]]) -> None:
    reactivate = user.active is True and not mapped.active
    if user.fields is not None and (reactivate or mapped.state_hash != state_hash(user.fields)) \
            and not _refused_again(plan, user, mapped.refused):
        plan.user_updates.append(UserUpdate(user, mapped.b24_id, reactivate))
    if user.active is False and mapped.active:
        plan.deactivations.append((user, mapped.b24_id))
    for group in sorted(user.groups - mapped.groups):
        adds[group].append(user.key)
    for group in sorted(mapped.groups - user.groups):
        removes[group].append(user.key)
    if mapped.groups and not user.groups:
        plan.removed_from_all.add(user.key)


def _refused_again(plan: SyncPlan, user: DesiredUser, refusal: tuple[str, str] | None) -> bool:
    """Bitrix24 already refused this very data (e.g. an e-mail another user has): list it, don't resend."""
    if refusal is None or refusal[0] != state_hash(user.fields or {}):
        return False
    plan.skipped.append(Skipped("user", user.key, user.title, refusal[1]))
    return True


def deactivation_refusal(plan: SyncPlan, max_percent: float) -> str | None:
    """The operator-facing reason to refuse the run, or None when the share is acceptable."""
    if not plan.removed_users or plan.deactivate_percent <= max_percent:
        return None
    allowed = math.floor(plan.active_users * max_percent / 100)
    return (f"Запуск остановлен: план отключает {len(plan.deactivations)} пользователей и исключает из всех групп "
            f"{len(plan.removed_from_all)} — затронуто {plan.removed_users} "
            f"({plan.deactivate_percent:.1f} % активных), а допускается не больше {max_percent:g} % "
            f"({allowed}). Проверьте данные 1С; если увольнения настоящие, запустите "
            f"«b24app sync run --force».")
