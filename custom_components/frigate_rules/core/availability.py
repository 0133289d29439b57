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

    def mqtt_heard(self, now: float) -> bool:
        """Whether Frigate can be heard over MQTT: HA's client is up and not silent.

        Unlike `is_available`, Frigate saying `offline` does not matter here: this is
        about the path, which the REST fallback stands in for when it is down.
        """
        if not self.mqtt_connected:
            return False
        deadline = self.silence_deadline()
        return deadline is None or now <= deadline

    def reason(self, now: float) -> str | None:
        """Which signal makes Frigate unavailable (for logs and diagnostics)."""
        if not self.mqtt_connected:
            return "mqtt_disconnected"
        if self.frigate_online is False:
            return "frigate_offline"
        if not self.is_available(now):
            return "no_messages"
        return None


# Cameras remembered as down; a publisher on the broker inventing names cannot grow it.
MAX_DOWN_CAMERAS = 1000
DETECT_STATUS_DOWN = frozenset({"offline", "disabled"})
DETECT_STATUS_UP = frozenset({"online"})


class CameraAvailability:
    """Which cameras cannot detect (DESIGN 4.11), from two Frigate topics.

    `<prefix>/<camera>/status/detect` (Frigate 0.17+: online/offline/disabled) and
    `<prefix>/<camera>/detect/state` (ON/OFF: a user turned detection off). A camera
    is unavailable while either says so; one that never reported counts as available
    (older Frigate). Only cameras that are down are remembered, at most
    `MAX_DOWN_CAMERAS` (more are counted in `overflow`, and count as available).
    """

    __slots__ = ("_detect_off", "_status_down", "overflow", "unavailable")

    def __init__(self) -> None:
        self._status_down: set[str] = set()
        self._detect_off: set[str] = set()
        self.overflow = 0
        # Recomputed on change only: read for every evaluation.
        self.unavailable: frozenset[str] = frozenset()

    def detect_status(self, camera: str, payload: str) -> bool | None:
        """A `status/detect` payload; whether that changed anything, None if not understood."""
        value = payload.strip().lower()
        if value in DETECT_STATUS_DOWN:
            return self._mark(self._status_down, camera, down=True)
        if value in DETECT_STATUS_UP:
            return self._mark(self._status_down, camera, down=False)
        return None

    def detect_state(self, camera: str, payload: str) -> bool | None:
        """A `detect/state` payload (ON/OFF); whether that changed anything, None if not."""
        value = payload.strip().upper()
        if value == "OFF":
            return self._mark(self._detect_off, camera, down=True)
        if value == "ON":
            return self._mark(self._detect_off, camera, down=False)
        return None

    def _mark(self, cameras: set[str], camera: str, *, down: bool) -> bool:
        if down == (camera in cameras):
            return False
        if down:
            if len(self._status_down) + len(self._detect_off) >= MAX_DOWN_CAMERAS:
                self.overflow += 1
                return False
            cameras.add(camera)
        else:
            cameras.discard(camera)
        self.unavailable = frozenset(self._status_down | self._detect_off)
        return True
