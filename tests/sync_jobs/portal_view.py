"""What the emulated portal holds, read through its state hook (for assertions only)."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from tests.sync_jobs.conftest import Hooks

WRITE_VERBS = ("add", "update", "delete", "create", "setowner")


@dataclass
class PortalView:
    users: dict[int, dict[str, Any]]
    groups: dict[int, dict[str, Any]]

    @classmethod
    def read(cls, portal: Hooks) -> PortalView:
        tables = portal("GET", "state")["tables"]
        return cls({int(k): v for k, v in tables["users"].items()}, {int(k): v for k, v in tables["groups"].items()})

    def zup_users(self) -> dict[str, dict[str, Any]]:
        """Users created by the sync by their XML_ID; asserts there are no duplicates."""
        xml_ids = Counter(str(u.get("XML_ID")) for u in self.users.values() if str(u.get("XML_ID")).startswith("zup:"))
        duplicates = [x for x, n in xml_ids.items() if n > 1]
        assert not duplicates, f"duplicate users: {duplicates[:5]}"
        return {str(u["XML_ID"]): u for u in self.users.values() if str(u.get("XML_ID")).startswith("zup:")}

    def zup_groups(self) -> dict[str, dict[str, Any]]:
        markers = Counter(str(g.get("KEYWORDS")) for g in self.groups.values())
        duplicates = [m for m, n in markers.items() if n > 1 and m.startswith("zup-")]
        assert not duplicates, f"duplicate groups: {duplicates[:5]}"
        return {str(g["KEYWORDS"]): g for g in self.groups.values() if str(g.get("KEYWORDS")).startswith("zup-")}

    def members(self) -> dict[str, set[str]]:
        """Group marker -> XML_IDs of its members (owner and moderators excluded)."""
        result: dict[str, set[str]] = {}
        for marker, group in self.zup_groups().items():
            result[marker] = {str(self.users[int(uid)].get("XML_ID")) for uid, role in group["MEMBERS"].items()
                              if role == "K" and str(self.users[int(uid)].get("XML_ID")).startswith("zup:")}
        return result

    def state(self) -> dict[str, Any]:
        """A comparable picture: users (fields that matter), groups and memberships."""
        users = {x: (u.get("NAME"), u.get("LAST_NAME"), u.get("EMAIL"), bool(u.get("ACTIVE")),
                     u.get("UF_USR_ZUP_DEPARTMENT")) for x, u in self.zup_users().items()}
        groups = {m: g["NAME"] for m, g in self.zup_groups().items()}
        return {"users": users, "groups": groups, "members": self.members()}


def write_calls(counters: dict[str, Any]) -> int:
    return sum(int(v["calls"]) for m, v in counters["by_method"].items() if m.rsplit(".", 1)[-1] in WRITE_VERBS)
