"""Flow forms filled the way Home Assistant's frontend fills them (ha-form).

Part of the dev stack (scripts/devstack/__init__.py): REST callers (tests, demo, bench)
submit what a person's browser would, sections and initial values included.
"""

from __future__ import annotations

from typing import Any


def with_form_defaults(schema: list[dict[str, Any]], user_input: dict[str, Any]) -> dict[str, Any]:
    """`user_input` on top of the form's initial data, as the frontend submits a form.

    The frontend starts every field at its suggested value, else its default, and a
    section (an "expandable") at its fields' initial data, so a user who leaves a
    folded section alone still sends it (MQTT's own flow requires its
    `other_settings` section since HA 2026.10, for example). For brevity a caller may
    give a section's field at the top level: it goes into its section, where a person
    filling the form would have typed it.
    """
    sections = {f["name"]: f for f in schema if f.get("type") == "expandable"}
    home = {inner["name"]: name for name, f in sections.items() for inner in f.get("schema", [])}
    top = {f["name"] for f in schema}
    given: dict[str, Any] = {}
    for key, value in user_input.items():
        if key in home and key not in top:
            given.setdefault(home[key], {})[key] = value
        elif key in sections and isinstance(value, dict):
            given.setdefault(key, {}).update(value)
        else:
            given[key] = value
    filled: dict[str, Any] = {}
    for field_ in schema:
        name = field_["name"]
        if name in sections:
            inner = with_form_defaults(field_.get("schema", []), given.pop(name, {}))
            if inner or field_.get("required"):
                filled[name] = inner
            continue
        initial = _initial(field_)
        if initial is not None:
            filled[name] = initial
    filled.update(given)
    return filled


def _initial(field_: dict[str, Any]) -> Any:
    """The value the frontend starts a field at (ha-form's initial data), or None."""
    suggested = (field_.get("description") or {}).get("suggested_value")
    if suggested is not None:
        return suggested
    if "default" in field_:
        return field_["default"]
    if field_.get("required"):
        return _initial_value(field_.get("selector") or {})
    return None


def _initial_value(selector: dict[str, Any]) -> Any:
    """What the frontend puts in a required field without a default (ha-form)."""
    kind, config = next(iter(selector.items()), ("", None))
    config = config or {}
    many = bool(config.get("multiple"))
    if kind == "boolean":
        return False
    if kind in ("text", "entity"):
        return [] if many else ""
    if kind == "number":
        return config.get("min", 0)
    if kind == "select" and config.get("options"):
        first = config["options"][0]
        value = first if isinstance(first, str) else first.get("value")
        return [value] if many else value
    return None
