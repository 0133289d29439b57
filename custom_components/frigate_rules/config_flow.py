"""UI configuration: the Frigate instance (entry), its options, and its rules."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from homeassistant.config_entries import (
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentryFlow,
)
from homeassistant.core import callback
from homeassistant.helpers import selector

from .compat import vol
from .const import (
    CONF_FRIGATE_URL,
    CONF_TOPIC_PREFIX,
    DOMAIN,
    SUBENTRY_RULE,
)
from .core.topics import DEFAULT_TOPIC_PREFIX, is_valid_topic_base
from .options_flow import FrigateRulesOptionsFlow
from .rule_flow import RuleSubentryFlow

MQTT_DOMAIN = "mqtt"


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
                # Update only: the entry's update listener reloads it, so there is one
                # reload, from one place (HA 2026.12 refuses a flow-driven reload of
                # an entry with an update listener).
                self.hass.config_entries.async_update_entry(
                    entry, unique_id=data[CONF_TOPIC_PREFIX], title=_title(data), data=data
                )
                return self.async_abort(reason="reconfigure_successful")
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
        """Buffer, availability and publisher options."""
        return FrigateRulesOptionsFlow()


def _title(data: dict[str, Any]) -> str:
    """Plain "Frigate" for the default prefix, so entity ids read `sensor.frigate_...`."""
    prefix = data[CONF_TOPIC_PREFIX]
    return "Frigate" if prefix == DEFAULT_TOPIC_PREFIX else f"Frigate ({prefix})"
