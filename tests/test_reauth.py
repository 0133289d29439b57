"""Frigate refuses the saved login: HA's reauth flow asks for it, tries it, and reloads.

Frigate's API is the fake server on loopback (tests/fake_frigate.py) with auth on, as
on Frigate's authenticated port; the flow logs in to it with HA's shared session.
"""

from __future__ import annotations

from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.frigate_rules.const import DOMAIN
from tests.fake_frigate_fixtures import FakeFrigateServer

from .conftest import advance
from .test_rest_fallback import POLL, START, entry_on, ingest_path, mqtt_link, settle


def reauth_flows(hass: HomeAssistant) -> list[dict[str, Any]]:
    return [
        flow
        for flow in hass.config_entries.flow.async_progress_by_handler(DOMAIN)
        if flow["context"]["source"] == SOURCE_REAUTH
    ]


async def refused_login_entry(
    hass: HomeAssistant, server: FakeFrigateServer, freezer: FrozenDateTimeFactory
) -> MockConfigEntry:
    """An entry whose saved login Frigate (auth on) refuses; MQTT still heard."""
    freezer.move_to(START)
    server.frigate.auth = True
    return await entry_on(hass, server, frigate_username="admin", frigate_password="old")


async def back_off(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> None:
    """Three polls, a minute apart (past any backoff), each one refused."""
    for _ in range(3):
        await advance(hass, freezer, 60.01)
        await settle(hass)


async def test_refused_login_starts_one_reauth_and_a_good_one_brings_the_api_back(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    fake_frigate: FakeFrigateServer,
    freezer: FrozenDateTimeFactory,
) -> None:
    frigate = fake_frigate.frigate
    entry = await refused_login_entry(hass, fake_frigate, freezer)
    assert reauth_flows(hass) == [], "nothing asked while MQTT is heard"

    await mqtt_link(hass, False)
    assert ingest_path(hass) == "none"
    await back_off(hass, freezer)  # still refused: still one question to the user
    flows = reauth_flows(hass)
    assert len(flows) == 1
    assert flows[0]["context"]["entry_id"] == entry.entry_id
    flow_id = flows[0]["flow_id"]

    result = await hass.config_entries.flow.async_configure(
        flow_id, {"frigate_username": "admin", "frigate_password": "still-wrong"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reauth_confirm"
    assert result["errors"] == {"base": "invalid_auth"}
    assert result["description_placeholders"]["url"] == fake_frigate.url
    assert entry.data["frigate_password"] == "old", "a refused login is not saved"

    frigate.fail(status=502, paths=("/api/login",), times=1)
    result = await hass.config_entries.flow.async_configure(
        flow_id, {"frigate_username": "admin", "frigate_password": frigate.password}
    )
    assert result["errors"] == {"base": "cannot_connect"}

    result = await hass.config_entries.flow.async_configure(
        flow_id, {"frigate_username": " admin ", "frigate_password": frigate.password}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()
    assert entry.data["frigate_username"] == "admin"
    assert entry.data["frigate_password"] == frigate.password
    assert entry.state is ConfigEntryState.LOADED

    # The reloaded entry polls with the new login while MQTT is still down.
    await mqtt_link(hass, False)
    await advance(hass, freezer, POLL + 0.01)
    await settle(hass)
    assert ingest_path(hass) == "rest"
    assert reauth_flows(hass) == []


async def test_a_refusal_after_frigate_was_unreachable_still_asks_for_the_login(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    fake_frigate: FakeFrigateServer,
    freezer: FrozenDateTimeFactory,
) -> None:
    await refused_login_entry(hass, fake_frigate, freezer)

    fake_frigate.frigate.fail(status=502, times=1)  # restarting: the first poll gets a 502
    await mqtt_link(hass, False)
    assert ingest_path(hass) == "none"
    assert reauth_flows(hass) == [], "an unreachable Frigate is not a refused login"

    await back_off(hass, freezer)  # back up, and it refuses the login
    flows = reauth_flows(hass)
    assert len(flows) == 1

    # The user closes the question without answering; at the next outage it comes back.
    hass.config_entries.flow.async_abort(flows[0]["flow_id"])
    await mqtt_link(hass, True)
    await mqtt_link(hass, False)
    assert len(reauth_flows(hass)) == 1


async def test_reauth_form_offers_the_saved_username_never_the_password(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    fake_frigate: FakeFrigateServer,
    freezer: FrozenDateTimeFactory,
) -> None:
    freezer.move_to(START)
    entry = await entry_on(hass, fake_frigate, frigate_username="viewer", frigate_password="pw")
    result = await entry.start_reauth_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reauth_confirm"
    fields = {str(key): key for key in result["data_schema"].schema}
    assert list(fields) == ["frigate_username", "frigate_password"]
    assert fields["frigate_username"].description == {"suggested_value": "viewer"}
    assert fields["frigate_password"].description is None
