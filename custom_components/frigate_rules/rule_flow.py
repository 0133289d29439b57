"""The "rule" config subentry flow: add a rule, reconfigure it in place."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.config_entries import (
    ConfigEntry,
    ConfigEntryState,
    ConfigSubentryFlow,
    SubentryFlowResult,
)
from homeassistant.helpers import selector

from .compat import vol
from .const import SUBENTRY_RULE
from .core.model import Action, Aggregation, OnUnavailable, ZoneMatch
from .core.ruleconfig import (
    ALARM_DOMAIN,
    ALARM_STATES,
    RULE_DEFAULTS,
    InvalidRule,
    rule_from_mapping,
    rule_to_mapping,
)
from .core.topics import sanitize_segment
from .selectors import number_box

# Offered in the labels drop-down; any other label can be typed in.
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


def _multi(options: list[str], *, translation_key: str | None = None) -> selector.SelectSelector:
    config = selector.SelectSelectorConfig(
        options=options,
        multiple=True,
        custom_value=translation_key is None,
        mode=selector.SelectSelectorMode.DROPDOWN,
        sort=translation_key is None,
    )
    if translation_key is not None:
        config["translation_key"] = translation_key
    return selector.SelectSelector(config)


def _choice(options: list[str], translation_key: str) -> selector.SelectSelector:
    return selector.SelectSelector(
        selector.SelectSelectorConfig(
            options=options,
            translation_key=translation_key,
            mode=selector.SelectSelectorMode.DROPDOWN,
        )
    )


def _seen(entry: ConfigEntry) -> tuple[list[str], list[str]]:
    """Cameras and zones seen so far by this entry, plus those rules already use."""
    cameras: set[str] = set()
    zones: set[str] = set()
    if entry.state is ConfigEntryState.LOADED:
        buffer = entry.runtime_data.engine.buffer
        cameras.update(buffer.cameras)
        for camera_zones in buffer.zones_seen.values():
            zones.update(camera_zones)
    for subentry in entry.subentries.values():
        if subentry.subentry_type == SUBENTRY_RULE:
            cameras.update(subentry.data.get("cameras", ()))
            zones.update(subentry.data.get("zones", ()))
    return sorted(cameras), sorted(zones)


def rule_schema(entry: ConfigEntry, values: Mapping[str, Any]) -> vol.Schema:
    """The rule form, pre-filled with `values`."""
    cameras, zones = _seen(entry)

    def field(key: str, *, required: bool = False) -> vol.Marker:
        marker = vol.Required if required else vol.Optional
        value = values.get(key)
        if value is None or (value == [] and key in ("zones", "alarm_states")):
            return marker(key)
        return marker(key, description={"suggested_value": value})

    return vol.Schema(
        {
            field("name", required=True): selector.TextSelector(),
            field("cameras", required=True): _multi(cameras),
            field("labels"): _multi(sorted({*COMMON_LABELS, *values.get("labels", ())})),
            field("zones"): _multi(zones),
            field("zone_match"): _choice([m.value for m in ZoneMatch], "zone_match"),
            field("within_seconds"): number_box("s"),
            field("min_confidence_pct"): number_box("%"),
            field("aggregation"): _choice([a.value for a in Aggregation], "aggregation"),
            field("percentile"): number_box(),
            field("include_stationary"): selector.BooleanSelector(),
            field("on_unavailable"): _choice([o.value for o in OnUnavailable], "on_unavailable"),
            field("alarm_entity"): selector.EntitySelector(
                selector.EntitySelectorConfig(domain=ALARM_DOMAIN)
            ),
            field("alarm_states"): _multi(list(ALARM_STATES), translation_key="alarm_states"),
            field("cooldown_seconds"): number_box("s"),
            field("action"): _choice([a.value for a in Action], "action"),
        }
    )


class RuleSubentryFlow(ConfigSubentryFlow):
    """Create or edit one rule; the entry is never reloaded for it."""

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Add a rule."""
        return await self._async_form("user", user_input, None)

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Edit a rule in place: same subentry, same entity id."""
        return await self._async_form("reconfigure", user_input, self._reconfigure_subentry_id)

    async def _async_form(
        self, step_id: str, user_input: dict[str, Any] | None, rule_id: str | None
    ) -> SubentryFlowResult:
        entry = self._get_entry()
        errors: dict[str, str] = {}
        if rule_id is not None:
            values: dict[str, Any] = {**entry.subentries[rule_id].data}
        else:
            values = {**RULE_DEFAULTS, "alarm_entity": None}
        if user_input is not None:
            values = {**values, **user_input}
            # An emptied optional field comes back missing, not empty.
            for key in ("alarm_entity", "percentile"):
                if key not in user_input:
                    values[key] = None
            for key in ("zones", "alarm_states"):
                values.setdefault(key, [])
                if key not in user_input:
                    values[key] = []
            try:
                rule = rule_from_mapping(rule_id or "new", values)
            except InvalidRule as err:
                errors = err.errors
            else:
                if _name_taken(entry, rule.name, rule_id):
                    errors["name"] = "name_taken"
                else:
                    data = rule_to_mapping(rule)
                    if rule_id is None:
                        return self.async_create_entry(title=rule.name, data=data)
                    return self.async_update_and_abort(
                        entry, entry.subentries[rule_id], title=rule.name, data=data
                    )
        return self.async_show_form(
            step_id=step_id, data_schema=rule_schema(entry, values), errors=errors
        )


def _name_taken(entry: ConfigEntry, name: str, own_id: str | None) -> bool:
    """Rule names give MQTT topic segments, so two rules may not share one."""
    slug = sanitize_segment(name)
    return any(
        sub.subentry_type == SUBENTRY_RULE
        and sub.subentry_id != own_id
        and sanitize_segment(sub.title) == slug
        for sub in entry.subentries.values()
    )
