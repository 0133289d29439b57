"""Turning off on time: one timer per rule, at the moment its window next changes.

With no new input a rule must still turn off when its oldest candidate leaves the
window (DESIGN 4.3, step 5; within 250 ms). Each evaluation says when that is
(`next_change_at`); the rule is evaluated again a tick after it, since the window's
edge is inclusive.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Final

from homeassistant.core import HomeAssistant

# Re-evaluate this long after a window edge (well inside the 250 ms promise).
WINDOW_TICK: Final = 0.005


class RuleTimers:
    """At most one pending re-evaluation per rule.

    Plain loop timers, not `async_call_later`: one is replaced on nearly every message,
    right after the alert and before the websocket sends it, and HA's helper wraps each
    in a job and a closure.
    """

    def __init__(
        self,
        hass: HomeAssistant,
        clock: Callable[[], float],
        on_due: Callable[[str, float], None],
    ) -> None:
        self._hass = hass
        self._clock = clock
        self._on_due = on_due  # (rule id, the instant to evaluate at)
        self._timers: dict[str, tuple[float, asyncio.TimerHandle]] = {}

    def __len__(self) -> int:
        return len(self._timers)

    def schedule(self, rule_id: str, at: float | None) -> None:
        """Evaluate `rule_id` again just after `at` (None: no timer needed)."""
        current = self._timers.get(rule_id)
        if current is not None:
            if current[0] == at:
                return
            current[1].cancel()
            del self._timers[rule_id]
        if at is None:
            return
        target = at + WINDOW_TICK
        loop = self._hass.loop
        delay = max(0.0, target - self._clock())
        self._timers[rule_id] = (at, loop.call_at(loop.time() + delay, self._due, rule_id, target))

    def _due(self, rule_id: str, target: float) -> None:
        self._timers.pop(rule_id, None)
        # Never evaluate before the edge: a timer firing a hair early would otherwise
        # find the same candidate and re-arm itself in a loop.
        self._on_due(rule_id, max(self._clock(), target))

    def cancel(self, rule_id: str) -> None:
        """No re-evaluation of `rule_id` is pending any more."""
        current = self._timers.pop(rule_id, None)
        if current is not None:
            current[1].cancel()

    def cancel_all(self) -> None:
        """Unloading."""
        for _, handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
