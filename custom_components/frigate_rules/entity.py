"""Shared entity plumbing: devices and engine listeners."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.core import callback
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity import Entity

from .const import DOMAIN

if TYPE_CHECKING:
    from . import FrigateRulesConfigEntry
    from .engine import Engine

MANUFACTURER = "Frigate Rules"


def entry_device(entry: FrigateRulesConfigEntry) -> DeviceInfo:
    """The device that stands for one Frigate instance (one entry)."""
    return DeviceInfo(
        identifiers={(DOMAIN, entry.entry_id)},
        name=entry.title,
        manufacturer=MANUFACTURER,
        model="Frigate MQTT",
        entry_type=DeviceEntryType.SERVICE,
        configuration_url=entry.data.get("frigate_url"),
    )


def rule_device_identifier(entry_id: str, rule_id: str) -> tuple[str, str]:
    """Device registry identifier of a rule's device."""
    return (DOMAIN, f"{entry_id}_{rule_id}")


class EngineEntity(Entity):
    """An entity that redraws itself when its engine says so, never polled."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, engine: Engine, listen_key: str) -> None:
        self.engine = engine
        self._listen_key = listen_key

    async def async_added_to_hass(self) -> None:
        """Start listening to the engine."""
        self.async_on_remove(self.engine.async_add_listener(self._listen_key, self._refresh))

    @callback
    def _refresh(self) -> None:
        self.async_write_ha_state()
