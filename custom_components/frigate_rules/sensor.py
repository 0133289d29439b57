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

from .engine import STATS_KEY, Engine
from .entity import EngineEntity, entry_device

if TYPE_CHECKING:
    from . import FrigateRulesConfigEntry

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class StatsSensorDescription(SensorEntityDescription):
    """How one diagnostic sensor reads its value from the engine."""

    value_fn: Callable[[Engine], int | str | datetime | None]


def _last_observation(engine: Engine) -> datetime | None:
    at = engine.last_observation_at
    return None if at is None else datetime.fromtimestamp(at, UTC)


def _publisher_state(engine: Engine) -> str:
    return engine.publisher_state


SENSORS: tuple[StatsSensorDescription, ...] = (
    StatsSensorDescription(
        key="last_observation",
        translation_key="last_observation",
        device_class=SensorDeviceClass.TIMESTAMP,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=_last_observation,
    ),
    StatsSensorDescription(
        key="messages_received",
        translation_key="messages_received",
        state_class=SensorStateClass.TOTAL_INCREASING,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda engine: engine.messages_received,
    ),
    StatsSensorDescription(
        key="parse_errors",
        translation_key="parse_errors",
        state_class=SensorStateClass.TOTAL_INCREASING,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda engine: engine.parse_errors,
    ),
    StatsSensorDescription(
        key="observations_dropped",
        translation_key="observations_dropped",
        state_class=SensorStateClass.TOTAL_INCREASING,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda engine: engine.buffer.dropped,
    ),
    StatsSensorDescription(
        key="publisher_state",
        translation_key="publisher_state",
        device_class=SensorDeviceClass.ENUM,
        options=["connected", "disconnected", "disabled"],
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=_publisher_state,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: FrigateRulesConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """One set of diagnostic sensors per Frigate instance."""
    engine = entry.runtime_data.engine
    async_add_entities(StatsSensor(entry, engine, description) for description in SENSORS)


class StatsSensor(EngineEntity, SensorEntity):
    """A counter or timestamp read from the engine."""

    entity_description: StatsSensorDescription

    def __init__(
        self,
        entry: FrigateRulesConfigEntry,
        engine: Engine,
        description: StatsSensorDescription,
    ) -> None:
        super().__init__(engine, STATS_KEY)
        self.entity_description = description
        self._attr_unique_id = f"{entry.entry_id}_{description.key}"
        self._attr_device_info = entry_device(entry)

    @property
    def native_value(self) -> int | str | datetime | None:
        """Read live from the engine."""
        return self.entity_description.value_fn(self.engine)
