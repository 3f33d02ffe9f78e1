"""Configs are frozen dataclasses: built from dicts (unknown keys rejected with the valid list),
overridden with `key=value` strings, saved as JSON. Validation lives in each config's
`__post_init__`; this module only moves values in and out."""

from __future__ import annotations

import dataclasses
import json
import typing
from typing import Any, Iterable, TypeVar

from biaslearn.errors import BiaslearnError

C = TypeVar("C")


def field_names(cls) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]


def _parse_scalar(kind, text: str, key: str):
    text = text.strip()
    if kind is bool:
        low = text.lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off"):
            return False
        raise BiaslearnError(f"--set {key}: expected true/false, got {text!r}")
    if kind in (int, float):
        try:
            return kind(float(text)) if kind is int and "e" in text.lower() else kind(text)
        except ValueError:
            raise BiaslearnError(f"--set {key}: expected {kind.__name__}, got {text!r}") from None
    return text


def _parse_value(annotation, text: str, key: str):
    """Turn the string `text` into a value of the field type `annotation`."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Union or str(origin) == "types.UnionType":
        non_none = [a for a in args if a is not type(None)]
        if text.strip().lower() in ("none", "null", ""):
            return None
        return _parse_value(non_none[0], text, key)
    if origin in (tuple, list):
        inner = args[0] if args else str
        parts = [p for p in text.replace(" ", "").split(",") if p != ""]
        return tuple(_parse_scalar(inner, p, key) for p in parts)
    return _parse_scalar(annotation, text, key)


def from_dict(cls: type[C], values: dict[str, Any], *, where: str = "config") -> C:
    """Build `cls` from a dict; unknown keys are an error naming the valid ones."""
    valid = field_names(cls)
    unknown = sorted(set(values) - set(valid))
    if unknown:
        raise BiaslearnError(f"{where}: unknown key(s) {', '.join(unknown)}; valid keys: {', '.join(valid)}")
    hints = typing.get_type_hints(cls)
    converted = {}
    for key, value in values.items():
        origin = typing.get_origin(hints[key])
        converted[key] = tuple(value) if origin is tuple and isinstance(value, list) else value
    return cls(**converted)


def parse_overrides(items: Iterable[str]) -> dict[str, str]:
    """['width=64', 'lr=1e-3'] -> {'width': '64', 'lr': '1e-3'}; malformed items are an error."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise BiaslearnError(f"--set: expected key=value, got {item!r}")
        out[key.strip()] = value
    return out


def with_overrides(config: C, overrides: dict[str, str]) -> C:
    """A new config with string overrides parsed to each field's type (validation re-runs)."""
    cls = type(config)
    valid = field_names(cls)
    unknown = sorted(set(overrides) - set(valid))
    if unknown:
        raise BiaslearnError(f"--set: unknown key(s) {', '.join(unknown)}; valid keys: {', '.join(valid)}")
    hints = typing.get_type_hints(cls)
    parsed = {k: _parse_value(hints[k], v, k) for k, v in overrides.items()}
    return dataclasses.replace(config, **parsed)


def to_dict(config) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(config).items()}


def to_json(config) -> str:
    return json.dumps(to_dict(config), indent=2, sort_keys=True)


def parse_pairs(items: Iterable[str], field: str, kind=float) -> dict[str, Any]:
    """("bias=0.01", "full=1e-3") -> {"bias": 0.01, "full": 0.001}; errors name the field."""
    out = {}
    for item in items:
        key, sep, value = str(item).partition("=")
        try:
            if not sep:
                raise ValueError
            out[key.strip()] = kind(value)
        except ValueError:
            raise BiaslearnError(f"{field}: expected name=value, got {item!r}") from None
    return out
