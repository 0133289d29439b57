"""The publisher inside Home Assistant: options test the broker, rules publish their state.

HA's own MQTT is mocked; the publisher talks to a real Mosquitto, read back by a real
MQTT 5 subscriber.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_mqtt_message,
)
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from scripts.devstack import Mosquitto, free_port

from .conftest import make_entry, rule_subentry, setup_entry, wire_payload
from .helpers import Subscriber, form_input, is_msg

pytestmark = pytest.mark.usefixtures("socket_enabled")

PUBLISHER_PAGE: dict[str, Any] = {
    "publish_enabled": True,
    "base_topic": "fr_test",
    "message_expiry_seconds": 120,
    "qos": "1",
    "birth_payload": "online",
    "will_payload": "offline",
}


@pytest.fixture
async def subscriber(broker: Mosquitto) -> AsyncIterator[Callable[..., Any]]:
    made: list[Subscriber] = []

    async def make(*topics: str) -> Subscriber:
        sub = Subscriber(broker.host, broker.port)
        sub.client.username_pw_set("hass", "right")
        made.append(sub)
        await sub.connect()
        for topic in topics:
            await sub.subscribe(topic)
        return sub

    yield make
    for sub in made:
        await sub.close()


def publishing_options(broker: Mosquitto, **extra: Any) -> dict[str, Any]:
    return {
        "publish_enabled": True,
        "base_topic": "fr_test",
        "broker_host": broker.host,
        "broker_port": broker.port,
        "broker_username": "hass",
        "broker_password": "right",
        **extra,
    }


async def open_options(hass: HomeAssistant, entry: MockConfigEntry) -> dict[str, Any]:
    return await hass.config_entries.options.async_init(entry.entry_id)  # type: ignore[return-value]


async def test_options_broker_unreachable(hass: HomeAssistant, mqtt_mock: MqttMockHAClient) -> None:
    entry = await setup_entry(hass, make_entry())
    result = await open_options(hass, entry)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        form_input(
            result,
            {**PUBLISHER_PAGE, "broker": {"broker_host": "127.0.0.1", "broker_port": free_port()}},
        ),
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "cannot_connect"}
    assert entry.options == {"publish_enabled": False}


async def test_options_broker_wrong_then_right_password(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, broker: Mosquitto
) -> None:
    entry = await setup_entry(hass, make_entry())
    result = await open_options(hass, entry)
    broker_page = {
        "broker_host": broker.host,
        "broker_port": broker.port,
        "broker_username": "hass",
        "broker_password": "wrong",
    }
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], form_input(result, {**PUBLISHER_PAGE, "broker": broker_page})
    )
    assert result["errors"] == {"base": "invalid_auth"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        form_input(
            result, {**PUBLISHER_PAGE, "broker": {**broker_page, "broker_password": "right"}}
        ),
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options["broker_host"] == broker.host
    assert entry.options["broker_password"] == "right"
    assert entry.options["qos"] == 1
    assert entry.runtime_data.outbound.publisher is not None
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_rule_state_alerts_and_removal_on_the_broker(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    broker: Mosquitto,
    subscriber: Callable[..., Any],
) -> None:
    entry = await setup_entry(
        hass,
        make_entry(
            options=publishing_options(broker, message_expiry_seconds=120),
            rules=[rule_subentry("Back yard", subentry_id="r", cooldown_seconds=0)],
        ),
    )
    outbound = entry.runtime_data.outbound
    sub = await subscriber("fr_test/#")
    await sub.expect(is_msg("fr_test/status", b"online"))
    await sub.expect(is_msg("fr_test/v1/rules/back_yard/state", b"OFF"))

    payload = {
        "type": "new",
        "before": {},
        "after": {
            "id": "9.0-zzz999",
            "camera": "backyard",
            "label": "person",
            "score": 0.9,
            "current_zones": [],
            "entered_zones": [],
        },
    }
    async_fire_mqtt_message(hass, "frigate/events", wire_payload({"payload": payload}))
    await hass.async_block_till_done()

    state = await sub.expect(is_msg("fr_test/v1/rules/back_yard/state"))
    assert state.payload == b"ON"
    assert state.retain is False  # live delivery; the broker stores it retained
    alert = await sub.expect(is_msg("fr_test/v1/rules/back_yard/alert"))
    assert alert.properties.MessageExpiryInterval in (119, 120)
    assert [m.topic.rsplit("/", 1)[1] for m in sub.seen[-2:]] == ["state", "alert"]
    body = json.loads(alert.payload)
    assert body["schema"] == "frigate_rules.alert/1"
    assert body["rule_name"] == "Back yard"
    assert body["camera"] == "backyard"
    assert body["event_id"] == "9.0-zzz999"
    assert outbound.state == "connected"

    # A fresh subscriber gets the retained state...
    late = await subscriber("fr_test/v1/rules/back_yard/state")
    retained = await late.next()
    assert (retained.payload, retained.retain) == (b"ON", True)

    # ...until the rule is removed, which clears it.
    assert hass.config_entries.async_remove_subentry(entry, "r")
    await hass.async_block_till_done()
    cleared = await sub.expect(is_msg("fr_test/v1/rules/back_yard/state"))
    assert cleared.payload == b""
    after_removal = await subscriber("fr_test/v1/rules/#", "fr_test/status")
    first = await after_removal.next()
    assert first.topic == "fr_test/status"  # and no retained rule state any more

    assert await hass.config_entries.async_unload(entry.entry_id)
    await sub.expect(is_msg("fr_test/status", b"offline"))


async def test_publisher_that_cannot_start_leaves_rules_working(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from custom_components.frigate_rules.publisher import connection

    def broken_tls(settings: Any) -> None:
        raise OSError("no such CA file")

    monkeypatch.setattr(connection, "build_ssl_context", broken_tls)
    entry = await setup_entry(
        hass,
        make_entry(
            options={
                "publish_enabled": True,
                "broker_host": "127.0.0.1",
                "broker_port": free_port(),
                "broker_tls": True,
            },
            rules=[rule_subentry("Back yard", subentry_id="r")],
        ),
    )
    assert "the publisher could not start (no such CA file)" in caplog.text
    assert entry.runtime_data.outbound.state == "disabled"
    assert hass.states.get("binary_sensor.back_yard") is not None


async def test_publisher_start_failure_leaves_no_timer_behind(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import asyncio

    from custom_components.frigate_rules import publisher as publisher_module
    from custom_components.frigate_rules.publisher import connection

    def no_client(*args: Any, **kwargs: Any) -> Any:
        raise OSError("no client here")

    monkeypatch.setattr(connection, "make_client", no_client)
    loop = asyncio.get_running_loop()
    pub = publisher_module.Publisher(
        loop,
        publisher_module.BrokerSettings(host="127.0.0.1", port=free_port()),
        publisher_module.PublisherOptions(client_id="frigate_rules-x"),
    )
    with pytest.raises(OSError, match="no client here"):
        await pub.async_start()
    assert pub.state == "disabled"
    assert pub.diagnostics()["next_retry_in"] is None
    scheduled = [h for h in loop._scheduled if not h.cancelled()]  # type: ignore[attr-defined]
    assert not [h for h in scheduled if "Publisher" in repr(h)]
    await pub.async_stop()  # a no-op, not an error


async def test_diagnostics_show_the_publisher_without_credentials(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    broker: Mosquitto,
    subscriber: Callable[..., Any],
) -> None:
    from custom_components.frigate_rules.diagnostics import async_get_config_entry_diagnostics

    entry = await setup_entry(hass, make_entry(options=publishing_options(broker)))
    sub = await subscriber("fr_test/status")
    await sub.expect(is_msg("fr_test/status", b"online"))
    diag = await async_get_config_entry_diagnostics(hass, entry)
    assert diag["publisher"]["state"] == "connected"
    assert diag["entry"]["options"]["broker_password"] == "**REDACTED**"
    assert "right" not in repr(diag)


def test_client_ids_differ_for_entries_made_in_the_same_second() -> None:
    from custom_components.frigate_rules.outbound import publisher_options

    # Two real ULIDs from the same second (same time prefix, different random tail).
    first = publisher_options("01M81D6EKW5R39S13BQN4GR14K", {}).client_id
    second = publisher_options("01M81D6EWZ9GT8R4TSRM321EZ9", {}).client_id
    assert first != second
    assert len(first) <= 23
    assert first.startswith("frigate_rules-")
