"""Sectioned flow forms: one layout table gives the schema, the flat input and the errors.

A form is a tuple of `Section`s (HA's `data_entry_flow.section`, shown as panels that
fold), each a tuple of `Field`s. From the layout come

* `form_schema`: every field pre-filled with its current value (`suggested_value`,
  so a field the user empties really comes back empty);
* `flatten`: the submitted sections merged into one flat mapping, the shape the
  entry or subentry stores, with emptied fields set to what "empty" means for them;
* `place_errors`: each field error moved onto the section holding the field, because
  the frontend shows the errors of the top-level schema only (as HA's MQTT flow does).

Adding a field to a form is one `Field(...)` line in its section.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from homeassistant.data_entry_flow import section

from .compat import vol

KEEP: Final = object()
"""`Field.cleared` default: a field missing from a submitted section keeps its value."""


@dataclass(frozen=True, slots=True)
class Field[C]:
    """One form field: its key, its selector built from the form's context `C`."""

    key: str
    selector: Callable[[C], Any]
    required: bool = False
    cleared: Any = KEEP
    """What the field holds when it comes back missing (the user emptied it)."""


@dataclass(frozen=True, slots=True)
class Section[C]:
    """A panel of fields; `name` None puts them at the top level, outside any panel."""

    name: str | None
    fields: tuple[Field[C], ...]
    collapsed: bool = False


def form_schema[C](
    layout: Sequence[Section[C]],
    context: C,
    values: Mapping[str, Any],
    expand: Collection[str] = (),
) -> vol.Schema:
    """The form, pre-filled with `values`; sections named in `expand` are open."""
    schema: dict[Any, Any] = {}
    for part in layout:
        fields = {
            _marker(field, values.get(field.key)): field.selector(context) for field in part.fields
        }
        if part.name is None:
            schema.update(fields)
            continue
        collapsed = part.collapsed and part.name not in expand
        schema[vol.Optional(part.name)] = section(vol.Schema(fields), {"collapsed": collapsed})
    return vol.Schema(schema)


def _marker(field: Field[Any], value: Any) -> vol.Marker:
    marker = vol.Required if field.required else vol.Optional
    # An empty required list is still suggested: without it the frontend would start
    # the field at its first option (a camera the user did not choose).
    if value is None or (value == [] and not field.required):
        return marker(field.key)
    return marker(field.key, description={"suggested_value": value})


def flatten[C](
    layout: Sequence[Section[C]], user_input: Mapping[str, Any], current: Mapping[str, Any]
) -> dict[str, Any]:
    """`current` updated with what was submitted, section by section.

    A field missing from a submitted section was emptied: it takes its `cleared`
    value (or keeps the current one). A section not submitted at all changes nothing.
    """
    values = dict(current)
    for part in layout:
        if part.name is None:
            submitted: Mapping[str, Any] = user_input
        elif part.name in user_input:
            submitted = user_input[part.name]
        else:
            continue
        for field in part.fields:
            if field.key in submitted:
                values[field.key] = submitted[field.key]
            elif field.cleared is not KEEP:
                values[field.key] = field.cleared
    return values


def place_errors[C](
    layout: Sequence[Section[C]], errors: Mapping[str, str]
) -> tuple[dict[str, str], set[str]]:
    """Errors keyed as the frontend shows them, and the sections to open for them.

    The first error of a section is the one shown; `base` stays `base`.
    """
    home = {field.key: part.name for part in layout for field in part.fields}
    placed: dict[str, str] = {}
    sections: set[str] = set()
    for key, error in errors.items():
        where = home.get(key)
        if where is None:
            placed.setdefault(key, error)
            continue
        placed.setdefault(where, error)
        sections.add(where)
    return placed, sections


def field_keys[C](layout: Sequence[Section[C]]) -> list[str]:
    """Every field key of the layout, in order."""
    return [field.key for part in layout for field in part.fields]
