"""Options (step `init`): the buffer on top, publishing and another broker folded below."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigFlowResult, OptionsFlow
from homeassistant.helpers import selector

from .compat import vol
from .const import (
    BROKER_KEYS,
    CONF_AVAILABILITY_GRACE_SECONDS,
    CONF_BASE_TOPIC,
    CONF_BIRTH_PAYLOAD,
    CONF_BROKER_HOST,
    CONF_BROKER_PASSWORD,
    CONF_BROKER_PORT,
    CONF_BROKER_TLS,
    CONF_BROKER_TLS_INSECURE,
    CONF_BROKER_USERNAME,
    CONF_FALLBACK_POLL_SECONDS,
    CONF_MAX_OBSERVATIONS,
    CONF_MESSAGE_EXPIRY_SECONDS,
    CONF_MIN_RECOGNITION_PCT,
    CONF_PUBLISH_ENABLED,
    CONF_QOS,
    CONF_RETENTION_SECONDS,
    CONF_WILL_PAYLOAD,
    OPTION_DEFAULTS,
    OPTION_RANGES,
    PUBLISHER_DEFAULTS,
    PUBLISHER_RANGES,
)
from .core.topics import is_valid_topic_base
from .form import Field, Section, flatten, form_schema, place_errors
from .outbound import configured_broker as broker_settings
from .publisher import CannotConnect, InvalidAuth, async_test_connection
from .selectors import number_box

SECTION_PUBLISHER = "publisher"
SECTION_BROKER = "broker"


def _text(_: None) -> selector.TextSelector:
    return selector.TextSelector()


def _switch(_: None) -> selector.BooleanSelector:
    return selector.BooleanSelector()


def _password(_: None) -> selector.TextSelector:
    return selector.TextSelector(
        selector.TextSelectorConfig(type=selector.TextSelectorType.PASSWORD)
    )


def _qos(_: None) -> selector.SelectSelector:
    return selector.SelectSelector(
        selector.SelectSelectorConfig(
            options=["0", "1", "2"], mode=selector.SelectSelectorMode.LIST
        )
    )


# One page: the buffer on top, publishing and another broker in folded sections.
OPTIONS_FORM: tuple[Section[None], ...] = (
    Section(
        None,
        (
            Field(CONF_RETENTION_SECONDS, lambda _: number_box("s")),
            Field(CONF_MAX_OBSERVATIONS, lambda _: number_box()),
            Field(CONF_AVAILABILITY_GRACE_SECONDS, lambda _: number_box("s")),
            Field(CONF_FALLBACK_POLL_SECONDS, lambda _: number_box("s")),
            Field(CONF_MIN_RECOGNITION_PCT, lambda _: number_box("%")),
        ),
    ),
    Section(
        SECTION_PUBLISHER,
        (
            Field(CONF_PUBLISH_ENABLED, _switch),
            Field(CONF_BASE_TOPIC, _text),
            Field(CONF_MESSAGE_EXPIRY_SECONDS, lambda _: number_box("s")),
            Field(CONF_QOS, _qos),
            Field(CONF_BIRTH_PAYLOAD, _text),
            Field(CONF_WILL_PAYLOAD, _text),
        ),
        collapsed=True,
    ),
    Section(
        SECTION_BROKER,
        (
            Field(CONF_BROKER_HOST, _text, cleared=None),
            Field(CONF_BROKER_PORT, lambda _: number_box(), cleared=None),
            Field(CONF_BROKER_USERNAME, _text, cleared=None),
            # Never shown; left empty it keeps the saved password of the same broker.
            Field(CONF_BROKER_PASSWORD, _password, cleared=None),
            Field(CONF_BROKER_TLS, _switch),
            Field(CONF_BROKER_TLS_INSECURE, _switch),
        ),
        collapsed=True,
    ),
)


def validate_ranges(
    user_input: dict[str, Any], ranges: dict[str, tuple[int, int]]
) -> tuple[dict[str, int], dict[str, str]]:
    """Whole numbers within their ranges; errors keyed by field."""
    values: dict[str, int] = {}
    errors: dict[str, str] = {}
    for key, (low, high) in ranges.items():
        if user_input.get(key) is None:
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


def options_schema(values: dict[str, Any], expand: set[str] | None = None) -> vol.Schema:
    """The options page, pre-filled with `values`; `expand` opens folded sections."""
    shown = {**values, CONF_QOS: str(values[CONF_QOS]), CONF_BROKER_PASSWORD: None}
    opened = set(expand or ())
    if values.get(CONF_BROKER_HOST):
        opened.add(SECTION_BROKER)
    return form_schema(OPTIONS_FORM, None, shown, opened)


class FrigateRulesOptionsFlow(OptionsFlow):
    """One page: the buffer, then where and how alerts are published (folded)."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Buffer and availability; publishing and another broker in sections."""
        saved = dict(self.config_entry.options)
        current: dict[str, Any] = {**OPTION_DEFAULTS, **PUBLISHER_DEFAULTS, **saved}
        errors: dict[str, str] = {}
        expand: set[str] = set()
        if user_input is not None:
            current = flatten(OPTIONS_FORM, user_input, current)
            values, field_errors = self._validate(current, saved)
            errors, expand = place_errors(OPTIONS_FORM, field_errors)
            if not errors:
                errors = await self._async_test_broker(values, saved)
                if errors:
                    expand = {SECTION_PUBLISHER, SECTION_BROKER}
            if not errors:
                options = {key: value for key, value in saved.items() if key not in BROKER_KEYS}
                return self.async_create_entry(data={**options, **values})
        return self.async_show_form(
            step_id="init",
            data_schema=options_schema(current, expand),
            errors=errors,
            description_placeholders=range_placeholders(OPTION_RANGES, PUBLISHER_RANGES),
        )

    def _validate(
        self, flat: dict[str, Any], saved: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, str]]:
        values, errors = validate_ranges(flat, OPTION_RANGES)
        publisher, publisher_errors = self._validate_publisher(flat, saved)
        return {**values, **publisher}, {**errors, **publisher_errors}

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
