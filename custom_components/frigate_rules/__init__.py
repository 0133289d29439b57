"""Frigate Rules: alarm-grade rule conditions from Frigate NVR's MQTT stream."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from homeassistant.components import mqtt
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryNotReady
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.event import async_call_later
from homeassistant.helpers.typing import ConfigType

from .alerts import AlertManager, forget_entry
from .const import (
    CONF_FALLBACK_POLL_SECONDS,
    CONF_FRIGATE_PASSWORD,
    CONF_FRIGATE_URL,
    CONF_FRIGATE_USERNAME,
    CONF_TOPIC_PREFIX,
    DEFAULT_FALLBACK_POLL_SECONDS,
    DOMAIN,
)
from .data import FrigateRulesConfigEntry, FrigateRulesData
from .engine import Engine
from .entity import async_register_entry_device
from .fanout import RuleOutputs
from .notifier import Notifier
from .outbound import Outbound
from .rest import FrigateApi, RestFallback
from .rules_sync import async_sync_rules, rules_of_entry
from .services import async_setup_services

PLATFORMS = [Platform.BINARY_SENSOR, Platform.SENSOR]
CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the services (once, whatever the number of entries)."""
    async_setup_services(hass)
    return True


def _setup_config(entry: ConfigEntry) -> dict[str, Any]:
    return {"data": dict(entry.data), "options": dict(entry.options)}


async def async_setup_entry(hass: HomeAssistant, entry: FrigateRulesConfigEntry) -> bool:
    """Subscribe to Frigate, connect the publisher, create the entities."""
    if not await mqtt.async_wait_for_mqtt_client(hass):
        raise ConfigEntryNotReady(translation_domain=DOMAIN, translation_key="mqtt_not_ready")
    notifier = Notifier(hass)
    entry.async_on_unload(notifier.async_stop)
    alerts = AlertManager(hass, entry.entry_id, entry.data.get(CONF_FRIGATE_URL))
    entry.async_on_unload(
        hass.bus.async_listen(er.EVENT_ENTITY_REGISTRY_UPDATED, alerts.entity_ids_changed)
    )
    outbound = Outbound(hass)
    outputs = RuleOutputs(hass, alerts, notifier, outbound)
    engine = Engine(hass, entry.data[CONF_TOPIC_PREFIX], entry.options, outputs, notifier)
    if entry.data.get(CONF_FRIGATE_URL):
        engine.rest = _rest_fallback(hass, entry, engine)
        entry.async_on_unload(engine.rest.async_stop)
    entry.runtime_data = FrigateRulesData(
        engine=engine,
        alerts=alerts,
        outbound=outbound,
        notifier=notifier,
        entry_device_id=async_register_entry_device(hass, entry),
        setup_config=_setup_config(entry),
    )
    engine.async_set_rules(rules_of_entry(entry).values())
    # Stops registered before the starts: a start that fails half-way leaves nothing.
    entry.async_on_unload(outbound.async_stop)
    entry.async_on_unload(engine.async_stop)
    entry.async_on_unload(outputs.async_stop)  # unload runs these last to first
    await outbound.async_start(entry.entry_id, entry.options, notifier.counters_changed)
    await engine.async_start()
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    entry.async_on_unload(entry.add_update_listener(_async_entry_updated))
    return True


def _rest_fallback(hass: HomeAssistant, entry: ConfigEntry, engine: Engine) -> RestFallback:
    """Never deaf (DESIGN 4.10): Frigate's API stands in while MQTT cannot hear it."""
    api = FrigateApi(
        async_get_clientsession(hass),
        entry.data[CONF_FRIGATE_URL],
        entry.data.get(CONF_FRIGATE_USERNAME),
        entry.data.get(CONF_FRIGATE_PASSWORD),
    )

    def call_later(delay: float, action: Callable[[], None]) -> Callable[[], None]:
        @callback
        def run(_now: Any) -> None:
            action()

        return async_call_later(hass, delay, run)

    def create_task(coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        return entry.async_create_background_task(hass, coro, name)

    return RestFallback(
        api,
        entry.options.get(CONF_FALLBACK_POLL_SECONDS, DEFAULT_FALLBACK_POLL_SECONDS),
        engine.skew,
        engine.clock,
        call_later,
        create_task,
        on_observations=engine.ingest_rest,
        on_reachable=engine.rest_reachable,
        on_login_refused=lambda: entry.async_start_reauth(hass),
    )


async def async_unload_entry(hass: HomeAssistant, entry: FrigateRulesConfigEntry) -> bool:
    """Remove entities; `async_on_unload` callbacks stop the engine and the publisher."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_entry(hass: HomeAssistant, entry: FrigateRulesConfigEntry) -> None:
    """Deleted for good: forget its cooldowns too."""
    forget_entry(hass, entry.entry_id)


async def _async_entry_updated(hass: HomeAssistant, entry: FrigateRulesConfigEntry) -> None:
    """Reload for entry and option changes; rule (subentry) changes are applied in place."""
    if _setup_config(entry) != entry.runtime_data.setup_config:
        await hass.config_entries.async_reload(entry.entry_id)
        return
    async_sync_rules(hass, entry)
