"""Who the viewer is to the cabinet, from real data, and what each role may see.

- employee: the sync mapped this user to a 1C person;
- brigade leader: ``cabinet.brigade_leaders`` names the user for a department;
- client manager: a client-side manager (moderator) of a site's workgroup;
- provider manager: a provider-side manager (owner/moderator) of a site's workgroup; sees the
  legal entities of those sites;
- HR, accounting: ``bizproc.roles``; see every site and legal entity;
- portal admin: ``user.admin`` (proven with the frame POST) — the admin console.
The timesheets page (the grid, approvals, summaries) is offered to every role that has timesheets
while the timesheets feature is on; what it shows is decided by that feature's own API.
One user may hold several roles; a page or a site outside every role the user holds is refused.
"""
from __future__ import annotations

from dataclasses import dataclass

from b24app.verify import Viewer
from cabinet.settings import CabinetSettings
from cabinet.sources import Directory, Person, Site, StaffRoles

PAGES = ("cabinet", "sites", "provider", "timesheets", "admin")  # in the order a plain app opening picks the first


@dataclass(frozen=True)
class Roles:
    """The roles of one viewer; scopes are sets of site workgroup ids."""

    user_id: int
    employee: Person | None
    brigade_sites: frozenset[int]
    client_sites: frozenset[int]
    provider_sites: frozenset[int]
    hr: bool
    accounting: bool
    admin: bool
    timesheets: bool = False  # the timesheets feature is on


    @property
    def names(self) -> tuple[str, ...]:
        held = {"employee": self.employee is not None, "brigade_leader": bool(self.brigade_sites),
                "client_manager": bool(self.client_sites), "provider_manager": bool(self.provider_sites),
                "hr": self.hr, "accounting": self.accounting, "admin": self.admin}
        return tuple(name for name, has in held.items() if has)

    @property
    def staff(self) -> bool:
        """HR and accounting see every site and legal entity."""
        return self.hr or self.accounting

    @property
    def pages(self) -> tuple[str, ...]:
        sites = bool(self.brigade_sites or self.client_sites)
        allowed = {"cabinet": self.employee is not None, "sites": sites,
                   "timesheets": self.timesheets and (sites or self.employee is not None or bool(self.provider_sites)),
                   "provider": bool(self.provider_sites) or self.staff, "admin": self.admin}
        return tuple(page for page in PAGES if allowed[page])

    def may_see_site(self, group_id: int) -> bool:
        return self.staff or group_id in (self.brigade_sites | self.client_sites | self.provider_sites)

    def provider_scope(self, sites: list[Site]) -> list[Site]:
        """The sites of the provider view: every site for staff, else the legal entities managed."""
        if self.staff:
            return sites
        entities = {site.legal_entity_ref for site in sites if site.group_id in self.provider_sites}
        return [site for site in sites if site.legal_entity_ref in entities]


def roles_of(viewer: Viewer, directory: Directory, settings: CabinetSettings, staff: StaffRoles, *,
             timesheets: bool = False) -> Roles:
    """Every role of the viewer, read from the directory, the cabinet settings and the staff roles."""
    user = viewer.user_id
    sites = directory.sites()
    led = settings.departments_led_by(user)
    client, provider = set(), set()
    for site in sites:
        managers = directory.managers_of(site.department_ref)
        if user in managers.client:
            client.add(site.group_id)
        if user in managers.provider:
            provider.add(site.group_id)
    return Roles(
        user_id=user, employee=directory.person_of_user(user),
        brigade_sites=frozenset(site.group_id for site in sites if site.department_ref in led),
        client_sites=frozenset(client), provider_sites=frozenset(provider),
        hr=user in staff.get("hr", ()), accounting=user in staff.get("accounting", ()), admin=viewer.is_admin,
        timesheets=timesheets)


def start_page(roles: Roles, placement: str, options: dict) -> dict:
    """Where the frame opens: a workgroup tab shows that site, a deep link names its page."""
    if placement == "SONET_GROUP_DETAIL_TAB":
        group_id = _int(options.get("GROUP_ID"))
        if group_id is not None and roles.may_see_site(group_id):
            return {"page": "site", "group_id": group_id}
        return {"page": "refused", "reason": "У вас нет доступа к людям этой группы."}
    wanted = str(options.get("page") or "")
    group_id = _int(options.get("group_id"))
    if placement == "REST_APP_URI" and wanted == "site" and group_id is not None and roles.may_see_site(group_id):
        return {"page": "site", "group_id": group_id}
    if placement == "REST_APP_URI" and wanted in roles.pages:
        seen = group_id if group_id is not None and roles.may_see_site(group_id) else None
        return {"page": wanted, "group_id": seen} if wanted == "timesheets" and seen else {"page": wanted}
    return {"page": roles.pages[0]} if roles.pages else {"page": "none"}


def _int(value: object) -> int | None:
    text = str(value or "").strip()
    return int(text) if text.isdigit() else None
