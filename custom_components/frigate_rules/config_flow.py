"""UI configuration: the Frigate instance (entry), its options, and its rules."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlparse

from homeassistant.config_entries import (
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentryFlow,
)
from homeassistant.core import callback
from homeassistant.data_entry_flow import section
from homeassistant.helpers import selector
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from .compat import vol
from .const import (
    CONF_FRIGATE_PASSWORD,
    CONF_FRIGATE_URL,
    CONF_FRIGATE_USERNAME,
    CONF_TOPIC_PREFIX,
    DOMAIN,
    SUBENTRY_RULE,
    SUBENTRY_SEQUENCE,
)
from .core.topics import DEFAULT_TOPIC_PREFIX, is_valid_topic_base
from .options_flow import FrigateRulesOptionsFlow
from .rest import FrigateApi, FrigateApiError, FrigateAuthError
from .rule_flow import RuleSubentryFlow
from .sequence_flow import SequenceSubentryFlow

MQTT_DOMAIN = "mqtt"


SECTION_LOGIN = "login"


def _suggested(value: Any) -> dict[str, Any] | None:
    return {"suggested_value": value} if value else None


def _entry_schema(defaults: dict[str, Any]) -> vol.Schema:
    """Prefix and URL; Frigate's login (for its authenticated port) folded below."""
    username = defaults.get(CONF_FRIGATE_USERNAME)
    return vol.Schema(
        {
            vol.Required(
                CONF_TOPIC_PREFIX, default=defaults.get(CONF_TOPIC_PREFIX, DEFAULT_TOPIC_PREFIX)
            ): selector.TextSelector(),
            vol.Optional(
                CONF_FRIGATE_URL, description=_suggested(defaults.get(CONF_FRIGATE_URL))
            ): selector.TextSelector(
                selector.TextSelectorConfig(type=selector.TextSelectorType.URL)
            ),
            vol.Optional(SECTION_LOGIN): section(
                vol.Schema(
                    {
                        vol.Optional(
                            CONF_FRIGATE_USERNAME, description=_suggested(username)
                        ): selector.TextSelector(),
                        # Never sent back; left empty it keeps the saved one.
                        vol.Optional(CONF_FRIGATE_PASSWORD): selector.TextSelector(
                            selector.TextSelectorConfig(type=selector.TextSelectorType.PASSWORD)
                        ),
                    }
                ),
                {"collapsed": not username},
            ),
        }
    )


def _reauth_schema(username: str | None) -> vol.Schema:
    """Frigate's login alone, the saved username offered, the password never."""
    return vol.Schema(
        {
            vol.Required(
                CONF_FRIGATE_USERNAME, description=_suggested(username)
            ): selector.TextSelector(),
            vol.Required(CONF_FRIGATE_PASSWORD): selector.TextSelector(
                selector.TextSelectorConfig(type=selector.TextSelectorType.PASSWORD)
            ),
        }
    )


def _validate_entry(
    user_input: dict[str, Any], saved: Mapping[str, Any] | None = None
) -> tuple[dict[str, Any], dict[str, str]]:
    """Normalize the entry fields; return (data, errors keyed by field or section).

    An empty password keeps the saved one while the username stays the same.
    """
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
    # A login section left out of the submission changes nothing.
    login = user_input.get(SECTION_LOGIN, saved or {}) or {}
    username = str(login.get(CONF_FRIGATE_USERNAME) or "").strip()
    password = str(login.get(CONF_FRIGATE_PASSWORD) or "")
    if username:
        data[CONF_FRIGATE_USERNAME] = username
        if not password and saved and saved.get(CONF_FRIGATE_USERNAME) == username:
            password = str(saved.get(CONF_FRIGATE_PASSWORD) or "")
        if password:
            data[CONF_FRIGATE_PASSWORD] = password
        if not url:
            errors[SECTION_LOGIN] = "login_needs_url"
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
            data_schema=_entry_schema(_flat(user_input)),
            errors=errors,
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the prefix or URL of an existing entry."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            data, errors = _validate_entry(user_input, entry.data)
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
            data_schema=_entry_schema({**entry.data, **_flat(user_input)}),
            errors=errors,
        )

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """Started when Frigate refuses the saved login (the API fallback cannot work)."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for Frigate's login again and try it before saving it."""
        entry = self._get_reauth_entry()
        url = str(entry.data.get(CONF_FRIGATE_URL) or "")
        errors: dict[str, str] = {}
        if user_input is not None:
            username = str(user_input[CONF_FRIGATE_USERNAME]).strip()
            password = str(user_input[CONF_FRIGATE_PASSWORD])
            api = FrigateApi(async_get_clientsession(self.hass), url, username, password)
            try:
                await api.login()
            except FrigateAuthError:
                errors["base"] = "invalid_auth"
            except FrigateApiError:
                errors["base"] = "cannot_connect"
            else:
                login = {CONF_FRIGATE_USERNAME: username, CONF_FRIGATE_PASSWORD: password}
                # The update listener reloads the entry (one reload, from one place).
                self.hass.config_entries.async_update_entry(entry, data={**entry.data, **login})
                return self.async_abort(reason="reauth_successful")
        shown = (user_input or entry.data).get(CONF_FRIGATE_USERNAME)
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=_reauth_schema(shown),
            description_placeholders={"url": url},
            errors=errors,
        )

    @classmethod
    @callback
    def async_get_supported_subentry_types(
        cls, config_entry: ConfigEntry
    ) -> dict[str, type[ConfigSubentryFlow]]:
        """Rules are subentries, so that each can be added or edited on its own."""
        return {SUBENTRY_RULE: RuleSubentryFlow, SUBENTRY_SEQUENCE: SequenceSubentryFlow}

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> FrigateRulesOptionsFlow:
        """Buffer, availability and publisher options."""
        return FrigateRulesOptionsFlow()


def _flat(user_input: dict[str, Any] | None) -> dict[str, Any]:
    """The submitted fields with the login section's merged in (to show them again)."""
    flat = dict(user_input or {})
    flat.update(flat.pop(SECTION_LOGIN, None) or {})
    flat.pop(CONF_FRIGATE_PASSWORD, None)
    return flat


def _title(data: dict[str, Any]) -> str:
    """Plain "Frigate" for the default prefix, so entity ids read `sensor.frigate_...`."""
    prefix = data[CONF_TOPIC_PREFIX]
    return "Frigate" if prefix == DEFAULT_TOPIC_PREFIX else f"Frigate ({prefix})"
