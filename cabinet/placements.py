"""Where people find the cabinet: a tab in every workgroup (placement SONET_GROUP_DETAIL_TAB).

Bound at install and again after every update (Bitrix24 wipes an app's placements on update); the
handler is the app's page, which routes by PLACEMENT and PLACEMENT_OPTIONS (``{"GROUP_ID": "10"}``,
b24restdocs `api-reference/widgets/workgroups/index.md`): a client site's tab shows that site's
people and approvals to whoever may see them. The app's own menu item is no widget: a local app gets
it from the «menu item name» of its form and it opens the main URL with PLACEMENT=DEFAULT
(`api-reference/widgets/index.md`, «Application Page of Its Own»); deep links (REST_APP_URI) are
bound by the core.
"""
from __future__ import annotations

from b24app.install_steps import InstallContext, Undo

GROUP_TAB = "SONET_GROUP_DETAIL_TAB"


def bind_group_tab(ctx: InstallContext) -> list[Undo]:
    """placement.bind the workgroup tab unless it is bound already (idempotent)."""
    handler = f"{ctx.config.public_url}/b24/app"
    result = ctx.client.call("placement.get", {}).result
    bound = {(p.get("placement"), p.get("handler")) for p in result if isinstance(p, dict)} if isinstance(result, list) else set()
    if (GROUP_TAB, handler) in bound:
        return []
    ctx.client.call("placement.bind", {"PLACEMENT": GROUP_TAB, "HANDLER": handler, "TITLE": "Люди площадки",
                                       "LANG_ALL": {"ru": {"TITLE": "Люди площадки"}, "en": {"TITLE": "Site people"}}})
    return [lambda: ctx.client.call("placement.unbind", {"PLACEMENT": GROUP_TAB, "HANDLER": handler})]
