"""Diagnostic sensors of one Frigate instance: what came in and what was refused."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .entity import NotifiedEntity, entry_device
from .notifier import STATS_KEY

if TYPE_CHECKING:
    from .data import FrigateRulesConfigEntry, FrigateRulesData

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class StatsSensorDescription(SensorEntityDescription):
    """How one diagnostic sensor reads its value from the engine."""

    value_fn: Callable[[FrigateRulesData], int | str | datetime | None]
    attrs_fn: Callable[[FrigateRulesData], dict[str, object]] | None = None


def _last_observation(data: FrigateRulesData) -> datetime | None:
    at = data.engine.last_observation_at
    return None if at is None else datetime.fromtimestamp(at, UTC)


def _publisher_attrs(data: FrigateRulesData) -> dict[str, object]:
    publisher = data.outbound.publisher
    if publisher is None:
        return {}
    return {
        "protocol": publisher.protocol,
        "queued_alerts": publisher.queued,
        "dropped_alerts": publisher.dropped_alerts,
        "last_error": publisher.last_error,
    }


def _publisher_counter(name: str) -> Callable[[FrigateRulesData], int | None]:
    def value(data: FrigateRulesData) -> int | None:
        publisher = data.outbound.publisher
        return None if publisher is None else int(getattr(publisher, name))

    return value


SENSORS: tuple[StatsSensorDescription, ...] = (
    StatsSensorDescription(
        key="last_observation",
        translation_key="last_observation",
        device_class=SensorDeviceClass.TIMESTAMP,
        entity_category=EntityCategory.DIAGNOSTIC,
        # Off by default: it changes with nearly every Frigate message, so it would fill
        # the logbook and the recorder; availability says whether Frigate is talking.
        entity_registry_enabled_default=False,
        value_fn=_last_observation,
    ),
    StatsSensorDescription(
        key="messages_received",
        translation_key="messages_received",
        state_class=SensorStateClass.TOTAL_INCREASING,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda data: data.engine.messages_received,
    ),
    StatsSensorDescription(
        key="parse_errors",
        translation_key="parse_errors",
        state_class=SensorStateClass.TOTAL_INCREASING,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda data: data.engine.parse_errors,
    ),
    StatsSensorDescription(
        key="observations_dropped",
        translation_key="observations_dropped",
        state_class=SensorStateClass.TOTAL_INCREASING,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda data: data.engine.buffer.dropped,
    ),
    StatsSensorDescription(
        key="ingest_path",
        translation_key="ingest_path",
        device_class=SensorDeviceClass.ENUM,
        options=["mqtt", "rest", "none"],
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda data: data.engine.ingest_path,
        attrs_fn=lambda data: {"unavailable_cameras": sorted(data.engine.cameras.unavailable)},
    ),
    StatsSensorDescription(
        key="publisher_state",
        translation_key="publisher_state",
        device_class=SensorDeviceClass.ENUM,
        options=["connected", "disconnected", "disabled"],
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda data: data.outbound.state,
        attrs_fn=_publisher_attrs,
    ),
    StatsSensorDescription(
        key="publisher_reconnect_attempts",
        translation_key="publisher_reconnect_attempts",
        state_class=SensorStateClass.TOTAL_INCREASING,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=_publisher_counter("reconnect_attempts"),
    ),
    StatsSensorDescription(
        key="publisher_errors",
        translation_key="publisher_errors",
        state_class=SensorStateClass.TOTAL_INCREASING,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=_publisher_counter("publish_errors"),
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: FrigateRulesConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """One set of diagnostic sensors per Frigate instance."""
    async_add_entities(StatsSensor(entry, description) for description in SENSORS)


class StatsSensor(NotifiedEntity, SensorEntity):
    """A counter or timestamp read from the engine."""

    entity_description: StatsSensorDescription

    def __init__(
        self,
        entry: FrigateRulesConfigEntry,
        description: StatsSensorDescription,
    ) -> None:
        super().__init__(entry.runtime_data.notifier, STATS_KEY)
        self._data = entry.runtime_data
        self.entity_description = description
        self._attr_unique_id = f"{entry.entry_id}_{description.key}"
        self._attr_device_info = entry_device(entry)

    @property
    def native_value(self) -> int | str | datetime | None:
        """Read live from the engine or the publisher."""
        return self.entity_description.value_fn(self._data)

    @property
    def extra_state_attributes(self) -> dict[str, object] | None:
        """Details for the publisher state sensor."""
        attrs_fn = self.entity_description.attrs_fn
        return None if attrs_fn is None else attrs_fn(self._data)
