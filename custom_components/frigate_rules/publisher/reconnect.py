"""When to try again and with which MQTT protocol: the publisher's reconnect policy.

Backoff 1, 2, 4 ... 60 s with jitter, reset only by a connection that stayed up; MQTT 5
first on every start, 3.1.1 for a broker that refuses MQTT 5 (or, unproven, one that
never answers an MQTT 5 CONNECT); the first failure of a streak logged at WARNING, the
rest at DEBUG. Pure: the publisher feeds it what happened.
"""

from __future__ import annotations

import logging
import random
from typing import Final

from paho.mqtt.enums import MQTTProtocolVersion
from paho.mqtt.reasoncodes import ReasonCode

_LOGGER = logging.getLogger(__name__)

BACKOFF_STEPS: Final[tuple[float, ...]] = (1, 2, 4, 8, 16, 32, 60)
BACKOFF_JITTER: Final = 0.2
# Consecutive attempts that got a TCP connection but no CONNACK before the protocol
# is switched: a 3.1.1-only broker may just close or hang on an MQTT 5 CONNECT
# (amqtt hangs), but one such attempt can also be a broker that is restarting.
SILENT_FAILURES_BEFORE_SWITCH: Final = 2
PROTOCOL_NAMES: Final = {MQTTProtocolVersion.MQTTv5: "5", MQTTProtocolVersion.MQTTv311: "3.1.1"}
UNSUPPORTED_PROTOCOL: Final = 0x84


def backoff_delay(failures: int, rng: random.Random | None = None) -> float:
    """Seconds before the next attempt after `failures` consecutive failed attempts.

    1, 2, 4, 8, 16, 32, 60 s with +-20 % jitter (so that many clients do not
    reconnect in lockstep after a broker restart), never above 60 s.
    """
    base = BACKOFF_STEPS[min(max(failures, 0), len(BACKOFF_STEPS) - 1)]
    jitter = (rng or random).uniform(1 - BACKOFF_JITTER, 1 + BACKOFF_JITTER)
    return min(base * jitter, BACKOFF_STEPS[-1])


class ReconnectPolicy:
    """Counts failures, picks the protocol and the delay of the next attempt."""

    def __init__(self, address: str, stable_after: float) -> None:
        self._address = address
        self._stable_after = stable_after
        self.protocol = MQTTProtocolVersion.MQTTv5
        self.failures = 0
        self._pinned = False
        self._silent_failures = 0
        self._quiet = False  # the current failure streak was logged already
        self._fallback_logged = False

    @property
    def protocol_name(self) -> str:
        """The protocol's name: 5 or 3.1.1."""
        return PROTOCOL_NAMES[self.protocol]

    def restart(self) -> None:
        """A new start probes MQTT 5 again, with a fresh backoff."""
        self.protocol = MQTTProtocolVersion.MQTTv5
        self.failures = self._silent_failures = 0
        self._pinned = False

    def connected(self) -> None:
        """A CONNACK: this protocol works with this broker."""
        self._pinned = True
        self._silent_failures = 0
        self._quiet = False
        if self.protocol != MQTTProtocolVersion.MQTTv5 and not self._fallback_logged:
            self._fallback_logged = True
            _LOGGER.warning(
                "MQTT broker %s does not accept MQTT 5; publishing over MQTT 3.1.1, "
                "so alerts carry no message expiry",
                self._address,
            )

    def ended(
        self,
        why: str,
        *,
        connected_for: float | None,
        refusal: ReasonCode | None,
        silent: bool,
    ) -> float:
        """An attempt or connection is over; the delay before the next attempt."""
        if connected_for is not None and connected_for >= self._stable_after:
            self.failures = 0
        if connected_for is None:
            self._choose_protocol(refusal, silent=silent)
        delay = backoff_delay(self.failures)
        self.failures += 1
        self._log(why, delay, was_connected=connected_for is not None)
        return delay

    def _choose_protocol(self, refusal: ReasonCode | None, *, silent: bool) -> None:
        if self._pinned:
            return
        if refusal is not None and refusal.value == UNSUPPORTED_PROTOCOL:
            self.protocol = MQTTProtocolVersion.MQTTv311
            self._pinned = True
            return
        if not silent:
            self._silent_failures = 0
            return
        self._silent_failures += 1
        if self._silent_failures >= SILENT_FAILURES_BEFORE_SWITCH:
            # Unproven either way: alternate until one protocol gets a CONNACK.
            self._silent_failures = 0
            self.protocol = (
                MQTTProtocolVersion.MQTTv311
                if self.protocol == MQTTProtocolVersion.MQTTv5
                else MQTTProtocolVersion.MQTTv5
            )
            _LOGGER.debug("No CONNACK twice; trying MQTT %s next", self.protocol_name)

    def _log(self, why: str, delay: float, *, was_connected: bool) -> None:
        if was_connected:
            _LOGGER.info(
                "Disconnected from MQTT broker %s (%s); reconnecting in %.1f s",
                self._address,
                why,
                delay,
            )
        elif not self._quiet:
            self._quiet = True
            _LOGGER.warning(
                "Cannot connect to MQTT broker %s (%s); retrying in %.1f s, with backoff",
                self._address,
                why,
                delay,
            )
        else:
            _LOGGER.debug("Still cannot connect (%s); retrying in %.1f s", why, delay)
