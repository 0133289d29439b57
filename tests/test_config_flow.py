"""Config flow (user, reconfigure) and options flow: every step, error and abort."""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant import config_entries
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.frigate_rules.const import DOMAIN, OPTION_DEFAULTS

from .conftest import make_entry, setup_entry
from .helpers import form_fields, form_input, serialized


@pytest.fixture
def mqtt_config_entry_data(mqtt_entry_on_real_broker: dict[str, Any]) -> dict[str, Any]:
    """Entries made by the flow publish by default: to a real broker, as for a user."""
    return mqtt_entry_on_real_broker


async def start_user_flow(hass: HomeAssistant) -> dict[str, Any]:
    return await hass.config_entries.flow.async_init(  # type: ignore[return-value]
        DOMAIN, context={"source": config_entries.SOURCE_USER}
    )


async def test_user_flow_creates_entry(hass: HomeAssistant, mqtt_mock: MqttMockHAClient) -> None:
    result = await start_user_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == {}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {"topic_prefix": " frigate/ ", "frigate_url": "http://frigate:5000/"},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Frigate"
    assert result["data"] == {"topic_prefix": "frigate", "frigate_url": "http://frigate:5000"}
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    assert entry.unique_id == "frigate"


async def test_user_flow_without_url(hass: HomeAssistant, mqtt_mock: MqttMockHAClient) -> None:
    result = await start_user_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"topic_prefix": "nvr/frigate"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {"topic_prefix": "nvr/frigate"}


@pytest.mark.parametrize(
    ("user_input", "errors"),
    [
        ({"topic_prefix": "frig+ate"}, {"topic_prefix": "invalid_topic_prefix"}),
        ({"topic_prefix": "frigate/#"}, {"topic_prefix": "invalid_topic_prefix"}),
        ({"topic_prefix": "a//b"}, {"topic_prefix": "invalid_topic_prefix"}),
        ({"topic_prefix": "  "}, {"topic_prefix": "invalid_topic_prefix"}),
        (
            {"topic_prefix": "frigate", "frigate_url": "frigate:5000"},
            {"frigate_url": "invalid_url"},
        ),
        (
            {"topic_prefix": "frigate", "frigate_url": "ftp://frigate"},
            {"frigate_url": "invalid_url"},
        ),
    ],
)
async def test_user_flow_errors_then_recovers(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    user_input: dict[str, Any],
    errors: dict[str, str],
) -> None:
    result = await start_user_flow(hass)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], user_input)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == errors
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"topic_prefix": "frigate"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_user_flow_already_configured(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    make_entry().add_to_hass(hass)
    result = await start_user_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"topic_prefix": "frigate"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_user_flow_requires_mqtt(hass: HomeAssistant) -> None:
    result = await start_user_flow(hass)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "mqtt_not_configured"


async def test_reconfigure_changes_prefix_and_url(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    entry = await setup_entry(hass, make_entry(frigate_url="http://old:5000"))
    result = await entry.start_reconfigure_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"topic_prefix": "nvr", "frigate_url": "bad"}
    )
    assert result["errors"] == {"frigate_url": "invalid_url"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"topic_prefix": "nvr", "frigate_url": "https://nvr.local"}
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.data == {"topic_prefix": "nvr", "frigate_url": "https://nvr.local"}
    assert entry.unique_id == "nvr"
    assert entry.title == "Frigate (nvr)"
    assert entry.runtime_data.engine.prefix == "nvr"


async def test_reconfigure_keeps_own_prefix(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    entry = await setup_entry(hass, make_entry(frigate_url="http://old:5000"))
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"topic_prefix": "frigate"}
    )
    await hass.async_block_till_done()
    assert result["reason"] == "reconfigure_successful"
    assert entry.data == {"topic_prefix": "frigate"}


async def test_reconfigure_to_taken_prefix_aborts(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    MockConfigEntry(
        domain=DOMAIN,
        unique_id="other",
        data={"topic_prefix": "other"},
        options={"publish_enabled": False},
    ).add_to_hass(hass)
    entry = await setup_entry(hass, make_entry())
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"topic_prefix": "other"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert entry.data["topic_prefix"] == "frigate"


async def test_options_form_is_one_page_with_folded_sections(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    entry = await setup_entry(hass, make_entry(options={"retention_seconds": 900}))
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "init"
    layout = [
        (f["name"], f.get("expanded"), [inner["name"] for inner in f.get("schema", [])])
        for f in serialized(result)
    ]
    assert layout == [
        # Every option of the buffer, availability and recognition, at the top.
        *((key, None, []) for key in OPTION_DEFAULTS),
        (
            "publisher",
            False,
            [
                "publish_enabled",
                "base_topic",
                "message_expiry_seconds",
                "qos",
                "birth_payload",
                "will_payload",
            ],
        ),
        (
            "broker",
            False,
            [
                "broker_host",
                "broker_port",
                "broker_username",
                "broker_password",
                "broker_tls",
                "broker_tls_insecure",
            ],
        ),
    ]
    fields = form_fields(result)
    assert fields["retention_seconds"]["description"]["suggested_value"] == 900
    assert fields["qos"]["description"]["suggested_value"] == "1"
    assert result["description_placeholders"]["retention_seconds_max"] == "86400"
    assert result["description_placeholders"]["broker_port_max"] == "65535"


async def test_options_flow_saves_values(hass: HomeAssistant, mqtt_mock: MqttMockHAClient) -> None:
    entry = await setup_entry(hass, make_entry())
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        form_input(
            result,
            {
                "retention_seconds": 1200,
                "max_observations": 5000.0,
                "availability_grace_seconds": 0,
                "publish_enabled": False,
            },
        ),
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options == {
        "retention_seconds": 1200,
        "max_observations": 5000,
        "availability_grace_seconds": 0,
        "fallback_poll_seconds": 5,
        "min_recognition_pct": 90,
        "publish_enabled": False,
        "base_topic": "frigate_rules",
        "message_expiry_seconds": 300,
        "qos": 1,
        "birth_payload": "online",
        "will_payload": "offline",
    }
    assert entry.runtime_data.engine.buffer.max_observations == 5000
    assert entry.runtime_data.outbound.state == "disabled"


async def test_options_broker_section_opens_for_a_saved_broker(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    entry = await setup_entry(
        hass,
        make_entry(
            options={"broker_host": "mqtt.local", "broker_port": 1884, "broker_password": "s"}
        ),
    )
    result = await hass.config_entries.options.async_init(entry.entry_id)
    expanded = {f["name"]: f.get("expanded") for f in serialized(result) if "schema" in f}
    assert expanded == {"publisher": False, "broker": True}
    fields = form_fields(result)
    assert fields["broker_host"]["description"]["suggested_value"] == "mqtt.local"
    assert "description" not in fields["broker_password"], "a password is never sent back"


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        ({"base_topic": "a/#"}, {"publisher": "invalid_topic"}),
        ({"base_topic": ""}, {"publisher": "invalid_topic"}),
        ({"message_expiry_seconds": 59}, {"publisher": "out_of_range"}),
        ({"message_expiry_seconds": 3601}, {"publisher": "out_of_range"}),
        ({"birth_payload": " "}, {"publisher": "payload_required"}),
        ({"will_payload": ""}, {"publisher": "payload_required"}),
        ({"broker_host": "h", "broker_port": 70000}, {"broker": "out_of_range"}),
    ],
)
async def test_options_publisher_errors(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    changes: dict[str, Any],
    errors: dict[str, str],
) -> None:
    entry = await setup_entry(hass, make_entry())
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], form_input(result, {"publish_enabled": False, **changes})
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "init"
    assert result["errors"] == errors
    (section,) = errors
    expanded = {f["name"]: f.get("expanded") for f in serialized(result) if "schema" in f}
    assert expanded[section] is True, "the section with the error is open"


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("retention_seconds", 9, "out_of_range"),
        ("retention_seconds", 86401, "out_of_range"),
        ("max_observations", 999, "out_of_range"),
        ("max_observations", 1_000_001, "out_of_range"),
        ("availability_grace_seconds", -1, "out_of_range"),
        ("availability_grace_seconds", 3601, "out_of_range"),
        ("availability_grace_seconds", 10.5, "not_whole_number"),
        ("fallback_poll_seconds", 1, "out_of_range"),
        ("fallback_poll_seconds", 61, "out_of_range"),
        ("min_recognition_pct", 49, "out_of_range"),
        ("min_recognition_pct", 101, "out_of_range"),
    ],
)
async def test_options_flow_range_errors(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    field: str,
    value: float,
    error: str,
) -> None:
    entry = await setup_entry(hass, make_entry())
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], form_input(result, {field: value})
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {field: error}
    assert form_fields(result)[field]["description"]["suggested_value"] == value
    assert entry.options == {"publish_enabled": False}


async def test_frigate_login_is_kept_in_the_entry(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    result = await start_user_flow(hass)
    login_section = next(f for f in serialized(result) if f["name"] == "login")
    assert login_section["expanded"] is False
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            "topic_prefix": "frigate",
            "login": {"frigate_username": "admin", "frigate_password": "s"},
        },
    )
    assert result["errors"] == {"login": "login_needs_url"}
    assert "suggested_value" not in str(form_fields(result)["frigate_password"])
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            "topic_prefix": "frigate",
            "frigate_url": "https://frigate:8971",
            "login": {"frigate_username": "admin", "frigate_password": "s"},
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {
        "topic_prefix": "frigate",
        "frigate_url": "https://frigate:8971",
        "frigate_username": "admin",
        "frigate_password": "s",
    }
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    await hass.async_block_till_done()

    # Reconfigure: the login is shown (never the password) and kept when untouched.
    result = await hass.config_entries.flow.async_init(
        DOMAIN,
        context={"source": config_entries.SOURCE_RECONFIGURE, "entry_id": entry.entry_id},
    )
    fields = form_fields(result)
    assert fields["frigate_username"]["description"]["suggested_value"] == "admin"
    assert "description" not in fields["frigate_password"]
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], form_input(result, {"frigate_url": "https://nvr:8971"})
    )
    await hass.async_block_till_done()
    assert result["reason"] == "reconfigure_successful"
    assert entry.data["frigate_password"] == "s"
    assert entry.data["frigate_url"] == "https://nvr:8971"
