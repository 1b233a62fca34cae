"""Dataclass feature state <-> JSON for the state file (``serve(state_file=...)``, ``--state FILE``).

``snapshot`` writes the fields as JSON (dataclasses as objects, bytes as base64, counters as their next
value); ``restore`` rebuilds them from the field annotations: nested dataclasses, int dict keys, tuples.
"""
from __future__ import annotations

import base64
import copy
import types
import typing
from dataclasses import fields, is_dataclass
from itertools import count
from typing import Any, Iterable


def snapshot(obj: Any, names: Iterable[str] | None = None) -> dict[str, Any]:
    """The JSON form of a dataclass instance: all its init fields, or only ``names``."""
    wanted = list(names) if names is not None else [item.name for item in fields(obj) if item.init]
    return {name: _dump(getattr(obj, name)) for name in wanted}


def restore(obj: Any, saved: dict[str, Any]) -> None:
    """Set the fields ``saved`` holds back on ``obj``, typed by its annotations."""
    hints = typing.get_type_hints(type(obj))
    for name, data in saved.items():
        if name in hints:
            setattr(obj, name, _load(hints[name], data))


def _dump(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return snapshot(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, count):
        return next(copy.copy(value))  # the next id, without using it up
    if isinstance(value, dict):
        return {str(key): _dump(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_dump(item) for item in value]
    return value


def _load(hint: Any, data: Any) -> Any:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if data is None or hint is Any:
        return data
    if origin in (typing.Union, types.UnionType):
        return _load(next(arg for arg in args if arg is not type(None)), data)
    if is_dataclass(hint):
        hints = typing.get_type_hints(hint)
        return hint(**{item.name: _load(hints[item.name], data[item.name])
                       for item in fields(hint) if item.init and item.name in data})
    if hint is bytes:
        return base64.b64decode(data)
    if hint is count:
        return count(int(data))
    if origin is dict and args:
        return {_load(args[0], key): _load(args[1], item) for key, item in data.items()}
    if origin is list and args:
        return [_load(args[0], item) for item in data]
    if origin is tuple and args:
        return tuple(_load(arg, item) for arg, item in zip(args, data))
    return int(data) if hint is int else data
