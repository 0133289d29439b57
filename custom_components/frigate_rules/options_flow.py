"""Options: buffer and availability (step `init`), then the publisher (step `publisher`)."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigFlowResult, OptionsFlow
from homeassistant.data_entry_flow import section
from homeassistant.helpers import selector

from .compat import vol
from .const import (
    BROKER_KEYS,
    CONF_BASE_TOPIC,
    CONF_BIRTH_PAYLOAD,
    CONF_BROKER_HOST,
    CONF_BROKER_PASSWORD,
    CONF_BROKER_PORT,
    CONF_BROKER_TLS,
    CONF_BROKER_TLS_INSECURE,
    CONF_BROKER_USERNAME,
    CONF_MESSAGE_EXPIRY_SECONDS,
    CONF_PUBLISH_ENABLED,
    CONF_QOS,
    CONF_WILL_PAYLOAD,
    OPTION_DEFAULTS,
    OPTION_RANGES,
    PUBLISHER_DEFAULTS,
    PUBLISHER_RANGES,
)
from .core.topics import is_valid_topic_base
from .outbound import configured_broker as broker_settings
from .publisher import CannotConnect, InvalidAuth, async_test_connection
from .selectors import number_box

SECTION_BROKER = "broker"
_UNITS = {
    "retention_seconds": "s",
    "availability_grace_seconds": "s",
    CONF_MESSAGE_EXPIRY_SECONDS: "s",
}


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


def range_placeholders(*ranges: dict[str, tuple[int, int]]) -> dict[str, str]:
    """`<key>_min` / `<key>_max` for the field descriptions."""
    placeholders: dict[str, str] = {}
    for table in ranges:
        for key, (low, high) in table.items():
            placeholders[f"{key}_min"] = str(low)
            placeholders[f"{key}_max"] = str(high)
    return placeholders


def _buffer_schema(values: dict[str, Any]) -> vol.Schema:
    return vol.Schema(
        {
            vol.Required(key, default=values.get(key, default)): number_box(_UNITS.get(key))
            for key, default in OPTION_DEFAULTS.items()
        }
    )


def _publisher_schema(values: dict[str, Any]) -> vol.Schema:
    def suggested(key: str) -> dict[str, Any] | None:
        value = values.get(key)
        return None if value in (None, "") else {"suggested_value": value}

    text = selector.TextSelector()
    return vol.Schema(
        {
            vol.Required(
                CONF_PUBLISH_ENABLED, default=values[CONF_PUBLISH_ENABLED]
            ): selector.BooleanSelector(),
            vol.Required(CONF_BASE_TOPIC, default=values[CONF_BASE_TOPIC]): text,
            vol.Required(
                CONF_MESSAGE_EXPIRY_SECONDS, default=values[CONF_MESSAGE_EXPIRY_SECONDS]
            ): number_box("s"),
            vol.Required(CONF_QOS, default=str(values[CONF_QOS])): selector.SelectSelector(
                selector.SelectSelectorConfig(
                    options=["0", "1", "2"], mode=selector.SelectSelectorMode.LIST
                )
            ),
            vol.Required(CONF_BIRTH_PAYLOAD, default=values[CONF_BIRTH_PAYLOAD]): text,
            vol.Required(CONF_WILL_PAYLOAD, default=values[CONF_WILL_PAYLOAD]): text,
            vol.Required(SECTION_BROKER): section(
                vol.Schema(
                    {
                        vol.Optional(
                            CONF_BROKER_HOST, description=suggested(CONF_BROKER_HOST)
                        ): text,
                        vol.Optional(
                            CONF_BROKER_PORT, description=suggested(CONF_BROKER_PORT)
                        ): number_box(),
                        vol.Optional(
                            CONF_BROKER_USERNAME, description=suggested(CONF_BROKER_USERNAME)
                        ): text,
                        vol.Optional(CONF_BROKER_PASSWORD): selector.TextSelector(
                            selector.TextSelectorConfig(type=selector.TextSelectorType.PASSWORD)
                        ),
                        vol.Optional(
                            CONF_BROKER_TLS, default=bool(values.get(CONF_BROKER_TLS, False))
                        ): selector.BooleanSelector(),
                        vol.Optional(
                            CONF_BROKER_TLS_INSECURE,
                            default=bool(values.get(CONF_BROKER_TLS_INSECURE, False)),
                        ): selector.BooleanSelector(),
                    }
                ),
                {"collapsed": not values.get(CONF_BROKER_HOST)},
            ),
        }
    )


class FrigateRulesOptionsFlow(OptionsFlow):
    """Two pages: the buffer, then where and how alerts are published."""

    def __init__(self) -> None:
        self._buffer_options: dict[str, int] = {}

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Retention, buffer cap and availability grace."""
        errors: dict[str, str] = {}
        current = {**OPTION_DEFAULTS, **self.config_entry.options}
        if user_input is not None:
            values, errors = validate_ranges(user_input, OPTION_RANGES)
            if not errors:
                self._buffer_options = values
                return await self.async_step_publisher()
            current.update(user_input)
        return self.async_show_form(
            step_id="init",
            data_schema=_buffer_schema(current),
            errors=errors,
            description_placeholders=range_placeholders(OPTION_RANGES),
        )

    async def async_step_publisher(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The own MQTT connection: topics, expiry, QoS, optional broker override."""
        errors: dict[str, str] = {}
        saved = dict(self.config_entry.options)
        current: dict[str, Any] = {**PUBLISHER_DEFAULTS, **saved}
        if user_input is not None:
            flat = {**user_input, **user_input.get(SECTION_BROKER, {})}
            flat.pop(SECTION_BROKER, None)
            current.update(flat)
            values, errors = self._validate_publisher(flat, saved)
            if not errors:
                errors = await self._async_test_broker(values, saved)
            if not errors:
                options = {
                    key: value
                    for key, value in saved.items()
                    if key not in BROKER_KEYS or key in values
                }
                return self.async_create_entry(data={**options, **self._buffer_options, **values})
        return self.async_show_form(
            step_id="publisher",
            data_schema=_publisher_schema(current),
            errors=errors,
            description_placeholders=range_placeholders(PUBLISHER_RANGES),
        )

    def _validate_publisher(
        self, flat: dict[str, Any], saved: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, str]]:
        raw = dict(flat)
        raw[CONF_QOS] = _as_number(raw.get(CONF_QOS))
        numbers, errors = validate_ranges(raw, PUBLISHER_RANGES)
        values: dict[str, Any] = {
            CONF_PUBLISH_ENABLED: bool(flat.get(CONF_PUBLISH_ENABLED, True)),
            **numbers,
        }
        base = str(flat.get(CONF_BASE_TOPIC, "")).strip().strip("/")
        if not is_valid_topic_base(base):
            errors[CONF_BASE_TOPIC] = "invalid_topic"
        values[CONF_BASE_TOPIC] = base
        for key in (CONF_BIRTH_PAYLOAD, CONF_WILL_PAYLOAD):
            payload = str(flat.get(key, "")).strip()
            if not payload:
                errors[key] = "payload_required"
            values[key] = payload
        host = str(flat.get(CONF_BROKER_HOST) or "").strip()
        if host:
            values[CONF_BROKER_HOST] = host
            values.setdefault(CONF_BROKER_PORT, 1883)
            for key in (CONF_BROKER_USERNAME, CONF_BROKER_PASSWORD):
                if flat.get(key):
                    values[key] = str(flat[key])
            # An untouched password field keeps the saved password for the same broker.
            if (
                CONF_BROKER_PASSWORD not in values
                and saved.get(CONF_BROKER_HOST) == host
                and saved.get(CONF_BROKER_PASSWORD)
            ):
                values[CONF_BROKER_PASSWORD] = saved[CONF_BROKER_PASSWORD]
            values[CONF_BROKER_TLS] = bool(flat.get(CONF_BROKER_TLS, False))
            values[CONF_BROKER_TLS_INSECURE] = bool(flat.get(CONF_BROKER_TLS_INSECURE, False))
        else:
            values.pop(CONF_BROKER_PORT, None)
        return values, errors

    async def _async_test_broker(
        self, values: dict[str, Any], saved: dict[str, Any]
    ) -> dict[str, str]:
        """Test-before-configure: connect once to a broker that changed."""
        if not values[CONF_PUBLISH_ENABLED]:
            return {}
        if {k: values.get(k) for k in BROKER_KEYS} == {k: saved.get(k) for k in BROKER_KEYS} and (
            saved.get(CONF_PUBLISH_ENABLED, True)
        ):
            return {}
        settings = broker_settings(self.hass, values)
        if settings is None:
            return {"base": "no_broker"}
        try:
            await async_test_connection(self.hass.loop, settings)
        except InvalidAuth:
            return {"base": "invalid_auth"}
        except CannotConnect:
            return {"base": "cannot_connect"}
        return {}


def _as_number(value: Any) -> Any:
    try:
        return int(value)
    except (TypeError, ValueError):
        return value
