"""Wakes the entities that show what changed: a rule's sensor, or the counters.

A rule's sensor is woken once per flush of the fan-out in which its rule was evaluated
(it writes only when what a user sees changed). Counters change on every message and
every publish, so their entities are woken at most once per `STATS_WRITE_INTERVAL`;
availability changes wake them at once.
"""

from __future__ import annotations

from typing import Any, Final

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.event import async_call_later

from .const import STATS_WRITE_INTERVAL

STATS_KEY: Final = "__stats__"


class Notifier:
    """Keyed listeners: a rule id, or STATS_KEY for the entry's diagnostic entities."""

    def __init__(self, hass: HomeAssistant) -> None:
        self._hass = hass
        self._listeners: dict[str, list[CALLBACK_TYPE]] = {}
        self._stats_unsub: CALLBACK_TYPE | None = None
        self._active = True

    @callback
    def async_add_listener(self, key: str, listener: CALLBACK_TYPE) -> CALLBACK_TYPE:
        """Call `listener` when `key` changes; returns the remover."""
        self._listeners.setdefault(key, []).append(listener)

        @callback
        def remove() -> None:
            listeners = self._listeners.get(key, [])
            if listener in listeners:
                listeners.remove(listener)

        return remove

    @callback
    def rule_changed(self, rule_id: str) -> None:
        """A rule was evaluated again."""
        self._wake(rule_id)

    @callback
    def counters_changed(self) -> None:
        """A counter moved: one write per interval, however many moves."""
        if self._stats_unsub is None and self._active:
            self._stats_unsub = async_call_later(self._hass, STATS_WRITE_INTERVAL, self._flush)

    @callback
    def stats_changed_now(self) -> None:
        """Something the entry's entities show changed that must not wait (availability)."""
        self._wake(STATS_KEY)

    @callback
    def async_stop(self) -> None:
        """No more writes: the entry is unloading."""
        self._active = False
        if self._stats_unsub is not None:
            self._stats_unsub()
            self._stats_unsub = None

    @callback
    def _flush(self, _now: Any = None) -> None:
        self._stats_unsub = None
        self._wake(STATS_KEY)

    def _wake(self, key: str) -> None:
        for listener in tuple(self._listeners.get(key, ())):
            listener()
