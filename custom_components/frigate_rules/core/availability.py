"""Is Frigate reachable? Three signals folded into one answer (DESIGN 4.3 step 2)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class Availability:
    """Frigate availability from the MQTT link, `<prefix>/available` and silence.

    Unavailable when HA's MQTT client is disconnected, when the last `available`
    payload said offline/stopped, or when nothing arrived on the subscribed topics for
    `grace_seconds` (0 turns that check off). Silence is counted from `started_at`
    until the first message, so a Frigate that never speaks is caught too.
    """

    grace_seconds: float
    started_at: float
    mqtt_connected: bool = True
    frigate_online: bool | None = None
    last_message_at: float | None = None

    def note_message(self, now: float) -> None:
        """Any message on a subscribed Frigate topic proves the link is alive."""
        self.last_message_at = now

    def is_available(self, now: float) -> bool:
        """The combined verdict at `now`."""
        if not self.mqtt_connected or self.frigate_online is False:
            return False
        deadline = self.silence_deadline()
        return deadline is None or now <= deadline

    def silence_deadline(self) -> float | None:
        """When silence makes Frigate unavailable, or None with the check off."""
        if self.grace_seconds <= 0:
            return None
        last = self.last_message_at if self.last_message_at is not None else self.started_at
        return last + self.grace_seconds

    def reason(self, now: float) -> str | None:
        """Which signal makes Frigate unavailable (for logs and diagnostics)."""
        if not self.mqtt_connected:
            return "mqtt_disconnected"
        if self.frigate_online is False:
            return "frigate_offline"
        if not self.is_available(now):
            return "no_messages"
        return None
