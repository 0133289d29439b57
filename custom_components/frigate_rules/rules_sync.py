"""Rules are config subentries: read them, and apply changes without a reload.

Adding, editing or deleting a rule must not reload the entry (DESIGN 4.2): the buffer,
the cooldowns and the publisher connection live on, so there is no `offline` flap.
"""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.dispatcher import async_dispatcher_send

from .compat import find_device
from .const import LOGGER, SUBENTRY_RULE, SUBENTRY_SEQUENCE
from .core.model import Condition
from .core.ruleconfig import InvalidRule, rule_from_mapping
from .core.sequenceconfig import sequence_from_mapping
from .data import FrigateRulesConfigEntry
from .entity import rule_device_identifier, signal_rule_added


def rules_of_entry(entry: ConfigEntry) -> dict[str, Condition]:
    """Every valid rule and sequence subentry; invalid ones are logged and left out."""
    rules: dict[str, Condition] = {}
    for subentry in entry.subentries.values():
        data = {**subentry.data, "name": subentry.title}
        try:
            if subentry.subentry_type == SUBENTRY_RULE:
                rules[subentry.subentry_id] = rule_from_mapping(subentry.subentry_id, data)
            elif subentry.subentry_type == SUBENTRY_SEQUENCE:
                rules[subentry.subentry_id] = sequence_from_mapping(subentry.subentry_id, data)
        except InvalidRule as err:
            LOGGER.warning(
                "%s '%s' is invalid and is ignored (%s: %s)",
                subentry.subentry_type.capitalize(),
                subentry.title,
                err.field,
                err.error,
            )
    return rules


@callback
def async_sync_rules(hass: HomeAssistant, entry: FrigateRulesConfigEntry) -> None:
    """Apply added, edited and removed rules in place.

    Removed rules' entities and devices are removed by Home Assistant together with
    their subentry; a new rule's sensor is added by the binary_sensor platform, which
    listens for `signal_rule_added`.
    """
    data = entry.runtime_data
    engine = data.engine
    old = engine.rules
    new = rules_of_entry(entry)
    for rule_id, rule in old.items():
        if rule_id not in new:
            data.alerts.forget_rule(rule_id)
            engine.outputs.removed(rule)
        elif new[rule_id].name != rule.name:
            engine.outputs.removed(rule)  # its state moves to the new name's topic
    engine.async_set_rules(new.values())
    device_registry = dr.async_get(hass)
    for rule_id, rule in new.items():
        if rule_id not in old:
            async_dispatcher_send(
                hass, signal_rule_added(entry.entry_id), entry.subentries[rule_id]
            )
        elif old[rule_id].name != rule.name:
            device = find_device(
                device_registry, rule_device_identifier(entry.entry_id, rule_id), entry.entry_id
            )
            if device is not None:
                device_registry.async_update_device(device.id, name=rule.name)
