"""Logbook lines for alerts: "Backyard person alerted: person on backyard (patio) at 93 %"."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from homeassistant.components.logbook.const import (
    LOGBOOK_ENTRY_ENTITY_ID,
    LOGBOOK_ENTRY_MESSAGE,
    LOGBOOK_ENTRY_NAME,
)
from homeassistant.core import Event, HomeAssistant, callback

from .const import DOMAIN, EVENT_ALERT


def describe_alert(data: Mapping[str, Any]) -> str:
    """The message part of the logbook line."""
    if data.get("camera") is None:
        return "alerted: Frigate is unavailable (fail-safe)"
    where = data["camera"]
    if data.get("zones"):
        where += f" ({', '.join(data['zones'])})"
    label = data.get("label") or "object"
    if data.get("sub_label"):
        label += f" ({data['sub_label']})"
    confidence = data.get("confidence_pct")
    at = f" at {confidence:.0f} %" if confidence is not None else ""
    return f"alerted: {label} on {where}{at}"


@callback
def async_describe_events(
    hass: HomeAssistant,
    async_describe_event: Callable[[str, str, Callable[[Event], dict[str, str]]], None],
) -> None:
    """Tell the logbook how to show `frigate_rules_alert`."""

    @callback
    def describe(event: Event) -> dict[str, str]:
        data = event.data
        description = {
            LOGBOOK_ENTRY_NAME: data.get("rule_name") or "Frigate rule",
            LOGBOOK_ENTRY_MESSAGE: describe_alert(data),
        }
        if data.get("entity_id"):
            description[LOGBOOK_ENTRY_ENTITY_ID] = data["entity_id"]
        return description

    async_describe_event(DOMAIN, EVENT_ALERT, describe)
