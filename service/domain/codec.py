"""JSON conversion of frozen dataclasses, driven by their type hints.

One generic converter instead of a hand-written pair per event keeps encode and decode from
drifting apart: a field added to an event is encoded and decoded the moment it is declared. The
decoder is strict (wrong JSON types, missing or unknown keys, naive datetimes are all refused),
because the log is the source of truth and a silently coerced payload would rewrite history.
"""

import dataclasses
import types
import typing
from datetime import UTC, datetime
from enum import Enum
from typing import Any
from uuid import UUID

from service.domain.values import UNCHANGED, Unchanged

JsonValue = Any


class PayloadError(ValueError):
    """The JSON does not fit the declared type; ``path`` says where."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path or '<payload>'}: {problem}")
        self.path = path


def to_json(value: object) -> JsonValue:
    """A JSON-safe copy of ``value``: ISO 8601 UTC datetimes, str UUIDs, enum values, lists."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetimes cannot be encoded; the log is in UTC")
        return value.astimezone(UTC).isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple | list):
        return [to_json(item) for item in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            field.name: to_json(getattr(value, field.name))
            for field in dataclasses.fields(value)
            if getattr(value, field.name) is not UNCHANGED
        }
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def from_json(hint: Any, data: JsonValue, path: str = "") -> Any:
    """Rebuild a value of type ``hint`` from JSON produced by ``to_json``."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return _from_union(typing.get_args(hint), data, path)
    if origin is tuple:
        item_hint, ellipsis = typing.get_args(hint)
        if ellipsis is not Ellipsis:
            raise TypeError(f"only tuple[X, ...] is supported, not {hint}")
        if not isinstance(data, list):
            raise PayloadError(path, "expected a list")
        return tuple(
            from_json(item_hint, item, f"{path}[{index}]") for index, item in enumerate(data)
        )
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return _from_object(hint, data, path)
    return _from_scalar(hint, data, path)


def _from_union(options: tuple[Any, ...], data: JsonValue, path: str) -> Any:
    if data is None:
        if type(None) in options:
            return None
        raise PayloadError(path, "must not be null")
    concrete = [option for option in options if option not in (type(None), Unchanged)]
    if len(concrete) != 1:
        raise TypeError(f"ambiguous union at {path}: {options}")
    return from_json(concrete[0], data, path)


def _from_object(cls: type, data: JsonValue, path: str) -> Any:
    if not isinstance(data, dict):
        raise PayloadError(path, "expected an object")
    fields = {field.name: field for field in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise PayloadError(path, f"unknown keys {unknown}")
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for name, field in fields.items():
        key_path = f"{path}.{name}" if path else name
        if name in data:
            values[name] = from_json(hints[name], data[name], key_path)
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise PayloadError(key_path, "missing")
    return cls(**values)


def _from_scalar(hint: Any, data: JsonValue, path: str) -> Any:
    if hint is bool:
        if isinstance(data, bool):
            return data
        raise PayloadError(path, "expected a boolean")
    if hint is int:
        if isinstance(data, int) and not isinstance(data, bool):
            return data
        raise PayloadError(path, "expected an integer")
    if hint is float:
        if isinstance(data, int | float) and not isinstance(data, bool):
            return float(data)
        raise PayloadError(path, "expected a number")
    if not isinstance(data, str):
        raise PayloadError(path, "expected a string")
    if hint is str:
        return data
    if hint is datetime:
        return _parse_datetime(data, path)
    if hint is UUID:
        try:
            return UUID(data)
        except ValueError:
            raise PayloadError(path, "expected a UUID") from None
    if isinstance(hint, type) and issubclass(hint, Enum):
        try:
            return hint(data)
        except ValueError:
            raise PayloadError(path, f"not a {hint.__name__}: {data!r}") from None
    raise TypeError(f"cannot decode type {hint!r}")


def _parse_datetime(text: str, path: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise PayloadError(path, "expected an ISO 8601 datetime") from None
    if parsed.tzinfo is None:
        raise PayloadError(path, "datetime has no UTC offset")
    return parsed.astimezone(UTC)
