"""The "rule" config subentry flow: add a rule, reconfigure it in place.

One sectioned form serves both steps (`RULE_FORM`): what to look for, the alarm it
belongs to, and the rarely changed knobs in a folded "advanced" panel. Cameras and
zones that Frigate has reported are offered, zones with the cameras they were seen
on; names not seen yet can be typed in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar

from homeassistant.config_entries import (
    ConfigEntry,
    ConfigEntryState,
    ConfigSubentryFlow,
    SubentryFlowResult,
)
from homeassistant.helpers import selector

from .compat import vol
from .const import SUBENTRY_RULE, SUBENTRY_SEQUENCE
from .core.model import (
    Action,
    Aggregation,
    Condition,
    OnUnavailable,
    Rule,
    SubLabelMode,
    ZoneMatch,
)
from .core.ruleconfig import (
    ALARM_DOMAIN,
    ALARM_STATES,
    RULE_DEFAULTS,
    InvalidRule,
    rule_from_mapping,
    rule_to_mapping,
)
from .core.topics import sanitize_segment
from .form import Field, Section, flatten, form_schema, place_errors
from .selectors import choice, names, number_box

# Offered in the objects drop-down; any other label can be typed in.
COMMON_LABELS = (
    "person",
    "car",
    "motorcycle",
    "bicycle",
    "dog",
    "cat",
    "bird",
    "horse",
    "bear",
    "package",
    "license_plate",
    "face",
)


@dataclass(frozen=True, slots=True)
class Offers:
    """What the drop-downs offer: names seen so far, and those rules already use."""

    cameras: list[str] = field(default_factory=list)
    zones: dict[str, set[str]] = field(default_factory=dict)
    """Zone -> the cameras it was seen on."""
    labels: list[str] = field(default_factory=list)
    sub_labels: list[str] = field(default_factory=list)
    """Names Frigate recognized lately, and those rules already use."""

    def zone_options(self) -> list[selector.SelectOptionDict]:
        """Each zone labelled with its cameras, grouped by camera."""
        ordered = sorted(self.zones.items(), key=lambda item: (sorted(item[1]), item[0]))
        return [
            selector.SelectOptionDict(value=zone, label=f"{zone} ({', '.join(sorted(cameras))})")
            for zone, cameras in ordered
        ]


def _values(enum: type[StrEnum]) -> list[str]:
    return [member.value for member in enum]


def _text(_offers: Offers) -> selector.TextSelector:
    return selector.TextSelector()


def _alarm_panel(_offers: Offers) -> selector.EntitySelector:
    return selector.EntitySelector(selector.EntitySelectorConfig(domain=ALARM_DOMAIN))


def _stationary(_offers: Offers) -> selector.BooleanSelector:
    return selector.BooleanSelector()


# The form of both steps. A new rule field is one line in its section (plus its
# strings); stored rules stay flat (core/ruleconfig.py).
RULE_FORM: tuple[Section[Offers], ...] = (
    Section(
        "what",
        (
            Field("name", _text, required=True),
            Field("cameras", lambda offers: names(offers.cameras), required=True),
            Field("labels", lambda offers: names(offers.labels)),
            Field("zones", lambda offers: names(offers.zone_options()), cleared=[]),
            Field("min_confidence_pct", lambda _: number_box("%")),
            Field("within_seconds", lambda _: number_box("s")),
        ),
    ),
    Section(
        "alarm",
        (
            Field("alarm_entity", _alarm_panel, cleared=None),
            Field(
                "alarm_states",
                lambda _: names(list(ALARM_STATES), translation_key="alarm_states"),
                cleared=[],
            ),
            Field("action", lambda _: choice(_values(Action), "action")),
        ),
    ),
    Section(
        "who",
        (
            Field("sub_label_mode", lambda _: choice(_values(SubLabelMode), "sub_label_mode")),
            Field("known_sub_labels", lambda offers: names(offers.sub_labels), cleared=[]),
            Field("recognition_wait_seconds", lambda _: number_box("s")),
            Field("min_dwell_seconds", lambda _: number_box("s")),
        ),
        collapsed=True,
    ),
    Section(
        "advanced",
        (
            Field("aggregation", lambda _: choice(_values(Aggregation), "aggregation")),
            Field("percentile", lambda _: number_box(), cleared=None),
            Field("zone_match", lambda _: choice(_values(ZoneMatch), "zone_match")),
            Field("include_stationary", _stationary),
            Field("on_unavailable", lambda _: choice(_values(OnUnavailable), "on_unavailable")),
            Field("cooldown_seconds", lambda _: number_box("s")),
        ),
        collapsed=True,
    ),
)


def offers(entry: ConfigEntry, values: Mapping[str, Any]) -> Offers:
    """Cameras and zones seen by this entry's buffer or used by its rules."""
    cameras: set[str] = set()
    zones: dict[str, set[str]] = {}

    def add(camera_names: Any, zone_names: Any) -> None:
        cameras.update(camera_names)
        for zone in zone_names:
            zones.setdefault(zone, set()).update(camera_names)

    sub_labels: set[str] = set(values.get("known_sub_labels") or ())
    if entry.state is ConfigEntryState.LOADED:
        engine = entry.runtime_data.engine
        cameras.update(engine.buffer.cameras)
        for camera, camera_zones in engine.buffer.zones_seen.items():
            add([camera], camera_zones)
        sub_labels.update(engine.objects.names_seen)
    for subentry in entry.subentries.values():
        if subentry.subentry_type == SUBENTRY_RULE:
            add(subentry.data.get("cameras", ()), subentry.data.get("zones", ()))
            sub_labels.update(subentry.data.get("known_sub_labels", ()))
        elif subentry.subentry_type == SUBENTRY_SEQUENCE:
            for step in range(1, 5):
                add(
                    subentry.data.get(f"step_{step}_cameras", ()),
                    subentry.data.get(f"step_{step}_zones", ()),
                )
    add(values.get("cameras") or (), values.get("zones") or ())
    labels = sorted({*COMMON_LABELS, *(values.get("labels") or ())})
    return Offers(
        cameras=sorted(cameras), zones=zones, labels=labels, sub_labels=sorted(sub_labels)
    )


def rule_schema(
    entry: ConfigEntry, values: Mapping[str, Any], expand: set[str] | None = None
) -> vol.Schema:
    """The rule form, pre-filled with `values`; `expand` opens folded sections."""
    return form_schema(RULE_FORM, offers(entry, values), values, expand or set())


class ConditionSubentryFlow(ConfigSubentryFlow):
    """Create or edit one rule (or sequence); the entry is never reloaded for it.

    Subclasses say which form, defaults and validation; the steps are the same.
    """

    subentry_type: ClassVar[str]
    form: ClassVar[tuple[Section[Offers], ...]]

    def defaults(self) -> dict[str, Any]:
        """The values a new one starts with."""
        raise NotImplementedError

    def parse(self, condition_id: str, values: Mapping[str, Any]) -> Condition:
        """Validate `values` (raises `InvalidRule` with every field's error)."""
        raise NotImplementedError

    def to_mapping(self, condition: Condition) -> dict[str, Any]:
        """What is stored as the subentry's data."""
        raise NotImplementedError

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Add one."""
        return await self._async_form("user", user_input, None)

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Edit one in place: same subentry, same entity id."""
        return await self._async_form("reconfigure", user_input, self._reconfigure_subentry_id)

    async def _async_form(
        self, step_id: str, user_input: dict[str, Any] | None, condition_id: str | None
    ) -> SubentryFlowResult:
        entry = self._get_entry()
        if condition_id is not None:
            values: dict[str, Any] = {**entry.subentries[condition_id].data}
        else:
            values = self.defaults()
        errors: dict[str, str] = {}
        expand: set[str] = set()
        if user_input is not None:
            values = flatten(self.form, user_input, values)
            try:
                condition = self.parse(condition_id or "new", values)
            except InvalidRule as err:
                errors, expand = place_errors(self.form, err.errors)
            else:
                if name_taken(entry, condition.name, condition_id, self.subentry_type):
                    errors, expand = place_errors(self.form, {"name": "name_taken"})
                else:
                    data = self.to_mapping(condition)
                    if condition_id is None:
                        return self.async_create_entry(title=condition.name, data=data)
                    return self.async_update_and_abort(
                        entry, entry.subentries[condition_id], title=condition.name, data=data
                    )
        schema = form_schema(self.form, offers(entry, values), values, expand)
        return self.async_show_form(step_id=step_id, data_schema=schema, errors=errors)


class RuleSubentryFlow(ConditionSubentryFlow):
    """The rule form (`RULE_FORM`)."""

    subentry_type = SUBENTRY_RULE
    form = RULE_FORM

    def defaults(self) -> dict[str, Any]:
        """A new rule: no camera chosen for the user."""
        return {**RULE_DEFAULTS, "cameras": []}

    def parse(self, condition_id: str, values: Mapping[str, Any]) -> Condition:
        """A `Rule` (DESIGN 4.2)."""
        return rule_from_mapping(condition_id, values)

    def to_mapping(self, condition: Condition) -> dict[str, Any]:
        """The rule's fields as stored."""
        assert isinstance(condition, Rule)
        return rule_to_mapping(condition)


def name_taken(
    entry: ConfigEntry, name: str, own_id: str | None, subentry_type: str = SUBENTRY_RULE
) -> bool:
    """Names give MQTT topic segments, so two rules (or sequences) may not share one."""
    slug = sanitize_segment(name)
    return any(
        sub.subentry_type == subentry_type
        and sub.subentry_id != own_id
        and sanitize_segment(sub.title) == slug
        for sub in entry.subentries.values()
    )
