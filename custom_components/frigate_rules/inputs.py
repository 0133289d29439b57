"""Frigate's MQTT topics, read through Home Assistant's MQTT integration.

One handler per kind of topic, each written in the order things happen to a message:
read the clock once, count it as a sign of life, parse it, hand the result to the
engine (which evaluates the rules it affects and fans the outcome out). No exception
escapes a handler: a broken message is counted with its reason and the next one is
handled as usual.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from homeassistant.components import mqtt
from homeassistant.components.mqtt.models import ReceiveMessage
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback

from .core import topics
from .core.fields import Rejected
from .core.frigate import parse_available, parse_event, parse_review
from .core.recognition import Unnamed, parse_tracked_object_update

if TYPE_CHECKING:
    from .engine import Engine

PAYLOAD_HEAD_CHARS: Final = 200


@dataclass(slots=True, frozen=True)
class ParseFailure:
    """A rejected message, kept for diagnostics."""

    at: float
    topic: str
    reason: str
    payload_head: str


def payload_head(payload: str | bytes | bytearray) -> str:
    """The start of a payload, as text, for diagnostics."""
    if isinstance(payload, str):
        return payload[:PAYLOAD_HEAD_CHARS]
    return bytes(payload[:PAYLOAD_HEAD_CHARS]).decode("utf-8", "replace")


def _text(payload: str | bytes | bytearray) -> str:
    return payload if isinstance(payload, str) else bytes(payload).decode("utf-8", "replace")


class MqttInput:
    """The subscriptions of one entry and what each message does to its engine."""

    def __init__(self, hass: HomeAssistant, engine: Engine) -> None:
        self.hass = hass
        self.engine = engine
        self.prefix = engine.prefix
        self._unsubs: list[CALLBACK_TYPE] = []

    async def async_subscribe(self) -> None:
        """Subscribe to every Frigate topic a rule or the availability needs."""
        handlers: dict[str, Callable[[ReceiveMessage], None]] = {
            topics.EVENTS: self._on_event,
            topics.REVIEWS: self._on_review,
            topics.AVAILABLE: self._on_available,
            topics.STATS: self._on_sign_of_life,
            topics.TRACKED_OBJECT_UPDATE: self._on_tracked_object_update,
            topics.DETECT_STATUS: self._on_detect_status,
            topics.DETECT_STATE: self._on_detect_state,
        }
        for name, handler in handlers.items():
            self._unsubs.append(
                await mqtt.async_subscribe(
                    self.hass, topics.input_topic(self.prefix, name), handler, 0, None
                )
            )

    @callback
    def async_unsubscribe(self) -> None:
        """Drop every subscription."""
        for unsub in self._unsubs:
            unsub()
        self._unsubs.clear()

    @callback
    def _on_event(self, msg: ReceiveMessage) -> None:
        engine = self.engine
        try:
            now = engine.note_message()
            result = parse_event(msg.payload, now)
            if isinstance(result, Rejected):
                engine.record_failure(msg.topic, result.reason, payload_head(msg.payload), now)
                return
            engine.ingest(result, now)
            engine.skew.note(result.frame_time, now)  # after the alert: no rule reads it
        except Exception:
            engine.record_crash(msg.topic, payload_head(msg.payload))

    @callback
    def _on_review(self, msg: ReceiveMessage) -> None:
        engine = self.engine
        try:
            now = engine.note_message()
            result = parse_review(msg.payload, now)
            if isinstance(result, Rejected):
                engine.record_failure(msg.topic, result.reason, payload_head(msg.payload), now)
                return
            for observation in result:
                engine.ingest(observation, now)
        except Exception:
            engine.record_crash(msg.topic, payload_head(msg.payload))

    @callback
    def _on_available(self, msg: ReceiveMessage) -> None:
        engine = self.engine
        try:
            now = engine.note_message()
            result = parse_available(msg.payload)
            if isinstance(result, Rejected):
                engine.record_failure(msg.topic, result.reason, payload_head(msg.payload), now)
                return
            engine.set_frigate_online(result, now)
        except Exception:
            engine.record_crash(msg.topic, payload_head(msg.payload))

    @callback
    def _on_sign_of_life(self, msg: ReceiveMessage) -> None:
        """Stats only prove that Frigate is alive."""
        try:
            self.engine.note_message()
        except Exception:
            self.engine.record_crash(msg.topic, payload_head(msg.payload))

    @callback
    def _on_tracked_object_update(self, msg: ReceiveMessage) -> None:
        """Who Frigate thinks an object is (face, plate, classification)."""
        engine = self.engine
        try:
            now = engine.note_message()
            result = parse_tracked_object_update(msg.payload)
            if isinstance(result, Rejected):
                engine.record_failure(msg.topic, result.reason, payload_head(msg.payload), now)
            elif isinstance(result, Unnamed):
                engine.updates_ignored += 1
            else:
                engine.recognition(result, now)
        except Exception:
            engine.record_crash(msg.topic, payload_head(msg.payload))

    @callback
    def _on_detect_status(self, msg: ReceiveMessage) -> None:
        self._on_camera_status(msg, state_topic=False)

    @callback
    def _on_detect_state(self, msg: ReceiveMessage) -> None:
        self._on_camera_status(msg, state_topic=True)

    def _on_camera_status(self, msg: ReceiveMessage, *, state_topic: bool) -> None:
        engine = self.engine
        try:
            now = engine.note_message()
            camera = topics.camera_of(self.prefix, msg.topic)
            text = _text(msg.payload)
            if camera is None or len(camera) > 128 or len(text) > 16:
                engine.record_failure(msg.topic, "bad_camera_status", payload_head(text), now)
                return
            cameras = engine.cameras
            changed = (
                cameras.detect_state(camera, text)
                if state_topic
                else cameras.detect_status(camera, text)
            )
            if changed is None:
                engine.record_failure(msg.topic, "bad_camera_status", payload_head(text), now)
            elif changed:
                engine.camera_availability_changed(camera, now)
        except Exception:
            engine.record_crash(msg.topic, payload_head(msg.payload))
