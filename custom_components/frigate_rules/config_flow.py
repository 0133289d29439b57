"""UI configuration: the Frigate instance (entry), its options, and its rules."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

import voluptuous as vol
from homeassistant.config_entries import (
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentryFlow,
    OptionsFlow,
)
from homeassistant.core import callback
from homeassistant.helpers import selector

from .const import (
    CONF_FRIGATE_URL,
    CONF_TOPIC_PREFIX,
    DOMAIN,
    OPTION_DEFAULTS,
    OPTION_RANGES,
    SUBENTRY_RULE,
)
from .core.topics import DEFAULT_TOPIC_PREFIX, is_valid_topic_base
from .rule_flow import RuleSubentryFlow

MQTT_DOMAIN = "mqtt"

_UNITS = {
    "retention_seconds": "s",
    "availability_grace_seconds": "s",
}


def _entry_schema(defaults: dict[str, Any]) -> vol.Schema:
    url = defaults.get(CONF_FRIGATE_URL)
    return vol.Schema(
        {
            vol.Required(
                CONF_TOPIC_PREFIX, default=defaults.get(CONF_TOPIC_PREFIX, DEFAULT_TOPIC_PREFIX)
            ): selector.TextSelector(),
            vol.Optional(
                CONF_FRIGATE_URL, description={"suggested_value": url} if url else None
            ): selector.TextSelector(
                selector.TextSelectorConfig(type=selector.TextSelectorType.URL)
            ),
        }
    )


def _validate_entry(user_input: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Normalize the entry fields; return (data, errors keyed by field)."""
    errors: dict[str, str] = {}
    prefix = str(user_input.get(CONF_TOPIC_PREFIX, "")).strip().strip("/")
    if not is_valid_topic_base(prefix):
        errors[CONF_TOPIC_PREFIX] = "invalid_topic_prefix"
    data: dict[str, Any] = {CONF_TOPIC_PREFIX: prefix}
    url = str(user_input.get(CONF_FRIGATE_URL) or "").strip().rstrip("/")
    if url:
        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            errors[CONF_FRIGATE_URL] = "invalid_url"
        data[CONF_FRIGATE_URL] = url
    return data, errors


class FrigateRulesConfigFlow(ConfigFlow, domain=DOMAIN):
    """One entry per Frigate instance, identified by its MQTT topic prefix."""

    VERSION = 1

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the topic prefix and, optionally, Frigate's URL."""
        if not self.hass.config_entries.async_entries(MQTT_DOMAIN):
            return self.async_abort(reason="mqtt_not_configured")
        errors: dict[str, str] = {}
        if user_input is not None:
            data, errors = _validate_entry(user_input)
            if not errors:
                await self.async_set_unique_id(data[CONF_TOPIC_PREFIX])
                self._abort_if_unique_id_configured()
                return self.async_create_entry(title=_title(data), data=data)
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(_entry_schema({}), user_input),
            errors=errors,
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the prefix or URL of an existing entry."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            data, errors = _validate_entry(user_input)
            if not errors:
                await self.async_set_unique_id(data[CONF_TOPIC_PREFIX])
                if data[CONF_TOPIC_PREFIX] != entry.unique_id:
                    self._abort_if_unique_id_configured()
                return self.async_update_reload_and_abort(
                    entry, unique_id=data[CONF_TOPIC_PREFIX], title=_title(data), data=data
                )
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=_entry_schema({**entry.data, **(user_input or {})}),
            errors=errors,
        )

    @classmethod
    @callback
    def async_get_supported_subentry_types(
        cls, config_entry: ConfigEntry
    ) -> dict[str, type[ConfigSubentryFlow]]:
        """Rules are subentries, so that each can be added or edited on its own."""
        return {SUBENTRY_RULE: RuleSubentryFlow}

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> FrigateRulesOptionsFlow:
        """Buffer and availability tuning."""
        return FrigateRulesOptionsFlow()


def _title(data: dict[str, Any]) -> str:
    """Plain "Frigate" for the default prefix, so entity ids read `sensor.frigate_...`."""
    prefix = data[CONF_TOPIC_PREFIX]
    return "Frigate" if prefix == DEFAULT_TOPIC_PREFIX else f"Frigate ({prefix})"


def _options_schema(values: dict[str, Any]) -> vol.Schema:
    # Ranges are checked in the step, not by the selector, so that an out-of-range
    # value gets a translated form error instead of a generic "invalid input".
    return vol.Schema(
        {
            vol.Required(key, default=values.get(key, default)): _number_selector(_UNITS.get(key))
            for key, default in OPTION_DEFAULTS.items()
        }
    )


def _number_selector(unit: str | None) -> selector.NumberSelector:
    config = selector.NumberSelectorConfig(mode=selector.NumberSelectorMode.BOX, step=1)
    if unit is not None:
        config["unit_of_measurement"] = unit
    return selector.NumberSelector(config)


def validate_ranges(
    user_input: dict[str, Any], ranges: dict[str, tuple[int, int]]
) -> tuple[dict[str, int], dict[str, str]]:
    """Whole numbers within their ranges; errors keyed by field."""
    values: dict[str, int] = {}
    errors: dict[str, str] = {}
    for key, (low, high) in ranges.items():
        if key not in user_input:
            continue
        raw = user_input[key]
        if isinstance(raw, bool) or not isinstance(raw, int | float) or raw != int(raw):
            errors[key] = "not_whole_number"
            continue
        if not low <= raw <= high:
            errors[key] = "out_of_range"
            continue
        values[key] = int(raw)
    return values, errors


class FrigateRulesOptionsFlow(OptionsFlow):
    """Retention, buffer cap and availability grace."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Show and validate the options form."""
        errors: dict[str, str] = {}
        current = {**OPTION_DEFAULTS, **self.config_entry.options}
        if user_input is not None:
            values, errors = validate_ranges(user_input, OPTION_RANGES)
            if not errors:
                return self.async_create_entry(data={**self.config_entry.options, **values})
            current.update(user_input)
        return self.async_show_form(
            step_id="init",
            data_schema=_options_schema(current),
            errors=errors,
            description_placeholders=_range_placeholders(OPTION_RANGES),
        )


def _range_placeholders(ranges: dict[str, tuple[int, int]]) -> dict[str, str]:
    placeholders: dict[str, str] = {}
    for key, (low, high) in ranges.items():
        placeholders[f"{key}_min"] = str(low)
        placeholders[f"{key}_max"] = str(high)
    return placeholders
