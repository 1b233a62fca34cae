"""A Bitrix24 emulator with the app installed, the approval process installed and three people."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from b24app.bitrix import B24Client
from b24app.db import get_db
from b24app.portal import client_for, get_config
from b24app.verify import OneOffToken
from bizproc_templates.installer import Installer
from bizproc_templates.source import PROCESSES_DIR, load_process
from tests.support import EmulatedInstall
from timesheets.approval import Approvers, ProcessList, process_list


@dataclass
class Portal:
    install: EmulatedInstall
    client_manager: int
    provider_manager: int
    employees: list[int]

    @property
    def db(self):  # type: ignore[no-untyped-def]
        return get_db(self.install.app)

    def admin(self) -> B24Client:
        return client_for(self.install.app, self.install.member_id)

    def as_user(self, user_id: int) -> B24Client:
        token = self.install.hook("tokens", {"client_id": self.install.client_id, "user_id": user_id})
        return B24Client(f"{self.install.portal.url}/rest/", tokens=OneOffToken(token["access_token"]))

    def target(self) -> ProcessList:
        return process_list(self.admin(), self.db, self.install.member_id)

    def approvers(self, _timesheet: object) -> Approvers:
        return Approvers((self.client_manager,), (self.provider_manager,))

    def notifications(self, user_id: int) -> list[str]:
        return [str(n["MESSAGE"]) for n in self.install.hook("notifications", method="GET") if n["USER_ID"] == user_id]

    def tasks(self) -> list[dict]:
        return self.install.hook("bizproc/tasks", method="GET")["tasks"]


def start_portal(tmp_path: Path, database_url: str, employees: int = 3, **emulator: object) -> Portal:
    install = EmulatedInstall(tmp_path, database_url, plan="enterprise", **emulator)
    try:
        def user(name: str, last: str, **extra: object) -> int:
            return int(install.hook("users", {"NAME": name, "LAST_NAME": last, "EMAIL": f"{last}@example.ru",
                                              **extra})["ID"])

        client_manager, provider_manager = user("Клара", "Клиентова"), user("Пётр", "Провайдеров")
        people = [user("Иван", f"Сотрудников{n}", EXTRANET=True) for n in range(employees)]
        install.install()
        install.drain()
        config = get_config(install.app)
        Installer(client_for(install.app, install.member_id), get_db(install.app), member_id=install.member_id,
                  client_id=install.client_id, public_url=config.public_url,
                  processes=[load_process(PROCESSES_DIR / "timesheet_approval.yaml")], activities={}).install()
    except BaseException:
        install.stop()
        raise
    return Portal(install, client_manager, provider_manager, people)
