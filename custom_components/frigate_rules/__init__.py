"""Frigate Rules: alarm-grade rule conditions from Frigate NVR's MQTT stream."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from homeassistant.components import mqtt
from homeassistant.config_entries import ConfigEntry, ConfigSubentry
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryNotReady
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.typing import ConfigType

from .alerts import AlertManager, forget_entry
from .compat import find_device
from .const import CONF_FRIGATE_URL, CONF_TOPIC_PREFIX, DOMAIN, LOGGER, SUBENTRY_RULE
from .core.model import Rule
from .core.ruleconfig import InvalidRule, rule_from_mapping
from .engine import Engine
from .entity import async_register_entry_device, rule_device_identifier
from .outbound import Outbound
from .services import async_setup_services

PLATFORMS = [Platform.BINARY_SENSOR, Platform.SENSOR]
CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


@dataclass
class FrigateRulesData:
    """What one loaded entry keeps in `entry.runtime_data`."""

    engine: Engine
    alerts: AlertManager
    outbound: Outbound
    # Registry id of the Frigate instance's device, the parent of every rule device.
    entry_device_id: str
    # Entry data and options as set up; a change to these needs a reload, while
    # a change to the subentries (rules) is applied in place.
    setup_config: dict[str, Any] = field(default_factory=dict)
    # Set by the binary_sensor platform: adds the sensor of a rule created later.
    add_rule_entity: Callable[[ConfigSubentry], None] | None = None


type FrigateRulesConfigEntry = ConfigEntry[FrigateRulesData]


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the services (once, whatever the number of entries)."""
    async_setup_services(hass)
    return True


def _setup_config(entry: ConfigEntry) -> dict[str, Any]:
    return {"data": dict(entry.data), "options": dict(entry.options)}


async def async_setup_entry(hass: HomeAssistant, entry: FrigateRulesConfigEntry) -> bool:
    """Subscribe to Frigate and create the entities."""
    if not await mqtt.async_wait_for_mqtt_client(hass):
        raise ConfigEntryNotReady(translation_domain=DOMAIN, translation_key="mqtt_not_ready")
    engine = Engine(hass, entry.data[CONF_TOPIC_PREFIX], entry.options)
    alerts = AlertManager(hass, entry.entry_id, entry.data.get(CONF_FRIGATE_URL))
    outbound = Outbound(hass, entry.entry_id, entry.options, engine, alerts)
    # After the outbound hook: consumers see a rule's state ON before its alert.
    engine.rule_hooks.append(alerts.on_evaluation)
    entry.runtime_data = FrigateRulesData(
        engine=engine,
        alerts=alerts,
        outbound=outbound,
        entry_device_id=async_register_entry_device(hass, entry),
        setup_config=_setup_config(entry),
    )
    engine.async_set_rules(rules_of_entry(entry).values())
    await outbound.async_start()
    entry.async_on_unload(outbound.async_stop)
    await engine.async_start()
    entry.async_on_unload(engine.async_stop)
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    entry.async_on_unload(entry.add_update_listener(_async_entry_updated))
    return True


async def async_unload_entry(hass: HomeAssistant, entry: FrigateRulesConfigEntry) -> bool:
    """Remove entities; `async_on_unload` callbacks stop the engine."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_entry(hass: HomeAssistant, entry: FrigateRulesConfigEntry) -> None:
    """Deleted for good: forget its cooldowns too."""
    forget_entry(hass, entry.entry_id)


async def _async_entry_updated(hass: HomeAssistant, entry: FrigateRulesConfigEntry) -> None:
    """Reload for option changes; rule (subentry) changes are applied in place."""
    if _setup_config(entry) != entry.runtime_data.setup_config:
        await hass.config_entries.async_reload(entry.entry_id)
        return
    _sync_rules(hass, entry)


def rules_of_entry(entry: ConfigEntry) -> dict[str, Rule]:
    """Every valid rule subentry as a core Rule; invalid ones are logged and left out."""
    rules: dict[str, Rule] = {}
    for subentry in entry.subentries.values():
        if subentry.subentry_type != SUBENTRY_RULE:
            continue
        try:
            rules[subentry.subentry_id] = rule_from_mapping(
                subentry.subentry_id, {**subentry.data, "name": subentry.title}
            )
        except InvalidRule as err:
            LOGGER.warning(
                "Rule '%s' is invalid and is ignored (%s: %s)", subentry.title, err.field, err.error
            )
    return rules


def _sync_rules(hass: HomeAssistant, entry: FrigateRulesConfigEntry) -> None:
    """Apply added, edited and removed rules without reloading the entry.

    The buffer, cooldowns and publisher connection live on; removed rules' entities
    and devices are removed by Home Assistant together with their subentry.
    """
    data = entry.runtime_data
    engine = data.engine
    old = engine.rules
    new = rules_of_entry(entry)
    for rule_id, rule in old.items():
        if rule_id not in new:
            data.alerts.forget_rule(rule_id)
            data.outbound.rule_removed(rule)
        elif new[rule_id].name != rule.name:
            data.outbound.rule_removed(rule)  # its state moves to the new name's topic
    engine.async_set_rules(new.values())
    device_registry = dr.async_get(hass)
    for rule_id, rule in new.items():
        if rule_id not in old:
            if data.add_rule_entity is not None:
                data.add_rule_entity(entry.subentries[rule_id])
        elif old[rule_id].name != rule.name:
            device = find_device(
                device_registry, rule_device_identifier(entry.entry_id, rule_id), entry.entry_id
            )
            if device is not None:
                device_registry.async_update_device(device.id, name=rule.name)
