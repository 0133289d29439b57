"""Helpers shared by unit and end-to-end tests (no pytest-homeassistant-custom-component here).

The end-to-end tests also run on the newest Home Assistant release, for which no test
harness exists yet, so what they share with the unit tests lives here.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Mapping
from typing import Any

import paho.mqtt.client as mqtt
from homeassistant.helpers import config_validation as cv
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from scripts.devstack import with_form_defaults

DEADLINE = 30.0

# The data of a `frigate_rules_alert` event, exactly (DESIGN 4.5).
EVENT_KEYS = {
    "rule_id",
    "rule_name",
    "entity_id",
    "action",
    "camera",
    "zones",
    "label",
    "event_id",
    "sub_label",
    "confidence_pct",
    "aggregation",
    "within_seconds",
    "reason",
    "alarm_entity",
    "alarm_state",
    "observed_at",
    "thumbnail_url",
    "snapshot_url",
}


def is_msg(topic: str, payload: bytes | None = None) -> Callable[[mqtt.MQTTMessage], bool]:
    return lambda m: m.topic == topic and (payload is None or m.payload == payload)


class Subscriber:
    """A paho subscriber whose messages land in an asyncio queue."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        client_id: str = "",
        protocol: MQTTProtocolVersion = MQTTProtocolVersion.MQTTv5,
        clean_start: bool = True,
        session_expiry: int = 0,
    ) -> None:
        self.loop = asyncio.get_running_loop()
        self.host, self.port = host, port
        self.protocol = protocol
        self.clean_start = clean_start
        self.session_expiry = session_expiry
        self.messages: asyncio.Queue[mqtt.MQTTMessage] = asyncio.Queue()
        self.seen: list[mqtt.MQTTMessage] = []
        self._subacks: asyncio.Queue[int] = asyncio.Queue()
        self.client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=client_id or f"test-sub-{random.randrange(1 << 30)}",
            protocol=protocol,
        )

        def on_message(client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
            self.loop.call_soon_threadsafe(self.messages.put_nowait, msg)

        def on_subscribe(*args: Any) -> None:
            self.loop.call_soon_threadsafe(self._subacks.put_nowait, args[2])

        self.client.on_message = on_message
        self.client.on_subscribe = on_subscribe

    async def connect(self) -> None:
        kwargs: dict[str, Any] = {}
        if self.protocol == mqtt.MQTTv5:
            props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            if self.session_expiry:
                props.SessionExpiryInterval = self.session_expiry
            kwargs = {"clean_start": self.clean_start, "properties": props}
        connected = asyncio.Event()

        def on_connect(*args: Any) -> None:
            self.loop.call_soon_threadsafe(connected.set)

        self.client.on_connect = on_connect
        await self.loop.run_in_executor(
            None, lambda: self.client.connect(self.host, self.port, 30, **kwargs)
        )
        self.client.loop_start()
        await asyncio.wait_for(connected.wait(), DEADLINE)

    async def subscribe(self, topic: str, qos: int = 1) -> None:
        if self.protocol == mqtt.MQTTv5:
            _, mid = self.client.subscribe(topic, options=SubscribeOptions(qos=qos))
        else:
            _, mid = self.client.subscribe(topic, qos)
        while await asyncio.wait_for(self._subacks.get(), DEADLINE) != mid:
            pass

    async def expect(
        self, predicate: Callable[[mqtt.MQTTMessage], bool], within: float = DEADLINE
    ) -> mqtt.MQTTMessage:
        """The next message matching `predicate` (earlier ones are kept in `seen`)."""
        async with asyncio.timeout(within):
            while True:
                msg = await self.messages.get()
                self.seen.append(msg)
                if predicate(msg):
                    return msg

    async def next(self, within: float = DEADLINE) -> mqtt.MQTTMessage:
        msg = await asyncio.wait_for(self.messages.get(), within)
        self.seen.append(msg)
        return msg

    async def close(self) -> None:
        self.client.disconnect()
        await self.loop.run_in_executor(None, self.client.loop_stop)


def serialized(result: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A flow form's schema as HA sends it to the frontend (sections are "expandable")."""
    try:  # HA 2026.10+ serializes with probatio, earlier ones with voluptuous_serialize
        from probatio import to_field_list as convert
    except ImportError:
        from voluptuous_serialize import convert
    fields: list[dict[str, Any]] = convert(
        result["data_schema"], custom_serializer=cv.custom_serializer
    )
    return fields


def form_fields(result: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Every field of a flow form by name, those inside sections included."""
    found: dict[str, dict[str, Any]] = {}
    for field in serialized(result):
        for inner in field.get("schema", [field]) if field.get("type") == "expandable" else [field]:
            found[inner["name"]] = inner
    return found


def form_input(result: Mapping[str, Any], user_input: dict[str, Any]) -> dict[str, Any]:
    """What the frontend submits for a flow form: its initial data plus `user_input`.

    A section's field may be given at the top level (see
    `scripts.devstack.with_form_defaults`).
    """
    return with_form_defaults(serialized(result), user_input)
