"""Every object the emulator publishes exists in ZUP 3.1 under that name."""
from __future__ import annotations

from emulators.onec.schema import SETS
from emulators.onec.zup31 import REAL_OBJECTS, metadata_name


def test_every_published_set_names_a_real_zup_object() -> None:
    assert sorted(name for name in SETS if metadata_name(name) not in REAL_OBJECTS) == []
