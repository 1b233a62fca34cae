"""The sync's natural keys on the portal, built and parsed only here.

A user the sync created carries ``XML_ID = zup:<1C person ref>``; a workgroup carries
``KEYWORDS = zup-<1C department ref>``. Both survive a crash between a create and its record in the
mapping table: a rerun finds the object again by its key (``user.get`` filtered by XML_ID,
``sonet_group.get`` by KEYWORDS).
"""
from __future__ import annotations

USER_PREFIX = "zup:"
GROUP_PREFIX = "zup-"


def user_xml_id(person_ref: str) -> str:
    return USER_PREFIX + person_ref


def person_of_xml_id(xml_id: object) -> str | None:
    """The 1C person ref of a user's XML_ID, or None when the sync did not create that user."""
    text = str(xml_id or "")
    return text[len(USER_PREFIX):] if text.startswith(USER_PREFIX) and len(text) > len(USER_PREFIX) else None


def group_marker(department_ref: str) -> str:
    return GROUP_PREFIX + department_ref


def department_of_marker(keywords: object) -> str | None:
    """The 1C department ref of a group's KEYWORDS, or None when the sync did not create that group."""
    text = str(keywords or "")
    return text[len(GROUP_PREFIX):] if text.startswith(GROUP_PREFIX) and len(text) > len(GROUP_PREFIX) else None
