"""Experiment configuration: frozen dataclasses, named profiles and typed `--set` overrides.

Every experiment describes its knobs as a tree of frozen dataclasses. Profiles (`smoke`,
`quick`, `full`) and command-line overrides are both flat mappings of dotted keys
(`"train.lr"`) to values; `apply_overrides` checks every key exists and every value has the
field's type before building a new config, so a typo fails loudly instead of being ignored.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import re
import types
import typing
from typing import Any, Mapping


class ConfigError(ValueError):
    """A bad configuration value or key; the CLI reports it in one line and exits 2."""


def check(condition: bool, message: str) -> None:
    """Raise `ConfigError(message)` unless `condition` holds (for `__post_init__` checks)."""
    if not condition:
        raise ConfigError(message)


def _field_types(cls) -> dict[str, Any]:
    """The types of `cls`'s dataclass fields (class constants such as `IGNORED_KEYS` are not keys)."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def _parse_scalar(text: str, kind: type, key: str):
    if kind is bool:
        lowered = text.strip().lower()
        if lowered in ("true", "1", "yes"):
            return True
        if lowered in ("false", "0", "no"):
            return False
        raise ConfigError(f"--set {key}: expected true/false, got {text!r}")
    if kind is int:
        try:
            return int(text)
        except ValueError:
            raise ConfigError(f"--set {key}: expected an integer, got {text!r}") from None
    if kind is float:
        try:
            return float(text)
        except ValueError:
            raise ConfigError(f"--set {key}: expected a number, got {text!r}") from None
    if kind is str:
        return text
    raise ConfigError(f"--set {key}: fields of type {kind} cannot be set from the command line")


def _coerce(value: Any, kind: Any, key: str):
    """Return `value` converted to `kind`, parsing strings; raise ConfigError on a mismatch."""
    origin = typing.get_origin(kind)
    if origin is tuple:
        (item_kind, *rest) = typing.get_args(kind)
        if isinstance(value, str):
            parts = [p for p in value.strip("()[] ").split(",") if p.strip()]
            return tuple(_parse_scalar(p.strip(), item_kind, key) for p in parts)
        if not isinstance(value, (tuple, list)):
            raise ConfigError(f"{key}: expected a tuple, got {value!r}")
        return tuple(_coerce(v, item_kind, key) for v in value)
    if origin in (typing.Union, types.UnionType):
        raise ConfigError(f"{key}: union-typed fields are not supported")
    if isinstance(value, str) and kind is not str:
        return _parse_scalar(value, kind, key)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind is bool and not isinstance(value, bool):
        raise ConfigError(f"{key}: expected true/false, got {value!r}")
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise ConfigError(f"{key}: expected an integer, got {value!r}")
    if kind in (float, str) and not isinstance(value, kind):
        raise ConfigError(f"{key}: expected {kind.__name__}, got {value!r}")
    return value


def _replace(config, items: list[tuple[list[str], Any, str]]):
    """Apply every (path, value, full key) in `items` to `config` with one `replace` per level.

    Changes to one dataclass are applied together, so validation in `__post_init__` sees the
    final combination (e.g. `train.steps` and `train.eval_every` changed at once).
    """
    types_ = _field_types(type(config))
    direct, nested = {}, {}
    for path, value, full_key in items:
        name, rest = path[0], path[1:]
        if name not in types_:
            valid = ", ".join(sorted(types_))
            raise ConfigError(f"unknown config key {full_key!r} (valid here: {valid})")
        current = getattr(config, name)
        if rest:
            if not dataclasses.is_dataclass(current):
                raise ConfigError(f"unknown config key {full_key!r}: {name!r} has no sub-keys")
            nested.setdefault(name, []).append((rest, value, full_key))
        elif dataclasses.is_dataclass(current):
            raise ConfigError(f"config key {full_key!r} is a section; set one of its fields")
        else:
            direct[name] = _coerce(value, types_[name], full_key)
    for name, sub_items in nested.items():
        direct[name] = _replace(getattr(config, name), sub_items)
    return dataclasses.replace(config, **direct) if direct else config


def apply_overrides(config, overrides: Mapping[str, Any]):
    """Return `config` with each dotted key of `overrides` replaced, type-checked.

    String values are parsed into the field's type (so `"0.3"` becomes `0.3` for a float
    field); other values must already have that type.
    """
    return _replace(config, [(key.split("."), value, key) for key, value in overrides.items()])


def parse_assignments(assignments: list[str]) -> dict[str, str]:
    """Parse `["a.b=1", ...]` from `--set` flags into a dict; raise ConfigError if malformed."""
    parsed = {}
    for item in assignments:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set expects key=value, got {item!r}")
        parsed[key.strip()] = value.strip()
    return parsed


def to_dict(config) -> dict:
    """The config as nested plain dicts (for `config.json`)."""
    return dataclasses.asdict(config)


def check_not_ignored(config, overrides: Mapping[str, Any]) -> None:
    """Raise ConfigError for an override of a key the experiment declares it does not read.

    A config lists such keys in its class attribute `IGNORED_KEYS` (key -> reason): setting
    one would be accepted, written to `config.json`, and change nothing.
    """
    ignored = getattr(type(config), "IGNORED_KEYS", {})
    for key in overrides:
        if key in ignored:
            raise ConfigError(f"--set {key} would change nothing: {ignored[key]}")


def check_momentum_used(config, overrides: Mapping[str, Any]) -> None:
    """Raise ConfigError for a `--set SECTION.momentum` that the section's optimizer ignores.

    Checked on the resolved config, not inside the training section itself: an experiment
    whose arms choose their own optimizer (it lists `SECTION.optimizer` in `IGNORED_KEYS`)
    may run a momentum arm from a section that names plain SGD, and there the key is read.
    """
    ignored = getattr(type(config), "IGNORED_KEYS", {})
    for key in overrides:
        *path, name = key.split(".")
        if name != "momentum":
            continue
        section = functools.reduce(getattr, path, config)
        prefix = ".".join(path)
        if (hasattr(section, "uses_momentum") and not section.uses_momentum()
                and f"{prefix}.optimizer" not in ignored):
            raise ConfigError(f"--set {key} would change nothing: {prefix}.optimizer is "
                              f"{section.optimizer!r}, which has no momentum")


def flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dicts (as in `config.json`) as one dict of dotted keys."""
    flat = {}
    for key, value in tree.items():
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def from_dict(template, values: Mapping[str, Any]):
    """`template` (a config) with every field of the nested dict `values` (from `config.json`).

    Goes through `apply_overrides`, so a tampered file gets the same type checks as `--set`.
    """
    return apply_overrides(template, flatten(values))


@functools.lru_cache(maxsize=None)
def _field_comments(cls) -> dict[str, str]:
    """`{field: its trailing # comment}` from the source of `cls` and its dataclass bases."""
    comments = {}
    for klass in reversed(cls.__mro__):
        if not dataclasses.is_dataclass(klass):
            continue
        try:
            source = inspect.getsource(klass)
        except (OSError, TypeError):
            continue
        for match in re.finditer(r"^\s+(\w+)\s*:[^#\n]*#\s*(.+)$", source, re.MULTILINE):
            comments[match.group(1)] = match.group(2).strip()
    return comments


def describe(config, prefix: str = "") -> list[tuple[str, str, Any, str]]:
    """Every leaf field of `config` as `(dotted key, type, value, meaning)`.

    The meaning is the field's trailing comment in the source; fields of nested sections are
    listed under their section's key.
    """
    rows = []
    hints = _field_types(type(config))
    comments = _field_comments(type(config))
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        key = f"{prefix}{field.name}"
        if dataclasses.is_dataclass(value):
            rows.extend(describe(value, f"{key}."))
            continue
        kind = hints[field.name]
        type_name = kind.__name__ if isinstance(kind, type) else str(kind).replace("typing.", "")
        rows.append((key, type_name, value, comments.get(field.name, "")))
    return rows
