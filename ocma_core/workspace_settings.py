"""Workspace settings that can be set: the core's and those plugins register, each typed and checked.

A `WorkspaceSetting` says where a value lives in `Workspace.settings`, its type (which gives the JSON schema
in /openapi.json and the parsing), an example, and an optional extra check. `ocma workspaces set` and
`PATCH /v1/workspaces/current` accept exactly the registered settings, so a documented setting can always be
set and an undocumented key never slips in. Plugins add theirs with the `register_settings` hook:

    from ocma_core import WorkspaceSetting, hookimpl

    @hookimpl
    def register_settings(register):
        register(WorkspaceSetting("my_plugin_limit", int, "Posts per day my plugin sends.", example=5,
                                  fix="A whole number, e.g. 5."))
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ocma_core.errors import OcmaError, ValidationFailed
from ocma_core.plugin_registry import Registry


@dataclass(frozen=True)
class WorkspaceSetting:
    """One settable workspace setting: its name, type, help, an example and how to check a value."""

    name: str  # field of PATCH /v1/workspaces/current `settings`; option `--NAME` of `ocma workspaces set`
    type: Any  # a type pydantic understands (bool, str, a BaseModel, Annotated[...])
    help: str  # one line, shown in `--help`, /openapi.json and the docs
    example: Any  # a valid value (documentation; a test checks each one validates)
    fix: str  # what a valid value looks like, added to every refusal
    path: tuple[str, ...] = ()  # where it is stored in Workspace.settings (default: the name)
    check: Callable[[Any], Any] | None = None  # after type validation; returns the value to store

    @property
    def where(self) -> tuple[str, ...]:
        """The keys leading to the stored value."""
        return self.path or (self.name,)

    def read(self, settings: Mapping[str, Any]) -> Any:
        """The stored value, or None when unset."""
        value: Any = settings
        for key in self.where:
            if not isinstance(value, Mapping):
                return None
            value = value.get(key)
        return value

    def write(self, settings: dict[str, Any], value: Any) -> dict[str, Any]:
        """A copy of `settings` with this setting set to `value` (None removes it)."""
        return _write(settings, self.where, value)

    def validate(self, value: Any) -> Any:
        """The JSON value to store; ValidationFailed names this setting and the fix."""
        from pydantic import TypeAdapter, ValidationError  # lazily: `import ocma_core` stays cheap

        if value is None:
            return None
        try:
            parsed = TypeAdapter(self.type).validate_python(value)
            stored = TypeAdapter(self.type).dump_python(parsed, mode="json", exclude_none=True)
            if "\\u0000" in json.dumps(stored):
                raise ValueError("contains a NUL character; remove it")
            return self.check(stored) if self.check else stored
        except ValidationError as exc:
            problems = [
                _problem(".".join([self.name, *(str(p) for p in err["loc"])]), err["msg"], self.fix)
                for err in exc.errors()
            ]
        except (ValueError, TypeError) as exc:
            problems = [_problem(self.name, str(exc), self.fix)]
        except OcmaError as exc:
            problems = [_problem(self.name, exc.message, exc.fix or self.fix)]
        raise ValidationFailed(f"Invalid setting {_summary(problems)}.", problems=problems, fix=self.fix)


def _problem(field: str, message: str, fix: str) -> dict[str, str]:
    return {"field": field, "message": message.rstrip("."), "fix": fix}


def _summary(problems: list[dict[str, Any]]) -> str:
    return "; ".join(f"{p['field']}: {p['message']}" for p in problems)


def _write(settings: Mapping[str, Any], keys: tuple[str, ...], value: Any) -> dict[str, Any]:
    out = dict(settings)
    head, rest = keys[0], keys[1:]
    if rest:
        inner = out.get(head)
        nested = _write(inner if isinstance(inner, Mapping) else {}, rest, value)
        if nested:
            out[head] = nested
        else:
            out.pop(head, None)
    elif value is None:
        out.pop(head, None)
    else:
        out[head] = value
    return out


def _accept(setting: Any, plugin_name: str) -> WorkspaceSetting:
    if not isinstance(setting, WorkspaceSetting):
        raise TypeError(f"register() takes a WorkspaceSetting, got {setting!r}")
    if not setting.name.isidentifier():
        raise ValueError(f"setting name {setting.name!r} is not an identifier")
    return setting


def _core_settings() -> list[WorkspaceSetting]:
    from ocma_core.services.core_settings import CORE_SETTINGS

    return list(CORE_SETTINGS)


SETTINGS: Registry[WorkspaceSetting] = Registry(
    "register_settings", "settings", _accept, builtin=_core_settings, builtin_plugin="ocma"
)


def clear() -> None:
    """Forget the registered settings (after the plugin host changes)."""
    SETTINGS.clear()


def registered_settings() -> dict[str, WorkspaceSetting]:
    """Every settable setting by name: the core's first, then each plugin's (a taken name is a plugin error)."""
    return SETTINGS.items()


def validate_changes(changes: Mapping[str, Any]) -> dict[str, Any]:
    """Each change checked (all problems at once, each naming its field and fix); None means unset."""
    known = registered_settings()
    problems: list[dict[str, Any]] = []
    out: dict[str, Any] = {}
    for name, value in changes.items():
        setting = known.get(name)
        if setting is None:
            problems.append(
                _problem(name, "is not a workspace setting", f"Settable: {', '.join(sorted(known))}.")
            )
            continue
        try:
            out[name] = setting.validate(value)
        except ValidationFailed as exc:
            problems += exc.problems
    if problems:
        fixes = " ".join(dict.fromkeys(str(p["fix"]) for p in problems))
        raise ValidationFailed(f"Invalid settings: {_summary(problems)}.", problems=problems, fix=fixes)
    return out


def apply_changes(settings: Mapping[str, Any], validated: Mapping[str, Any]) -> dict[str, Any]:
    """`settings` with each validated change written where its setting lives."""
    known = registered_settings()
    out = dict(settings)
    for name, value in validated.items():
        out = known[name].write(out, value)
    return out


def settings_view(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Every registered setting's stored value (None when unset); nothing else of `settings` is shown."""
    return {name: setting.read(settings) for name, setting in registered_settings().items()}
