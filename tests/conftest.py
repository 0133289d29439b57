"""Shared fixtures: custom integrations enabled, MQTT mocked, a setup helper."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Callable, Generator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_mqtt_message,
    async_fire_time_changed_exact,
)

from custom_components.frigate_rules import fanout
from custom_components.frigate_rules.compat import find_device
from custom_components.frigate_rules.const import CONF_TOPIC_PREFIX, DOMAIN, SUBENTRY_RULE
from custom_components.frigate_rules.entity import rule_device_identifier
from scripts.devstack import Mosquitto

# The fake Frigate HTTP API (`fake_frigate`, `fake_frigate_thread` fixtures).
pytest_plugins = ["tests.fake_frigate_fixtures"]

FIXTURES = Path(__file__).parent / "fixtures"
ENTRY_ID = "01JFRIGATERULESENTRY0000001"


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(request: pytest.FixtureRequest) -> None:
    """Let Home Assistant load custom_components/frigate_rules, in tests that use hass.

    Pure-core tests do not ask for `hass`; starting one for each of them would make
    the suite several times slower for nothing.
    """
    if "hass" in request.fixturenames:
        request.getfixturevalue("enable_custom_integrations")


@pytest.fixture(autouse=True)
def outputs_two_passes_after_the_alert(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sensor and MQTT output follow the alert two loop passes later, not 1 ms.

    HA's test clock is frozen under `freezer`, so a real `OUTPUT_DELAY` would never
    end and `async_block_till_done` would wait forever. The order is the same either
    way; tests marked `real_output_delay` (and the end-to-end tests, whose hass is
    another process) keep the real delay.
    """
    if "real_output_delay" not in request.keywords:
        monkeypatch.setattr(fanout, "OUTPUT_DELAY", 0)


@pytest.fixture(autouse=True)
async def unload_entries_at_teardown(request: pytest.FixtureRequest) -> AsyncGenerator[None]:
    """Unload our entries after each hass test, as HA does at shutdown.

    A loaded entry may own a publisher (paho thread, reconnect timers); unloading
    stops it the way a user's HA would, instead of leaving it to the leak checks.
    """
    yield
    if "hass" not in request.fixturenames:
        return
    hass: HomeAssistant = request.getfixturevalue("hass")
    await hass.async_block_till_done()  # let a setup that a flow started finish
    for entry in hass.config_entries.async_entries(DOMAIN):
        if entry.state is ConfigEntryState.LOADED:
            await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


@pytest.fixture(autouse=True)
def cancel_mqtt_misc_timer(request: pytest.FixtureRequest) -> Generator[None]:
    """Cancel the mocked MQTT client's 1 s paho housekeeping timer at teardown.

    With HA 2025.4's `mqtt_mock` that timer outlives the test and fails the
    lingering-timer check; cancelling exactly that handle keeps the check on for
    everything else (including our own timers).
    """
    yield
    if "hass" not in request.fixturenames:
        return
    hass: HomeAssistant = request.getfixturevalue("hass")
    mqtt_data = hass.data.get("mqtt")
    client = getattr(mqtt_data, "client", None)
    timer = getattr(client, "_misc_timer", None)
    if timer is not None:
        timer.cancel()
        client._misc_timer = None  # type: ignore[union-attr]


def fixture_lines(name: str) -> list[dict[str, Any]]:
    """The JSONL lines of a Frigate fixture."""
    with (FIXTURES / name).open() as handle:
        return [json.loads(line) for line in handle if line.strip()]


def wire_payload(line: dict[str, Any]) -> str:
    """The payload of a fixture line as Frigate puts it on the wire."""
    payload = line["payload"]
    return payload if isinstance(payload, str) else json.dumps(payload)


def rule_subentry(
    name: str = "Backyard person", subentry_id: str | None = None, **overrides: Any
) -> dict[str, Any]:
    """`subentries_data` item for MockConfigEntry."""
    data: dict[str, Any] = {"name": name, "cameras": ["backyard"], **overrides}
    item: dict[str, Any] = {
        "data": data,
        "subentry_type": SUBENTRY_RULE,
        "title": name,
        "unique_id": None,
    }
    if subentry_id is not None:
        item["subentry_id"] = subentry_id
    return item


def make_entry(
    prefix: str = "frigate",
    options: dict[str, Any] | None = None,
    rules: list[dict[str, Any]] | None = None,
    frigate_url: str | None = None,
) -> MockConfigEntry:
    """A frigate_rules entry, not yet added to hass.

    Publishing is off unless the options say otherwise: with `mqtt_mock` there is no
    broker to publish to (the publisher tests bring a real Mosquitto).
    """
    data: dict[str, Any] = {CONF_TOPIC_PREFIX: prefix}
    if frigate_url:
        data["frigate_url"] = frigate_url
    return MockConfigEntry(
        domain=DOMAIN,
        entry_id=ENTRY_ID,
        title="Frigate" if prefix == "frigate" else f"Frigate ({prefix})",
        unique_id=prefix,
        data=data,
        options={"publish_enabled": False, **(options or {})},
        subentries_data=rules or [],
    )


def rule_sensor_id(hass: HomeAssistant, entry: ConfigEntry, rule_id: str) -> str:
    """Entity id of a rule's binary_sensor (found by unique id, never guessed)."""
    entity_id = er.async_get(hass).async_get_entity_id(
        "binary_sensor", DOMAIN, f"{entry.entry_id}_{rule_id}"
    )
    assert entity_id is not None
    return entity_id


def rule_device(hass: HomeAssistant, entry: ConfigEntry, rule_id: str) -> dr.DeviceEntry | None:
    """The device of a rule, looked up the way the integration does it."""
    return find_device(
        dr.async_get(hass), rule_device_identifier(entry.entry_id, rule_id), entry.entry_id
    )


async def advance(hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float) -> None:
    """Move HA's clock and run the timers that are due.

    The exact variant: the plain one rounds up to half a second, too coarse to check
    that a window closes on time.
    """
    freezer.tick(timedelta(seconds=seconds))
    async_fire_time_changed_exact(hass)
    await hass.async_block_till_done()


async def replay(
    hass: HomeAssistant,
    name: str,
    freezer: FrozenDateTimeFactory | None = None,
    on_line: Callable[[float, dict[str, Any]], None] | None = None,
    max_step: float | None = None,
) -> float:
    """Fire a fixture's lines as a broker delivers them live; the seconds it spanned.

    With `freezer`, HA's clock moves by each line's recorded delay first (timers due
    in between run; with `max_step`, in steps no longer than that, so a timer runs
    close to its due time); `on_line(elapsed, line)` is called after each line.
    A broker forwards live messages to existing subscribers with retain=0, whatever
    flag the publisher set (the flag only marks stored messages).
    """
    elapsed = 0.0
    for line in fixture_lines(name):
        if line["delay_ms"] and freezer is not None:
            delay = line["delay_ms"] / 1000
            step = max_step or delay
            moved = 0.0
            while moved < delay:
                chunk = min(step, delay - moved)
                await advance(hass, freezer, chunk)
                moved += chunk
            elapsed += delay
        async_fire_mqtt_message(hass, line["topic"], wire_payload(line))
        await hass.async_block_till_done(wait_background_tasks=True)
        if on_line is not None:
            on_line(elapsed, line)
    return elapsed


async def setup_entry(hass: HomeAssistant, entry: MockConfigEntry) -> MockConfigEntry:
    """Add and set up an entry, failing loudly if setup does not succeed."""
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


@pytest.fixture
def broker(tmp_path: Path, socket_enabled: None) -> Iterator[Mosquitto]:
    """A real Mosquitto on a free loopback port: anonymous, or user `hass` / `right`.

    The one broker fixture of the unit tests; a test that needs another broker setup
    (other users, a restart on a fixed port) starts its own `Mosquitto`.
    """
    mosquitto = Mosquitto(
        workdir=tmp_path / "mosquitto", users={"hass": "right"}, allow_anonymous=True
    )
    mosquitto.start()
    yield mosquitto
    mosquitto.stop()


@pytest.fixture
def mqtt_entry_on_real_broker(broker: Mosquitto) -> dict[str, Any]:
    """HA's MQTT entry data naming a real broker.

    HA's own MQTT client stays mocked (`mqtt_mock`); the integration's publisher reads
    the broker from that entry, as it does for a user, and really connects. A test
    module uses it by overriding PHACC's `mqtt_config_entry_data` fixture with it.
    """
    return {"broker": broker.host, "port": broker.port, "protocol": "5"}


@pytest.fixture
def entry() -> Generator[MockConfigEntry]:
    """A default entry on prefix `frigate`."""
    return make_entry()
