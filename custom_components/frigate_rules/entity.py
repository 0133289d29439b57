"""Shared entity plumbing: devices and engine listeners."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity import Entity

from .compat import link_to_parent
from .const import DOMAIN

if TYPE_CHECKING:
    from .data import FrigateRulesConfigEntry
    from .notifier import Notifier

MANUFACTURER = "Frigate Rules"


def entry_device_identifier(entry_id: str) -> tuple[str, str]:
    """Device registry identifier of a Frigate instance's device."""
    return (DOMAIN, entry_id)


def entry_device(entry: ConfigEntry) -> DeviceInfo:
    """The device that stands for one Frigate instance (one entry)."""
    return DeviceInfo(
        identifiers={entry_device_identifier(entry.entry_id)},
        name=entry.title,
        manufacturer=MANUFACTURER,
        model="Frigate MQTT",
        entry_type=DeviceEntryType.SERVICE,
        configuration_url=entry.data.get("frigate_url"),
    )


def signal_rule_added(entry_id: str) -> str:
    """Dispatcher signal: a rule subentry was added to this entry (no reload)."""
    return f"{DOMAIN}_rule_added_{entry_id}"


def rule_unique_id(entry_id: str, rule_id: str) -> str:
    """Unique id of a rule's binary_sensor, and its device's identifier."""
    return f"{entry_id}_{rule_id}"


def rule_id_of(entry_id: str, unique_id: str) -> str | None:
    """The rule id inside a rule's unique id (None for another entity of the entry)."""
    prefix = f"{entry_id}_"
    return unique_id.removeprefix(prefix) if unique_id.startswith(prefix) else None


def rule_device_identifier(entry_id: str, rule_id: str) -> tuple[str, str]:
    """Device registry identifier of a rule's device."""
    return (DOMAIN, rule_unique_id(entry_id, rule_id))


def rule_device(
    entry: FrigateRulesConfigEntry, rule_id: str, name: str, model: str = "Rule"
) -> DeviceInfo:
    """The device that stands for one rule (or sequence), under its Frigate's device."""
    return link_to_parent(
        DeviceInfo(
            identifiers={rule_device_identifier(entry.entry_id, rule_id)},
            name=name,
            manufacturer=MANUFACTURER,
            model=model,
            entry_type=DeviceEntryType.SERVICE,
        ),
        entry.runtime_data.entry_device_id,
        entry_device_identifier(entry.entry_id),
    )


@callback
def async_register_entry_device(hass: HomeAssistant, entry: ConfigEntry) -> str:
    """Create (or find) the Frigate instance's device first; its registry id.

    Rule devices link to it by id, so it must exist before any rule entity does.
    """
    device = dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id, **entry_device(entry)
    )
    return device.id


class NotifiedEntity(Entity):
    """An entity that redraws itself when the notifier says so, never polled."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, notifier: Notifier, listen_key: str) -> None:
        self._notifier = notifier
        self._listen_key = listen_key

    async def async_added_to_hass(self) -> None:
        """Start listening."""
        self.async_on_remove(self._notifier.async_add_listener(self._listen_key, self._refresh))

    @callback
    def _refresh(self) -> None:
        self.async_write_ha_state()
