"""Device trigger "alert" on each rule's device, optionally for one camera."""

from __future__ import annotations

from typing import Any

from homeassistant.components.device_automation import DEVICE_TRIGGER_BASE_SCHEMA
from homeassistant.components.device_automation.exceptions import (
    InvalidDeviceAutomationConfig,
)
from homeassistant.components.homeassistant.triggers import event as event_trigger
from homeassistant.const import (
    CONF_DEVICE_ID,
    CONF_DOMAIN,
    CONF_ENTITY_ID,
    CONF_EVENT_DATA,
    CONF_PLATFORM,
    CONF_TYPE,
)
from homeassistant.core import CALLBACK_TYPE, HomeAssistant
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.trigger import TriggerActionType, TriggerInfo
from homeassistant.helpers.typing import ConfigType

from .compat import device_config_entry_ids, vol
from .const import DOMAIN, EVENT_ALERT
from .entity import rule_id_of, rule_unique_id

TRIGGER_ALERT = "alert"
CONF_CAMERA = "camera"

TRIGGER_SCHEMA = DEVICE_TRIGGER_BASE_SCHEMA.extend(
    {
        vol.Required(CONF_TYPE): vol.In([TRIGGER_ALERT]),
        # Only names the trigger in the editor ("<rule> alerted"); matching is by rule.
        vol.Optional(CONF_ENTITY_ID): cv.entity_id_or_uuid,
        vol.Optional(CONF_CAMERA): cv.string,
    }
)


def _rule_of_device(hass: HomeAssistant, device_id: str) -> tuple[str, str] | None:
    """(entry id, rule id) behind a rule device, or None for other devices."""
    device = dr.async_get(hass).async_get(device_id)
    if device is None:
        return None
    for domain, identifier in device.identifiers:
        if domain != DOMAIN:
            continue
        for entry_id in device_config_entry_ids(device):
            rule_id = rule_id_of(entry_id, identifier)
            if rule_id is not None:
                return entry_id, rule_id
    return None


async def async_get_triggers(hass: HomeAssistant, device_id: str) -> list[dict[str, Any]]:
    """Offer "<rule> alerted" on rule devices."""
    rule = _rule_of_device(hass, device_id)
    if rule is None:
        return []
    trigger = {
        CONF_PLATFORM: "device",
        CONF_DOMAIN: DOMAIN,
        CONF_DEVICE_ID: device_id,
        CONF_TYPE: TRIGGER_ALERT,
    }
    registry = er.async_get(hass)
    entity_id = registry.async_get_entity_id("binary_sensor", DOMAIN, rule_unique_id(*rule))
    if entity_id is not None and (entity := registry.async_get(entity_id)) is not None:
        trigger[CONF_ENTITY_ID] = entity.id
    return [trigger]


async def async_get_trigger_capabilities(
    hass: HomeAssistant, config: ConfigType
) -> dict[str, vol.Schema]:
    """The optional camera filter."""
    return {"extra_fields": vol.Schema({vol.Optional(CONF_CAMERA): cv.string})}


async def async_attach_trigger(
    hass: HomeAssistant,
    config: ConfigType,
    action: TriggerActionType,
    trigger_info: TriggerInfo,
) -> CALLBACK_TYPE:
    """Listen for this rule's alert events (and camera, when given)."""
    rule = _rule_of_device(hass, config[CONF_DEVICE_ID])
    if rule is None:
        raise InvalidDeviceAutomationConfig(f"Device {config[CONF_DEVICE_ID]} is not a rule")
    event_data: dict[str, Any] = {"rule_id": rule[1]}
    if CONF_CAMERA in config:
        event_data[CONF_CAMERA] = config[CONF_CAMERA]
    event_config = event_trigger.TRIGGER_SCHEMA(
        {
            CONF_PLATFORM: "event",
            event_trigger.CONF_EVENT_TYPE: EVENT_ALERT,
            CONF_EVENT_DATA: event_data,
        }
    )
    return await event_trigger.async_attach_trigger(
        hass, event_config, action, trigger_info, platform_type="device"
    )
