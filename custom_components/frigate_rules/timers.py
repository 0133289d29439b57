"""Turning off on time: one timer per rule, at the moment its window next changes.

With no new input a rule must still turn off when its oldest candidate leaves the
window (DESIGN 4.3, step 5; within 250 ms). Each evaluation says when that is
(`next_change_at`); the rule is evaluated again a tick after it, since the window's
edge is inclusive.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.event import async_call_later

# Re-evaluate this long after a window edge (well inside the 250 ms promise).
WINDOW_TICK: Final = 0.005


class RuleTimers:
    """At most one pending re-evaluation per rule."""

    def __init__(
        self,
        hass: HomeAssistant,
        clock: Callable[[], float],
        on_due: Callable[[str, float], None],
    ) -> None:
        self._hass = hass
        self._clock = clock
        self._on_due = on_due  # (rule id, the instant to evaluate at)
        self._timers: dict[str, tuple[float, CALLBACK_TYPE]] = {}

    def __len__(self) -> int:
        return len(self._timers)

    def schedule(self, rule_id: str, at: float | None) -> None:
        """Evaluate `rule_id` again just after `at` (None: no timer needed)."""
        current = self._timers.get(rule_id)
        if current is not None:
            if current[0] == at:
                return
            current[1]()
            del self._timers[rule_id]
        if at is None:
            return
        target = at + WINDOW_TICK

        @callback
        def fire(_now: Any) -> None:
            self._timers.pop(rule_id, None)
            # Never evaluate before the edge: a timer firing a hair early would
            # otherwise find the same candidate and re-arm itself in a loop.
            self._on_due(rule_id, max(self._clock(), target))

        self._timers[rule_id] = (
            at,
            async_call_later(self._hass, max(0.0, target - self._clock()), fire),
        )

    def cancel(self, rule_id: str) -> None:
        """No re-evaluation of `rule_id` is pending any more."""
        current = self._timers.pop(rule_id, None)
        if current is not None:
            current[1]()

    def cancel_all(self) -> None:
        """Unloading."""
        for _, cancel in self._timers.values():
            cancel()
        self._timers.clear()
