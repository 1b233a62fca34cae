"""Deep links into the cabinet for notifications and chats (placement REST_APP_URI).

A link ``/marketplace/view/<client_id>/?params[page]=site&params[group_id]=10`` opens the app in a
slider with ``PLACEMENT_OPTIONS={"page": "site", "group_id": "10"}`` (b24restdocs
``api-reference/widgets/universal/app-url.md``); :func:`cabinet.roles.start_page` routes it, and a
page the viewer may not see falls back to their own first page.
"""
from __future__ import annotations

from urllib.parse import quote, urlencode

PAGES = ("cabinet", "sites", "site", "timesheets", "provider", "admin")


def deep_link(client_id: str, page: str, **params: str | int) -> str:
    """The portal-relative link that opens ``page`` of the cabinet (with its parameters)."""
    if page not in PAGES:
        raise ValueError(f"unknown cabinet page {page!r}")
    query = urlencode({f"params[{key}]": str(value) for key, value in {"page": page, **params}.items()})
    return f"/marketplace/view/{quote(client_id)}/?{query}"
